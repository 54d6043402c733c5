package playbook_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// A severity change whose process dies before it tells Slack (ChangeSeverity
// records it and its message; nobody delivers it) is told by the scheduler
// once the dead delivery's claim runs out, once, as a retry that first looks
// for an earlier post; one whose post fails is tried again with backoff.
func TestOutboxDeliversWhatACrashOrAFailureLeftPending(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	inc := h.declare(t, "checkout down", playbook.SEV3, "checkout")
	if _, err := h.app.SetUp(ctx, inc.Number); err != nil {
		t.Fatal(err)
	}
	t0 := h.clock.Now().UTC()
	notices := len(h.post.noticesCopy())

	// The change is stored with its message; the kill comes before the post.
	if _, _, changed, err := h.app.ChangeSeverity(ctx, inc.Number, playbook.SEV2, "U0DECLARER", "wider", "sev"); err != nil || !changed {
		t.Fatal(changed, err)
	}
	stored := h.get(t, inc.Number)
	if p := stored.Outbox.Pending; len(p) != 1 || p[0].Kind != playbook.MessageSeverity || p[0].Attempts != 1 {
		t.Fatalf("outbox after the change: %+v", stored.Outbox)
	}
	if w := stored.WakeAt(); w.IsZero() || w.After(t0.Add(10*time.Second)) {
		t.Fatalf("the scheduler wakes at %v for a message claimed at %v", w, t0)
	}
	// Within the dead delivery's claim nobody sends it.
	if _, err := h.app.Tick(ctx, t0.Add(9*time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := len(h.post.noticesCopy()); n != notices {
		t.Fatalf("%d notices during the claim", n-notices)
	}
	h.clock.Set(t0.Add(10 * time.Second))
	if _, err := h.app.Tick(ctx, t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := len(h.post.noticesCopy()); n != notices+1 {
		t.Fatalf("%d severity notices after the restart's tick, want 1", n-notices)
	}
	if d := h.post.deliveries; len(d) != 1 || d[0].Attempt != 2 || !d[0].Since.Equal(t0) || d[0].Key == "" {
		t.Fatalf("delivered as %+v; want attempt 2 looking from %v", d, t0)
	}
	if p := h.get(t, inc.Number).Outbox.Pending; len(p) != 0 {
		t.Fatalf("still pending after delivery: %+v", p)
	}
	if _, err := h.app.Tick(ctx, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := len(h.post.noticesCopy()); n != notices+1 {
		t.Fatalf("%d severity notices an hour later, want 1", n-notices)
	}

	// A post that fails is reported now and tried again after its backoff.
	down := errors.New("slack is down")
	fails := 1
	h.post.NoticeHook = func(string, string) error {
		if fails > 0 {
			fails--
			return down
		}
		return nil
	}
	t1 := t0.Add(2 * time.Hour)
	h.clock.Set(t1)
	o, err := h.app.SetSeverity(ctx, playbook.SeverityRequest{N: inc.Number, To: playbook.SEV1, Actor: "U0DECLARER", Key: "sev1"}, nil)
	var pe *playbook.PublishError
	if err != nil || !errors.As(o.Unpublished, &pe) || !errors.Is(pe, down) {
		t.Fatalf("SetSeverity = %+v, %v", o, err)
	}
	if p := h.get(t, inc.Number).Outbox.Pending; len(p) != 1 || p[0].Err == "" {
		t.Fatalf("the failed message is not kept for a retry: %+v", p)
	}
	if _, err := h.app.Tick(ctx, t1.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if p := h.get(t, inc.Number).Outbox.Pending; len(p) != 0 {
		t.Fatalf("still pending after the retry: %+v", p)
	}
	if n := len(h.post.noticesCopy()); n != notices+3 {
		t.Fatalf("%d severity notices (the first one failed), want 3", n-notices)
	}
}

// A reminder whose post keeps failing is tried OutboxAttempts times with a
// growing backoff, then given up (and logged), not retried forever.
func TestReminderRetriedWithBackoffThenGivenUp(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	inc := h.declare(t, "checkout down", playbook.SEV3, "checkout")
	if _, err := h.app.SetUp(ctx, inc.Number); err != nil {
		t.Fatal(err)
	}
	h.post.NudgeHook = func(playbook.Nudge) error { return errors.New("slack is down") }
	// The scope call's reminder: the next one is due after the retries.
	due := h.get(t, inc.Number).Timers.ScopeDue
	if due.IsZero() {
		t.Fatal("no reminder scheduled")
	}
	ns, err := h.app.Tick(ctx, due)
	if err != nil || len(ns) != 1 {
		t.Fatalf("Tick = %v, %v", ns, err)
	}
	at, tries := due, 1
	for wait := 10 * time.Second; tries < playbook.OutboxAttempts; wait *= 3 {
		if _, err := h.app.Tick(ctx, at.Add(wait-time.Second)); err != nil {
			t.Fatal(err)
		}
		if got := len(h.post.sentNudges()); got != tries {
			t.Fatalf("attempt %d came before its backoff of %v (%d posts)", tries+1, wait, got)
		}
		at = at.Add(wait)
		if _, err := h.app.Tick(ctx, at); err != nil {
			t.Fatal(err)
		}
		tries++
		if got := len(h.post.sentNudges()); got < tries {
			t.Fatalf("attempt %d not made after %v", tries, wait)
		}
	}
	if p := h.get(t, inc.Number).Outbox.Pending; len(p) != 0 {
		t.Fatalf("kept after %d attempts: %+v", playbook.OutboxAttempts, p)
	}
	d := h.post.deliveries
	if len(d) < playbook.OutboxAttempts || d[0].Attempt != 1 || d[playbook.OutboxAttempts-1].Attempt != playbook.OutboxAttempts {
		t.Fatalf("deliveries %+v", d)
	}
}

// Two replicas on one store (HA) both tick when a crashed delivery's claim
// runs out: the claim is taken in the store's transaction, so exactly one
// of them delivers the message.
func TestTwoReplicasDeliverAPendingMessageOnce(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	inc := h.declare(t, "checkout down", playbook.SEV3, "checkout")
	if _, err := h.app.SetUp(ctx, inc.Number); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := h.app.ChangeSeverity(ctx, inc.Number, playbook.SEV2, "U0DECLARER", "", "sev"); err != nil {
		t.Fatal(err)
	}
	notices := len(h.post.noticesCopy())
	deps := *h.app.Deps()
	other := &fakePoster{}
	deps.Poster = other
	replica := playbook.New(deps)
	at := h.clock.Now().Add(10 * time.Second)
	var wg sync.WaitGroup
	for _, app := range []*playbook.App{h.app, replica} {
		wg.Go(func() {
			if _, err := app.Tick(ctx, at); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(h.post.noticesCopy()) - notices + len(other.noticesCopy()); n != 1 {
		t.Fatalf("%d severity notices from two replicas, want 1", n)
	}
}

// The all-clear's final update is stored in the outbox as facts (which
// all-clear, the override's reason, the post-mortem's due time), not
// words: a failed post is delivered again with the same facts, and the
// timeline keeps only what the commander typed.
func TestFinalUpdateRetriedWithItsFacts(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	inc := h.declare(t, "checkout down", playbook.SEV2, "checkout")
	if _, err := h.app.SetUp(ctx, inc.Number); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := h.app.AssignCommander(ctx, inc.Number, "U0IC", "U0IC", "ic"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []playbook.StatusUpdate
	fails := 1
	h.post.UpdateHook = func(u playbook.StatusUpdate) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, u)
		if fails > 0 {
			fails--
			return errors.New("slack is down")
		}
		return nil
	}
	t0 := h.clock.Now().UTC()
	resolved, su, applied, err := h.app.AllClear(ctx, inc.Number, playbook.AllClearRequest{Key: "clear", Actor: "U0IC", Reason: "metrics lag"})
	if err != nil || !applied {
		t.Fatal(applied, err)
	}
	want := playbook.FinalUpdate{OverGates: true, Reason: "metrics lag", PostmortemDue: resolved.Timers.PostmortemDue}
	if su.Final == nil || *su.Final != want || su.Status != "" || su.Impact != "" || su.NextSteps != "" || want.PostmortemDue.IsZero() {
		t.Fatalf("final update %+v (final %+v), want only the facts %+v", su, su.Final, want)
	}
	if err := h.app.PublishUpdate(ctx, resolved, su); err == nil {
		t.Fatal("the failing post was not reported")
	}
	h.clock.Set(t0.Add(10 * time.Second))
	if _, err := h.app.Tick(ctx, t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) < 2 {
		t.Fatalf("%d posts of the final update, want the retry too", len(got))
	}
	for _, u := range got {
		if u.Final == nil || *u.Final != want || u.Seq != su.Seq {
			t.Fatalf("posted %+v (final %+v), want %+v", u, u.Final, want)
		}
	}
	if p := h.get(t, inc.Number).Outbox.Pending; len(p) != 0 {
		t.Fatalf("still pending after the retry: %+v", p)
	}
	for _, e := range h.timeline(t, inc.Number) {
		if e.Type != playbook.EventStatusUpdate {
			continue
		}
		p, _ := playbook.PayloadOf[playbook.UpdatePayload](e)
		if e.Text != "metrics lag" || !p.Final || p.AllClear != playbook.AllClearOverGates {
			t.Fatalf("final update event: text %q, payload %+v", e.Text, p)
		}
	}
}
