package playbook_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/playbook/storetest"
)

// heldStore holds the first write after hold is armed until release is
// closed, and notes whether anyone read an incident by its channel before
// that write was stored.
type heldStore struct {
	*storetest.Memory
	mu                   sync.Mutex
	armed, stored        bool
	held, release        chan struct{}
	readByChannelEarlier bool
}

func (s *heldStore) arm() {
	s.mu.Lock()
	s.armed = true
	s.mu.Unlock()
}

func (s *heldStore) Update(ctx context.Context, n int64, fn func(*playbook.Incident) ([]playbook.Event, error)) (playbook.Incident, error) {
	s.mu.Lock()
	hold := s.armed
	s.armed = false
	s.mu.Unlock()
	if hold {
		close(s.held)
		<-s.release
		defer func() {
			s.mu.Lock()
			s.stored = true
			s.mu.Unlock()
		}()
	}
	return s.Memory.Update(ctx, n, fn)
}

func (s *heldStore) ByChannel(ctx context.Context, channelID string) (playbook.Incident, error) {
	s.mu.Lock()
	if !s.stored {
		s.readByChannelEarlier = true
	}
	s.mu.Unlock()
	return s.Memory.ByChannel(ctx, channelID)
}

// The channel is recorded while the second round trip goes out: the calls
// that make the incident ready do not wait for that write, and yet nobody
// finds the channel unrecorded: a command typed in it (IncidentIn) waits
// for the record, and the steps' own records come after the channel's.
func TestSecondRoundGoesOutWhileTheChannelIsRecorded(t *testing.T) {
	h := newHarness(t)
	st := &heldStore{Memory: h.store, held: make(chan struct{}), release: make(chan struct{})}
	deps := *h.app.Deps()
	deps.Store = st
	app := playbook.New(deps)
	invited := make(chan string, 1)
	h.ch.CreateHook = func(string) error { st.arm(); return nil }
	h.ch.InviteHook = func(channelID string, _ []string) error { invited <- channelID; return nil }
	waiting := make(chan struct{}, 1)
	app.OnChannelRecordWait(func() {
		select {
		case waiting <- struct{}{}:
		default:
		}
	})

	inc, _, err := app.Declare(context.Background(), playbook.DeclareRequest{Key: "Ev1", Title: "Checkout returns 500s",
		Severity: playbook.SEV2, Service: "checkout", Declarer: "U0DECLARER", Origin: "C0GENERAL"})
	if err != nil {
		t.Fatal(err)
	}
	setUp := make(chan error, 1)
	go func() {
		_, err := app.SetUp(context.Background(), inc.Number)
		setUp <- err
	}()
	recv(t, st.held, "the channel's record")
	// The invite goes out while the record is held.
	ch := recv(t, invited, "the invite, while the channel's record is held")

	found := make(chan error, 1)
	go func() {
		got, err := app.IncidentIn(context.Background(), ch)
		if err == nil && got.Number != inc.Number {
			t.Errorf("IncidentIn(%s) = #%d, want #%d", ch, got.Number, inc.Number)
		}
		found <- err
	}()
	recv(t, waiting, "the lookup by channel waiting for the record")
	close(st.release)
	if err := recv(t, found, "the lookup by channel"); err != nil {
		t.Fatalf("a command typed in the new channel got %v, want its incident", err)
	}
	if err := recv(t, setUp, "SetUp"); err != nil {
		t.Fatal(err)
	}
	if st.readByChannelEarlier {
		t.Fatal("the channel was looked up in the store before its record was stored")
	}
	stored := h.get(t, inc.Number)
	if stored.Channel.ID != ch || !stored.Ready() {
		t.Fatalf("stored channel %q (want %q), ready %v", stored.Channel.ID, ch, stored.Ready())
	}
	var types []playbook.EventType
	for _, e := range h.timeline(t, inc.Number) {
		types = append(types, e.Type)
	}
	created := slices.Index(types, playbook.EventChannelCreated)
	if invitedAt := slices.Index(types, playbook.EventInvited); created < 0 || invitedAt < created {
		t.Fatalf("timeline %v: the invite's record precedes the channel's", types)
	}
}

// A list of incidents (the App Home's, /incident list's) waits for the
// channel records under way as a read by number or by channel does: while
// a new incident's channel is being recorded, the list shows it with its
// channel, never without (a private incident listed without its channel is
// decided without asking Slack who is in it).
func TestListWaitsForAChannelRecord(t *testing.T) {
	h := newHarness(t)
	st := &heldStore{Memory: h.store, held: make(chan struct{}), release: make(chan struct{})}
	deps := *h.app.Deps()
	deps.Store = st
	app := playbook.New(deps)
	invited := make(chan string, 1)
	h.ch.CreateHook = func(string) error { st.arm(); return nil }
	h.ch.InviteHook = func(channelID string, _ []string) error { invited <- channelID; return nil }
	waiting := make(chan struct{}, 1)
	app.OnChannelRecordWait(func() {
		select {
		case waiting <- struct{}{}:
		default:
		}
	})
	inc, _, err := app.Declare(context.Background(), playbook.DeclareRequest{Key: "Ev1", Title: "Checkout returns 500s",
		Severity: playbook.SEV2, Service: "checkout", Declarer: "U0DECLARER", Origin: "C0GENERAL"})
	if err != nil {
		t.Fatal(err)
	}
	setUp := make(chan error, 1)
	go func() {
		_, err := app.SetUp(context.Background(), inc.Number)
		setUp <- err
	}()
	recv(t, st.held, "the channel's record")
	ch := recv(t, invited, "the invite, while the channel's record is held")

	listed := make(chan []playbook.Incident, 1)
	go func() {
		open, err := app.OpenIncidentsFor(context.Background(), playbook.Viewer{User: "U0DECLARER"})
		if err != nil {
			t.Error(err)
		}
		listed <- open
	}()
	recv(t, waiting, "the list waiting for the record")
	close(st.release)
	open := recv(t, listed, "the list")
	if len(open) != 1 || open[0].Channel.ID != ch {
		t.Fatalf("listed %+v while the channel %s was being recorded; want #%d with its channel", open, ch, inc.Number)
	}
	if err := recv(t, setUp, "SetUp"); err != nil {
		t.Fatal(err)
	}
}

