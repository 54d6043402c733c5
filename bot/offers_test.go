package bot_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/internal/pgtest"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/store"
	"github.com/klaxonhq/klaxon/store/postgres"
	"github.com/klaxonhq/klaxon/templates"
)

const triage = "C0TRIAGE"

// detectionStore is a store that keeps alert signals too.
type detectionStore interface {
	closingStore
	playbook.SignalStore
}

// detectionApp wires alert detection as cmd/klaxon does: the store keeps
// the signals, offers go through the Slack adapter (its own client, as a
// replica has) to the triage channel. Its clock is time.Now unless one is
// given.
func detectionApp(t *testing.T, f *fakeslack.Server, db detectionStore, shared bool, clocks ...playbook.Clock) *playbook.App {
	t.Helper()
	api := bot.NewPacedClient(fakeslack.DefaultBotToken, fakeslack.DefaultAppToken, f.URL(), bot.Pace{Clock: paceClock(f)})
	var clock playbook.Clock = playbook.ClockFunc(time.Now)
	if len(clocks) > 0 {
		clock = clocks[0]
	}
	ad := &bot.Adapter{API: api, Templates: templates.MustDefault(), BotUserID: fakeslack.BotUserID, AnnounceChannel: announce, Clock: clock}
	app := playbook.New(playbook.Deps{Store: db, Channels: ad, Poster: ad, Triage: ad, Directory: ad, Clock: clock, Tiers: tiers(), Services: services,
		Signals: db, Offers: ad, Detection: playbook.Detection{TriageChannel: triage, SharedStore: shared}})
	t.Cleanup(app.WaitDetection)
	return app
}

// alert is a firing alert of service of the given kind.
func alert(service, name, kind string, start time.Time) playbook.Alert {
	return playbook.Alert{Source: "alertmanager", Labels: map[string]string{"alertname": name, "service": service, "kind": kind},
		StartsAt: start, Fingerprint: fmt.Sprintf("%x", name)}
}

func ingest(t *testing.T, app *playbook.App, alerts ...playbook.Alert) {
	t.Helper()
	if _, err := app.IngestAlerts(context.Background(), alerts); err != nil {
		t.Fatal(err)
	}
}

// offers returns the bot's messages in the triage channel.
func offers(f *fakeslack.Server) []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range f.Messages(triage) {
		if m.User == fakeslack.BotUserID {
			out = append(out, m)
		}
	}
	return out
}

