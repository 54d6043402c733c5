package playbook

import (
	"context"
	"slices"
	"time"
)

// The queries adapters need. They read through the App so that what a
// person may see is decided here, once (see Visibility), and so that no
// adapter holds the store.

// Now is the App's time (its Clock): adapters use it for what they show, so
// a fast demo clock or a test's fake clock reaches every screen.
func (a *App) Now() time.Time { return a.deps.Clock.Now() }

// Tier returns the configured tier of severity s.
func (a *App) Tier(s Severity) Tier { return a.deps.Tiers.Get(s) }

// Services returns the configured services, in configuration order.
func (a *App) Services() []Service { return slices.Clone(a.deps.Services) }

// IncidentIn returns the incident whose channel is channelID (a *Error with
// CodeNotFound when the channel is no incident's). Whoever types in a
// channel is in it, so no visibility check is needed.
func (a *App) IncidentIn(ctx context.Context, channelID string) (Incident, error) {
	return a.deps.Store.ByChannel(ctx, channelID)
}

// IncidentFor returns incident n as v may see it (MaySee, without asking
// Slack: this answers before an ack). A private incident v may not see is
// reported as not found, so its number reveals nothing.
func (a *App) IncidentFor(ctx context.Context, n int64, v Viewer) (Incident, error) {
	inc, err := a.deps.Store.Get(ctx, n)
	if err != nil {
		return Incident{}, err
	}
	if !MaySee(inc, v, MembershipUnknown) {
		return Incident{}, notFound(n)
	}
	return inc, nil
}

// OpenIncidentsFor returns the open incidents v may see, oldest first. It
// asks Members once about the private incidents whose sight depends on
// membership; without Members, or when Slack fails, MaySee decides on what
// it knows without Slack. It may call Slack: call it after the ack.
func (a *App) OpenIncidentsFor(ctx context.Context, v Viewer) ([]Incident, error) {
	open, err := a.deps.Store.List(ctx, func(i *Incident) bool { return i.Status.Open() })
	if err != nil {
		return nil, err
	}
	var ask []string
	for _, inc := range open {
		if askMembership(inc, v) {
			ask = append(ask, inc.Channel.ID)
		}
	}
	var in map[string]bool // nil: unknown
	if len(ask) > 0 && a.deps.Members != nil {
		if in, err = a.deps.Members.MemberOf(ctx, v.User, ask); err != nil {
			a.log().Warn("checking who may see a private incident", "user", v.User, "err", err)
			in = nil
		}
	}
	return slices.DeleteFunc(open, func(inc Incident) bool {
		m := MembershipUnknown
		if in != nil {
			m = NotMember
			if in[inc.Channel.ID] {
				m = Member
			}
		}
		return !MaySee(inc, v, m)
	}), nil
}

// Timeline returns incident n's timeline, oldest first.
func (a *App) Timeline(ctx context.Context, n int64) ([]Event, error) {
	return a.deps.Store.Timeline(ctx, n)
}

// DetectionOn reports whether the alert intake is on (alerts.token set and
// a store that keeps signals).
func (a *App) DetectionOn() bool { return a.deps.Signals != nil }
