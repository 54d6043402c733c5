//go:build soak

package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/playbook"
)

// TestKillBetweenChangeAndPost kills Klaxon with SIGKILL after a change is
// stored and before Slack has its message, three ways, and restarts it on
// the same store each time: a severity change whose post had not reached
// Slack, one whose post Slack made but whose answer died with the process,
// and a reminder that fired but was not posted. Each message appears once
// after the restart: nothing is lost, nothing doubled. Then the same twice
// for a handover (/incident ic): its notice never reached Slack, or Slack
// posted it and the answer died. The restarted Klaxon
// waits out the dead delivery's claim (10 s, outboxRetry) before it tries
// again, which is most of this test's time.
func TestKillBetweenChangeAndPost(t *testing.T) {
	var (
		mu      sync.Mutex
		aim     func(c fakeslack.Call) bool
		hold    chan struct{}
		arrived chan struct{}
		fault   fakeslack.Fault
	)
	// target makes the next call that matches fail with f once hold is
	// closed, and closes arrived when it reaches Slack.
	target := func(match func(c fakeslack.Call) bool, f fakeslack.Fault) (release func(), reached <-chan struct{}) {
		mu.Lock()
		defer mu.Unlock()
		aim, hold, arrived, fault = match, make(chan struct{}), make(chan struct{}), f
		h := hold
		return func() { close(h) }, arrived
	}
	f := newWorkspace(t, fakeslack.Options{DisableRateLimits: true, FaultOn: func(c fakeslack.Call) *fakeslack.Fault {
		mu.Lock()
		defer mu.Unlock()
		if aim == nil || !aim(c) {
			return nil
		}
		aim = nil
		close(arrived)
		out := fault
		out.Until = hold
		return &out
	}})
	dir := t.TempDir()
	config := writeConfig(t, dir, f.URL(), "off")
	cfg, _ := os.ReadFile(config)
	// Incident 2's status-page reminder fires 6 s after its declaration.
	cfg = []byte(strings.Replace(string(cfg), "severities:\n", "severities:\n  SEV2:\n    status_page_within: 6s\n", 1))
	os.WriteFile(config, cfg, 0o600)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	kill := func(p *process) {
		p.cmd.Process.Kill()
		<-p.done
		p.done <- nil
	}
	count := func(ms []fakeslack.Message, text string) (n int) {
		for _, m := range ms {
			if strings.Contains(m.Text, text) {
				n++
			}
		}
		return n
	}
	post := func(text string) func(c fakeslack.Call) bool {
		return func(c fakeslack.Call) bool {
			return c.Method == "chat.postMessage" && strings.Contains(c.Params.Get("text"), text)
		}
	}

	p := startKlaxon(t, f, config)
	declare(t, f, "declare sev3 search Search is slow", 1)
	ch := incidentChannel(t, f, 1)

	// 1. Killed while the severity notice is on its way: Slack never gets it.
	release, reached := target(post("Severity changed SEV3 → SEV4"), fakeslack.Fault{Status: 503})
	slashInBinary(t, f, ch.ID, "sev 4 only one region")
	select {
	case <-reached:
	case <-ctx.Done():
		t.Fatalf("the severity notice was never sent\n%s", p.Logs())
	}
	kill(p)
	release()
	p = startKlaxon(t, f, config)
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
		return count(s.Messages(ch.ID), "Severity changed SEV3 → SEV4") > 0 && count(s.Messages(announceID), "changed from SEV3 to SEV4") > 0
	}); err != nil {
		t.Fatalf("the severity change pending at the kill was not told after the restart: %v\n%s", err, p.Logs())
	}
	select {
	case <-p.logged("told Slack"):
	case <-ctx.Done():
		t.Fatal("no delivery logged")
	}

	// 2. Slack posts the notice; its answer dies with the process.
	release, reached = target(post("Severity changed SEV4 → SEV3"), fakeslack.Fault{Status: 500, Applied: true})
	slashInBinary(t, f, ch.ID, "sev 3 two regions")
	select {
	case <-reached:
	case <-ctx.Done():
		t.Fatalf("the severity notice was never sent\n%s", p.Logs())
	}
	kill(p)
	release()
	before := len(f.CallsTo("conversations.history"))
	p = startKlaxon(t, f, config)
	select {
	case <-p.logged("told Slack"):
	case <-ctx.Done():
		t.Fatalf("the severity change pending at the kill was never delivered\n%s", p.Logs())
	}
	if len(f.CallsTo("conversations.history")) == before {
		t.Error("the restarted Klaxon posted again without looking for its earlier post")
	}

	// 3. A reminder fires; the kill comes before Slack has it.
	release, reached = target(func(c fakeslack.Call) bool {
		return c.Method == "chat.postMessage" && strings.Contains(c.Params.Get("metadata"), "klaxon-2-")
	}, fakeslack.Fault{Status: 503})
	declare(t, f, "declare sev2 checkout Checkout returns 500s", 2)
	ch2 := incidentChannel(t, f, 2)
	select {
	case <-reached:
	case <-ctx.Done():
		t.Fatalf("the reminder was never sent\n%s", p.Logs())
	}
	kill(p)
	release()
	p = startKlaxon(t, f, config)
	select {
	case <-p.logged("told Slack"):
	case <-ctx.Done():
		t.Fatalf("the reminder pending at the kill was never delivered\n%s", p.Logs())
	}

	for _, c := range []struct {
		channel, text string
	}{
		{ch.ID, "Severity changed SEV3 → SEV4"}, {announceID, "changed from SEV3 to SEV4"},
		{ch.ID, "Severity changed SEV4 → SEV3"}, {announceID, "changed from SEV4 to SEV3"},
	} {
		if n := count(f.Messages(c.channel), c.text); n != 1 {
			t.Errorf("%q posted %d times in %s, want once", c.text, n, c.channel)
		}
	}
	reminders := 0
	for _, m := range f.Messages(ch2.ID) {
		if strings.Contains(string(m.Metadata), "klaxon_intent") {
			reminders++
		}
	}
	if got, _ := f.Channel(ch.ID); !strings.HasPrefix(got.Name, "inc-1-sev3-") {
		t.Errorf("channel named %q after SEV3 → SEV4 → SEV3", got.Name)
	}
	// 4. A handover is stored; the kill comes before Slack has its notice.
	release, reached = target(post("is now the incident commander"), fakeslack.Fault{Status: 503})
	slashInBinary(t, f, ch.ID, "ic <@U0EXEC01>")
	select {
	case <-reached:
	case <-ctx.Done():
		t.Fatalf("the handover's notice was never sent\n%s", p.Logs())
	}
	kill(p)
	release()
	p = startKlaxon(t, f, config)
	select {
	case <-p.logged("told Slack"):
	case <-ctx.Done():
		t.Fatalf("the handover pending at the kill was never shown\n%s", p.Logs())
	}

	// 5. Slack posts the next handover's notice; its answer dies with the
	// process.
	release, reached = target(post("handed over from"), fakeslack.Fault{Status: 500, Applied: true})
	slashInBinary(t, f, ch.ID, "ic <@U0DECL01>")
	select {
	case <-reached:
	case <-ctx.Done():
		t.Fatalf("the handover's notice was never sent\n%s", p.Logs())
	}
	kill(p)
	release()
	before = len(f.CallsTo("conversations.history"))
	p = startKlaxon(t, f, config)
	select {
	case <-p.logged("told Slack"):
	case <-ctx.Done():
		t.Fatalf("the handover pending at the kill was never shown\n%s", p.Logs())
	}
	if len(f.CallsTo("conversations.history")) == before {
		t.Error("the restarted Klaxon showed the handover again without looking for its earlier notice")
	}
	for _, text := range []string{"<@U0EXEC01> is now the incident commander", "handed over from <@U0EXEC01> to <@U0DECL01>"} {
		if n := count(f.Messages(ch.ID), text); n != 1 {
			t.Errorf("%q posted %d times, want once", text, n)
		}
	}
	if got, _ := f.Channel(ch.ID); !slices.Contains(got.Members, "U0EXEC01") {
		t.Error("the commander named before the kill was not invited after the restart")
	}

	db := stopAndOpen(t, p, dir)
	evs, err := db.Timeline(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	fired := 0
	for _, e := range evs {
		if e.Type == playbook.EventNudged {
			fired++
		}
	}
	if fired != 1 || reminders != 1 {
		t.Errorf("%d reminders fired, %d posted; want 1 and 1", fired, reminders)
	}
	for n := int64(1); n <= 2; n++ {
		if inc, err := db.Get(ctx, n); err != nil || len(inc.Outbox.Pending) != 0 {
			t.Errorf("incident %d: still pending %+v (%v)", n, inc.Outbox.Pending, err)
		}
	}
}

const announceID = "C0ANNOUNCE"

// incidentChannel is incident n's channel.
func incidentChannel(t *testing.T, f *fakeslack.Server, n int64) fakeslack.Channel {
	t.Helper()
	for _, c := range f.Channels() {
		if strings.HasPrefix(c.Name, fmt.Sprintf("inc-%d-", n)) {
			return c
		}
	}
	t.Fatalf("incident %d has no channel", n)
	return fakeslack.Channel{}
}

// slashInBinary sends /incident text from the declarer in channel and
// waits for the ack.
func slashInBinary(t *testing.T, f *fakeslack.Server, channel, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ack, err := f.SlashCommand(ctx, fakeslack.SlashCommand{Text: text, UserID: "U0DECL01", ChannelID: channel})
	if err != nil || ack.Late {
		t.Fatalf("/incident %s: %v %+v", text, err, ack)
	}
}
