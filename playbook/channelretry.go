package playbook

import (
	"context"
	"time"
)

// MaxChannelAttempts is how many times Klaxon tries to create an incident's
// channel (each try already includes the Slack client's own retries) before
// it gives up and says why: a workspace that restricts channel creation
// answers restricted_action every time.
const MaxChannelAttempts = 5

// channelRetryFirst is the wait before the second attempt; each further
// wait doubles (30 s, 1 min, 2 min, 4 min).
const channelRetryFirst = 30 * time.Second

// channelPending reports whether the incident's channel could not be made
// so far: it has none and creating it failed.
func (inc *Incident) channelPending() bool {
	return inc.Channel.ID == "" && inc.Failures[StepChannel] > 0
}

// channelGaveUp reports whether Klaxon stopped trying to create the channel.
func (inc *Incident) channelGaveUp() bool {
	return inc.Channel.ID == "" && inc.Failures[StepChannel] >= MaxChannelAttempts
}

// stopReminders clears the deadlines that post in the incident's channel.
func (inc *Incident) stopReminders() {
	tm := &inc.Timers
	tm.UpdateDue, tm.NextNudge, tm.Nudges = time.Time{}, time.Time{}, 0
	tm.StatusPageDue, tm.ScopeDue, tm.ResolutionUpdateDue, tm.GatesRefresh = time.Time{}, time.Time{}, time.Time{}, time.Time{}
}

// channelFailed records a failed attempt to create incident inc's channel:
// the next attempt is a stored deadline (with backoff) that the scheduler
// fires; after MaxChannelAttempts Klaxon stops, the reminders stop (there
// is no channel to post them in), and the declarer and the announce channel
// are told why.
func (a *App) channelFailed(ctx context.Context, inc Incident, cerr error) Incident {
	now := a.deps.Clock.Now().UTC()
	gaveUp := false
	stored, err := a.deps.Store.Update(ctx, inc.Number, func(i *Incident) ([]Event, error) {
		if i.Failures == nil {
			i.Failures = map[Step]int{}
		}
		i.Failures[StepChannel]++
		k := i.Failures[StepChannel]
		ev := NewEvent(EventStepFailed, ActorKlaxon, now, "")
		ev.Payload = StepFailedPayload{Step: StepChannel, Attempt: k, Error: cerr.Error()}
		if k < MaxChannelAttempts {
			i.Timers.ChannelRetry = now.Add(channelRetryFirst << (k - 1))
			return []Event{ev}, nil
		}
		gaveUp = true
		i.Timers.ChannelRetry = time.Time{}
		i.stopReminders()
		return []Event{ev}, nil
	})
	if err != nil {
		a.log().Error("recording a failed channel creation", "incident", inc.Number, "err", err)
		return inc
	}
	a.Wake()
	if gaveUp {
		a.log().Warn("gave up creating an incident's channel", "incident", inc.Number, "attempts", MaxChannelAttempts, "err", cerr)
		if err := a.deps.Poster.ChannelFailed(ctx, a.Briefing(stored), cerr); err != nil {
			a.log().Error("telling why an incident has no channel", "incident", inc.Number, "err", err)
		}
	}
	return stored
}

// fireChannelRetry handles a channel-less incident inside the scheduler's
// transaction: no reminder fires (there is no channel), and a due retry is
// taken off the deadlines and reported, for the caller to run SetUp.
func (inc *Incident) fireChannelRetry(now time.Time) (pending, retry bool) {
	if !inc.channelPending() {
		return false, false
	}
	if t := inc.Timers.ChannelRetry; !t.IsZero() && !now.Before(t) {
		inc.Timers.ChannelRetry = time.Time{}
		return true, true
	}
	return true, false
}

// retryChannels runs SetUp again for the incidents whose channel retry came due.
func (a *App) retryChannels(ctx context.Context, due map[int64]bool) {
	for n, ok := range due {
		if !ok {
			continue
		}
		if _, err := a.SetUp(ctx, n); err != nil {
			a.log().Warn("retrying an incident's channel", "incident", n, "err", err)
		}
	}
}