func boltStore(t *testing.T) *store.DB {
	db, err := store.Open(filepath.Join(t.TempDir(), "klaxon.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestOfferWhoseAnswerWasLost: Slack posts the offer but its answer is lost
// (a 5xx, or an ok:false Slack documents as possibly applied). Klaxon does
// not retry blindly (slack-go would post it twice): it finds the offer by
// the key in its metadata (conversations.history with
// include_all_metadata), records it, and edits it in place later. A post
// that failed for real is posted again once.
func TestOfferWhoseAnswerWasLost(t *testing.T) {
	t.Parallel()
	for name, fault := range map[string]fakeslack.Fault{
		"500 after posting":            {Status: 500, Applied: true},
		"internal_error after posting": {Error: "internal_error", Applied: true},
		"503 before posting":           {Status: 503},
	} {
		t.Run(name, func(t *testing.T) {
			var armed atomic.Bool
			f := newFake(t, fakeslack.Options{Fault: func(method string, n int) *fakeslack.Fault {
				if method == "chat.postMessage" && armed.CompareAndSwap(true, false) {
					return &fault
				}
				return nil
			}})
			f.AddChannel(triage, "triage", fakeslack.BotUserID)
			app := detectionApp(t, f, boltStore(t), false)
			now := time.Now().UTC()
			armed.Store(true)
			ingest(t, app, alert("checkout", "CheckoutErrors", "error_rate", now.Add(-3*time.Minute)), alert("checkout", "CheckoutLatency", "latency", now.Add(-2*time.Minute)))
			app.WaitDetection()
			got := offers(f)
			if len(got) != 1 {
				t.Fatalf("%d offers in the triage channel, want 1", len(got))
			}
			if !strings.Contains(string(got[0].Metadata), `"event_type":"klaxon_offer"`) {
				t.Errorf("offer metadata = %s", got[0].Metadata)
			}
			gs, err := app.RecentSignals(context.Background(), 1)
			if err != nil || len(gs) != 1 || gs[0].Offer.TS != got[0].TS || gs[0].OfferPending() {
				t.Fatalf("group = %+v, %v; want the offer %s recorded", gs, err, got[0].TS)
			}
			if fault.Applied && len(f.CallsTo("conversations.history")) == 0 {
				t.Error("the lost post was not looked for")
			}
			// Later alerts edit that offer, never a second one.
			ingest(t, app, alert("checkout", "CheckoutSaturation", "saturation", now.Add(-time.Minute)))
			app.WaitDetection()
			if got := offers(f); len(got) != 1 || !got[0].Edited || !strings.Contains(string(got[0].Blocks), "3 firing of 3") {
				t.Fatalf("after a third alert: %d offers, want the one edited to show 3 firing", len(got))
			}
		})
	}
}

// severed is a store whose process has died: from cut on, nothing it
// would write reaches the store.
type severed struct {
	detectionStore
	cut atomic.Bool
}

var errKilled = errors.New("the process was killed")

func (s *severed) UpdateGroup(ctx context.Context, id int64, fn func(*playbook.SignalGroup) error) (playbook.SignalGroup, error) {
	if s.cut.Load() {
		return playbook.SignalGroup{}, errKilled
	}
	return s.detectionStore.UpdateGroup(ctx, id, fn)
}

func (s *severed) UpdateService(ctx context.Context, svc string, fn func(*playbook.ServiceSignals) error) (playbook.ServiceSignals, error) {
	if s.cut.Load() {
		return playbook.ServiceSignals{}, errKilled
	}
	return s.detectionStore.UpdateService(ctx, svc, fn)
}

// TestPendingOfferIsFoundAfterRestart: a process dies between posting the
// offer and recording it (the post lands in the channel; nothing after it
// reaches the store). The next process finds the post by its metadata,
// records it and edits it, instead of posting a second offer. With a shared
// store (replicas), a live replica leaves the dead one's hold alone until
// its lease has run out, then takes it over.
func TestPendingOfferIsFoundAfterRestart(t *testing.T) {
	t.Parallel()
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			hold, arrived := make(chan struct{}), make(chan struct{}, 1)
			var armed atomic.Bool
			armed.Store(true)
			f := newFake(t, fakeslack.Options{Fault: func(method string, n int) *fakeslack.Fault {
				if method == "chat.postMessage" && armed.CompareAndSwap(true, false) {
					arrived <- struct{}{}
					return &fakeslack.Fault{Until: hold, Status: 504, Applied: true}
				}
				return nil
			}})
			f.AddChannel(triage, "triage", fakeslack.BotUserID)
			db := boltStore(t)
			dying := &severed{detectionStore: db}
			first := detectionApp(t, f, dying, shared)
			now := time.Now().UTC()
			ingest(t, first, alert("checkout", "CheckoutErrors", "error_rate", now.Add(-3*time.Minute)), alert("checkout", "CheckoutLatency", "latency", now.Add(-2*time.Minute)))
			<-arrived
			dying.cut.Store(true)
			close(hold)
			first.WaitDetection()
			if got := offers(f); len(got) != 1 {
				t.Fatalf("%d offers posted by the dying process, want 1", len(got))
			}
			pending := func(app *playbook.App) playbook.SignalGroup {
				gs, err := app.RecentSignals(context.Background(), 1)
				if err != nil || len(gs) != 1 {
					t.Fatal(gs, err)
				}
				return gs[0]
			}
			if g := pending(first); !g.OfferPending() || g.Assessor == "" {
				t.Fatalf("group after the death: %+v, want a pending offer held by the dead process", g)
			}
			var later atomic.Bool // the next process's clock, moved past the dead one's lease
			next := detectionApp(t, f, db, shared, playbook.ClockFunc(func() time.Time {
				if later.Load() {
					return time.Now().Add(4 * time.Minute)
				}
				return time.Now()
			}))
			if shared {
				// A live replica before the dead one's lease ran out.
				looks := len(f.CallsTo("conversations.history"))
				if err := next.ResumeDetection(context.Background()); err != nil {
					t.Fatal(err)
				}
				next.WaitDetection()
				if g := pending(next); !g.OfferPending() || len(f.CallsTo("conversations.history")) != looks {
					t.Fatalf("the hold was taken before its lease ran out: %+v", g)
				}
				later.Store(true)
			}
			if err := next.ResumeDetection(context.Background()); err != nil {
				t.Fatal(err)
			}
			next.WaitDetection()
			got := offers(f)
			if len(got) != 1 || !got[0].Edited {
				t.Fatalf("%d offers after the restart, want the one, edited", len(got))
			}
			if g := pending(next); g.Offer.TS != got[0].TS || g.Assessor != "" {
				t.Fatalf("group %+v, want offer %s recorded and no holder", g, got[0].TS)
			}
		})
	}
}

