package playbook_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the DST tests must not depend on the machine's zoneinfo

	"github.com/klaxonhq/klaxon/playbook"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

var allStatuses = []playbook.Status{
	playbook.StatusInvestigating, playbook.StatusMitigating, playbook.StatusMitigated,
	playbook.StatusResolved, playbook.StatusClosed,
}

// allowed is the playbook's state machine written out by hand, so that the
// test does not just restate the table in incident.go.
var allowed = map[[2]playbook.Status]bool{
	{playbook.StatusInvestigating, playbook.StatusMitigating}: true,
	{playbook.StatusInvestigating, playbook.StatusMitigated}:  true,
	{playbook.StatusInvestigating, playbook.StatusResolved}:   true,
	{playbook.StatusMitigating, playbook.StatusMitigated}:     true,
	{playbook.StatusMitigating, playbook.StatusResolved}:      true,
	{playbook.StatusMitigating, playbook.StatusInvestigating}: true,
	{playbook.StatusMitigated, playbook.StatusMitigating}:     true,
	{playbook.StatusMitigated, playbook.StatusResolved}:       true,
	{playbook.StatusMitigated, playbook.StatusInvestigating}:  true,
	{playbook.StatusResolved, playbook.StatusClosed}:          true,
	{playbook.StatusResolved, playbook.StatusInvestigating}:   true, // a premature all-clear reopens
}

// marks says which phase timestamps reaching a status records.
var marks = map[playbook.Status][]playbook.Phase{
	playbook.StatusInvestigating: nil,
	playbook.StatusMitigating:    {playbook.PhaseMitigationStarted},
	playbook.StatusMitigated:     {playbook.PhaseMitigationStarted, playbook.PhaseMitigated},
	playbook.StatusResolved:      {playbook.PhaseMitigationStarted, playbook.PhaseMitigated, playbook.PhaseResolved},
	playbook.StatusClosed:        {playbook.PhaseClosed},
}

func TestCanTransitionEveryPair(t *testing.T) {
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			want := allowed[[2]playbook.Status{from, to}]
			if got := playbook.CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
	for _, to := range allStatuses {
		if playbook.CanTransition(playbook.StatusClosed, to) {
			t.Errorf("closed can become %s; closed is final", to)
		}
		if playbook.CanTransition("", to) || playbook.CanTransition("archived", to) {
			t.Errorf("an unknown status can become %s", to)
		}
	}
}

func TestTransitionEveryPair(t *testing.T) {
	declared := time.Date(2026, 3, 8, 6, 0, 0, 0, time.UTC)
	now := time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC)
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			t.Run(string(from)+"→"+string(to), func(t *testing.T) {
				inc := playbook.Incident{Number: 42, Status: from, Times: map[playbook.Phase]time.Time{playbook.PhaseDeclared: declared}}
				err := inc.Transition(to, now)
				switch {
				case from == to:
					// Setting the status it already has (a double click) changes nothing.
					if err != nil {
						t.Fatalf("Transition to the same status = %v, want nil", err)
					}
					if inc.Status != from || len(inc.Times) != 1 {
						t.Fatalf("a no-op transition changed the incident: %+v", inc)
					}
				case allowed[[2]playbook.Status{from, to}]:
					if err != nil {
						t.Fatalf("Transition = %v, want allowed", err)
					}
					if inc.Status != to {
						t.Fatalf("status = %s, want %s", inc.Status, to)
					}
					want := append([]playbook.Phase{playbook.PhaseDeclared}, marks[to]...)
					got := slices.Collect(maps.Keys(inc.Times))
					slices.Sort(got)
					slices.Sort(want)
					if !slices.Equal(got, want) {
						t.Fatalf("phases recorded = %v, want %v", got, want)
					}
					for _, p := range marks[to] {
						if at, _ := inc.At(p); !at.Equal(now) {
							t.Errorf("%s = %v, want %v", p, at, now)
						}
					}
					if at, _ := inc.At(playbook.PhaseDeclared); !at.Equal(declared) {
						t.Errorf("declared moved to %v", at)
					}
				default:
					if err == nil {
						t.Fatalf("Transition allowed a forbidden move")
					}
					e := asError(t, err)
					if e.Code != playbook.CodeBadTransition {
						t.Errorf("code = %q, want %q", e.Code, playbook.CodeBadTransition)
					}
					for _, part := range []string{"#42", string(from), string(to)} {
						if !strings.Contains(userMessage(e), part) {
							t.Errorf("message %q does not mention %q", userMessage(e), part)
						}
					}
					if inc.Status != from || len(inc.Times) != 1 {
						t.Errorf("a refused transition changed the incident: status %s, times %v", inc.Status, inc.Times)
					}
				}
			})
		}
	}
}

