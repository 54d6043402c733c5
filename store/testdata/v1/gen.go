//go:build ignore

// gen writes the incidents of the "store written by the current version"
// fixture that `klaxon demo` does not reach. It was run once, against main
// at 9857f8d (before timeline events were typed), on a copy of the store
// `klaxon demo --keep` wrote with that commit's binary:
//
//	go build -o /tmp/klaxon ./cmd/klaxon && /tmp/klaxon demo --keep /tmp/demo
//	go run ./store/testdata/v1/gen.go -db /tmp/demo/klaxon.db
//	cp /tmp/demo/klaxon.db store/testdata/v1/klaxon.db
//
// It writes every event the way that commit's playbook wrote it (the Text
// and the Data keys of each NewEvent call), so the fixture holds the old
// map form of every event type. It does not compile against a later
// playbook (Event.Data is gone): it is kept to say how the file was made.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/store"
)

func main() {
	path := flag.String("db", "", "the bbolt store to add the incidents to")
	flag.Parse()
	db, err := store.Open(*path, time.Second)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for i, build := range []func(int64) (playbook.Incident, []playbook.Event){hostile, quiet} {
		if _, _, err := db.Create(ctx, fmt.Sprint("fixture:", i), build); err != nil {
			log.Fatal(err)
		}
	}
}

