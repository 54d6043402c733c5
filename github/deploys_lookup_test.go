package github_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/github"
	"github.com/klaxonhq/klaxon/internal/fakegithub"
	"github.com/klaxonhq/klaxon/playbook"
)

var apiSvc = playbook.Service{Name: "api", Repo: "acme/api"}

func risky(p string) bool { return playbook.MatchRiskyPath(playbook.DefaultRiskyPaths, p) }

func TestInvestigateReadsPRsReviewsAndFiles(t *testing.T) {
	ctx := context.Background()
	f, c := setup(t)
	good := f.AddDeploy("acme/api", "production", "aaaa000000000000000000000000000000000001", "v1", "alice-gh", t0.Add(-5*time.Hour), "success")
	f.AddDeploy("acme/api", "production", "bbbb000000000000000000000000000000000002", "v2", "alice-gh", t0.Add(-90*time.Minute), "failure")
	sus := f.AddDeploy("acme/api", "production", "cccc000000000000000000000000000000000003", "v3", "bob-gh", t0.Add(-20*time.Minute), "in_progress", "success")
	f.AddDeploy("acme/api", "staging", "dddd000000000000000000000000000000000004", "v4", "bob-gh", t0.Add(-10*time.Minute), "success")
	f.AddMergedPull("acme/api", fakegithub.MergedPull{Title: "Add orders.total", Author: "bob-gh",
		Commits: []string{"cccc000000000000000000000000000000000003"},
		Files:   []fakegithub.PullFile{{Path: "db/migrate/20261127_total.rb", Additions: 20}, {Path: "app/orders.rb", Additions: 300, Deletions: 250}},
		Reviews: []fakegithub.Review{{User: "carol", State: "CHANGES_REQUESTED"}, {User: "carol", State: "COMMENTED"}, {User: "dan", State: "APPROVED"}, {User: "erin", State: "APPROVED"}, {User: "erin", State: "DISMISSED"}}})
	// 250 changed files: the migration on the third page counts.
	many := make([]fakegithub.PullFile, 250)
	for i := range many {
		many[i] = fakegithub.PullFile{Path: fmt.Sprintf("gen/file%03d.go", i), Additions: 1}
	}
	many[230].Path = "migrations/0099_regen.sql"
	f.AddMergedPull("acme/api", fakegithub.MergedPull{Title: "Regenerate", Author: "alice-gh",
		Commits: []string{"cccc000000000000000000000000000000000003"}, Files: many})
	// 1,234 changed files: read up to 1,000 and flagged as more.
	huge := make([]fakegithub.PullFile, 1234)
	for i := range huge {
		huge[i] = fakegithub.PullFile{Path: fmt.Sprintf("vendor/file%04d.go", i), Additions: 2}
	}
	f.AddMergedPull("acme/api", fakegithub.MergedPull{Title: "Vendor everything", Author: "alice-gh",
		Commits: []string{"cccc000000000000000000000000000000000003"}, Files: huge})

	recs, err := c.Investigate(ctx, playbook.DeployQuery{Services: []playbook.Service{apiSvc}, From: t0.Add(-2 * time.Hour), To: t0, Risky: risky})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	if len(recs) != 3 || recs[0].ID != sus || recs[2].ID != good {
		t.Fatalf("deploys %v: want the window's two (staging left out) and the known-good one before it", ids)
	}
	s := recs[0]
	if s.State != "success" || !s.Detailed || len(s.PRs) != 3 || s.RepoURL == "" || s.Creator != "bob-gh" {
		t.Fatalf("suspect %+v", s)
	}
	slices.SortFunc(s.PRs, func(a, b playbook.PullRequest) int { return a.Number - b.Number })
	pr := s.PRs[0]
	if pr.Title != "Add orders.total" || pr.Author != "bob-gh" || !slices.Equal(pr.Approvers, []string{"dan"}) ||
		pr.Files != 2 || pr.Additions != 320 || pr.Deletions != 250 || !slices.Equal(pr.Risky, []string{"db/migrate/20261127_total.rb"}) {
		t.Fatalf("PR %+v: want dan's approval only (carol asked for changes, erin's approval was dismissed)", pr)
	}
	if big := s.PRs[1]; big.Files != 250 || big.FilesMore || big.Additions != 250 || len(big.Approvers) != 0 ||
		!slices.Equal(big.Risky, []string{"migrations/0099_regen.sql"}) {
		t.Fatalf("a 250-file PR: %+v, want its three pages read and the migration on the third found", big)
	}
	if huge := s.PRs[2]; huge.Files != 1000 || !huge.FilesMore || huge.Additions != 2000 {
		t.Fatalf("a 1,234-file PR: %+v, want the first 1,000 files read and the rest flagged", huge.Files)
	}
	if recs[1].State != "failure" || recs[1].Detailed {
		t.Fatalf("failed deploy %+v: not read in detail", recs[1])
	}
	if flags := playbook.RiskFlags(s.PRs, true, 500); !slices.Equal(flags, []playbook.RiskFlag{playbook.FlagMigration, playbook.FlagLargeDiff, playbook.FlagNoApproval}) {
		t.Fatalf("flags %v", flags)
	}
	rk := playbook.RankDeploys(recs, t0.Add(-2*time.Hour), t0, t0, nil)
	if rk[0].ID != sus || rk[0].KnownGood == nil || rk[0].KnownGood.ID != good {
		t.Fatalf("ranking %+v", rk[0])
	}
}

