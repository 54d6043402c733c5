package bot_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/playbook"
)

// retryUntilGivenUp runs the scheduler at each retry of a message first
// tried at t0, until its last attempt (OutboxAttempts) has been made.
func retryUntilGivenUp(t *testing.T, k *klaxon, t0 time.Time) {
	t.Helper()
	at, wait := t0, 10*time.Second
	for range playbook.OutboxAttempts - 1 {
		at = at.Add(wait)
		wait *= 3
		if _, err := k.app.Tick(ctxT(t), at); err != nil {
			t.Fatal(err)
		}
	}
}

// gaveUp returns the notices in channel saying Klaxon gave up posting what.
func gaveUp(f *fakeslack.Server, channel, what string) (n int) {
	for _, m := range f.Messages(channel) {
		if strings.Contains(m.Text, "Klaxon gave up posting "+what) {
			n++
		}
	}
	return n
}

// A status update Slack refuses every time is tried OutboxAttempts times,
// then given up, and the channel is told what could not be posted, once.
func TestGivenUpUpdateIsToldInTheChannel(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{FaultOn: func(c fakeslack.Call) *fakeslack.Fault {
		if c.Method == "chat.postMessage" && c.Params.Get("thread_ts") == "" && strings.Contains(c.Params.Get("text"), "Update 1") {
			return &fakeslack.Fault{Status: 503}
		}
		return nil
	}})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	slash(t, f, "declare sev2 search Search is slow")
	waitReady(t, f, 1)
	ch, _ := f.Channel("inc-1-sev2-search-is-slow")
	slashIn(t, f, ch.ID, declarer, "update rolling back the index")
	k.bot.Wait()
	t0 := time.Now() // after the first attempt's claim was taken
	if n := gaveUp(f, ch.ID, ""); n != 0 {
		t.Fatalf("%d give-up notices after the first attempt", n)
	}
	retryUntilGivenUp(t, k, t0)
	if n := gaveUp(f, ch.ID, "status update 1 after 6 attempts"); n != 1 {
		t.Errorf("%d notices that update 1 was given up, want 1; the channel has:\n%s", n, texts(f.Messages(ch.ID)))
	}
	if inc, _ := k.db.Get(ctxT(t), 1); len(inc.Outbox.Pending) != 0 {
		t.Errorf("still pending after giving up: %+v", inc.Outbox.Pending)
	}
	// Nothing more is tried, or told, later.
	if _, err := k.app.Tick(ctxT(t), t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := gaveUp(f, ch.ID, ""); n != 1 {
		t.Errorf("%d give-up notices after a later tick, want 1", n)
	}
}

// When the channel was archived by hand, the message given up (a handover
// queued before the archive) is told to the commander by DM.
func TestGivenUpMessageGoesToTheCommanderWhenTheChannelIsGone(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{FaultOn: func(c fakeslack.Call) *fakeslack.Fault {
		if c.Method == "chat.postMessage" && c.Params.Get("thread_ts") == "" && strings.Contains(c.Params.Get("text"), "Update 1") {
			return &fakeslack.Fault{Status: 503}
		}
		return nil
	}})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	slash(t, f, "declare sev2 search Search is slow")
	waitReady(t, f, 1)
	ch, _ := f.Channel("inc-1-sev2-search-is-slow")
	slashIn(t, f, ch.ID, declarer, "ic <@U0SRE001>")
	k.bot.Wait()
	slashIn(t, f, ch.ID, declarer, "update rolling back the index")
	k.bot.Wait()
	t0 := time.Now() // after the first attempt's claim was taken
	if !f.ArchiveChannel(ch.ID) {
		t.Fatal("could not archive the channel")
	}
	retryUntilGivenUp(t, k, t0)
	if n := gaveUp(f, ch.ID, ""); n != 0 {
		t.Errorf("%d give-up notices in the archived channel", n)
	}
	dm := "D" + "0SRE001"
	if n := gaveUp(f, dm, "status update 1 after 6 attempts"); n != 1 {
		t.Errorf("%d notices to the commander by DM that update 1 was given up, want 1; the DM has:\n%s", n, texts(f.Messages(dm)))
	}
}

func texts(ms []fakeslack.Message) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(m.Text + "\n")
	}
	return b.String()
}
