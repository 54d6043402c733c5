package postgres

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/pgtest"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/report/reporttest"
)

// The figures from PostgreSQL in one pass are those of the known set.
func TestScanGivesTheKnownFigures(t *testing.T) {
	db := open(t, pgtest.DSN(t))
	defer db.Close()
	ctx := context.Background()
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	incs, evs := reporttest.Known(now)
	if err := reporttest.Fill(ctx, db, incs, evs); err != nil {
		t.Fatal(err)
	}
	// A note whose text looks like a page event is not one.
	if _, err := db.Update(ctx, 1, func(*playbook.Incident) ([]playbook.Event, error) {
		return []playbook.Event{playbook.NewEvent(playbook.EventNote, "U1", now, `"type":"page"`)}, nil
	}); err != nil {
		t.Fatal(err)
	}
	q := playbook.FigureQuery{Window: playbook.WindowEnding(now, 4*playbook.Week)}
	b := playbook.NewFigureBuilder(q, playbook.DefaultTiers(), now)
	n := 0
	if err := db.Scan(ctx, playbook.FigureEvents, func(inc *playbook.Incident, evs []playbook.Event) error {
		n++
		for _, e := range evs {
			if e.Type != playbook.EventPostmortemDone {
				t.Errorf("incident %d: unexpected %s event", inc.Number, e.Type)
			}
		}
		b.Add(inc, evs)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got := b.Result()
	want := playbook.BuildFigures(q, playbook.DefaultTiers(), now, incs, evs)
	if n != 5 || !reflect.DeepEqual(got.MTTR, want.MTTR) || !reflect.DeepEqual(got.Postmortems, want.Postmortems) || got.Bottleneck != "Remediation" {
		t.Errorf("figures from PostgreSQL:\n got %+v\nwant %+v", got, want)
	}
	all := 0
	if err := db.Scan(ctx, nil, func(_ *playbook.Incident, evs []playbook.Event) error { all += len(evs); return nil }); err != nil || all != 5+3+1 {
		t.Errorf("scan of every event: %v, %d", err, all)
	}
}
