package playbook

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// CodeGatesOpen refuses an all-clear while verification gates do not hold.
const CodeGatesOpen Code = "gates_open"

// ValidGate reports whether g is a verification gate.
func ValidGate(g Gate) bool {
	_, ok := g.Info()
	return ok
}

// Info returns the gate's description.
func (g Gate) Info() (GateInfo, bool) {
	for _, gi := range Gates {
		if gi.Gate == g {
			return gi, true
		}
	}
	return GateInfo{}, false
}

// GateState is one gate at a moment: checked or not, and whether it holds.
type GateState struct {
	GateInfo
	Check *Check // nil when unchecked
	// HoldsAt is when a checked gate holds: its check time plus its dwell.
	HoldsAt time.Time
	Holds   bool
}

// GateStates reports every gate at now, in order.
func (inc *Incident) GateStates(now time.Time) []GateState {
	out := make([]GateState, len(Gates))
	for i, g := range Gates {
		st := GateState{GateInfo: g}
		if c, ok := inc.GateChecks[g.Gate]; ok {
			c := c
			st.Check = &c
			st.HoldsAt = c.At.Add(g.Dwell)
			st.Holds = !now.Before(st.HoldsAt)
		}
		out[i] = st
	}
	return out
}

// Unmet returns the gates that do not hold at now.
func (inc *Incident) Unmet(now time.Time) []GateState {
	var out []GateState
	for _, st := range inc.GateStates(now) {
		if !st.Holds {
			out = append(out, st)
		}
	}
	return out
}

// OpenVerification opens the four verification gates for incident n. An
// incident still being investigated or remediated is marked mitigated: one
// verifies only once the impact looks stopped. opened is false when the
// gates were already open (the caller shows them again).
func (a *App) OpenVerification(ctx context.Context, n int64, actor, key string) (inc Incident, opened bool, err error) {
	now := a.deps.Clock.Now().UTC()
	inc, _, err = a.deps.Store.Apply(ctx, n, key, func(inc *Incident) ([]Event, error) {
		if !inc.Status.Open() {
			return nil, Fail(CodeBadTransition, ReasonAlreadyStatus, "", ErrorArgs{Incident: inc.Number, Status: inc.Status})
		}
		if !inc.Verifying.IsZero() {
			return nil, nil
		}
		opened = true
		var evs []Event
		if inc.Status != StatusMitigated {
			skipped, err := inc.TransitionSkipping(StatusMitigated, now)
			if err != nil {
				return nil, err
			}
			ev := NewEvent(EventStatusChanged, actor, now, "")
			ev.Payload = StatusPayload{To: StatusMitigated, Skipped: skipped, Why: WhyVerificationStarted}
			evs = append(evs, ev)
		}
		inc.Verifying = now
		return append(evs, NewEvent(EventVerification, actor, now, "")), nil
	})
	if err != nil {
		return Incident{}, false, storeErr(err, SubjectVerification)
	}
	return inc, opened, nil
}

// SetGate checks (on) or unchecks gate g of incident n as actor. Like the
// checklist, the wanted state comes with the click, so a double click
// changes nothing twice. Unchecking restarts a gate's dwell. The gates
// message's refresh is queued in the outbox with the change (the scheduler
// delivers it; CheckGate delivers it at once).
func (a *App) SetGate(ctx context.Context, n int64, g Gate, on bool, actor, key string) (Incident, bool, error) {
	inc, _, changed, err := a.setGate(ctx, GateRequest{N: n, Gate: g, On: on, Actor: actor, Key: key})
	return inc, changed, err
}

// GateRequest is a verification gate set to On (checked) or not by Actor.
type GateRequest struct {
	N     int64
	Gate  Gate
	On    bool
	Actor string
	Key   string
}

// CheckGate sets a gate as SetGate does, answers, then re-renders the
// gates message, delivered from the outbox.
func (a *App) CheckGate(ctx context.Context, req GateRequest, answer func(Outcome)) (Outcome, error) {
	inc, msg, changed, err := a.setGate(ctx, req)
	if err != nil {
		return Outcome{}, err
	}
	return a.answerThenDeliver(ctx, Outcome{Incident: inc, Applied: changed}, msg, answer, IntentGate), nil
}

