package playbook_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

var dt0 = time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC)

func dep(id int64, sha string, ago time.Duration, state string, flags ...playbook.RiskFlag) playbook.DeployRecord {
	return playbook.DeployRecord{Repo: "acme/api", RepoURL: "https://github.com/acme/api", Flags: flags,
		Deploy: playbook.Deploy{ID: id, SHA: sha, Environment: "production", State: state, At: dt0.Add(-ago)}}
}

func TestRankDeploys(t *testing.T) {
	from := dt0.Add(-2 * time.Hour)
	type want struct {
		order   []int64
		suspect int64 // 0: none
		good    string
	}
	for _, c := range []struct {
		name     string
		deploys  []playbook.DeployRecord
		rejected []string
		want     want
	}{
		{"no deploys", nil, nil, want{nil, 0, ""}},
		{"one", []playbook.DeployRecord{dep(1, "aaaaaaa1", 20*time.Minute, "success")}, nil, want{[]int64{1}, 1, ""}},
		{"many: the newest before detection leads, rollback to the one before",
			[]playbook.DeployRecord{dep(1, "aaaaaaa1", 100*time.Minute, "success"), dep(2, "bbbbbbb2", 60*time.Minute, "success"), dep(3, "ccccccc3", 10*time.Minute, "success"), dep(9, "0000000a", 5*time.Hour, "success")},
			nil, want{[]int64{3, 2, 1}, 3, "bbbbbbb2"}},
		{"a failed deploy never went live",
			[]playbook.DeployRecord{dep(1, "aaaaaaa1", 50*time.Minute, "success"), dep(2, "bbbbbbb2", 10*time.Minute, "failure"), dep(9, "0000000a", 3*time.Hour, "success")},
			nil, want{[]int64{1, 2}, 1, "0000000a"}},
		{"a redeploy of an older SHA (a rollback) is not suspect",
			[]playbook.DeployRecord{dep(1, "aaaaaaa1", 90*time.Minute, "success"), dep(2, "bbbbbbb2", 40*time.Minute, "success"), dep(3, "aaaaaaa1", 10*time.Minute, "success")},
			nil, want{[]int64{2, 1, 3}, 2, "aaaaaaa1"}},
		{"a deploy after detection is not suspect",
			[]playbook.DeployRecord{dep(1, "aaaaaaa1", 30*time.Minute, "success"), dep(2, "bbbbbbb2", -5*time.Minute, "success")},
			nil, want{[]int64{1, 2}, 1, ""}},
		{"ties (same minute) broken by flags",
			[]playbook.DeployRecord{
				dep(1, "aaaaaaa1", 15*time.Minute+10*time.Second, "success", playbook.FlagMigration, playbook.FlagNoApproval),
				dep(2, "bbbbbbb2", 15*time.Minute+40*time.Second, "success"),
				dep(3, "ccccccc3", 15*time.Minute+20*time.Second, "success", playbook.FlagLargeDiff)},
			nil, want{[]int64{1, 3, 2}, 1, "ccccccc3"}},
		{"ruled out: the next leads",
			[]playbook.DeployRecord{dep(1, "aaaaaaa1", 50*time.Minute, "success"), dep(2, "bbbbbbb2", 10*time.Minute, "success")},
			[]string{"acme/api#2"}, want{[]int64{1, 2}, 1, ""}},
		{"only failures: no suspect",
			[]playbook.DeployRecord{dep(1, "aaaaaaa1", 50*time.Minute, "error"), dep(2, "bbbbbbb2", 10*time.Minute, "failure")},
			nil, want{[]int64{2, 1}, 0, ""}},
		{"outside the window: not listed, still the rollback target",
			[]playbook.DeployRecord{dep(1, "aaaaaaa1", 3*time.Hour, "success"), dep(2, "bbbbbbb2", 10*time.Minute, "success")},
			nil, want{[]int64{2}, 2, "aaaaaaa1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := playbook.RankDeploys(c.deploys, from, dt0, dt0.Add(10*time.Minute), c.rejected)
			var ids []int64
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			if !slices.Equal(ids, c.want.order) {
				t.Fatalf("order %v, want %v", ids, c.want.order)
			}
			rep := playbook.DeployReport{Ranked: got}
			s, ok := rep.Suspect()
			if c.want.suspect == 0 {
				if ok {
					t.Fatalf("suspect %d, want none", s.ID)
				}
				return
			}
			if !ok || s.ID != c.want.suspect {
				t.Fatalf("suspect %+v (ok %v), want %d", s, ok, c.want.suspect)
			}
			gotGood := ""
			if s.KnownGood != nil {
				gotGood = s.KnownGood.SHA
				if want := "https://github.com/acme/api/compare/" + gotGood + "..." + s.SHA; s.CompareURL != want {
					t.Errorf("compare %q, want %q", s.CompareURL, want)
				}
			}
			if gotGood != c.want.good {
				t.Fatalf("known good %q, want %q", gotGood, c.want.good)
			}
		})
	}
}

