package templates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// TestEveryCatalogueEntryHasWords: each checklist item, gate and remediation
// option the domain knows, and each severity's default impact and response,
// has its words in labels.tmpl, so none shows as its bare ID.
func TestEveryCatalogueEntryHasWords(t *testing.T) {
	s := MustDefault()
	has := func(kind string, id any) {
		t.Helper()
		if got := s.Label(kind, id); got == "" || got == id || strings.Contains(got, "\n") {
			t.Errorf("label %s.%v = %q: want one line of words", kind, id, got)
		}
	}
	for _, it := range playbook.Checklist {
		has("checklist", string(it))
	}
	for _, g := range playbook.Gates {
		has("gate", string(g.Gate))
	}
	for _, r := range playbook.Remedies {
		has("remedy", string(r))
		has("remedy_typical", string(r))
		has("remedy_blurb", string(r))
	}
	for _, sev := range playbook.Severities {
		tier := playbook.DefaultTiers().Get(sev)
		if s.Impact(tier) == "" || s.Response(tier) == "" {
			t.Errorf("%v: impact %q, response %q", sev, s.Impact(tier), s.Response(tier))
		}
	}
	// A record of an item Klaxon no longer has shows as it was stored; a
	// severity without a default has no impact rather than its name.
	if got := s.Label("checklist", "pager_rotation"); got != "pager_rotation" {
		t.Errorf("unknown item = %q", got)
	}
	if got := s.Impact(playbook.Tier{Severity: playbook.Severity(9)}); got != "" {
		t.Errorf("impact of an unknown severity = %q", got)
	}
}

