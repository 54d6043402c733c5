package playbook_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// A handover is stored with its message: when the process dies before it
// tells Slack (AssignCommander records it; nobody delivers it), the
// scheduler shows it once the dead delivery's claim runs out, once.
// SetCommander, the person's intent, delivers it at once.
func TestHandoverIsDeliveredFromTheOutbox(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	inc := h.declare(t, "checkout down", playbook.SEV3, "checkout")
	if _, err := h.app.SetUp(ctx, inc.Number); err != nil {
		t.Fatal(err)
	}
	t0 := h.clock.Now().UTC()
	commanderNotices := func() (n int) {
		for _, c := range h.post.noticesCopy() {
			if strings.Contains(c.Text, "incident commander") {
				n++
			}
		}
		return n
	}
	if _, _, changed, err := h.app.AssignCommander(ctx, inc.Number, "U0IC", "U0IC", "ic1"); err != nil || !changed {
		t.Fatal(changed, err)
	}
	if p := h.get(t, inc.Number).Outbox.Pending; len(p) != 1 || p[0].Kind != playbook.MessageCommander || p[0].Commander.To != "U0IC" {
		t.Fatalf("outbox after the handover: %+v", p)
	}
	if _, err := h.app.Tick(ctx, t0.Add(9*time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := commanderNotices(); n != 0 {
		t.Fatalf("%d commander notices during the dead delivery's claim", n)
	}
	if _, err := h.app.Tick(ctx, t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := commanderNotices(); n != 1 {
		t.Fatalf("%d commander notices after the claim ran out, want 1", n)
	}
	if p := h.get(t, inc.Number).Outbox.Pending; len(p) != 0 {
		t.Fatalf("still pending: %+v", p)
	}

	answered := false
	o, err := h.app.SetCommander(ctx, playbook.CommanderRequest{N: inc.Number, User: "U0NEXT", Actor: "U0IC", Key: "ic2"}, func(o playbook.Outcome) {
		answered = true
		if n := commanderNotices(); n != 1 {
			t.Errorf("the person was answered after Slack was told (%d notices)", n)
		}
	})
	if err != nil || !o.Applied || !answered || o.Handover != (playbook.CommanderPayload{From: "U0IC", To: "U0NEXT"}) || o.Unpublished != nil {
		t.Fatalf("SetCommander = %+v, %v (answered %v)", o, err, answered)
	}
	notices := h.post.noticesCopy()
	if last := notices[len(notices)-1].Text; !strings.Contains(last, "handed over from <@U0IC> to <@U0NEXT>") {
		t.Fatalf("last notice %q", last)
	}
	if p := h.get(t, inc.Number).Outbox.Pending; len(p) != 0 {
		t.Fatalf("still pending after SetCommander: %+v", p)
	}
}

// A checklist click stores its refresh with the check; CheckItem delivers
// it at once.
func TestChecklistClickQueuesItsRefresh(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	inc := h.declare(t, "checkout down", playbook.SEV3, "checkout")
	if _, err := h.app.SetUp(ctx, inc.Number); err != nil {
		t.Fatal(err)
	}
	if _, changed, err := h.app.SetItem(ctx, inc.Number, playbook.ItemRunbook, false, "U1", "c1"); err != nil || !changed {
		t.Fatal(changed, err)
	}
	if p := h.get(t, inc.Number).Outbox.Pending; len(p) != 1 || p[0].Kind != playbook.MessageRefresh || p[0].Parts != playbook.PartChecklist {
		t.Fatalf("outbox after a click: %+v", p)
	}
	o, err := h.app.CheckItem(ctx, playbook.ItemRequest{N: inc.Number, Item: playbook.ItemDeploys, On: true, Actor: "U1", Key: "c2"}, nil)
	if err != nil || !o.Applied {
		t.Fatal(o, err)
	}
	p := h.get(t, inc.Number).Outbox.Pending
	if len(p) != 1 || p[0].Key == "" || p[0].Parts != playbook.PartChecklist {
		t.Fatalf("CheckItem left %+v pending; want only the first click's refresh", p)
	}
	// A repeated click changes nothing and queues nothing.
	if o, err := h.app.CheckItem(ctx, playbook.ItemRequest{N: inc.Number, Item: playbook.ItemDeploys, On: true, Actor: "U1", Key: "c3"}, nil); err != nil || o.Applied {
		t.Fatal(o, err)
	}
	if p := h.get(t, inc.Number).Outbox.Pending; len(p) != 1 {
		t.Fatalf("a repeated click queued a refresh: %+v", p)
	}
}

// A delivery that runs past its claim (Slack slow to answer) keeps it: the
// claim is renewed every half claim while the delivery runs, so another
// replica ticking when the first claim would have run out does not start
// the message a second time.
func TestSlowDeliveryKeepsItsClaim(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	inc := h.declare(t, "checkout down", playbook.SEV3, "checkout")
	if _, err := h.app.SetUp(ctx, inc.Number); err != nil {
		t.Fatal(err)
	}
	afters := make(chan chan time.Time)
	deps := *h.app.Deps()
	deps.After = func(time.Duration) <-chan time.Time {
		c := make(chan time.Time, 1)
		afters <- c
		return c
	}
	app := playbook.New(deps)
	other := &fakePoster{}
	deps.Poster, deps.After = other, nil
	replica := playbook.New(deps)

	entered, release := make(chan struct{}), make(chan struct{})
	h.post.NoticeHook = func(_, text string) error {
		if strings.Contains(text, "Severity changed") {
			close(entered)
			<-release
		}
		return nil
	}
	t0 := h.clock.Now().UTC()
	done := make(chan error, 1)
	go func() {
		_, err := app.SetSeverity(ctx, playbook.SeverityRequest{N: inc.Number, To: playbook.SEV2, Actor: "U0DECLARER", Key: "sev"}, nil)
		done <- err
	}()
	recv(t, entered, "the severity notice, held by Slack")
	half := recv(t, afters, "the claim's first renewal waiting")
	h.clock.Set(t0.Add(5 * time.Second))
	half <- t0.Add(5 * time.Second)
	recv(t, afters, "the claim's second renewal waiting") // the first is stored
	if p := h.get(t, inc.Number).Outbox.Pending; len(p) != 1 || !p[0].NextTry.Equal(t0.Add(15*time.Second)) {
		t.Fatalf("the claim after its renewal at %v: %+v", t0.Add(5*time.Second), p)
	}
	h.clock.Set(t0.Add(10 * time.Second))
	if _, err := replica.Tick(ctx, t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := recv(t, done, "SetSeverity"); err != nil {
		t.Fatal(err)
	}
	count := func(p *fakePoster) (n int) {
		for _, c := range p.noticesCopy() {
			if strings.Contains(c.Text, "Severity changed") {
				n++
			}
		}
		return n
	}
	if n, m := count(h.post), count(other); n != 1 || m != 0 {
		t.Fatalf("severity notices: %d from the slow delivery, %d from the replica; want 1 and 0", n, m)
	}
	if p := h.get(t, inc.Number).Outbox.Pending; len(p) != 0 {
		t.Fatalf("still pending: %+v", p)
	}
}

// A gate click stores the gates message's refresh with the check, as a
// checklist click does; CheckGate delivers it at once.
func TestGateClickQueuesItsRefresh(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	inc := h.declare(t, "checkout down", playbook.SEV3, "checkout")
	if _, err := h.app.SetUp(ctx, inc.Number); err != nil {
		t.Fatal(err)
	}
	if _, changed, err := h.app.SetGate(ctx, inc.Number, playbook.GateErrorRate, true, "U1", "g1"); err != nil || !changed {
		t.Fatal(changed, err)
	}
	if p := h.get(t, inc.Number).Outbox.Pending; len(p) != 1 || p[0].Kind != playbook.MessageRefresh || p[0].Parts != playbook.PartGates {
		t.Fatalf("outbox after a gate click: %+v", p)
	}
	answered := false
	o, err := h.app.CheckGate(ctx, playbook.GateRequest{N: inc.Number, Gate: playbook.GateBurnRate, On: true, Actor: "U1", Key: "g2"}, func(playbook.Outcome) { answered = true })
	if err != nil || !o.Applied || !answered {
		t.Fatal(o, err, answered)
	}
	if p := h.get(t, inc.Number).Outbox.Pending; len(p) != 1 {
		t.Fatalf("CheckGate left %+v pending; want only the first click's refresh", p)
	}
}

// A message whose last attempt died with its process (its claim ran out,
// no attempts left) is given up by the scheduler, which tells the channel
// what could not be posted, once.
func TestLastAttemptLostToACrashIsToldInTheChannel(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	inc := h.declare(t, "checkout down", playbook.SEV3, "checkout")
	if _, err := h.app.SetUp(ctx, inc.Number); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := h.app.AssignCommander(ctx, inc.Number, "U0IC", "U0IC", "ic"); err != nil {
		t.Fatal(err)
	}
	t0 := h.clock.Now().UTC()
	// Its sixth attempt was claimed by a process that died.
	if _, err := h.store.Update(ctx, inc.Number, func(i *playbook.Incident) ([]playbook.Event, error) {
		i.Outbox.Pending[0].Attempts = playbook.OutboxAttempts
		i.Outbox.Pending[0].Err = "chat.postMessage: 503"
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	gaveUp := func() (n int) {
		for _, c := range h.post.noticesCopy() {
			if strings.Contains(c.Text, "Klaxon gave up posting that <@U0IC> is the incident commander after 6 attempts (chat.postMessage: 503)") {
				n++
			}
		}
		return n
	}
	if _, err := h.app.Tick(ctx, t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := gaveUp(); n != 1 {
		t.Fatalf("%d give-up notices, want 1: %+v", n, h.post.noticesCopy())
	}
	for _, c := range h.post.noticesCopy() {
		if strings.Contains(c.Text, "is now the incident commander") {
			t.Fatalf("a seventh attempt was made: %q", c.Text)
		}
	}
	if p := h.get(t, inc.Number).Outbox.Pending; len(p) != 0 {
		t.Fatalf("still pending: %+v", p)
	}
	if _, err := h.app.Tick(ctx, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := gaveUp(); n != 1 {
		t.Fatalf("%d give-up notices an hour later, want 1", n)
	}
}

// A delivery stalled longer than its claim (the process paused, the store
// unreachable) may find another attempt has taken the message over: its
// renewal then cancels its own calls, and its failure is not recorded on
// the message the later attempt owns.
func TestDeliveryThatLostItsClaimStops(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	inc := h.declare(t, "checkout down", playbook.SEV3, "checkout")
	if _, err := h.app.SetUp(ctx, inc.Number); err != nil {
		t.Fatal(err)
	}
	afters := make(chan chan time.Time)
	deps := *h.app.Deps()
	deps.After = func(time.Duration) <-chan time.Time {
		c := make(chan time.Time, 1)
		afters <- c
		return c
	}
	app := playbook.New(deps)
	other := &fakePoster{NoticeHook: func(string, string) error { return errors.New("replica's Slack is down") }}
	deps.Poster, deps.After = other, nil
	replica := playbook.New(deps)

	entered, cancelled := make(chan struct{}), make(chan struct{})
	h.post.NoticeCtxHook = func(ctx context.Context, _, text string) error {
		if !strings.Contains(text, "Severity changed") {
			return nil
		}
		close(entered)
		<-ctx.Done()
		close(cancelled)
		return ctx.Err()
	}
	t0 := h.clock.Now().UTC()
	done := make(chan playbook.Outcome, 1)
	go func() {
		o, err := app.SetSeverity(ctx, playbook.SeverityRequest{N: inc.Number, To: playbook.SEV2, Actor: "U0DECLARER", Key: "sev"}, nil)
		if err != nil {
			t.Error(err)
		}
		done <- o
	}()
	recv(t, entered, "the severity notice, stalled")
	half := recv(t, afters, "the claim's renewal waiting")
	// The stalled delivery misses its renewal; the claim runs out and
	// the replica's attempt (which fails) takes the message over.
	h.clock.Set(t0.Add(10 * time.Second))
	if _, err := replica.Tick(ctx, t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	half <- t0.Add(11 * time.Second)
	recv(t, cancelled, "the stalled delivery's calls cancelled")
	if o := recv(t, done, "SetSeverity"); o.Unpublished == nil {
		t.Error("the stalled delivery reported its severity change as told")
	}
	p := h.get(t, inc.Number).Outbox.Pending
	if len(p) != 1 || p[0].Attempts != 2 || !strings.Contains(p[0].Err, "replica's Slack is down") || !p[0].NextTry.Equal(t0.Add(40*time.Second)) {
		t.Fatalf("the message the replica took over: %+v", p)
	}
}
