package playbook

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Item is one entry of the triage checklist.
type Item string

// The seven triage checklist items, in the order they are shown.
const (
	ItemChannel    Item = "channel"     // channel created and stakeholders added
	ItemSeverity   Item = "severity"    // severity assigned
	ItemScope      Item = "scope"       // five-minute scope call completed
	ItemStatusPage Item = "status_page" // status page updated within 5 min of a SEV1 declaration
	ItemOwnerPaged Item = "owner_paged" // service owner identified and paged
	ItemRunbook    Item = "runbook"     // runbook link posted in the channel
	ItemDeploys    Item = "deploys"     // recent deployments identified (last 2 hours)
)

// Checklist lists the items in the order they are shown. Their words are
// the templates' (label.checklist.<item>), found by the item.
var Checklist = []Item{ItemChannel, ItemSeverity, ItemScope, ItemStatusPage, ItemOwnerPaged, ItemRunbook, ItemDeploys}

// ValidItem reports whether it is a checklist item.
func ValidItem(it Item) bool {
	return slices.Contains(Checklist, it)
}

// Check records who checked an item and when ("klaxon" for Klaxon itself).
type Check struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// Scope is the answer to the five-minute scope call.
type Scope struct {
	WhatBroke   string    `json:"what_broke"`
	WhoAffected string    `json:"who_affected"`
	BlastRadius string    `json:"blast_radius"`
	By          string    `json:"by"`
	At          time.Time `json:"at"`
}

// MaxScopeAnswer bounds each scope answer (Slack's input limit).
const MaxScopeAnswer = 3000

// check marks it checked by who at now, unless it already is.
func (inc *Incident) check(it Item, who string, now time.Time) bool {
	if _, ok := inc.Checked[it]; ok {
		return false
	}
	if inc.Checked == nil {
		inc.Checked = map[Item]Check{}
	}
	inc.Checked[it] = Check{By: who, At: now.UTC()}
	return true
}

func checkEvent(it Item, who string, now time.Time, checked bool) Event {
	t := EventChecked
	if !checked {
		t = EventUnchecked
	}
	ev := NewEvent(t, who, now, string(it))
	ev.Payload = ItemPayload{Item: it}
	return ev
}

// SetItem checks (on=true) or unchecks item it of incident n as actor. The
// desired state, not a toggle, comes from the click, so a double click or a
// redelivered envelope changes nothing twice; key makes the click idempotent.
// The checklist's refresh is queued in the outbox with the change (the
// scheduler delivers it; CheckItem delivers it at once).
func (a *App) SetItem(ctx context.Context, n int64, it Item, on bool, actor, key string) (Incident, bool, error) {
	inc, _, changed, err := a.setItem(ctx, ItemRequest{N: n, Item: it, On: on, Actor: actor, Key: key})
	return inc, changed, err
}

func (a *App) setItem(ctx context.Context, req ItemRequest) (Incident, claim, bool, error) {
	if !ValidItem(req.Item) {
		return Incident{}, claim{}, false, Fail(CodeBadInput, ReasonNotAChecklistItem, FieldItem, ErrorArgs{Input: truncate(string(req.Item), 30)})
	}
	now := a.deps.Clock.Now().UTC()
	changed := false
	var msg claim
	inc, _, err := a.deps.Store.Apply(ctx, req.N, req.Key, func(inc *Incident) ([]Event, error) {
		if inc.Status == StatusClosed {
			return nil, Fail(CodeBadTransition, ReasonChecklistFinal, "", ErrorArgs{Incident: inc.Number, Status: inc.Status})
		}
		_, was := inc.Checked[req.Item]
		if was == req.On {
			return nil, nil
		}
		changed = true
		if req.On {
			inc.check(req.Item, req.Actor, now)
		} else {
			delete(inc.Checked, req.Item)
		}
		msg = inc.queue(Message{Kind: MessageRefresh, Parts: PartChecklist}, now)
		return []Event{checkEvent(req.Item, req.Actor, now, req.On)}, nil
	})
	if err != nil {
		return Incident{}, claim{}, false, storeErr(err, SubjectChecklist)
	}
	if changed {
		a.Wake()
	}
	return inc, msg, changed, nil
}