func TestChangeFailureRates(t *testing.T) {
	services := []playbook.Service{{Name: "api", Repo: "acme/api"}, {Name: "web", Repo: "acme/web", DeployEnvironment: "prod"}, {Name: "docs"}}
	linked := func(d playbook.DeployRecord, n ...int64) playbook.DeployRecord { d.Incidents = n; return d }
	web := func(d playbook.DeployRecord) playbook.DeployRecord {
		d.Repo, d.Environment = "acme/web", "prod"
		return d
	}
	recs := []playbook.DeployRecord{
		dep(1, "a1a1a1a", 1*time.Hour, "success"),
		linked(dep(2, "b2b2b2b", 2*time.Hour, "success"), 7),
		dep(3, "c3c3c3c", 3*time.Hour, "success"),
		linked(dep(4, "d4d4d4d", 4*time.Hour, "success"), 8, 9), // two incidents: one failed change
		dep(5, "e5e5e5e", 5*time.Hour, "failure"),               // never went live: not a change
		dep(6, "f6f6f6f", 30*24*time.Hour, "success"),           // before the window
		web(dep(7, "a7a7a7a", time.Hour, "success")),
		func() playbook.DeployRecord {
			d := dep(8, "b8b8b8b", time.Hour, "success")
			d.Environment = "staging"
			return d
		}(),
	}
	got := playbook.ChangeFailureRates(recs, services, dt0.Add(-7*24*time.Hour), dt0)
	if len(got) != 2 {
		t.Fatalf("got %+v, want api and web (docs has no repo)", got)
	}
	if got[0] != (playbook.CFR{Service: "api", Deploys: 4, Failed: 2}) {
		t.Fatalf("api = %+v, want 2 of 4", got[0])
	}
	if r, ok := got[0].Rate(); !ok || r != 0.5 {
		t.Fatalf("api rate %v %v", r, ok)
	}
	if got[1] != (playbook.CFR{Service: "web", Deploys: 1}) {
		t.Fatalf("web = %+v", got[1])
	}
	if _, ok := (playbook.CFR{Service: "x"}).Rate(); ok {
		t.Fatal("a rate with no deploys")
	}
}

func TestMatchRiskyPath(t *testing.T) {
	pats := playbook.DefaultRiskyPaths
	for p, want := range map[string]bool{
		"migrations/0001_init.py":          true,
		"app/migrations/0002.py":           true,
		"db/migrate/20261127_add_col.rb":   true,
		"schema/users.sql":                 true,
		"db/schema.rb":                     true,
		"README.md":                        false,
		"src/migrations.go":                false, // a file, not the directory
		"docs/db/migrate.md":               false,
		"internal/sqlstore/query.go":       false,
		"":                                 false,
		"/absolute/migrations/x.sql":       true,
		"nested/deep/db/migrate/x/y/z.rb":  true,
		"tools/structure.sql":              true,
		"vendor/github.com/x/ddl/parse.go": false,
	} {
		if got := playbook.MatchRiskyPath(pats, p); got != want {
			t.Errorf("MatchRiskyPath(%q) = %v, want %v", p, got, want)
		}
	}
	if !playbook.MatchRiskyPath([]string{"db/*.sql"}, "svc/db/001.sql") || playbook.MatchRiskyPath([]string{"db/*.sql"}, "db/x/001.sql") {
		t.Error("db/*.sql matches the end of the path")
	}
	for p, want := range map[string]bool{"migrations/": true, "*.sql": true, "[": false, "": false, "/": false, "a/[b": false} {
		if got := playbook.ValidRiskyPattern(p); got != want {
			t.Errorf("ValidRiskyPattern(%q) = %v", p, got)
		}
	}
}

