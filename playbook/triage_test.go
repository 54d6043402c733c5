package playbook_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

func TestAssignCommander(t *testing.T) {
	h := newHarness(t)
	h.clock.Set(d0)
	inc := h.declare(t, "db down", playbook.SEV1, "")
	ctx := context.Background()
	h.clock.Set(d0.Add(2 * time.Minute))
	got, prev, changed, err := h.app.AssignCommander(ctx, inc.Number, "U0IC", "U0IC", "k1")
	if err != nil || !changed || prev != "" || got.Commander != "U0IC" {
		t.Fatalf("first commander: %+v %q %v %v", got.Commander, prev, changed, err)
	}
	if at, _ := got.At(playbook.PhaseTriageStarted); !at.Equal(d0.Add(2 * time.Minute)) {
		t.Errorf("triage started at %v", at)
	}
	if _, _, changed, _ := h.app.AssignCommander(ctx, inc.Number, "U0IC", "U0IC", "k2"); changed {
		t.Error("the same commander again counted as a change")
	}
	h.clock.Set(d0.Add(9 * time.Minute))
	got, prev, changed, _ = h.app.AssignCommander(ctx, inc.Number, "U0NEXT", "U0IC", "k3")
	if !changed || prev != "U0IC" {
		t.Fatalf("hand-over: %v %q", changed, prev)
	}
	if at, _ := got.At(playbook.PhaseTriageStarted); !at.Equal(d0.Add(2 * time.Minute)) {
		t.Error("a hand-over moved the triage start")
	}
	if _, _, _, err := h.app.AssignCommander(ctx, inc.Number, "", "U0IC", "k4"); playbook.ErrorCode(err) != playbook.CodeBadInput {
		t.Errorf("empty commander: %v", err)
	}
	// Reminders now mention the commander.
	ns, _ := h.app.Tick(ctx, d0.Add(15*time.Minute))
	for _, n := range ns {
		if n.Kind == playbook.NudgeUpdateDue && (len(n.Mention) != 1 || n.Mention[0] != "U0NEXT") {
			t.Errorf("update reminder mentions %v, want the commander", n.Mention)
		}
	}
}

func TestSetItemIsStateNotToggle(t *testing.T) {
	h := newHarness(t)
	inc := h.declare(t, "db down", playbook.SEV2, "")
	ctx := context.Background()
	if _, ok := inc.Checked[playbook.ItemSeverity]; !ok {
		t.Fatal("severity assigned is not checked at declaration")
	}
	for i, step := range []struct {
		on      bool
		changed bool
	}{{true, true}, {true, false}, {false, true}, {false, false}} {
		_, changed, err := h.app.SetItem(ctx, inc.Number, playbook.ItemDeploys, step.on, "U1", "click-"+string(rune('a'+i)))
		if err != nil || changed != step.changed {
			t.Fatalf("step %d: set %v → changed %v, %v; want %v", i, step.on, changed, err, step.changed)
		}
	}
	if _, _, err := h.app.SetItem(ctx, inc.Number, "coffee", true, "U1", "x"); playbook.ErrorCode(err) != playbook.CodeBadInput {
		t.Errorf("unknown item: %v", err)
	}
}

func TestChangeSeverityRetimesAndWakes(t *testing.T) {
	h := newHarness(t)
	h.clock.Set(d0)
	inc := h.declare(t, "db down", playbook.SEV3, "")
	ctx := context.Background()
	h.clock.Set(d0.Add(20 * time.Minute))
	got, ch, changed, err := h.app.ChangeSeverity(ctx, inc.Number, playbook.SEV1, "U0DECLARER", "wider", "k")
	if err != nil || !changed || ch.From != playbook.SEV3 || ch.To != playbook.SEV1 {
		t.Fatalf("ChangeSeverity = %+v %v %v", ch, changed, err)
	}
	if !got.Timers.UpdateDue.Equal(d0.Add(15 * time.Minute)) {
		t.Errorf("update due %v after SEV3→SEV1", got.Timers.UpdateDue)
	}
	ns, _ := h.app.Tick(ctx, h.clock.Now())
	if !strings.Contains(strings.Join(kindStrings(ns), ","), "update_due") {
		t.Errorf("overdue under SEV1 but no reminder: %v", kinds(ns))
	}
	if _, _, changed, _ := h.app.ChangeSeverity(ctx, inc.Number, playbook.SEV1, "U0DECLARER", "", "k2"); changed {
		t.Error("same severity counted as a change")
	}
	if _, _, _, err := h.app.ChangeSeverity(ctx, inc.Number, 7, "U0DECLARER", "", "k3"); playbook.ErrorCode(err) != playbook.CodeBadSeverity {
		t.Errorf("bad severity: %v", err)
	}
}

func kindStrings(ns []playbook.Nudge) []string {
	var out []string
	for _, n := range ns {
		out = append(out, string(n.Kind))
	}
	return out
}

