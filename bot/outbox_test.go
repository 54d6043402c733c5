package bot_test

import (
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
)

// A severity change's posts go out from the outbox with the message's key in
// their metadata. When Slack posts one and the answer is lost (a 500 after
// the write), the next attempt finds it with conversations.history
// (include_all_metadata) and does not post it again: each appears once.
func TestLostAnswerToASeverityPostAppearsOnce(t *testing.T) {
	t.Parallel()
	var armed atomic.Bool
	f := newFake(t, fakeslack.Options{Fault: func(method string, _ int) *fakeslack.Fault {
		if method == "chat.postMessage" && armed.CompareAndSwap(true, false) {
			return &fakeslack.Fault{Status: 500, Applied: true}
		}
		return nil
	}})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	slash(t, f, "declare sev3 search Search is slow")
	waitReady(t, f, 1)
	ch, _ := f.Channel("inc-1-sev3-search-is-slow")

	armed.Store(true)
	slashIn(t, f, ch.ID, declarer, "sev 1 all regions now failing")
	k.bot.Wait()
	if armed.Load() {
		t.Fatal("the severity change posted nothing")
	}
	inc, _ := k.db.Get(ctxT(t), 1)
	if len(inc.Outbox.Pending) != 1 || inc.Outbox.Pending[0].Err == "" {
		t.Fatalf("the post whose answer was lost is not pending a retry: %+v", inc.Outbox)
	}
	// The retry, once the first attempt's claim ran out.
	if _, err := k.app.Tick(ctxT(t), time.Now().Add(11*time.Second)); err != nil {
		t.Fatal(err)
	}
	count := func(channel, text string) (n int, withKey bool) {
		for _, m := range f.Messages(channel) {
			if strings.Contains(m.Text, text) {
				n++
				withKey = strings.Contains(string(m.Metadata), `"klaxon_intent"`) && strings.Contains(string(m.Metadata), `"klaxon-1-`)
			}
		}
		return n, withKey
	}
	if n, key := count(ch.ID, "Severity changed SEV3 → SEV1"); n != 1 || !key {
		t.Errorf("%d severity notices in the channel (metadata key: %v), want 1", n, key)
	}
	if n, key := count(announce, "changed from SEV3 to SEV1"); n != 1 || !key {
		t.Errorf("%d severity announcements (metadata key: %v), want 1", n, key)
	}
	if len(f.CallsTo("conversations.history")) == 0 {
		t.Error("the retry did not look for the earlier post")
	}
	if inc, _ := k.db.Get(ctxT(t), 1); len(inc.Outbox.Pending) != 0 {
		t.Fatalf("still pending after the retry: %+v", inc.Outbox)
	}
}

// A status update's copy under the announcement is a thread reply, which
// conversations.history does not show: the retry after a lost answer looks
// for it with conversations.replies, and each copy appears once.
func TestLostAnswerToAnUpdateInTheAnnouncementThreadAppearsOnce(t *testing.T) {
	t.Parallel()
	var armed atomic.Bool
	f := newFake(t, fakeslack.Options{FaultOn: func(c fakeslack.Call) *fakeslack.Fault {
		if c.Method == "chat.postMessage" && c.Params.Get("channel") == announce && c.Params.Get("thread_ts") != "" && armed.CompareAndSwap(true, false) {
			return &fakeslack.Fault{Status: 500, Applied: true}
		}
		return nil
	}})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	slash(t, f, "declare sev2 search Search is slow")
	waitReady(t, f, 1)
	ch, _ := f.Channel("inc-1-sev2-search-is-slow")

	armed.Store(true)
	slashIn(t, f, ch.ID, declarer, "update rolling back the index")
	k.bot.Wait()
	if armed.Load() {
		t.Fatal("the update was not posted under the announcement")
	}
	if _, err := k.app.Tick(ctxT(t), time.Now().Add(11*time.Second)); err != nil {
		t.Fatal(err)
	}
	count := func(channel string, thread bool) (n int) {
		for _, m := range f.Messages(channel) {
			if strings.Contains(m.Text, "Update 1") && (m.ThreadTS != "") == thread {
				n++
			}
		}
		return n
	}
	if n := count(ch.ID, false); n != 1 {
		t.Errorf("%d copies of the update in the channel, want 1", n)
	}
	if n := count(announce, true); n != 1 {
		t.Errorf("%d copies of the update under the announcement, want 1", n)
	}
	if len(f.CallsTo("conversations.replies")) == 0 {
		t.Error("the retry did not look in the thread")
	}
	if inc, _ := k.db.Get(ctxT(t), 1); len(inc.Outbox.Pending) != 0 {
		t.Fatalf("still pending after the retry: %+v", inc.Outbox)
	}
}
