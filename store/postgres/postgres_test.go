package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/pgtest"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/playbook/storetest"
)

func open(t testing.TB, dsn string) *DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// twoReplicas opens one fresh database twice, as two replicas would.
func twoReplicas(t *testing.T) (a, b *DB) {
	dsn := pgtest.DSN(t)
	a, b = open(t, dsn), open(t, dsn)
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// opener gives each subtest of a contract suite a fresh database.
func opener(t *testing.T) (playbook.Store, func() playbook.Store) {
	dsn := pgtest.DSN(t)
	cur := open(t, dsn)
	t.Cleanup(func() { cur.Close() })
	return cur, func() playbook.Store {
		cur.Close()
		cur = open(t, dsn)
		return cur
	}
}

func TestContract(t *testing.T) { storetest.Run(t, opener) }

func TestDeployLogContract(t *testing.T) { storetest.RunDeployLog(t, opener) }

// TestReplicasStartingTogetherMigrateOnce opens the same empty database from
// several pools at once: the advisory lock makes one migrate and the others
// find the schema done (no duplicate-table error, one row per migration).
func TestReplicasStartingTogetherMigrateOnce(t *testing.T) {
	dsn := pgtest.DSN(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			db, err := Open(context.Background(), dsn)
			if err == nil {
				db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	db := open(t, dsn)
	defer db.Close()
	var n, v int
	if err := db.pool.QueryRow(context.Background(), `SELECT count(*), max(version) FROM klaxon_schema`).Scan(&n, &v); err != nil {
		t.Fatal(err)
	}
	if n != v || v != SchemaVersion() {
		t.Fatalf("klaxon_schema has %d rows up to version %d; want each of 1..%d once", n, v, SchemaVersion())
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	dsn := pgtest.DSN(t)
	db := open(t, dsn)
	db.pool.Exec(context.Background(), `INSERT INTO klaxon_schema (version, name) VALUES ($1, 'from the future')`, SchemaVersion()+1)
	db.Close()
	if _, err := Open(context.Background(), dsn); err == nil || !strings.Contains(err.Error(), "upgrade Klaxon") {
		t.Fatalf("Open of a newer schema = %v, want a refusal", err)
	}
}

func TestBadDSNDoesNotEchoIt(t *testing.T) {
	_, err := Open(context.Background(), "postgres://u:s3cret@host:notaport/db")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("err = %v; want an error without the password", err)
	}
}

// TestCreatesAcrossPoolsNumberWithoutGaps declares from two stores (two
// replicas) at once: every number from 1 to N once, and a rolled-back
// declaration (a key seen twice) leaves no gap.
func TestCreatesAcrossPoolsNumberWithoutGaps(t *testing.T) {
	a, b := twoReplicas(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	const per = 15
	for i := range per {
		for j, s := range []*DB{a, b} {
			wg.Go(func() {
				// The same key from both replicas half of the time: a
				// redelivered envelope that reached each of them.
				key := fmt.Sprint("k", i, "-", j)
				if i%2 == 0 {
					key = fmt.Sprint("k", i)
				}
				if _, _, err := s.Create(ctx, key, func(n int64) (playbook.Incident, []playbook.Event) {
					return playbook.Incident{Title: key}, nil
				}); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	all, err := a.List(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := per + per/2 // odd i: two keys; even i: one
	if len(all) != want {
		t.Fatalf("%d incidents, want %d", len(all), want)
	}
	for i, inc := range all {
		if inc.Number != int64(i+1) {
			t.Fatalf("numbers are not 1..%d without gaps: #%d at position %d", want, inc.Number, i)
		}
	}
}

// TestScanMatchesTimelines: the one-pass History scan the figures use gives
// each incident with exactly its events of the asked types, in order.
func TestScanMatchesTimelines(t *testing.T) {
	a, _ := twoReplicas(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	for i := range 3 {
		inc, _, _ := a.Create(ctx, fmt.Sprint("k", i), func(int64) (playbook.Incident, []playbook.Event) {
			return playbook.Incident{Title: "t\x00"}, []playbook.Event{playbook.NewEvent(playbook.EventDeclared, "U1", at, "x\x00")}
		})
		if i > 0 {
			a.Update(ctx, inc.Number, func(*playbook.Incident) ([]playbook.Event, error) {
				return []playbook.Event{playbook.NewEvent(playbook.EventNote, "U1", at, "n"), playbook.NewEvent(playbook.EventNudged, "klaxon", at, "")}, nil
			})
		}
	}
	var got []string
	err := a.Scan(ctx, []playbook.EventType{playbook.EventDeclared, playbook.EventNudged}, func(inc *playbook.Incident, evs []playbook.Event) error {
		var types []string
		for _, e := range evs {
			types = append(types, string(e.Type))
		}
		got = append(got, fmt.Sprint(inc.Number, types))
		return nil
	})
	want := fmt.Sprint([]string{
		fmt.Sprint(1, []string{string(playbook.EventDeclared)}),
		fmt.Sprint(2, []string{string(playbook.EventDeclared), string(playbook.EventNudged)}),
		fmt.Sprint(3, []string{string(playbook.EventDeclared), string(playbook.EventNudged)}),
	})
	if err != nil || fmt.Sprint(got) != want {
		t.Fatalf("Scan = %v, %v; want %v", got, err, want)
	}
}
