package playbook

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// MaxUpdateField bounds each part of a status update (Slack's section text
// limit, so nothing a person typed is cut).
const MaxUpdateField = 3000

// UpdateRequest is a status update as a person wrote it: free text from
// "/incident update …", or the form's fields.
type UpdateRequest struct {
	// Key makes posting idempotent (the envelope or view ID).
	Key       string
	Author    string
	Text      string
	Status    string
	Impact    string
	NextSteps string
	// NextIn, when positive, is when the author promises the next update.
	NextIn time.Duration
}

// StatusUpdate is an update as posted.
type StatusUpdate struct {
	UpdateRequest
	Seq int       // 1 for the first update of the incident
	At  time.Time // when it was posted
	// NextDue is when the next update is expected (zero: none).
	NextDue time.Time
	// StatusPageMet is true when this update met the tier's status-page rule.
	StatusPageMet bool
	// Final is set on the all-clear's final update, whose words are the
	// templates' (Status, Impact and NextSteps are then empty).
	Final *FinalUpdate `json:",omitempty"`
}

// FinalUpdate is what the all-clear's final status update tells, as facts.
type FinalUpdate struct {
	// OverGates: the all-clear came before every verification gate held;
	// Reason is the override's, or NoChannel says Klaxon gave it (the
	// incident had no channel to check its gates in).
	OverGates bool   `json:",omitempty"`
	Reason    string `json:",omitempty"`
	NoChannel bool   `json:",omitempty"`
	// PostmortemDue is when the post-mortem is due (zero: none).
	PostmortemDue time.Time `json:",omitzero"`
}

// The final update's cases, as UpdatePayload.AllClear records them.
const (
	AllClearHeld      = "held"       // every gate held
	AllClearOverGates = "over_gates" // the commander's override, with a reason
	AllClearNoChannel = "no_channel" // no channel, so no gates to check
)

// Case is which all-clear the final update tells of.
func (f FinalUpdate) Case() string {
	switch {
	case f.NoChannel:
		return AllClearNoChannel
	case f.OverGates:
		return AllClearOverGates
	}
	return AllClearHeld
}

func (r UpdateRequest) validate() error {
	if strings.TrimSpace(r.Text+r.Status+r.Impact+r.NextSteps) == "" {
		return Fail(CodeBadInput, ReasonUpdateEmpty, FieldText, ErrorArgs{})
	}
	for _, f := range []string{r.Text, r.Status, r.Impact, r.NextSteps} {
		if utf8.RuneCountInString(f) > MaxUpdateField {
			return Fail(CodeBadInput, ReasonUpdateFieldTooLong, FieldText, ErrorArgs{Limit: MaxUpdateField})
		}
	}
	if r.NextIn < 0 || r.NextIn > 7*24*time.Hour {
		return Fail(CodeBadInput, ReasonNextDueTooFar, FieldNextDue, ErrorArgs{})
	}
	if r.Key == "" || r.Author == "" {
		return Fail(CodeBadInput, ReasonNoUpdateAuthor, "", ErrorArgs{})
	}
	return nil
}

// PostUpdate records a status update on incident n and posts it: RecordUpdate
// then PublishUpdate. applied is false for a repeated Key.
func (a *App) PostUpdate(ctx context.Context, n int64, req UpdateRequest) (su StatusUpdate, applied bool, err error) {
	_, su, msg, applied, err := a.recordUpdate(ctx, n, req)
	if err != nil || !applied {
		return su, applied, err
	}
	return su, true, a.deliver(ctx, n, []claim{msg})
}

// RecordUpdate stores a status update on incident n, resetting its cadence,
// once per req.Key. Adapters call it before acknowledging, so the answer to
// the person is true; PublishUpdate then posts it.
func (a *App) RecordUpdate(ctx context.Context, n int64, req UpdateRequest) (inc Incident, su StatusUpdate, applied bool, err error) {
	inc, su, _, applied, err = a.recordUpdate(ctx, n, req)
	return inc, su, applied, err
}

// recordUpdate is RecordUpdate, which also queues posting the update
// (PublishUpdate) in the outbox and returns it claimed for the caller.
func (a *App) recordUpdate(ctx context.Context, n int64, req UpdateRequest) (inc Incident, su StatusUpdate, msg claim, applied bool, err error) {
	if err := req.validate(); err != nil {
		return Incident{}, StatusUpdate{}, claim{}, false, err
	}
	now := a.deps.Clock.Now().UTC()
	inc, applied, err = a.deps.Store.Apply(ctx, n, req.Key, func(inc *Incident) ([]Event, error) {
		if inc.Status == StatusClosed {
			return nil, Fail(CodeBadTransition, ReasonUpdatesOver, "", ErrorArgs{Incident: inc.Number, Status: inc.Status})
		}
		met := inc.RecordUpdate(a.deps.Tiers.Get(inc.Severity), now, req.NextIn)
		su = StatusUpdate{UpdateRequest: req, Seq: inc.Timers.Updates, At: now, NextDue: inc.Timers.UpdateDue, StatusPageMet: met}
		ev := NewEvent(EventStatusUpdate, req.Author, now, firstNonEmpty(req.Text, req.Status))
		ev.Payload = UpdatePayload{Seq: su.Seq, StatusPage: met}
		told := su
		msg = inc.queue(Message{Kind: MessageUpdate, Update: &told}, now)
		return []Event{ev}, nil
	})
	if err != nil {
		if ErrorCode(err) != "" {
			return Incident{}, StatusUpdate{}, claim{}, false, err
		}
		return Incident{}, StatusUpdate{}, claim{}, false, &Error{Code: CodeStore, Reason: ReasonUpdateNotStored, Err: err}
	}
	if applied {
		a.Wake()
	}
	return inc, su, msg, applied, nil
}

