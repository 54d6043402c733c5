package playbook

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// This file is the one place where a timeline event's payload is encoded
// and decoded. An event is stored as JSON:
//
//	{"type":"severity_changed", …, "v":1, "payload":{"from":2,"to":1,"reason":"…"}}
//
// "v" is the version of the payload's shape. A payload type's shape only
// grows (a new field decodes as its zero value from older records); a change
// that is not an addition gets a new version and a decoder for the old one
// here.
//
// Stores written before payloads were typed (see store/testdata/v1) hold a
// string map instead, "data":{"from":"SEV2","to":"SEV1"}: decodeLegacy turns
// that map, and the text the event carried then, into the same payloads, so
// incidents already stored keep rendering as they did.

// Payload is the typed detail of a timeline event: one Go type per event
// type (a few event types share one), each with a version. Events without
// detail have a nil Payload.
type Payload interface {
	// PayloadVersion is the version of the payload's stored shape.
	PayloadVersion() int
}

// DeclaredPayload is EventDeclared's: the severity and service declared.
type DeclaredPayload struct {
	Severity Severity `json:"severity,omitempty"`
	Service  string   `json:"service,omitempty"`
}

// StepFailedPayload is EventStepFailed's: which setup step failed, on
// which attempt (0 when not counted), and the error ("" in records before
// it was kept here: their text says it all).
type StepFailedPayload struct {
	Step    Step   `json:"step,omitempty"`
	Attempt int    `json:"attempt,omitempty"`
	Error   string `json:"error,omitempty"`
}

// StepDeploys is the deploy lookup, as a step that can fail.
const StepDeploys Step = "deploys"

// NotePayload is EventNote's when Klaxon wrote the note for a person's
// click: what they retried. A note a person typed has no payload.
type NotePayload struct {
	Retried string `json:"retried,omitempty"` // RetriedSetup or RetriedDeploys
}

// What a retry note retried.
const (
	RetriedSetup   = "setup"   // the failed setup steps
	RetriedDeploys = "deploys" // the deploy lookup
)

// AllClearPayload is EventAllClear's: whether it was given over open gates.
type AllClearPayload struct {
	OverGates bool `json:"over_gates,omitempty"`
}

// CommanderPayload is EventCommanderChanged's: Slack user IDs, From empty
// when nobody held the role.
type CommanderPayload struct {
	From string `json:"from,omitempty"`
	To   string `json:"to"`
}

// SeverityPayload is EventSeverityChanged's.
type SeverityPayload struct {
	From   Severity `json:"from,omitempty"`
	To     Severity `json:"to"`
	Reason string   `json:"reason,omitempty"`
}

// StatusPayload is EventStatusChanged's: the move, the phases it skipped
// (stamped at the same instant), and why (Why*; "" in older records).
type StatusPayload struct {
	From    Status  `json:"from,omitempty"`
	To      Status  `json:"to,omitempty"`
	Skipped []Phase `json:"skipped,omitempty"`
	Why     string  `json:"why,omitempty"`
}

// Why a status changed.
const (
	WhyImpactStopped       = "impact_stopped"       // mitigated by hand
	WhyVerificationStarted = "verification_started" // mitigated by opening the gates
	WhyPhasesSkipped       = "phases_skipped"       // the note of phases stamped at once
)

// UpdatePayload is EventStatusUpdate's: the update's number, whether it was
// the final one, and whether it met the status-page deadline.
type UpdatePayload struct {
	Seq        int  `json:"seq,omitempty"`
	Final      bool `json:"final,omitempty"`
	StatusPage bool `json:"status_page,omitempty"`
	// AllClear, on a final update recorded since its words left the
	// event's text, is which all-clear it was (AllClearHeld, ...); the
	// event's text is then the override's reason, if any.
	AllClear string `json:"all_clear,omitempty"`
}

// NudgePayload is EventNudged's: which reminder, when it was due, and its
// escalation level.
type NudgePayload struct {
	Kind  NudgeKind `json:"kind"`
	Due   time.Time `json:"due,omitzero"`
	Level int       `json:"level,omitempty"`
}

// ItemPayload is EventChecked's and EventUnchecked's: the checklist item.
type ItemPayload struct {
	Item Item `json:"item"`
}

