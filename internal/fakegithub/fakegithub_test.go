package fakegithub_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/klaxonhq/klaxon/internal/fakegithub"
)

var t0 = time.Date(2026, 11, 27, 14, 0, 0, 0, time.UTC)

func start(t *testing.T) (*fakegithub.Server, *gh.Client) {
	t.Helper()
	f := fakegithub.New()
	t.Cleanup(f.Close)
	f.Now = func() time.Time { return t0 }
	f.AddRepo("acme/api", "main", "alice")
	return f, client(t, f, fakegithub.Token)
}

func client(t *testing.T, f *fakegithub.Server, token string) *gh.Client {
	t.Helper()
	c := gh.NewClient(nil)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	u, err := url.Parse(f.URL())
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = u
	return c
}

// status returns the HTTP status of a go-github error and its GitHub
// error body.
func status(t *testing.T, err error) (int, *gh.ErrorResponse) {
	t.Helper()
	var er *gh.ErrorResponse
	if !errors.As(err, &er) {
		t.Fatalf("err = %v (%T), want a GitHub error response", err, err)
	}
	return er.Response.StatusCode, er
}

func TestAuthentication(t *testing.T) {
	f, _ := start(t)
	ctx := context.Background()
	for _, tok := range []string{"", "ghp_wrong"} {
		_, _, err := client(t, f, tok).Repositories.Get(ctx, "acme", "api")
		if code, er := status(t, err); code != http.StatusUnauthorized || er.Message != "Bad credentials" {
			t.Errorf("token %q: %d %q, want 401 Bad credentials", tok, code, er.Message)
		}
	}
	// The older "token" scheme works too.
	req, _ := http.NewRequest("GET", f.URL()+"repos/acme/api", nil)
	req.Header.Set("Authorization", "token "+fakegithub.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"default_branch":"main"`) {
		t.Errorf("token scheme: %d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("X-RateLimit-Limit") != "5000" || resp.Header.Get("X-RateLimit-Remaining") == "0" {
		t.Errorf("rate-limit headers: %v", resp.Header)
	}
}

func TestUnknownRepoAndRoute(t *testing.T) {
	f, c := start(t)
	ctx := context.Background()
	_, _, err := c.Issues.Create(ctx, "acme", "nope", &gh.IssueRequest{Title: gh.String("t")})
	if code, er := status(t, err); code != http.StatusNotFound || er.Message != "Not Found" {
		t.Errorf("unknown repo: %d %q", code, er.Message)
	}
	_, _, err = c.Issues.Get(ctx, "acme", "api", 7)
	if code, _ := status(t, err); code != http.StatusNotFound {
		t.Errorf("unknown issue: %d", code)
	}
	_, _, err = c.Repositories.ListCollaborators(ctx, "acme", "api", nil)
	if code, _ := status(t, err); code != http.StatusNotFound {
		t.Errorf("unknown route: %d", code)
	}
	if n := f.Requests()["GET unknown"]; n != 1 {
		t.Errorf("unknown routes counted %d, want 1", n)
	}
}

func TestIssueValidation(t *testing.T) {
	f, c := start(t)
	ctx := context.Background()
	cases := []struct {
		name       string
		req        *gh.IssueRequest
		field      string
		code, text string
	}{
		{"no title", &gh.IssueRequest{Body: gh.String("b")}, "title", "missing_field", ""},
		{"blank title", &gh.IssueRequest{Title: gh.String("  ")}, "title", "missing_field", ""},
		{"long title", &gh.IssueRequest{Title: gh.String(strings.Repeat("t", 257))}, "title", "custom", "title is too long"},
		{"long body", &gh.IssueRequest{Title: gh.String("t"), Body: gh.String(strings.Repeat("é", fakegithub.MaxBody+1))},
			"body", "custom", "body is too long (maximum is 65536 characters)"},
		{"not a collaborator", &gh.IssueRequest{Title: gh.String("t"), Assignees: &[]string{"mallory"}}, "assignees", "invalid", ""},
		{"not a collaborator (assignee)", &gh.IssueRequest{Title: gh.String("t"), Assignee: gh.String("mallory")}, "assignees", "invalid", ""},
	}
	for _, tc := range cases {
		_, _, err := c.Issues.Create(ctx, "acme", "api", tc.req)
		code, er := status(t, err)
		if code != http.StatusUnprocessableEntity || er.Message != "Validation Failed" || len(er.Errors) != 1 ||
			er.Errors[0].Field != tc.field || er.Errors[0].Code != tc.code || er.Errors[0].Resource != "Issue" ||
			!strings.Contains(er.Errors[0].Message, tc.text) {
			t.Errorf("%s: %d %+v", tc.name, code, er)
		}
	}
	if len(f.Issues("acme/api")) != 0 {
		t.Error("an invalid issue was created")
	}
	// Exactly at the cap is fine; a collaborator can be assigned.
	is, _, err := c.Issues.Create(ctx, "acme", "api", &gh.IssueRequest{
		Title: gh.String("t"), Body: gh.String(strings.Repeat("é", fakegithub.MaxBody)), Assignees: &[]string{"Alice"},
		Labels: &[]string{"klaxon", "sev1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if is.GetNumber() != 1 || is.GetState() != "open" || is.GetAssignee().GetLogin() != "Alice" || len(is.Labels) != 2 ||
		is.GetHTMLURL() != "https://github.com/acme/api/issues/1" || is.GetUser().GetLogin() != fakegithub.Login ||
		!is.GetCreatedAt().Time.Equal(t0) {
		t.Errorf("created %+v", is)
	}
}

func TestIssueListFiltersAndPagination(t *testing.T) {
	f, c := start(t)
	ctx := context.Background()
	clock := t0
	f.Now = func() time.Time { clock = clock.Add(time.Minute); return clock }
	for i := 1; i <= 65; i++ {
		labels := []string{"klaxon"}
		if i%5 == 0 {
			labels = append(labels, "sev1")
		}
		if _, _, err := c.Issues.Create(ctx, "acme", "api", &gh.IssueRequest{Title: gh.String(fmt.Sprint(i)), Labels: &labels}); err != nil {
			t.Fatal(err)
		}
	}
	f.SetIssueState("acme/api", 10, "closed")

	// Default: open, newest first, 30 a page, with Link rel="next"/"last".
	list, resp, err := c.Issues.ListByRepo(ctx, "acme", "api", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 30 || list[0].GetNumber() != 65 || resp.NextPage != 2 || resp.LastPage != 3 {
		t.Errorf("page 1: %d issues, first #%d, next %d, last %d", len(list), list[0].GetNumber(), resp.NextPage, resp.LastPage)
	}
	list, resp, err = c.Issues.ListByRepo(ctx, "acme", "api", &gh.IssueListByRepoOptions{ListOptions: gh.ListOptions{Page: 3}})
	if err != nil || len(list) != 4 || resp.NextPage != 0 || resp.PrevPage != 2 {
		t.Errorf("page 3: %d issues, next %d, prev %d, %v", len(list), resp.NextPage, resp.PrevPage, err)
	}
	// per_page is capped at 100.
	list, _, err = c.Issues.ListByRepo(ctx, "acme", "api", &gh.IssueListByRepoOptions{State: "all", ListOptions: gh.ListOptions{PerPage: 500}})
	if err != nil || len(list) != 65 {
		t.Errorf("per_page 500: %d, %v", len(list), err)
	}
	// Labels: all must match; state filters; ascending order.
	list, _, err = c.Issues.ListByRepo(ctx, "acme", "api", &gh.IssueListByRepoOptions{
		Labels: []string{"KLAXON", "sev1"}, State: "all", Direction: "asc",
	})
	if err != nil || len(list) != 13 || list[0].GetNumber() != 5 {
		t.Errorf("labels klaxon,sev1: %d issues, %v", len(list), err)
	}
	list, _, err = c.Issues.ListByRepo(ctx, "acme", "api", &gh.IssueListByRepoOptions{State: "closed"})
	if err != nil || len(list) != 1 || list[0].GetNumber() != 10 || list[0].GetClosedAt().IsZero() {
		t.Errorf("closed: %+v, %v", list, err)
	}
	_, _, err = c.Issues.ListByRepo(ctx, "acme", "api", &gh.IssueListByRepoOptions{State: "shut"})
	if code, _ := status(t, err); code != http.StatusUnprocessableEntity {
		t.Errorf("bad state: %d", code)
	}
}

func TestIssueEdit(t *testing.T) {
	f, c := start(t)
	ctx := context.Background()
	if _, _, err := c.Issues.Create(ctx, "acme", "api", &gh.IssueRequest{Title: gh.String("t")}); err != nil {
		t.Fatal(err)
	}
	is, _, err := c.Issues.Edit(ctx, "acme", "api", 1, &gh.IssueRequest{State: gh.String("closed"), StateReason: gh.String("not_planned")})
	if err != nil || is.GetState() != "closed" || is.GetStateReason() != "not_planned" {
		t.Errorf("close: %+v, %v", is, err)
	}
	_, _, err = c.Issues.Edit(ctx, "acme", "api", 1, &gh.IssueRequest{State: gh.String("done")})
	if code, _ := status(t, err); code != http.StatusUnprocessableEntity {
		t.Errorf("bad state: %d", code)
	}
	if got := f.Issues("acme/api")[0]; got.State != "closed" || got.Title != "t" {
		t.Errorf("issue = %+v", got)
	}
}

func TestRefsContentsAndPulls(t *testing.T) {
	f, c := start(t)
	ctx := context.Background()
	main, _, err := c.Git.GetRef(ctx, "acme", "api", "heads/main")
	if err != nil {
		t.Fatal(err)
	}
	sha := main.GetObject().GetSHA()
	if len(sha) != 40 || main.GetRef() != "refs/heads/main" {
		t.Errorf("main = %+v", main)
	}
	if _, _, err := c.Git.GetRef(ctx, "acme", "api", "heads/klaxon/x"); err == nil {
		t.Error("a missing branch was found")
	}
	ref := &gh.Reference{Ref: gh.String("refs/heads/klaxon/x"), Object: &gh.GitObject{SHA: gh.String(sha)}}
	if _, _, err := c.Git.CreateRef(ctx, "acme", "api", ref); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Git.CreateRef(ctx, "acme", "api", ref)
	if code, er := status(t, err); code != http.StatusUnprocessableEntity || er.Message != "Reference already exists" {
		t.Errorf("ref exists: %d %q", code, er.Message)
	}
	bad := &gh.Reference{Ref: gh.String("refs/heads/y"), Object: &gh.GitObject{SHA: gh.String(strings.Repeat("0", 40))}}
	if _, _, err := c.Git.CreateRef(ctx, "acme", "api", bad); err == nil {
		t.Error("a ref to a missing commit was created")
	}
	// A pull request needs commits between base and head.
	pr := &gh.NewPullRequest{Title: gh.String("PM"), Head: gh.String("klaxon/x"), Base: gh.String("main")}
	_, _, err = c.PullRequests.Create(ctx, "acme", "api", pr)
	if code, er := status(t, err); code != http.StatusUnprocessableEntity || len(er.Errors) != 1 || !strings.Contains(er.Errors[0].Message, "No commits between") {
		t.Errorf("no commits: %d %+v", code, er)
	}

	// Contents: create, then updating needs the blob sha.
	opts := &gh.RepositoryContentFileOptions{Message: gh.String("add"), Content: []byte("one\n"), Branch: gh.String("klaxon/x")}
	res, resp, err := c.Repositories.CreateFile(ctx, "acme", "api", "docs/pm.md", opts)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create file: %v", err)
	}
	_, _, err = c.Repositories.CreateFile(ctx, "acme", "api", "docs/pm.md", opts)
	if code, er := status(t, err); code != http.StatusUnprocessableEntity || er.Message != "Invalid request.\n\n\"sha\" wasn't supplied." {
		t.Errorf("no sha: %d %q", code, er.Message)
	}
	opts.SHA = gh.String(strings.Repeat("1", 40))
	_, _, err = c.Repositories.UpdateFile(ctx, "acme", "api", "docs/pm.md", opts)
	if code, _ := status(t, err); code != http.StatusConflict {
		t.Errorf("wrong sha: %d", code)
	}
	opts.SHA, opts.Content = res.Content.SHA, []byte("two\n")
	if _, resp, err := c.Repositories.UpdateFile(ctx, "acme", "api", "docs/pm.md", opts); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("update: %v", err)
	}
	fc, _, _, err := c.Repositories.GetContents(ctx, "acme", "api", "docs/pm.md", &gh.RepositoryContentGetOptions{Ref: "klaxon/x"})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := fc.GetContent(); s != "two\n" {
		t.Errorf("content = %q", s)
	}
	if _, dir, _, err := c.Repositories.GetContents(ctx, "acme", "api", "docs", &gh.RepositoryContentGetOptions{Ref: "klaxon/x"}); err != nil || len(dir) != 1 {
		t.Errorf("directory: %d entries, %v", len(dir), err)
	}
	if _, _, _, err := c.Repositories.GetContents(ctx, "acme", "api", "docs/pm.md", nil); err == nil {
		t.Error("the file leaked onto main")
	}
	if b, ok := f.File("acme/api", "klaxon/x", "docs/pm.md"); !ok || string(b) != "two\n" {
		t.Errorf("File = %q, %v", b, ok)
	}

	// Pull requests share the issues' numbers and show up in the issue list.
	if _, _, err := c.Issues.Create(ctx, "acme", "api", &gh.IssueRequest{Title: gh.String("an issue")}); err != nil {
		t.Fatal(err)
	}
	p, _, err := c.PullRequests.Create(ctx, "acme", "api", pr)
	if err != nil {
		t.Fatal(err)
	}
	if p.GetNumber() != 2 || p.GetHTMLURL() != "https://github.com/acme/api/pull/2" || p.GetHead().GetRef() != "klaxon/x" || p.GetBase().GetRef() != "main" {
		t.Errorf("pull = %+v", p)
	}
	_, _, err = c.PullRequests.Create(ctx, "acme", "api", pr)
	if code, er := status(t, err); code != http.StatusUnprocessableEntity || len(er.Errors) != 1 || er.Errors[0].Message != "A pull request already exists for acme:klaxon/x." {
		t.Errorf("duplicate pull: %d %+v", code, er)
	}
	issues, _, err := c.Issues.ListByRepo(ctx, "acme", "api", nil)
	if err != nil || len(issues) != 2 || !issues[0].IsPullRequest() || issues[1].IsPullRequest() {
		t.Errorf("issue list: %+v, %v", issues, err)
	}
	for head, want := range map[string]int{"acme:klaxon/x": 1, "acme:klaxon/y": 0, "evil:klaxon/x": 0} {
		pulls, _, err := c.PullRequests.List(ctx, "acme", "api", &gh.PullRequestListOptions{Head: head, State: "all"})
		if err != nil || len(pulls) != want {
			t.Errorf("pulls with head %s: %d, %v; want %d", head, len(pulls), err, want)
		}
	}
	f.SetIssueState("acme/api", 2, "closed")
	if pulls, _, _ := c.PullRequests.List(ctx, "acme", "api", nil); len(pulls) != 0 {
		t.Errorf("closed pull listed as open")
	}
	if got := f.Pulls("acme/api"); len(got) != 1 || got[0].State != "closed" {
		t.Errorf("Pulls = %+v", got)
	}
	if got := f.Issues("acme/api"); len(got) != 1 || got[0].Number != 1 {
		t.Errorf("Issues = %+v", got)
	}
}

func TestDeployments(t *testing.T) {
	f, c := start(t)
	ctx := context.Background()
	old := f.AddDeploy("acme/api", "production", strings.Repeat("a", 40), "v1", "alice", t0.Add(-time.Hour), "pending", "success")
	f.AddDeploy("acme/api", "staging", strings.Repeat("b", 40), "v2", "alice", t0.Add(-time.Minute), "success")
	d, _, err := c.Repositories.CreateDeployment(ctx, "acme", "api", &gh.DeploymentRequest{Ref: gh.String("main")})
	if err != nil {
		t.Fatal(err)
	}
	if d.GetEnvironment() != "production" || len(d.GetSHA()) != 40 || d.GetCreator().GetLogin() != fakegithub.Login {
		t.Errorf("deployment = %+v", d)
	}
	if _, _, err := c.Repositories.CreateDeployment(ctx, "acme", "api", &gh.DeploymentRequest{Ref: gh.String("nope")}); err == nil {
		t.Error("a deployment of a missing ref was created")
	}
	_, _, err = c.Repositories.CreateDeploymentStatus(ctx, "acme", "api", d.GetID(), &gh.DeploymentStatusRequest{State: gh.String("done")})
	if code, er := status(t, err); code != http.StatusUnprocessableEntity || er.Errors[0].Field != "state" {
		t.Errorf("bad state: %d %+v", code, er)
	}
	if _, _, err := c.Repositories.CreateDeploymentStatus(ctx, "acme", "api", d.GetID(), &gh.DeploymentStatusRequest{State: gh.String("success")}); err != nil {
		t.Fatal(err)
	}

	list, _, err := c.Repositories.ListDeployments(ctx, "acme", "api", &gh.DeploymentsListOptions{Environment: "production"})
	if err != nil || len(list) != 2 || list[0].GetID() != d.GetID() || list[1].GetID() != old {
		t.Fatalf("production deployments: %+v, %v", list, err)
	}
	// The older success became inactive; statuses come newest first.
	sts, _, err := c.Repositories.ListDeploymentStatuses(ctx, "acme", "api", old, nil)
	if err != nil || len(sts) != 3 || sts[0].GetState() != "inactive" || sts[1].GetState() != "success" || sts[2].GetState() != "pending" {
		t.Errorf("statuses of the older deploy: %+v, %v", sts, err)
	}
	one, resp, err := c.Repositories.ListDeploymentStatuses(ctx, "acme", "api", old, &gh.ListOptions{PerPage: 1})
	if err != nil || len(one) != 1 || one[0].GetState() != "inactive" || resp.NextPage != 2 {
		t.Errorf("newest status: %+v next %d, %v", one, resp.NextPage, err)
	}
	if _, _, err := c.Repositories.ListDeploymentStatuses(ctx, "acme", "api", 999999, nil); err == nil {
		t.Error("statuses of a missing deployment")
	}
}

func TestFaults(t *testing.T) {
	f, c := start(t)
	ctx := context.Background()
	f.Fail("GET", "/repos/acme/api", fakegithub.Fault{Status: http.StatusServiceUnavailable, Times: 2})
	for i := range 2 {
		_, _, err := c.Repositories.Get(ctx, "acme", "api")
		if code, _ := status(t, err); code != http.StatusServiceUnavailable {
			t.Errorf("call %d: %d, want 503", i, code)
		}
	}
	if _, _, err := c.Repositories.Get(ctx, "acme", "api"); err != nil {
		t.Errorf("third call: %v", err)
	}
	// Only the matching method.
	f.Fail("POST", "/repos/acme/api/issues", fakegithub.Fault{Status: http.StatusInternalServerError})
	if _, _, err := c.Issues.ListByRepo(ctx, "acme", "api", nil); err != nil {
		t.Errorf("GET hit a POST fault: %v", err)
	}

	f2, c2 := start(t)
	f2.Fail("", "/repos/", fakegithub.Fault{RateLimited: true, RetryAfter: 90})
	_, _, err := c2.Repositories.Get(ctx, "acme", "api")
	var rl *gh.RateLimitError
	if !errors.As(err, &rl) || !rl.Rate.Reset.Time.Equal(t0.Add(90*time.Second)) || rl.Rate.Remaining != 0 {
		t.Errorf("rate limited: %v", err)
	}
	f2.Fail("", "/repos/", fakegithub.Fault{Secondary: true, RetryAfter: 30})
	_, _, err = client(t, f2, fakegithub.Token).Repositories.Get(ctx, "acme", "api")
	var arl *gh.AbuseRateLimitError
	if !errors.As(err, &arl) || arl.RetryAfter == nil || *arl.RetryAfter != 30*time.Second {
		t.Errorf("secondary: %v", err)
	}
	if n := f2.Requests()["GET /repos/{owner}/{repo}"]; n != 2 {
		t.Errorf("counted %d, want 2", n)
	}
}

func TestEnterprisePrefix(t *testing.T) {
	f := fakegithub.NewEnterprise()
	defer f.Close()
	f.AddRepo("acme/api", "", "alice")
	c := client(t, f, fakegithub.Token)
	r, _, err := c.Repositories.Get(context.Background(), "acme", "api")
	if err != nil || r.GetDefaultBranch() != "main" {
		t.Fatalf("repo: %+v, %v", r, err)
	}
	is, _, err := c.Issues.Create(context.Background(), "acme", "api", &gh.IssueRequest{Title: gh.String("t")})
	if err != nil || is.GetHTMLURL() != f.WebURL()+"/acme/api/issues/1" || strings.Contains(is.GetHTMLURL(), "/api/v3") {
		t.Errorf("html_url %q, %v", is.GetHTMLURL(), err)
	}
	// Outside /api/v3/ there is no API.
	req, _ := http.NewRequest("GET", f.WebURL()+"/repos/acme/api", nil)
	req.Header.Set("Authorization", "Bearer "+fakegithub.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("outside the prefix: %d", resp.StatusCode)
	}
}

func TestConcurrentUse(t *testing.T) {
	f, c := start(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if _, _, err := c.Issues.Create(ctx, "acme", "api", &gh.IssueRequest{Title: gh.String(fmt.Sprint(i))}); err != nil {
				t.Error(err)
			}
			f.Issues("acme/api")
			f.Requests()
		})
	}
	wg.Wait()
	seen := map[int]bool{}
	for _, is := range f.Issues("acme/api") {
		seen[is.Number] = true
	}
	if len(seen) != 20 {
		t.Errorf("%d distinct numbers, want 20", len(seen))
	}
}