// PublishUpdate posts a recorded update in Slack.
func (a *App) PublishUpdate(ctx context.Context, inc Incident, su StatusUpdate) error {
	if su.StatusPageMet {
		if err := a.refresh(ctx, inc.Number, PartChecklist); err != nil {
			a.log().Warn("refreshing the checklist", "incident", inc.Number, "err", err)
		}
	}
	if err := a.deps.Poster.PostUpdate(ctx, a.Briefing(inc), su); err != nil {
		return &Error{Code: CodeStore, Reason: ReasonUpdateNotPosted, Err: err}
	}
	return nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// nudgeWorkers bounds the reminders posted at once by one tick.
const nudgeWorkers = 8

// Tick fires every reminder due at now: the deadlines are advanced, each
// firing recorded on the timeline and its reminder queued in the outbox, in
// one store transaction; then the reminders are posted, with the outbox's
// messages whose retry time has come. A restart after a long gap fires each
// deadline once. It returns the reminders it fired.
func (a *App) Tick(ctx context.Context, now time.Time) ([]Nudge, error) {
	now = now.UTC()
	fired := map[int64][]Nudge{}
	outbox := map[int64][]claim{}
	lost := map[int64][]Message{}
	archive, gates, topics := map[int64]bool{}, map[int64]bool{}, map[int64]bool{}
	paging := map[int64]pagingDue{}
	retry := map[int64]bool{}
	incs, err := a.deps.Store.Due(ctx, now, func(inc *Incident) ([]Event, error) {
		pd, pevs := inc.firePaging(now, a.pollEvery())
		if !pd.empty() {
			paging[inc.Number] = pd
		} else {
			delete(paging, inc.Number) // a retried transaction
		}
		outbox[inc.Number], lost[inc.Number] = inc.claimOutbox(now)
		// Without a channel no reminder fires; its creation is retried.
		pending, again := inc.fireChannelRetry(now)
		retry[inc.Number] = again
		if pending {
			return pevs, nil
		}
		archive[inc.Number] = inc.fireArchive(now)
		gates[inc.Number] = inc.fireGates(now)
		topics[inc.Number] = inc.fireTopic(now)
		ns := inc.Fire(a.deps.Tiers.Get(inc.Severity), now)
		fired[inc.Number] = ns
		evs := make([]Event, len(ns))
		for i, n := range ns {
			evs[i] = NewEvent(EventNudged, ActorKlaxon, now, string(n.Kind))
			evs[i].Payload = NudgePayload{Kind: n.Kind, Due: n.Due, Level: n.Level}
			outbox[inc.Number] = append(outbox[inc.Number], inc.queue(Message{Kind: MessageNudge, Nudge: &n}, now))
		}
		return append(evs, pevs...), nil
	})
	if err != nil {
		return nil, fmt.Errorf("tick at %s: %w", now.Format(time.RFC3339), err)
	}
	var all []Nudge
	var archives []Incident
	byNumber := map[int64]Incident{}
	for _, inc := range incs {
		byNumber[inc.Number] = inc
		all = append(all, fired[inc.Number]...)
		if archive[inc.Number] {
			archives = append(archives, inc)
		}
		a.giveUp(inc.Number, lost[inc.Number])
	}
	a.deliverAll(ctx, outbox)
	a.archiveDue(ctx, archives)
	a.retryChannels(ctx, retry)
	a.runPaging(ctx, byNumber, paging)
	for n, ok := range gates {
		if ok {
			if err := a.publishGates(ctx, n); err != nil {
				a.log().Warn("refreshing the gates message", "incident", n, "err", err)
			}
		}
	}
	for n, ok := range topics {
		if ok {
			a.publishTopic(ctx, byNumber[n])
		}
	}
	return all, nil
}

// topicRetry is how long a topic Slack refused (rate-limited, down) waits
// for another try.
const topicRetry = time.Minute

// fireTopic handles a due TopicDue inside the scheduler's transaction: it
// clears the deadline and says whether to set the topic now. A closed
// incident's topic is FinishClose's (before the archive), so it is left.
func (inc *Incident) fireTopic(now time.Time) bool {
	if inc.Timers.TopicDue.IsZero() || now.Before(inc.Timers.TopicDue) || inc.Status == StatusClosed {
		return false
	}
	inc.Timers.TopicDue = time.Time{}
	return inc.Channel.ID != ""
}

// publishTopic sets the channel's topic after a status change; a refusal
// is tried again a minute later.
func (a *App) publishTopic(ctx context.Context, inc Incident) {
	err := a.deps.Channels.SetTopic(ctx, a.Briefing(inc))
	if err == nil {
		return
	}
	a.log().Warn("setting the topic after a status change", "incident", inc.Number, "status", inc.Status, "err", err)
	if _, err := a.deps.Store.Update(ctx, inc.Number, func(i *Incident) ([]Event, error) {
		if i.Timers.TopicDue.IsZero() {
			i.Timers.TopicDue = a.deps.Clock.Now().UTC().Add(topicRetry)
		}
		return nil, nil
	}); err != nil {
		a.log().Error("rescheduling the topic", "incident", inc.Number, "err", err)
	}
}

// deliverAll delivers claimed outbox messages with a few workers, one
// incident each at a time, so one slow Slack call does not make every
// other reminder late. Failures are logged by deliver and stay in the
// outbox for their next attempt.
func (a *App) deliverAll(ctx context.Context, claimed map[int64][]claim) {
	type batch struct {
		n  int64
		cs []claim
	}
	work := make(chan batch)
	var wg sync.WaitGroup
	for range min(nudgeWorkers, len(claimed)) {
		wg.Go(func() {
			for b := range work {
				_ = a.deliver(ctx, b.n, b.cs)
			}
		})
	}
	for n, cs := range claimed {
		if len(cs) > 0 {
			work <- batch{n, cs}
		}
	}
	close(work)
	wg.Wait()
}

// RemindPostmortems reminds the commanders of resolved incidents whose
// post-mortem is pending, at most once per 20 hours each. A calendar job
// (daily, by default) calls it.
func (a *App) RemindPostmortems(ctx context.Context, now time.Time) ([]Nudge, error) {
	pending, err := a.deps.Store.List(ctx, func(i *Incident) bool {
		return !i.Timers.PostmortemDue.IsZero() && !i.Timers.PostmortemDone
	})
	if err != nil {
		return nil, err
	}
	var all []Nudge
	outbox := map[int64][]claim{}
	for _, p := range pending {
		var n Nudge
		var ok bool
		var msg claim
		_, err := a.deps.Store.Update(ctx, p.Number, func(i *Incident) ([]Event, error) {
			if n, ok = i.PostmortemReminder(now); !ok {
				return nil, nil
			}
			ev := NewEvent(EventNudged, ActorKlaxon, now, string(n.Kind))
			ev.Payload = NudgePayload{Kind: n.Kind, Due: n.Due}
			told := n
			msg = i.queue(Message{Kind: MessageNudge, Nudge: &told}, now)
			return []Event{ev}, nil
		})
		if err != nil {
			a.log().Error("recording a post-mortem reminder", "incident", p.Number, "err", err)
			continue
		}
		if ok {
			all = append(all, n)
			outbox[p.Number] = []claim{msg}
		}
	}
	a.deliverAll(ctx, outbox)
	return all, nil
}

// Wake tells a running scheduler that a deadline may have moved earlier.
func (a *App) Wake() {
	select {
	case a.wakeChan() <- struct{}{}:
	default:
	}
}

func (a *App) wakeChan() chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.wake == nil {
		a.wake = make(chan struct{}, 1)
	}
	return a.wake
}