func FuzzMatchRiskyPath(f *testing.F) {
	f.Add("migrations/", "app/migrations/1.py")
	f.Add("*.sql", "a.sql")
	f.Add("db/*.sql", "x/db/y.sql")
	f.Add("[", "[")
	f.Add("a//b/", "a//b/c")
	f.Add("**/x", "/")
	f.Fuzz(func(t *testing.T, pattern, path string) {
		got := playbook.MatchRiskyPath([]string{pattern}, path)
		// Adding patterns never unmatches a path, and an invalid pattern
		// matches nothing.
		if got && !playbook.MatchRiskyPath([]string{"zz-unrelated/", pattern}, path) {
			t.Fatal("a second pattern unmatched")
		}
		if got && !playbook.ValidRiskyPattern(pattern) {
			t.Fatalf("invalid pattern %q matched %q", pattern, path)
		}
	})
}

func TestRiskFlags(t *testing.T) {
	approved := playbook.PullRequest{Number: 1, Approvers: []string{"carol"}, Additions: 10, Deletions: 5}
	if f := playbook.RiskFlags([]playbook.PullRequest{approved}, true, 500); len(f) != 0 {
		t.Fatalf("a small approved change flagged %v", f)
	}
	big := playbook.PullRequest{Number: 2, Additions: 400, Deletions: 200, Risky: []string{"db/migrate/1.rb"}}
	if f := playbook.RiskFlags([]playbook.PullRequest{approved, big}, true, 500); !slices.Equal(f, []playbook.RiskFlag{playbook.FlagMigration, playbook.FlagLargeDiff, playbook.FlagNoApproval}) {
		t.Fatalf("flags %v", f)
	}
	if f := playbook.RiskFlags(nil, true, 500); !slices.Equal(f, []playbook.RiskFlag{playbook.FlagNoApproval}) {
		t.Fatalf("a direct push: %v", f)
	}
	if f := playbook.RiskFlags(nil, false, 500); f != nil {
		t.Fatalf("PRs unknown: %v", f)
	}
}

// ---- the declaration-time lookup against fakes

type fakeLookup struct {
	mu    sync.Mutex
	recs  []playbook.DeployRecord
	err   error
	calls int
	q     playbook.DeployQuery
}

func (f *fakeLookup) Investigate(_ context.Context, q playbook.DeployQuery) ([]playbook.DeployRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.q = q
	if f.err != nil {
		return nil, f.err
	}
	return slices.Clone(f.recs), nil
}

type fakeDeployPoster struct {
	mu       sync.Mutex
	posts    []playbook.DeployReport
	edits    int
	failures []string
}

func (f *fakeDeployPoster) PostDeploys(_ context.Context, b playbook.Briefing, r playbook.DeployReport, m playbook.MessageRef) (playbook.MessageRef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.posts = append(f.posts, r)
	if !m.Zero() {
		f.edits++
		return m, nil
	}
	return playbook.MessageRef{Channel: b.Incident.Channel.ID, TS: fmt.Sprintf("d%d", len(f.posts))}, nil
}

func (f *fakeDeployPoster) PostDeploysFailure(_ context.Context, _ playbook.Briefing, n playbook.Notice) error {
	text, err := noticeWords.RenderNotice(n)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, text)
	return nil
}

func withDeploys(h *harness) (*fakeLookup, *fakeDeployPoster) {
	h.app.Deps().Services[0].Repo = "acme/api"
	h.app.Deps().DeployLog = h.store
	fl, fp := &fakeLookup{}, &fakeDeployPoster{}
	h.app.Deps().DeployLookup, h.app.Deps().DeployPoster = fl, fp
	return fl, fp
}