func TestPhaseProgress(t *testing.T) {
	inc := playbook.Incident{Times: map[playbook.Phase]time.Time{
		playbook.PhaseDetected: d0, playbook.PhaseAcknowledged: d0.Add(3 * time.Minute),
		playbook.PhaseMitigationStarted: d0.Add(23 * time.Minute),
	}, Status: playbook.StatusMitigating}
	ps := inc.PhaseProgress(d0.Add(40 * time.Minute))
	want := []time.Duration{3 * time.Minute, 20 * time.Minute, 17 * time.Minute, 0}
	for i, p := range ps {
		if p.Elapsed != want[i] {
			t.Errorf("%s elapsed %v, want %v", p.Name, p.Elapsed, want[i])
		}
	}
	if !ps[1].Ended || ps[1].Elapsed <= ps[1].Target {
		t.Errorf("triage took 20 min against 15: %+v", ps[1])
	}
	if inc.CurrentPhase() != "Remediation" {
		t.Errorf("current phase %q", inc.CurrentPhase())
	}
}

func TestAddNoteKeepsOriginalTime(t *testing.T) {
	h := newHarness(t)
	h.clock.Set(d0.Add(time.Hour))
	inc := h.declare(t, "db down", playbook.SEV2, "")
	ctx := context.Background()
	if _, applied, err := h.app.AddNote(ctx, inc.Number, "U1", "rolled back", d0.Add(10*time.Minute), "msg:1"); err != nil || !applied {
		t.Fatal(applied, err)
	}
	if _, applied, _ := h.app.AddNote(ctx, inc.Number, "U1", "rolled back", d0.Add(10*time.Minute), "msg:1"); applied {
		t.Error("the same message added twice")
	}
	evs := h.timeline(t, inc.Number)
	last := evs[len(evs)-1]
	if last.Type != playbook.EventNote || !last.At.Equal(d0.Add(10*time.Minute)) || !last.Recorded.Equal(d0.Add(time.Hour)) {
		t.Fatalf("note event %+v", last)
	}
	if _, _, err := h.app.AddNote(ctx, inc.Number, "U1", "  ", time.Time{}, "k"); playbook.ErrorCode(err) != playbook.CodeBadInput {
		t.Errorf("empty note: %v", err)
	}
}

type fakeDirectory map[string][]string

func (d fakeDirectory) GroupMembers(_ context.Context, id string) ([]string, error) {
	return d[id], nil
}

func (d fakeDirectory) Member(group, user string) (member, known bool) {
	members, known := d[group]
	return slices.Contains(members, user), known
}

// TestOnlyCommanderDeclarerOrRespondersChangeSeverity: anyone else is
// refused with who may; responders count directly or through a group.
func TestOnlyCommanderDeclarerOrRespondersChangeSeverity(t *testing.T) {
	h := newHarness(t)
	h.app.Deps().Responders = []string{"U0SRE", "S0ONCALL"}
	h.app.Deps().Directory = fakeDirectory{"S0ONCALL": {"U0PAGER"}}
	inc := h.declare(t, "db down", playbook.SEV3, "")
	ctx := context.Background()
	h.app.AssignCommander(ctx, inc.Number, "U0IC", "U0IC", "ic")

	_, _, _, err := h.app.ChangeSeverity(ctx, inc.Number, playbook.SEV2, "U0RANDOM", "", "r")
	if playbook.ErrorCode(err) != playbook.CodeForbidden || !strings.Contains(userMessage(err), "<@U0IC>") || !strings.Contains(userMessage(err), "<@U0DECLARER>") {
		t.Fatalf("a bystander's change: %v", err)
	}
	if got := h.get(t, inc.Number); got.Severity != playbook.SEV3 {
		t.Fatal("the refused change was applied")
	}
	for i, who := range []string{"U0IC", "U0DECLARER", "U0SRE", "U0PAGER"} {
		sev := []playbook.Severity{playbook.SEV2, playbook.SEV1, playbook.SEV2, playbook.SEV1}[i]
		if _, _, changed, err := h.app.ChangeSeverity(ctx, inc.Number, sev, who, "", "k"+who); err != nil || !changed {
			t.Errorf("%s may change the severity: %v", who, err)
		}
	}
}

// TestTakingOverTheCommanderRoleNeedsPermission: anyone may take an empty
// role; taking it from someone or naming someone else is for the commander,
// the declarer and responders.
func TestTakingOverTheCommanderRoleNeedsPermission(t *testing.T) {
	h := newHarness(t)
	inc := h.declare(t, "db down", playbook.SEV2, "")
	ctx := context.Background()
	if _, _, _, err := h.app.AssignCommander(ctx, inc.Number, "U0OTHER", "U0BYSTANDER", "a"); playbook.ErrorCode(err) != playbook.CodeForbidden {
		t.Fatalf("a bystander naming someone: %v", err)
	}
	if _, _, changed, err := h.app.AssignCommander(ctx, inc.Number, "U0BYSTANDER", "U0BYSTANDER", "b"); err != nil || !changed {
		t.Fatalf("taking the empty role: %v", err)
	}
	if _, _, _, err := h.app.AssignCommander(ctx, inc.Number, "U0THIRD", "U0THIRD", "c"); playbook.ErrorCode(err) != playbook.CodeForbidden {
		t.Fatalf("a third person taking over: %v", err)
	}
	if _, _, changed, err := h.app.AssignCommander(ctx, inc.Number, "U0THIRD", "U0DECLARER", "d"); err != nil || !changed {
		t.Fatalf("the declarer handing over: %v", err)
	}
}
