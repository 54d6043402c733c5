package playbook_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// Each payload survives the store's encoding as the same Go value, with
// its version next to it.
func TestEventPayloadsRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 10, 14, 2, 0, 0, time.UTC)
	ttk := 4 * time.Minute
	for typ, p := range map[playbook.EventType]playbook.Payload{
		playbook.EventDeclared:         playbook.DeclaredPayload{Severity: playbook.SEV2, Service: "checkout"},
		playbook.EventStepFailed:       playbook.StepFailedPayload{Step: playbook.StepChannel, Attempt: 2},
		playbook.EventCommanderChanged: playbook.CommanderPayload{From: "U1", To: "U2"},
		playbook.EventSeverityChanged:  playbook.SeverityPayload{From: playbook.SEV3, To: playbook.SEV1, Reason: "all regions"},
		playbook.EventStatusChanged:    playbook.StatusPayload{To: playbook.StatusMitigated, Skipped: []playbook.Phase{playbook.PhaseMitigationStarted}},
		playbook.EventStatusUpdate:     playbook.UpdatePayload{Seq: 3, Final: true, StatusPage: true},
		playbook.EventNudged:           playbook.NudgePayload{Kind: playbook.NudgeUpdateDue, Due: at, Level: 2},
		playbook.EventChecked:          playbook.ItemPayload{Item: playbook.ItemScope},
		playbook.EventRemediation:      playbook.RemediationPayload{Option: playbook.RemedyRollback},
		playbook.EventSuspectDeploy:    playbook.SuspectPayload{SHA: "abc", Ref: "v1", Creator: "priya", URL: "https://x", State: "success", KnownGood: "def"},
		playbook.EventGateUnchecked:    playbook.GatePayload{Gate: playbook.GateSynthetics},
		playbook.EventGateOverride:     playbook.OverridePayload{Unmet: []playbook.Gate{playbook.GateBurnRate}},
		playbook.EventActionItem:       playbook.ActionPayload{ID: 2, Owner: "U1", Due: "2026-03-17"},
		playbook.EventTicketFiled:      playbook.TicketPayload{ID: 2, Ticket: "acme/x#3", URL: "https://x"},
		playbook.EventPostmortemShared: playbook.SharedPayload{Repo: "acme/pm", URL: "https://x"},
		playbook.EventArchived:         playbook.ArchivedPayload{ByHand: true, To: "U1"},
		playbook.EventRootCause:        playbook.RootCausePayload{Tag: "pool", RepeatOf: []int64{1, 3}},
		playbook.EventPostmortemDone:   playbook.PostmortemDonePayload{URL: "https://x"},
		playbook.EventPage:             playbook.PagePayload{Kind: playbook.PageDeclaration, Via: "pagerduty", Person: "U1", SlackUser: "U1", PagerDutyUser: "P1"},
		playbook.EventPageAcknowledged: playbook.AckPayload{By: "U1", Source: "slack", TimeToAck: &ttk},
		playbook.EventEscalated:        playbook.EscalationPayload{Step: 2, If: "unacknowledged", Severity: playbook.SEV1},
		playbook.EventPagerDuty:        playbook.PagerDutyPayload{Event: "incident.escalated", Agent: "Pat", Incident: "Q1", URL: "https://x"},
		playbook.EventPagerDutyLog:     playbook.PagerDutyLogPayload{Type: "notify_log_entry", Agent: "Pat"},
		playbook.EventOwnersTold:       playbook.OwnersToldPayload{Via: "github", Team: "@acme/pay", Issue: "acme/x#3", URL: "https://x"},
		playbook.EventSignal:           playbook.SignalPayload{Name: "Burn", Kind: "slo_burn_rate", Key: "k", Summary: "s", URL: "https://x", BurnRate: 14.4},
		playbook.EventDeploy:           playbook.DeployPayload{Repo: "acme/x", SHA: "abc", State: "success", Verdict: playbook.VerdictSuspect, Key: "acme/x#6"},
		playbook.EventDeployLinked:     playbook.DeployRefPayload{Repo: "acme/x", SHA: "abc", Key: "acme/x#6", Watchdog: true},
	} {
		e := playbook.NewEvent(typ, "U1", at, "text")
		e.Seq, e.Payload = 7, p
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(`"v":1,"payload":{`)) {
			t.Errorf("%s: stored as %s, want a versioned payload", typ, b)
		}
		var back playbook.Event
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Errorf("%s:\n got %#v\nwant %#v", typ, back, e)
		}
	}
}

