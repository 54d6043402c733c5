package playbook_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/playbook/storetest"
	"github.com/klaxonhq/klaxon/templates"
)

// fakeClock is a Clock that only moves when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type createCall struct {
	Name    string
	Private bool
}

type inviteCall struct {
	Channel string
	IDs     []string
}

type bookmarkCall struct {
	Channel, Title, Link string
}

// fakeChannels records every call (attempts included) and succeeds unless a
// hook says otherwise. A created channel's ID is derived from its name, so
// two fakes never hand out the same ID for different channels.
type fakeChannels struct {
	// Hooks run before the fake acts; a non-nil error fails the call.
	// Set them before SetUp runs, not while it does.
	CreateHook   func(name string) error
	TopicHook    func(b playbook.Briefing) error
	PurposeHook  func(b playbook.Briefing) error
	InviteHook   func(channelID string, ids []string) error
	BookmarkHook func(channelID, title, link string) error
	PinHook      func(m playbook.MessageRef) error
	// FindHook answers Find; without it Find reports not found.
	FindHook func(name string) (playbook.FoundChannel, error)

	mu        sync.Mutex
	creates   []createCall
	topics    []playbook.Briefing
	purposes  []playbook.Briefing
	invites   []inviteCall
	bookmarks []bookmarkCall
	pins      []playbook.MessageRef
	finds     []string
	renames   []string
}

var _ playbook.Channels = (*fakeChannels)(nil)

func channelID(name string) string { return "C_" + name }

func (f *fakeChannels) Create(_ context.Context, name string, private bool) (playbook.ChannelRef, error) {
	f.mu.Lock()
	f.creates = append(f.creates, createCall{name, private})
	f.mu.Unlock()
	if f.CreateHook != nil {
		if err := f.CreateHook(name); err != nil {
			return playbook.ChannelRef{}, err
		}
	}
	return playbook.ChannelRef{ID: channelID(name), Name: name}, nil
}

func (f *fakeChannels) Find(_ context.Context, name string) (playbook.FoundChannel, error) {
	f.mu.Lock()
	f.finds = append(f.finds, name)
	f.mu.Unlock()
	if f.FindHook != nil {
		return f.FindHook(name)
	}
	return playbook.FoundChannel{}, playbook.ErrNotFound
}

func (f *fakeChannels) Rename(_ context.Context, channelID, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.renames = append(f.renames, name)
	return nil
}

func (f *fakeChannels) SetTopic(_ context.Context, b playbook.Briefing) error {
	f.mu.Lock()
	f.topics = append(f.topics, b)
	f.mu.Unlock()
	if f.TopicHook != nil {
		return f.TopicHook(b)
	}
	return nil
}

func (f *fakeChannels) SetPurpose(_ context.Context, b playbook.Briefing) error {
	f.mu.Lock()
	f.purposes = append(f.purposes, b)
	f.mu.Unlock()
	if f.PurposeHook != nil {
		return f.PurposeHook(b)
	}
	return nil
}

func (f *fakeChannels) Invite(_ context.Context, ch string, ids []string) error {
	f.mu.Lock()
	f.invites = append(f.invites, inviteCall{ch, slices.Clone(ids)})
	f.mu.Unlock()
	if f.InviteHook != nil {
		return f.InviteHook(ch, ids)
	}
	return nil
}

func (f *fakeChannels) AddBookmark(_ context.Context, ch, title, link string) error {
	f.mu.Lock()
	f.bookmarks = append(f.bookmarks, bookmarkCall{ch, title, link})
	f.mu.Unlock()
	if f.BookmarkHook != nil {
		return f.BookmarkHook(ch, title, link)
	}
	return nil
}

func (f *fakeChannels) Pin(_ context.Context, m playbook.MessageRef) error {
	f.mu.Lock()
	f.pins = append(f.pins, m)
	f.mu.Unlock()
	if f.PinHook != nil {
		return f.PinHook(m)
	}
	return nil
}