func TestDeploysPostedAtDeclaration(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	fl, fp := withDeploys(h)
	now := h.clock.Now().UTC()
	suspect := playbook.DeployRecord{Repo: "acme/api", RepoURL: "https://github.com/acme/api", Detailed: true,
		Deploy: playbook.Deploy{ID: 3, SHA: "ccccccc3ccc", Environment: "production", State: "success", At: now.Add(-15 * time.Minute)},
		PRs:    []playbook.PullRequest{{Number: 12, Author: "bob", Additions: 700, Risky: []string{"db/migrate/1.rb"}}}}
	older := playbook.DeployRecord{Repo: "acme/api", Deploy: playbook.Deploy{ID: 2, SHA: "bbbbbbb2bbb", Environment: "production", State: "success", At: now.Add(-50 * time.Minute)},
		Detailed: true, PRs: []playbook.PullRequest{{Number: 11, Approvers: []string{"carol"}}}}
	good := playbook.DeployRecord{Repo: "acme/api", Deploy: playbook.Deploy{ID: 1, SHA: "aaaaaaa1aaa", Environment: "production", State: "success", At: now.Add(-5 * time.Hour)}}
	fl.recs = []playbook.DeployRecord{suspect, older, good}

	inc := h.declare(t, "Checkout 500s", playbook.SEV2, "checkout")
	res, err := h.app.SetUp(ctx, inc.Number)
	if err != nil || len(res.Failed) != 0 {
		t.Fatalf("SetUp = %+v, %v", res.Failed, err)
	}
	if fl.calls != 1 || !fl.q.From.Equal(now.Add(-2*time.Hour)) || fl.q.Risky == nil || !fl.q.Risky("migrations/1.sql") {
		t.Fatalf("lookup: %d calls, query %+v", fl.calls, fl.q)
	}
	if len(fp.posts) != 1 {
		t.Fatalf("%d posts", len(fp.posts))
	}
	s, ok := fp.posts[0].Suspect()
	if !ok || s.ID != 3 || !slices.Equal(s.Flags, []playbook.RiskFlag{playbook.FlagMigration, playbook.FlagLargeDiff, playbook.FlagNoApproval}) || s.KnownGood == nil || s.KnownGood.SHA != "bbbbbbb2bbb" {
		t.Fatalf("suspect %+v", s)
	}
	got, _ := h.store.Get(ctx, inc.Number)
	if got.Deploys == nil || got.Deploys.Suspect == nil || got.Deploys.Suspect.ID != 3 || got.Deploys.Msg.Zero() {
		t.Fatalf("stored finding %+v", got.Deploys)
	}
	if c, ok := got.Checked[playbook.ItemDeploys]; !ok || c.By != playbook.ActorKlaxon {
		t.Fatalf("deploys item not checked by Klaxon: %+v", got.Checked)
	}
	// The records are in the log (for CFR), with flags.
	recs, _ := h.store.DeploysSince(ctx, time.Time{})
	if len(recs) != 3 {
		t.Fatalf("log has %d records", len(recs))
	}
	// One source of truth: the rollback names the stored suspect.
	_, g, _, err := h.app.Remediate(ctx, inc.Number, playbook.RemedyRollback, "U0IC", "rb1")
	if err != nil || g.Suspect == nil || g.Suspect.SHA != "ccccccc3ccc" || g.KnownGood == nil || g.KnownGood.SHA != "bbbbbbb2bbb" || g.CompareURL == "" {
		t.Fatalf("rollback guidance %+v %+v %q, %v", g.Suspect, g.KnownGood, g.CompareURL, err)
	}
	// A resumed setup does not post twice.
	if _, err := h.app.SetUp(ctx, inc.Number); err != nil || fl.calls != 1 {
		t.Fatalf("second SetUp looked up again (%d calls), %v", fl.calls, err)
	}

	// "Not this one" on the suspect: the next leads and the message is edited.
	got, applied, err := h.app.SetDeployVerdict(ctx, inc.Number, "acme/api#3", false, "U0IC", "no1")
	if err != nil || !applied || got.Deploys.Suspect == nil || got.Deploys.Suspect.ID != 2 || fp.edits != 1 {
		t.Fatalf("after Not this one: %+v, applied %v, %d edits, %v", got.Deploys.Suspect, applied, fp.edits, err)
	}
	// The same click again changes nothing.
	if _, applied, _ := h.app.SetDeployVerdict(ctx, inc.Number, "acme/api#3", false, "U0IC", "no1"); applied {
		t.Fatal("a repeated click applied")
	}
	// "This is the cause" on deploy 3 after all: confirmed, a failed change.
	got, applied, err = h.app.SetDeployVerdict(ctx, inc.Number, "acme/api#3", true, "U0IC", "yes1")
	if err != nil || !applied || !got.Deploys.Confirmed || got.Deploys.Suspect.ID != 3 {
		t.Fatalf("after This is the cause: %+v, %v", got.Deploys, err)
	}
	cfr, _ := h.app.ChangeFailureRates(ctx, now.Add(-24*time.Hour), now)
	if len(cfr) != 1 || cfr[0].Deploys != 3 || cfr[0].Failed != 1 {
		t.Fatalf("CFR %+v, want 1 failed of 3", cfr)
	}
	// Linking another one moves the link.
	if _, _, _, err := h.app.LinkCauseBySHA(ctx, inc.Number, "bbbbbbb", "U0IC", "cause1"); err != nil {
		t.Fatal(err)
	}
	cfr, _ = h.app.ChangeFailureRates(ctx, now.Add(-24*time.Hour), now)
	recs, _ = h.store.DeploysSince(ctx, time.Time{})
	for _, r := range recs {
		if linked := slices.Contains(r.Incidents, inc.Number); linked != (r.ID == 2) {
			t.Fatalf("deploy %d linked=%v", r.ID, linked)
		}
	}
	if cfr[0].Failed != 1 {
		t.Fatalf("CFR after moving the link %+v", cfr)
	}
	if _, _, _, err := h.app.LinkCauseBySHA(ctx, inc.Number, "zzz", "U0IC", "cause2"); playbook.ErrorCode(err) != playbook.CodeBadInput {
		t.Fatalf("bad SHA: %v", err)
	}
	if _, _, _, err := h.app.LinkCauseBySHA(ctx, inc.Number, "fffffff", "U0IC", "cause3"); playbook.ErrorCode(err) != playbook.CodeNotFound {
		t.Fatalf("unknown SHA: %v", err)
	}
	// The post-mortem: the window's deploys and the linked one with its PRs.
	var pm playbook.Postmortem
	h.app.Deps().RenderPostmortem = func(p playbook.Postmortem) ([]byte, error) { pm = withSentences(p); return []byte("x"), nil }
	cur, _ := h.store.Get(ctx, inc.Number)
	if _, _, err := h.app.RenderOutline(ctx, cur); err != nil {
		t.Fatal(err)
	}
	if d := pm.Deploys; !d.Looked || len(d.List) != 2 || d.Cause == nil || d.Cause.Short != "bbbbbbb" || len(d.Cause.PRs) != 1 || d.Cause.PRs[0].Number != 11 {
		t.Fatalf("post-mortem deploys %+v", pm.Deploys)
	}
	timeline := ""
	for _, e := range pm.Timeline {
		timeline += e.Text + "\n"
	}
	if !strings.Contains(timeline, "Deploy ccccccc of acme/api, success") || !strings.Contains(timeline, "linked deploy bbbbbbb of acme/api as the cause") {
		t.Fatalf("post-mortem timeline lacks the deploys:\n%s", timeline)
	}
	evs := h.timeline(t, inc.Number)
	if countEvents(evs, playbook.EventDeploy) != 2 || countEvents(evs, playbook.EventSuspectDeploy) != 1 || countEvents(evs, playbook.EventDeployLinked) != 2 || countEvents(evs, playbook.EventDeployRuled) != 1 {
		t.Fatalf("timeline: %d deploys, %d suspect, %d linked, %d ruled", countEvents(evs, playbook.EventDeploy), countEvents(evs, playbook.EventSuspectDeploy), countEvents(evs, playbook.EventDeployLinked), countEvents(evs, playbook.EventDeployRuled))
	}
}

