package playbook_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

// pmT0 is the fixed declaration time of these tests; no test reads a clock.
var pmT0 = time.Date(2026, 11, 27, 23, 40, 0, 0, time.UTC)

func pmMin(m float64) time.Time { return pmT0.Add(time.Duration(m * float64(time.Minute))) }

var pmApp = playbook.New(playbook.Deps{
	Tiers:    playbook.DefaultTiers(),
	Services: []playbook.Service{{Name: "Checkout", Runbook: "https://runbooks.example.com/checkout"}},
})

// pmTimes sets phase timestamps, in minutes after pmT0; a negative value
// leaves the phase unreached.
func pmTimes(detected, ack, mitStart, mitigated, resolved float64) map[playbook.Phase]time.Time {
	ts := map[playbook.Phase]time.Time{playbook.PhaseDeclared: pmT0}
	for p, m := range map[playbook.Phase]float64{
		playbook.PhaseDetected: detected, playbook.PhaseAcknowledged: ack, playbook.PhaseMitigationStarted: mitStart,
		playbook.PhaseMitigated: mitigated, playbook.PhaseResolved: resolved,
	} {
		if m >= 0 {
			ts[p] = pmMin(m)
		}
	}
	return ts
}

func TestPostmortemPhasesAndBottleneck(t *testing.T) {
	const no = -1
	for _, c := range []struct {
		name  string
		times map[playbook.Phase]time.Time
		// durations of Detection, Triage, Remediation, Verification, Total
		want       [5]string
		over       [5]bool
		bottleneck string
		rule       string
	}{
		{
			name:       "all within target: the largest share of its target",
			times:      pmTimes(0, 2, 14, 30, 40), // 2/5=40%, 12/15=80%, 16/30=53%, 10/15=67%
			want:       [5]string{"2 min", "12 min", "16 min", "10 min", "40 min"},
			bottleneck: "Triage",
			rule:       "Bottleneck: Triage. No phase went over its target, so this is the one that used the largest share of its target (80%).",
		},
		{
			name:       "the largest overrun wins over the largest share",
			times:      pmTimes(0, 15, 20, 65, 70), // Detection 15/5 (+10, 300%), Remediation 45/30 (+15, 150%)
			want:       [5]string{"15 min", "5 min", "45 min", "5 min", "1 h 10 min"},
			over:       [5]bool{true, false, true, false, true},
			bottleneck: "Remediation",
			rule:       "Bottleneck: Remediation, the phase furthest over its target (over by 15 min).",
		},
		{
			name:       "equal overruns: the earlier phase",
			times:      pmTimes(0, 10, 30, 40, 50), // Detection +5, Triage +5
			want:       [5]string{"10 min", "20 min", "10 min", "10 min", "50 min"},
			over:       [5]bool{true, true, false, false, false},
			bottleneck: "Detection",
			rule:       "Bottleneck: Detection, the phase furthest over its target (over by 5 min).",
		},
		{
			name:       "seconds count",
			times:      pmTimes(0, 5.5, 6, 7, 8),
			want:       [5]string{"5 min 30 s", "30 s", "1 min", "1 min", "8 min"},
			over:       [5]bool{true, false, false, false, false},
			bottleneck: "Detection",
			rule:       "Bottleneck: Detection, the phase furthest over its target (over by 30 s).",
		},
		{
			name:       "still open: a running phase is not reached and not a bottleneck",
			times:      pmTimes(0, 1, 3, no, no),
			want:       [5]string{"1 min", "2 min", "", "", ""},
			bottleneck: "Detection",
			rule:       "Bottleneck: Detection. No phase went over its target, so this is the one that used the largest share of its target (20%).",
		},
		{
			name:       "resolved straight from investigating: triage and remediation never ended",
			times:      pmTimes(0, 0, no, 150, 150),
			want:       [5]string{"0 s", "", "", "0 s", "2 h 30 min"},
			over:       [5]bool{false, false, false, false, true},
			bottleneck: "",
			rule:       "No bottleneck: no phase that ended took any time.",
		},
		{
			name:  "nothing ended",
			times: pmTimes(0, no, no, no, no),
			want:  [5]string{"", "", "", "", ""},
			rule:  "No bottleneck: no phase has ended.",
		},
		{
			name:       "a phase ending before it starts (clock skew) counts as 0",
			times:      pmTimes(0, 3, 2, 10, 12),
			want:       [5]string{"3 min", "0 s", "8 min", "2 min", "12 min"},
			bottleneck: "Detection",
			rule:       "Bottleneck: Detection. No phase went over its target, so this is the one that used the largest share of its target (60%).",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			inc := playbook.Incident{Number: 1, Severity: playbook.SEV1, Times: c.times}
			p := pmApp.BuildPostmortem(inc, nil, nil, pmT0)
			rows := append(slices.Clone(p.Phases), p.Total)
			for i, r := range rows {
				if r.Duration != c.want[i] || r.Over != c.over[i] {
					t.Errorf("%s: %q over=%v, want %q over=%v", r.Name, r.Duration, r.Over, c.want[i], c.over[i])
				}
				if r.Reached != (c.want[i] != "") {
					t.Errorf("%s: Reached=%v with duration %q", r.Name, r.Reached, r.Duration)
				}
				if r.Bottleneck != (r.Name == c.bottleneck) {
					t.Errorf("%s: Bottleneck=%v, want the bottleneck %q", r.Name, r.Bottleneck, c.bottleneck)
				}
			}
			if p.Bottleneck != c.bottleneck || !strings.Contains(outline(t, p), "\n"+c.rule+"\n") {
				t.Errorf("bottleneck %q (%s), want %q, %q", p.Bottleneck, p.BottleneckRule, c.bottleneck, c.rule)
			}
			if wantDur := c.want[4]; p.Duration != wantDur {
				t.Errorf("Duration %q, total %q", p.Duration, wantDur)
			}
		})
	}
}