// FirstTick returns a channel closed once RunScheduler has made its first
// pass over the due deadlines (what fell due while Klaxon was down).
func (a *App) FirstTick() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ticked == nil {
		a.ticked = make(chan struct{})
	}
	return a.ticked
}

func (a *App) closeTicked() {
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-a.ticked:
	default:
		close(a.ticked)
	}
}

// maxSchedulerSleep is a safety net: the scheduler re-reads the wake index
// at least this often even if nobody called Wake.
const maxSchedulerSleep = 30 * time.Second

// RunScheduler ticks whenever the earliest stored deadline comes (or Wake is
// called) until ctx ends. after is time.After in production; the deadlines
// themselves are read from the store, never kept in memory.
func (a *App) RunScheduler(ctx context.Context, after func(time.Duration) <-chan time.Time) error {
	wake := a.wakeChan()
	// Pokes from before the loop started are answered by its first tick.
	select {
	case <-wake:
	default:
	}
	ticked := a.FirstTick()
	for {
		d := maxSchedulerSleep
		if _, err := a.Tick(ctx, a.deps.Clock.Now()); err != nil && ctx.Err() == nil {
			// Back off: the same deadline would fail again at once.
			a.log().Error("scheduler tick failed", "err", err)
			d = time.Second
		}
		if ticked != nil {
			a.closeTicked()
			ticked = nil
		}
		if next, ok, err := a.deps.Store.NextWake(ctx); err != nil {
			a.log().Error("reading the next deadline", "err", err)
			d = time.Second
		} else if ok && d == maxSchedulerSleep {
			d = min(d, max(next.Sub(a.deps.Clock.Now()), 0))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-after(d):
		}
	}
}