// RemediationPayload is EventRemediation's: the option chosen.
type RemediationPayload struct {
	Option Remedy `json:"option"`
}

// SuspectPayload is EventSuspectDeploy's: the suspect deploy and the last
// known good commit before it.
type SuspectPayload struct {
	SHA       string `json:"sha"`
	Ref       string `json:"ref,omitempty"`
	Creator   string `json:"creator,omitempty"`
	URL       string `json:"url,omitempty"`
	State     string `json:"state,omitempty"`
	KnownGood string `json:"known_good,omitempty"`
}

// GatePayload is EventGateChecked's and EventGateUnchecked's.
type GatePayload struct {
	Gate Gate `json:"gate"`
}

// OverridePayload is EventGateOverride's: the gates that had not held.
type OverridePayload struct {
	Unmet []Gate `json:"unmet,omitempty"`
	// NoChannel: Klaxon gave the reason (no channel to check the gates
	// in); the event's text is then empty.
	NoChannel bool `json:"no_channel,omitempty"`
}

// ActionPayload is EventActionItem's.
type ActionPayload struct {
	ID    int    `json:"id"`
	Owner string `json:"owner,omitempty"`
	Due   string `json:"due,omitempty"` // YYYY-MM-DD
}

// TicketPayload is EventTicketFiled's: the action item and its ticket.
type TicketPayload struct {
	ID     int    `json:"id,omitempty"`
	Ticket string `json:"ticket,omitempty"` // "owner/repo#12"
	URL    string `json:"url,omitempty"`
}

// SharedPayload is EventPostmortemShared's: uploaded to the channel (File)
// or published to a repository (Repo, URL).
type SharedPayload struct {
	Upload bool   `json:"upload,omitempty"`
	File   string `json:"file,omitempty"`
	Repo   string `json:"repo,omitempty"`
	URL    string `json:"url,omitempty"`
}

// ArchivedPayload is EventArchived's: ByHand when people archived the
// channel before the close (the outline then goes by DM to To).
type ArchivedPayload struct {
	ByHand bool   `json:"by_hand,omitempty"`
	To     string `json:"to,omitempty"`
}

// RootCausePayload is EventRootCause's: the normalised tag and the earlier
// incidents that share it.
type RootCausePayload struct {
	Tag      string  `json:"tag"`
	RepeatOf []int64 `json:"repeat_of,omitempty"`
}

// PostmortemDonePayload is EventPostmortemDone's: the written post-mortem.
type PostmortemDonePayload struct {
	URL string `json:"url"`
}

// PagePayload is EventPage's: one event per person or target paged.
type PagePayload struct {
	Kind   PageKind `json:"kind,omitempty"`
	Via    string   `json:"via,omitempty"`
	Target string   `json:"target,omitempty"`
	// Person is who the page reached: their Slack user, else their
	// PagerDuty name or ID. Paged lists people in records that named
	// several in one event.
	Person        string   `json:"person,omitempty"`
	Paged         []string `json:"paged,omitempty"`
	SlackUser     string   `json:"slack_user,omitempty"`
	PagerDutyUser string   `json:"pagerduty_user,omitempty"`
}

// AckPayload is EventPageAcknowledged's: By is a Slack user ID, or a
// PagerDuty user's name when the event's actor is Klaxon.
type AckPayload struct {
	By     string `json:"by"`
	Source string `json:"source,omitempty"` // "webhook", "poll", "slack", "join"
	// TimeToAck is detection → acknowledgement, nil when unknown.
	TimeToAck *time.Duration `json:"time_to_ack,omitempty"`
	// AfterRaise is raise → acknowledgement when an earlier
	// acknowledgement was kept across a severity raise that paged again.
	AfterRaise *time.Duration `json:"after_raise,omitempty"`
}

// EscalationPayload is EventEscalated's and EventEscalationSkipped's: the
// step, when it was due after the declaration (0 in older records) and its
// condition.
type EscalationPayload struct {
	Step     int           `json:"step"`
	After    time.Duration `json:"after,omitempty"`
	If       string        `json:"if,omitempty"`
	Severity Severity      `json:"severity,omitempty"`
}

