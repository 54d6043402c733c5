package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

func TestScanFiltersEventsInOnePass(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "klaxon.db")
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range 3 {
		_, _, err := db.Create(ctx, fmt.Sprint("k", i), func(n int64) (playbook.Incident, []playbook.Event) {
			note := playbook.NewEvent(playbook.EventNote, "U1", now, `tricky "type":"page" in a note`)
			page := playbook.NewEvent(playbook.EventPage, "klaxon", now, "")
			page.Payload = playbook.PagePayload{Paged: []string{"U2"}}
			return playbook.Incident{Number: n, Times: map[playbook.Phase]time.Time{playbook.PhaseDeclared: now}},
				[]playbook.Event{playbook.NewEvent(playbook.EventDeclared, "U1", now, "x"), note, page}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var seen []int64
	err = db.Scan(ctx, []playbook.EventType{playbook.EventPage}, func(inc *playbook.Incident, evs []playbook.Event) error {
		seen = append(seen, inc.Number)
		if len(evs) != 1 || evs[0].Type != playbook.EventPage || !slices.Equal(playbook.PagedPeople(evs[0]), []string{"U2"}) {
			t.Errorf("incident %d: events %+v", inc.Number, evs)
		}
		return nil
	})
	if err != nil || len(seen) != 3 || seen[0] != 1 || seen[2] != 3 {
		t.Fatalf("scan: %v, saw %v", err, seen)
	}
	all := 0
	if err := db.Scan(ctx, nil, func(_ *playbook.Incident, evs []playbook.Event) error { all += len(evs); return nil }); err != nil || all != 9 {
		t.Errorf("scan all: %v, %d events", err, all)
	}
	stop := errors.New("stop")
	if err := db.Scan(ctx, nil, func(*playbook.Incident, []playbook.Event) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("scan error: %v", err)
	}

	// While this process holds the file, a reader gives up with ErrLocked.
	if _, err := OpenReadOnly(path, 50*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Errorf("read-only open of a held store: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	n := 0
	if err := ro.Scan(ctx, playbook.FigureEvents, func(*playbook.Incident, []playbook.Event) error { n++; return nil }); err != nil || n != 3 {
		t.Errorf("read-only scan: %v, %d", err, n)
	}
	if _, err := OpenReadOnly(filepath.Join(t.TempDir(), "none.db"), time.Second); err == nil {
		t.Error("read-only open of a missing file")
	}
}

// BenchmarkFigures10k measures the figures over 10,000 closed incidents with
// 50 timeline events each, read from the bbolt file in one pass (one read
// transaction over the figures' digest): the store scan plus the computation. Memory is reported per
// run (-benchmem) and as the heap in use after the run.
func BenchmarkFigures10k(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "klaxon.db")
	db, err := Open(path, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { db.Close() }()
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	const incidents, perIncident = 10_000, 50
	db.db.NoSync = true // filling only; the benchmark reads
	if err := fillClosed(db, now, incidents, perIncident); err != nil {
		b.Fatal(err)
	}
	// Reopen, as `klaxon report` does, so nothing is warm in memory.
	db.Close()
	if db, err = Open(path, time.Second); err != nil {
		b.Fatal(err)
	}
	q := playbook.FigureQuery{Window: playbook.WindowEnding(now, 104*playbook.Week)}
	b.ReportAllocs()
	b.ResetTimer()
	var f playbook.Figures
	for b.Loop() {
		fb := playbook.NewFigureBuilder(q, playbook.DefaultTiers(), now)
		if err := db.ScanFigures(ctx, func(inc *playbook.Incident, evs []playbook.Event) error {
			fb.Add(inc, evs)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		f = fb.Result()
	}
	b.StopTimer()
	if f.Total != incidents || f.MTTR[playbook.SEV1].Count == 0 || f.Pager.Pages == 0 {
		b.Fatalf("figures: total %d, %+v", f.Total, f.MTTR[playbook.SEV1])
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
}

// fillClosed writes n closed incidents spread over two years, each with
// perIncident events (notes, status updates, checks, a page and the
// post-mortem), one transaction each.
func fillClosed(db *DB, now time.Time, n, perIncident int) error {
	ctx := context.Background()
	for i := range n {
		decl := now.Add(-time.Duration(i+1) * (104 * playbook.Week / time.Duration(n+1)))
		sev := playbook.Severity(i%4 + 1)
		_, _, err := db.Create(ctx, fmt.Sprint("bench-", i), func(num int64) (playbook.Incident, []playbook.Event) {
			m := func(x int) time.Time { return decl.Add(time.Duration(x+i%7) * time.Minute) }
			inc := playbook.Incident{Number: num, Title: "Checkout returns 500s for some users in eu-west", Severity: sev,
				Service: "checkout", Declarer: "U0DECL01", Commander: "U0IC0001", Status: playbook.StatusClosed,
				Times: map[playbook.Phase]time.Time{playbook.PhaseDetected: m(-3), playbook.PhaseDeclared: m(0), playbook.PhaseAcknowledged: m(2),
					playbook.PhaseTriageStarted: m(3), playbook.PhaseMitigationStarted: m(15), playbook.PhaseMitigated: m(45),
					playbook.PhaseResolved: m(60), playbook.PhaseClosed: m(24 * 60)},
				RootCause: fmt.Sprint("cause-", i%50),
				Actions: []playbook.ActionItem{{ID: 1, Text: "Add a canary stage to the checkout deploy", Owner: "U0OWNER1",
					Due: decl.AddDate(0, 0, 14).Format(time.DateOnly), Ticket: &playbook.Ticket{Repo: "acme/checkout", Number: i, State: "closed", ClosedAt: decl.AddDate(0, 0, 10)}}},
			}
			if i%10 == 0 {
				inc.RepeatOf = []int64{1}
			}
			evs := make([]playbook.Event, 0, perIncident)
			for k := range perIncident - 2 {
				e := playbook.NewEvent(playbook.EventNote, "U0IC0001", m(k), "Rolled back the 14:02 deploy; error rate is dropping, watching the synthetic checks")
				if k%3 == 0 {
					e.Type = playbook.EventStatusUpdate
				}
				evs = append(evs, e)
			}
			page := playbook.NewEvent(playbook.EventPage, playbook.ActorKlaxon, m(1), "")
			page.Payload = playbook.PagePayload{Person: fmt.Sprint("U0ONCALL", i%20), Kind: playbook.PageDeclaration, Target: "pagerduty_policy:PE0CHKOUT"}
			evs = append(evs, page, playbook.NewEvent(playbook.EventPostmortemDone, "U0IC0001", m(20*60), "https://docs.example.com/pm"))
			return inc, evs
		})
		if err != nil {
			return err
		}
	}
	return nil
}
