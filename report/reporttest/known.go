// Package reporttest holds a hand-built set of incidents whose figures are
// known, shared by the tests that print them. Only tests import it.
package reporttest

import (
	"context"
	"fmt"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

func inc(n int64, sev playbook.Severity, status playbook.Status, decl time.Time, mins map[playbook.Phase]float64) playbook.Incident {
	i := playbook.Incident{Number: n, Title: "<script>alert(1)</script> secret title", Severity: sev, Status: status, Service: "checkout",
		Times: map[playbook.Phase]time.Time{playbook.PhaseDeclared: decl}}
	for p, m := range mins {
		i.Times[p] = decl.Add(time.Duration(m * float64(time.Minute)))
	}
	return i
}

// Known is a hand-built set of incidents with known figures over the four
// weeks ending at now (tests of the report, the binary and Slack print it): three
// resolved SEV1s in three weeks, an open SEV2, a resolved SEV3, a repeat, a
// late post-mortem and an action item closed late.
func Known(now time.Time) ([]playbook.Incident, [][]playbook.Event) {
	w := func(i int) time.Time { return now.Add(-time.Duration(4-i)*playbook.Week + 24*time.Hour) }
	p := func(det, ack, mit, mitd, res float64) map[playbook.Phase]float64 {
		return map[playbook.Phase]float64{playbook.PhaseDetected: det, playbook.PhaseAcknowledged: ack,
			playbook.PhaseMitigationStarted: mit, playbook.PhaseMitigated: mitd, playbook.PhaseResolved: res}
	}
	incs := []playbook.Incident{
		inc(1, playbook.SEV1, playbook.StatusClosed, w(0), p(-4, 2, 16, 56, 66)),
		inc(2, playbook.SEV1, playbook.StatusResolved, w(1), p(0, 0, 10, 30, 50)),
		inc(3, playbook.SEV1, playbook.StatusClosed, w(2), p(-2, 1, 31, 91, 101)),
		inc(4, playbook.SEV2, playbook.StatusInvestigating, w(3), map[playbook.Phase]float64{playbook.PhaseDetected: 0, playbook.PhaseAcknowledged: 0}),
		inc(5, playbook.SEV3, playbook.StatusResolved, w(3), p(0, 0, 5, 10, 12)),
	}
	incs[0].RootCause = "dns-ttl"
	incs[2].RootCause, incs[2].RepeatOf = "dns-ttl", []int64{1}
	// Both items are due five days after #1's declaration (the end of that
	// day, UTC): one closed the day before, one two days late.
	dueDay := time.Date(w(0).Year(), w(0).Month(), w(0).Day()+5, 0, 0, 0, 0, time.UTC)
	due := dueDay.Format(time.DateOnly)
	incs[0].Actions = []playbook.ActionItem{
		{ID: 1, Text: "user text", Owner: "U1", Due: due, Ticket: &playbook.Ticket{State: "closed", ClosedAt: dueDay.Add(57 * time.Hour)}},
		{ID: 2, Text: "user text", Owner: "U2", Due: due, Ticket: &playbook.Ticket{State: "closed", ClosedAt: dueDay.Add(-15 * time.Hour)}},
	}
	res := func(i int, after time.Duration) []playbook.Event {
		return []playbook.Event{{Type: playbook.EventPostmortemDone, At: incs[i].Times[playbook.PhaseResolved].Add(after), Text: "https://docs/pm"}}
	}
	return incs, [][]playbook.Event{res(0, 30*time.Hour), res(1, 2*time.Hour), res(2, 3*time.Hour)}
}

// Fill stores incs (numbered 1, 2, … in order) with their events in s, which
// must be empty; a bbolt store skips its fsyncs meanwhile.
func Fill(ctx context.Context, s playbook.Store, incs []playbook.Incident, events [][]playbook.Event) error {
	// A fixture is rebuilt if the machine stops: no fsync per incident
	// (a thousand of them take seconds on a busy disk).
	if ns, ok := s.(interface{ SetNoSync(bool) }); ok {
		ns.SetNoSync(true)
		defer ns.SetNoSync(false)
	}
	for i, inc := range incs {
		var evs []playbook.Event
		if i < len(events) {
			evs = events[i]
		}
		got, _, err := s.Create(ctx, fmt.Sprintf("reporttest-%d", i), func(n int64) (playbook.Incident, []playbook.Event) {
			inc.Number = n
			return inc, append([]playbook.Event{playbook.NewEvent(playbook.EventDeclared, "U0DECL01", inc.DeclaredAt(), "declared")}, evs...)
		})
		if err != nil {
			return err
		}
		if got.Number != inc.Number && inc.Number != 0 {
			return fmt.Errorf("reporttest: incident %d stored as #%d: the store was not empty", inc.Number, got.Number)
		}
	}
	return nil
}