func TestPostmortemPhaseTargets(t *testing.T) {
	inc := playbook.Incident{Severity: playbook.SEV1, Times: pmTimes(0, 1, 2, 3, 4)}
	p := pmApp.BuildPostmortem(inc, nil, nil, pmT0)
	var names, spans, targets []string
	for _, ph := range append(p.Phases, p.Total) {
		names, spans, targets = append(names, ph.Name), append(spans, ph.Span), append(targets, ph.TargetText)
	}
	if want := []string{"Detection", "Triage", "Remediation", "Verification", "Total"}; !slices.Equal(names, want) {
		t.Errorf("phases %q", names)
	}
	if want := []string{"5 min", "15 min", "30 min", "15 min", "1 h 5 min"}; !slices.Equal(targets, want) {
		t.Errorf("targets %q", targets)
	}
	if want := []string{"detected → acknowledged", "acknowledged → mitigation started", "mitigation started → mitigated", "mitigated → resolved", "detected → resolved"}; !slices.Equal(spans, want) {
		t.Errorf("spans %q", spans)
	}
	if md := outline(t, p); !strings.Contains(md, "\nTargets are the SEV1 (P1) targets.\n") {
		t.Errorf("SEV1 outline:\n%s", md)
	}
	for _, sev := range []playbook.Severity{playbook.SEV2, playbook.SEV3, playbook.SEV4} {
		inc.Severity = sev
		md := outline(t, pmApp.BuildPostmortem(inc, nil, nil, pmT0))
		if !strings.Contains(md, "This is a "+sev.String()+" incident; the targets are the P1 (SEV1) targets") {
			t.Errorf("%s outline does not say the targets are the P1 ones:\n%s", sev, md)
		}
	}
}

func TestPostmortemParticipants(t *testing.T) {
	inc := playbook.Incident{
		Declarer: "U1", Commander: "U3",
		Actions:    []playbook.ActionItem{{Owner: "U6"}, {Owner: "U2"}},
		GateChecks: map[playbook.Gate]playbook.Check{playbook.GateSynthetics: {By: "U8"}, playbook.GateBurnRate: {By: "U7"}},
		Scope:      &playbook.Scope{By: "U9"},
	}
	events := []playbook.Event{
		{Type: playbook.EventDeclared, Actor: "U1"},
		{Type: playbook.EventChannelCreated, Actor: "klaxon"},
		{Type: playbook.EventNote, Actor: "U5"},
		{Type: playbook.EventCommanderChanged, Actor: "U2", Payload: playbook.CommanderPayload{To: "U2"}},
		{Type: playbook.EventCommanderChanged, Actor: "U4", Payload: playbook.CommanderPayload{From: "U2", To: "U3"}},
		{Type: playbook.EventNote, Actor: "U4"},
		{Type: playbook.EventNote, Actor: ""},
		{Type: playbook.EventNote, Actor: "U5"},
	}
	got := playbook.PostmortemParticipants(inc, events)
	// declarer, commanders, actors, owners, gate checkers (in gate order), then the scope's author.
	want := []string{"U1", "U2", "U3", "U5", "U4", "U6", "U7", "U8", "U9"}
	if !slices.Equal(got, want) {
		t.Fatalf("participants %q, want %q", got, want)
	}
	if got := playbook.PostmortemParticipants(playbook.Incident{Declarer: "U1"}, nil); !slices.Equal(got, []string{"U1"}) {
		t.Fatalf("a bare incident's participants: %q", got)
	}
	names := map[string]string{"U1": "Ann", "U2": "  Bo\n  Li  ", "U3": ""}
	p := pmApp.BuildPostmortem(inc, events, names, pmT0)
	if want := []string{"Ann", "Bo Li", "U3", "U5", "U4", "U6", "U7", "U8", "U9"}; !slices.Equal(p.Participants, want) {
		t.Fatalf("participant names %q, want %q (unknown or blank names fall back to the ID)", p.Participants, want)
	}
	if p.Commander != "U3" || p.Declarer != "Ann" || !slices.Equal(p.FormerCommanders, []string{"Bo Li"}) {
		t.Fatalf("commander %q, declarer %q, former %q", p.Commander, p.Declarer, p.FormerCommanders)
	}
}