// A record from a newer version (a higher "v", a field this version does
// not know) still gives the fields this version knows; a type this version
// does not know keeps its payload, and writes it back unchanged.
func TestEventPayloadFromANewerVersion(t *testing.T) {
	var e playbook.Event
	if err := json.Unmarshal([]byte(`{"type":"commander_changed","actor":"U1","at":"2026-03-10T14:02:00Z","recorded":"2026-03-10T14:02:00Z","v":2,"payload":{"to":"U2","from":"U1","why":"shift change"}}`), &e); err != nil {
		t.Fatal(err)
	}
	if e.Payload != (playbook.CommanderPayload{From: "U1", To: "U2"}) {
		t.Errorf("payload %#v", e.Payload)
	}
	in := []byte(`{"type":"rollout_paused","at":"2026-03-10T14:02:00Z","recorded":"2026-03-10T14:02:00Z","v":3,"payload":{"stage":"canary"}}`)
	var u playbook.Event
	if err := json.Unmarshal(in, &u); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(u)
	if err != nil || !bytes.Equal(out, in) {
		t.Errorf("unknown type written back as %s (%v), want %s", out, err, in)
	}
}

// Records written before payloads were typed (a string map and the text)
// decode to the same payloads, the oldest ones from their text.
func TestEventLegacyRecords(t *testing.T) {
	for _, c := range []struct {
		rec  string
		want playbook.Payload
	}{
		{`{"type":"severity_changed","text":"SEV2 → SEV1: all regions","data":{"from":"SEV2","to":"SEV1"}}`, playbook.SeverityPayload{From: playbook.SEV2, To: playbook.SEV1, Reason: "all regions"}},
		{`{"type":"severity_changed","text":"raised by hand"}`, nil},
		{`{"type":"nudged","text":"update_due"}`, playbook.NudgePayload{Kind: playbook.NudgeUpdateDue}},
		{`{"type":"checked","text":"runbook"}`, playbook.ItemPayload{Item: playbook.ItemRunbook}},
		{`{"type":"ticket_filed","text":"Action item 1 filed as acme/x#8","data":{"id":"1","url":"https://x"}}`, playbook.TicketPayload{ID: 1, Ticket: "acme/x#8", URL: "https://x"}},
		{`{"type":"postmortem_shared","text":"Post-mortem outline published to acme/pm","data":{"url":"https://x"}}`, playbook.SharedPayload{URL: "https://x"}}, // the text keeps where,
		{`{"type":"root_cause","text":"pool","data":{"tag":"pool","repeat_of":"#1, #3"}}`, playbook.RootCausePayload{Tag: "pool", RepeatOf: []int64{1, 3}}},
		{`{"type":"page","data":{"paged":"U1, Pat Outside,"}}`, playbook.PagePayload{Paged: []string{"U1", "Pat Outside"}}},
		{`{"type":"note","text":"hello"}`, nil},
		{`{"type":"from_the_future","data":{"x":"y"}}`, playbook.UnknownPayload{Data: map[string]string{"x": "y"}}},
	} {
		var e playbook.Event
		if err := json.Unmarshal([]byte(c.rec), &e); err != nil {
			t.Fatalf("%s: %v", c.rec, err)
		}
		if !reflect.DeepEqual(e.Payload, c.want) {
			t.Errorf("%s:\n got %#v\nwant %#v", c.rec, e.Payload, c.want)
		}
	}
}

// FuzzEventJSON: any stored record either fails to decode or decodes to an
// event whose current form is stable (written, read and written again, the
// same bytes), without panicking.
func FuzzEventJSON(f *testing.F) {
	for _, s := range []string{
		`{"seq":3,"type":"declared","actor":"U1","at":"2026-03-10T14:02:00Z","recorded":"2026-03-10T14:02:00Z","text":"SEV1 declared: x","data":{"severity":"SEV1","service":"checkout"}}`,
		`{"type":"severity_changed","text":"SEV2 → SEV1","data":{"from":"SEV2","to":"SEV1"}}`,
		`{"type":"page_acknowledged","data":{"by":"U1","time_to_acknowledge":"4m0s"}}`,
		`{"type":"severity_changed","v":1,"payload":{"from":2,"to":1}}`,
		`{"type":"nudged","v":1,"payload":{"kind":"update_due","due":"2026-03-10T14:21:00Z"}}`,
		`{"type":"x","v":9,"payload":[1,2]}`,
		`{"type":"x","data":{"a":"b"}}`,
		`{"type":"page","payload":null}`,
		`{"type":"page","data":{"paged":",,"}}`,
		`not json`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var e playbook.Event
		if json.Unmarshal(b, &e) != nil {
			return
		}
		one, err := json.Marshal(e)
		if err != nil {
			return // e.g. a payload that is JSON but not an object kept as is
		}
		var back playbook.Event
		if err := json.Unmarshal(one, &back); err != nil {
			t.Fatalf("%s: written as %s, which does not read back: %v", b, one, err)
		}
		two, err := json.Marshal(back)
		if err != nil || !bytes.Equal(one, two) {
			t.Fatalf("%s: written as %s, then as %s (%v)", b, one, two, err)
		}
	})
}