var t0 = time.Date(2026, 3, 12, 9, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func ev(typ playbook.EventType, actor string, min int, text string, data map[string]string) playbook.Event {
	e := playbook.NewEvent(typ, actor, at(min), text)
	e.Data = data
	return e
}

const (
	dana  = "U0DANA001"
	alex  = "U0ALEX001"
	priya = "U0PRIYA01"
	sam   = "U0SAM0001"
	k     = playbook.ActorKlaxon
)

// hostile is a private SEV2 raised to SEV1, closed over open gates, with
// every event type the demo does not record and text a person typed that
// is hostile to Markdown and to Slack.
func hostile(n int64) (playbook.Incident, []playbook.Event) {
	inc := playbook.Incident{
		Number: n, Title: "Search *down* for <!channel> | [click](http://x) `rm -rf`", Severity: playbook.SEV1,
		Service: "checkout", Declarer: dana, Private: true, Commander: priya, Status: playbook.StatusClosed,
		Channel: playbook.ChannelRef{ID: "C0HOSTILE1", Name: "inc-2-sev1-search-down"},
		Times: map[playbook.Phase]time.Time{
			playbook.PhaseDetected: at(-5), playbook.PhaseDeclared: at(0), playbook.PhaseAcknowledged: at(3),
			playbook.PhaseTriageStarted: at(4), playbook.PhaseMitigationStarted: at(20), playbook.PhaseMitigated: at(31),
			playbook.PhaseResolved: at(40), playbook.PhaseClosed: at(70),
		},
		Scope: &playbook.Scope{WhatBroke: "search # index <@U0SAM0001> _wiped_", WhoAffected: "everyone\n# not a heading", BlastRadius: "",
			By: alex, At: at(8)},
		Remediations: []playbook.Remediation{{Option: playbook.RemedyData, By: priya, At: at(20)}},
		Verifying:    at(32),
		GateChecks:   map[playbook.Gate]playbook.Check{playbook.GateErrorRate: {By: sam, At: at(33)}},
		Override:     &playbook.Override{By: priya, At: at(40), Reason: "customers <@U0DANA001> are back; *ship it*", Unmet: []playbook.Gate{playbook.GateBurnRate, playbook.GateComplaints, playbook.GateSynthetics}},
		Actions:      []playbook.ActionItem{{ID: 1, Text: "Rebuild the index nightly | ![img](http://x)", Owner: sam, Due: "2026-03-20"}},
		RootCause:    "index-wipe",
		RepeatOf:     []int64{1},
	}
	evs := []playbook.Event{
		ev(playbook.EventDeclared, dana, 0, "SEV2 declared: "+inc.Title, map[string]string{"severity": "SEV2", "service": "checkout"}),
		ev(playbook.EventImpactStarted, dana, 0, "impact started (as "+dana+" said when declaring)", nil),
		ev(playbook.EventStepFailed, k, 1, "could not create the channel: slack: name_taken", map[string]string{"step": "channel", "attempt": "1"}),
		ev(playbook.EventChannelCreated, k, 1, "#inc-2-sev1-search-down", nil),
		ev(playbook.EventStepFailed, k, 1, "pin the intro: slack: too_many_pins", map[string]string{"step": "pin"}),
		ev(playbook.EventStepFailed, k, 2, "look up the recent deploys: github: 502 Bad Gateway", map[string]string{"step": "deploys"}),
		ev(playbook.EventNote, alex, 2, "retried the failed setup steps", nil),
		ev(playbook.EventOwnersTold, k, 2, "told the owning team @acme/search: GitHub issue acme/search#7", map[string]string{"via": "github", "team": "@acme/search", "url": "https://github.com/acme/search/issues/7", "issue": "acme/search#7"}),
		ev(playbook.EventOwnersTold, k, 2, "told the owning team @acme/search through its Slack group S0SEARCH1", map[string]string{"via": "slack", "team": "@acme/search", "slack_group": "S0SEARCH1"}),
		ev(playbook.EventPage, alex, 3, "paged Sam Lee", map[string]string{"kind": "manual", "via": "slack", "target": "user:U0SAM0001", "person": sam, "slack_user": sam}),
		ev(playbook.EventPage, k, 3, "paged the secondary", map[string]string{"paged": "U0SAM0001, Pat Outside,"}),
		ev(playbook.EventPage, k, 3, "paged nobody we know", nil),
		ev(playbook.EventPageAcknowledged, k, 3, "acknowledged by Pat Outside", map[string]string{"by": "Pat Outside", "source": "poll", "time_to_acknowledge": "8m0s"}),
		ev(playbook.EventPageAcknowledged, sam, 3, "acknowledged by "+sam, map[string]string{"by": sam, "source": "slack"}),
		ev(playbook.EventPageAcknowledged, sam, 3, "acknowledged", nil),
		ev(playbook.EventCommanderChanged, alex, 4, "<@"+alex+"> is incident commander", map[string]string{"from": "", "to": alex}),
		ev(playbook.EventCommanderChanged, dana, 5, "<@"+sam+"> is incident commander", map[string]string{"from": "", "to": sam}),
		ev(playbook.EventCommanderChanged, alex, 6, "commander handed over from <@"+sam+"> to <@"+alex+">", map[string]string{"from": sam, "to": alex}),
		ev(playbook.EventCommanderChanged, alex, 7, "commander handed over from <@"+alex+"> to <@"+priya+">", map[string]string{"from": alex, "to": priya}),
		ev(playbook.EventCommanderChanged, dana, 7, "commander handed over from <@"+sam+"> to <@"+priya+">", map[string]string{"from": sam, "to": priya}),
		ev(playbook.EventCommanderChanged, priya, 7, "commander handed over from <@"+dana+"> to <@"+priya+">", map[string]string{"from": dana, "to": priya}),
		ev(playbook.EventCommanderChanged, priya, 7, "someone else took it", nil),
		ev(playbook.EventSeverityChanged, priya, 8, "SEV2 → SEV1: checkout **also** down <@U0SAM0001>", map[string]string{"from": "SEV2", "to": "SEV1", "reason": "checkout **also** down <@U0SAM0001>"}),
		ev(playbook.EventSeverityChanged, priya, 8, "SEV1 → SEV1", map[string]string{"from": "SEV1", "to": "SEV1", "reason": ""}),
		ev(playbook.EventSeverityChanged, priya, 8, "SEV2 → SEV1: older event without a reason key", map[string]string{"from": "SEV2", "to": "SEV1"}),
		ev(playbook.EventSeverityChanged, priya, 8, "raised by hand", nil),
		ev(playbook.EventScoped, alex, 8, "scope call: search # index <@U0SAM0001> _wiped_", nil),
		ev(playbook.EventChecked, k, 8, "scope", map[string]string{"item": "scope"}),
		ev(playbook.EventUnchecked, alex, 9, "status_page", map[string]string{"item": "status_page"}),
		ev(playbook.EventChecked, alex, 9, "runbook", nil),
		ev(playbook.EventNote, sam, 10, "flushed the cache at 09:10 <@U0DANA001> *twice* — see <https://x.example|logs>\n> quoted\n```code```", nil),
		ev(playbook.EventStatusUpdate, alex, 11, "Search is down for <!here>; #1 priority", map[string]string{"seq": "1", "status_page": "met"}),
		ev(playbook.EventStatusUpdate, alex, 12, "Search still down", map[string]string{"seq": "2"}),
		ev(playbook.EventNudged, k, 13, "update_due", map[string]string{"kind": "update_due", "due": at(13).Format(time.RFC3339), "level": "1"}),
		ev(playbook.EventNudged, k, 14, "update_escalated", map[string]string{"kind": "update_escalated", "due": at(14).Format(time.RFC3339), "level": "2"}),
		ev(playbook.EventNudged, k, 15, "status_page", map[string]string{"kind": "status_page", "due": at(15).Format(time.RFC3339)}),
		ev(playbook.EventNudged, k, 15, "scope", map[string]string{"kind": "scope", "due": at(15).Format(time.RFC3339)}),
		ev(playbook.EventNudged, k, 15, "resolution_update", map[string]string{"kind": "resolution_update", "due": at(15).Format(time.RFC3339)}),
		ev(playbook.EventNudged, k, 15, "postmortem", map[string]string{"kind": "postmortem", "due": at(15).Format(time.RFC3339)}),
		ev(playbook.EventNudged, k, 15, "some_future_kind", map[string]string{"kind": "some_future_kind"}),
		ev(playbook.EventEscalated, k, 16, "step 2 (after 15 min, if unacknowledged): paged the secondary", map[string]string{"step": "2", "if": "unacknowledged", "severity": "SEV1"}),
		ev(playbook.EventEscalationSkipped, k, 16, "escalation step 3 (30 min, if unresolved) did not fire: the condition had cleared", map[string]string{"step": "3", "if": "unresolved"}),
		ev(playbook.EventPagerDuty, k, 17, "opened PagerDuty incident Q0000002", map[string]string{"pagerduty_incident": "Q0000002", "url": "https://fake.pagerduty.com/incidents/Q0000002"}),
		ev(playbook.EventPagerDuty, k, 17, "PagerDuty: escalated by Pat Outside", map[string]string{"event": "incident.escalated", "agent": "Pat Outside", "pagerduty_incident": "Q0000002"}),
		ev(playbook.EventSignal, k, 18, "alert SearchErrors fired (error_rate)", map[string]string{"name": "SearchErrors", "kind": "error_rate", "key": "am|1|x", "summary": "5xx on /search <@U0SAM0001>"}),
		ev(playbook.EventSignal, k, 18, "alert fired", map[string]string{"key": "am|2|x"}),
		ev(playbook.EventSignalResolved, k, 19, "alert SearchErrors resolved", map[string]string{"name": "SearchErrors", "kind": "error_rate", "key": "am|1|x"}),
		ev(playbook.EventDeploy, k, 19, "Deploy 1234567 of acme/search to production (failure)", map[string]string{"repo": "acme/search", "sha": "1234567890abcdef1234567890abcdef12345678", "state": "failure", "creator": "", "verdict": "possible", "key": "acme/search#9"}),
		ev(playbook.EventDeployRuled, sam, 19, "Deploy 1234567 of acme/search ruled out", map[string]string{"repo": "acme/search", "sha": "1234567890abcdef1234567890abcdef12345678", "key": "acme/search#9"}),
		ev(playbook.EventDeployLinked, k, 19, "Declared inside the watch window of deploy abcdef0 of acme/search: linked as the cause", map[string]string{"repo": "acme/search", "sha": "abcdef0123456789abcdef0123456789abcdef01", "key": "acme/search#10", "watchdog": "true"}),
		ev(playbook.EventSuspectDeploy, k, 19, "Suspect deploy abcdef0 of acme/search at 08:50 UTC", map[string]string{"sha": "abcdef0123456789abcdef0123456789abcdef01", "ref": "", "creator": "", "url": "", "state": ""}),
		ev(playbook.EventSuspectDeploy, sam, 19, "the 08:50 one", nil),
		ev(playbook.EventRemediation, priya, 20, "Remediate data", map[string]string{"option": "data_remediation"}),
		ev(playbook.EventRemediation, priya, 20, "rebuilt by hand", nil),
		ev(playbook.EventValidationPlan, priya, 21, "compare 100 *random* docs | against the backup", nil),
		ev(playbook.EventStatusChanged, priya, 31, "Mitigated: the impact has stopped", map[string]string{"to": "mitigated", "skipped": "mitigation_started"}),
		ev(playbook.EventStatusChanged, priya, 31, "phases skipped, stamped at the same instant: mitigation_started", map[string]string{"to": "mitigated", "skipped": "mitigation_started"}),
		ev(playbook.EventStatusChanged, priya, 31, "moved by hand", map[string]string{"from": "investigating", "to": "mitigating"}),
		ev(playbook.EventVerification, priya, 32, "Verification gates opened", nil),
		ev(playbook.EventGateChecked, sam, 33, "Error rate below 0.1%", map[string]string{"gate": "error_rate"}),
		ev(playbook.EventGateChecked, sam, 33, "Synthetic monitors green for 5+ minutes", map[string]string{"gate": "synthetics"}),
		ev(playbook.EventGateUnchecked, sam, 34, "Synthetic monitors green for 5+ minutes", map[string]string{"gate": "synthetics"}),
		ev(playbook.EventGateChecked, sam, 34, "a gate from an older version", nil),
		ev(playbook.EventGateOverride, priya, 40, "customers <@U0DANA001> are back; *ship it*", map[string]string{"unmet": "burn_rate,complaints,synthetics", "labels": "SLO burn rate back toward 1x or below; User-reported complaints stopped; Synthetic monitors green for 5+ minutes"}),
		ev(playbook.EventAllClear, priya, 40, "All clear, given before every verification gate held", nil),
		ev(playbook.EventAllClear, priya, 40, "all clear: by hand", nil),
		ev(playbook.EventStatusUpdate, priya, 40, "Resolved: all clear given by the commander before every verification gate held. Reason: customers <@U0DANA001> are back; *ship it*", map[string]string{"seq": "3", "final": "true"}),
		ev(playbook.EventPagerDuty, k, 41, "resolved PagerDuty incident Q0000002 (the all-clear)", map[string]string{"event": "resolved_by_klaxon", "pagerduty_incident": "Q0000002"}),
		ev(playbook.EventActionItem, sam, 42, "Rebuild the index nightly | ![img](http://x)", map[string]string{"id": "1", "owner": sam, "due": "2026-03-20"}),
		ev(playbook.EventTicketFiled, k, 42, "Action item 1 filed as acme/search#8", map[string]string{"id": "1", "url": "https://github.com/acme/search/issues/8"}),
		ev(playbook.EventTicketFiled, k, 42, "a ticket filed elsewhere", nil),
		ev(playbook.EventRootCause, priya, 43, "index-wipe", map[string]string{"tag": "index-wipe", "repeat_of": "#1"}),
		ev(playbook.EventClosed, priya, 70, "Closed", nil),
		ev(playbook.EventPostmortemShared, k, 70, "Post-mortem outline uploaded to the channel", map[string]string{"file": "FF0000002"}),
		ev(playbook.EventPostmortemShared, k, 70, "Post-mortem outline published to acme/postmortems", map[string]string{"url": "https://github.com/acme/postmortems/pull/2"}),
		ev(playbook.EventArchived, k, 71, "Channel archived by hand before the close; the outline and the reminders go by DM", map[string]string{"by_hand": "true", "to": dana}),
		ev(playbook.EventPostmortemDone, priya, 90, "https://docs.example/pm/2", map[string]string{"url": "https://docs.example/pm/2"}),
		ev(playbook.EventType("from_the_future"), priya, 91, "an event type this version does not know", map[string]string{"x": "y"}),
	}
	// The note added to the timeline from a message keeps the message's time.
	old := ev(playbook.EventNote, sam, 30, "message added to the timeline", nil)
	old.At = at(-2)
	evs = append(evs, old)
	return inc, evs
}

// quiet is an open SEV3 declared by Klaxon from an alert, never triaged.
func quiet(n int64) (playbook.Incident, []playbook.Event) {
	inc := playbook.Incident{
		Number: n, Title: "Disk 85% full on db-3", Severity: playbook.SEV3, Declarer: k, Status: playbook.StatusInvestigating,
		Times: map[playbook.Phase]time.Time{playbook.PhaseDetected: at(100), playbook.PhaseAlerted: at(101), playbook.PhaseDeclared: at(102)},
	}
	return inc, []playbook.Event{
		ev(playbook.EventDeclared, k, 102, "SEV3 declared: Disk 85% full on db-3", map[string]string{"severity": "SEV3", "service": ""}),
		ev(playbook.EventSignal, k, 101, "alert DiskFull fired (threshold)", map[string]string{"name": "DiskFull", "kind": "threshold", "key": "am|3|x", "url": "http://prometheus.example/disk", "burn_rate": "0"}),
		ev(playbook.EventDeclared, k, 102, "declared by an older version", nil),
	}
}