func TestPostmortemTimelineOrderAndTimes(t *testing.T) {
	ev := func(seq uint64, at time.Time, text string) playbook.Event {
		e := playbook.NewEvent(playbook.EventNote, "U1", at, text)
		e.Seq = seq
		return e
	}
	events := []playbook.Event{
		ev(1, pmMin(0), "a"),
		ev(2, pmMin(25), "d"),    // the next day (00:05)
		ev(3, pmMin(-95), "pre"), // a deploy two hours before, found later
		ev(5, pmMin(10), "c"),
		ev(4, pmMin(10), "b"), // same time: Seq decides
		ev(6, pmMin(10), "b2"),
	}
	orig := slices.Clone(events)
	p := withSentences(pmApp.BuildPostmortem(playbook.Incident{Times: map[playbook.Phase]time.Time{playbook.PhaseDeclared: pmT0}}, events, nil, pmT0))
	var got []string
	for _, e := range p.Timeline {
		got = append(got, e.Time+" "+e.Text)
	}
	want := []string{
		"22:05:00 U1 noted: pre",
		"23:40:00 U1 noted: a",
		"23:50:00 U1 noted: b",
		"23:50:00 U1 noted: c",
		"23:50:00 U1 noted: b2",
		"2026-11-28 00:05:00 U1 noted: d",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("timeline\n%q\nwant\n%q", got, want)
	}
	if !slices.EqualFunc(events, orig, func(a, b playbook.Event) bool { return a.Seq == b.Seq }) {
		t.Fatal("BuildPostmortem reordered the caller's events")
	}
}

