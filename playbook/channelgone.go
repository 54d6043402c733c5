package playbook

import (
	"context"
	"fmt"
	"time"
)

// recipient is who gets by DM what an incident's archived channel cannot
// take: its commander, else its declarer.
func (inc Incident) recipient() string {
	if inc.Commander != "" {
		return inc.Commander
	}
	return inc.Declarer
}

// outlineTarget is where the post-mortem outline goes: the incident's
// channel, or, once the channel was archived without it (or when it never
// had one), the DM recorded then (opened now if need be).
func (a *App) outlineTarget(ctx context.Context, inc Incident) (string, error) {
	if inc.Closure.Archived.IsZero() && inc.Channel.ID != "" {
		return inc.Channel.ID, nil
	}
	if inc.Closure.DM != "" {
		return inc.Closure.DM, nil
	}
	dm, err := a.deps.Closing.DirectChannel(ctx, inc.recipient())
	if err != nil {
		return "", fmt.Errorf("opening the DM for the outline: %w", err)
	}
	return dm, nil
}

// channelGone records that incident inc's channel was archived (or deleted)
// by hand before its outline was in it: the archive step is done, reminders
// go by DM from now on, the outline goes to the DM, and the announce thread
// is told.
func (a *App) channelGone(ctx context.Context, inc Incident) (Incident, error) {
	to := inc.recipient()
	dm, derr := a.deps.Closing.DirectChannel(ctx, to)
	now := a.deps.Clock.Now().UTC()
	inc, err := a.deps.Store.Update(ctx, inc.Number, func(i *Incident) ([]Event, error) {
		if !i.Closure.Archived.IsZero() {
			return nil, nil
		}
		i.Closure.Archived, i.Closure.DM = now, dm
		i.Timers.ArchiveDue = time.Time{}
		ev := NewEvent(EventArchived, ActorKlaxon, now, "")
		ev.Payload = ArchivedPayload{ByHand: true, To: to}
		return []Event{ev}, nil
	})
	if err != nil {
		return inc, err
	}
	if derr != nil {
		a.log().Warn("opening the DM for an archived channel", "incident", inc.Number, "err", derr)
	}
	if err := a.deps.Closing.ChannelGone(ctx, a.Briefing(inc), to); err != nil {
		a.log().Warn("telling the announce thread about an archived channel", "incident", inc.Number, "err", err)
	}
	return inc, nil
}
