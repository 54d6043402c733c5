package playbook

import "time"

// Timers are an incident's stored deadlines. They live in the store with the
// incident, so a restart loses none; one scheduler loop asks Fire what is due
// at now. All times are UTC.
type Timers struct {
	// LastUpdate is when the last status update was posted; Updates counts them.
	LastUpdate time.Time `json:"last_update,omitzero"`
	Updates    int       `json:"updates,omitempty"`
	// UpdateDue is when the next status update is expected (zero: none is).
	UpdateDue time.Time `json:"update_due,omitzero"`
	// NextNudge is when the next reminder about UpdateDue fires; Nudges counts
	// the reminders sent since the last update (the second one escalates).
	NextNudge time.Time `json:"next_nudge,omitzero"`
	Nudges    int       `json:"nudges,omitempty"`
	// StatusPageDue is when the first update (standing for the status page)
	// is due after declaration; StatusPageMet records that it came in time.
	StatusPageDue   time.Time `json:"status_page_due,omitzero"`
	StatusPageMet   bool      `json:"status_page_met,omitempty"`
	StatusPageFired bool      `json:"status_page_fired,omitempty"`
	// ResolutionUpdateDue asks for the closing update of a tier that
	// updates at open and at resolution.
	ResolutionUpdateDue time.Time `json:"resolution_update_due,omitzero"`
	// ScopeDue is when the five-minute scope call should be done; the
	// commander (or the channel) is nudged once if it is not.
	ScopeDue time.Time `json:"scope_due,omitzero"`
	// PostmortemDue is set at resolution for tiers that require one.
	PostmortemDue      time.Time `json:"postmortem_due,omitzero"`
	PostmortemDone     bool      `json:"postmortem_done,omitempty"`
	PostmortemLink     string    `json:"postmortem_link,omitempty"`
	PostmortemReminded time.Time `json:"postmortem_reminded,omitzero"`
	// ArchiveDue is when a closed incident's channel is to be archived.
	ArchiveDue time.Time `json:"archive_due,omitzero"`
	// GatesRefresh is when a checked gate's dwell ends, so its message is
	// re-rendered to show the gate holding without anyone clicking.
	GatesRefresh time.Time `json:"gates_refresh,omitzero"`
	// ChannelRetry is when to try again to create a channel Slack refused.
	ChannelRetry time.Time `json:"channel_retry,omitzero"`
	// TopicDue is set when the status changes: the channel's topic, which
	// shows the status, is set again once (conversations.setTopic is Tier
	// 2), by the scheduler, or for a close by FinishClose before it archives.
	TopicDue time.Time `json:"topic_due,omitzero"`
}

// defaultOpenUpdateWithin is when the opening update of an
// open-and-resolution tier is expected, unless the tier says otherwise.
const defaultOpenUpdateWithin = 30 * time.Minute

// NudgeKind says what a reminder is about.
type NudgeKind string

// The reminders the scheduler sends.
const (
	NudgeUpdateDue        NudgeKind = "update_due"        // an update is due
	NudgeUpdateEscalated  NudgeKind = "update_escalated"  // still due a full interval later
	NudgeStatusPage       NudgeKind = "status_page"       // no update within the status-page window
	NudgeResolutionUpdate NudgeKind = "resolution_update" // a resolved open-and-resolution incident needs its closing update
	NudgePostmortem       NudgeKind = "postmortem"        // the post-mortem is pending
	NudgeScope            NudgeKind = "scope"             // the scope call's timebox ran out
)

// Nudge is one reminder to send.
type Nudge struct {
	Kind     NudgeKind
	Incident int64
	Due      time.Time // when the awaited thing was due
	At       time.Time // when the reminder fired
	// Mention are the people to mention: the commander, plus the tier's
	// escalation contacts when escalated. Empty when there is no commander:
	// the channel is asked to pick one.
	Mention []string
	// Level is 1 for the first reminder about a due update, 2 and more when escalated.
	Level int
}

// WakeAt is the earliest time the scheduler has something to do for the
// incident, or zero. The store indexes incidents by it.
func (inc *Incident) WakeAt() time.Time {
	ts := []time.Time{inc.Timers.NextNudge, inc.Timers.StatusPageDue, inc.Timers.ResolutionUpdateDue, inc.Timers.ScopeDue, inc.Timers.ArchiveDue, inc.Timers.GatesRefresh, inc.pagingWake(), inc.outboxWake()}
	if inc.Status != StatusClosed {
		ts = append(ts, inc.Timers.TopicDue) // a close's topic: FinishClose
	}
	if inc.channelPending() {
		// No channel to post in: the next attempt to make one, and pages.
		ts = []time.Time{inc.Timers.ChannelRetry, inc.pagingWake(), inc.outboxWake()}
	}
	var w time.Time
	for _, t := range ts {
		if !t.IsZero() && (w.IsZero() || t.Before(w)) {
			w = t
		}
	}
	return w
}