// counts says how many times each method was called.
func (f *fakeChannels) counts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return map[string]int{
		"Create": len(f.creates), "SetTopic": len(f.topics), "SetPurpose": len(f.purposes),
		"Invite": len(f.invites), "AddBookmark": len(f.bookmarks), "Pin": len(f.pins),
	}
}

func (f *fakeChannels) createdNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for _, c := range f.creates {
		names = append(names, c.Name)
	}
	return names
}

var noticeWords = templates.MustDefault()

type noticeCall struct {
	Channel, Text string
}

// fakePoster records every post and hands out distinct message refs.
type fakePoster struct {
	IntroHook    func(b playbook.Briefing) error
	AnnounceHook func(b playbook.Briefing) error
	NoticeHook   func(channelID, text string) error
	// NoticeCtxHook, when set, runs instead of NoticeHook, with the
	// call's context.
	NoticeCtxHook func(ctx context.Context, channelID, text string) error

	mu           sync.Mutex
	intros       []playbook.Briefing
	introRefs    []playbook.MessageRef // refs handed out for successful intros
	announces    []playbook.Briefing
	announceRefs []playbook.MessageRef
	notices      []noticeCall
	updates      []playbook.StatusUpdate
	nudges       []playbook.Nudge
	UpdateHook   func(playbook.StatusUpdate) error
	NudgeHook    func(playbook.Nudge) error
	// deliveries are the outbox deliveries that notices and nudges were
	// posted under (playbook.DeliveryOf).
	deliveries []playbook.Delivery
}

func (p *fakePoster) delivery(ctx context.Context) {
	if d, ok := playbook.DeliveryOf(ctx); ok {
		p.deliveries = append(p.deliveries, d)
	}
}

func (p *fakePoster) PostUpdate(_ context.Context, b playbook.Briefing, u playbook.StatusUpdate) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.updates = append(p.updates, u)
	if p.UpdateHook != nil {
		return p.UpdateHook(u)
	}
	return nil
}

func (p *fakePoster) Nudge(ctx context.Context, b playbook.Briefing, n playbook.Nudge) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nudges = append(p.nudges, n)
	p.delivery(ctx)
	if p.NudgeHook != nil {
		return p.NudgeHook(n)
	}
	return nil
}

func (p *fakePoster) sentNudges() []playbook.Nudge {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.nudges)
}

var _ playbook.Poster = (*fakePoster)(nil)

func (p *fakePoster) ChannelFailed(context.Context, playbook.Briefing, error) error { return nil }

// announceChannel is where announcements go (#incidents, say).
const announceChannel = "C_ANNOUNCE"