// TestInvestigateReadsACommitOnce: a redeploy of the same commit in the
// window shares the first deploy's reads (its pull requests, their reviews
// and files), and a failed deploy's pull requests, read beside its status,
// are dropped.
func TestInvestigateReadsACommitOnce(t *testing.T) {
	f, _ := setup(t)
	const sha, bad = "cccc000000000000000000000000000000000003", "bbbb000000000000000000000000000000000002"
	f.AddDeploy("acme/api", "production", sha, "v3", "bob-gh", t0.Add(-50*time.Minute), "success")
	f.AddDeploy("acme/api", "production", bad, "v4", "bob-gh", t0.Add(-40*time.Minute), "failure")
	f.AddDeploy("acme/api", "production", sha, "v3", "bob-gh", t0.Add(-30*time.Minute), "success")
	f.AddMergedPull("acme/api", fakegithub.MergedPull{Title: "Add orders.total", Author: "bob-gh", Commits: []string{sha},
		Files: []fakegithub.PullFile{{Path: "app/orders.rb", Additions: 3}}, Reviews: []fakegithub.Review{{User: "dan", State: "APPROVED"}}})
	f.AddMergedPull("acme/api", fakegithub.MergedPull{Title: "Broken", Author: "bob-gh", Commits: []string{bad}})
	tr := &countTransport{paths: map[string]int{}}
	c, err := github.New(github.Options{APIURL: f.URL(), Token: fakegithub.Token, HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := c.Investigate(context.Background(), playbook.DeployQuery{Services: []playbook.Service{apiSvc}, From: t0.Add(-2 * time.Hour), To: t0, Risky: risky})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d deploys, want 3", len(recs))
	}
	for _, r := range recs {
		switch {
		case r.SHA == sha && (!r.Detailed || len(r.PRs) != 1 || r.PRs[0].Files != 1 || !slices.Equal(r.PRs[0].Approvers, []string{"dan"})):
			t.Errorf("deploy %d of %.7s: %+v", r.ID, r.SHA, r)
		case r.SHA == bad && (r.Detailed || r.PRs != nil):
			t.Errorf("failed deploy %d: %+v, want no pull requests", r.ID, r)
		}
	}
	for path, want := range map[string]int{
		"/repos/acme/api/commits/" + sha + "/pulls": 1, "/repos/acme/api/pulls/1/reviews": 1, "/repos/acme/api/pulls/1/files": 1,
		"/repos/acme/api/commits/" + bad + "/pulls": 1, "/repos/acme/api/pulls/2/files": 0,
	} {
		if got := tr.count(path); got != want {
			t.Errorf("GET %s: %d times, want %d", path, got, want)
		}
	}
}

// countTransport counts requests by path.
type countTransport struct {
	mu    sync.Mutex
	paths map[string]int
}

func (c *countTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.paths[r.URL.Path]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *countTransport) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.paths[path]
}

func TestInvestigateFailures(t *testing.T) {
	ctx := context.Background()
	q := playbook.DeployQuery{Services: []playbook.Service{apiSvc}, From: t0.Add(-2 * time.Hour), To: t0, Risky: risky}
	for _, c := range []struct {
		name  string
		fault fakegithub.Fault
		path  string
		check func(error) bool
	}{
		{"5xx", fakegithub.Fault{Status: 502}, "/repos/acme/api/deployments", func(err error) bool { return err != nil }},
		{"rate limited", fakegithub.Fault{RateLimited: true, RetryAfter: 120}, "/repos/acme/api/commits/", func(err error) bool {
			var rl *github.RateLimitError
			return errors.As(err, &rl) && rl.RetryAt.Equal(t0.Add(2*time.Minute))
		}},
		{"secondary limit on reviews", fakegithub.Fault{Secondary: true}, "/repos/acme/api/pulls/", func(err error) bool {
			var rl *github.RateLimitError
			return errors.As(err, &rl) && rl.Secondary
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, cl := setup(t)
			f.AddDeploy("acme/api", "production", "cccc000000000000000000000000000000000003", "v3", "bob-gh", t0.Add(-20*time.Minute), "success")
			f.AddMergedPull("acme/api", fakegithub.MergedPull{Title: "x", Commits: []string{"cccc000000000000000000000000000000000003"}})
			f.Fail("GET", c.path, c.fault)
			_, err := cl.Investigate(ctx, q)
			if !c.check(err) {
				t.Fatalf("error %v (%T)", err, err)
			}
		})
	}
}

// BenchmarkDeclarationLookup50ms is the declaration-time lookup with 50 ms
// per GitHub call: 5 deploys in the window (4 successful, 2 PRs each) and
// 10 older ones. It reports the time in GitHub round trips (rt/op), the
// figure in the README.
func BenchmarkDeclarationLookup50ms(b *testing.B) {
	f := fakegithub.New()
	defer f.Close()
	f.Now = func() time.Time { return t0 }
	f.AddRepo("acme/api", "main")
	f.AddLookupFixture("acme/api", t0)
	const delay = 50 * time.Millisecond
	tr := &fakegithub.SlowTransport{Delay: delay}
	c, err := github.New(github.Options{APIURL: f.URL(), Token: fakegithub.Token, HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		b.Fatal(err)
	}
	q := playbook.DeployQuery{Services: []playbook.Service{apiSvc}, From: t0.Add(-2 * time.Hour), To: t0, Risky: risky}
	var worst time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		recs, err := c.Investigate(context.Background(), q)
		if err != nil || len(recs) < 5 {
			b.Fatalf("%d deploys, %v", len(recs), err)
		}
		worst = max(worst, time.Since(start))
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(delay), "rt/op")
	b.ReportMetric(float64(worst)/float64(delay), "worst-rt")
	b.ReportMetric(float64(tr.Calls())/float64(b.N), "calls/op")
}
