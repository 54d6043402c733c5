package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/internal/pgtest"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/store/postgres"
)

// writePGConfig writes a replica's config: the shared database, its own
// HTTP address, and extra YAML appended (severities for a fast cadence).
func writePGConfig(t *testing.T, dir, name, apiURL, httpAddr, dsn, extra string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name+".dsn"), []byte(dsn+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`slack:
  app_token: ${SLACK_APP_TOKEN}
  bot_token: ${SLACK_BOT_TOKEN}
  api_url: %s
  announce_channel: C0ANNOUNCE
store:
  driver: postgres
  dsn_file: %s.dsn
  leader_lease: %s
http:
  listen: %s
log:
  level: debug
services:
  - name: checkout
    runbook: https://runbooks.example.com/checkout
    stakeholders: [U0PAY001]
%s`, strings.TrimSuffix(apiURL, "/"), name, testLease(), httpAddr, extra)
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// testLease is the replicas' store.leader_lease: 1s, so 20 failovers fit
// in CI's budget; KLAXON_HA_LEASE=5s measures the default.
func testLease() string {
	if v := os.Getenv("KLAXON_HA_LEASE"); v != "" {
		return v
	}
	return "1s"
}

// readyz reads a replica's /readyz; ok is false when it does not answer.
func readyz(addr string) (r readiness, ok bool) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return r, false
	}
	defer resp.Body.Close()
	return r, json.NewDecoder(resp.Body).Decode(&r) == nil
}

// waitLeader polls the replicas' /readyz until exactly one of addrs says it
// leads, and returns its index. The bound is for a hung test, not a timing
// assertion.
func waitLeader(t *testing.T, addrs []string, bound time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		leader, leaders := -1, 0
		for i, a := range addrs {
			if r, ok := readyz(a); ok && r.Leader {
				leader, leaders = i, leaders+1
			}
		}
		if leaders == 1 {
			return leader
		}
		<-time.After(50 * time.Millisecond)
	}
	t.Fatalf("no single leader among %v within %v", addrs, bound)
	return -1
}

// TestTwoReplicasOnPostgres: two `klaxon run` on one database and one Slack
// app. Both connect and serve commands (the fake delivers envelopes round
// robin), exactly one leads the scheduler, and incidents declared through
// either are numbered 1, 2, 3, … once each.
func TestTwoReplicasOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	f := newWorkspace(t, fakeslack.Options{})
	f.AddChannel("C0TRIAGE", "triage", fakeslack.BotUserID)
	dir := t.TempDir()
	addrs := []string{freeAddr(t), freeAddr(t)}
	t.Setenv("ALERTS_TOKEN", alertsToken)
	alerts := "alerts:\n  token: ${ALERTS_TOKEN}\n  triage_channel: C0TRIAGE\n"
	a := startKlaxon(t, f, writePGConfig(t, dir, "a", f.URL(), addrs[0], dsn, alerts))
	b := startKlaxon(t, f, writePGConfig(t, dir, "b", f.URL(), addrs[1], dsn, alerts))
	// Alertmanager (or a load balancer before the replicas) may send a
	// group's notifications to either replica: one offer.
	<-a.logged("serving /healthz")
	<-b.logged("serving /healthz")
	start := time.Now().UTC().Add(-3 * time.Minute).Truncate(time.Second)
	var sent []amAlert
	var wg sync.WaitGroup
	for i := range 6 {
		sent = append(sent, amAlert{Status: "firing", StartsAt: start.Add(time.Duration(i) * time.Second), Fingerprint: fmt.Sprintf("dddd%012d", i),
			Labels: map[string]string{"alertname": fmt.Sprintf("Checkout%d", i), "service": "checkout", "kind": []string{"error_rate", "latency"}[i%2]}})
		body := notification(sent...)
		for _, addr := range addrs {
			wg.Go(func() {
				if code, got := postAlerts(t, addr, alertsToken, body); code != http.StatusOK {
					t.Errorf("notification to %s: %d %v", addr, code, got)
				}
			})
		}
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
		ms := s.Messages("C0TRIAGE")
		return len(ms) >= 1 && strings.Contains(string(ms[len(ms)-1].Blocks), "6 firing of 6")
	}); err != nil {
		t.Fatalf("no offer showing the 6 alerts: %v\n%v", err, f.Messages("C0TRIAGE"))
	}
	for i := 1; i <= 4; i++ {
		declare(t, f, fmt.Sprintf("declare sev2 checkout replica test %d", i), i)
	}
	for i := 1; i <= 4; i++ {
		if c := countChannels(f.Channels(), int64(i)); c != 1 {
			t.Fatalf("incident #%d has %d channels\n%s\n%s", i, c, a.Logs(), b.Logs())
		}
	}
	acks := map[int]int{}
	for _, ack := range f.Acks() {
		acks[ack.Conn]++
	}
	if len(acks) != 2 {
		t.Fatalf("envelopes were acked by connections %v; want both replicas serving", acks)
	}
	waitLeader(t, addrs, 20*time.Second)
	if n := len(f.Messages("C0TRIAGE")); n != 1 {
		t.Fatalf("%d offers in the triage channel from two replicas, want 1\n%s\n%s", n, a.Logs(), b.Logs())
	}
}

