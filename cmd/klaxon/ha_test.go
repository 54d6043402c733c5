package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/internal/pgtest"
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
	t.Parallel()
	dsn := pgtest.DSN(t)
	f := newWorkspace(t, fakeslack.Options{})
	f.AddChannel("C0TRIAGE", "triage", fakeslack.BotUserID)
	dir := t.TempDir()
	alerts := "alerts:\n  token: ${ALERTS_TOKEN}\n  triage_channel: C0TRIAGE\n"
	a, addrA := serve(t, f, func(addr string) string { return writePGConfig(t, dir, "a", f.URL(), addr, dsn, alerts) })
	b, addrB := serve(t, f, func(addr string) string { return writePGConfig(t, dir, "b", f.URL(), addr, dsn, alerts) })
	addrs := []string{addrA, addrB}
	// Alertmanager (or a load balancer before the replicas) may send a
	// group's notifications to either replica: one offer.
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
