package main

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
)

// TestOfferSurvivesAKill kills Klaxon (SIGKILL) while Slack is taking its
// offer post: the post lands in the triage channel but the process never
// records it. The next start finds it by the key in its metadata
// (conversations.history) and edits it; later alerts edit that one offer,
// never a second.
func TestOfferSurvivesAKill(t *testing.T) {
	t.Parallel()
	hold, arrived := make(chan struct{}), make(chan struct{}, 1)
	var armed atomic.Bool
	f := newWorkspace(t, fakeslack.Options{Fault: func(method string, n int) *fakeslack.Fault {
		if method == "chat.postMessage" && armed.CompareAndSwap(true, false) {
			arrived <- struct{}{}
			return &fakeslack.Fault{Until: hold}
		}
		return nil
	}})
	f.AddChannel("C0TRIAGE", "triage", fakeslack.BotUserID, "U0DECL01")
	dir := t.TempDir()
	config := func(addr string) string { return alertsConfig(t, dir, f.URL(), addr) }
	p, addr := serve(t, f, config)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	first := time.Now().UTC().Add(-5 * time.Minute).Truncate(time.Second)
	errs := amAlert{Status: "firing", Labels: map[string]string{"alertname": "CheckoutHighErrorRate", "service": "checkout"}, StartsAt: first, Fingerprint: "cccc000000000001"}
	lat := amAlert{Status: "firing", Labels: map[string]string{"alertname": "CheckoutLatencyP99", "service": "checkout"}, StartsAt: first.Add(time.Minute), Fingerprint: "cccc000000000002"}
	armed.Store(true)
	if code, got := postAlerts(t, addr, alertsToken, notification(errs, lat)); code != http.StatusOK || got["new"] != 2 {
		t.Fatalf("notification: %d %v", code, got)
	}
	select {
	case <-arrived:
	case <-ctx.Done():
		t.Fatalf("no offer post reached Slack\n%s", p.Logs())
	}
	p.cmd.Process.Kill()
	<-p.done
	p.done <- nil
	close(hold) // Slack finishes the post the dead process sent
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool { return len(s.Messages("C0TRIAGE")) == 1 }); err != nil {
		t.Fatal(err)
	}

	p, addr = serve(t, f, config)
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
		ms := s.Messages("C0TRIAGE")
		return len(ms) == 1 && ms[0].Edited
	}); err != nil {
		t.Fatalf("the offer posted before the kill was not found and edited: %v\n%v\n%s", err, f.Messages("C0TRIAGE"), p.Logs())
	}
	// The log line is written before the edit, but it reaches p's buffer
	// through a pipe copied by another goroutine: wait for it, don't read it.
	select {
	case <-p.logged("found the offer posted before"):
	case <-ctx.Done():
		t.Errorf("the restart did not say it found the offer\n%s", p.Logs())
	}
	if len(f.CallsTo("conversations.history")) == 0 {
		t.Errorf("the restart did not look the offer up in the channel's history\n%s", p.Logs())
	}
	sat := amAlert{Status: "firing", Labels: map[string]string{"alertname": "CheckoutSaturation", "service": "checkout", "kind": "saturation"}, StartsAt: first.Add(2 * time.Minute), Fingerprint: "cccc000000000003"}
	if code, got := postAlerts(t, addr, alertsToken, notification(errs, lat, sat)); code != http.StatusOK || got["new"] != 1 {
		t.Fatalf("third alert: %d %v", code, got)
	}
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
		ms := s.Messages("C0TRIAGE")
		return len(ms) == 1 && strings.Contains(string(ms[0].Blocks), "3 firing of 3")
	}); err != nil {
		t.Fatalf("want the one offer edited to show 3 alerts: %v\n%v", err, f.Messages("C0TRIAGE"))
	}
	if n := len(f.Messages("C0TRIAGE")); n != 1 {
		t.Fatalf("%d offers, want 1", n)
	}
}