func (a *App) setGate(ctx context.Context, req GateRequest) (Incident, claim, bool, error) {
	g, on, actor := req.Gate, req.On, req.Actor
	if !ValidGate(g) {
		return Incident{}, claim{}, false, Fail(CodeBadInput, ReasonNotAGate, FieldItem, ErrorArgs{Input: truncate(string(g), 30)})
	}
	now := a.deps.Clock.Now().UTC()
	changed := false
	var msg claim
	inc, _, err := a.deps.Store.Apply(ctx, req.N, req.Key, func(inc *Incident) ([]Event, error) {
		if !inc.Status.Open() {
			return nil, Fail(CodeBadTransition, ReasonGatesFinal, "", ErrorArgs{Incident: inc.Number, Status: inc.Status})
		}
		_, was := inc.GateChecks[g]
		if was == on {
			return nil, nil
		}
		changed = true
		typ := EventGateUnchecked
		if on {
			if inc.GateChecks == nil {
				inc.GateChecks = map[Gate]Check{}
			}
			inc.GateChecks[g] = Check{By: actor, At: now}
			typ = EventGateChecked
		} else {
			delete(inc.GateChecks, g)
		}
		if inc.Verifying.IsZero() {
			inc.Verifying = now
		}
		inc.Timers.GatesRefresh = inc.nextGateHolds(now)
		ev := NewEvent(typ, actor, now, "")
		ev.Payload = GatePayload{Gate: g}
		msg = inc.queue(Message{Kind: MessageRefresh, Parts: PartGates}, now)
		return []Event{ev}, nil
	})
	if err != nil {
		return Incident{}, claim{}, false, storeErr(err, SubjectGate)
	}
	if changed {
		a.Wake()
	}
	return inc, msg, changed, nil
}

// MaxOverrideReason bounds an override's reason.
const MaxOverrideReason = 2000

// AllClearRequest is an all-clear as a person asked for it.
type AllClearRequest struct {
	Key   string
	Actor string
	// Reason, when set, overrides the gates that do not hold; only the
	// commander may give one.
	Reason string
}

// AllClear resolves incident n once all four gates hold (or the commander
// overrides them with a written reason): the resolved timestamp, the end of
// the update cadence, the post-mortem due date, and the final status update
// (returned, to publish) are recorded in one transaction.
func (a *App) AllClear(ctx context.Context, n int64, req AllClearRequest) (Incident, StatusUpdate, bool, error) {
	inc, su, _, applied, err := a.allClear(ctx, n, req)
	return inc, su, applied, err
}

