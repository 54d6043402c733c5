package config

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

func TestDeploysKeys(t *testing.T) {
	d := Default().Deploys
	if d.Window != 2*time.Hour || d.WatchWindow != 5*time.Minute || d.LargeDiffLines != 500 || !reflect.DeepEqual(d.RiskyPaths, playbook.DefaultRiskyPaths) {
		t.Fatalf("defaults = %+v", d)
	}
	if Default().GitHub.WebhookSecret.IsSet() {
		t.Fatal("a default webhook secret")
	}
	// Empty keys keep the defaults.
	c := parse(t, "deploys:\n  window:\n  watch_window:\n  risky_paths:\n  large_diff_lines:\n", env())
	if !reflect.DeepEqual(c.Deploys, d) {
		t.Fatalf("null keys changed the defaults: %+v", c.Deploys)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hook"), []byte("s3cret-hook\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]byte(`
github:
  webhook_secret_file: hook
deploys:
  window: 90m
  watch_window: 1s
  risky_paths: [alembic/, "*.cql", "db/*.sql"]
  large_diff_lines: 2000
`), dir, env())
	if err != nil {
		t.Fatal(err)
	}
	want := Deploys{Window: 90 * time.Minute, WatchWindow: time.Second, RiskyPaths: []string{"alembic/", "*.cql", "db/*.sql"}, LargeDiffLines: 2000}
	if !reflect.DeepEqual(c.Deploys, want) || c.GitHub.WebhookSecret.Reveal() != "s3cret-hook" {
		t.Fatalf("parsed %+v, secret set %v", c.Deploys, c.GitHub.WebhookSecret.IsSet())
	}
	c = parse(t, "github:\n  webhook_secret: ${HOOK}\n", env("HOOK", "from-env"))
	if c.GitHub.WebhookSecret.Reveal() != "from-env" {
		t.Fatal("webhook_secret from the environment")
	}

	ps := problems(t, `
github:
  webhook_secret: a
  webhook_secret_file: b
deploys:
  window: 31d
  watch_window: 500ms
  risky_paths: ["[unclosed", ""]
  large_diff_lines: 0
  watch: 5m
`, env())
	for _, p := range []struct{ path, msg string }{
		{"github.webhook_secret_file", "not both"},
		{"deploys.window", "not a duration"},
		{"deploys.watch_window", "at least 1s"},
		{"deploys.risky_paths[0]", "not a path pattern"},
		{"deploys.large_diff_lines", "at least 1"},
		{"deploys.watch", ""},
	} {
		if !hasProblem(ps, p.path, p.msg) {
			t.Errorf("no problem at %s containing %q in %v", p.path, p.msg, ps)
		}
	}
	if ps := problems(t, "deploys:\n  window: 721h\n", env()); !hasProblem(ps, "deploys.window", "at most 720h") {
		t.Errorf("window over 30 days: %v", ps)
	}
}