// PagerDutyPayload is EventPagerDuty's: what PagerDuty said or was told.
// Event is PagerDutyOpened, PagerDutyAdopted, PagerDutyResolvedByKlaxon or
// PagerDuty's own event type ("incident.escalated"); "" in older records
// of an opened incident.
type PagerDutyPayload struct {
	Event    string `json:"event,omitempty"`
	Agent    string `json:"agent,omitempty"`
	Incident string `json:"incident,omitempty"`
	URL      string `json:"url,omitempty"`
	Summary  string `json:"summary,omitempty"`
}

// What Klaxon did in PagerDuty.
const (
	PagerDutyOpened           = "opened"
	PagerDutyAdopted          = "adopted" // an open incident with the same key
	PagerDutyResolvedByKlaxon = "resolved_by_klaxon"
)

// PagerDutyLogPayload is EventPagerDutyLog's.
type PagerDutyLogPayload struct {
	Type  string `json:"type,omitempty"`
	Agent string `json:"agent,omitempty"`
}

// OwnersToldPayload is EventOwnersTold's: how the owning team was told.
type OwnersToldPayload struct {
	Via        string `json:"via"` // "github" or "slack"
	Team       string `json:"team,omitempty"`
	Issue      string `json:"issue,omitempty"` // "owner/repo#3"
	URL        string `json:"url,omitempty"`
	SlackGroup string `json:"slack_group,omitempty"`
}

// SignalPayload is EventSignal's and EventSignalResolved's.
type SignalPayload struct {
	Name     string     `json:"name,omitempty"`
	Kind     SignalKind `json:"kind,omitempty"`
	Key      string     `json:"key,omitempty"`
	Summary  string     `json:"summary,omitempty"`
	URL      string     `json:"url,omitempty"`
	BurnRate float64    `json:"burn_rate,omitempty"`
}

// DeployPayload is EventDeploy's: a deploy the lookup found.
type DeployPayload struct {
	Repo        string  `json:"repo"`
	SHA         string  `json:"sha"`
	Environment string  `json:"environment,omitempty"`
	State       string  `json:"state,omitempty"`
	Creator     string  `json:"creator,omitempty"`
	Verdict     Verdict `json:"verdict,omitempty"`
	Key         string  `json:"key,omitempty"`
}

// DeployRefPayload is EventDeployLinked's and EventDeployRuled's.
type DeployRefPayload struct {
	Repo string `json:"repo"`
	SHA  string `json:"sha"`
	Key  string `json:"key,omitempty"`
	// Watchdog is true when the deploy watchdog linked it (declared inside
	// its watch window).
	Watchdog bool `json:"watchdog,omitempty"`
}

// UnknownPayload keeps a payload this version cannot type (an event type
// it does not know, or a newer record), so that nothing is lost.
type UnknownPayload struct {
	V    int
	Raw  json.RawMessage
	Data map[string]string
}

// PayloadVersion implements Payload for each payload type.
func (DeclaredPayload) PayloadVersion() int       { return 1 }
func (StepFailedPayload) PayloadVersion() int     { return 1 }
func (NotePayload) PayloadVersion() int           { return 1 }
func (AllClearPayload) PayloadVersion() int       { return 1 }
func (CommanderPayload) PayloadVersion() int      { return 1 }
func (SeverityPayload) PayloadVersion() int       { return 1 }
func (StatusPayload) PayloadVersion() int         { return 1 }
func (UpdatePayload) PayloadVersion() int         { return 1 }
func (NudgePayload) PayloadVersion() int          { return 1 }
func (ItemPayload) PayloadVersion() int           { return 1 }
func (RemediationPayload) PayloadVersion() int    { return 1 }
func (SuspectPayload) PayloadVersion() int        { return 1 }
func (GatePayload) PayloadVersion() int           { return 1 }
func (OverridePayload) PayloadVersion() int       { return 1 }
func (ActionPayload) PayloadVersion() int         { return 1 }
func (TicketPayload) PayloadVersion() int         { return 1 }
func (SharedPayload) PayloadVersion() int         { return 1 }
func (ArchivedPayload) PayloadVersion() int       { return 1 }
func (RootCausePayload) PayloadVersion() int      { return 1 }
func (PostmortemDonePayload) PayloadVersion() int { return 1 }
func (PagePayload) PayloadVersion() int           { return 1 }
func (AckPayload) PayloadVersion() int            { return 1 }
func (EscalationPayload) PayloadVersion() int     { return 1 }
func (PagerDutyPayload) PayloadVersion() int      { return 1 }
func (PagerDutyLogPayload) PayloadVersion() int   { return 1 }
func (OwnersToldPayload) PayloadVersion() int     { return 1 }
func (SignalPayload) PayloadVersion() int         { return 1 }
func (DeployPayload) PayloadVersion() int         { return 1 }
func (DeployRefPayload) PayloadVersion() int      { return 1 }
func (p UnknownPayload) PayloadVersion() int      { return p.V }