func TestTransitionFirstTimeWins(t *testing.T) {
	t1 := time.Date(2026, 3, 29, 0, 10, 0, 0, time.UTC)
	t2, t3, t4, t5 := t1.Add(10*time.Minute), t1.Add(20*time.Minute), t1.Add(30*time.Minute), t1.Add(40*time.Minute)
	inc := playbook.Incident{Number: 3, Status: playbook.StatusInvestigating}
	steps := []struct {
		to  playbook.Status
		now time.Time
	}{
		{playbook.StatusMitigating, t1},
		{playbook.StatusInvestigating, t2}, // the fix did not work
		{playbook.StatusMitigating, t3},    // a second attempt
		{playbook.StatusResolved, t4},
		{playbook.StatusInvestigating, t5}, // premature all-clear, reopened
		{playbook.StatusResolved, t5.Add(time.Hour)},
		{playbook.StatusClosed, t5.Add(2 * time.Hour)},
	}
	for _, s := range steps {
		if err := inc.Transition(s.to, s.now); err != nil {
			t.Fatalf("Transition(%s) = %v", s.to, err)
		}
	}
	want := map[playbook.Phase]time.Time{
		playbook.PhaseMitigationStarted: t1,
		playbook.PhaseMitigated:         t4,
		playbook.PhaseResolved:          t4,
		playbook.PhaseClosed:            t5.Add(2 * time.Hour),
	}
	for p, w := range want {
		if got, ok := inc.At(p); !ok || !got.Equal(w) {
			t.Errorf("%s = %v (reached %v), want the first time %v", p, got, ok, w)
		}
	}
	if _, ok := inc.At(playbook.PhaseTriageStarted); ok {
		t.Error("triage_started recorded by a status change")
	}
	if inc.Status != playbook.StatusClosed || inc.Status.Open() {
		t.Fatalf("status = %s (open %v), want closed", inc.Status, inc.Status.Open())
	}
	for _, to := range allStatuses[:4] {
		if err := inc.Transition(to, t5.Add(3*time.Hour)); playbook.ErrorCode(err) != playbook.CodeBadTransition {
			t.Errorf("closed → %s = %v, want CodeBadTransition; closed is final", to, err)
		}
	}
}

func TestStatusOpen(t *testing.T) {
	for _, s := range allStatuses {
		want := s != playbook.StatusResolved && s != playbook.StatusClosed
		if s.Open() != want {
			t.Errorf("%s.Open() = %v, want %v", s, s.Open(), want)
		}
	}
}