// allClear is AllClear, which also queues in the outbox the gates
// message's refresh (when there is one) and posting the final update
// (PublishUpdate), and returns them claimed for the caller, in that order.
func (a *App) allClear(ctx context.Context, n int64, req AllClearRequest) (Incident, StatusUpdate, []claim, bool, error) {
	req.Reason = strings.TrimSpace(req.Reason)
	if utf8.RuneCountInString(req.Reason) > MaxOverrideReason {
		return Incident{}, StatusUpdate{}, nil, false, Fail(CodeBadInput, ReasonOverrideTooLong, FieldReason, ErrorArgs{Limit: MaxOverrideReason})
	}
	now := a.deps.Clock.Now().UTC()
	var su StatusUpdate
	var msgs []claim
	inc, applied, err := a.deps.Store.Apply(ctx, n, req.Key, func(inc *Incident) ([]Event, error) {
		if err := a.mayManage(*inc, req.Actor, ActAllClear); err != nil {
			return nil, err
		}
		if !inc.Status.Open() {
			return nil, Fail(CodeBadTransition, ReasonAlreadyStatus, "", ErrorArgs{Incident: inc.Number, Status: inc.Status})
		}
		unmet := inc.Unmet(now)
		var evs []Event
		// An incident whose channel could not be made has no gates
		// message to check them on: the all-clear is for whoever may
		// manage it, and the override says why (NoChannel, when the
		// person gave no reason).
		gateless := inc.channelPending()
		noChannel := gateless && req.Reason == ""
		if len(unmet) > 0 {
			if req.Reason == "" && !noChannel {
				return nil, Fail(CodeGatesOpen, ReasonGatesOpen, "", ErrorArgs{Incident: inc.Number, Gates: unmet, Time: now, Limit: len(Gates)})
			}
			if req.Actor != inc.Commander && !gateless {
				return nil, Fail(CodeForbidden, ReasonOverrideNotCommand, "", ErrorArgs{Incident: inc.Number, Commander: inc.Commander})
			}
			ov := &Override{By: req.Actor, At: now, Reason: req.Reason, NoChannel: noChannel}
			for _, st := range unmet {
				ov.Unmet = append(ov.Unmet, st.Gate)
			}
			inc.Override = ov
			ev := NewEvent(EventGateOverride, req.Actor, now, req.Reason)
			ev.Payload = OverridePayload{Unmet: ov.Unmet, NoChannel: noChannel}
			evs = append(evs, ev)
		}
		tier := a.deps.Tiers.Get(inc.Severity)
		skipped, err := inc.resolve(tier, now)
		if err != nil {
			return nil, err
		}
		if note, ok := skippedNote(skipped, StatusResolved, req.Actor, now); ok {
			evs = append(evs, note)
		}
		clear := NewEvent(EventAllClear, req.Actor, now, "")
		clear.Payload = AllClearPayload{OverGates: inc.Override != nil}
		evs = append(evs, clear)
		// The all-clear is the final status update: it is recorded as one
		// (so an open-and-resolution tier's closing update is this one).
		inc.RecordUpdate(tier, now, 0)
		final := &FinalUpdate{PostmortemDue: inc.Timers.PostmortemDue}
		if ov := inc.Override; ov != nil {
			final.OverGates, final.Reason, final.NoChannel = true, ov.Reason, ov.NoChannel
		}
		su = StatusUpdate{UpdateRequest: UpdateRequest{Key: req.Key, Author: req.Actor}, Seq: inc.Timers.Updates, At: now, Final: final}
		// The event keeps only what a person typed (the override's
		// reason); the payload says which final update it was.
		upd := NewEvent(EventStatusUpdate, req.Actor, now, final.Reason)
		upd.Payload = UpdatePayload{Seq: su.Seq, Final: true, AllClear: final.Case()}
		msgs = nil
		if !inc.GatesMsg.Zero() {
			msgs = append(msgs, inc.queue(Message{Kind: MessageRefresh, Parts: PartGates}, now))
		}
		told := su
		msgs = append(msgs, inc.queue(Message{Kind: MessageUpdate, Update: &told}, now))
		return append(evs, upd), nil
	})
	if err != nil {
		return Incident{}, StatusUpdate{}, nil, false, storeErr(err, SubjectAllClear)
	}
	if applied {
		a.Wake()
	}
	return inc, su, msgs, applied, nil
}

// RecordGatesMessage remembers where the gates message is, for its edits.
func (a *App) RecordGatesMessage(ctx context.Context, n int64, ref MessageRef) (Incident, error) {
	return a.deps.Store.Update(ctx, n, func(inc *Incident) ([]Event, error) {
		inc.GatesMsg = ref
		return nil, nil
	})
}

// nextGateHolds is the earliest time after now a checked gate starts to
// hold (the end of a dwell), or zero.
func (inc *Incident) nextGateHolds(now time.Time) time.Time {
	var next time.Time
	for _, st := range inc.GateStates(now) {
		if st.Check != nil && !st.Holds && (next.IsZero() || st.HoldsAt.Before(next)) {
			next = st.HoldsAt
		}
	}
	return next
}

// fireGates handles a due GatesRefresh inside the scheduler's transaction:
// it moves the deadline to the next dwell end and says whether to re-render.
func (inc *Incident) fireGates(now time.Time) bool {
	if inc.Timers.GatesRefresh.IsZero() || now.Before(inc.Timers.GatesRefresh) {
		return false
	}
	inc.Timers.GatesRefresh = inc.nextGateHolds(now)
	return inc.Status.Open() && !inc.GatesMsg.Zero()
}

// publishGates re-renders the gates message from the store.
func (a *App) publishGates(ctx context.Context, n int64) error {
	return a.refresh(ctx, n, PartGates)
}