func TestDeploysNoneInWindowStillChecks(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	_, fp := withDeploys(h)
	inc := h.declare(t, "Checkout slow", playbook.SEV3, "checkout")
	if _, err := h.app.SetUp(ctx, inc.Number); err != nil {
		t.Fatal(err)
	}
	got, _ := h.store.Get(ctx, inc.Number)
	if len(fp.posts) != 1 || len(fp.posts[0].Ranked) != 0 || got.Deploys.Suspect != nil {
		t.Fatalf("posts %+v, finding %+v", fp.posts, got.Deploys)
	}
	if _, ok := got.Checked[playbook.ItemDeploys]; !ok {
		t.Fatal("no deploys in the window: the item is still checked (they were looked for)")
	}
	// A service without a repo: nothing looked up.
	other := h.declare(t, "Search slow", playbook.SEV3, "search")
	if _, err := h.app.SetUp(ctx, other.Number); err != nil || len(fp.posts) != 1 {
		t.Fatalf("search (no repo) posted: %d, %v", len(fp.posts), err)
	}
}

func TestDeploysGitHubDownKeepsDeclaration(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	fl, fp := withDeploys(h)
	fl.err = errors.New("github: list production deployments of acme/api: GitHub is having trouble; try again: 502")
	inc := h.declare(t, "Checkout down", playbook.SEV1, "checkout")
	res, err := h.app.SetUp(ctx, inc.Number)
	if err != nil || len(res.Failed) != 0 || !res.Incident.Ready() {
		t.Fatalf("declaration not complete with GitHub down: %+v, %v", res.Failed, err)
	}
	if len(fp.failures) != 1 || !strings.Contains(fp.failures[0], "could not read the recent deploys") || len(fp.posts) != 0 {
		t.Fatalf("failures %q, posts %d", fp.failures, len(fp.posts))
	}
	got, _ := h.store.Get(ctx, inc.Number)
	if _, ok := got.Checked[playbook.ItemDeploys]; ok {
		t.Fatal("item checked although the lookup failed")
	}
	// Retry once GitHub is back.
	fl.err = nil
	if err := h.app.RetryDeploys(ctx, inc.Number, "U0IC", "retry1"); err != nil {
		t.Fatal(err)
	}
	if err := h.app.RetryDeploys(ctx, inc.Number, "U0IC", "retry1"); err != nil || len(fp.posts) != 1 {
		t.Fatalf("a repeated Retry click posted again: %d posts, %v", len(fp.posts), err)
	}
	got, _ = h.store.Get(ctx, inc.Number)
	if _, ok := got.Checked[playbook.ItemDeploys]; !ok || got.Deploys.Failures != 0 {
		t.Fatalf("after the retry: %+v", got.Deploys)
	}
}

