package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakegithub"
	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/internal/pgtest"
	"github.com/klaxonhq/klaxon/store/postgres"
)

// TestDeployWebhookThenDeclarationLinks runs the deploy watchdog in the
// built binary, on each store: GitHub's signed deployment_status webhook
// for a successful production deploy of checkout, then a declaration for
// checkout inside the watch window. The incident is linked to the deploy at
// once, the announcement names it by its short SHA, and the deploys
// message (the declaration-time lookup) shows it as the confirmed cause. A
// badly signed delivery is refused with 401, a redelivery is recorded once.
// On PostgreSQL the deploy log then holds the deploy with the incident
// linked (a failed change) and its pull request.
func TestDeployWebhookThenDeclarationLinks(t *testing.T) {
	t.Parallel()
	t.Run("bolt", func(t *testing.T) { deployWebhookThenDeclaration(t, "") })
	t.Run("postgres", func(t *testing.T) { deployWebhookThenDeclaration(t, pgtest.DSN(t)) })
}

// deployWebhookThenDeclaration is TestDeployWebhookThenDeclarationLinks on
// bbolt (dsn empty) or on the PostgreSQL database dsn names.
func deployWebhookThenDeclaration(t *testing.T, dsn string) {
	gh := fakegithub.New()
	t.Cleanup(gh.Close)
	gh.AddRepo("acme/checkout", "main", "alice")
	const sha = "5eed5eed0123456789abcdef0123456789abcdef"
	id := gh.AddDeploy("acme/checkout", "production", sha, "v9", "alice", time.Now().Add(-time.Minute), "in_progress", "success")
	gh.AddMergedPull("acme/checkout", fakegithub.MergedPull{Title: "New pricing", Author: "bob", Commits: []string{sha},
		Files: []fakegithub.PullFile{{Path: "migrations/0042_prices.sql", Additions: 40}}})
	f := newWorkspace(t, fakeslack.Options{})
	dir := t.TempDir()
	const secret = "whsec-binary-test"
	if err := os.WriteFile(dir+"/hook", []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, addr := serve(t, f, func(addr string) string {
		config := writeConfig(t, dir, f.URL(), addr)
		b, err := os.ReadFile(config)
		if err != nil {
			t.Fatal(err)
		}
		cfg := strings.Replace(string(b), "    stakeholders: [U0PAY001]\n", "    stakeholders: [U0PAY001]\n    repo: acme/checkout\n", 1)
		if dsn != "" {
			if err := os.WriteFile(filepath.Join(dir, "pg.dsn"), []byte(dsn+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			bolt := "store:\n  path: " + filepath.Join(dir, "klaxon.db") + "\n"
			if !strings.Contains(cfg, bolt) {
				t.Fatalf("no store section to replace in:\n%s", cfg)
			}
			cfg = strings.Replace(cfg, bolt, "store:\n  driver: postgres\n  dsn_file: pg.dsn\n", 1)
		}
		cfg += "github:\n  token: ${GITHUB_TOKEN}\n  api_url: " + gh.URL() + "\n  webhook_secret_file: hook\n"
		cfg += "deploys:\n  watch_window: 10m\n"
		if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return config
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := "http://" + addr + "/webhooks/github"
	d := gh.DeploymentStatusDelivery("acme/checkout", id)
	send := func(secret string) int {
		t.Helper()
		code, err := fakegithub.Send(ctx, url, secret, d) // serve saw the listener up
		if err != nil {
			t.Fatalf("webhook: %v\n%s", err, p.Logs())
		}
		return code
	}
	if code := send("not-the-secret"); code != http.StatusUnauthorized {
		t.Fatalf("badly signed delivery: %d, want 401", code)
	}
	if code := send(secret); code != http.StatusOK {
		t.Fatalf("signed delivery: %d, want 200\n%s", code, p.Logs())
	}
	if code := send(secret); code != http.StatusOK {
		t.Fatalf("redelivery: %d, want 200\n%s", code, p.Logs())
	}

	declare(t, f, "declare sev2 checkout Prices are wrong", 1)
	var announce string
	f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
		ms := s.Messages("C0ANNOUNCE")
		announce = ms[0].Text + string(ms[0].Blocks)
		return true
	})
	if !strings.Contains(announce, "watch window of deploy `5eed5ee`") {
		t.Fatalf("announcement does not name the deploy:\n%s", announce)
	}
	ch, ok := f.Channel("inc-1-sev2-prices-are-wrong")
	if !ok {
		t.Fatal("no incident channel")
	}
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
		for _, m := range s.Messages(ch.ID) {
			body := string(m.Blocks)
			if strings.Contains(body, "Confirmed cause") && strings.Contains(body, "declared inside its watch window") &&
				strings.Contains(body, "database migration") && strings.Contains(body, "5eed5ee") {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("deploys message: %v\n%s", err, p.Logs())
	}
	if logs := p.Logs(); strings.Contains(logs, secret) || strings.Contains(logs, fakegithub.Token) {
		t.Fatal("a secret is in the logs")
	}
	if dsn == "" {
		return
	}
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recs, err := db.DeploysSince(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].ID != id || !recs[0].Webhook || recs[0].WatchUntil.IsZero() ||
		!slices.Equal(recs[0].Incidents, []int64{1}) || !recs[0].Detailed || len(recs[0].PRs) != 1 {
		t.Fatalf("PostgreSQL's deploy log: %+v, want deploy %d from the webhook, linked to incident #1, with its pull request", recs, id)
	}
}
