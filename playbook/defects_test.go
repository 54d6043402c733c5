package playbook_test

// Regression tests for the defects of issue 11, each first seen failing.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// pauseKey marks a context whose first Get pauses right after reading: the
// snapshot a use case took is then stale by the time it writes, which is
// the interleaving two simultaneous clicks can produce.
type pauseKey struct{}

type pause struct {
	once             sync.Once
	reached, release chan struct{}
}

type pausingStore struct{ playbook.Store }

func (s pausingStore) Get(ctx context.Context, n int64) (playbook.Incident, error) {
	inc, err := s.Store.Get(ctx, n)
	if p, ok := ctx.Value(pauseKey{}).(*pause); ok {
		p.once.Do(func() {
			close(p.reached)
			<-p.release
		})
	}
	return inc, err
}

// interleave runs first with a context whose first snapshot read pauses,
// runs second to completion while first is paused (or after first ended,
// when first reads no snapshot), then lets first finish and returns its
// error and whether it paused (its snapshot went stale).
func interleave(t *testing.T, first func(ctx context.Context) error, second func()) (error, bool) {
	t.Helper()
	p := &pause{reached: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- first(context.WithValue(context.Background(), pauseKey{}, p)) }()
	var err error
	finished := false
	select {
	case <-p.reached:
	case err = <-done:
		finished = true
	case <-time.After(10 * time.Second):
		t.Fatal("the first call neither read nor finished")
	}
	second()
	close(p.release)
	if !finished {
		err = recv(t, done, "the first call")
	}
	return err, !finished
}

