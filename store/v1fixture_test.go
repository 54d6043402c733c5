package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/store"
	"github.com/klaxonhq/klaxon/templates"
)

var updateV1 = flag.Bool("update-v1", false, "rewrite testdata/v1's goldens from the current code")

// v1Store is a copy of testdata/v1/klaxon.db, a store written by the
// version before timeline events were typed (see testdata/v1/gen.go): the
// demo's SEV1 as `klaxon demo --keep` stored it, a private incident with
// every other event type and hostile text, and a quiet open SEV3.
func v1Store(t *testing.T) *store.DB {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "v1", "klaxon.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "klaxon.db")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// v1People names some of the fixture's people, so both a resolved name
// and a bare ID show in the outlines.
type v1People struct{}

func (v1People) Names(_ context.Context, ids []string) map[string]string {
	known := map[string]string{"U0DANA001": "Dana", "U0ALEX001": "Alex", "U0PRIYA01": "Priya *P*"}
	out := map[string]string{}
	for _, id := range ids {
		if n, ok := known[id]; ok {
			out[id] = n
		}
	}
	return out
}

// v1App is the App the goldens were rendered with: the demo's service and
// the default tiers, at a fixed time.
func v1App(t *testing.T, s playbook.Store, log playbook.DeployLog) *playbook.App {
	t.Helper()
	tmpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 13, 12, 0, 0, 0, time.UTC)
	return playbook.New(playbook.Deps{
		Store: s, DeployLog: log, People: v1People{}, Clock: playbook.ClockFunc(func() time.Time { return now }),
		Tiers: playbook.DefaultTiers(), RenderPostmortem: tmpl.RenderPostmortem,
		Services: []playbook.Service{{Name: "checkout", Runbook: "https://runbooks.example.com/checkout"}},
	})
}

// V1Outlines renders every incident's post-mortem outline and the pager figures
// of a store written by the version before typed events; the goldens in
// testdata/v1 are what that version rendered from it.
func V1Outlines(t *testing.T, s playbook.Store, log playbook.DeployLog) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	app := v1App(t, s, log)
	incs, err := s.List(ctx, func(*playbook.Incident) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if len(incs) != 3 {
		t.Fatalf("the fixture holds %d incidents, want 3", len(incs))
	}
	out := map[string][]byte{}
	for _, inc := range incs {
		md, n, err := app.RenderOutline(ctx, inc)
		if err != nil {
			t.Fatalf("incident #%d: %v", inc.Number, err)
		}
		if n == 0 {
			t.Fatalf("incident #%d: no events read", inc.Number)
		}
		out[fmt.Sprintf("postmortem-%d.md", inc.Number)] = md
	}
	f, err := app.Figures(ctx, playbook.FigureQuery{Window: playbook.Window{
		From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	// The pager load is the figure that reads an event's payload.
	js, err := json.MarshalIndent(f.Pager, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out["figures.json"] = append(js, '\n')
	return out
}

// CompareV1 checks got against testdata/v1's goldens (or rewrites them with -update-v1).
func CompareV1(t *testing.T, got map[string][]byte) {
	t.Helper()
	for name, b := range got {
		path := filepath.Join("testdata", "v1", name)
		if *updateV1 {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, want) {
			t.Errorf("%s differs from what the version that wrote the store rendered:\n--- got\n%s\n--- want\n%s", name, b, want)
		}
	}
}

// A store written before timeline events were typed still renders every
// incident's post-mortem outline, and the figures, as that version did.
func TestStoreWrittenByV1RendersTheSame(t *testing.T) {
	db := v1Store(t)
	CompareV1(t, V1Outlines(t, db, db))
}
