//go:build soak

package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
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

// The tests here run the binary through kill -9 and real outages, on the
// wall clock: CI runs them in their own step (.ci/run: go test -tags soak),
// apart from the README's test command, which they would slow by minutes.
// crash_test.go holds the other kill tests.

// TestCadenceSurvivesKill runs the binary with a 2-second update cadence:
// reminders come, never early; after a kill -9 and 3.5 s of downtime the
// restarted Klaxon sends one catch-up reminder, not one per missed interval,
// and then keeps the cadence; nothing is sent twice and no second channel
// appears.
func TestCadenceSurvivesKill(t *testing.T) {
	const every = 2 * time.Second
	f := newWorkspace(t, fakeslack.Options{DisableRateLimits: true})
	dir := t.TempDir()
	config := writeConfig(t, dir, f.URL(), "off")
	cfg, _ := os.ReadFile(config)
	cfg = []byte(strings.Replace(string(cfg), "  SEV1:\n", "  SEV1:\n    update_every: 2s\n    status_page_within: 0s\n    overdue_update_mentions: [U0EXEC01]\n", 1))
	os.WriteFile(config, cfg, 0o600)

	p := startKlaxon(t, f, config)
	declare(t, f, "declare sev1 checkout Checkout returns 500s", 1)
	ch, _ := f.Channel("inc-1-sev1-checkout-returns-500s")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool { return len(nudgeMsgs(s.Messages(ch.ID))) >= 2 }); err != nil {
		t.Fatalf("no reminders: %v\n%s", err, p.Logs())
	}
	escalated := false
	for _, m := range f.Messages(ch.ID) {
		if strings.Contains(m.Text, "<@U0EXEC01>") {
			escalated = true
		}
	}
	if !escalated {
		t.Error("the second reminder did not escalate to the SEV1 escalation contact")
	}

	p.cmd.Process.Kill()
	<-p.done
	p.done <- nil
	killedWith := len(nudges(f, ch.ID))
	// Klaxon stays down for three and a half intervals: this wait is the
	// scenario (an outage), not synchronisation.
	<-time.After(3*every + every/2)
	if n := len(nudges(f, ch.ID)); n != killedWith {
		t.Fatalf("reminders while Klaxon was down: %d → %d", killedWith, n)
	}

	restartedAt := time.Now().UTC()
	p2 := startKlaxon(t, f, config)
	// A bound of its own for what follows the restart: the one above also
	// covered the first reminders and the 7 s outage, which left about 15 s
	// of it for a start of the race-built binary and three reminders on a
	// loaded machine.
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool { return len(nudgeMsgs(s.Messages(ch.ID))) >= killedWith+3 }); err != nil {
		t.Fatalf("the cadence did not continue after restart: %v", err)
	}
	// The checks read the stored fire times, not the messages' wall-clock
	// stamps: on a loaded machine a post may be late, but a deadline fires
	// at or after its stored time, once. Consecutive reminders are at least
	// a cadence apart (no catch-up burst, no duplicate), and the first after
	// the restart is the one overdue deadline, fired after the restart.
	db := stopAndOpen(t, p2, dir)
	evs, err := db.Timeline(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var fired []time.Time
	for _, e := range evs {
		if e.Type == playbook.EventNudged && strings.HasPrefix(string(e.Payload.(playbook.NudgePayload).Kind), "update_") {
			fired = append(fired, e.At)
		}
	}
	if len(fired) < killedWith+3 {
		t.Fatalf("%d reminders stored, %d posted", len(fired), killedWith+3)
	}
	for i := 1; i < len(fired); i++ {
		if gap := fired[i].Sub(fired[i-1]); gap < every {
			t.Fatalf("reminders %d and %d fired %v apart: a burst or a duplicate (cadence %v)", i-1, i, gap, every)
		}
	}
	back := slices.IndexFunc(fired, func(at time.Time) bool { return !at.Before(restartedAt) })
	if back < killedWith || len(fired)-back < 3 {
		t.Fatalf("%d reminders before the restart (%d posted), %d after; want the catch-up and the cadence after it", back, killedWith, len(fired)-back)
	}
	t.Logf("catch-up reminder %v after restart", fired[back].Sub(restartedAt))
	var incidentChannels int
	for _, c := range f.Channels() {
		if strings.HasPrefix(c.Name, "inc-") {
			incidentChannels++
		}
	}
	if incidentChannels != 1 || len(f.Messages("C0ANNOUNCE")) != 1 {
		t.Fatalf("%d incident channels, %d announcements after the restart", incidentChannels, len(f.Messages("C0ANNOUNCE")))
	}
}

// nudges returns the reminder messages in a channel, oldest first, with the
// times Slack stamped them.
func nudges(f *fakeslack.Server, channelID string) []time.Time {
	var out []time.Time
	for _, m := range f.Messages(channelID) {
		if !strings.Contains(string(m.Blocks), `"block_id":"nudge"`) {
			continue
		}
		out = append(out, tsTime(m.TS))
	}
	return out
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
	// A replica's config for an address; each start takes a new one (serve).
	replica := func(i int) func(addr string) string {
		return func(addr string) string {
			return writePGConfig(t, dir, []string{"a", "b"}[i], f.URL(), addr, dsn, extra)
		}
	}
	procs, addrs := make([]*process, 2), make([]string, 2)
	for i := range procs {
		procs[i], addrs[i] = serve(t, f, replica(i))
	}
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
		procs[leader], addrs[leader] = serve(t, f, replica(leader))
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
			if e.Type != playbook.EventNudged || (e.Payload.(playbook.NudgePayload).Kind != playbook.NudgeUpdateDue && e.Payload.(playbook.NudgePayload).Kind != playbook.NudgeUpdateEscalated) {
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
