package github_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	gh "github.com/google/go-github/v60/github"

	"github.com/klaxonhq/klaxon/github"
	"github.com/klaxonhq/klaxon/internal/fakegithub"
	"github.com/klaxonhq/klaxon/playbook"
)

// t0 is the fake's clock: 2026-11-27 14:00 UTC.
var t0 = time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC)

var logins = map[string]string{
	"U_ALICE": "alice-gh", // a collaborator on acme/api
	"U_BOB":   "bob-gh",   // known to Klaxon, but not a collaborator
}

func newFake(t *testing.T, enterprise bool) *fakegithub.Server {
	t.Helper()
	f := fakegithub.New()
	if enterprise {
		f = fakegithub.NewEnterprise()
	}
	t.Cleanup(f.Close)
	f.Now = func() time.Time { return t0 }
	f.AddRepo("acme/api", "main", "alice-gh")
	f.AddRepo("acme/postmortems", "trunk")
	return f
}

func newClient(t *testing.T, o github.Options) *github.Client {
	t.Helper()
	if o.Token == "" {
		o.Token = fakegithub.Token
	}
	if o.Logins == nil {
		o.Logins = logins
	}
	c, err := github.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func setup(t *testing.T) (*fakegithub.Server, *github.Client) {
	f := newFake(t, false)
	return f, newClient(t, github.Options{APIURL: f.URL()})
}

// toFake sends requests meant for api.github.com to the fake, so that the
// adapter runs exactly as configured for github.com.
type toFake struct{ fake *url.URL }

func (tf toFake) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != "api.github.com" {
		return nil, fmt.Errorf("request to %s, not api.github.com", r.URL.Host)
	}
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host = tf.fake.Scheme, tf.fake.Host
	r.Host = tf.fake.Host
	return http.DefaultTransport.RoundTrip(r)
}

// sdk is a plain go-github client on the fake, to set things up the way
// another GitHub user would.
func sdk(t *testing.T, f *fakegithub.Server) *gh.Client {
	t.Helper()
	c := gh.NewClient(nil).WithAuthToken(fakegithub.Token)
	u, err := url.Parse(f.URL())
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = u
	return c
}

