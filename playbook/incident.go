package playbook

import (
	"time"
)

// Status is where an incident stands. The set is closed; Transition enforces
// which moves are allowed.
type Status string

// Incident statuses, in the order an incident normally moves through them.
const (
	StatusInvestigating Status = "investigating" // declared; triage under way
	StatusMitigating    Status = "mitigating"    // a remediation is being applied
	StatusMitigated     Status = "mitigated"     // impact stopped; verifying
	StatusResolved      Status = "resolved"      // all-clear given
	StatusClosed        Status = "closed"        // post-mortem outline produced, channel archived
)

// transitions lists the allowed moves. Resolved may reopen to investigating
// (a premature all-clear happens); closed is final.
var transitions = map[Status][]Status{
	StatusInvestigating: {StatusMitigating, StatusMitigated, StatusResolved},
	StatusMitigating:    {StatusMitigated, StatusResolved, StatusInvestigating},
	StatusMitigated:     {StatusMitigating, StatusResolved, StatusInvestigating},
	StatusResolved:      {StatusClosed, StatusInvestigating},
	StatusClosed:        nil,
}

// CanTransition reports whether an incident in status from may move to to.
func CanTransition(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Open reports whether the incident still needs responders.
func (s Status) Open() bool { return s != StatusResolved && s != StatusClosed }

// Phase names a timestamp in an incident's life. Phase durations (MTTD, MTTR
// and the four phase targets) are computed from these.
type Phase string

// The phase timestamps, in order.
const (
	PhaseDetected          Phase = "detected"
	PhaseDeclared          Phase = "declared"
	PhaseAcknowledged      Phase = "acknowledged"
	PhaseTriageStarted     Phase = "triage_started"
	PhaseMitigationStarted Phase = "mitigation_started"
	PhaseMitigated         Phase = "mitigated"
	PhaseResolved          Phase = "resolved"
	PhaseClosed            Phase = "closed"
)

// Phases lists every phase timestamp in order.
var Phases = []Phase{PhaseDetected, PhaseDeclared, PhaseAcknowledged, PhaseTriageStarted,
	PhaseMitigationStarted, PhaseMitigated, PhaseResolved, PhaseClosed}

// ChannelRef locates an incident's Slack channel. To the domain both fields are
// opaque strings.
type ChannelRef struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// ChannelIntent is a channel creation in progress.
type ChannelIntent struct {
	Name    string    `json:"name"`
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
}

// FoundChannel is a channel found by name.
type FoundChannel struct {
	Ref     ChannelRef
	Created time.Time
	// ByKlaxon is true when Klaxon's own bot user created it.
	ByKlaxon bool
}

// MessageRef locates a posted message (channel and timestamp, opaque here).
type MessageRef struct {
	Channel string `json:"channel,omitempty"`
	TS      string `json:"ts,omitempty"`
}

// Zero reports whether the message was never posted.
func (m MessageRef) Zero() bool { return m.TS == "" }

// Incident is the aggregate every use case works on. It is stored as a whole;
// its timeline is stored beside it, append-only.
type Incident struct {
	Number    int64      `json:"number"`
	Title     string     `json:"title"`
	Severity  Severity   `json:"severity"`
	Service   string     `json:"service,omitempty"`
	Declarer  string     `json:"declarer"`
	Private   bool       `json:"private,omitempty"`
	Commander string     `json:"commander,omitempty"`
	Status    Status     `json:"status"`
	Channel   ChannelRef `json:"channel"`
	// ChannelIntent is the channel name Klaxon is about to create, stored
	// before the create call, so that after a crash between Slack creating
	// the channel and the store recording it, the next attempt adopts that
	// channel instead of making a second one.
	ChannelIntent *ChannelIntent `json:"channel_intent,omitempty"`
	// Origin is where the declaration was typed, for replies.
	Origin string `json:"origin,omitempty"`
	// Times holds every phase timestamp reached, in UTC.
	Times map[Phase]time.Time `json:"times"`
	// Setup records which declaration steps are done, so a restart or a
	// redelivered envelope resumes instead of repeating them.
	Setup map[Step]time.Time `json:"setup,omitempty"`
	// Failures counts failed attempts per step, so that a step Slack keeps
	// refusing is given up after MaxStepAttempts instead of being retried
	// (and reported in the channel) at every restart.
	Failures map[Step]int `json:"failures,omitempty"`
	// Intro and Announcement are the messages Klaxon posted, for later edits and threads.
	Intro        MessageRef `json:"intro"`
	Announcement MessageRef `json:"announcement"`
	// Checked holds the triage checklist items that are checked.
	Checked map[Item]Check `json:"checked,omitempty"`
	// Scope is the five-minute scope call's answer, once given.
	Scope *Scope `json:"scope,omitempty"`
	// Checklist is the checklist message, edited in place on every change.
	ChecklistMsg MessageRef `json:"checklist_msg"`
	// ScopeMsg is the scope-call message.
	ScopeMsg MessageRef `json:"scope_msg"`
	// Timers are the stored deadlines (updates, nudges, post-mortem).
	Timers Timers `json:"timers"`
	// Remediations are the options chosen, in order.
	Remediations []Remediation `json:"remediations,omitempty"`
	// Verifying is when the verification gates were opened; GateChecks
	// holds the gates checked, GatesMsg the message showing them.
	Verifying  time.Time      `json:"verifying,omitzero"`
	GateChecks map[Gate]Check `json:"gate_checks,omitempty"`
	GatesMsg   MessageRef     `json:"gates_msg"`
	// Override is set when the commander gave the all-clear over open gates.
	Override *Override `json:"override,omitempty"`
	// Actions are the follow-up items, by ID.
	Actions []ActionItem `json:"actions,omitempty"`
	// Closure tracks the close steps (outline uploaded, published, archived).
	Closure *Closure `json:"closure,omitempty"`
	// RootCause is the normalised root-cause tag; RepeatOf lists earlier
	// incidents with the same tag.
	RootCause string  `json:"root_cause,omitempty"`
	RepeatOf  []int64 `json:"repeat_of,omitempty"`
	// Paging is who was paged and the escalation matrix's deadlines; nil
	// for an incident that pages nobody.
	Paging *Paging `json:"paging,omitempty"`
	// Deploys is what the deploy lookup and the watchdog found: the one
	// stored suspect, the deploys message.
	Deploys *DeployFinding `json:"deploys,omitempty"`
	// Outbox holds what is still to be told in Slack (outbox.go), stored
	// with the change that caused it.
	Outbox Outbox `json:"outbox,omitzero"`
	// Version increases with every stored change (optimistic checks, debugging).
	Version int64 `json:"version"`
}

// At returns the time phase p was reached, and whether it was.
func (inc *Incident) At(p Phase) (time.Time, bool) {
	t, ok := inc.Times[p]
	return t, ok
}

// mark records phase p at now unless it was already reached (the first time wins).
func (inc *Incident) mark(p Phase, now time.Time) {
	if inc.Times == nil {
		inc.Times = map[Phase]time.Time{}
	}
	if _, ok := inc.Times[p]; !ok {
		inc.Times[p] = now.UTC()
	}
}

// Transition moves the incident to status to, recording the phase timestamp
// that status implies. It returns an *Error with CodeBadTransition when the
// move is not allowed.
func (inc *Incident) Transition(to Status, now time.Time) error {
	_, err := inc.TransitionSkipping(to, now)
	return err
}

// TransitionSkipping is Transition, also returning the phases the move
// skipped (investigating straight to resolved skips the mitigation start
// and the mitigation): their start times are stamped at the same instant,
// so phase arithmetic never sees a gap. Callers say so on the timeline.
func (inc *Incident) TransitionSkipping(to Status, now time.Time) ([]Phase, error) {
	if inc.Status == to {
		return nil, nil
	}
	if !CanTransition(inc.Status, to) {
		return nil, Fail(CodeBadTransition, ReasonBadTransition, "", ErrorArgs{Incident: inc.Number, Status: inc.Status, To: to})
	}
	inc.Status = to
	inc.Timers.TopicDue = now.UTC() // the topic shows the status
	var own Phase
	var before []Phase // the phases every path to this status passes first
	switch to {
	case StatusMitigating:
		own = PhaseMitigationStarted
	case StatusMitigated:
		own, before = PhaseMitigated, []Phase{PhaseMitigationStarted}
	case StatusResolved:
		own, before = PhaseResolved, []Phase{PhaseMitigationStarted, PhaseMitigated}
	case StatusClosed:
		own = PhaseClosed
	}
	var skipped []Phase
	for _, p := range before {
		if _, ok := inc.Times[p]; !ok {
			skipped = append(skipped, p)
			inc.mark(p, now)
		}
	}
	if own != "" {
		inc.mark(own, now)
	}
	return skipped, nil
}

// skippedNote says on the timeline which phases a move skipped, stamped at
// the same instant; ok is false when it skipped none.
func skippedNote(skipped []Phase, to Status, actor string, now time.Time) (ev Event, ok bool) {
	if len(skipped) == 0 {
		return Event{}, false
	}
	ev = NewEvent(EventStatusChanged, actor, now, "")
	ev.Payload = StatusPayload{To: to, Skipped: skipped, Why: WhyPhasesSkipped}
	return ev, true
}

// Step is one part of setting up an incident's channel after the declaration.
type Step string

// Declaration steps. StepChannel comes first; the others only need the channel.
const (
	StepChannel  Step = "channel"
	StepTopic    Step = "topic"
	StepPurpose  Step = "purpose"
	StepInvite   Step = "invite"
	StepBookmark Step = "bookmark"
	StepIntro    Step = "intro"
	StepPin      Step = "pin"
	StepAnnounce Step = "announce"
	StepScope    Step = "scope_call"
	StepChecks   Step = "checklist"
)

// Done reports whether step s of the declaration has completed.
func (inc *Incident) Done(s Step) bool {
	_, ok := inc.Setup[s]
	return ok
}

func (inc *Incident) markDone(s Step, now time.Time) {
	if inc.Setup == nil {
		inc.Setup = map[Step]time.Time{}
	}
	if _, ok := inc.Setup[s]; !ok {
		inc.Setup[s] = now.UTC()
	}
}

// MaxStepAttempts is how many times a declaration step is tried (each try
// already includes the Slack client's own retries) before Klaxon gives up on it.
const MaxStepAttempts = 3

// GaveUp reports whether step s failed too often to be tried again.
func (inc *Incident) GaveUp(s Step) bool { return inc.Failures[s] >= MaxStepAttempts }

// Ready reports whether every declaration step is done.
func (inc *Incident) Ready() bool {
	for _, s := range []Step{StepChannel, StepTopic, StepPurpose, StepInvite, StepBookmark, StepIntro, StepPin, StepAnnounce, StepScope, StepChecks} {
		if !inc.Done(s) {
			return false
		}
	}
	return true
}

// ReadyAt is when the last of what responders need first was done: the
// announcement, the invites, the runbook bookmark and the triage checklist
// (the pin, topic and purpose may follow). ok is false while one is not.
func (inc *Incident) ReadyAt() (at time.Time, ok bool) {
	for _, s := range []Step{StepAnnounce, StepInvite, StepBookmark, StepChecks} {
		t, done := inc.Setup[s]
		if !done {
			return time.Time{}, false
		}
		if t.After(at) {
			at = t
		}
	}
	return at, true
}

// DeclaredAt is when the incident was declared (zero if never).
func (inc Incident) DeclaredAt() time.Time { return inc.Times[PhaseDeclared] }