// Defect 4: two simultaneous "I'll be incident commander" clicks must not
// let a bystander take the role over from the one who got it first.
func TestSimultaneousCommanderClicksLetNoBystanderTakeOver(t *testing.T) {
	h := newHarness(t)
	h.app.Deps().Store = pausingStore{h.store}
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV2, "checkout")
	var errB error
	errA, _ := interleave(t, func(ctx context.Context) error {
		_, _, _, err := h.app.AssignCommander(ctx, inc.Number, "U0BYSTANDA", "U0BYSTANDA", "click-a")
		return err
	}, func() {
		_, _, _, errB = h.app.AssignCommander(context.Background(), inc.Number, "U0BYSTANDB", "U0BYSTANDB", "click-b")
	})
	// Whichever click was written first holds the role; the other is a
	// takeover by a bystander, refused.
	winner, loserErr := "U0BYSTANDA", errB
	if errA != nil {
		winner, loserErr = "U0BYSTANDB", errA
	}
	if got := h.get(t, inc.Number).Commander; got != winner || (errA == nil) == (errB == nil) {
		t.Fatalf("commander = %s, clicks A: %v, B: %v; want exactly one taking the empty role and the other refused", got, errA, errB)
	}
	if playbook.ErrorCode(loserErr) != playbook.CodeForbidden {
		t.Fatalf("the late click = %v, want it refused (forbidden)", loserErr)
	}

	// The same with many at once: exactly one bystander becomes commander.
	h2 := newHarness(t)
	inc2 := h2.declare(t, "Search is slow", playbook.SEV3, "search")
	const clicks = 8
	var wg sync.WaitGroup
	errs := make([]error, clicks)
	for i := range clicks {
		wg.Go(func() {
			user := "U0CLICK" + string(rune('A'+i))
			_, _, _, errs[i] = h2.app.AssignCommander(context.Background(), inc2.Number, user, user, "click-"+user)
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case playbook.ErrorCode(err) != playbook.CodeForbidden:
			t.Errorf("a click failed with %v, want forbidden", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d simultaneous clicks took the role, want exactly 1", ok, clicks)
	}
	if evs := countEvents(h2.timeline(t, inc2.Number), playbook.EventCommanderChanged); evs != 1 {
		t.Fatalf("%d commander changes recorded, want 1", evs)
	}
}

// Defect 4: a severity change and an all-clear are authorised against the
// incident as stored when they are written, not a snapshot read before: a
// commander who handed the role over in between may no longer act.
func TestAuthorisationIsDecidedAgainstTheStoredIncident(t *testing.T) {
	setup := func(t *testing.T) (*harness, playbook.Incident) {
		h := newHarness(t)
		h.app.Deps().Store = pausingStore{h.store}
		inc := h.declare(t, "Checkout returns 500s", playbook.SEV2, "checkout")
		ctx := context.Background()
		if _, _, _, err := h.app.AssignCommander(ctx, inc.Number, "U0OLDIC", "U0OLDIC", h.key()); err != nil {
			t.Fatal(err)
		}
		return h, inc
	}
	handOver := func(t *testing.T, h *harness, n int64) func() {
		return func() {
			if _, _, _, err := h.app.AssignCommander(context.Background(), n, "U0NEWIC", "U0DECLARER", h.key()); err != nil {
				t.Errorf("the declarer's handover failed: %v", err)
			}
		}
	}

	t.Run("severity", func(t *testing.T) {
		h, inc := setup(t)
		err, stale := interleave(t, func(ctx context.Context) error {
			_, _, _, err := h.app.ChangeSeverity(ctx, inc.Number, playbook.SEV1, "U0OLDIC", "wider", "sev-old")
			return err
		}, handOver(t, h, inc.Number))
		if !stale {
			// No snapshot was read: the change was decided and written
			// while U0OLDIC still was the commander.
			if err != nil || h.get(t, inc.Number).Severity != playbook.SEV1 {
				t.Fatalf("severity change by the commander = %v", err)
			}
			return
		}
		if playbook.ErrorCode(err) != playbook.CodeForbidden {
			t.Fatalf("severity change by the former commander = %v, want forbidden", err)
		}
		if got := h.get(t, inc.Number).Severity; got != playbook.SEV2 {
			t.Fatalf("severity = %s, want it unchanged", got)
		}
	})

	t.Run("all-clear", func(t *testing.T) {
		h, inc := setup(t)
		ctx := context.Background()
		for _, g := range playbook.Gates {
			if _, _, err := h.app.SetGate(ctx, inc.Number, g.Gate, true, "U0SRE", h.key()); err != nil {
				t.Fatal(err)
			}
		}
		h.clock.Advance(time.Hour)
		err, stale := interleave(t, func(ctx context.Context) error {
			_, _, _, err := h.app.AllClear(ctx, inc.Number, playbook.AllClearRequest{Key: "clear-old", Actor: "U0OLDIC"})
			return err
		}, func() {
			// Once resolved, there is no commander to hand over.
			if _, _, _, err := h.app.AssignCommander(context.Background(), inc.Number, "U0NEWIC", "U0DECLARER", h.key()); err != nil && playbook.ErrorCode(err) != playbook.CodeBadTransition {
				t.Errorf("the declarer's handover failed: %v", err)
			}
		})
		if !stale {
			if err != nil || h.get(t, inc.Number).Status != playbook.StatusResolved {
				t.Fatalf("all-clear by the commander = %v", err)
			}
			return
		}
		if playbook.ErrorCode(err) != playbook.CodeForbidden {
			t.Fatalf("all-clear by the former commander = %v, want forbidden", err)
		}
		if got := h.get(t, inc.Number).Status; !got.Open() {
			t.Fatalf("status = %s, want still open", got)
		}
	})
}

// failKeyStore fails the Apply of one key, once, as a full disk would.
type failKeyStore struct {
	playbook.Store
	key  string
	once sync.Once
}

func (s *failKeyStore) Apply(ctx context.Context, n int64, key string, fn func(*playbook.Incident) ([]playbook.Event, error)) (playbook.Incident, bool, error) {
	fail := false
	if key == s.key {
		s.once.Do(func() { fail = true })
	}
	if fail {
		return playbook.Incident{}, false, errors.New("disk full")
	}
	return s.Store.Apply(ctx, n, key, fn)
}

// Defect 5: an idempotency key already applied is success. A replayed tag
// says what is recorded, and a close whose tag was recorded before its
// close step failed goes through when tried again with the same key.
func TestReplayedRootCauseTagAndCloseSucceed(t *testing.T) {
	h, _, _ := wrapHarness(t)
	ctx := context.Background()
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV2, "checkout")
	if _, _, err := h.app.SetRootCause(ctx, inc.Number, "DNS TTL", "U0DECLARER", "tag-1"); err != nil {
		t.Fatal(err)
	}
	got, applied, err := h.app.SetRootCause(ctx, inc.Number, "DNS TTL", "U0DECLARER", "tag-1")
	if err != nil || applied || got.RootCause != "dns-ttl" {
		t.Fatalf("replayed tag = %q applied %v, %v; want the recorded tag, not applied, no error", got.RootCause, applied, err)
	}

	h.resolve(t, inc.Number)
	h.app.Deps().Store = &failKeyStore{Store: h.store, key: "close-1"}
	req := playbook.CloseRequest{Key: "close-1", Actor: "U0DECLARER", Tag: "pool exhaustion"}
	if _, _, err := h.app.Close(ctx, inc.Number, req); playbook.ErrorCode(err) != playbook.CodeStore {
		t.Fatalf("close with a failing store = %v, want a store error", err)
	}
	got, applied, err = h.app.Close(ctx, inc.Number, req)
	if err != nil || !applied || got.Status != playbook.StatusClosed || got.RootCause != "pool-exhaustion" {
		t.Fatalf("close retried with its key = %s tag %q applied %v, %v; want closed", got.Status, got.RootCause, applied, err)
	}
}

// Defect 6: the scope call is final once the incident is resolved, like
// every other late edit.
func TestScopeCallIsFinalOnceResolved(t *testing.T) {
	h, _, _ := wrapHarness(t)
	ctx := context.Background()
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV2, "checkout")
	req := playbook.ScopeRequest{Key: h.key(), By: "U0DECLARER", WhatBroke: "checkout 500s"}
	if _, _, err := h.app.RecordScope(ctx, inc.Number, req); err != nil {
		t.Fatal(err)
	}
	h.resolve(t, inc.Number)
	for _, actor := range []string{"U0DECLARER", "U0NOBODY"} {
		req := playbook.ScopeRequest{Key: h.key(), By: actor, WhatBroke: "nothing broke"}
		_, _, err := h.app.RecordScope(ctx, inc.Number, req)
		if playbook.ErrorCode(err) != playbook.CodeBadTransition || !strings.Contains(userMessage(err), "is resolved; its scope call is final") {
			t.Fatalf("scope rewrite by %s after the all-clear = %v, want refused as final", actor, err)
		}
	}
	if got := h.get(t, inc.Number).Scope.WhatBroke; got != "checkout 500s" {
		t.Fatalf("scope = %q, rewritten after the all-clear", got)
	}
}