// TestLabelsFromTheOperatorReachEveryReader: an operator's labels.tmpl that
// renames one gate, one checklist item, one option and one tier's impact is
// seen in the gates message, the error that lists open gates, the guidance,
// the post-mortem and the intro; what it leaves out keeps Klaxon's words,
// and a tier's impact set in the config wins over both.
func TestLabelsFromTheOperatorReachEveryReader(t *testing.T) {
	dir := t.TempDir()
	override := `{{define "label.gate.error_rate"}}Errors under 1 in 1,000{{end}}
{{define "label.checklist.scope"}}Scope agreed{{end}}
{{define "label.remedy.rollback"}}Revert the deploy{{end}}
{{define "label.impact.SEV2"}}Half the shop is down{{end}}`
	if err := os.WriteFile(filepath.Join(dir, "labels.tmpl"), []byte(override), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	render := func(name string, data any) string {
		t.Helper()
		out, err := s.Render(name, data)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := render("gates.row", playbook.GateState{GateInfo: playbook.GateInfo{Gate: playbook.GateErrorRate}}); got != ":white_large_square: *Errors under 1 in 1,000*" {
		t.Errorf("gates row = %q", got)
	}
	if got := render("gates.row", playbook.GateState{GateInfo: playbook.GateInfo{Gate: playbook.GateBurnRate}}); got != ":white_large_square: *SLO burn rate back toward 1x or below*" {
		t.Errorf("a gate the override leaves alone = %q", got)
	}
	open := s.Error(playbook.Fail(playbook.CodeGatesOpen, playbook.ReasonGatesOpen, "", playbook.ErrorArgs{Incident: 3, Limit: 4, Time: now,
		Gates: []playbook.GateState{{GateInfo: playbook.GateInfo{Gate: playbook.GateErrorRate}}}}))
	if !strings.Contains(open, "• Errors under 1 in 1,000: not checked") {
		t.Errorf("gates_open error = %q", open)
	}
	guide := render("guidance.tmpl", map[string]any{"Incident": playbook.Incident{}, "Guidance": playbook.Guidance{Option: playbook.RemedyRollback}, "Actor": "U1", "Command": exampleCommand})
	if !strings.HasPrefix(guide, ":hammer_and_wrench: <@U1> chose *Revert the deploy* (typically 5–15 min).") {
		t.Errorf("guidance = %q", guide)
	}
	tier := playbook.DefaultTiers().Get(playbook.SEV2)
	brief := playbook.Briefing{Incident: playbook.Incident{Number: 4, Severity: playbook.SEV2, Title: "Checkout down"}, Tier: tier}
	if got := render("intro.tmpl", brief); !strings.Contains(got, "*Severity:* SEV2: Half the shop is down") || !strings.Contains(got, "*Response target:* within 15 minutes") {
		t.Errorf("intro:\n%s", got)
	}
	brief.Tier.Impact = "Checkout unavailable" // severities.SEV2.impact
	if got := render("intro.tmpl", brief); !strings.Contains(got, "*Severity:* SEV2: Checkout unavailable") {
		t.Errorf("intro with the config's impact:\n%s", got)
	}

	inc := playbook.Incident{Number: 4, Severity: playbook.SEV2, Times: map[playbook.Phase]time.Time{playbook.PhaseDeclared: now},
		Remediations: []playbook.Remediation{{Option: playbook.RemedyRollback, By: "U1", At: now}},
		GateChecks:   map[playbook.Gate]playbook.Check{playbook.GateErrorRate: {By: "U1", At: now}},
		Override:     &playbook.Override{By: "U1", At: now, NoChannel: true, Unmet: []playbook.Gate{playbook.GateErrorRate}}}
	checked := playbook.NewEvent(playbook.EventChecked, "U1", now, "")
	checked.Payload = playbook.ItemPayload{Item: playbook.ItemScope}
	pm, err := s.RenderPostmortem(pmApp.BuildPostmortem(inc, []playbook.Event{checked}, map[string]string{"U1": "Ann"}, now))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Ann checked “Scope agreed”",
		"- [x] Errors under 1 in 1,000: checked by Ann",
		"- **Revert the deploy**, chosen by Ann",
		"- **Reason:** No channel could be created for this incident, so the verification gates could not be checked.",
		"- **Unmet gates:** Errors under 1 in 1,000",
		"| Severity | SEV2: Half the shop is down |",
	} {
		if !strings.Contains(string(pm), want) {
			t.Errorf("post-mortem lacks %q:\n%s", want, pm)
		}
	}
}

// TestFinalUpdateWords: the all-clear's final update, from the facts the
// domain records, reads as it did when the domain wrote it.
func TestFinalUpdateWords(t *testing.T) {
	s := MustDefault()
	due := time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)
	b := playbook.Briefing{Incident: playbook.Incident{Number: 4, Severity: playbook.SEV2}}
	for _, c := range []struct {
		final *playbook.FinalUpdate
		want  string
	}{
		{&playbook.FinalUpdate{PostmortemDue: due},
			"*Status:* Resolved: all clear.\n*Impact:* The impact has ended.\n*Next steps:* Post-mortem due Mon 7 Dec 09:30 UTC. Record action items with `/incident action`, then `/incident close`.\n*Next update:* at resolution · posted by <@U1>"},
		{&playbook.FinalUpdate{OverGates: true, Reason: "metrics lag <!channel> & co"},
			"*Status:* Resolved: all clear given by the commander before every verification gate held. Reason: metrics lag &lt;!channel&gt; &amp; co\n*Impact:* The impact has ended.\n*Next steps:* Record action items with `/incident action`, then `/incident close`.\n*Next update:* at resolution · posted by <@U1>"},
		{&playbook.FinalUpdate{OverGates: true, NoChannel: true},
			"*Status:* Resolved: all clear given by the commander before every verification gate held. Reason: No channel could be created for this incident, so the verification gates could not be checked.\n*Impact:* The impact has ended.\n*Next steps:* Record action items with `/incident action`, then `/incident close`.\n*Next update:* at resolution · posted by <@U1>"},
	} {
		su := playbook.StatusUpdate{UpdateRequest: playbook.UpdateRequest{Author: "U1"}, Seq: 3, Final: c.final}
		got, err := s.Render("update.tmpl", map[string]any{"Incident": b.Incident, "Tier": b.Tier, "Service": b.Service, "Update": su})
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("final update %+v:\n got %q\nwant %q", *c.final, got, c.want)
		}
	}
}
