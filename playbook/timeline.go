package playbook

import "time"

// EventType is the closed set of things a timeline records. The post-mortem
// timeline is rebuilt from these, never from channel history (which Slack
// rate-limits hard for non-Marketplace apps).
type EventType string

// Timeline event types.
const (
	EventDeclared         EventType = "declared"
	EventChannelCreated   EventType = "channel_created"
	EventInvited          EventType = "invited"
	EventRunbookAttached  EventType = "runbook_attached"
	EventAnnounced        EventType = "announced"
	EventStepFailed       EventType = "step_failed"
	EventCommanderChanged EventType = "commander_changed"
	EventSeverityChanged  EventType = "severity_changed"
	EventStatusChanged    EventType = "status_changed"
	EventNote             EventType = "note"
	EventStatusUpdate     EventType = "status_update"
	EventNudged           EventType = "nudged"
	EventChecked          EventType = "checked"
	EventUnchecked        EventType = "unchecked"
	EventScoped           EventType = "scoped"
)

// Event is one timeline entry. At is when it happened (a message added to the
// timeline keeps its original time); Recorded is when Klaxon learned of it.
type Event struct {
	Seq      uint64            `json:"seq,omitempty"` // assigned by the store, increasing per incident
	Type     EventType         `json:"type"`
	Actor    string            `json:"actor,omitempty"` // a Slack user ID, or "klaxon"
	At       time.Time         `json:"at"`
	Recorded time.Time         `json:"recorded"`
	Text     string            `json:"text,omitempty"`
	Data     map[string]string `json:"data,omitempty"`
}

// ActorKlaxon marks events Klaxon did on its own.
const ActorKlaxon = "klaxon"

// NewEvent builds an event that happened now.
func NewEvent(t EventType, actor string, now time.Time, text string) Event {
	now = now.UTC()
	return Event{Type: t, Actor: actor, At: now, Recorded: now, Text: text}
}