// TestOneOfferAcrossReplicas runs two replicas (two Apps, two pools, two
// Slack clients) on one PostgreSQL database. While replica A's offer post
// is in flight, replica B takes more alerts of the same group: B's
// assessment finds the group held by A and leaves it; A, ending its pass,
// sees the change and edits its offer. Then both take a storm of one
// service's alerts at once: one offer.
func TestOneOfferAcrossReplicas(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	open := func() *postgres.DB {
		db, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	hold, arrived := make(chan struct{}), make(chan struct{}, 1)
	var armed atomic.Bool
	armed.Store(true)
	f := newFake(t, fakeslack.Options{Fault: func(method string, n int) *fakeslack.Fault {
		if method == "chat.postMessage" && armed.CompareAndSwap(true, false) {
			arrived <- struct{}{}
			return &fakeslack.Fault{Until: hold}
		}
		return nil
	}})
	f.AddChannel(triage, "triage", fakeslack.BotUserID)
	a, b := detectionApp(t, f, open(), true), detectionApp(t, f, open(), true)
	now := time.Now().UTC()
	ingest(t, a, alert("checkout", "CheckoutErrors", "error_rate", now.Add(-3*time.Minute)), alert("checkout", "CheckoutLatency", "latency", now.Add(-2*time.Minute)))
	<-arrived
	ingest(t, b, alert("checkout", "CheckoutSaturation", "saturation", now.Add(-time.Minute)))
	b.WaitDetection()
	if n := len(f.CallsTo("chat.postMessage")); n != 0 {
		t.Fatalf("replica B posted while A held the group (%d posts)", n)
	}
	close(hold)
	a.WaitDetection()
	got := offers(f)
	if len(got) != 1 || !strings.Contains(string(got[0].Blocks), "3 firing of 3") {
		t.Fatalf("%d offers; want one showing B's alert too", len(got))
	}

	// A storm on both replicas at once.
	var wg sync.WaitGroup
	for r, app := range []*playbook.App{a, b} {
		wg.Go(func() {
			for i := range 20 {
				kind := []string{"error_rate", "latency"}[i%2]
				ingest(t, app, alert("search", fmt.Sprintf("Search%d-%d", r, i), kind, now.Add(-time.Duration(i)*time.Second)))
			}
		})
	}
	wg.Wait()
	a.WaitDetection()
	b.WaitDetection()
	var search []fakeslack.Message
	for _, m := range offers(f) {
		if strings.Contains(m.Text, "search") {
			search = append(search, m)
		}
	}
	if len(search) != 1 {
		t.Fatalf("%d offers for the storm on two replicas, want 1", len(search))
	}
	// Whichever replica ended last saw every alert.
	gs, err := a.RecentSignals(context.Background(), 1)
	if err != nil || gs[0].Service != "search" || len(gs[0].Signals) != 40 || gs[0].Assessed != gs[0].Version || gs[0].Assessor != "" {
		t.Fatalf("storm group = %+v, %v: want 40 signals, all assessed, no holder left", gs, err)
	}
	if !strings.Contains(string(search[0].Blocks), "40 firing of 40") {
		t.Errorf("the offer does not show the last assessment: %s", search[0].Blocks)
	}
}

// TestFailedOfferIsPostedByTheSweep: Slack refuses every attempt at the
// offer (503, nothing posted); the group keeps its pending offer, and the
// leader's next look at groups left half done (ResumeDetection, every
// minute) posts it once Slack is back.
func TestFailedOfferIsPostedByTheSweep(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	down.Store(true)
	f := newFake(t, fakeslack.Options{Fault: func(method string, n int) *fakeslack.Fault {
		if method == "chat.postMessage" && down.Load() {
			return &fakeslack.Fault{Status: 503}
		}
		return nil
	}})
	f.AddChannel(triage, "triage", fakeslack.BotUserID)
	app := detectionApp(t, f, boltStore(t), false)
	now := time.Now().UTC()
	ingest(t, app, alert("checkout", "CheckoutErrors", "error_rate", now.Add(-3*time.Minute)), alert("checkout", "CheckoutLatency", "latency", now.Add(-2*time.Minute)))
	app.WaitDetection()
	gs, _ := app.RecentSignals(context.Background(), 1)
	if len(offers(f)) != 0 || !gs[0].OfferPending() || gs[0].Assessor != "" {
		t.Fatalf("after Slack refused: %d offers, group %+v; want none, a pending offer, no holder", len(offers(f)), gs[0])
	}
	down.Store(false)
	if err := app.ResumeDetection(context.Background()); err != nil {
		t.Fatal(err)
	}
	app.WaitDetection()
	gs, _ = app.RecentSignals(context.Background(), 1)
	if got := offers(f); len(got) != 1 || gs[0].Offer.TS != got[0].TS {
		t.Fatalf("after the sweep: %d offers, group offer %+v", len(got), gs[0].Offer)
	}
}