// declaredOr is the declaration time, or now for an incident without one
// (a zero time would make a deadline in year 1).
func (inc *Incident) declaredOr(now time.Time) time.Time {
	if d := inc.DeclaredAt(); !d.IsZero() {
		return d
	}
	return now
}

// ArmTimers starts the deadlines of an open incident that has none (one
// stored before Klaxon kept timers), counting from its declaration, so an
// overdue update fires at the next tick. It reports whether it did anything.
func (inc *Incident) ArmTimers(t Tier, now time.Time) bool {
	if !inc.Status.Open() || inc.Timers != (Timers{}) {
		return false
	}
	inc.scheduleUpdate(t, now.UTC(), 0)
	if t.StatusPageWithin > 0 {
		inc.Timers.StatusPageDue = inc.declaredOr(now).Add(t.StatusPageWithin)
	}
	return true
}

// startTimers sets the deadlines of a newly declared incident.
func (inc *Incident) startTimers(t Tier, now time.Time) {
	now = now.UTC()
	inc.Timers = Timers{}
	inc.scheduleUpdate(t, now, 0)
	if t.StatusPageWithin > 0 {
		inc.Timers.StatusPageDue = now.Add(t.StatusPageWithin)
	}
}

// scheduleUpdate sets when the next update is due, counting from the last
// update (or the declaration). next overrides the tier's interval once (the
// "next update in" a person chose).
func (inc *Incident) scheduleUpdate(t Tier, now time.Time, next time.Duration) {
	tm := &inc.Timers
	tm.UpdateDue, tm.NextNudge, tm.Nudges = time.Time{}, time.Time{}, 0
	if !inc.Status.Open() {
		return
	}
	from := tm.LastUpdate
	if from.IsZero() {
		from = inc.declaredOr(now)
	}
	switch t.Updates {
	case UpdatesPeriodic:
		every := t.UpdateEvery
		if next > 0 {
			every, from = next, now
		}
		if every <= 0 {
			return
		}
		tm.UpdateDue = from.Add(every).UTC()
	case UpdatesOpenAndResolution:
		if tm.Updates > 0 {
			return // the opening update came; the next is at resolution
		}
		within := t.UpdateEvery
		if within <= 0 {
			within = defaultOpenUpdateWithin
		}
		tm.UpdateDue = from.Add(within).UTC()
	default:
		return
	}
	tm.NextNudge = tm.UpdateDue
}

// RecordUpdate notes a status update posted at now and resets the cadence.
// next, when positive, is the "next update in" the author promised. It
// reports whether this update met the status-page rule.
func (inc *Incident) RecordUpdate(t Tier, now time.Time, next time.Duration) (statusPageMet bool) {
	now = now.UTC()
	tm := &inc.Timers
	tm.LastUpdate = now
	tm.Updates++
	if !tm.StatusPageDue.IsZero() {
		if !now.After(tm.StatusPageDue) {
			tm.StatusPageMet, statusPageMet = true, true
			inc.check(ItemStatusPage, ActorKlaxon, now)
		}
		tm.StatusPageDue = time.Time{}
	}
	if !inc.Status.Open() {
		tm.ResolutionUpdateDue = time.Time{}
	}
	inc.scheduleUpdate(t, now, next)
	return statusPageMet
}

// Retime applies a new tier to the deadlines at once, after a severity change:
// the cadence counts from the last update under the new interval (an update
// overdue under the new tier fires on the next tick), and a status-page rule
// the new tier has applies from the declaration.
func (inc *Incident) Retime(t Tier, now time.Time) {
	inc.scheduleUpdate(t, now.UTC(), 0)
	tm := &inc.Timers
	if t.StatusPageWithin > 0 && tm.Updates == 0 && !tm.StatusPageMet && !tm.StatusPageFired && inc.Status.Open() {
		tm.StatusPageDue = inc.declaredOr(now).Add(t.StatusPageWithin)
	} else if t.StatusPageWithin <= 0 {
		tm.StatusPageDue = time.Time{}
	}
	// The escalation steps left are re-planned from now under the new tier.
	if inc.Status.Open() && (inc.Paging != nil || len(t.Escalate) > 0) {
		inc.planSteps(t, now.UTC())
	}
}

// Resolve moves the incident to resolved and settles its timers: no more
// update nudges; the closing update is asked for when the tier wants one; the
// post-mortem due date starts when the tier requires one.
func (inc *Incident) Resolve(t Tier, now time.Time) error {
	_, err := inc.resolve(t, now)
	return err
}