// PayloadOf returns e's payload as a P, and whether it is one.
func PayloadOf[P Payload](e Event) (P, bool) {
	p, ok := e.Payload.(P)
	return p, ok
}

// payloadCodec decodes one event type's payload: the stored JSON, and the
// string map of the records before payloads (nil, false: no payload).
type payloadCodec struct {
	decode func(raw []byte) (Payload, error)
	legacy func(d map[string]string, text string) (Payload, bool)
}

func codec[P Payload](legacy func(d map[string]string, text string) (P, bool)) payloadCodec {
	return payloadCodec{
		decode: func(raw []byte) (Payload, error) {
			var p P
			err := json.Unmarshal(raw, &p)
			return p, err
		},
		legacy: func(d map[string]string, text string) (Payload, bool) { return legacy(d, text) },
	}
}

// payloadCodecs is the closed set of event types with a payload.
var payloadCodecs = map[EventType]payloadCodec{
	EventNote:     codec(func(map[string]string, string) (NotePayload, bool) { return NotePayload{}, false }),
	EventAllClear: codec(func(map[string]string, string) (AllClearPayload, bool) { return AllClearPayload{}, false }),
	EventDeclared: codec(func(d map[string]string, _ string) (DeclaredPayload, bool) {
		sev, _ := ParseSeverity(d["severity"])
		return DeclaredPayload{Severity: sev, Service: d["service"]}, d != nil
	}),
	EventStepFailed: codec(func(d map[string]string, _ string) (StepFailedPayload, bool) {
		return StepFailedPayload{Step: Step(d["step"]), Attempt: atoi(d["attempt"])}, d != nil
	}),
	EventCommanderChanged: codec(func(d map[string]string, _ string) (CommanderPayload, bool) {
		return CommanderPayload{From: d["from"], To: d["to"]}, d["to"] != ""
	}),
	EventSeverityChanged: codec(func(d map[string]string, text string) (SeverityPayload, bool) {
		from, _ := ParseSeverity(d["from"])
		to, err := ParseSeverity(d["to"])
		reason, ok := d["reason"]
		if !ok { // the oldest records: the reason is the text, after "SEV2 → SEV1: "
			reason = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(text, d["from"]+" → "+d["to"]), ":"))
		}
		return SeverityPayload{From: from, To: to, Reason: reason}, err == nil
	}),
	EventStatusChanged: codec(func(d map[string]string, _ string) (StatusPayload, bool) {
		p := StatusPayload{From: Status(d["from"]), To: Status(d["to"])}
		for _, s := range strings.Split(d["skipped"], ",") {
			if s != "" {
				p.Skipped = append(p.Skipped, Phase(s))
			}
		}
		return p, d != nil
	}),
	EventStatusUpdate: codec(func(d map[string]string, _ string) (UpdatePayload, bool) {
		return UpdatePayload{Seq: atoi(d["seq"]), Final: d["final"] == "true", StatusPage: d["status_page"] == "met"}, d != nil
	}),
	EventNudged: codec(func(d map[string]string, text string) (NudgePayload, bool) {
		due, _ := time.Parse(time.RFC3339, d["due"])
		return NudgePayload{Kind: NudgeKind(firstNonEmpty(d["kind"], text)), Due: due, Level: atoi(d["level"])}, true
	}),
	EventChecked:   codec(legacyItem),
	EventUnchecked: codec(legacyItem),
	EventRemediation: codec(func(d map[string]string, _ string) (RemediationPayload, bool) {
		return RemediationPayload{Option: Remedy(d["option"])}, d["option"] != ""
	}),
	EventSuspectDeploy: codec(func(d map[string]string, _ string) (SuspectPayload, bool) {
		return SuspectPayload{SHA: d["sha"], Ref: d["ref"], Creator: d["creator"], URL: d["url"], State: d["state"], KnownGood: d["known_good"]}, d != nil
	}),
	EventGateChecked:   codec(legacyGate),
	EventGateUnchecked: codec(legacyGate),
	EventGateOverride: codec(func(d map[string]string, _ string) (OverridePayload, bool) {
		var p OverridePayload
		for _, g := range strings.Split(d["unmet"], ",") {
			if g != "" {
				p.Unmet = append(p.Unmet, Gate(g))
			}
		}
		return p, d != nil
	}),
	EventActionItem: codec(func(d map[string]string, _ string) (ActionPayload, bool) {
		return ActionPayload{ID: atoi(d["id"]), Owner: d["owner"], Due: d["due"]}, d != nil
	}),
	EventTicketFiled: codec(func(d map[string]string, text string) (TicketPayload, bool) {
		p := TicketPayload{ID: atoi(d["id"]), URL: d["url"]}
		if _, t, ok := strings.Cut(text, " filed as "); ok && p.ID != 0 { // "Action item 1 filed as owner/repo#12"
			p.Ticket = t
		}
		return p, d != nil
	}),
	EventPostmortemShared: codec(func(d map[string]string, text string) (SharedPayload, bool) {
		// The text said where; the post-mortem shows it as it was.
		return SharedPayload{File: d["file"], URL: d["url"], Upload: d["file"] != ""}, d != nil
	}),
	EventArchived: codec(func(d map[string]string, _ string) (ArchivedPayload, bool) {
		return ArchivedPayload{ByHand: d["by_hand"] == "true", To: d["to"]}, d != nil
	}),
	EventRootCause: codec(func(d map[string]string, text string) (RootCausePayload, bool) {
		p := RootCausePayload{Tag: firstNonEmpty(d["tag"], text)}
		for _, s := range strings.Split(d["repeat_of"], ",") {
			if n, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(s), "#"), 10, 64); err == nil {
				p.RepeatOf = append(p.RepeatOf, n)
			}
		}
		return p, true
	}),
	EventPostmortemDone: codec(func(d map[string]string, text string) (PostmortemDonePayload, bool) {
		return PostmortemDonePayload{URL: firstNonEmpty(d["url"], text)}, true
	}),
	EventPage: codec(func(d map[string]string, _ string) (PagePayload, bool) {
		p := PagePayload{Kind: PageKind(d["kind"]), Via: d["via"], Target: d["target"], Person: d["person"],
			SlackUser: d["slack_user"], PagerDutyUser: d["pagerduty_user"]}
		for _, s := range strings.Split(d["paged"], ",") {
			if s = strings.TrimSpace(s); s != "" {
				p.Paged = append(p.Paged, s)
			}
		}
		return p, d != nil
	}),
	EventPageAcknowledged: codec(func(d map[string]string, _ string) (AckPayload, bool) {
		p := AckPayload{By: d["by"], Source: d["source"]}
		if ttk, err := time.ParseDuration(d["time_to_acknowledge"]); err == nil {
			p.TimeToAck = &ttk
		}
		if ar, err := time.ParseDuration(d["after_raise"]); err == nil {
			p.AfterRaise = &ar
		}
		return p, d["by"] != ""
	}),
	EventEscalated:         codec(legacyEscalation),
	EventEscalationSkipped: codec(legacyEscalation),
	EventPagerDuty: codec(func(d map[string]string, _ string) (PagerDutyPayload, bool) {
		return PagerDutyPayload{Event: d["event"], Agent: d["agent"], Incident: d["pagerduty_incident"], URL: d["url"]}, d != nil
	}),
	EventPagerDutyLog: codec(func(d map[string]string, _ string) (PagerDutyLogPayload, bool) {
		return PagerDutyLogPayload{Type: d["type"], Agent: d["agent"]}, d != nil
	}),
	EventOwnersTold: codec(func(d map[string]string, _ string) (OwnersToldPayload, bool) {
		return OwnersToldPayload{Via: d["via"], Team: d["team"], Issue: d["issue"], URL: d["url"], SlackGroup: d["slack_group"]}, d != nil
	}),
	EventSignal:         codec(legacySignal),
	EventSignalResolved: codec(legacySignal),
	EventDeploy: codec(func(d map[string]string, _ string) (DeployPayload, bool) {
		return DeployPayload{Repo: d["repo"], SHA: d["sha"], State: d["state"], Creator: d["creator"], Verdict: Verdict(d["verdict"]), Key: d["key"]}, d != nil
	}),
	EventDeployLinked: codec(legacyDeployRef),
	EventDeployRuled:  codec(legacyDeployRef),
}