// figureStore reads the figures through its own scan (as the bbolt store
// does from its digest) and counts the scans.
type figureStore struct {
	*storetest.Memory
	scans int
}

func (s *figureStore) ScanFigures(ctx context.Context, fn func(*playbook.Incident, []playbook.Event) error) error {
	s.scans++
	return playbook.ScanIncidents(ctx, s.Memory, playbook.FigureEvents, fn)
}

// The App's wait for channel records wraps its store; the store's own
// scans stay in use behind it (without, the figures and the scheduler's
// digest would read 10,000 incidents one at a time).
func TestAppKeepsTheStoresOwnScans(t *testing.T) {
	h := newHarness(t)
	st := &figureStore{Memory: h.store}
	deps := *h.app.Deps()
	deps.Store = st
	app := playbook.New(deps)
	if _, err := app.Figures(context.Background(), playbook.FigureQuery{}); err != nil {
		t.Fatal(err)
	}
	if st.scans != 1 {
		t.Fatalf("the store's ScanFigures ran %d times, want 1", st.scans)
	}
}

// afterRecordStore holds the first write after the channel's record was
// stored, and notes what each write stored, in order.
type afterRecordStore struct {
	*heldStore
	mu     sync.Mutex
	stored []playbook.Incident
}

func (s *afterRecordStore) Update(ctx context.Context, n int64, fn func(*playbook.Incident) ([]playbook.Event, error)) (playbook.Incident, error) {
	inc, err := s.heldStore.Update(ctx, n, fn)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.stored = append(s.stored, inc)
		if inc.Done(playbook.StepChannel) && len(s.stored) > 0 && !slices.ContainsFunc(s.stored[:len(s.stored)-1], func(i playbook.Incident) bool { return i.Done(playbook.StepChannel) }) {
			s.arm()
		}
	}
	return inc, err
}

// The steps that finish while their write waits for its turn are stored
// by that write, not by one more after it: the side-by-side steps of a
// declaration that finish together cost one write.
func TestStepsThatFinishWhileTheirWriteWaitsAreStoredByIt(t *testing.T) {
	h := newHarness(t)
	held := &heldStore{Memory: h.store, held: make(chan struct{}), release: make(chan struct{})}
	st := &afterRecordStore{heldStore: held}
	deps := *h.app.Deps()
	deps.Store = st
	app := playbook.New(deps)
	// The checklist's step (no Triage here) finishes first and its write
	// is held; the others finish meanwhile.
	late := func() error { <-held.held; return nil }
	h.ch.InviteHook = func(string, []string) error { return late() }
	h.ch.BookmarkHook = func(string, string, string) error { return late() }
	h.post.AnnounceHook = func(playbook.Briefing) error { return late() }
	h.post.IntroHook = func(playbook.Briefing) error { return late() }
	queued := make(chan playbook.Step, 16)
	app.OnStepQueued(func(s playbook.Step) { queued <- s })

	inc, _, err := app.Declare(context.Background(), playbook.DeclareRequest{Key: "Ev1", Title: "Checkout returns 500s",
		Severity: playbook.SEV2, Service: "checkout", Declarer: "U0DECLARER", Origin: "C0GENERAL"})
	if err != nil {
		t.Fatal(err)
	}
	setUp := make(chan error, 1)
	go func() {
		_, err := app.SetUp(context.Background(), inc.Number)
		setUp <- err
	}()
	recv(t, held.held, "the first step's write")
	side := []playbook.Step{playbook.StepChecks, playbook.StepInvite, playbook.StepBookmark, playbook.StepAnnounce}
	for waiting := slices.Clone(side); len(waiting) > 0; {
		s := recv(t, queued, "the side-by-side steps, queued while the first one's write is held")
		waiting = slices.DeleteFunc(waiting, func(w playbook.Step) bool { return w == s })
	}
	close(held.release)
	if err := recv(t, setUp, "SetUp"); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, got := range st.stored {
		if !slices.ContainsFunc(side, got.Done) {
			continue
		}
		for _, s := range side {
			if !got.Done(s) {
				t.Fatalf("the first step write stored %v, not %s: the steps that finished while it waited took one more write", slices.DeleteFunc(slices.Clone(side), func(s playbook.Step) bool { return !got.Done(s) }), s)
			}
		}
		return
	}
	t.Fatal("no write stored the side-by-side steps")
}