// resolve is Resolve, also returning the phases skipped (see TransitionSkipping).
func (inc *Incident) resolve(t Tier, now time.Time) ([]Phase, error) {
	skipped, err := inc.TransitionSkipping(StatusResolved, now)
	if err != nil {
		return nil, err
	}
	now = now.UTC()
	tm := &inc.Timers
	tm.UpdateDue, tm.NextNudge, tm.Nudges, tm.StatusPageDue, tm.ScopeDue, tm.GatesRefresh = time.Time{}, time.Time{}, 0, time.Time{}, time.Time{}, time.Time{}
	if t.Updates == UpdatesOpenAndResolution {
		tm.ResolutionUpdateDue = now
	}
	if t.PostmortemWithin > 0 && !tm.PostmortemDone {
		tm.PostmortemDue = now.Add(t.PostmortemWithin)
	}
	return skipped, nil
}

// MarkPostmortemDone stops the post-mortem reminders.
func (inc *Incident) MarkPostmortemDone(link string) {
	inc.Timers.PostmortemDone = true
	inc.Timers.PostmortemLink = link
}

// Fire returns the reminders due at now and advances the deadlines past
// them, so a second call at the same now returns nothing. However late now
// is (after a restart, say), each deadline fires once; the cadence then
// continues from now.
func (inc *Incident) Fire(t Tier, now time.Time) []Nudge {
	now = now.UTC()
	tm := &inc.Timers
	var out []Nudge
	mention := func(escalate bool) []string {
		var m []string
		if inc.Commander != "" {
			m = append(m, inc.Commander)
		}
		if escalate {
			for _, id := range t.OverdueUpdateMentions {
				if id != inc.Commander {
					m = append(m, id)
				}
			}
		}
		return m
	}
	if !tm.NextNudge.IsZero() && !now.Before(tm.NextNudge) {
		tm.Nudges++
		// Back after an outage with the update overdue by a full interval
		// or more: that is the escalation's case already.
		if tm.Nudges == 1 && t.Updates == UpdatesPeriodic && t.UpdateEvery > 0 && !now.Before(tm.UpdateDue.Add(t.UpdateEvery)) {
			tm.Nudges = 2
		}
		n := Nudge{Kind: NudgeUpdateDue, Incident: inc.Number, Due: tm.UpdateDue, At: now, Level: tm.Nudges, Mention: mention(false)}
		if tm.Nudges > 1 {
			n.Kind, n.Mention = NudgeUpdateEscalated, mention(true)
		}
		out = append(out, n)
		tm.NextNudge = time.Time{}
		// Periodic tiers keep reminding, escalated, every interval; an
		// opening update is asked for once.
		if t.Updates == UpdatesPeriodic && t.UpdateEvery > 0 {
			tm.NextNudge = now.Add(t.UpdateEvery)
		}
	}
	if !tm.StatusPageDue.IsZero() && !now.Before(tm.StatusPageDue) {
		out = append(out, Nudge{Kind: NudgeStatusPage, Incident: inc.Number, Due: tm.StatusPageDue, At: now, Level: 1, Mention: mention(false)})
		tm.StatusPageDue, tm.StatusPageFired = time.Time{}, true
	}
	if !tm.ScopeDue.IsZero() && !now.Before(tm.ScopeDue) {
		out = append(out, Nudge{Kind: NudgeScope, Incident: inc.Number, Due: tm.ScopeDue, At: now, Level: 1, Mention: mention(false)})
		tm.ScopeDue = time.Time{}
	}
	if !tm.ResolutionUpdateDue.IsZero() && !now.Before(tm.ResolutionUpdateDue) {
		out = append(out, Nudge{Kind: NudgeResolutionUpdate, Incident: inc.Number, Due: tm.ResolutionUpdateDue, At: now, Level: 1, Mention: mention(false)})
		tm.ResolutionUpdateDue = time.Time{}
	}
	return out
}

// postmortemRemindEvery is the least time between two post-mortem reminders
// for one incident, so a restart or a second sweep the same day repeats none.
const postmortemRemindEvery = 20 * time.Hour

// PostmortemReminder returns the reminder to send at now, if the incident's
// post-mortem is pending and it was not reminded in the last 20 hours, and
// records it.
func (inc *Incident) PostmortemReminder(now time.Time) (Nudge, bool) {
	now = now.UTC()
	tm := &inc.Timers
	if tm.PostmortemDue.IsZero() || tm.PostmortemDone || inc.Status == StatusInvestigating {
		return Nudge{}, false
	}
	if !tm.PostmortemReminded.IsZero() && now.Sub(tm.PostmortemReminded) < postmortemRemindEvery {
		return Nudge{}, false
	}
	tm.PostmortemReminded = now
	var m []string
	if inc.Commander != "" {
		m = []string{inc.Commander}
	}
	return Nudge{Kind: NudgePostmortem, Incident: inc.Number, Due: tm.PostmortemDue, At: now, Level: 1, Mention: m}, true
}