// storeErr keeps domain errors and turns others into "nothing was done".
func storeErr(err error, what Subject) error {
	if ErrorCode(err) != "" {
		return err
	}
	return &Error{Code: CodeStore, Reason: ReasonNotRecorded, Args: ErrorArgs{Subject: what}, Err: err}
}

// AssignCommander makes user the incident commander of incident n. The
// first commander marks triage started. changed is false when user already
// was the commander (a double click). Showing the handover in Slack is
// queued in the outbox with it (the scheduler delivers it; SetCommander
// delivers it at once).
func (a *App) AssignCommander(ctx context.Context, n int64, user, actor, key string) (inc Incident, previous string, changed bool, err error) {
	inc, msg, changed, err := a.assignCommander(ctx, CommanderRequest{N: n, User: user, Actor: actor, Key: key})
	if msg.Commander != nil {
		previous = msg.Commander.From
	}
	return inc, previous, changed, err
}

func (a *App) assignCommander(ctx context.Context, req CommanderRequest) (inc Incident, msg claim, changed bool, err error) {
	user, actor := req.User, req.Actor
	if user == "" {
		return Incident{}, claim{}, false, Fail(CodeBadInput, ReasonNoCommanderNamed, FieldUser, ErrorArgs{})
	}
	now := a.deps.Clock.Now().UTC()
	inc, _, err = a.deps.Store.Apply(ctx, req.N, req.Key, func(inc *Incident) ([]Event, error) {
		changed = false
		if !inc.Status.Open() {
			return nil, Fail(CodeBadTransition, ReasonNoCommanderNeeded, "", ErrorArgs{Incident: inc.Number, Status: inc.Status})
		}
		if inc.Commander == user {
			return nil, nil
		}
		// Taking an empty role for oneself is open to anyone; taking it
		// over from someone, or naming someone else, is for those who
		// manage the incident, or the role would be a way round every
		// permission. Decided here, on the incident as stored: of two
		// simultaneous clicks on an empty role, the second is a takeover.
		if inc.Commander != "" || user != actor {
			if err := a.mayManage(*inc, actor, ActHandOver); err != nil {
				return nil, err
			}
		}
		previous := inc.Commander
		changed = true
		inc.Commander = user
		// An incident Klaxon declared on its own is acknowledged when a
		// person first takes it on.
		if inc.Declarer == ActorKlaxon {
			inc.mark(PhaseAcknowledged, now)
		}
		inc.mark(PhaseTriageStarted, now)
		// The payload says who handed the role to whom: no text, and no
		// Slack mention stored where other destinations read it.
		handover := CommanderPayload{From: previous, To: user}
		ev := NewEvent(EventCommanderChanged, actor, now, "")
		ev.Payload = handover
		msg = inc.queue(Message{Kind: MessageCommander, Commander: &handover}, now)
		return []Event{ev}, nil
	})
	if err != nil {
		return Incident{}, claim{}, false, storeErr(err, SubjectCommander)
	}
	if changed {
		a.Wake()
	}
	return inc, msg, changed, nil
}

// ScopeRequest is a submitted scope call.
type ScopeRequest struct {
	Key                                 string
	By                                  string
	WhatBroke, WhoAffected, BlastRadius string
}

// RecordScope stores the scope call's answers on incident n and checks its
// checklist item. A severity chosen in the same form goes through
// ChangeSeverity.
func (a *App) RecordScope(ctx context.Context, n int64, req ScopeRequest) (Incident, bool, error) {
	inc, _, applied, err := a.recordScope(ctx, n, req)
	return inc, applied, err
}

