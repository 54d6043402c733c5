package playbook

import (
	"context"
	"errors"
)

// One App method per thing a person asks for: it authorises and records
// the change (in one store transaction), lets the adapter answer the person
// (answer, called once the change is recorded and before any Slack call, so
// the answer is true and comes first), then tells Slack, and returns what
// it could not tell as data (Outcome.Unpublished). The order "store, then
// tell Slack, then report what failed" is decided here, once; an adapter
// translates a request into one call and the Outcome back into words.

// Intent names what a person asked for, for adapters rendering an Outcome.
type Intent string

// The intents.
const (
	IntentSeverity  Intent = "severity"
	IntentUpdate    Intent = "update"
	IntentScope     Intent = "scope"
	IntentAllClear  Intent = "all_clear"
	IntentCommander Intent = "commander"
	IntentChecklist Intent = "checklist"
	IntentGate      Intent = "gate"
)

// PublishError is a change recorded but not (fully) told in Slack: the
// change stands, and someone should tell people by hand.
type PublishError struct {
	Intent Intent
	Err    error
}

// Error is for logs, in the form of Error.Error: what was recorded and
// not published, then why. A person reads it rendered (ReasonUnpublishedIntent).
func (e *PublishError) Error() string {
	return string(CodeUnavailable) + "/" + string(ReasonUnpublishedIntent) + " intent=" + string(e.Intent) + ": " + e.Err.Error()
}
func (e *PublishError) Unwrap() error { return e.Err }

// Outcome is what an intent did.
type Outcome struct {
	Incident Incident
	// Applied is false when nothing changed: a repeated key, or the
	// incident already was so (then nothing was published either).
	Applied bool
	// Change is the severity change (SetSeverity, and a scope call that
	// moved the severity).
	Change SeverityChange
	// Update is the status update recorded (SendUpdate, GiveAllClear).
	Update StatusUpdate
	// Handover is the commander change (SetCommander).
	Handover CommanderPayload
	// Unpublished is a *PublishError when Slack was not told everything.
	Unpublished error
}

func unpublished(intent Intent, err error) error {
	if err == nil {
		return nil
	}
	var pe *PublishError
	if errors.As(err, &pe) {
		return pe
	}
	return &PublishError{Intent: intent, Err: err}
}

func answerWith(answer func(Outcome), o Outcome) {
	if answer != nil {
		answer(o)
	}
}

// answerThenDeliver answers the person with o, then delivers the message
// the change queued with it (o.Applied: a change made by an earlier
// delivery of the same key queued nothing new); what fails stays in the
// outbox for the scheduler and is reported in o.Unpublished.
func (a *App) answerThenDeliver(ctx context.Context, o Outcome, msg claim, answer func(Outcome), intent Intent) Outcome {
	answerWith(answer, o)
	if o.Applied {
		if err := a.deliver(ctx, o.Incident.Number, []claim{msg}); err != nil {
			a.log().Warn("delivering what the change queued", "intent", intent, "incident", o.Incident.Number, "err", err)
			o.Unpublished = unpublished(intent, err)
		}
	}
	return o
}

// SeverityRequest is a severity change as a person asked for it.
type SeverityRequest struct {
	N      int64
	To     Severity
	Actor  string
	Reason string
	Key    string
}

// SetSeverity moves an incident to another severity: authorised (its
// commander, declarer or a responder), recorded with the new cadence and
// deadlines (what to tell Slack queued in the outbox), answered, then
// the channel renamed and people told (PublishSeverityChange, delivered
// from the outbox: what fails now is tried again by the scheduler).
func (a *App) SetSeverity(ctx context.Context, req SeverityRequest, answer func(Outcome)) (Outcome, error) {
	inc, ch, msg, changed, err := a.changeSeverity(ctx, req.N, req.To, req.Actor, req.Reason, req.Key)
	if err != nil {
		return Outcome{}, err
	}
	o := Outcome{Incident: inc, Applied: changed, Change: ch}
	answerWith(answer, o)
	if changed {
		if err := a.deliver(ctx, inc.Number, []claim{msg}); err != nil {
			a.log().Warn("showing a severity change", "incident", inc.Number, "err", err)
			o.Unpublished = unpublished(IntentSeverity, err)
		}
	}
	if changed && ch.Pages {
		a.pageRaised(ctx, inc)
	}
	return o, nil
}