// TestLeaderKilledAtRandomMoments runs two replicas on one PostgreSQL
// against the fake Slack with two SEV1 incidents reminding every second,
// and kills the scheduler's leader with SIGKILL at random moments, 20 times
// (KLAXON_HA_KILLS for a soak; KLAXON_HA_SEED replays a run, whose seed is
// logged), restarting it each time. Meanwhile status updates and checklist
// clicks stream into a third incident through whichever replica Slack picks,
// and declarations come in. It checks what the issue promises: the other
// replica takes over within 10 s each time; no reminder is fired twice (no
// two reminders of an incident closer than the cadence) and none is lost
// beyond the failover gap (no gap longer than cadence + failover); every
// acked update and click is kept once; incident numbers are unique and
// without gaps.
func TestLeaderKilledAtRandomMoments(t *testing.T) {
	kills := 20
	if v, err := strconv.Atoi(os.Getenv("KLAXON_HA_KILLS")); err == nil && v > 0 {
		kills = v
	}
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("KLAXON_HA_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("seed %d (KLAXON_HA_SEED=%d replays it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 19))

	const cadence = time.Second
	const maxFailover = 10 * time.Second
	dsn := pgtest.DSN(t)
	f := newWorkspace(t, fakeslack.Options{DisableRateLimits: true})
	dir := t.TempDir()
	extra := "severities:\n  SEV1:\n    update_every: 1s\n    overdue_update_mentions: [U0EXEC01]\n"
	addrs := []string{freeAddr(t), freeAddr(t)}
	configs := []string{
		writePGConfig(t, dir, "a", f.URL(), addrs[0], dsn, extra),
		writePGConfig(t, dir, "b", f.URL(), addrs[1], dsn, extra),
	}
	procs := []*process{startKlaxon(t, f, configs[0]), startKlaxon(t, f, configs[1])}
	declare(t, f, "declare sev1 checkout cadence one", 1)
	declare(t, f, "declare sev1 checkout cadence two", 2)
	declare(t, f, "declare sev2 checkout commands", 3)
	cmdChannel := ""
	for _, c := range f.Channels() {
		if strings.HasPrefix(c.Name, "inc-3-") {
			cmdChannel = c.ID
		}
	}

	// Commands stream in for the whole test, through either replica.
	var (
		mu           sync.Mutex
		ackedUpdates []string
		ackedClicks  []string
		ackedDecl    = map[int64]bool{}
	)
	ctx, stopCommands := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		items := []string{"owner_paged", "deploys", "scope"}
		for i := 0; ctx.Err() == nil; i++ {
			actx, cancel := context.WithTimeout(ctx, 3*time.Second)
			switch i % 4 {
			case 0, 2:
				text := fmt.Sprintf("ha update %d", i)
				ack, err := f.SlashCommand(actx, fakeslack.SlashCommand{Text: "update " + text, UserID: "U0DECL01", ChannelID: cmdChannel})
				if err == nil && !ack.Late && strings.Contains(string(ack.Payload), "Posting update") {
					mu.Lock()
					ackedUpdates = append(ackedUpdates, text)
					mu.Unlock()
				}
			case 1:
				item := items[i/4%3]
				cb := slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, User: slack.User{ID: "U0PAY001"},
					Channel: slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: cmdChannel}}},
					ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{ActionID: "klaxon_check", BlockID: "check_" + item,
						Value: fmt.Sprintf("3:%s:on", item), ActionTs: fmt.Sprintf("1795800000.%06d", i)}}}}
				if ack, err := f.Interactive(actx, cb); err == nil && !ack.Late {
					mu.Lock()
					ackedClicks = append(ackedClicks, item)
					mu.Unlock()
				}
			case 3:
				if i%16 == 3 { // a declaration now and then
					ack, err := f.SlashCommand(actx, fakeslack.SlashCommand{Text: fmt.Sprintf("declare sev3 checkout ha %d", i), UserID: "U0DECL01", ChannelID: "C0GENERAL"})
					if m := declaredNumber.FindStringSubmatch(string(ack.Payload)); err == nil && !ack.Late && m != nil {
						n, _ := strconv.ParseInt(m[1], 10, 64)
						mu.Lock()
						ackedDecl[n] = true
						mu.Unlock()
					}
				}
			}
			cancel()
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond): // pacing, not synchronisation
			}
		}
	})

	var worst time.Duration
	for k := range kills {
		leader := waitLeader(t, addrs, 30*time.Second)
		other := 1 - leader
		<-time.After(time.Duration(rng.IntN(1000)) * time.Millisecond)
		procs[leader].cmd.Process.Kill()
		killed := time.Now()
		<-procs[leader].done
		procs[leader].done <- nil
		// Failover: the survivor says it leads.
		for {
			if r, ok := readyz(addrs[other]); ok && r.Leader {
				break
			}
			if time.Since(killed) > 2*maxFailover {
				t.Fatalf("kill %d: replica %d did not take over in %v\n%s", k, other, 2*maxFailover, procs[other].Logs())
			}
			<-time.After(20 * time.Millisecond)
		}
		took := time.Since(killed)
		worst = max(worst, took)
		if took > maxFailover {
			t.Errorf("kill %d: failover took %v, want ≤ %v", k, took, maxFailover)
		}
		procs[leader] = startKlaxon(t, f, configs[leader])
	}
	stopCommands()
	wg.Wait()
	// Stop both gracefully; the database keeps everything.
	for _, p := range procs {
		p.cmd.Process.Signal(os.Interrupt)
		<-p.done
		p.done <- nil
	}

	dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := postgres.Open(dctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fired := 0
	for _, n := range []int64{1, 2} {
		evs, err := db.Timeline(dctx, n)
		if err != nil {
			t.Fatal(err)
		}
		var prev time.Time
		count := 0
		for _, e := range evs {
			if e.Type != playbook.EventNudged || (e.Data["kind"] != "update_due" && e.Data["kind"] != "update_escalated") {
				continue
			}
			count++
			if !prev.IsZero() {
				gap := e.At.Sub(prev)
				if gap < cadence-10*time.Millisecond {
					t.Errorf("incident #%d: reminders %v apart at %v: one was fired twice", n, gap, e.At)
				}
				if gap > cadence+maxFailover+2*time.Second {
					t.Errorf("incident #%d: no reminder for %v before %v: more than the failover gap", n, gap, e.At)
				}
			}
			prev = e.At
		}
		posted := 0
		ch := ""
		for _, c := range f.Channels() {
			if strings.HasPrefix(c.Name, fmt.Sprintf("inc-%d-", n)) {
				ch = c.ID
			}
		}
		for _, m := range f.Messages(ch) {
			if strings.Contains(m.Text, "status update for this") || strings.Contains(m.Text, "is still missing") {
				posted++
			}
		}
		// A kill between the commit and the post loses that post (at
		// most one per kill); a post without its record would be a
		// reminder fired twice.
		if posted > count || posted < count-kills {
			t.Errorf("incident #%d: %d reminders recorded, %d posted", n, count, posted)
		}
		fired += count
	}
	evs, _ := db.Timeline(dctx, 3)
	mu.Lock()
	defer mu.Unlock()
	for _, text := range ackedUpdates {
		found := 0
		for _, e := range evs {
			if e.Type == playbook.EventStatusUpdate && e.Text == text {
				found++
			}
		}
		if found != 1 {
			t.Errorf("acked update %q recorded %d times", text, found)
		}
	}
	inc3, _ := db.Get(dctx, 3)
	for _, it := range ackedClicks {
		if _, ok := inc3.Checked[playbook.Item(it)]; !ok {
			t.Errorf("acked click %s lost", it)
		}
	}
	all, _ := db.List(dctx, nil)
	for i, inc := range all {
		if inc.Number != int64(i+1) {
			t.Fatalf("incident numbers are not 1..%d once each: #%d at %d", len(all), inc.Number, i)
		}
	}
	for n := range ackedDecl {
		if _, err := db.Get(dctx, n); err != nil {
			t.Errorf("acked declaration #%d lost: %v", n, err)
		}
	}
	if fired == 0 || len(ackedUpdates) == 0 || len(ackedClicks) == 0 {
		t.Fatalf("too little happened to test: %d reminders, %d updates, %d clicks", fired, len(ackedUpdates), len(ackedClicks))
	}
	t.Logf("%d kills of the leader: worst failover %v; %d reminders, none twice, no gap beyond cadence + failover; %d acked updates, %d clicks, %d declarations kept once; %d incidents numbered 1..%d",
		kills, worst, fired, len(ackedUpdates), len(ackedClicks), len(ackedDecl), len(all), len(all))
}