// recordScope is RecordScope, which also queues the summary (PublishScope)
// in the outbox and returns it claimed for the caller.
func (a *App) recordScope(ctx context.Context, n int64, req ScopeRequest) (Incident, claim, bool, error) {
	for _, s := range []string{req.WhatBroke, req.WhoAffected, req.BlastRadius} {
		if utf8.RuneCountInString(s) > MaxScopeAnswer {
			return Incident{}, claim{}, false, Fail(CodeBadInput, ReasonScopeAnswerTooLong, FieldAnswers, ErrorArgs{Limit: MaxScopeAnswer})
		}
	}
	if strings.TrimSpace(req.WhatBroke+req.WhoAffected+req.BlastRadius) == "" {
		return Incident{}, claim{}, false, Fail(CodeBadInput, ReasonScopeEmpty, FieldAnswers, ErrorArgs{})
	}
	now := a.deps.Clock.Now().UTC()
	var msg claim
	inc, applied, err := a.deps.Store.Apply(ctx, n, req.Key, func(inc *Incident) ([]Event, error) {
		if !inc.Status.Open() {
			return nil, Fail(CodeBadTransition, ReasonScopeFinal, "", ErrorArgs{Incident: inc.Number, Status: inc.Status})
		}
		inc.Scope = &Scope{WhatBroke: req.WhatBroke, WhoAffected: req.WhoAffected, BlastRadius: req.BlastRadius, By: req.By, At: now}
		inc.Timers.ScopeDue = time.Time{}
		evs := []Event{NewEvent(EventScoped, req.By, now, "scope call: "+truncate(req.WhatBroke, 200))}
		if inc.check(ItemScope, ActorKlaxon, now) {
			evs = append(evs, checkEvent(ItemScope, ActorKlaxon, now, true))
		}
		msg = inc.queue(Message{Kind: MessageScope}, now)
		return evs, nil
	})
	if err != nil {
		return Incident{}, claim{}, false, storeErr(err, SubjectScopeCall)
	}
	if applied {
		a.Wake()
	}
	return inc, msg, applied, nil
}

// SeverityChange is what ChangeSeverity did, for the adapters to tell people.
type SeverityChange struct {
	From, To Severity
	By       string
	Reason   string
	// Pages: the change raised the incident to a tier that pages, and the
	// page it owes is pending (raise.go).
	Pages bool
}

// ChangeSeverity moves incident n to severity to: the cadence and the
// deadlines follow at once, and the timeline records old → new with who and
// why. Telling Slack (PublishSeverityChange) is queued in the outbox in the
// same transaction: SetSeverity delivers it at once, and otherwise the
// scheduler does. changed is false when the severity already was to.
func (a *App) ChangeSeverity(ctx context.Context, n int64, to Severity, actor, reason, key string) (Incident, SeverityChange, bool, error) {
	inc, ch, _, changed, err := a.changeSeverity(ctx, n, to, actor, reason, key)
	return inc, ch, changed, err
}