// TestPostmortemSentences covers every event type: each gets a sentence
// naming its actor by name ("Klaxon" for Klaxon, the ID when unknown).
func TestPostmortemSentences(t *testing.T) {
	names := map[string]string{"U1": "Ann", "U2": "Bo", "U3": "Cy"}
	d := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, c := range []struct {
		typ   playbook.EventType
		actor string
		text  string
		data  map[string]string
		want  string
		link  string
	}{
		{playbook.EventDeclared, "U1", "SEV2 declared: x", d("severity", "SEV2", "service", "checkout"), "Ann declared the incident as SEV2 on service checkout", ""},
		{playbook.EventDeclared, "U1", "SEV4 declared: x", d("severity", "SEV4", "service", ""), "Ann declared the incident as SEV4", ""},
		{playbook.EventChannelCreated, "klaxon", "#inc-1-x", nil, "Klaxon created the channel: #inc-1-x", ""},
		{playbook.EventInvited, "klaxon", "invited U2, S9", nil, "Klaxon invited the stakeholders: Bo, S9", ""},
		{playbook.EventRunbookAttached, "klaxon", "https://rb.example/x", nil, "Klaxon attached the runbook", "https://rb.example/x"},
		{playbook.EventAnnounced, "klaxon", "announced", nil, "Klaxon announced the incident", ""},
		{playbook.EventStepFailed, "klaxon", "pin: not_pinnable", d("step", "pin"), "Klaxon hit a failed setup step (pin): pin: not_pinnable", ""},
		{playbook.EventCommanderChanged, "U2", "<@U2> is incident commander", d("from", "", "to", "U2"), "Bo took the incident commander role", ""},
		{playbook.EventCommanderChanged, "U1", "<@U2> is incident commander", d("from", "", "to", "U2"), "Ann named Bo incident commander", ""},
		{playbook.EventCommanderChanged, "U2", "x", d("from", "U2", "to", "U3"), "Bo handed the incident commander role to Cy", ""},
		{playbook.EventCommanderChanged, "U3", "x", d("from", "U2", "to", "U3"), "Cy took over the incident commander role from Bo", ""},
		{playbook.EventCommanderChanged, "U1", "x", d("from", "U2", "to", "U3"), "Ann handed the incident commander role from Bo to Cy", ""},
		{playbook.EventSeverityChanged, "U1", "SEV3 → SEV1: all down", d("from", "SEV3", "to", "SEV1", "reason", "all down"), "Ann changed the severity from SEV3 to SEV1: all down", ""},
		{playbook.EventSeverityChanged, "U1", "SEV3 → SEV1: all down", d("from", "SEV3", "to", "SEV1"), "Ann changed the severity from SEV3 to SEV1: all down", ""},
		{playbook.EventSeverityChanged, "U1", "wider than thought", d("from", "SEV3", "to", "SEV2"), "Ann changed the severity from SEV3 to SEV2: wider than thought", ""},
		{playbook.EventSeverityChanged, "U1", "SEV2 → SEV1", d("from", "SEV2", "to", "SEV1", "reason", ""), "Ann changed the severity from SEV2 to SEV1", ""},
		{playbook.EventStatusChanged, "U1", "Mitigated: the impact has stopped", d("to", "mitigated"), "Ann changed the status to mitigated: the impact has stopped", ""},
		{playbook.EventStatusChanged, "U1", "", d("from", "investigating", "to", "mitigating"), "Ann changed the status from investigating to mitigating", ""},
		{playbook.EventNote, "U9", "cache flushed\nat 14:02", nil, "U9 noted: cache flushed\nat 14:02", ""},
		{playbook.EventStatusUpdate, "U2", "Investigating", d("seq", "1", "status_page", "met"), "Bo posted a status update (#1), in time for the status page: Investigating", ""},
		{playbook.EventStatusUpdate, "U2", "Resolved", d("seq", "4", "final", "true"), "Bo posted the final status update (#4): Resolved", ""},
		{playbook.EventNudged, "klaxon", "update_due", d("kind", "update_due"), "Klaxon reminded the commander that a status update was due", ""},
		{playbook.EventNudged, "klaxon", "update_escalated", d("kind", "update_escalated"), "Klaxon escalated a status update still overdue", ""},
		{playbook.EventNudged, "klaxon", "status_page", d("kind", "status_page"), "Klaxon warned that the status page was not updated in time", ""},
		{playbook.EventNudged, "klaxon", "resolution_update", d("kind", "resolution_update"), "Klaxon asked for the closing status update", ""},
		{playbook.EventNudged, "klaxon", "postmortem", d("kind", "postmortem"), "Klaxon reminded the commander that the post-mortem is due", ""},
		{playbook.EventNudged, "klaxon", "scope", d("kind", "scope"), "Klaxon warned that the scope call's timebox ran out", ""},
		{playbook.EventNudged, "klaxon", "", d("kind", "lunch"), "Klaxon sent a reminder (lunch)", ""},
		{playbook.EventChecked, "klaxon", "severity", d("item", "severity"), "Klaxon checked “Severity assigned”", ""},
		{playbook.EventUnchecked, "U1", "runbook", d("item", "runbook"), "Ann unchecked “Runbook link posted in the channel”", ""},
		{playbook.EventScoped, "U2", "scope call: DB down", nil, "Bo answered the scope call: DB down", ""},
		{playbook.EventRemediation, "U3", "Roll back", d("option", "rollback"), "Cy chose the remediation “Roll back”", ""},
		{playbook.EventRemediation, "U3", "flip checkout_v2 off", d("option", "feature_flag"), "Cy chose the remediation “Disable a feature flag”: flip checkout_v2 off", ""},
		{playbook.EventSuspectDeploy, "klaxon", "Suspect deploy 9f2c1ab", d("sha", "9f2c1ab44d0e", "ref", "main", "creator", "octocat", "url", "https://gh.example/d/1"), "Klaxon flagged a suspect deploy: 9f2c1ab (main) by octocat", "https://gh.example/d/1"},
		{playbook.EventValidationPlan, "U3", "compare row counts", nil, "Cy set the validation plan: compare row counts", ""},
		{playbook.EventVerification, "U3", "Verification gates opened", nil, "Cy opened the verification gates", ""},
		{playbook.EventGateChecked, "U2", "Error rate below 0.1%", d("gate", "error_rate"), "Bo checked the gate “Error rate below 0.1%”", ""},
		{playbook.EventGateChecked, "U2", "x", d("gate", "synthetics"), "Bo checked the gate “Synthetic monitors green for 5+ minutes”, held from 23:50:00 after a 5 min dwell", ""},
		{playbook.EventGateUnchecked, "U2", "x", d("gate", "complaints"), "Bo unchecked the gate “User-reported complaints stopped”", ""},
		{playbook.EventAllClear, "U3", "All clear: all four verification gates held", nil, "Cy gave the all-clear: all four verification gates held", ""},
		{playbook.EventAllClear, "U3", "All clear, over open gates", nil, "Cy gave the all-clear, over open gates", ""},
		{playbook.EventGateOverride, "U3", "error rate flat", d("unmet", "complaints", "labels", "User-reported complaints stopped"), "Cy gave the all-clear over open gates (unmet: User-reported complaints stopped). Reason: error rate flat", ""},
		{playbook.EventActionItem, "U3", "Add an alert", d("id", "2", "owner", "U1", "due", "2026-12-04"), "Cy recorded an action item (#2) for Ann, due 2026-12-04: Add an alert", ""},
		{playbook.EventTicketFiled, "klaxon", "Action item 2 filed as o/r#12", d("id", "2", "url", "https://gh.example/o/r/issues/12"), "Klaxon filed action item #2 as o/r#12", "https://gh.example/o/r/issues/12"},
		{playbook.EventClosed, "U3", "Closed", nil, "Cy closed the incident", ""},
		{playbook.EventPostmortemShared, "klaxon", "Post-mortem outline published to o/pm", d("url", "https://gh.example/o/pm/pull/3"), "Klaxon shared the post-mortem outline: published to o/pm", "https://gh.example/o/pm/pull/3"},
		{playbook.EventArchived, "klaxon", "Channel archived", nil, "Klaxon archived the channel", ""},
		{playbook.EventRootCause, "U3", "config-drift", d("tag", "config-drift", "repeat_of", "#3, #7"), "Cy tagged the root cause “config-drift”, a repeat of #3, #7", ""},
		{playbook.EventPostmortemDone, "U3", "https://docs.example/pm", d("url", "https://docs.example/pm"), "Cy marked the post-mortem written", "https://docs.example/pm"},
		{playbook.EventPage, "klaxon", "payments on-call", nil, "Klaxon sent a page: payments on-call", ""},
		{playbook.EventPageAcknowledged, "U2", "payments on-call", nil, "Bo acknowledged a page: payments on-call", ""},
		{playbook.EventPageAcknowledged, "U2", "acknowledged by U2", d("by", "U2", "source", "webhook", "time_to_acknowledge", "4m0s"), "Bo acknowledged the page in PagerDuty, 4 min after detection", ""},
		{playbook.EventPageAcknowledged, "klaxon", "acknowledged by Dee Admin", d("by", "Dee Admin", "source", "poll"), "Dee Admin acknowledged the page in PagerDuty", ""},
		{playbook.EventPageAcknowledged, "U2", "acknowledged by U2", d("by", "U2", "source", "slack", "time_to_acknowledge", "45s"), "Bo acknowledged the page in Slack, 45 s after detection", ""},
		{"something_new", "U1", "whatever it was", nil, "Ann (something_new): whatever it was", ""},
		{playbook.EventNote, "", "anonymous", nil, "Someone noted: anonymous", ""},
	} {
		e := playbook.NewEvent(c.typ, c.actor, pmMin(5), c.text)
		e.Payload = playbook.DecodeLegacy(c.typ, c.data, c.text) // the form before payloads
		p := withSentences(pmApp.BuildPostmortem(playbook.Incident{Times: map[playbook.Phase]time.Time{playbook.PhaseDeclared: pmT0}}, []playbook.Event{e}, names, pmT0))
		got := p.Timeline[0]
		if got.Text != c.want || got.Link != c.link {
			t.Errorf("%s:\n got %q (link %q)\nwant %q (link %q)", c.typ, got.Text, got.Link, c.want, c.link)
		}
		if got.Type != c.typ || got.Time != "23:45:00" {
			t.Errorf("%s: type %q time %q", c.typ, got.Type, got.Time)
		}
	}
}

