package playbook

import (
	"strings"
	"time"
)

// PhaseAlerted is when the first alert of an incident's signals reached
// Klaxon. It sits between detected (the first anomaly, the earliest
// startsAt) and declared; it is not one of the Phases people move through.
const PhaseAlerted Phase = "alerted"

// DetectionStep is one point of the detection story: first anomaly → alert →
// declared → acknowledged.
type DetectionStep struct {
	Name string // "first anomaly", "alert", "declared", "acknowledged"
	At   time.Time
	// Reached is false when the incident has no such time (no alert: a
	// person declared it).
	Reached bool
	// Since is the time from the previous reached step.
	Since time.Duration
}

// DetectionSteps lists the detection timestamps of inc in order, each with
// the time since the previous one reached. MTTD is first anomaly →
// acknowledged (DetectionTotal).
func (inc *Incident) DetectionSteps() []DetectionStep {
	steps := []DetectionStep{{Name: "first anomaly"}, {Name: "alert"}, {Name: "declared"}, {Name: "acknowledged"}}
	var prev time.Time
	for i, p := range []Phase{PhaseDetected, PhaseAlerted, PhaseDeclared, PhaseAcknowledged} {
		t, ok := inc.At(p)
		if !ok {
			continue
		}
		steps[i].At, steps[i].Reached = t.UTC(), true
		if !prev.IsZero() {
			steps[i].Since = t.Sub(prev)
		}
		prev = t
	}
	return steps
}

// DetectionSummary renders the steps as one line of plain text:
// "first anomaly 14:02 → +3 min alert 14:05 → …" in UTC.
func DetectionSummary(steps []DetectionStep) string {
	var parts []string
	for _, s := range steps {
		if !s.Reached {
			continue
		}
		p := s.Name + " " + s.At.UTC().Format("15:04")
		if len(parts) > 0 {
			p = "(+" + HumanDuration(s.Since) + ") " + p
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " → ")
}

// ParseStarted reads when the impact started, as a person types it with
// --started or in the form: "14:02" (UTC, the latest such time not after
// now), or an RFC 3339 time. It must not be in the future nor more than
// seven days back.
func ParseStarted(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	now = now.UTC()
	var t time.Time
	if hm, err := time.Parse("15:04", strings.TrimSuffix(strings.TrimSuffix(s, "UTC"), " ")); err == nil {
		t = time.Date(now.Year(), now.Month(), now.Day(), hm.Hour(), hm.Minute(), 0, 0, time.UTC)
		if t.After(now) {
			t = t.AddDate(0, 0, -1)
		}
	} else if full, err := time.Parse(time.RFC3339, s); err == nil {
		t = full.UTC()
	} else {
		return time.Time{}, Fail(CodeBadInput, ReasonNotATime, FieldStarted, ErrorArgs{Input: truncate(s, 40)})
	}
	switch {
	case t.After(now):
		return time.Time{}, Fail(CodeBadInput, ReasonStartInFuture, FieldStarted, ErrorArgs{Time: t})
	case now.Sub(t) > 7*24*time.Hour:
		return time.Time{}, Fail(CodeBadInput, ReasonStartTooOld, FieldStarted, ErrorArgs{Time: t})
	}
	return t, nil
}