func (a *App) changeSeverity(ctx context.Context, n int64, to Severity, actor, reason, key string) (Incident, SeverityChange, claim, bool, error) {
	if !to.Valid() {
		return Incident{}, SeverityChange{}, claim{}, false, Fail(CodeBadSeverity, ReasonSeverityNeeded, FieldSeverity, ErrorArgs{})
	}
	if utf8.RuneCountInString(reason) > 500 {
		return Incident{}, SeverityChange{}, claim{}, false, Fail(CodeBadInput, ReasonSeverityReasonLong, FieldReason, ErrorArgs{Limit: 500})
	}
	now := a.deps.Clock.Now().UTC()
	var ch SeverityChange
	var msg claim
	changed := false
	inc, _, err := a.deps.Store.Apply(ctx, n, key, func(inc *Incident) ([]Event, error) {
		if err := a.mayManage(*inc, actor, ActChangeSeverity); err != nil {
			return nil, err
		}
		if !inc.Status.Open() {
			return nil, Fail(CodeBadTransition, ReasonSeverityFinal, "", ErrorArgs{Incident: inc.Number, Status: inc.Status})
		}
		if inc.Severity == to {
			return nil, nil
		}
		ch = SeverityChange{From: inc.Severity, To: to, By: actor, Reason: reason}
		changed = true
		inc.Severity = to
		inc.Retime(a.matrixTier(to), now)
		ch.Pages = a.raisePage(inc, ch.From, now)
		text := fmt.Sprintf("%s → %s", ch.From, ch.To)
		if reason != "" {
			text += ": " + reason
		}
		ev := NewEvent(EventSeverityChanged, actor, now, text)
		ev.Payload = SeverityPayload{From: ch.From, To: ch.To, Reason: reason}
		told := ch
		msg = inc.queue(Message{Kind: MessageSeverity, Severity: &told}, now)
		return []Event{ev}, nil
	})
	if err != nil {
		return Incident{}, SeverityChange{}, claim{}, false, storeErr(err, SubjectSeverityChange)
	}
	if changed {
		a.Wake()
	}
	return inc, ch, msg, changed, nil
}

// AddNote records a note (or a message added to the timeline, with its
// original time at) on incident n.
func (a *App) AddNote(ctx context.Context, n int64, actor, text string, at time.Time, key string) (Incident, bool, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return Incident{}, false, Fail(CodeBadInput, ReasonNoNoteText, FieldText, ErrorArgs{})
	}
	if utf8.RuneCountInString(text) > MaxUpdateField {
		return Incident{}, false, Fail(CodeBadInput, ReasonNoteTooLong, FieldText, ErrorArgs{Limit: MaxUpdateField})
	}
	now := a.deps.Clock.Now().UTC()
	if at.IsZero() {
		at = now
	}
	inc, applied, err := a.deps.Store.Apply(ctx, n, key, func(inc *Incident) ([]Event, error) {
		ev := NewEvent(EventNote, actor, now, text)
		ev.At = at.UTC()
		return []Event{ev}, nil
	})
	if err != nil {
		return Incident{}, false, storeErr(err, SubjectNote)
	}
	return inc, applied, nil
}

// PhaseTarget is one of the four phases of time to restore, with its P1 target.
type PhaseTarget struct {
	Name     string
	From, To Phase
	Target   time.Duration
	Elapsed  time.Duration // so far, or in all when ended
	Started  bool
	Ended    bool
}

// PhaseTargets are the four phases and their targets (for a SEV1).
var PhaseTargets = []PhaseTarget{
	{Name: "Detection", From: PhaseDetected, To: PhaseAcknowledged, Target: 5 * time.Minute},
	{Name: "Triage", From: PhaseAcknowledged, To: PhaseMitigationStarted, Target: 15 * time.Minute},
	{Name: "Remediation", From: PhaseMitigationStarted, To: PhaseMitigated, Target: 30 * time.Minute},
	{Name: "Verification", From: PhaseMitigated, To: PhaseResolved, Target: 15 * time.Minute},
}

// Phases reports each phase's time so far at now against its target.
func (inc *Incident) PhaseProgress(now time.Time) []PhaseTarget {
	out := make([]PhaseTarget, len(PhaseTargets))
	for i, p := range PhaseTargets {
		from, started := inc.At(p.From)
		to, ended := inc.At(p.To)
		p.Started, p.Ended = started, ended
		switch {
		case started && ended:
			p.Elapsed = to.Sub(from)
		case started:
			p.Elapsed = now.Sub(from)
		}
		out[i] = p
	}
	return out
}

// CurrentPhase names the phase the incident is in.
func (inc *Incident) CurrentPhase() string {
	for _, p := range inc.PhaseProgress(time.Time{}) {
		if p.Started && !p.Ended {
			return p.Name
		}
	}
	if inc.Status == StatusClosed {
		return "Closed"
	}
	return "Post-incident"
}
