package templates

import (
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon/playbook"
)

// outlineParts are outlines that exercise template name (a part of the
// post-mortem outline: postmortem.event.<type> and the labels it uses) with
// hostile text h in every field a person or another service fills: for a
// timeline sentence, events of its type in each of its cases.
func outlineParts(name, h string) []playbook.Postmortem {
	// A bare outline: the part is what is under test.
	base := pmApp.BuildPostmortem(playbook.Incident{Number: 1, Severity: playbook.SEV2}, nil, nil, pmNow)
	with := func(edit func(p *playbook.Postmortem)) playbook.Postmortem {
		p := base
		p.Timeline = nil
		edit(&p)
		return p
	}
	typ, isEvent := strings.CutPrefix(name, PostmortemEventTemplate+".")
	if name == PostmortemEventTemplate {
		typ, isEvent = h, true
	}
	if !isEvent {
		// The labels and the bottleneck line, fed what no version writes.
		return []playbook.Postmortem{with(func(p *playbook.Postmortem) {
			p.Scope.Answers = []playbook.PostmortemAnswer{{Question: h, Answer: h}}
			p.Deploys.Looked = true
			p.Deploys.List = []playbook.PostmortemDeploy{{Repo: h, Short: "abc1234", Flags: []playbook.RiskFlag{playbook.RiskFlag(h), playbook.FlagMigration}}}
			p.BottleneckRule, p.Bottleneck = h, h
			p.Timeline = []playbook.PostmortemEvent{{Type: playbook.EventNudged, Actor: h, Nudge: playbook.NudgeKind(h), Detail: h}}
		})}
	}
	return []playbook.Postmortem{with(func(p *playbook.Postmortem) {
		for _, c := range append([]string{"", h}, eventCases[playbook.EventType(typ)]...) {
			e := filled[playbook.PostmortemEvent](h)
			e.Type, e.Case, e.Text, e.Time = playbook.EventType(typ), c, "", "10:00:00" // Klaxon's
			p.Timeline = append(p.Timeline, e, playbook.PostmortemEvent{Type: playbook.EventType(typ), Case: c})
		}
	})}
}

// eventCases are the Cases each event type's sentence has besides "".
var eventCases = map[playbook.EventType][]string{
	playbook.EventCommanderChanged:  {"took", "named", "took_over", "handed", "handed_between"},
	playbook.EventSeverityChanged:   {"changed"},
	playbook.EventSuspectDeploy:     {"deploy"},
	playbook.EventDeployLinked:      {"watchdog"},
	playbook.EventAllClear:          {"comma", "held", "over_gates"},
	playbook.EventStepFailed:        {"error"},
	playbook.EventNote:              {"retried_setup", "retried_deploys"},
	playbook.EventStatusChanged:     {"impact_stopped", "verification_started", "phases_skipped"},
	playbook.EventPagerDuty:         {"opened", "adopted", "resolved_by_klaxon", "webhook"},
	playbook.EventEscalated:         {"step"},
	playbook.EventEscalationSkipped: {"step"},
	playbook.EventOwnersTold:        {"github", "slack"},
	playbook.EventTicketFiled:       {"filed"},
	playbook.EventPostmortemShared:  {"upload", "publish"},
	playbook.EventPageAcknowledged:  {"acknowledged"},
}

// Every timeline sentence of the v1 store's outlines is one line (a line
// break in typed text becomes <br> in the outline, never a new list item).
func TestPostmortemSentencesAreOneLine(t *testing.T) {
	inc, events := hostileIncident()
	p := pmApp.BuildPostmortem(inc, events, nil, pmNow)
	if err := MustDefault().PostmortemSentences(&p); err != nil {
		t.Fatal(err)
	}
	for _, e := range p.Timeline {
		if e.Text == "" || strings.Contains(e.Text, "\n") && !strings.Contains(e.Detail, "\n") {
			t.Errorf("%s: sentence %q", e.Type, e.Text)
		}
	}
}
