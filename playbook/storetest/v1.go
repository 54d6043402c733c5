package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

// The "store written by an earlier version" check: store/testdata/v1 holds
// a bbolt store written before timeline events were typed (its gen.go says
// how) and what that version rendered from it. Each Store implementation
// loads it (bbolt directly, PostgreSQL through the migration) and compares
// RenderV1's output with the goldens.

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

// RenderV1 renders every incident's post-mortem outline and the pager
// figures of s, holding the v1 fixture, with the App the goldens were
// rendered with: the demo's service and the default tiers, at a fixed time.
func RenderV1(t *testing.T, s playbook.Store, log playbook.DeployLog) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	tmpl, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 13, 12, 0, 0, 0, time.UTC)
	app := playbook.New(playbook.Deps{
		Store: s, DeployLog: log, People: v1People{}, Clock: playbook.ClockFunc(func() time.Time { return now }),
		Tiers: playbook.DefaultTiers(), RenderPostmortem: tmpl.RenderPostmortem,
		Services: []playbook.Service{{Name: "checkout", Runbook: "https://runbooks.example.com/checkout"}},
	})
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

// CompareV1 checks got against the goldens in dir, or rewrites them when
// update is set.
func CompareV1(t *testing.T, dir string, got map[string][]byte, update bool) {
	t.Helper()
	for name, b := range got {
		path := filepath.Join(dir, name)
		if update {
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
			t.Errorf("%s differs from the golden:\n--- got\n%s\n--- want\n%s", name, b, want)
		}
	}
}
