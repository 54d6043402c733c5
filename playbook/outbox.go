package playbook

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// The outbox. What the domain decides to tell Slack because of a change (a
// severity change's rename and announcements, the scope call's summary, a
// reminder) is stored as a pending Message in the incident, in the same
// store transaction as the change, so a crash between the change and the
// post loses nothing: the scheduler delivers what is still pending. Each
// message is delivered by one sender at a time: the transaction that stores
// (or retries) it also claims it until NextTry, and only after NextTry may
// another sender (the scheduler, on this replica or the leader) take it
// over. A delivered message leaves the outbox; a failed one is tried again
// with backoff, and one that still fails after OutboxAttempts is given up
// and reported. Slack may post a message and lose the answer (a 5xx, a cut
// connection): the adapter posts with the message's key in the Slack
// message's metadata, and a retry first looks for that key among the
// channel's latest messages (DeliveryOf), so such a post appears once.

// MessageKind says what a pending message is.
type MessageKind string

// The kinds of messages the outbox delivers.
const (
	// MessageSeverity is a severity change told in Slack: the channel
	// renamed, its topic, the new tier's stakeholders invited, the intro
	// refreshed, a line in the channel and one under the announcement.
	MessageSeverity MessageKind = "severity"
	// MessageScope is the scope call's summary and the checklist refreshed.
	MessageScope MessageKind = "scope"
	// MessageNudge is a reminder.
	MessageNudge MessageKind = "nudge"
	// MessageUpdate is a status update (the all-clear's final one too),
	// posted in the channel and under the announcement.
	MessageUpdate MessageKind = "update"
	// MessageCommander is a new commander shown: the topic and the intro
	// re-rendered, a line in the channel, the commander invited.
	MessageCommander MessageKind = "commander"
	// MessageRefresh re-renders triage messages (Parts: the checklist
	// after an item was checked, say) from the incident as stored then.
	MessageRefresh MessageKind = "refresh"
	// MessageUndelivered tells people that another message (Undelivered)
	// was given up after OutboxAttempts: in the incident's channel, or to
	// its commander by DM when the channel is gone. One that cannot be
	// told either is only logged.
	MessageUndelivered MessageKind = "undelivered"
)

// Message is something to tell Slack, stored until it is told.
type Message struct {
	// Key names the message, unique in the store: the adapter puts it in
	// the Slack message's metadata and looks for it before posting again.
	Key      string          `json:"key"`
	Kind     MessageKind     `json:"kind"`
	Severity *SeverityChange `json:"severity,omitempty"`
	Nudge    *Nudge          `json:"nudge,omitempty"`
	Update   *StatusUpdate   `json:"update,omitempty"`
	// Commander is MessageCommander's handover.
	Commander *CommanderPayload `json:"commander,omitempty"`
	// Parts is what MessageRefresh re-renders.
	Parts Parts `json:"parts,omitempty"`
	// Undelivered is the message MessageUndelivered tells about.
	Undelivered *Message `json:"undelivered,omitempty"`
	// Queued is when the change was recorded.
	Queued time.Time `json:"queued"`
	// Attempts counts the deliveries started; Tried is when the latest
	// started. Until NextTry that delivery owns the message; after it,
	// the next attempt may start.
	Attempts int       `json:"attempts"`
	Tried    time.Time `json:"tried"`
	NextTry  time.Time `json:"next_try"`
	// Err is why the last attempt failed.
	Err string `json:"err,omitempty"`
}

// Outbox is an incident's pending messages.
type Outbox struct {
	// Seq numbers the incident's messages, for their keys.
	Seq     int64     `json:"seq,omitempty"`
	Pending []Message `json:"pending,omitempty"`
}

// OutboxAttempts is how many deliveries of a message are started before
// it is given up (about 20 minutes of retries with outboxRetry).
const OutboxAttempts = 6

// outboxRetry is how long attempt number n owns its message: the backoff
// before the next attempt (10 s, 30 s, 90 s, ...). A delivery normally ends
// long before; one that does not is taken over by the next attempt, which
// looks for its posts before posting.
func outboxRetry(n int) time.Duration {
	d := 10 * time.Second
	for range max(n-1, 0) {
		d *= 3
	}
	return d
}

