package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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
  leader_lease: 2s
http:
  listen: %s
log:
  level: debug
services:
  - name: checkout
    runbook: https://runbooks.example.com/checkout
    stakeholders: [U0PAY001]
%s`, strings.TrimSuffix(apiURL, "/"), name, httpAddr, extra)
	path := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
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
	dir := t.TempDir()
	addrs := []string{freeAddr(t), freeAddr(t)}
	a := startKlaxon(t, f, writePGConfig(t, dir, "a", f.URL(), addrs[0], dsn, ""))
	b := startKlaxon(t, f, writePGConfig(t, dir, "b", f.URL(), addrs[1], dsn, ""))
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
}
