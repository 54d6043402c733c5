package playbook

import (
	"context"
	"errors"
	"sync"
)

// The Publish methods carry out in Slack what a recorded triage change
// means. Adapters call them after acknowledging the person, so a slow or
// failing Slack never delays the answer; their errors are for logs and
// notices, the change itself is already stored.

// parallel runs fns at once and joins their errors.
func parallel(fns ...func() error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(fns))
	for i, fn := range fns {
		wg.Go(func() { errs[i] = fn() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// refresh re-renders the intro, scope call and checklist of incident n.
// Refreshes of one incident run one at a time, each from the incident as
// stored when it starts, so two clicks racing cannot leave the older
// rendering on screen.
func (a *App) refresh(ctx context.Context, n int64, what Parts) error {
	if a.deps.Triage == nil {
		return nil
	}
	mu := a.lockOf(&a.refreshing, n)
	mu.Lock()
	defer mu.Unlock()
	inc, err := a.deps.Store.Get(ctx, n)
	if err != nil {
		return err
	}
	return a.deps.Triage.Refresh(ctx, a.Briefing(inc), what)
}

// lockOf returns incident n's lock in locks, made on first use.
func (a *App) lockOf(locks *map[int64]*sync.Mutex, n int64) *sync.Mutex {
	a.mu.Lock()
	defer a.mu.Unlock()
	if *locks == nil {
		*locks = map[int64]*sync.Mutex{}
	}
	mu, ok := (*locks)[n]
	if !ok {
		mu = &sync.Mutex{}
		(*locks)[n] = mu
	}
	return mu
}

// publishCommander shows a handover (MessageCommander): the topic and the
// intro as the incident stands, a line in the channel, and the new
// commander invited.
func (a *App) publishCommander(ctx context.Context, inc Incident, c CommanderPayload) error {
	b := a.Briefing(inc)
	notice := Notice{Kind: NoticeCommander, Incident: inc.Number, User: c.To, Previous: c.From}
	return parallel(
		func() error { return a.deps.Channels.SetTopic(ctx, b) },
		func() error { return a.refresh(ctx, inc.Number, PartIntro) },
		func() error { return a.deps.Poster.Notice(ctx, inc.Channel.ID, notice) },
		// A commander named with "/incident ic @someone" may not be in the
		// channel yet.
		func() error { return a.deps.Channels.Invite(ctx, inc.Channel.ID, []string{c.To}) },
	)
}

// PublishScope posts the scope call's summary and refreshes the checklist.
func (a *App) PublishScope(ctx context.Context, inc Incident) error {
	if a.deps.Triage == nil {
		return nil
	}
	b := a.Briefing(inc)
	return parallel(
		func() error { return a.deps.Triage.PostScopeSummary(ctx, b) },
		func() error { return a.refresh(ctx, inc.Number, PartScope|PartChecklist) },
	)
}

// PublishSeverityChange renames the channel so its name never lies, then
// updates the topic, invites the new tier's stakeholders, refreshes the
// intro and checklist, and tells the channel and the announce channel.
func (a *App) PublishSeverityChange(ctx context.Context, inc Incident, ch SeverityChange) error {
	// Renames of one incident run one at a time, each for the severity
	// stored when it starts: two quick changes end with the right name.
	mu := a.lockOf(&a.renaming, inc.Number)
	mu.Lock()
	if cur, err := a.deps.Store.Get(ctx, inc.Number); err == nil {
		inc = cur
	}
	var renameErr error
	for attempt := 1; attempt <= maxNameAttempts; attempt++ {
		name := ChannelName(inc.Number, inc.Severity, inc.Title, attempt)
		if name == inc.Channel.Name {
			break
		}
		renameErr = a.deps.Channels.Rename(ctx, inc.Channel.ID, name)
		if errors.Is(renameErr, ErrNameTaken) {
			continue
		}
		if renameErr == nil {
			stored, err := a.deps.Store.Update(ctx, inc.Number, func(i *Incident) ([]Event, error) {
				i.Channel.Name = name
				return nil, nil
			})
			if err != nil {
				a.log().Error("recording the channel's new name", "incident", inc.Number, "name", name, "err", err)
			} else {
				inc = stored
			}
		}
		break
	}
	mu.Unlock()
	b := a.Briefing(inc)
	notice := Notice{Kind: NoticeSeverity, Incident: inc.Number, User: ch.By, Change: ch, Tier: b.Tier}
	err := parallel(
		func() error { return a.deps.Channels.SetTopic(ctx, b) },
		func() error { return a.deps.Channels.Invite(ctx, inc.Channel.ID, b.Tier.Stakeholders) },
		func() error { return a.refresh(ctx, inc.Number, PartIntro) },
		func() error { return a.deps.Poster.Notice(ctx, inc.Channel.ID, notice) },
		func() error {
			if a.deps.Triage == nil {
				return nil
			}
			return a.deps.Triage.AnnounceSeverityChange(ctx, b, ch)
		},
	)
	return errors.Join(renameErr, err)
}