func TestRecentDeploysNewestFirstWithStatesAndURLs(t *testing.T) {
	f := newFake(t, false)
	u, _ := url.Parse(f.URL())
	c := newClient(t, github.Options{HTTPClient: &http.Client{Transport: toFake{u}}}) // api.github.com
	ctx := context.Background()

	shaOld := strings.Repeat("a", 40)
	shaMid := strings.Repeat("b", 40)
	f.AddDeploy("acme/api", "production", shaOld, "v1.0.0", "alice-gh", t0.Add(-3*time.Hour), "in_progress", "success")
	f.AddDeploy("acme/api", "production", shaMid, "v1.1.0", "carol-gh", t0.Add(-2*time.Hour), "pending", "failure")
	f.AddDeploy("acme/api", "staging", strings.Repeat("c", 40), "main", "carol-gh", t0.Add(-time.Hour), "success")
	// The newest goes through the API, with a log URL, as a CD system would;
	// its success makes the older successful deploy inactive, as on GitHub.
	api := sdk(t, f)
	d, _, err := api.Repositories.CreateDeployment(ctx, "acme", "api", &gh.DeploymentRequest{
		Ref: gh.String("main"), Environment: gh.String("production"), Description: gh.String("Deploy #812"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.Repositories.CreateDeploymentStatus(ctx, "acme", "api", d.GetID(), &gh.DeploymentStatusRequest{
		State: gh.String("success"), LogURL: gh.String("https://ci.example.com/runs/812"),
	}); err != nil {
		t.Fatal(err)
	}

	got, err := c.Recent(ctx, playbook.Service{Name: "api", Repo: "acme/api"}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d deploys, want the 3 production ones: %+v", len(got), got)
	}
	want := []struct{ sha, ref, state, url, creator string }{
		{d.GetSHA(), "main", "success", "https://ci.example.com/runs/812", fakegithub.Login},
		{shaMid, "v1.1.0", "failure", "https://github.com/acme/api/commit/" + shaMid, "carol-gh"},
		{shaOld, "v1.0.0", "inactive", "https://github.com/acme/api/commit/" + shaOld, "alice-gh"},
	}
	for i, w := range want {
		g := got[i]
		if g.SHA != w.sha || g.Ref != w.ref || g.State != w.state || g.URL != w.url || g.Creator != w.creator || g.Environment != "production" {
			t.Errorf("deploy %d = %+v\nwant sha %s ref %s state %s url %s creator %s", i, g, w.sha, w.ref, w.state, w.url, w.creator)
		}
	}
	if got[0].Description != "Deploy #812" || !got[0].At.Equal(t0) || got[0].At.Location() != time.UTC {
		t.Errorf("newest deploy: description %q at %v, want \"Deploy #812\" at %v UTC", got[0].Description, got[0].At, t0)
	}
	if !got[1].At.Equal(t0.Add(-2 * time.Hour)) {
		t.Errorf("second deploy at %v, want %v", got[1].At, t0.Add(-2*time.Hour))
	}

	// Limit and another environment.
	two, err := c.Recent(ctx, playbook.Service{Repo: "acme/api"}, 2)
	if err != nil || len(two) != 2 || two[0].SHA != d.GetSHA() {
		t.Errorf("limit 2: %+v, %v", two, err)
	}
	staging, err := c.Recent(ctx, playbook.Service{Repo: "acme/api", DeployEnvironment: "staging"}, 5)
	if err != nil || len(staging) != 1 || staging[0].State != "success" || staging[0].Environment != "staging" {
		t.Errorf("staging: %+v, %v", staging, err)
	}
}

func TestRecentWithoutDeploysOrRepo(t *testing.T) {
	_, c := setup(t)
	ctx := context.Background()
	got, err := c.Recent(ctx, playbook.Service{Repo: "acme/postmortems"}, 5)
	if err != nil || len(got) != 0 {
		t.Errorf("no deploys: %+v, %v", got, err)
	}
	for _, repo := range []string{"", "acme", "acme/api/x", "/api"} {
		if _, err := c.Recent(ctx, playbook.Service{Name: "api", Repo: repo}, 5); err == nil {
			t.Errorf("repo %q: no error", repo)
		}
	}
	_, err = c.Recent(ctx, playbook.Service{Repo: "acme/missing"}, 5)
	if err == nil || !strings.Contains(err.Error(), "not found") || !strings.Contains(err.Error(), "acme/missing") {
		t.Errorf("unknown repo: %v", err)
	}
}

func TestFileAssignsTheOwnersLogin(t *testing.T) {
	f, c := setup(t)
	tk, err := c.File(context.Background(), playbook.TicketRequest{
		Repo: "acme/api", Title: "Add a canary stage", Body: "Owner: <@U_ALICE>", Owner: "U_ALICE",
		Labels: []string{"incident-followup"}, Marker: "klaxon:inc-12:action-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := playbook.Ticket{Repo: "acme/api", Number: 1, URL: "https://github.com/acme/api/issues/1", State: "open", Assignee: "alice-gh"}
	if tk != want {
		t.Errorf("ticket = %+v, want %+v", tk, want)
	}
	iss := f.Issues("acme/api")
	if len(iss) != 1 {
		t.Fatalf("%d issues, want 1", len(iss))
	}
	is := iss[0]
	if is.Title != "Add a canary stage" || strings.Join(is.Assignees, ",") != "alice-gh" ||
		strings.Join(is.Labels, ",") != "incident-followup,klaxon" ||
		is.Body != "Owner: <@U_ALICE>\n\n<!-- klaxon:inc-12:action-1 -->" {
		t.Errorf("issue on GitHub = %+v", is)
	}
}

func TestFileUnmappedOwnerIsUnassigned(t *testing.T) {
	f, c := setup(t)
	tk, err := c.File(context.Background(), playbook.TicketRequest{
		Repo: "acme/api", Title: "Alert on queue depth", Body: "Owner: <@U_DAN>", Owner: "U_DAN",
	})
	if err != nil {
		t.Fatal(err)
	}
	if tk.Assignee != "" || tk.Number != 1 {
		t.Errorf("ticket = %+v, want #1 unassigned", tk)
	}
	if is := f.Issues("acme/api")[0]; len(is.Assignees) != 0 || strings.Join(is.Labels, ",") != "klaxon" || is.Body != "Owner: <@U_DAN>" {
		t.Errorf("issue on GitHub = %+v", is)
	}
}

func TestFileNonCollaboratorIsFiledUnassigned(t *testing.T) {
	f, c := setup(t)
	tk, err := c.File(context.Background(), playbook.TicketRequest{
		Repo: "acme/api", Title: "Fix the retry storm", Body: "Owner: <@U_BOB>", Owner: "U_BOB", Marker: "m-1",
	})
	if err != nil {
		t.Fatalf("GitHub refused bob-gh as assignee and the adapter gave up: %v", err)
	}
	if tk.Assignee != "" || tk.Number != 1 || tk.URL != "https://github.com/acme/api/issues/1" {
		t.Errorf("ticket = %+v, want #1 unassigned", tk)
	}
	if iss := f.Issues("acme/api"); len(iss) != 1 || len(iss[0].Assignees) != 0 {
		t.Errorf("issues on GitHub = %+v, want one, unassigned", iss)
	}
	if n := f.Requests()["POST /repos/{owner}/{repo}/issues"]; n != 2 {
		t.Errorf("%d create requests, want 2 (refused with the assignee, then without)", n)
	}
}

func TestFileAdoptFindsTheEarlierIssue(t *testing.T) {
	f, c := setup(t)
	ctx := context.Background()
	req := playbook.TicketRequest{
		Repo: "acme/api", Title: "Runbook for failover", Body: "b", Owner: "U_ALICE", Marker: "klaxon:inc-7:action-2",
	}
	first, err := c.File(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	// Bury it under 150 newer klaxon issues: the adapter must page.
	api := sdk(t, f)
	for i := range 150 {
		if _, _, err := api.Issues.Create(ctx, "acme", "api", &gh.IssueRequest{
			Title: gh.String(fmt.Sprintf("other %d", i)), Body: gh.String("<!-- klaxon:other -->"), Labels: &[]string{"klaxon"},
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Closed since: adoption still finds it.
	f.SetIssueState("acme/api", first.Number, "closed")

	req.Adopt = true
	again, err := c.File(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if again.Number != first.Number || again.URL != first.URL || again.Assignee != "alice-gh" || again.State != "closed" {
		t.Errorf("adopted %+v, want issue #%d (closed, alice-gh)", again, first.Number)
	}
	if n := len(f.Issues("acme/api")); n != 151 {
		t.Errorf("%d issues, want 151: adopting filed a second one", n)
	}

	// Nothing carries this marker: it files.
	req.Marker = "klaxon:inc-7:action-3"
	filed, err := c.File(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if filed.Number != 152 {
		t.Errorf("filed #%d, want a new issue #152", filed.Number)
	}
}

func TestStateReadsClosedBack(t *testing.T) {
	f, c := setup(t)
	ctx := context.Background()
	tk, err := c.File(ctx, playbook.TicketRequest{Repo: "acme/api", Title: "t", Owner: "U_ALICE"})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := c.State(ctx, tk); err != nil || st != "open" {
		t.Fatalf("state = %q, %v; want open", st, err)
	}
	f.SetIssueState("acme/api", tk.Number, "closed")
	if st, err := c.State(ctx, tk); err != nil || st != "closed" {
		t.Errorf("state = %q, %v; want closed", st, err)
	}
	if _, err := c.State(ctx, playbook.Ticket{Repo: "acme/api", Number: 99}); err == nil || !strings.Contains(err.Error(), "acme/api#99") {
		t.Errorf("missing issue: %v", err)
	}
}

func doc(markdown string) playbook.PostmortemDoc {
	return playbook.PostmortemDoc{
		Repo:     "acme/postmortems",
		Path:     "postmortems/2026-11-27-inc-12.md",
		Title:    "INC-12: checkout errors",
		Markdown: []byte(markdown),
		Marker:   "klaxon:INC-12:postmortem",
	}
}

func TestPublishOpensAPullRequest(t *testing.T) {
	f, c := setup(t)
	ctx := context.Background()
	u, err := c.Publish(ctx, doc("# INC-12\n\nWhat happened.\n"))
	if err != nil {
		t.Fatal(err)
	}
	if u != "https://github.com/acme/postmortems/pull/1" {
		t.Errorf("URL = %q", u)
	}
	branch := "klaxon/klaxon-inc-12-postmortem"
	if github.Branch("klaxon:INC-12:postmortem") != branch {
		t.Errorf("Branch = %q, want %q", github.Branch("klaxon:INC-12:postmortem"), branch)
	}
	got, found := f.File("acme/postmortems", branch, "postmortems/2026-11-27-inc-12.md")
	if !found || string(got) != "# INC-12\n\nWhat happened.\n" {
		t.Errorf("file on %s = %q, %v", branch, got, found)
	}
	if _, onTrunk := f.File("acme/postmortems", "trunk", "postmortems/2026-11-27-inc-12.md"); onTrunk {
		t.Error("the file was committed to the default branch, not proposed")
	}
	prs := f.Pulls("acme/postmortems")
	if len(prs) != 1 {
		t.Fatalf("%d pull requests, want 1", len(prs))
	}
	pr := prs[0]
	if pr.Head != branch || pr.Base != "trunk" || pr.Title != "INC-12: checkout errors" || pr.State != "open" ||
		!strings.Contains(pr.Body, "Klaxon") || !strings.Contains(pr.Body, "<!-- klaxon:INC-12:postmortem -->") {
		t.Errorf("pull request = %+v", pr)
	}

	// A retry after a crash adopts it and changes nothing.
	before := f.Requests()
	d := doc("# INC-12\n\nWhat happened.\n")
	d.Adopt = true
	again, err := c.Publish(ctx, d)
	if err != nil || again != u {
		t.Errorf("adopting: %q, %v; want %q", again, err, u)
	}
	after := f.Requests()
	for k, n := range after {
		if !strings.HasPrefix(k, "GET ") && n != before[k] {
			t.Errorf("adopting sent %s (%d -> %d)", k, before[k], n)
		}
	}
	if len(f.Pulls("acme/postmortems")) != 1 {
		t.Error("adopting opened a second pull request")
	}
}

func TestPublishAgainWithoutAdoptKeepsOnePullRequest(t *testing.T) {
	f, c := setup(t)
	ctx := context.Background()
	u1, err := c.Publish(ctx, doc("v1\n"))
	if err != nil {
		t.Fatal(err)
	}
	// Branch, file and pull request exist; the outline changed meanwhile.
	u2, err := c.Publish(ctx, doc("v2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if u2 != u1 {
		t.Errorf("second publish = %q, want the first pull request %q", u2, u1)
	}
	if n := len(f.Pulls("acme/postmortems")); n != 1 {
		t.Errorf("%d pull requests, want 1", n)
	}
	if got, _ := f.File("acme/postmortems", github.Branch("klaxon:INC-12:postmortem"), "postmortems/2026-11-27-inc-12.md"); string(got) != "v2\n" {
		t.Errorf("file on the branch = %q, want the new outline", got)
	}
	// Unchanged outline: no empty commit.
	puts := f.Requests()["PUT /repos/{owner}/{repo}/contents/{path}"]
	if _, err := c.Publish(ctx, doc("v2\n")); err != nil {
		t.Fatal(err)
	}
	if n := f.Requests()["PUT /repos/{owner}/{repo}/contents/{path}"]; n != puts+1 {
		t.Errorf("publishing the same outline sent %d PUTs, want 1 (the refused create)", n-puts)
	}
}

func TestPublishIssueCutsALongOutline(t *testing.T) {
	f, c := setup(t)
	var b strings.Builder
	for i := 0; b.Len() < 100_000; i++ {
		fmt.Fprintf(&b, "- %05d event in the timeline, with some words to make a line\n", i)
	}
	d := doc(b.String())
	u, err := c.PublishIssue(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if u != "https://github.com/acme/postmortems/issues/1" {
		t.Errorf("URL = %q", u)
	}
	is := f.Issues("acme/postmortems")[0]
	if n := utf8.RuneCountInString(is.Body); n > fakegithub.MaxBody {
		t.Errorf("body is %d characters, over GitHub's cap", n)
	}
	if is.Title != "INC-12: checkout errors" || strings.Join(is.Labels, ",") != "postmortem,klaxon" {
		t.Errorf("issue = %q labels %v", is.Title, is.Labels)
	}
	head, tail, found := strings.Cut(is.Body, "\n\n_Cut here")
	if !found {
		t.Fatalf("no note about the cut; body ends %q", is.Body[len(is.Body)-200:])
	}
	if !strings.HasPrefix(b.String(), head+"\n") || len(head) < 60_000 {
		t.Errorf("kept %d bytes, not whole lines of the outline", len(head))
	}
	if !strings.Contains(tail, "full outline is in the incident's Slack channel") || !strings.HasSuffix(tail, "<!-- klaxon:INC-12:postmortem -->") {
		t.Errorf("tail = %q", tail)
	}

	// Adopt finds it rather than filing again.
	d.Adopt = true
	again, err := c.PostmortemPublisher(true).Publish(context.Background(), d)
	if err != nil || again != u || len(f.Issues("acme/postmortems")) != 1 {
		t.Errorf("adopting: %q, %v, %d issues", again, err, len(f.Issues("acme/postmortems")))
	}
}

func TestPublishIssueDoesNotAdoptThePullRequest(t *testing.T) {
	f, c := setup(t)
	ctx := context.Background()
	// Published as a pull request first (carrying the same marker), which
	// someone then labelled "klaxon"; the issue list returns it too.
	pr, err := c.Publish(ctx, doc("x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sdk(t, f).Issues.Edit(ctx, "acme", "postmortems", 1, &gh.IssueRequest{Labels: &[]string{"klaxon"}}); err != nil {
		t.Fatal(err)
	}
	d := doc("x\n")
	d.Adopt = true
	u, err := c.PostmortemPublisher(true).Publish(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if u == pr || u != "https://github.com/acme/postmortems/issues/2" {
		t.Errorf("published as issue at %q, want a new issue (not the pull request %q)", u, pr)
	}
}

func TestPostmortemPublisherChoosesPullRequestOrIssue(t *testing.T) {
	_, c := setup(t)
	ctx := context.Background()
	pr, err := c.PostmortemPublisher(false).Publish(ctx, doc("x\n"))
	if err != nil || !strings.Contains(pr, "/pull/") {
		t.Errorf("as a pull request: %q, %v", pr, err)
	}
	is, err := c.PostmortemPublisher(true).Publish(ctx, doc("x\n"))
	if err != nil || !strings.Contains(is, "/issues/") {
		t.Errorf("as an issue: %q, %v", is, err)
	}
}

func TestEnterpriseServer(t *testing.T) {
	f := newFake(t, true)
	if !strings.HasSuffix(f.URL(), "/api/v3/") {
		t.Fatalf("enterprise URL %q", f.URL())
	}
	c := newClient(t, github.Options{APIURL: strings.TrimSuffix(f.URL(), "/")}) // no trailing slash
	ctx := context.Background()
	tk, err := c.File(ctx, playbook.TicketRequest{Repo: "acme/api", Title: "t", Owner: "U_ALICE"})
	if err != nil {
		t.Fatal(err)
	}
	if tk.URL != f.WebURL()+"/acme/api/issues/1" || tk.Assignee != "alice-gh" {
		t.Errorf("ticket = %+v", tk)
	}
	sha := strings.Repeat("d", 40)
	f.AddDeploy("acme/api", "production", sha, "main", "alice-gh", t0, "success")
	deps, err := c.Recent(ctx, playbook.Service{Repo: "acme/api"}, 3)
	if err != nil || len(deps) != 1 {
		t.Fatalf("deploys %+v, %v", deps, err)
	}
	if want := f.WebURL() + "/acme/api/commit/" + sha; deps[0].URL != want {
		t.Errorf("commit URL = %q, want %q (the web root, without /api/v3)", deps[0].URL, want)
	}
	if u, err := c.Publish(ctx, doc("x\n")); err != nil || u != f.WebURL()+"/acme/postmortems/pull/1" {
		t.Errorf("publish: %q, %v", u, err)
	}
}

func TestBadTokenErrorHidesTheToken(t *testing.T) {
	f := newFake(t, false)
	const token = "ghp_thisIsNotTheRightToken1234567890ab"
	c := newClient(t, github.Options{APIURL: f.URL(), Token: token})
	_, err := c.File(context.Background(), playbook.TicketRequest{Repo: "acme/api", Title: "t"})
	if err == nil {
		t.Fatal("no error with a bad token")
	}
	msg := err.Error()
	if strings.Contains(msg, token) || strings.Contains(msg, "Bearer") {
		t.Errorf("error shows the token: %s", msg)
	}
	if !strings.Contains(msg, "create issue in acme/api") || !strings.Contains(msg, "refused the token") || !strings.Contains(msg, "401") {
		t.Errorf("error does not say what failed: %s", msg)
	}
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != http.StatusUnauthorized {
		t.Errorf("error does not wrap go-github's: %#v", err)
	}
}

func TestRateLimitSaysWhenToRetry(t *testing.T) {
	f, c := setup(t)
	f.Fail("POST", "/repos/acme/api/issues", fakegithub.Fault{RateLimited: true, RetryAfter: 3600})
	_, err := c.File(context.Background(), playbook.TicketRequest{Repo: "acme/api", Title: "t"})
	if err == nil {
		t.Fatal("no error")
	}
	want := "github: create issue in acme/api: GitHub rate limit reached; resets at 15:00 UTC"
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
	var rl *github.RateLimitError
	if !errors.As(err, &rl) || !rl.RetryAt.Equal(t0.Add(time.Hour)) || rl.Secondary {
		t.Errorf("not a primary RateLimitError resetting at %v: %#v", t0.Add(time.Hour), err)
	}
	if len(f.Issues("acme/api")) != 0 {
		t.Error("an issue was filed")
	}
}

func TestSecondaryRateLimit(t *testing.T) {
	f, c := setup(t)
	f.Fail("GET", "/repos/acme/api/deployments", fakegithub.Fault{Secondary: true, RetryAfter: 120})
	_, err := c.Recent(context.Background(), playbook.Service{Repo: "acme/api"}, 5)
	var rl *github.RateLimitError
	if !errors.As(err, &rl) || !rl.Secondary || rl.RetryAt.IsZero() {
		t.Fatalf("err = %v, want a secondary RateLimitError with a retry time", err)
	}
	if !strings.Contains(err.Error(), "secondary rate limit") || !strings.Contains(err.Error(), "retry after") {
		t.Errorf("error = %q", err)
	}
}

func TestServerErrorThenRetryWorks(t *testing.T) {
	f, c := setup(t)
	ctx := context.Background()
	f.AddDeploy("acme/api", "production", strings.Repeat("e", 40), "main", "alice-gh", t0, "success")
	f.Fail("GET", "/repos/acme/api/deployments/", fakegithub.Fault{Status: http.StatusBadGateway})
	_, err := c.Recent(ctx, playbook.Service{Repo: "acme/api"}, 5)
	if err == nil {
		t.Fatal("no error on a 502")
	}
	if msg := err.Error(); !strings.Contains(msg, "read the status of deployment") || !strings.Contains(msg, "502") || !strings.Contains(msg, "try again") {
		t.Errorf("error = %q", msg)
	}
	// The fault was a single one: pressing Retry works.
	deps, err := c.Recent(ctx, playbook.Service{Repo: "acme/api"}, 5)
	if err != nil || len(deps) != 1 || deps[0].State != "success" {
		t.Errorf("retry: %+v, %v", deps, err)
	}
	// 500 on filing: an error, nothing filed, nothing retried behind the caller's back.
	f.Fail("POST", "/repos/acme/api/issues", fakegithub.Fault{Status: http.StatusInternalServerError})
	if _, err := c.File(ctx, playbook.TicketRequest{Repo: "acme/api", Title: "t"}); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("file on a 500: %v", err)
	}
	if n := f.Requests()["POST /repos/{owner}/{repo}/issues"]; n != 1 {
		t.Errorf("%d create requests, want 1", n)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, o := range []github.Options{
		{Token: ""},
		{Token: "   "},
		{Token: "ghp_abc\n"},
		{Token: "t", APIURL: "ftp://ghe.example.com/"},
		{Token: "t", APIURL: "://nope"},
		{Token: "t", APIURL: "ghe.example.com/api/v3"},
		{Token: "t", APIURL: "https://user:secret@ghe.example.com/api/v3/"},
	} {
		if _, err := github.New(o); err == nil {
			t.Errorf("New(%+v): no error", o)
		} else if tok := strings.TrimSpace(o.Token); strings.Contains(err.Error(), "secret") || (len(tok) > 1 && strings.Contains(err.Error(), tok)) {
			t.Errorf("error shows a secret: %v", err)
		}
	}
}

func TestContextCancelled(t *testing.T) {
	_, c := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.File(ctx, playbook.TicketRequest{Repo: "acme/api", Title: "t"}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestAdoptMatchesTheMarkerOnlyWhereKlaxonWritesIt: an issue whose text
// quotes another item's marker (typed by a person, even unescaped) is not
// that item's issue; only the marker Klaxon appends at the end counts.
func TestAdoptMatchesTheMarkerOnlyWhereKlaxonWritesIt(t *testing.T) {
	f, c := setup(t)
	ctx := context.Background()
	typed := playbook.TicketRequest{
		Repo: "acme/api", Title: "Quote", Owner: "U_ALICE", Marker: "klaxon:inc-7:action-1",
		Body: "see <!-- klaxon:inc-7:action-2 --> here",
	}
	if _, err := c.File(ctx, typed); err != nil {
		t.Fatal(err)
	}
	req := playbook.TicketRequest{Repo: "acme/api", Title: "Real", Body: "b", Owner: "U_ALICE", Marker: "klaxon:inc-7:action-2", Adopt: true}
	got, err := c.File(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got.Number != 2 || len(f.Issues("acme/api")) != 2 {
		t.Fatalf("filed as #%d with %d issues: the typed marker of another issue was adopted", got.Number, len(f.Issues("acme/api")))
	}
	// The real one is adopted on the next try, even with GitHub's CRLFs.
	again, err := c.File(ctx, req)
	if err != nil || again.Number != 2 {
		t.Fatalf("adopted #%d, %v; want #2", again.Number, err)
	}
}
