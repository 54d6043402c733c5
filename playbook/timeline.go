package playbook

import "time"

// EventType is the closed set of things a timeline records. The post-mortem
// timeline is rebuilt from these, never from channel history (which Slack
// rate-limits hard for non-Marketplace apps).
type EventType string

// Timeline event types.
const (
	EventDeclared          EventType = "declared"
	EventChannelCreated    EventType = "channel_created"
	EventInvited           EventType = "invited"
	EventRunbookAttached   EventType = "runbook_attached"
	EventAnnounced         EventType = "announced"
	EventStepFailed        EventType = "step_failed"
	EventCommanderChanged  EventType = "commander_changed"
	EventSeverityChanged   EventType = "severity_changed"
	EventStatusChanged     EventType = "status_changed"
	EventNote              EventType = "note"
	EventStatusUpdate      EventType = "status_update"
	EventNudged            EventType = "nudged"
	EventChecked           EventType = "checked"
	EventUnchecked         EventType = "unchecked"
	EventScoped            EventType = "scoped"
	EventRemediation       EventType = "remediation"        // a remediation option was chosen
	EventSuspectDeploy     EventType = "suspect_deploy"     // a deploy in the two hours before the incident
	EventValidationPlan    EventType = "validation_plan"    // the plan to check a data remediation
	EventVerification      EventType = "verification"       // the verification gates were opened
	EventGateChecked       EventType = "gate_checked"       // a verification gate was checked
	EventGateUnchecked     EventType = "gate_unchecked"     // a verification gate was unchecked
	EventAllClear          EventType = "all_clear"          // resolved, gates held
	EventGateOverride      EventType = "gate_override"      // resolved by the commander over open gates
	EventActionItem        EventType = "action_item"        // an action item was recorded
	EventTicketFiled       EventType = "ticket_filed"       // an action item became a ticket
	EventClosed            EventType = "closed"             // the incident was closed
	EventPostmortemShared  EventType = "postmortem_shared"  // the outline was uploaded or published
	EventArchived          EventType = "archived"           // the channel was archived
	EventRootCause         EventType = "root_cause"         // a root-cause tag was set
	EventPostmortemDone    EventType = "postmortem_done"    // the post-mortem was written
	EventPage              EventType = "page"               // someone was paged (PagerDuty)
	EventPageAcknowledged  EventType = "page_acknowledged"  // a page was acknowledged
	EventEscalated         EventType = "escalated"          // an escalation step fired
	EventEscalationSkipped EventType = "escalation_skipped" // an escalation step's condition had cleared
	EventPagerDuty         EventType = "pagerduty"          // PagerDuty said something (escalated, reassigned, resolved)
	EventPagerDutyLog      EventType = "pagerduty_log"      // an entry of the PagerDuty log, merged in at close
	EventOwnersTold        EventType = "owners_told"        // a tier that pages nobody told the owning team
	EventSignal            EventType = "signal"             // an alert fired (At = its startsAt)
	EventSignalResolved    EventType = "signal_resolved"    // an alert stopped firing
	EventImpactStarted     EventType = "impact_started"     // when the impact started, as the declarer said
)

// Event is one timeline entry. At is when it happened (a message added to the
// timeline keeps its original time); Recorded is when Klaxon learned of it.
// Text is plain text (what a person typed, or Klaxon's detail), never Slack
// markup; Payload is the typed detail of the event's type (events.go, which
// also says how an event is stored).
type Event struct {
	Seq      uint64 // assigned by the store, increasing per incident
	Type     EventType
	Actor    string // a Slack user ID, or "klaxon"
	At       time.Time
	Recorded time.Time
	Text     string
	Payload  Payload
}

// ActorKlaxon marks events Klaxon did on its own.
const ActorKlaxon = "klaxon"

// NewEvent builds an event that happened now.
func NewEvent(t EventType, actor string, now time.Time, text string) Event {
	now = now.UTC()
	return Event{Type: t, Actor: actor, At: now, Recorded: now, Text: text}
}