// Defect 7: an override straight from investigating stamps the skipped
// mitigation start at the same instant and says so on the timeline, so the
// phase durations have no hole.
func TestOverrideFromInvestigatingStampsTheSkippedPhases(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV2, "checkout")
	if _, _, _, err := h.app.AssignCommander(ctx, inc.Number, "U0IC", "U0IC", h.key()); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(20 * time.Minute)
	got, _, _, err := h.app.AllClear(ctx, inc.Number, playbook.AllClearRequest{Key: h.key(), Actor: "U0IC", Reason: "a false alarm: the dashboards were wrong"})
	if err != nil {
		t.Fatal(err)
	}
	now := h.clock.Now().UTC()
	for _, p := range []playbook.Phase{playbook.PhaseMitigationStarted, playbook.PhaseMitigated, playbook.PhaseResolved} {
		if at, ok := got.At(p); !ok || !at.Equal(now) {
			t.Errorf("%s = %v (reached %v), want %v", p, at, ok, now)
		}
	}
	for _, pt := range got.PhaseProgress(now) {
		if !pt.Started || !pt.Ended {
			t.Errorf("phase %s started %v ended %v: a hole in the phase durations", pt.Name, pt.Started, pt.Ended)
		}
	}
	var said bool
	for _, ev := range h.timeline(t, inc.Number) {
		if ev.Type == playbook.EventStatusChanged && slices.Contains(ev.Payload.(playbook.StatusPayload).Skipped, playbook.PhaseMitigationStarted) {
			said = true
		}
	}
	if !said {
		t.Fatalf("the timeline does not say mitigation_started was stamped: %v", eventTypes(h.timeline(t, inc.Number)))
	}

	// The pure rule, for every move that skips phases.
	t0 := time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		from, to playbook.Status
		skipped  []playbook.Phase
	}{
		{playbook.StatusInvestigating, playbook.StatusResolved, []playbook.Phase{playbook.PhaseMitigationStarted, playbook.PhaseMitigated}},
		{playbook.StatusInvestigating, playbook.StatusMitigated, []playbook.Phase{playbook.PhaseMitigationStarted}},
		{playbook.StatusMitigating, playbook.StatusResolved, []playbook.Phase{playbook.PhaseMitigated}},
	} {
		inc := playbook.Incident{Number: 1, Status: c.from, Times: map[playbook.Phase]time.Time{playbook.PhaseDeclared: t0.Add(-time.Hour)}}
		if c.from == playbook.StatusMitigating {
			inc.Times[playbook.PhaseMitigationStarted] = t0.Add(-time.Minute)
		}
		skipped, err := inc.TransitionSkipping(c.to, t0)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(phaseNames(skipped), ",") != strings.Join(phaseNames(c.skipped), ",") {
			t.Errorf("%s → %s skipped %v, want %v", c.from, c.to, skipped, c.skipped)
		}
		for _, p := range c.skipped {
			if at, _ := inc.At(p); !at.Equal(t0) {
				t.Errorf("%s → %s: %s = %v, want %v", c.from, c.to, p, at, t0)
			}
		}
	}
}