func (p *fakePoster) PostIntro(_ context.Context, b playbook.Briefing) (playbook.MessageRef, error) {
	p.mu.Lock()
	p.intros = append(p.intros, b)
	p.mu.Unlock()
	if p.IntroHook != nil {
		if err := p.IntroHook(b); err != nil {
			return playbook.MessageRef{}, err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ref := playbook.MessageRef{Channel: b.Incident.Channel.ID, TS: fmt.Sprintf("1772950000.%06d", len(p.intros))}
	p.introRefs = append(p.introRefs, ref)
	return ref, nil
}

func (p *fakePoster) Announce(_ context.Context, b playbook.Briefing) (playbook.MessageRef, error) {
	p.mu.Lock()
	p.announces = append(p.announces, b)
	p.mu.Unlock()
	if p.AnnounceHook != nil {
		if err := p.AnnounceHook(b); err != nil {
			return playbook.MessageRef{}, err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ref := playbook.MessageRef{Channel: announceChannel, TS: fmt.Sprintf("1772950100.%06d", len(p.announces))}
	p.announceRefs = append(p.announceRefs, ref)
	return ref, nil
}

// Notice records the notice as the default templates render it, so tests
// read what people would.
func (p *fakePoster) Notice(ctx context.Context, ch string, n playbook.Notice) error {
	text, err := noticeWords.RenderNotice(n)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.notices = append(p.notices, noticeCall{ch, text})
	p.delivery(ctx)
	p.mu.Unlock()
	if p.NoticeCtxHook != nil {
		return p.NoticeCtxHook(ctx, ch, text)
	}
	if p.NoticeHook != nil {
		return p.NoticeHook(ch, text)
	}
	return nil
}

func (p *fakePoster) counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return map[string]int{"PostIntro": len(p.intros), "Announce": len(p.announces), "Notice": len(p.notices)}
}

func (p *fakePoster) noticesCopy() []noticeCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.notices)
}

// harness is an App wired to fakes and an in-memory store.
type harness struct {
	app   *playbook.App
	store *storetest.Memory
	ch    *fakeChannels
	post  *fakePoster
	clock *fakeClock
	keys  int
}

const runbookURL = "https://runbooks.example.com/checkout"

func newHarness(t *testing.T) *harness {
	t.Helper()
	tiers := playbook.DefaultTiers()
	sev2 := tiers[playbook.SEV2]
	sev2.Stakeholders = []string{"S0SUPPORT", "U0VP"}
	tiers[playbook.SEV2] = sev2
	h := &harness{
		store: storetest.NewMemory(),
		ch:    &fakeChannels{},
		post:  &fakePoster{},
		// 30 s before New York springs forward; Now is never read in UTC here.
		clock: &fakeClock{now: time.Date(2026, 3, 8, 1, 59, 30, 0, mustLoad(t, "America/New_York"))},
	}
	h.app = playbook.New(playbook.Deps{
		Store:    h.store,
		Channels: h.ch,
		Poster:   h.post,
		Clock:    h.clock,
		Tiers:    tiers,
		// The issue bodies as the default templates write them.
		RenderTicket:     noticeWords.RenderTicket,
		RenderOwnerIssue: noticeWords.RenderOwnerIssue,
		Services: []playbook.Service{
			{Name: "checkout", Runbook: runbookURL, Stakeholders: []string{"U0PAYLEAD", "U0DECLARER", "S0SUPPORT"}},
			{Name: "search"}, // no runbook, nobody to loop in
		},
	})
	return h
}

// swapFakes replaces the Slack side with fresh, working fakes (a new process
// after Slack recovered, say).
func (h *harness) swapFakes() {
	h.ch = &fakeChannels{}
	h.post = &fakePoster{}
	h.app.Deps().Channels = h.ch
	h.app.Deps().Poster = h.post
}

func (h *harness) declare(t *testing.T, title string, sev playbook.Severity, service string) playbook.Incident {
	t.Helper()
	h.keys++
	inc, created, err := h.app.Declare(context.Background(), playbook.DeclareRequest{
		Key: fmt.Sprintf("Ev%04d", h.keys), Title: title, Severity: sev, Service: service,
		Declarer: "U0DECLARER", Origin: "C0GENERAL",
	})
	if err != nil || !created {
		t.Fatalf("Declare(%q) = created %v, %v", title, created, err)
	}
	return inc
}

func (h *harness) get(t *testing.T, n int64) playbook.Incident {
	t.Helper()
	inc, err := h.store.Get(context.Background(), n)
	if err != nil {
		t.Fatalf("Get(%d): %v", n, err)
	}
	return inc
}

func (h *harness) timeline(t *testing.T, n int64) []playbook.Event {
	t.Helper()
	evs, err := h.store.Timeline(context.Background(), n)
	if err != nil {
		t.Fatalf("Timeline(%d): %v", n, err)
	}
	return evs
}

func countEvents(evs []playbook.Event, typ playbook.EventType) int {
	n := 0
	for _, ev := range evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

func eventTypes(evs []playbook.Event) []playbook.EventType {
	var out []playbook.EventType
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

// recv waits for a value, failing the test rather than hanging the package
// if a step it waits for never happens. It is a watchdog, not a sleep: the
// test proceeds as soon as the value arrives.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}