func TestWatchdogLinksDeclarationInsideWindow(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	withDeploys(h)
	h.app.Deps().WatchWindow = 5 * time.Minute
	now := h.clock.Now().UTC()
	ev := playbook.DeployEvent{Repo: "acme/api", Deploy: playbook.Deploy{ID: 41, SHA: "deadbeef0042", Environment: "production", State: "success", At: now.Add(-time.Minute)}, StatusAt: now}
	if _, _, err := h.app.RecordDeploy(ctx, "d1", ev); err != nil {
		t.Fatal(err)
	}
	// Another environment opens no window.
	stg := ev
	stg.Deploy.ID, stg.Deploy.Environment = 42, "staging"
	if r, _, _ := h.app.RecordDeploy(ctx, "d2", stg); !r.WatchUntil.IsZero() {
		t.Fatalf("staging opened a window until %v", r.WatchUntil)
	}
	if ws, _ := h.app.OpenWindows(ctx, now); len(ws) != 1 || ws[0].Service != "checkout" || !ws[0].Until.Equal(now.Add(5*time.Minute)) {
		t.Fatalf("windows %+v", ws)
	}
	h.clock.Advance(4 * time.Minute)
	inc := h.declare(t, "Checkout 500s", playbook.SEV2, "checkout")
	if inc.Deploys == nil || !inc.Deploys.Confirmed || !inc.Deploys.Watchdog || inc.Deploys.Suspect.SHA != "deadbeef0042" {
		t.Fatalf("declared inside the window: %+v", inc.Deploys)
	}
	recs, _ := h.store.DeploysSince(ctx, time.Time{})
	for _, r := range recs {
		if r.ID == 41 && !slices.Equal(r.Incidents, []int64{inc.Number}) {
			t.Fatalf("deploy 41 incidents %v", r.Incidents)
		}
	}
	// Another service is not in the window; nor is checkout once it ends.
	if other := h.declare(t, "Search", playbook.SEV3, "search"); other.Deploys != nil {
		t.Fatalf("search linked: %+v", other.Deploys)
	}
	h.clock.Advance(time.Minute)
	if late := h.declare(t, "Checkout again", playbook.SEV3, "checkout"); late.Deploys != nil {
		t.Fatalf("declared at the window's end: %+v", late.Deploys)
	}
	if ws, _ := h.app.OpenWindows(ctx, h.clock.Now()); len(ws) != 0 {
		t.Fatalf("windows after expiry %+v", ws)
	}
}