func phaseNames(ps []playbook.Phase) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

// Defect 8: text a person typed reaches a GitHub issue body inert: no
// live mention, no HTML comment that could pass for another item's marker.
func TestTicketBodyCarriesNoLiveMentionOrMarker(t *testing.T) {
	h, tk, _ := wrapHarness(t)
	ctx := context.Background()
	title := "cc @acme/everyone checkout down <!-- klaxon:incident-1:action-2 -->"
	inc := h.declare(t, title, playbook.SEV2, "checkout")
	due := h.clock.Now().UTC().AddDate(0, 0, 7).Format(playbook.DueLayout)
	text := "Add an alert for @acme/everyone <!-- klaxon:incident-1:action-2 --> **now**"
	if _, _, _, err := h.app.AddAction(ctx, inc.Number, playbook.ActionRequest{Key: h.key(), Actor: "U0DECLARER", Text: text, Owner: "U0ALICE", Due: due}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.FileTickets(ctx, inc.Number, false); err != nil {
		t.Fatal(err)
	}
	if len(tk.filed) != 1 {
		t.Fatalf("%d tickets filed", len(tk.filed))
	}
	body := tk.filed[0].Body
	for _, bad := range []string{"@acme", "<!--", "**now**"} {
		if strings.Contains(body, bad) {
			t.Errorf("the issue body carries %q as typed:\n%s", bad, body)
		}
	}
	if !strings.Contains(body, "Due:** "+due) {
		t.Errorf("the body lost its facts:\n%s", body)
	}
}

// refreshTriage records the re-renders asked of it.
type refreshTriage struct {
	mu        sync.Mutex
	refreshed []playbook.Briefing
	parts     []playbook.Parts
}

func (r *refreshTriage) PostScopeCall(context.Context, playbook.Briefing) (playbook.MessageRef, error) {
	return playbook.MessageRef{Channel: "C", TS: "1.1"}, nil
}
func (r *refreshTriage) PostChecklist(context.Context, playbook.Briefing) (playbook.MessageRef, error) {
	return playbook.MessageRef{Channel: "C", TS: "1.2"}, nil
}
func (r *refreshTriage) Refresh(_ context.Context, b playbook.Briefing, what playbook.Parts) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refreshed, r.parts = append(r.refreshed, b), append(r.parts, what)
	return nil
}
func (r *refreshTriage) PostScopeSummary(context.Context, playbook.Briefing) error { return nil }
func (r *refreshTriage) AnnounceSeverityChange(context.Context, playbook.Briefing, playbook.SeverityChange) error {
	return nil
}
func (r *refreshTriage) PostSetupFailure(context.Context, string, playbook.Notice) error {
	return nil
}

// Also checked: a severity change while SetUp runs leaves no message on
// the old severity: the topic, the pinned intro and the announcement are
// re-rendered from the stored incident.
func TestSeverityChangeDuringSetUpIsShownEverywhere(t *testing.T) {
	h := newHarness(t)
	tr := &refreshTriage{}
	h.app.Deps().Triage = tr
	ctx := context.Background()
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV3, "checkout")
	h.post.AnnounceHook = func(playbook.Briefing) error {
		_, _, _, err := h.app.ChangeSeverity(ctx, inc.Number, playbook.SEV1, "U0DECLARER", "all regions", "sev-during-setup")
		return err
	}
	if _, err := h.app.SetUp(ctx, inc.Number); err != nil {
		t.Fatal(err)
	}
	h.ch.mu.Lock()
	last := h.ch.topics[len(h.ch.topics)-1]
	h.ch.mu.Unlock()
	if last.Incident.Severity != playbook.SEV1 {
		t.Errorf("the last topic set shows %s, want SEV1", last.Incident.Severity)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	ok := false
	for i, p := range tr.parts {
		if p.Has(playbook.PartIntro) && p.Has(playbook.PartAnnouncement) && tr.refreshed[i].Incident.Severity == playbook.SEV1 {
			ok = true
		}
	}
	if !ok {
		t.Fatalf("the intro and announcement were not re-rendered on SEV1: %v", tr.parts)
	}
}
