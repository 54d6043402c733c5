package store

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/report/reporttest"
)

func figuresOf(t *testing.T, scan func(context.Context, func(*playbook.Incident, []playbook.Event) error) error, now time.Time) playbook.Figures {
	t.Helper()
	b := playbook.NewFigureBuilder(playbook.FigureQuery{Window: playbook.WindowEnding(now, 4*playbook.Week)}, playbook.DefaultTiers(), now)
	if err := scan(context.Background(), func(inc *playbook.Incident, evs []playbook.Event) error { b.Add(inc, evs); return nil }); err != nil {
		t.Fatal(err)
	}
	return b.Result()
}

// The digest gives the same figures as the incidents and their timelines,
// after updates, and is rebuilt for a store written without it.
func TestDigestMatchesFullScan(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "klaxon.db")
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	incs, evs := reporttest.Known(now)
	if err := reporttest.Fill(ctx, db, incs, evs); err != nil {
		t.Fatal(err)
	}
	// A page and a closed ticket arrive later, through Update.
	if _, err := db.Update(ctx, 4, func(inc *playbook.Incident) ([]playbook.Event, error) {
		inc.Commander = "U0IC"
		e := playbook.NewEvent(playbook.EventPage, playbook.ActorKlaxon, inc.DeclaredAt().Add(time.Minute), "")
		e.Payload = playbook.PagePayload{Person: "U0ONCALL", Kind: playbook.PageDeclaration}
		return []playbook.Event{e}, nil
	}); err != nil {
		t.Fatal(err)
	}
	full := func(ctx context.Context, fn func(*playbook.Incident, []playbook.Event) error) error {
		return db.Scan(ctx, playbook.FigureEvents, fn)
	}
	want := figuresOf(t, full, now)
	got := figuresOf(t, db.ScanFigures, now)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("digest figures differ:\n got %+v\nwant %+v", got, want)
	}
	if got.Pager.Pages != 1 || got.MTTR[playbook.SEV1].Count != 3 {
		t.Errorf("figures %+v", got.Pager)
	}

	// A store from before the digest: drop it, reopen, rebuilt.
	if err := db.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketDigest); err != nil {
			return err
		}
		return tx.DeleteBucket(bucketDigestEvents)
	}); err != nil {
		t.Fatal(err)
	}
	// Read-only, without the digest, ScanFigures falls back to a full scan.
	db.Close()
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := figuresOf(t, ro.ScanFigures, now); !reflect.DeepEqual(got, want) {
		t.Errorf("fallback figures differ:\n got %+v\nwant %+v", got, want)
	}
	ro.Close()
	db, err = Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := figuresOf(t, db.ScanFigures, now); !reflect.DeepEqual(got, want) {
		t.Errorf("rebuilt digest figures differ:\n got %+v\nwant %+v", got, want)
	}
}

func TestDigestCodecRoundTrip(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 0, 123, time.UTC)
	inc := playbook.Incident{Number: 7, Severity: playbook.SEV2, Service: "checkout", Private: true, Commander: "U1",
		Status: playbook.StatusResolved, RootCause: "dns", RepeatOf: []int64{1, 3},
		Times:   map[playbook.Phase]time.Time{playbook.PhaseDeclared: now, "custom": now.Add(time.Hour)},
		Actions: []playbook.ActionItem{{ID: 1, Owner: "U2", Due: "2026-12-10", Ticket: &playbook.Ticket{State: "closed", ClosedAt: now}}, {ID: 2, Owner: "U3", Due: "2026-12-11"}}}
	inc.Timers.PostmortemDone = true
	got, err := decodeDigest(encodeDigest(inc))
	if err != nil || !reflect.DeepEqual(got, inc) {
		t.Errorf("incident round trip: %v\n got %+v\nwant %+v", err, got, inc)
	}
	e := playbook.Event{Seq: 9, Type: playbook.EventPage, Actor: "klaxon", At: now, Recorded: now, Payload: playbook.PagePayload{Paged: []string{"U1", "U2"}}}
	if got, err := decodeDigestEvent(encodeDigestEvent(e)); err != nil || !reflect.DeepEqual(got, e) {
		t.Errorf("event round trip: %v %+v", err, got)
	}
}

// FuzzDigestDecode: a corrupt record is an error, never a panic or a huge allocation.
func FuzzDigestDecode(f *testing.F) {
	f.Add(encodeDigest(playbook.Incident{Number: 1, Times: map[playbook.Phase]time.Time{"declared": time.Unix(1, 0)}, Actions: []playbook.ActionItem{{ID: 1, Ticket: &playbook.Ticket{}}}}))
	f.Add(encodeDigestEvent(playbook.Event{Type: playbook.EventPage, Payload: playbook.PagePayload{Paged: []string{"U1"}}}))
	f.Add([]byte{2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := decodeDigest(b); err == nil {
			if _, err := decodeDigest(encodeDigest(v)); err != nil {
				t.Fatalf("re-encoded record does not decode: %v", err)
			}
		}
		decodeDigestEvent(b)
	})
}