func TestPostmortemSections(t *testing.T) {
	inc := playbook.Incident{
		Number: 7, Title: "DB down", Severity: playbook.SEV2, Service: "checkout", Declarer: "U1", Commander: "U2",
		Status: playbook.StatusClosed, Private: true,
		Times: map[playbook.Phase]time.Time{
			playbook.PhaseDetected: pmT0, playbook.PhaseDeclared: pmT0, playbook.PhaseAcknowledged: pmT0,
			playbook.PhaseResolved: pmMin(50), playbook.PhaseClosed: pmMin(24 * 60),
		},
		Scope:        &playbook.Scope{WhatBroke: "  the primary DB  ", BlastRadius: "all writes", By: "U2", At: pmMin(4)},
		Remediations: []playbook.Remediation{{Option: playbook.RemedyCutover, By: "U2", At: pmMin(10)}},
		Verifying:    pmMin(30),
		GateChecks: map[playbook.Gate]playbook.Check{
			playbook.GateErrorRate:  {By: "U1", At: pmMin(31)},
			playbook.GateSynthetics: {By: "U2", At: pmMin(40)},
		},
		Override: &playbook.Override{By: "U2", At: pmMin(50), Reason: "metrics lag", Unmet: []playbook.Gate{playbook.GateBurnRate, playbook.GateComplaints}},
		Actions: []playbook.ActionItem{
			{ID: 1, Text: "Add failover drill", Owner: "U1", Due: "2026-12-01", Ticket: &playbook.Ticket{Repo: "o/r", Number: 9, URL: "https://gh.example/o/r/issues/9"}},
			{ID: 2, Text: "Alert on replica lag", Owner: "U3", Due: "2026-12-08"},
		},
		RootCause: "db-failover", RepeatOf: []int64{3, 5},
	}
	names := map[string]string{"U1": "Ann", "U2": "Bo"}
	now := time.Date(2026, 11, 29, 9, 0, 0, 0, time.FixedZone("CET", 3600))
	p := pmApp.BuildPostmortem(inc, nil, names, now)

	if p.Service != "Checkout" || p.Runbook != "https://runbooks.example.com/checkout" || !p.Private {
		t.Errorf("service %q runbook %q impact %q private %v", p.Service, p.Runbook, p.Impact, p.Private)
	}
	if p.Declared != "2026-11-27 23:40 UTC" || p.Resolved != "2026-11-28 00:30 UTC" || p.Closed != "2026-11-28 23:40 UTC" || p.Duration != "50 min" {
		t.Errorf("dates %q %q %q, duration %q", p.Declared, p.Resolved, p.Closed, p.Duration)
	}
	if p.Generated != "2026-11-29 08:00 UTC" || !p.GeneratedAt.Equal(now) || p.GeneratedAt.Location() != time.UTC {
		t.Errorf("generated %q %v", p.Generated, p.GeneratedAt)
	}
	sc := p.Scope
	if !sc.Recorded || sc.By != "Bo" || sc.At != "23:44:00" || len(sc.Answers) != 3 ||
		sc.Answers[0] != (playbook.PostmortemAnswer{Question: "what_broke", Answer: "the primary DB"}) ||
		sc.Answers[1] != (playbook.PostmortemAnswer{Question: "who_affected", Missing: true}) ||
		sc.Answers[2].Answer != "all writes" {
		t.Errorf("scope %+v", sc)
	}
	if len(p.Whys) != 5 || p.Whys[0] != (playbook.PostmortemWhy{N: 1, WhatBroke: "the primary DB"}) || p.Whys[4] != (playbook.PostmortemWhy{N: 5}) {
		t.Errorf("whys %+v", p.Whys)
	}
	if p.Verification != "2026-11-28 00:10:00" || len(p.Gates) != 4 {
		t.Fatalf("verification %q, %d gates", p.Verification, len(p.Gates))
	}
	if g := p.Gates[1]; !g.Checked || g.By != "Ann" || g.At != "2026-11-28 00:11:00" || g.HoldsFrom != "" {
		t.Errorf("error-rate gate %+v", g)
	}
	if g := p.Gates[2]; g.Checked || g.By != "" {
		t.Errorf("complaints gate %+v", g)
	}
	if g := p.Gates[3]; !g.Checked || g.Dwell != "5 min" || g.HoldsFrom != "2026-11-28 00:25:00" {
		t.Errorf("synthetics gate %+v", g)
	}
	if len(p.Remediations) != 1 || p.Remediations[0] != (playbook.PostmortemRemedy{Option: playbook.RemedyCutover, By: "Bo", At: "23:50:00"}) {
		t.Errorf("remediations %+v", p.Remediations)
	}
	if o := p.Override; o == nil || o.By != "Bo" || o.Reason != "metrics lag" || !slices.Equal(o.Unmet, []playbook.Gate{playbook.GateBurnRate, playbook.GateComplaints}) {
		t.Errorf("override %+v", o)
	}
	want := []playbook.PostmortemAction{
		{ID: 1, Text: "Add failover drill", Owner: "Ann", Due: "2026-12-01", Ticket: "o/r#9", TicketURL: "https://gh.example/o/r/issues/9", TicketState: "unknown"},
		{ID: 2, Text: "Alert on replica lag", Owner: "U3", Due: "2026-12-08"},
	}
	if !slices.Equal(p.Actions, want) {
		t.Errorf("actions %+v", p.Actions)
	}
	if p.RootCause != "db-failover" || !slices.Equal(p.RepeatOf, []int64{3, 5}) {
		t.Errorf("root cause %q %v", p.RootCause, p.RepeatOf)
	}
	// The words are the template's.
	md := outline(t, p)
	for _, want := range []string{"- **What broke:** the primary DB", "- **Who is affected:** _not recorded_", "1. Why did this happen: “the primary DB”?",
		"5. Why?", "- **Repeat:** Repeat of #3, #5", "not who did it"} {
		if !strings.Contains(md, want) {
			t.Errorf("the outline lacks %q:\n%s", want, md)
		}
	}

	// The bare minimum: no scope, no commander, no gates, nothing to repeat.
	q := pmApp.BuildPostmortem(playbook.Incident{Number: 8, Severity: playbook.SEV3, Declarer: "U1"}, nil, nil, now)
	if q.Scope.Recorded || !q.Scope.Answers[0].Missing || q.Whys[0].WhatBroke != "" || !strings.Contains(outline(t, q), "1. Why did the incident happen?") ||
		q.Commander != "" || q.Override != nil || len(q.RepeatOf) != 0 || q.Verification != "" || q.Declared != "" || q.Duration != "" || len(q.Timeline) != 0 {
		t.Errorf("bare incident %+v", q)
	}
}

