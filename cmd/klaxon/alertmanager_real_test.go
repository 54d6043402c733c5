package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
)

// alertmanagerEnv names the real Alertmanager binary for
// TestRealAlertmanager. .ci/run builds it with
// `go install github.com/prometheus/alertmanager/cmd/alertmanager@v0.28.1`.
const alertmanagerEnv = "KLAXON_TEST_ALERTMANAGER"

// TestRealAlertmanager points a real Prometheus Alertmanager at the built
// Klaxon: the receivers block of the README (testdata/alertmanager-receivers.yml)
// with its URL and token file filled in. Alerts posted to Alertmanager's API
// reach Klaxon as Alertmanager groups them, with the bearer token; its
// repeats change nothing; its send_resolved notification ends the signals,
// and the one offer is edited in place.
func TestRealAlertmanager(t *testing.T) {
	t.Parallel()
	bin := os.Getenv(alertmanagerEnv)
	if bin == "" {
		t.Skipf("%s is not set: build Alertmanager with `GOBIN=$PWD/.cache go install github.com/prometheus/alertmanager/cmd/alertmanager@v0.28.1` and set %s to the binary (.ci/run does)", alertmanagerEnv, alertmanagerEnv)
	}
	receivers, err := os.ReadFile("testdata/alertmanager-receivers.yml")
	if err != nil {
		t.Fatal(err)
	}
	f := newWorkspace(t, fakeslack.Options{})
	f.AddChannel("C0TRIAGE", "triage", fakeslack.BotUserID)
	dir := t.TempDir()
	p, klaxonAddr := serve(t, f, func(addr string) string { return alertsConfig(t, dir, f.URL(), addr) })

	tokenFile := filepath.Join(dir, "klaxon_token")
	if err := os.WriteFile(tokenFile, []byte(alertsToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rcv := strings.NewReplacer(
		"http://klaxon.internal:8080", "http://"+klaxonAddr,
		"/etc/alertmanager/klaxon_token", tokenFile,
	).Replace(string(receivers))
	// Short timings so the test sees a group, a repeat and a resolution
	// within seconds; the receiver is the README's.
	amConfig := `route:
  receiver: klaxon
  group_by: [service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
` + rcv
	amFile := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(amFile, []byte(amConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// Alertmanager's output is written by exec's copying goroutine while a
	// failing test reads it: a locked buffer.
	var amLogs *lockedBuffer
	// Started like Klaxon by serve: on a port free a moment ago, again on
	// another one if a listener of another test took it first.
	var amAddr string
	for attempt := 1; amAddr == ""; attempt++ {
		addr := freeAddr(t)
		amLogs = &lockedBuffer{}
		am := exec.Command(bin, "--config.file="+amFile, "--storage.path="+filepath.Join(dir, "am"),
			"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=debug")
		am.Stdout, am.Stderr = amLogs, amLogs
		if err := am.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { am.Wait(); close(exited) }()
		t.Cleanup(func() { am.Process.Kill(); <-exited })
		if amUp(ctx, t, addr, exited, amLogs) {
			amAddr = addr
		} else if attempt == 5 || !strings.Contains(amLogs.String(), "address already in use") {
			t.Fatalf("Alertmanager exited:\n%s", amLogs.String())
		} else {
			t.Logf("%s was taken before Alertmanager bound it; again on another port", addr)
		}
	}
	postAM := func(alerts []map[string]any) {
		t.Helper()
		body, _ := json.Marshal(alerts)
		for {
			resp, err := http.Post("http://"+amAddr+"/api/v2/alerts", "application/json", bytes.NewReader(body))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return
				}
			}
			select {
			case <-ctx.Done():
				t.Fatalf("Alertmanager did not take the alerts: %v\n%s", err, amLogs.String())
			case <-time.After(100 * time.Millisecond): // waiting for Alertmanager to listen, not for a result
			}
		}
	}
	// No startsAt: Alertmanager stamps the alerts with the moment it
	// receives them. A group whose alert started more than group_wait ago
	// is flushed at once, without its group_wait, and then the first alert
	// of the POST can leave alone before the second is inserted (seen in
	// CI: "alerts=1 new=1", then "alerts=2 new=1"). A startsAt taken here
	// would be older than group_wait whenever Alertmanager, started just
	// above, takes more than that to listen on a loaded machine.
	alerts := []map[string]any{
		{"labels": map[string]string{"alertname": "CheckoutHighErrorRate", "service": "checkout"},
			"annotations": map[string]string{"summary": "Checkout 5xx above 5%"}, "generatorURL": "http://prometheus:9090/graph"},
		{"labels": map[string]string{"alertname": "CheckoutLatencyP99", "service": "checkout"},
			"annotations": map[string]string{"summary": "Checkout p99 above 2s"}},
	}
	postAM(alerts)

	wait := func(what, text string) {
		t.Helper()
		select {
		case <-p.logged(text):
		case <-ctx.Done():
			t.Fatalf("%s: Klaxon never logged %q\nklaxon:\n%s\nalertmanager:\n%s", what, text, p.Logs(), amLogs.String())
		}
	}
	// One grouped notification with both alerts, then repeats that change nothing.
	wait("grouped notification", "status=firing alerts=2 new=2")
	wait("repeat", "status=firing alerts=2 new=0 resolved=0 repeats=2")
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
		ms := s.Messages("C0TRIAGE")
		return len(ms) == 1 && strings.Contains(string(ms[0].Blocks), "Declare SEV3")
	}); err != nil {
		t.Fatalf("no offer: %v\n%s", err, p.Logs())
	}

	// Resolve both: Alertmanager sends them resolved (send_resolved).
	now := time.Now().UTC()
	for _, a := range alerts {
		a["endsAt"] = now
	}
	postAM(alerts)
	// Alertmanager inserts the two resolutions one after the other, and its
	// group_interval tick may fall between them: one notification with both
	// resolved, or two (one resolved with one firing, then the other
	// resolved). Either way a resolved notification reaches Klaxon, which
	// then shows every alert resolved.
	wait("send_resolved", "status=resolved")
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
		ms := s.Messages("C0TRIAGE")
		return len(ms) == 1 && ms[0].Edited && strings.Contains(string(ms[0].Blocks), "every alert has resolved")
	}); err != nil {
		t.Fatalf("the offer was not edited to show the resolution: %v\n%v", err, f.Messages("C0TRIAGE"))
	}
	if n := len(f.Messages("C0TRIAGE")); n != 1 {
		t.Errorf("%d messages in the triage channel, want the one offer", n)
	}
}

// amUp waits until the Alertmanager listening on addr is ready (true) or
// has exited (false).
func amUp(ctx context.Context, t *testing.T, addr string, exited <-chan struct{}, logs *lockedBuffer) bool {
	t.Helper()
	for {
		if resp, err := http.Get("http://" + addr + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		select {
		case <-exited:
			return false
		case <-ctx.Done():
			t.Fatalf("Alertmanager never got ready on %s:\n%s", addr, logs.String())
		case <-time.After(100 * time.Millisecond): // waiting for Alertmanager to listen, not for a result
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and a reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestREADMEHasTheAlertmanagerReceiver keeps the README's example and the
// config the test above gives Alertmanager the same.
func TestREADMEHasTheAlertmanagerReceiver(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	receivers, err := os.ReadFile("testdata/alertmanager-receivers.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), string(receivers)) {
		t.Errorf("README.md does not contain testdata/alertmanager-receivers.yml verbatim:\n%s", receivers)
	}
}