func legacyItem(d map[string]string, text string) (ItemPayload, bool) {
	return ItemPayload{Item: Item(firstNonEmpty(d["item"], text))}, true
}

func legacyGate(d map[string]string, text string) (GatePayload, bool) {
	return GatePayload{Gate: Gate(firstNonEmpty(d["gate"], text))}, true
}

func legacyEscalation(d map[string]string, _ string) (EscalationPayload, bool) {
	sev, _ := ParseSeverity(d["severity"])
	return EscalationPayload{Step: atoi(d["step"]), If: d["if"], Severity: sev}, d != nil
}

func legacySignal(d map[string]string, _ string) (SignalPayload, bool) {
	br, _ := strconv.ParseFloat(d["burn_rate"], 64)
	return SignalPayload{Name: d["name"], Kind: SignalKind(d["kind"]), Key: d["key"], Summary: d["summary"], URL: d["url"], BurnRate: br}, d != nil
}

func legacyDeployRef(d map[string]string, _ string) (DeployRefPayload, bool) {
	return DeployRefPayload{Repo: d["repo"], SHA: d["sha"], Key: d["key"], Watchdog: d["watchdog"] == "true"}, d != nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// eventJSON is an event as stored.
type eventJSON struct {
	Seq      uint64          `json:"seq,omitempty"`
	Type     EventType       `json:"type"`
	Actor    string          `json:"actor,omitempty"`
	At       time.Time       `json:"at"`
	Recorded time.Time       `json:"recorded"`
	Text     string          `json:"text,omitempty"`
	V        int             `json:"v,omitempty"`
	Payload  json.RawMessage `json:"payload,omitempty"`
	// Data is the string map of the records before payloads were typed.
	Data map[string]string `json:"data,omitempty"`
}

// MarshalJSON stores e with its payload's version.
func (e Event) MarshalJSON() ([]byte, error) {
	j := eventJSON{Seq: e.Seq, Type: e.Type, Actor: e.Actor, At: e.At, Recorded: e.Recorded, Text: e.Text}
	switch p := e.Payload.(type) {
	case nil:
	case UnknownPayload:
		j.V, j.Payload, j.Data = p.V, p.Raw, p.Data
	default:
		raw, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		j.V, j.Payload = p.PayloadVersion(), raw
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads an event in its current form or in the form before
// payloads were typed (decodeLegacy).
func (e *Event) UnmarshalJSON(b []byte) error {
	var j eventJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*e = Event{Seq: j.Seq, Type: j.Type, Actor: j.Actor, At: j.At, Recorded: j.Recorded, Text: j.Text}
	c, known := payloadCodecs[j.Type]
	switch {
	case len(j.Payload) > 0 && known:
		// A newer version's payload of a known type decodes too: the
		// fields this version knows are read, the others ignored.
		p, err := c.decode(j.Payload)
		if err != nil {
			return err
		}
		e.Payload = p
	case len(j.Payload) > 0 || (!known && len(j.Data) > 0):
		e.Payload = UnknownPayload{V: j.V, Raw: j.Payload, Data: j.Data}
	case known:
		e.Payload = DecodeLegacy(j.Type, j.Data, j.Text)
	}
	return nil
}

// DecodeLegacy is the payload of an event of type t recorded before
// payloads were typed, from its string map and its text (nil when that
// record carries none).
func DecodeLegacy(t EventType, data map[string]string, text string) Payload {
	c, ok := payloadCodecs[t]
	if !ok {
		if len(data) == 0 {
			return nil
		}
		return UnknownPayload{Data: data}
	}
	p, ok := c.legacy(data, text)
	if !ok {
		return nil
	}
	return p
}