// queue stores m as pending and claims its first attempt for the caller,
// which delivers it right after the transaction (deliver).
func (inc *Incident) queue(m Message, now time.Time) claim {
	inc.Outbox.Seq++
	m.Key = fmt.Sprintf("klaxon-%d-%d", inc.Number, inc.Outbox.Seq)
	m.Queued, m.Tried, m.Attempts, m.NextTry = now, now, 1, now.Add(outboxRetry(1))
	// A new slice: copies of the incident must not share the change.
	inc.Outbox.Pending = append(slices.Clone(inc.Outbox.Pending), m)
	return claim{Message: m}
}

// claimOutbox, in the scheduler's transaction, claims the next attempt of
// every pending message whose NextTry has come (a crash, a failure, or a
// delivery that overran), and gives up those out of attempts (lost): each
// of these is replaced by a notice saying so (MessageUndelivered), claimed
// with the others.
func (inc *Incident) claimOutbox(now time.Time) (claimed []claim, lost []Message) {
	var keep []Message
	for _, m := range inc.Outbox.Pending {
		switch {
		case now.Before(m.NextTry):
		case m.Attempts >= OutboxAttempts:
			lost = append(lost, m)
			continue
		default:
			prev, until := m.Tried, m.NextTry
			m.Attempts++
			m.Tried, m.NextTry = now, now.Add(outboxRetry(m.Attempts))
			claimed = append(claimed, claim{Message: m, prev: prev, until: until})
		}
		keep = append(keep, m)
	}
	if claimed != nil || lost != nil {
		inc.Outbox.Pending = keep
	}
	return append(claimed, inc.queueUndelivered(lost, now)...), lost
}

// queueUndelivered queues, for each message given up, a notice saying what
// could not be told. A notice given up is not told about in turn.
func (inc *Incident) queueUndelivered(lost []Message, now time.Time) []claim {
	var cs []claim
	for _, m := range lost {
		if m.Kind == MessageUndelivered {
			continue
		}
		told := m
		cs = append(cs, inc.queue(Message{Kind: MessageUndelivered, Undelivered: &told}, now))
	}
	return cs
}

// renewClaim moves the NextTry of message key to next while attempt
// still owns it; false when it does not (delivered, given up, or taken
// over by a later attempt).
func (inc *Incident) renewClaim(key string, attempt int, next time.Time) bool {
	for i, m := range inc.Outbox.Pending {
		if m.Key != key {
			continue
		}
		if m.Attempts != attempt {
			return false
		}
		if next.After(m.NextTry) {
			pending := slices.Clone(inc.Outbox.Pending)
			pending[i].NextTry = next
			inc.Outbox.Pending = pending
		}
		return true
	}
	return false
}

// outboxWake is when the next pending message may be tried, or zero.
func (inc *Incident) outboxWake() time.Time {
	var w time.Time
	for _, m := range inc.Outbox.Pending {
		if w.IsZero() || m.NextTry.Before(w) {
			w = m.NextTry
		}
	}
	return w
}

// claim is a message claimed for its next attempt, with when its previous
// attempt started and when its claim ran out (zero for the first).
type claim struct {
	Message
	prev, until time.Time
}

// Delivery is what an adapter knows of the outbox message it is telling
// Slack, from the context of its calls.
type Delivery struct {
	// Key goes into the metadata of every message posted.
	Key string
	// Attempt is 1 for the first delivery. A later one first looks for a
	// message with Key posted between Since and Until, and posts only if
	// there is none.
	Attempt      int
	Since, Until time.Time
}

type deliveryKey struct{}

// DeliveryOf returns the outbox message ctx's calls deliver, if any.
func DeliveryOf(ctx context.Context) (Delivery, bool) {
	d, ok := ctx.Value(deliveryKey{}).(Delivery)
	return d, ok
}

