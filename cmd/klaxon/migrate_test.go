package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/pgtest"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/store"
	"github.com/klaxonhq/klaxon/store/postgres"
)

// boltWith1000 fills a bbolt store with 1,000 incidents as Klaxon leaves
// them: events, channels, deadlines on the open ones, and an idempotency
// key per declaration and per click.
func boltWith1000(t *testing.T) (string, *store.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "klaxon.db")
	db, err := store.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// A fixture: no fsync per commit (2,000 of them took seconds).
	db.SetNoSync(true)
	defer db.SetNoSync(false)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	for i := range 1000 {
		at := t0.Add(time.Duration(i) * time.Hour)
		inc, _, err := db.Create(ctx, fmt.Sprint("env-", i), func(n int64) (playbook.Incident, []playbook.Event) {
			return playbook.Incident{Title: fmt.Sprintf("incident %d\x00 with a NUL", i), Severity: playbook.SEV2, Status: playbook.StatusInvestigating,
				Times: map[playbook.Phase]time.Time{playbook.PhaseDeclared: at}}, []playbook.Event{playbook.NewEvent(playbook.EventDeclared, "U1", at, "declared")}
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.Apply(ctx, inc.Number, fmt.Sprint("click-", i), func(in *playbook.Incident) ([]playbook.Event, error) {
			in.Channel = playbook.ChannelRef{ID: fmt.Sprintf("C%06d", i), Name: fmt.Sprintf("inc-%d", inc.Number)}
			if i%3 == 0 {
				return nil, in.Transition(playbook.StatusResolved, at.Add(time.Hour))
			}
			in.Timers.NextNudge = at.Add(15 * time.Minute)
			return []playbook.Event{playbook.NewEvent(playbook.EventChannelCreated, "klaxon", at, "#inc")}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// The deploy log (a bucket beside the incidents).
	for i := range 5 {
		if _, _, err := db.SaveDeploy(ctx, fmt.Sprint("gh:", i), "acme/api", int64(i+1), func(d *playbook.DeployRecord, _ bool) error {
			d.SHA, d.Environment, d.State, d.At = "abc1234def", "production", "success", t0.Add(time.Duration(i)*time.Minute)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Detection: a retired group, a live one of checkout (linked to
	// incident 2), and an unrouted one.
	sig := func(k string) playbook.Signal {
		return playbook.Signal{Key: k, Name: k, Kind: playbook.KindErrorRate, StartsAt: t0, Received: t0}
	}
	if _, err := db.UpdateService(ctx, "checkout", func(st *playbook.ServiceSignals) error {
		st.Retired = []playbook.SignalGroup{{Service: "checkout", Start: t0, Signals: []playbook.Signal{sig("old")}, Ended: t0.Add(time.Hour)}}
		st.Groups = []playbook.SignalGroup{{Service: "checkout", Start: t0, Signals: []playbook.Signal{sig("a"), sig("b")}, Incident: 2,
			Offer: playbook.MessageRef{Channel: "C0TRIAGE", TS: "1.000200"}}}
		st.Incident = 2
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateService(ctx, "", func(st *playbook.ServiceSignals) error {
		st.Groups = []playbook.SignalGroup{{Start: t0, Signals: []playbook.Signal{sig("stray")}}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return path, db
}

// TestMigrate1000Incidents copies a bbolt store of 1,000 incidents into
// PostgreSQL after an interrupted first attempt, copies it again (nothing
// to do), and reads everything back through the Store port: the same
// incidents, timelines, channels, deadlines and keys, and the next number
// follows.
func TestMigrate1000Incidents(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	path, src := boltWith1000(t)
	ctx := context.Background()

	// An earlier run stopped after 300 incidents.
	dst, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	partial := 0
	src.Incidents(func(n int64, data []byte, evs [][]byte) error {
		if partial < 300 {
			partial++
			_, err := dst.ImportIncident(ctx, n, data, evs)
			return err
		}
		return nil
	})
	src.Close()

	var out bytes.Buffer
	start := time.Now()
	if err := migrateStore(ctx, "bolt:"+path, dsn, &out); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if !strings.Contains(out.String(), "copied 700 incidents (300 were already there)") || !strings.Contains(out.String(), "3 alert groups") || !strings.Contains(out.String(), "counts match") {
		t.Fatalf("first run said %q", out.String())
	}
	out.Reset()
	if err := migrateStore(ctx, "bolt:"+path, dsn, &out); err != nil || !strings.Contains(out.String(), "copied 0 incidents (1000 were already there)") {
		t.Fatalf("second run: %v, %q", err, out.String())
	}
	// The figure: all 1,000 into an empty database.
	out.Reset()
	start = time.Now()
	if err := migrateStore(ctx, "bolt:"+path, pgtest.DSN(t), &out); err != nil || !strings.Contains(out.String(), "copied 1000 incidents") {
		t.Fatalf("a whole copy: %v, %q", err, out.String())
	}
	t.Logf("migrated 1,000 incidents: %v resuming after 300, %v from scratch (%s)", took, time.Since(start), strings.TrimSpace(out.String()))

	src, err = store.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	want, _ := src.List(ctx, nil)
	got, err := dst.List(ctx, nil)
	if err != nil || len(got) != 1000 {
		t.Fatalf("List = %d incidents, %v", len(got), err)
	}
	for i := range want {
		a, _ := json.Marshal(want[i])
		b, _ := json.Marshal(got[i])
		if !bytes.Equal(a, b) {
			t.Fatalf("incident #%d differs:\n%s\n%s", want[i].Number, a, b)
		}
		wt, _ := src.Timeline(ctx, want[i].Number)
		gt, _ := dst.Timeline(ctx, want[i].Number)
		a, _ = json.Marshal(wt)
		b, _ = json.Marshal(gt)
		if !bytes.Equal(a, b) {
			t.Fatalf("timeline of #%d differs:\n%s\n%s", want[i].Number, a, b)
		}
	}
	if inc, err := dst.ByChannel(ctx, "C000042"); err != nil || inc.Number != 43 {
		t.Fatalf("ByChannel after migrate = #%d, %v", inc.Number, err)
	}
	wn, _, _ := src.NextWake(ctx)
	gn, ok, _ := dst.NextWake(ctx)
	if !ok || !gn.Equal(wn) {
		t.Fatalf("NextWake = %v, want %v", gn, wn)
	}
	if inc, created, _ := dst.Create(ctx, "env-7", nil); created || inc.Number != 8 {
		t.Fatalf("a redelivered declaration after migrate: created=%v #%d", created, inc.Number)
	}
	if _, applied, _ := dst.Apply(ctx, 8, "click-7", func(*playbook.Incident) ([]playbook.Event, error) { return nil, nil }); applied {
		t.Fatal("a redelivered click after migrate was applied again")
	}
	wd, _ := src.DeploysSince(ctx, time.Time{})
	gd, err := dst.DeploysSince(ctx, time.Time{})
	if a, b := fmt.Sprint(wd), fmt.Sprint(gd); err != nil || a != b || len(gd) != 5 {
		t.Fatalf("deploy log after migrate = %s, %v; want %s", b, err, a)
	}
	if _, applied, _ := dst.SaveDeploy(ctx, "gh:3", "acme/api", 4, func(*playbook.DeployRecord, bool) error { return nil }); applied {
		t.Fatal("a redelivered deploy webhook after migrate was applied again")
	}
	// Detection: the same groups (newest first), the live ones loaded with
	// each service's incident, and a new group numbered after them.
	wg, _ := src.Groups(ctx, func(*playbook.SignalGroup) bool { return true }, 0)
	gg, err := dst.Groups(ctx, func(*playbook.SignalGroup) bool { return true }, 0)
	if a, b := fmt.Sprint(wg), fmt.Sprint(gg); err != nil || a != b || len(gg) != 3 {
		t.Fatalf("alert groups after migrate = %s, %v; want %s", b, err, a)
	}
	st, err := dst.UpdateService(ctx, "checkout", func(st *playbook.ServiceSignals) error {
		st.Groups = append(st.Groups, playbook.SignalGroup{Service: "checkout"})
		return nil
	})
	if err != nil || st.Incident != 2 || len(st.Groups) != 2 || st.Groups[0].Offer.TS != "1.000200" || st.Groups[1].ID != 4 {
		t.Fatalf("checkout's detection after migrate = %+v, %v; want its live group, incident 2, and a new group 4", st, err)
	}
	next, _, _ := dst.Create(ctx, "new", func(int64) (playbook.Incident, []playbook.Event) { return playbook.Incident{Title: "new"}, nil })
	if next.Number != 1001 {
		t.Fatalf("next number after migrate = %d, want 1001", next.Number)
	}
}

// TestMigrateRefusals: bad arguments are usage errors, a running Klaxon
// (the file locked) is refused, and copying into a database holding other
// incidents stops rather than mixing them.
func TestMigrateRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, c := range [][2]string{{"klaxon.db", "postgres://x"}, {"bolt:x.db", "mysql://x"}} {
		if err := migrateStore(ctx, c[0], c[1], &bytes.Buffer{}); exitCode(err, &bytes.Buffer{}) != 2 {
			t.Errorf("migrate --from %s --to %s = %v; want a usage error", c[0], c[1], err)
		}
	}
	dsn := pgtest.DSN(t)
	dst, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	dst.Create(ctx, "other", func(int64) (playbook.Incident, []playbook.Event) {
		return playbook.Incident{Title: "someone else's"}, nil
	})
	path := filepath.Join(t.TempDir(), "k.db")
	src, _ := store.Open(path, time.Second)
	src.Create(ctx, "mine", func(int64) (playbook.Incident, []playbook.Event) { return playbook.Incident{Title: "mine"}, nil })
	if err := migrateStore(ctx, "bolt:"+path, dsn, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "stop Klaxon before migrating") {
		t.Fatalf("migrate from a store in use = %v", err)
	}
	src.Close()
	if err := migrateStore(ctx, "bolt:"+path, dsn, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "different incident") {
		t.Fatalf("migrate into a used database = %v", err)
	}
}