// TestPhaseTimesAreUTCAcrossDST moves incidents through the spring-forward
// hour in New York (2026-03-08 02:00 EST → 03:00 EDT) and Paris (2026-03-29
// 02:00 CET → 03:00 CEST): stored times are UTC instants, and a phase
// measured across the change lasts what the clock on the wall did not show.
func TestPhaseTimesAreUTCAcrossDST(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	paris := mustLoad(t, "Europe/Paris")
	tests := []struct {
		name         string
		start        time.Time
		elapsed      time.Duration
		wantStartUTC time.Time
		wantEndUTC   time.Time
		wantEndWall  int // the hour a person in that zone saw at the end
	}{
		{"New York", time.Date(2026, 3, 8, 1, 30, 0, 0, ny), time.Hour,
			time.Date(2026, 3, 8, 6, 30, 0, 0, time.UTC), time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC), 3},
		{"Paris", time.Date(2026, 3, 29, 1, 45, 0, 0, paris), 30 * time.Minute,
			time.Date(2026, 3, 29, 0, 45, 0, 0, time.UTC), time.Date(2026, 3, 29, 1, 15, 0, 0, time.UTC), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			end := tt.start.Add(tt.elapsed)
			if end.Hour() != tt.wantEndWall {
				t.Fatalf("test setup: %v + %v shows %02d h on the wall, want %02d h (the DST change)", tt.start, tt.elapsed, end.Hour(), tt.wantEndWall)
			}
			inc := playbook.Incident{Number: 1, Status: playbook.StatusInvestigating}
			if err := inc.Transition(playbook.StatusMitigating, tt.start); err != nil {
				t.Fatal(err)
			}
			if err := inc.Transition(playbook.StatusResolved, end); err != nil {
				t.Fatal(err)
			}
			for _, p := range []playbook.Phase{playbook.PhaseMitigationStarted, playbook.PhaseMitigated, playbook.PhaseResolved} {
				at, _ := inc.At(p)
				if at.Location() != time.UTC {
					t.Errorf("%s stored in %v, want UTC", p, at.Location())
				}
			}
			started, _ := inc.At(playbook.PhaseMitigationStarted)
			resolved, _ := inc.At(playbook.PhaseResolved)
			if !started.Equal(tt.wantStartUTC) || !resolved.Equal(tt.wantEndUTC) {
				t.Errorf("stored %s → %s, want %s → %s",
					started.Format(time.RFC3339), resolved.Format(time.RFC3339), tt.wantStartUTC.Format(time.RFC3339), tt.wantEndUTC.Format(time.RFC3339))
			}
			if d := resolved.Sub(started); d != tt.elapsed {
				t.Errorf("time to resolve = %v, want %v", d, tt.elapsed)
			}
		})
	}
}

func TestIncidentReadyNeedsEveryStep(t *testing.T) {
	steps := []playbook.Step{playbook.StepChannel, playbook.StepTopic, playbook.StepPurpose, playbook.StepInvite,
		playbook.StepBookmark, playbook.StepIntro, playbook.StepPin, playbook.StepAnnounce, playbook.StepScope, playbook.StepChecks}
	var inc playbook.Incident
	if inc.Ready() || inc.Done(playbook.StepChannel) {
		t.Fatal("a fresh incident is ready")
	}
	done := map[playbook.Step]time.Time{}
	for i, s := range steps {
		inc.Setup = maps.Clone(done)
		if inc.Ready() {
			t.Errorf("ready with only %d of %d steps done (missing %s)", i, len(steps), s)
		}
		done[s] = time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)
	}
	inc.Setup = done
	if !inc.Ready() {
		t.Error("not ready with every step done")
	}
	if (playbook.MessageRef{Channel: "C1"}).Zero() != true || (playbook.MessageRef{Channel: "C1", TS: "1.2"}).Zero() {
		t.Error("MessageRef.Zero does not follow its ts")
	}
}

func TestNewEventIsUTC(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	now := time.Date(2026, 3, 8, 3, 0, 0, 0, ny)
	ev := playbook.NewEvent(playbook.EventNote, "U1", now, "rolled back")
	if ev.At.Location() != time.UTC || ev.Recorded.Location() != time.UTC || !ev.At.Equal(now) || !ev.Recorded.Equal(now) {
		t.Errorf("NewEvent times = %v / %v, want %v in UTC", ev.At, ev.Recorded, now.UTC())
	}
	if ev.Type != playbook.EventNote || ev.Actor != "U1" || ev.Text != "rolled back" {
		t.Errorf("NewEvent = %+v", ev)
	}
}