// withDelivery marks ctx's calls as delivering c (attempt c.Attempts).
// The previous attempts' posts, if any, were made from when the first of
// them started until the previous one's claim ran out (renewed while it
// ran, holdClaim); an attempt given up while a claim was held looks from
// its own start.
func withDelivery(ctx context.Context, c claim) context.Context {
	d := Delivery{Key: c.Key, Attempt: c.Attempts}
	if c.Attempts > 1 {
		prev, until := c.prev, c.until
		if prev.IsZero() {
			prev = c.Queued
		}
		if until.IsZero() {
			until = prev.Add(outboxRetry(c.Attempts - 1))
		}
		d.Since, d.Until = prev, until
	}
	return context.WithValue(ctx, deliveryKey{}, d)
}

// outboxState is the messages this process is delivering now: a delivery
// that overran its claim is not started twice by one process.
type outboxState struct {
	mu      sync.Mutex
	sending map[string]bool
}

func (s *outboxState) start(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sending[key] {
		return false
	}
	if s.sending == nil {
		s.sending = map[string]bool{}
	}
	s.sending[key] = true
	return true
}

func (s *outboxState) end(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sending, key)
}

// deliver tells Slack the messages of incident n claimed by the caller,
// holding each claim while its delivery runs (holdClaim), then records the
// outcome in one transaction: a delivered message leaves the outbox; a
// failed one stays for its next attempt (NextTry, set by the claim), or is
// given up when out of attempts, and a notice of it queued in its place
// and delivered at once. It returns the failures.
func (a *App) deliver(ctx context.Context, n int64, cs []claim) error {
	done := map[string]bool{}
	failed := map[string]error{}
	attempt := map[string]int{}
	for _, c := range cs {
		if !a.outbox.start(c.Key) {
			continue // this process is still delivering it
		}
		attempt[c.Key] = c.Attempts
		dctx, release := a.holdClaim(ctx, n, c)
		err := a.send(withDelivery(dctx, c), n, c.Message)
		release()
		a.outbox.end(c.Key)
		if err != nil {
			a.log().Warn("telling Slack", "incident", n, "message", c.Key, "kind", c.Kind, "attempt", c.Attempts, "err", err)
			failed[c.Key] = err
		} else {
			done[c.Key] = true
		}
	}
	if len(done)+len(failed) == 0 {
		return nil
	}
	var lost []Message
	var notices []claim
	if _, err := a.deps.Store.Update(ctx, n, func(inc *Incident) ([]Event, error) {
		lost = lost[:0]
		var keep []Message
		for _, m := range inc.Outbox.Pending {
			if done[m.Key] {
				continue
			}
			// A failure is this attempt's to record, unless a later
			// attempt took the message over meanwhile (holdClaim).
			if err, ok := failed[m.Key]; ok && m.Attempts == attempt[m.Key] {
				m.Err = err.Error()
				if m.Attempts >= OutboxAttempts {
					lost = append(lost, m)
					continue
				}
			}
			keep = append(keep, m)
		}
		inc.Outbox.Pending = keep
		notices = inc.queueUndelivered(lost, a.deps.Clock.Now().UTC())
		return nil, nil
	}); err != nil {
		// Still pending: the next attempt looks for what this one posted.
		a.log().Error("recording what was told in Slack", "incident", n, "err", err)
	} else {
		for _, c := range cs {
			if done[c.Key] {
				a.log().Debug("told Slack", "incident", n, "message", c.Key, "kind", c.Kind, "attempt", c.Attempts)
			}
		}
	}
	a.giveUp(n, lost)
	if len(notices) > 0 {
		_ = a.deliver(ctx, n, notices) // its failures are logged and retried
	}
	errs := make([]error, 0, len(failed))
	for _, c := range cs {
		if err, ok := failed[c.Key]; ok {
			errs = append(errs, err)
		}
	}
	if len(errs) == 1 {
		return errs[0] // as it is, for the adapters reading its reason
	}
	return errors.Join(errs...)
}

