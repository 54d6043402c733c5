package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// ReadyIncident declares one incident at the given time and sets it up
// through the domain (App.Declare then App.SetUp, against the memory store
// and a Slack that accepts everything), so it is ready by the domain's own
// definition, whatever steps Ready comes to require. Benchmarks copy it to
// fill a store with incidents that a restart has nothing to resume for.
func ReadyIncident(ctx context.Context, req playbook.DeclareRequest, tiers playbook.Tiers, services []playbook.Service, at time.Time) (playbook.Incident, error) {
	s := &acceptingSlack{}
	app := playbook.New(playbook.Deps{
		Store: NewMemory(), Channels: s, Poster: s, Triage: s,
		Clock: playbook.ClockFunc(func() time.Time { return at }), Tiers: tiers, Services: services,
	})
	inc, _, err := app.Declare(ctx, req)
	if err != nil {
		return playbook.Incident{}, err
	}
	res, err := app.SetUp(ctx, inc.Number)
	if err != nil {
		return playbook.Incident{}, err
	}
	if len(res.Failed) > 0 || !res.Incident.Ready() {
		return playbook.Incident{}, fmt.Errorf("storetest: the fixture incident is not ready: %v", res.Failed)
	}
	return res.Incident, nil
}

// acceptingSlack does every Slack step at once and successfully.
type acceptingSlack struct{ ts atomic.Int64 }

func (s *acceptingSlack) msg(channel string) playbook.MessageRef {
	return playbook.MessageRef{Channel: channel, TS: fmt.Sprintf("1700000000.%06d", s.ts.Add(1))}
}

func (s *acceptingSlack) Create(_ context.Context, name string, _ bool) (playbook.ChannelRef, error) {
	return playbook.ChannelRef{ID: "C" + name, Name: name}, nil
}
func (s *acceptingSlack) Find(context.Context, string) (playbook.FoundChannel, error) {
	return playbook.FoundChannel{}, playbook.ErrNotFound
}
func (s *acceptingSlack) SetTopic(context.Context, playbook.Briefing) error         { return nil }
func (s *acceptingSlack) SetPurpose(context.Context, playbook.Briefing) error       { return nil }
func (s *acceptingSlack) Invite(context.Context, string, []string) error            { return nil }
func (s *acceptingSlack) AddBookmark(context.Context, string, string, string) error { return nil }
func (s *acceptingSlack) Pin(context.Context, playbook.MessageRef) error            { return nil }
func (s *acceptingSlack) Rename(context.Context, string, string) error              { return nil }
func (s *acceptingSlack) PostIntro(_ context.Context, b playbook.Briefing) (playbook.MessageRef, error) {
	return s.msg(b.Incident.Channel.ID), nil
}
func (s *acceptingSlack) Announce(_ context.Context, b playbook.Briefing) (playbook.MessageRef, error) {
	return s.msg("CANNOUNCE"), nil
}
func (s *acceptingSlack) Notice(context.Context, string, playbook.Notice) error { return nil }
func (s *acceptingSlack) PostUpdate(context.Context, playbook.Briefing, playbook.StatusUpdate) error {
	return nil
}
func (s *acceptingSlack) Nudge(context.Context, playbook.Briefing, playbook.Nudge) error { return nil }
func (s *acceptingSlack) PostScopeCall(_ context.Context, b playbook.Briefing) (playbook.MessageRef, error) {
	return s.msg(b.Incident.Channel.ID), nil
}
func (s *acceptingSlack) PostChecklist(_ context.Context, b playbook.Briefing) (playbook.MessageRef, error) {
	return s.msg(b.Incident.Channel.ID), nil
}
func (s *acceptingSlack) Refresh(context.Context, playbook.Briefing, playbook.Parts) error {
	return nil
}
func (s *acceptingSlack) PostScopeSummary(context.Context, playbook.Briefing) error { return nil }
func (s *acceptingSlack) AnnounceSeverityChange(context.Context, playbook.Briefing, playbook.SeverityChange) error {
	return nil
}
func (s *acceptingSlack) PostSetupFailure(context.Context, string, playbook.Notice) error {
	return nil
}
func (s *acceptingSlack) ChannelFailed(context.Context, playbook.Briefing, error) error { return nil }
