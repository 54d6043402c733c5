package playbook

import (
	"context"
	"errors"
	"time"
)

// Clock is the only source of "now" for use cases. Pure functions take now as
// a parameter instead.
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// Store persists incidents and their timelines. Every method is atomic: a
// mutation and the events it produces are committed together or not at all.
type Store interface {
	// Create allocates the next incident number and stores the incident that
	// build returns, with its first events, in one transaction that also
	// records key. If key was already recorded, Create returns the incident
	// it created then and created=false, so a redelivered envelope declares
	// nothing twice.
	Create(ctx context.Context, key string, build func(number int64) (Incident, []Event)) (inc Incident, created bool, err error)
	// Get returns incident n, or an error whose code is CodeNotFound.
	Get(ctx context.Context, n int64) (Incident, error)
	// ByChannel returns the incident whose channel ID is channelID.
	ByChannel(ctx context.Context, channelID string) (Incident, error)
	// Update applies fn to incident n and stores the result with the events
	// fn returns. If fn returns an error nothing is written.
	Update(ctx context.Context, n int64, fn func(*Incident) ([]Event, error)) (Incident, error)
	// Timeline returns incident n's events in the order they were recorded.
	Timeline(ctx context.Context, n int64) ([]Event, error)
	// List returns every incident for which keep returns true, by number.
	List(ctx context.Context, keep func(*Incident) bool) ([]Incident, error)
	// Apply is Update done once per key: if key was recorded before, it
	// returns the incident unchanged and applied=false. The key is recorded
	// in the same transaction as the change (a click or an envelope that
	// arrives twice changes nothing twice).
	Apply(ctx context.Context, n int64, key string, fn func(*Incident) ([]Event, error)) (inc Incident, applied bool, err error)
	// Due applies fn, in one transaction, to every incident whose WakeAt is
	// at or before now, and returns them as stored afterwards.
	Due(ctx context.Context, now time.Time, fn func(*Incident) ([]Event, error)) ([]Incident, error)
	// NextWake returns the earliest WakeAt of all incidents, if any.
	NextWake(ctx context.Context) (time.Time, bool, error)
	// PruneKeys forgets the idempotency keys recorded before before, and
	// says how many it forgot.
	PruneKeys(ctx context.Context, before time.Time) (int, error)
}

// ErrChannelGone marks a Slack refusal because the incident's channel was
// archived or deleted (by hand, outside Klaxon).
var ErrChannelGone = errors.New("the channel is archived or deleted")

// ErrNameTaken is returned by Channels.Create when the name is in use.
var ErrNameTaken = errors.New("channel name taken")

// Briefing is what an adapter needs to describe an incident to people.
type Briefing struct {
	Incident Incident
	Tier     Tier
	Service  Service // zero when the incident names no configured service
}

// Channels is the chat side of an incident's channel.
type Channels interface {
	Create(ctx context.Context, name string, private bool) (ChannelRef, error)
	// Find looks up a channel by exact name; an error with CodeNotFound
	// when there is none.
	Find(ctx context.Context, name string) (FoundChannel, error)
	SetTopic(ctx context.Context, b Briefing) error
	SetPurpose(ctx context.Context, b Briefing) error
	// Invite adds people to the channel; ids may include user groups, which
	// the adapter expands.
	Invite(ctx context.Context, channelID string, ids []string) error
	AddBookmark(ctx context.Context, channelID, title, link string) error
	Pin(ctx context.Context, m MessageRef) error
	// Rename renames a channel; ErrNameTaken when the name is in use.
	Rename(ctx context.Context, channelID, name string) error
}

// Parts names the triage messages to re-render; each edit is a chat.update
// against a rate limit, so only what changed is redone.
type Parts uint8

// The re-renderable messages.
const (
	PartIntro Parts = 1 << iota
	PartScope
	PartChecklist
	PartGates        // the verification gates
	PartAnnouncement // the declaration's announcement
)

// Has reports whether p includes q.
func (p Parts) Has(q Parts) bool { return p&q != 0 }

// Triage posts and refreshes the triage messages: the scope call, the
// checklist (edited in place), the intro (when the commander changes).
type Triage interface {
	PostScopeCall(ctx context.Context, b Briefing) (MessageRef, error)
	PostChecklist(ctx context.Context, b Briefing) (MessageRef, error)
	// Refresh re-renders the given messages from b.Incident, in place.
	Refresh(ctx context.Context, b Briefing, what Parts) error
	PostScopeSummary(ctx context.Context, b Briefing) error
	// AnnounceSeverityChange tells the announce channel, under the announcement.
	AnnounceSeverityChange(ctx context.Context, b Briefing, ch SeverityChange) error
	// PostSetupFailure says in the channel what failed (a NoticeSetupFailed),
	// with a retry button.
	PostSetupFailure(ctx context.Context, channelID string, n Notice) error
}

// Poster posts the messages people read.
type Poster interface {
	PostIntro(ctx context.Context, b Briefing) (MessageRef, error)
	Announce(ctx context.Context, b Briefing) (MessageRef, error)
	// Notice posts a short message in a channel, rendered from n.
	Notice(ctx context.Context, channelID string, n Notice) error
	// PostUpdate posts a status update in the incident channel and under
	// the announcement.
	PostUpdate(ctx context.Context, b Briefing, u StatusUpdate) error
	// Nudge posts a reminder in the incident channel.
	Nudge(ctx context.Context, b Briefing, n Nudge) error
	// ChannelFailed tells the declarer and the announce channel that the
	// incident has no channel because Slack refused to create it (err),
	// and what to do.
	ChannelFailed(ctx context.Context, b Briefing, err error) error
}