// withSentences fills the timeline's sentences as the outline does: the
// words are the default templates' (postmortem_event.tmpl).
func withSentences(p playbook.Postmortem) playbook.Postmortem {
	if err := templates.MustDefault().PostmortemSentences(&p); err != nil {
		panic(err)
	}
	return p
}

// outline renders p with the default templates.
func outline(t *testing.T, p playbook.Postmortem) string {
	t.Helper()
	md, err := templates.MustDefault().RenderPostmortem(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(md)
}

// TestPostmortemSentencesFromPayloads: events as this version records them
// (no text, the facts in the payload) read as the older records did.
func TestPostmortemSentencesFromPayloads(t *testing.T) {
	names := map[string]string{"U1": "Ann", "U2": "Bo"}
	for _, c := range []struct {
		typ   playbook.EventType
		actor string
		p     playbook.Payload
		want  string
	}{
		{playbook.EventStepFailed, "klaxon", playbook.StepFailedPayload{Step: playbook.StepChannel, Attempt: 1, Error: "slack: name_taken"}, "Klaxon hit a failed setup step (channel): could not create the channel: slack: name_taken"},
		{playbook.EventStepFailed, "klaxon", playbook.StepFailedPayload{Step: playbook.StepDeploys, Error: "github: 502"}, "Klaxon hit a failed setup step (deploys): look up the recent deploys: github: 502"},
		{playbook.EventStepFailed, "klaxon", playbook.StepFailedPayload{Step: playbook.StepBookmark, Error: "slack: invalid_link"}, "Klaxon hit a failed setup step (bookmark): bookmark the runbook: slack: invalid_link"},
		{playbook.EventNote, "U1", playbook.NotePayload{Retried: playbook.RetriedSetup}, "Ann noted: retried the failed setup steps"},
		{playbook.EventNote, "U1", playbook.NotePayload{Retried: playbook.RetriedDeploys}, "Ann noted: retried the deploy lookup"},
		{playbook.EventPagerDuty, "klaxon", playbook.PagerDutyPayload{Event: playbook.PagerDutyOpened, Incident: "Q1"}, "Klaxon: opened PagerDuty incident Q1"},
		{playbook.EventPagerDuty, "klaxon", playbook.PagerDutyPayload{Event: playbook.PagerDutyAdopted, Incident: "Q1"}, "Klaxon: adopted the open PagerDuty incident Q1 (same incident key)"},
		{playbook.EventPagerDuty, "klaxon", playbook.PagerDutyPayload{Event: playbook.PagerDutyResolvedByKlaxon, Incident: "Q1"}, "Klaxon: resolved PagerDuty incident Q1 (the all-clear)"},
		{playbook.EventPagerDuty, "klaxon", playbook.PagerDutyPayload{Event: "incident.escalated", Agent: "Pat", Incident: "Q1", Summary: "to level 2"}, "Klaxon: PagerDuty: escalated by Pat (to level 2)"},
		{playbook.EventPagerDuty, "klaxon", playbook.PagerDutyPayload{Event: "incident.resolved", Incident: "Q1"}, "Klaxon: PagerDuty: resolved"},
		{playbook.EventEscalated, "klaxon", playbook.EscalationPayload{Step: 2, After: 15 * time.Minute, If: "unacknowledged"}, "Klaxon escalated: escalation step 2 fired (15 min after the declaration, unacknowledged)"},
		{playbook.EventEscalationSkipped, "klaxon", playbook.EscalationPayload{Step: 3, After: 30 * time.Minute, If: "unresolved"}, "Klaxon did not escalate: escalation step 3 (30 min, if unresolved) did not fire: the condition had cleared"},
		{playbook.EventStatusChanged, "U1", playbook.StatusPayload{To: playbook.StatusMitigated, Why: playbook.WhyImpactStopped}, "Ann changed the status to mitigated: the impact has stopped"},
		{playbook.EventStatusChanged, "U1", playbook.StatusPayload{To: playbook.StatusMitigated, Why: playbook.WhyVerificationStarted}, "Ann changed the status to mitigated: verification started"},
		{playbook.EventStatusChanged, "U1", playbook.StatusPayload{To: playbook.StatusResolved, Skipped: []playbook.Phase{playbook.PhaseMitigationStarted, playbook.PhaseMitigated}, Why: playbook.WhyPhasesSkipped}, "Ann changed the status to resolved: phases skipped, stamped at the same instant: mitigation_started, mitigated"},
		{playbook.EventAllClear, "U2", playbook.AllClearPayload{}, "Bo gave the all-clear: all four verification gates held"},
		{playbook.EventAllClear, "U2", playbook.AllClearPayload{OverGates: true}, "Bo gave the all-clear, over open gates"},
		{playbook.EventOwnersTold, "klaxon", playbook.OwnersToldPayload{Via: "github", Team: "@acme/pay", Issue: "acme/x#3"}, "Klaxon told the owning team @acme/pay: GitHub issue acme/x#3"},
		{playbook.EventOwnersTold, "klaxon", playbook.OwnersToldPayload{Via: "slack", Team: "@acme/pay", SlackGroup: "S0PAY"}, "Klaxon told the owning team @acme/pay through its Slack group S0PAY"},
		{playbook.EventTicketFiled, "klaxon", playbook.TicketPayload{ID: 2, Ticket: "o/r#12"}, "Klaxon filed action item #2 as o/r#12"},
		{playbook.EventPostmortemShared, "klaxon", playbook.SharedPayload{Upload: true, File: "F1"}, "Klaxon shared the post-mortem outline: uploaded to the channel"},
		{playbook.EventPostmortemShared, "klaxon", playbook.SharedPayload{Repo: "o/pm", URL: "https://x"}, "Klaxon shared the post-mortem outline: published to o/pm"},
		{playbook.EventArchived, "klaxon", playbook.ArchivedPayload{ByHand: true, To: "U1"}, "Klaxon archived the channel"},
		{playbook.EventImpactStarted, "U1", nil, "Ann said the impact started"},
		{playbook.EventVerification, "U1", nil, "Ann opened the verification gates"},
		{playbook.EventDeployLinked, "klaxon", playbook.DeployRefPayload{Repo: "acme/x", SHA: "4b825dc642cb", Watchdog: true}, "Declared inside the watch window of deploy 4b825dc of acme/x: linked as the cause"},
		{playbook.EventDeployLinked, "U2", playbook.DeployRefPayload{Repo: "acme/x", SHA: "4b825dc642cb"}, "Bo linked deploy 4b825dc of acme/x as the cause"},
		{playbook.EventDeployRuled, "U2", playbook.DeployRefPayload{Repo: "acme/x", SHA: "4b825dc642cb"}, "Bo ruled out deploy 4b825dc of acme/x"},
		{playbook.EventDeploy, "klaxon", playbook.DeployPayload{Repo: "acme/x", SHA: "4b825dc642cb", Environment: "production", State: "success", Creator: "priya"}, "Deploy 4b825dc of acme/x by priya, success"},
		{playbook.EventSuspectDeploy, "klaxon", playbook.SuspectPayload{SHA: "4b825dc642cb", Ref: "v2", State: "success"}, "Klaxon flagged a suspect deploy: 4b825dc (v2), success"},
	} {
		e := playbook.NewEvent(c.typ, c.actor, pmMin(5), "")
		e.Payload = c.p
		p := withSentences(pmApp.BuildPostmortem(playbook.Incident{Times: map[playbook.Phase]time.Time{playbook.PhaseDeclared: pmT0}}, []playbook.Event{e}, names, pmT0))
		if got := p.Timeline[0].Text; got != c.want {
			t.Errorf("%s %+v:\n got %q\nwant %q", c.typ, c.p, got, c.want)
		}
	}
}

// TestPostmortemSentencesOfTheAllClearAndTheCatalogues: the final update,
// an override without a channel and the catalogue entries (recorded with
// their ID, their words in labels.tmpl) read as when the domain stored
// the words; so do the records that still hold them.
func TestPostmortemSentencesOfTheAllClearAndTheCatalogues(t *testing.T) {
	names := map[string]string{"U1": "Ann"}
	const over = "Ann posted the final status update (#3): Resolved: all clear given by the commander before every verification gate held. Reason: "
	for _, c := range []struct {
		typ  playbook.EventType
		text string
		p    playbook.Payload
		want string
	}{
		{playbook.EventStatusUpdate, "", playbook.UpdatePayload{Seq: 3, Final: true, AllClear: playbook.AllClearHeld}, "Ann posted the final status update (#3): Resolved: all clear."},
		{playbook.EventStatusUpdate, "metrics lag", playbook.UpdatePayload{Seq: 3, Final: true, AllClear: playbook.AllClearOverGates}, over + "metrics lag"},
		{playbook.EventStatusUpdate, "", playbook.UpdatePayload{Seq: 3, Final: true, AllClear: playbook.AllClearNoChannel},
			over + "No channel could be created for this incident, so the verification gates could not be checked."},
		// Recorded with the words, before they left playbook.
		{playbook.EventStatusUpdate, "Resolved: all clear.", playbook.UpdatePayload{Seq: 3, Final: true}, "Ann posted the final status update (#3): Resolved: all clear."},
		{playbook.EventGateOverride, "", playbook.OverridePayload{Unmet: []playbook.Gate{playbook.GateBurnRate}, NoChannel: true},
			"Ann gave the all-clear over open gates (unmet: SLO burn rate back toward 1x or below). Reason: No channel could be created for this incident, so the verification gates could not be checked."},
		{playbook.EventGateOverride, "metrics lag", playbook.OverridePayload{Unmet: []playbook.Gate{playbook.GateBurnRate, playbook.GateSynthetics}},
			"Ann gave the all-clear over open gates (unmet: SLO burn rate back toward 1x or below; Synthetic monitors green for 5+ minutes). Reason: metrics lag"},
		{playbook.EventChecked, "", playbook.ItemPayload{Item: playbook.ItemScope}, "Ann checked “Five-minute scope call completed”"},
		{playbook.EventGateUnchecked, "", playbook.GatePayload{Gate: playbook.GateErrorRate}, "Ann unchecked the gate “Error rate below 0.1%”"},
		{playbook.EventRemediation, "", playbook.RemediationPayload{Option: playbook.RemedyRollback}, "Ann chose the remediation “Roll back”"},
		// The label as text (records before the labels left playbook),
		// with its option or without (before the payload).
		{playbook.EventRemediation, "Roll back", playbook.RemediationPayload{Option: playbook.RemedyRollback}, "Ann chose the remediation “Roll back”"},
		{playbook.EventRemediation, "Roll back", nil, "Ann chose the remediation “Roll back”"},
		{playbook.EventGateChecked, "Error rate below 0.1%", nil, "Ann checked the gate “Error rate below 0.1%”"},
	} {
		e := playbook.NewEvent(c.typ, "U1", pmMin(5), c.text)
		if c.p != nil {
			e.Payload = c.p
		}
		p := withSentences(pmApp.BuildPostmortem(playbook.Incident{Times: map[playbook.Phase]time.Time{playbook.PhaseDeclared: pmT0}}, []playbook.Event{e}, names, pmT0))
		if got := p.Timeline[0].Text; got != c.want {
			t.Errorf("%s %q %+v:\n got %q\nwant %q", c.typ, c.text, c.p, got, c.want)
		}
	}
}