// holdClaim keeps c's claim while its delivery runs: every half claim
// (outboxRetry) its NextTry moves to a whole claim from then, so a slow
// delivery (Slack rate-limiting it, say) is not started a second time by
// another sender meanwhile. When the claim turns out to be lost (another
// sender took the message over: this process was stalled longer than a
// claim), the returned context is cancelled, so this delivery makes no
// more calls. release ends the holding and waits for it.
func (a *App) holdClaim(ctx context.Context, n int64, c claim) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		claimFor := outboxRetry(c.Attempts)
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-a.after(claimFor / 2):
			}
			next := a.deps.Clock.Now().UTC().Add(claimFor)
			ours := true
			if _, err := a.deps.Store.Update(context.WithoutCancel(ctx), n, func(inc *Incident) ([]Event, error) {
				ours = inc.renewClaim(c.Key, c.Attempts, next)
				return nil, nil
			}); err != nil {
				// Tried again at the next half claim; the claim holds
				// until its NextTry meanwhile.
				a.log().Warn("renewing the claim of a slow delivery", "incident", n, "message", c.Key, "err", err)
				continue
			}
			if !ours {
				a.log().Warn("a slow delivery lost its claim; another attempt has it", "incident", n, "message", c.Key, "attempt", c.Attempts)
				cancel()
				return
			}
		}
	})
	return ctx, func() {
		close(stop)
		wg.Wait()
		cancel()
	}
}

// after is Deps.After, or time.After.
func (a *App) after(d time.Duration) <-chan time.Time {
	if a.deps.After != nil {
		return a.deps.After(d)
	}
	return time.After(d)
}

// giveUp logs the messages that could not be delivered in OutboxAttempts
// attempts; each is told about in Slack by a MessageUndelivered queued in
// its place.
func (a *App) giveUp(n int64, lost []Message) {
	for _, m := range lost {
		a.log().Error("giving up telling Slack", "incident", n, "message", m.Key, "kind", m.Kind, "attempts", m.Attempts, "queued", m.Queued, "err", m.Err)
	}
}

// send makes the Slack calls of one message, for the incident as stored
// now (a later change is shown as it is, never undone).
func (a *App) send(ctx context.Context, n int64, m Message) error {
	inc, err := a.deps.Store.Get(ctx, n)
	if err != nil {
		return err
	}
	switch {
	case m.Kind == MessageSeverity && m.Severity != nil:
		return a.PublishSeverityChange(ctx, inc, *m.Severity)
	case m.Kind == MessageScope:
		return a.PublishScope(ctx, inc)
	case m.Kind == MessageNudge && m.Nudge != nil:
		return a.deps.Poster.Nudge(ctx, a.Briefing(inc), *m.Nudge)
	case m.Kind == MessageUpdate && m.Update != nil:
		return a.PublishUpdate(ctx, inc, *m.Update)
	case m.Kind == MessageCommander && m.Commander != nil:
		return a.publishCommander(ctx, inc, *m.Commander)
	case m.Kind == MessageRefresh:
		return a.refresh(ctx, n, m.Parts)
	case m.Kind == MessageUndelivered && m.Undelivered != nil:
		return a.tellUndelivered(ctx, inc, *m.Undelivered)
	}
	return fmt.Errorf("a message of kind %q that this version cannot send", m.Kind)
}

// tellUndelivered posts the notice of a message given up: in the
// incident's channel, or, when the channel is gone (archived, never made,
// or Slack says so), to its commander (else its declarer) by DM.
func (a *App) tellUndelivered(ctx context.Context, inc Incident, lost Message) error {
	lost.Undelivered = nil
	notice := Notice{Kind: NoticeUndelivered, Incident: inc.Number, Undelivered: &lost, Cause: lost.Err}
	gone := inc.Channel.ID == "" || (inc.Closure != nil && !inc.Closure.Archived.IsZero())
	if !gone {
		err := a.deps.Poster.Notice(ctx, inc.Channel.ID, notice)
		if !errors.Is(err, ErrChannelGone) {
			return err
		}
	}
	dm := ""
	if inc.Closure != nil {
		dm = inc.Closure.DM
	}
	if dm == "" {
		if a.deps.Closing == nil {
			return fmt.Errorf("incident #%d has no channel to tell of an undelivered message, and no DM", inc.Number)
		}
		var err error
		if dm, err = a.deps.Closing.DirectChannel(ctx, inc.recipient()); err != nil {
			return fmt.Errorf("opening the DM for an undelivered message: %w", err)
		}
	}
	return a.deps.Poster.Notice(ctx, dm, notice)
}
