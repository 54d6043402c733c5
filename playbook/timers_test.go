package playbook_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

var d0 = time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)

// declared returns an incident of severity sev declared at d0, with its
// timers started as Declare starts them.
func declared(t *testing.T, sev playbook.Severity, tiers playbook.Tiers) (*playbook.Incident, *harness) {
	t.Helper()
	h := newHarness(t)
	h.app.Deps().Tiers = tiers
	h.clock.Set(d0)
	inc := h.declare(t, "Checkout returns 500s", sev, "checkout")
	// The scope-call timebox is tested on its own (TestScopeTimebox).
	inc.Timers.ScopeDue = time.Time{}
	return &inc, h
}

// kinds lists the kinds of ns, leaving out the scope-call reminder (tested
// on its own in TestScopeTimebox), which fires at +5 min in every test here.
func kinds(ns []playbook.Nudge) []playbook.NudgeKind {
	var out []playbook.NudgeKind
	for _, n := range ns {
		if n.Kind != playbook.NudgeScope {
			out = append(out, n.Kind)
		}
	}
	return out
}

func TestCadencePerTier(t *testing.T) {
	tiers := playbook.DefaultTiers()
	tests := []struct {
		sev           playbook.Severity
		updateDue     time.Duration // 0: none
		statusPageDue time.Duration // 0: none
		postmortemDue time.Duration // after resolution; 0: none
		resolutionAsk bool
	}{
		{playbook.SEV1, 15 * time.Minute, 5 * time.Minute, 24 * time.Hour, false},
		{playbook.SEV2, 30 * time.Minute, 0, 48 * time.Hour, false},
		{playbook.SEV3, 30 * time.Minute, 0, 0, true}, // the opening update
		{playbook.SEV4, 0, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.sev.String(), func(t *testing.T) {
			inc, _ := declared(t, tt.sev, tiers)
			tm := inc.Timers
			if want := at(tt.updateDue); !tm.UpdateDue.Equal(want) || !tm.NextNudge.Equal(want) {
				t.Errorf("update due %v, next nudge %v; want %v", tm.UpdateDue, tm.NextNudge, want)
			}
			if want := at(tt.statusPageDue); !tm.StatusPageDue.Equal(want) {
				t.Errorf("status page due %v, want %v", tm.StatusPageDue, want)
			}
			if err := inc.Resolve(tiers.Get(tt.sev), d0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			tm = inc.Timers
			if !tm.NextNudge.IsZero() || !tm.UpdateDue.IsZero() || !tm.StatusPageDue.IsZero() {
				t.Errorf("resolved incident still has update deadlines: %+v", tm)
			}
			if got := !tm.ResolutionUpdateDue.IsZero(); got != tt.resolutionAsk {
				t.Errorf("resolution update asked = %v, want %v", got, tt.resolutionAsk)
			}
			wantPM := time.Time{}
			if tt.postmortemDue > 0 {
				wantPM = d0.Add(time.Hour + tt.postmortemDue)
			}
			if !tm.PostmortemDue.Equal(wantPM) {
				t.Errorf("post-mortem due %v, want %v", tm.PostmortemDue, wantPM)
			}
		})
	}
}

// at is d0+d, or zero for d == 0.
func at(d time.Duration) time.Time {
	if d == 0 {
		return time.Time{}
	}
	return d0.Add(d)
}

func TestNudgeThenEscalateThenKeepReminding(t *testing.T) {
	tiers := playbook.DefaultTiers()
	sev2 := tiers[playbook.SEV2]
	sev2.OverdueUpdateMentions = []string{"U0MANAGER", "S0LEADS"}
	tiers[playbook.SEV2] = sev2
	inc, _ := declared(t, playbook.SEV2, tiers)
	inc.Commander = "U0IC"

	if ns := inc.Fire(sev2, d0.Add(29*time.Minute)); len(ns) != 0 {
		t.Fatalf("nudged before the update was due: %v", kinds(ns))
	}
	ns := inc.Fire(sev2, d0.Add(30*time.Minute))
	if len(ns) != 1 || ns[0].Kind != playbook.NudgeUpdateDue || !slices.Equal(ns[0].Mention, []string{"U0IC"}) || ns[0].Level != 1 {
		t.Fatalf("first nudge = %+v", ns)
	}
	if ns := inc.Fire(sev2, d0.Add(30*time.Minute)); len(ns) != 0 {
		t.Fatalf("the same deadline fired twice: %v", kinds(ns))
	}
	if ns := inc.Fire(sev2, d0.Add(59*time.Minute)); len(ns) != 0 {
		t.Fatalf("escalated before a full interval: %v", kinds(ns))
	}
	ns = inc.Fire(sev2, d0.Add(60*time.Minute))
	if len(ns) != 1 || ns[0].Kind != playbook.NudgeUpdateEscalated || !slices.Equal(ns[0].Mention, []string{"U0IC", "U0MANAGER", "S0LEADS"}) || ns[0].Level != 2 {
		t.Fatalf("escalation = %+v", ns)
	}
	ns = inc.Fire(sev2, d0.Add(90*time.Minute))
	if len(ns) != 1 || ns[0].Kind != playbook.NudgeUpdateEscalated || ns[0].Level != 3 || !ns[0].Due.Equal(d0.Add(30*time.Minute)) {
		t.Fatalf("third reminder = %+v", ns)
	}
}

func TestNoCommanderAsksTheChannel(t *testing.T) {
	tiers := playbook.DefaultTiers()
	inc, _ := declared(t, playbook.SEV2, tiers)
	ns := inc.Fire(tiers[playbook.SEV2], d0.Add(30*time.Minute))
	if len(ns) != 1 || len(ns[0].Mention) != 0 {
		t.Fatalf("nudge without a commander = %+v; want no mention (the channel is asked to pick one)", ns)
	}
}

func TestUpdateResetsTheCadence(t *testing.T) {
	tiers := playbook.DefaultTiers()
	sev2 := tiers[playbook.SEV2]
	inc, _ := declared(t, playbook.SEV2, tiers)
	inc.Fire(sev2, d0.Add(30*time.Minute)) // nudged once
	inc.RecordUpdate(sev2, d0.Add(40*time.Minute), 0)
	if tm := inc.Timers; !tm.UpdateDue.Equal(d0.Add(70*time.Minute)) || tm.Nudges != 0 || tm.Updates != 1 {
		t.Fatalf("after an update: %+v", tm)
	}
	if ns := inc.Fire(sev2, d0.Add(60*time.Minute)); len(ns) != 0 {
		t.Fatalf("the old escalation still fired: %v", kinds(ns))
	}
	ns := inc.Fire(sev2, d0.Add(70*time.Minute))
	if len(ns) != 1 || ns[0].Kind != playbook.NudgeUpdateDue {
		t.Fatalf("after the reset, first reminder = %v; want a plain nudge, not an escalation", kinds(ns))
	}
	// "Next update in 10 minutes" overrides the interval once.
	inc.RecordUpdate(sev2, d0.Add(75*time.Minute), 10*time.Minute)
	if !inc.Timers.UpdateDue.Equal(d0.Add(85 * time.Minute)) {
		t.Fatalf("promised next update not kept: %v", inc.Timers.UpdateDue)
	}
}

func TestSEV1StatusPageRule(t *testing.T) {
	tiers := playbook.DefaultTiers()
	sev1 := tiers[playbook.SEV1]

	inc, _ := declared(t, playbook.SEV1, tiers)
	if met := inc.RecordUpdate(sev1, d0.Add(4*time.Minute), 0); !met || !inc.Timers.StatusPageMet {
		t.Fatal("an update 4 minutes in did not meet the status-page rule")
	}
	for _, n := range inc.Fire(sev1, d0.Add(6*time.Minute)) {
		t.Fatalf("reminder %s although the status page was updated", n.Kind)
	}

	late, _ := declared(t, playbook.SEV1, tiers)
	ns := late.Fire(sev1, d0.Add(5*time.Minute))
	if !slices.Equal(kinds(ns), []playbook.NudgeKind{playbook.NudgeStatusPage}) {
		t.Fatalf("at 5 minutes without an update: %v", kinds(ns))
	}
	if ns := late.Fire(sev1, d0.Add(6*time.Minute)); len(ns) != 0 {
		t.Fatalf("status-page reminder repeated: %v", kinds(ns))
	}
	if met := late.RecordUpdate(sev1, d0.Add(7*time.Minute), 0); met || late.Timers.StatusPageMet {
		t.Fatal("a 7-minute update counted as meeting the 5-minute rule")
	}
}

func TestSeverityChangeRetimesAtOnce(t *testing.T) {
	tiers := playbook.DefaultTiers()
	inc, _ := declared(t, playbook.SEV2, tiers)
	now := d0.Add(20 * time.Minute)
	inc.Severity = playbook.SEV1
	inc.Retime(tiers[playbook.SEV1], now)
	if !inc.Timers.UpdateDue.Equal(d0.Add(15*time.Minute)) || !inc.Timers.StatusPageDue.Equal(d0.Add(5*time.Minute)) {
		t.Fatalf("after SEV2→SEV1: %+v", inc.Timers)
	}
	ns := inc.Fire(tiers[playbook.SEV1], now)
	if !slices.Equal(kinds(ns), []playbook.NudgeKind{playbook.NudgeUpdateDue, playbook.NudgeStatusPage}) {
		t.Fatalf("an update overdue under SEV1 did not fire at once: %v", kinds(ns))
	}
	// Down to SEV4: ticket only, nothing more.
	inc.Severity = playbook.SEV4
	inc.Retime(tiers[playbook.SEV4], now.Add(time.Minute))
	if !inc.WakeAt().IsZero() {
		t.Fatalf("SEV4 still has deadlines: %+v", inc.Timers)
	}
	// Back up to SEV2 after an update at +22m: counts from that update.
	inc.RecordUpdate(tiers[playbook.SEV4], d0.Add(22*time.Minute), 0)
	inc.Severity = playbook.SEV2
	inc.Retime(tiers[playbook.SEV2], d0.Add(25*time.Minute))
	if !inc.Timers.UpdateDue.Equal(d0.Add(52*time.Minute)) || !inc.Timers.StatusPageDue.IsZero() {
		t.Fatalf("SEV4→SEV2: %+v", inc.Timers)
	}
}

func TestResolutionStopsNudgesAndAsksSEV3ForItsUpdate(t *testing.T) {
	tiers := playbook.DefaultTiers()
	sev1, _ := declared(t, playbook.SEV1, tiers)
	if err := sev1.Resolve(tiers[playbook.SEV1], d0.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ns := sev1.Fire(tiers[playbook.SEV1], d0.Add(24*time.Hour)); len(ns) != 0 {
		t.Fatalf("a resolved SEV1 was nudged: %v", kinds(ns))
	}

	sev3, _ := declared(t, playbook.SEV3, tiers)
	sev3.RecordUpdate(tiers[playbook.SEV3], d0.Add(5*time.Minute), 0) // the opening update
	if !sev3.Timers.UpdateDue.IsZero() || !sev3.Timers.NextNudge.IsZero() {
		t.Fatalf("after its opening update a SEV3 still waits for an update: %+v", sev3.Timers)
	}
	sev3.Resolve(tiers[playbook.SEV3], d0.Add(2*time.Hour))
	ns := sev3.Fire(tiers[playbook.SEV3], d0.Add(2*time.Hour))
	if !slices.Equal(kinds(ns), []playbook.NudgeKind{playbook.NudgeResolutionUpdate}) {
		t.Fatalf("resolved SEV3: %v", kinds(ns))
	}
	if ns := sev3.Fire(tiers[playbook.SEV3], d0.Add(3*time.Hour)); len(ns) != 0 {
		t.Fatalf("resolution update asked twice: %v", kinds(ns))
	}
}

func TestCatchUpFiresOnceThenCadenceContinues(t *testing.T) {
	tiers := playbook.DefaultTiers()
	sev1 := tiers[playbook.SEV1]
	inc, _ := declared(t, playbook.SEV1, tiers)
	inc.RecordUpdate(sev1, d0.Add(time.Minute), 0) // due at +16m
	// Klaxon was down from +10m to +70m: four intervals missed.
	back := d0.Add(70 * time.Minute)
	ns := inc.Fire(sev1, back)
	if !slices.Equal(kinds(ns), []playbook.NudgeKind{playbook.NudgeUpdateEscalated}) {
		t.Fatalf("catch-up fired %v; want one reminder, escalated (overdue by more than an interval)", kinds(ns))
	}
	if !inc.Timers.NextNudge.Equal(back.Add(15 * time.Minute)) {
		t.Fatalf("after catch-up the next reminder is at %v, want %v", inc.Timers.NextNudge, back.Add(15*time.Minute))
	}
}

// TestTimersAcrossDST declares at 01:55 New York time on the night the
// clocks spring forward: the 15-minute update is due 15 real minutes later
// (03:10 EDT, 07:10 UTC), stored in UTC.
func TestTimersAcrossDST(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	h := newHarness(t)
	h.clock.Set(time.Date(2026, 3, 8, 1, 55, 0, 0, ny))
	inc := h.declare(t, "db down", playbook.SEV1, "")
	due := inc.Timers.UpdateDue
	if due.Location() != time.UTC || !due.Equal(time.Date(2026, 3, 8, 7, 10, 0, 0, time.UTC)) {
		t.Fatalf("update due %v, want 2026-03-08 07:10 UTC", due)
	}
	if local := due.In(ny); local.Hour() != 3 || local.Minute() != 10 {
		t.Fatalf("due at %v New York time, want 03:10 EDT", local)
	}
	// Paris falls back on 2026-10-25: 02:50 CEST + 15 min is 02:05 CET.
	paris := mustLoad(t, "Europe/Paris")
	h.clock.Set(time.Date(2026, 10, 25, 2, 50, 0, 0, paris).Add(0))
	inc = h.declare(t, "api slow", playbook.SEV1, "")
	if got := inc.Timers.UpdateDue.Sub(inc.DeclaredAt()); got != 15*time.Minute {
		t.Fatalf("across the fall-back hour the update is due after %v, want 15m", got)
	}
}

func TestTickPostsEachReminderOnce(t *testing.T) {
	h := newHarness(t)
	h.clock.Set(d0)
	a := h.declare(t, "one", playbook.SEV1, "")
	h.declare(t, "two", playbook.SEV4, "")
	ctx := context.Background()

	ns, err := h.app.Tick(ctx, d0.Add(5*time.Minute))
	if err != nil || !slices.Equal(kinds(ns), []playbook.NudgeKind{playbook.NudgeStatusPage}) {
		t.Fatalf("tick at +5m = %v, %v", kinds(ns), err)
	}
	if ns, _ := h.app.Tick(ctx, d0.Add(5*time.Minute)); len(ns) != 0 {
		t.Fatalf("second tick at the same time fired %v", kinds(ns))
	}
	if ns, _ := h.app.Tick(ctx, d0.Add(15*time.Minute)); !slices.Equal(kinds(ns), []playbook.NudgeKind{playbook.NudgeUpdateDue}) {
		t.Fatalf("tick at +15m = %v", kinds(ns))
	}
	if got := len(kinds(h.post.sentNudges())); got != 2 {
		t.Fatalf("%d reminders posted, want 2", got)
	}
	var nudged int
	for _, ev := range h.timeline(t, a.Number) {
		if ev.Type == playbook.EventNudged && ev.Payload.(playbook.NudgePayload).Kind != playbook.NudgeScope {
			nudged++
		}
	}
	if nudged != 2 {
		t.Fatalf("%d nudges on the timeline, want 2", nudged)
	}
}

func TestPostUpdate(t *testing.T) {
	h := newHarness(t)
	h.clock.Set(d0)
	inc := h.declare(t, "db down", playbook.SEV1, "checkout")
	ctx := context.Background()
	h.clock.Set(d0.Add(3 * time.Minute))
	req := playbook.UpdateRequest{Key: "env-1", Author: "U0IC", Status: "Failing over the primary", Impact: "All checkouts fail", NextSteps: "Verify replicas"}
	su, applied, err := h.app.PostUpdate(ctx, inc.Number, req)
	if err != nil || !applied || su.Seq != 1 || !su.StatusPageMet || !su.NextDue.Equal(d0.Add(18*time.Minute)) {
		t.Fatalf("PostUpdate = %+v, %v, %v", su, applied, err)
	}
	if _, applied, _ := h.app.PostUpdate(ctx, inc.Number, req); applied {
		t.Fatal("the same envelope posted the update twice")
	}
	if n := len(h.post.updates); n != 1 {
		t.Fatalf("%d updates posted, want 1", n)
	}
	if _, _, err := h.app.PostUpdate(ctx, inc.Number, playbook.UpdateRequest{Key: "env-2", Author: "U0IC", Text: "  "}); playbook.ErrorCode(err) != playbook.CodeBadInput {
		t.Fatalf("empty update err = %v", err)
	}
	got := h.get(t, inc.Number)
	if got.Timers.Updates != 1 || !got.Timers.StatusPageMet {
		t.Fatalf("stored timers %+v", got.Timers)
	}
}

func TestPostmortemRemindersDailyUntilDone(t *testing.T) {
	h := newHarness(t)
	h.clock.Set(d0)
	inc := h.declare(t, "db down", playbook.SEV1, "")
	ctx := context.Background()
	h.store.Update(ctx, inc.Number, func(i *playbook.Incident) ([]playbook.Event, error) {
		i.Commander = "U0IC"
		return nil, i.Resolve(h.app.Deps().Tiers.Get(i.Severity), d0.Add(time.Hour))
	})
	day := func(n int) time.Time { return time.Date(2026, 11, 27+n, 9, 0, 0, 0, time.UTC) }
	ns, err := h.app.RemindPostmortems(ctx, day(1))
	if err != nil || len(ns) != 1 || ns[0].Kind != playbook.NudgePostmortem || !ns[0].Due.Equal(d0.Add(25*time.Hour)) || !slices.Equal(ns[0].Mention, []string{"U0IC"}) {
		t.Fatalf("first reminder = %+v, %v", ns, err)
	}
	if ns, _ := h.app.RemindPostmortems(ctx, day(1).Add(time.Hour)); len(ns) != 0 {
		t.Fatal("reminded twice the same day (a restart re-ran the sweep)")
	}
	if ns, _ := h.app.RemindPostmortems(ctx, day(2)); len(ns) != 1 {
		t.Fatal("not reminded the next day")
	}
	h.store.Update(ctx, inc.Number, func(i *playbook.Incident) ([]playbook.Event, error) {
		i.MarkPostmortemDone("https://wiki.example.com/pm/1")
		return nil, nil
	})
	if ns, _ := h.app.RemindPostmortems(ctx, day(3)); len(ns) != 0 {
		t.Fatal("reminded after the post-mortem was done")
	}
}

// TestRunSchedulerFiresWhenDue drives the real loop with a fake timer: the
// loop asks to sleep until the stored deadline, and fires when woken then.
func TestRunSchedulerFiresWhenDue(t *testing.T) {
	h := newHarness(t)
	h.clock.Set(d0)
	h.declare(t, "db down", playbook.SEV1, "")
	sleeps := make(chan time.Duration)
	fire := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- h.app.RunScheduler(ctx, func(d time.Duration) <-chan time.Time {
			sleeps <- d
			return fire
		})
	}()
	// The first deadline is 5 minutes away; the loop re-reads the store
	// at least every 30 s, so it asks for 30 s.
	if d := recv(t, sleeps, "the scheduler to sleep"); d != 30*time.Second {
		t.Fatalf("scheduler sleeps %v, want 30s", d)
	}
	h.clock.Set(d0.Add(4*time.Minute + 50*time.Second))
	send(t, fire, h.clock.Now())
	if d := recv(t, sleeps, "the scheduler to sleep again"); d != 10*time.Second {
		t.Fatalf("10 s before the deadline the scheduler sleeps %v, want exactly 10s", d)
	}
	if ns := h.post.sentNudges(); len(ns) != 0 {
		t.Fatalf("fired early: %v", ns)
	}
	h.clock.Set(d0.Add(5 * time.Minute))
	send(t, fire, h.clock.Now())
	recv(t, sleeps, "the scheduler to sleep after firing")
	if ns := kinds(h.post.sentNudges()); len(ns) != 1 || ns[0] != playbook.NudgeStatusPage {
		t.Fatalf("posted %v", ns)
	}
	cancel()
	if err := recv(t, done, "the scheduler to stop"); err != nil {
		t.Fatal(err)
	}
}

// send is recv's twin: it fails the test instead of hanging when nobody receives.
func send[T any](t *testing.T, ch chan<- T, v T) {
	t.Helper()
	select {
	case ch <- v:
	case <-time.After(10 * time.Second):
		t.Fatal("timed out sending")
	}
}

// TestScopeTimebox: the commander (or the channel) is nudged once when no
// scope is recorded by the end of the timebox; a recorded scope stops it.
func TestScopeTimebox(t *testing.T) {
	h := newHarness(t)
	h.app.Deps().ScopeTimebox = 3 * time.Minute
	h.clock.Set(d0)
	late := h.declare(t, "db down", playbook.SEV2, "")
	done := h.declare(t, "api slow", playbook.SEV2, "")
	ctx := context.Background()
	if _, _, err := h.app.RecordScope(ctx, done.Number, playbook.ScopeRequest{Key: "v1", By: "U0IC", WhatBroke: "api"}); err != nil {
		t.Fatal(err)
	}
	if ns, _ := h.app.Tick(ctx, d0.Add(3*time.Minute-time.Second)); len(ns) != 0 {
		t.Fatalf("nudged before the timebox ended: %v", ns)
	}
	ns, _ := h.app.Tick(ctx, d0.Add(3*time.Minute))
	if len(ns) != 1 || ns[0].Kind != playbook.NudgeScope || ns[0].Incident != late.Number || !ns[0].Due.Equal(d0.Add(3*time.Minute)) || len(ns[0].Mention) != 0 {
		t.Fatalf("at the end of the timebox: %+v (no commander: no mention, the channel is asked)", ns)
	}
	if ns, _ := h.app.Tick(ctx, d0.Add(10*time.Minute)); slices.ContainsFunc(ns, func(n playbook.Nudge) bool { return n.Kind == playbook.NudgeScope }) {
		t.Fatal("scope nudge repeated")
	}
	// With a commander, the commander is the one nudged.
	h.clock.Set(d0.Add(20 * time.Minute))
	third := h.declare(t, "queue stuck", playbook.SEV2, "")
	h.app.AssignCommander(ctx, third.Number, "U0IC", "U0IC", "ic")
	ns, _ = h.app.Tick(ctx, d0.Add(23*time.Minute))
	if i := slices.IndexFunc(ns, func(n playbook.Nudge) bool { return n.Kind == playbook.NudgeScope }); i < 0 || !slices.Equal(ns[i].Mention, []string{"U0IC"}) {
		t.Fatalf("scope reminder with a commander: %+v", ns)
	}
}

// TestResumeArmsIncidentsWithoutTimers: incidents stored before Klaxon kept
// timers get their reminders at start, counted from their declaration.
func TestResumeArmsIncidentsWithoutTimers(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	old, _, _ := h.store.Create(ctx, "old", func(int64) (playbook.Incident, []playbook.Event) {
		return playbook.Incident{Title: "old", Severity: playbook.SEV1, Status: playbook.StatusInvestigating,
			Times: map[playbook.Phase]time.Time{playbook.PhaseDeclared: d0},
			Setup: map[playbook.Step]time.Time{playbook.StepChannel: d0, playbook.StepTopic: d0, playbook.StepPurpose: d0, playbook.StepInvite: d0,
				playbook.StepBookmark: d0, playbook.StepIntro: d0, playbook.StepPin: d0, playbook.StepAnnounce: d0, playbook.StepScope: d0, playbook.StepChecks: d0}}, nil
	})
	h.clock.Set(d0.Add(time.Hour))
	if err := h.app.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	got := h.get(t, old.Number)
	if !got.Timers.UpdateDue.Equal(d0.Add(15 * time.Minute)) {
		t.Fatalf("after Resume the old SEV1 is due %v, want declared+15m", got.Timers.UpdateDue)
	}
	ns, _ := h.app.Tick(ctx, h.clock.Now())
	if !slices.Equal(kinds(ns), []playbook.NudgeKind{playbook.NudgeUpdateEscalated, playbook.NudgeStatusPage}) {
		t.Fatalf("first tick after the upgrade: %v; want one (escalated: 45 min overdue) update reminder and the status-page reminder", kinds(ns))
	}
}

// TestStatusPageReminderNotRepeatedBySeverityFlips: SEV1 → SEV2 → SEV1
// must not bring back a status-page reminder that already fired.
func TestStatusPageReminderNotRepeatedBySeverityFlips(t *testing.T) {
	tiers := playbook.DefaultTiers()
	inc, _ := declared(t, playbook.SEV1, tiers)
	if ns := inc.Fire(tiers[playbook.SEV1], d0.Add(5*time.Minute)); !slices.Contains(kinds(ns), playbook.NudgeStatusPage) {
		t.Fatal("status-page reminder did not fire")
	}
	inc.Retime(tiers[playbook.SEV2], d0.Add(6*time.Minute))
	inc.Retime(tiers[playbook.SEV1], d0.Add(7*time.Minute))
	if slices.Contains(kinds(inc.Fire(tiers[playbook.SEV1], d0.Add(8*time.Minute))), playbook.NudgeStatusPage) {
		t.Fatal("the status-page reminder fired again after a severity flip")
	}
}