// SendUpdate records a status update on incident n (its cadence reset),
// answers, then posts it in the channel and under the announcement.
func (a *App) SendUpdate(ctx context.Context, n int64, req UpdateRequest, answer func(Outcome)) (Outcome, error) {
	inc, su, msg, applied, err := a.recordUpdate(ctx, n, req)
	if err != nil {
		return Outcome{}, err
	}
	o := Outcome{Incident: inc, Applied: applied, Update: su}
	answerWith(answer, o)
	if applied {
		if err := a.deliver(ctx, n, []claim{msg}); err != nil {
			a.log().Error("posting an update", "incident", inc.Number, "err", err)
			o.Unpublished = unpublished(IntentUpdate, err)
		}
	}
	return o, nil
}

// ScopeOutcome is what a scope call did: the scope (Outcome) and, when the
// form asked for another severity, that change or why it was refused.
type ScopeOutcome struct {
	Outcome
	Severity Outcome
	// SeverityErr is why the severity stayed (a refusal, say); the scope
	// call is recorded all the same.
	SeverityErr error
}

// SubmitScope records the scope call (ScopeRequest) on incident n, answers,
// posts its summary and refreshes the checklist; when to is a valid
// severity other than the incident's, it then changes the severity as
// SetSeverity does (key severityKey), which may be refused on its own.
func (a *App) SubmitScope(ctx context.Context, n int64, req ScopeRequest, to Severity, severityKey string, answer func(Outcome)) (ScopeOutcome, error) {
	inc, msg, applied, err := a.recordScope(ctx, n, req)
	if err != nil {
		return ScopeOutcome{}, err
	}
	o := ScopeOutcome{Outcome: Outcome{Incident: inc, Applied: applied}}
	answerWith(answer, o.Outcome)
	if !applied {
		return o, nil
	}
	if err := a.deliver(ctx, n, []claim{msg}); err != nil {
		a.log().Warn("posting the scope summary", "incident", n, "err", err)
		o.Unpublished = unpublished(IntentScope, err)
	}
	if to.Valid() && to != inc.Severity {
		o.Severity, o.SeverityErr = a.SetSeverity(ctx, SeverityRequest{N: n, To: to, Actor: req.By, Reason: "scope call", Key: severityKey}, nil)
	}
	return o, nil
}

// GiveAllClear resolves incident n (AllClear: the gates, or the
// commander's override), answers, then refreshes the gates message (when
// the incident has one) and posts the final status update.
func (a *App) GiveAllClear(ctx context.Context, n int64, req AllClearRequest, answer func(Outcome)) (Outcome, error) {
	inc, su, msgs, applied, err := a.allClear(ctx, n, req)
	if err != nil {
		return Outcome{}, err
	}
	o := Outcome{Incident: inc, Applied: applied, Update: su}
	answerWith(answer, o)
	if !applied {
		return o, nil
	}
	for _, msg := range msgs {
		err := a.deliver(ctx, n, []claim{msg})
		switch {
		case err == nil:
		case msg.Kind == MessageRefresh:
			a.log().Warn("refreshing the gates message", "incident", n, "err", err)
		default:
			a.log().Error("posting the final update", "incident", n, "err", err)
			o.Unpublished = unpublished(IntentAllClear, err)
		}
	}
	return o, nil
}

// CommanderRequest is a person taking the commander role (User = Actor) or
// handing it to User.
type CommanderRequest struct {
	N           int64
	User, Actor string
	Key         string
}

// SetCommander makes req.User the commander of incident req.N (authorised
// as AssignCommander says), answers, then shows the handover in Slack (the
// topic, the intro, a line in the channel, the commander invited),
// delivered from the outbox: what fails now is tried again by the
// scheduler.
func (a *App) SetCommander(ctx context.Context, req CommanderRequest, answer func(Outcome)) (Outcome, error) {
	inc, msg, changed, err := a.assignCommander(ctx, req)
	if err != nil {
		return Outcome{}, err
	}
	o := Outcome{Incident: inc, Applied: changed, Handover: CommanderPayload{To: req.User}}
	if msg.Commander != nil {
		o.Handover = *msg.Commander
	}
	return a.answerThenDeliver(ctx, o, msg, answer, IntentCommander), nil
}

// ItemRequest is a checklist item set to On (checked) or not by Actor.
type ItemRequest struct {
	N     int64
	Item  Item
	On    bool
	Actor string
	Key   string
}

// CheckItem sets a checklist item as SetItem does, answers, then
// re-renders the checklist, delivered from the outbox.
func (a *App) CheckItem(ctx context.Context, req ItemRequest, answer func(Outcome)) (Outcome, error) {
	inc, msg, changed, err := a.setItem(ctx, req)
	if err != nil {
		return Outcome{}, err
	}
	return a.answerThenDeliver(ctx, Outcome{Incident: inc, Applied: changed}, msg, answer, IntentChecklist), nil
}
