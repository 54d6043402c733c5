// Package github is Klaxon's GitHub adapter: it reads a service's
// deployments (playbook.Deploys), files action items as issues and reads
// their state back (playbook.Tickets), and publishes post-mortems as pull
// requests or issues (playbook.PostmortemRepo), through go-github.
//
// It never retries or sleeps: a failed call returns an error saying what
// was attempted (and, for rate limits, when GitHub accepts requests again),
// and the person who asked has a Retry button.
//
// It imports playbook and templates (for the words of its answers); only
// cmd/klaxon imports it. The issue and post-mortem bodies it files are
// rendered from templates before they reach it.
package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	gh "github.com/google/go-github/v60/github"
	"golang.org/x/sync/errgroup"

	"github.com/klaxonhq/klaxon/playbook"
)

// DefaultAPIURL is github.com's REST API.
const DefaultAPIURL = "https://api.github.com/"

// MaxBody is the longest issue body GitHub accepts. GitHub counts
// characters; the adapter counts bytes, which are never fewer.
const MaxBody = 65536

// maxTitle is the longest issue or pull request title GitHub accepts.
const maxTitle = 256

// Label is put on every issue Klaxon files, and is how it finds them again.
const Label = "klaxon"

// Options configures a Client.
type Options struct {
	// APIURL is the REST API's base URL: https://api.github.com/ (the
	// default when empty) or, for GitHub Enterprise Server,
	// https://ghe.example.com/api/v3/. A trailing slash is added if missing.
	APIURL string
	// Token is a personal access token or an app installation token.
	Token string
	// Logins maps Slack user IDs to GitHub logins, to assign issues.
	Logins map[string]string
	// HTTPClient is used for requests; by default a client with a 30 s
	// timeout.
	HTTPClient *http.Client
	// UserAgent is sent with every request; default "klaxon".
	UserAgent string
}

// Client talks to one GitHub (github.com or an Enterprise Server).
type Client struct {
	api    *gh.Client
	web    string // the web root, e.g. https://github.com
	logins map[string]string
	token  string
	now    func() time.Time
}

var (
	_ playbook.Deploys        = (*Client)(nil)
	_ playbook.Tickets        = (*Client)(nil)
	_ playbook.PostmortemRepo = (*Client)(nil)
	_ playbook.PostmortemRepo = publisher{}
)

// New returns a Client. It fails on an empty token or an API URL that is
// not an http(s) URL; it makes no request.
func New(o Options) (*Client, error) {
	if strings.TrimSpace(o.Token) == "" {
		return nil, errors.New("github: no token configured")
	}
	if strings.ContainsAny(o.Token, " \t\r\n") {
		return nil, errors.New("github: the token contains white space (a stray newline from a token file?)")
	}
	raw := strings.TrimSpace(o.APIURL)
	if raw == "" {
		raw = DefaultAPIURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("github: API URL is not a URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("github: API URL %q must look like https://api.github.com/ or https://ghe.example.com/api/v3/", u.Redacted())
	}
	if u.User != nil {
		return nil, fmt.Errorf("github: API URL %q must not carry credentials (the token is configured on its own)", u.Redacted())
	}
	u.RawQuery, u.Fragment = "", ""
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	api := gh.NewClient(hc).WithAuthToken(o.Token)
	api.BaseURL = u
	api.UserAgent = "klaxon"
	if o.UserAgent != "" {
		api.UserAgent = o.UserAgent
	}
	logins := make(map[string]string, len(o.Logins))
	for k, v := range o.Logins {
		logins[k] = strings.TrimPrefix(strings.TrimSpace(v), "@")
	}
	return &Client{api: api, web: webRoot(u), logins: logins, token: o.Token, now: time.Now}, nil
}

// webRoot derives the web UI's root from the API URL: api.github.com ->
// https://github.com; https://ghe/api/v3/ -> https://ghe.
func webRoot(u *url.URL) string {
	p := strings.TrimSuffix(u.Path, "/")
	if ghe, isGHE := strings.CutSuffix(p, "/api/v3"); isGHE {
		return u.Scheme + "://" + u.Host + ghe
	}
	if h, isAPI := strings.CutPrefix(u.Host, "api."); isAPI {
		return u.Scheme + "://" + h // api.github.com, api.<tenant>.ghe.com
	}
	return u.Scheme + "://" + u.Host + p
}

// splitRepo parses "owner/name".
func splitRepo(full string) (owner, name string, err error) {
	owner, name, found := strings.Cut(strings.TrimSpace(full), "/")
	if full == "" {
		return "", "", errors.New("github: no repository configured (want owner/name)")
	}
	if !found || owner == "" || name == "" || strings.ContainsAny(name, "/ ") || strings.Contains(owner, " ") {
		return "", "", fmt.Errorf("github: repository %q is not owner/name", full)
	}
	return owner, name, nil
}

// ---- Deploys

// Recent returns the newest deployments of s.Repo to s.DeployEnvironment
// (default "production"), newest first, at most limit (default 10, at most
// 100), each with its latest status.
func (c *Client) Recent(ctx context.Context, s playbook.Service, limit int) ([]playbook.Deploy, error) {
	owner, name, err := splitRepo(s.Repo)
	if err != nil {
		return nil, err
	}
	env := s.DeployEnvironment
	if env == "" {
		env = "production"
	}
	if limit <= 0 {
		limit = 10
	}
	limit = min(limit, 100)
	deps, _, err := c.api.Repositories.ListDeployments(ctx, owner, name, &gh.DeploymentsListOptions{
		Environment: env,
		ListOptions: gh.ListOptions{PerPage: limit},
	})
	if err != nil {
		return nil, c.fail(fmt.Sprintf("list %s deployments of %s", env, s.Repo), err)
	}
	if len(deps) > limit {
		deps = deps[:limit]
	}
	out := make([]playbook.Deploy, len(deps))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, d := range deps {
		out[i] = playbook.Deploy{
			ID:          d.GetID(),
			SHA:         d.GetSHA(),
			Ref:         d.GetRef(),
			Environment: d.GetEnvironment(),
			Creator:     d.GetCreator().GetLogin(),
			Description: d.GetDescription(),
			At:          d.GetCreatedAt().Time.UTC(),
		}
		g.Go(func() error {
			sts, _, err := c.api.Repositories.ListDeploymentStatuses(gctx, owner, name, d.GetID(), &gh.ListOptions{PerPage: 1})
			if err != nil {
				return c.fail(fmt.Sprintf("read the status of deployment %d of %s", d.GetID(), s.Repo), err)
			}
			dep := &out[i]
			if len(sts) > 0 {
				st := sts[0]
				dep.State = st.GetState()
				dep.URL = firstNonEmpty(st.GetLogURL(), st.GetEnvironmentURL(), st.GetTargetURL())
				if dep.Description == "" {
					dep.Description = st.GetDescription()
				}
			}
			if dep.URL == "" && dep.SHA != "" {
				dep.URL = fmt.Sprintf("%s/%s/%s/commit/%s", c.web, owner, name, dep.SHA)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// ---- Tickets

// File files an action item (or the owning team's issue) as an issue
// labelled "klaxon" (plus req.Labels), assigned to req.Assignees and the
// owner's GitHub login when known. With
// req.Adopt it first looks for an issue carrying req.Marker and returns it
// instead of filing a second one. If GitHub refuses the assignee (not a
// collaborator), the issue is filed unassigned.
func (c *Client) File(ctx context.Context, req playbook.TicketRequest) (playbook.Ticket, error) {
	owner, name, err := splitRepo(req.Repo)
	if err != nil {
		return playbook.Ticket{}, err
	}
	if req.Adopt && req.Marker != "" {
		it, err := c.findIssue(ctx, owner, name, req.Marker)
		if err != nil {
			return playbook.Ticket{}, c.fail("look for an issue already filed in "+req.Repo, err)
		}
		if it != nil {
			return ticket(req.Repo, it), nil
		}
	}
	body := fitBody(req.Body, markerSuffix(req.Marker),
		"_The rest was cut: GitHub limits an issue to 65,536 characters._")
	labels := withLabels(req.Labels, Label)
	ir := &gh.IssueRequest{
		Title:  gh.String(clip(req.Title, maxTitle)),
		Body:   &body,
		Labels: &labels,
	}
	assignees := slices.Clone(req.Assignees)
	if login := c.logins[req.Owner]; login != "" && !slices.ContainsFunc(assignees, func(a string) bool { return strings.EqualFold(a, login) }) {
		assignees = append(assignees, login)
	}
	if len(assignees) > 0 {
		ir.Assignees = &assignees
	}
	it, _, err := c.api.Issues.Create(ctx, owner, name, ir)
	if err != nil && len(assignees) > 0 && assigneeRefused(err) {
		// The login cannot be assigned here (not a collaborator, or
		// renamed): file it unassigned; the body still names the owner.
		ir.Assignees = nil
		it, _, err = c.api.Issues.Create(ctx, owner, name, ir)
	}
	if err != nil {
		return playbook.Ticket{}, c.fail("create issue in "+req.Repo, err)
	}
	return ticket(req.Repo, it), nil
}

// State reads an issue's state: "open" or "closed".
func (c *Client) State(ctx context.Context, t playbook.Ticket) (string, error) {
	owner, name, err := splitRepo(t.Repo)
	if err != nil {
		return "", err
	}
	if t.Number <= 0 {
		return "", fmt.Errorf("github: read issue in %s: no issue number", t.Repo)
	}
	it, _, err := c.api.Issues.Get(ctx, owner, name, t.Number)
	if err != nil {
		return "", c.fail(fmt.Sprintf("read issue %s#%d", t.Repo, t.Number), err)
	}
	if it.GetState() == "closed" {
		return "closed", nil
	}
	return "open", nil
}

func ticket(repo string, it *gh.Issue) playbook.Ticket {
	t := playbook.Ticket{
		Repo:   repo,
		Number: it.GetNumber(),
		URL:    it.GetHTMLURL(),
		State:  it.GetState(),
	}
	if len(it.Assignees) > 0 {
		t.Assignee = it.Assignees[0].GetLogin()
	} else {
		t.Assignee = it.GetAssignee().GetLogin()
	}
	return t
}

// assigneeRefused reports whether GitHub refused an issue for its
// assignee: 422 with an error on the assignee(s) field.
func assigneeRefused(err error) bool {
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusUnprocessableEntity {
		return false
	}
	for _, e := range er.Errors {
		if e.Field == "assignees" || e.Field == "assignee" {
			return true
		}
	}
	return false
}

// markerComment is the hidden HTML comment carrying a marker.
func markerComment(marker string) string {
	// "--" may not appear inside an HTML comment.
	for strings.Contains(marker, "--") {
		marker = strings.ReplaceAll(marker, "--", "-")
	}
	return "<!-- " + marker + " -->"
}

func markerSuffix(marker string) string {
	if marker == "" {
		return ""
	}
	return "\n\n" + markerComment(marker)
}

// findIssue looks through the newest 200 issues labelled "klaxon" for one
// whose body ends with marker's comment, where markerSuffix puts it: a
// marker quoted in the text a person typed (another item's, say) is not it.
func (c *Client) findIssue(ctx context.Context, owner, name, marker string) (*gh.Issue, error) {
	mc := markerComment(marker)
	opts := &gh.IssueListByRepoOptions{
		State:       "all",
		Labels:      []string{Label},
		Sort:        "created",
		Direction:   "desc",
		ListOptions: gh.ListOptions{PerPage: 100},
	}
	for range 2 {
		list, resp, err := c.api.Issues.ListByRepo(ctx, owner, name, opts)
		if err != nil {
			return nil, err
		}
		for _, it := range list {
			if !it.IsPullRequest() && hasMarker(it.GetBody(), mc) {
				return it, nil
			}
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return nil, nil
}

// withLabels returns labels plus extra, without duplicates (GitHub's label
// names are case-insensitive).
func withLabels(labels []string, extra ...string) []string {
	out := make([]string, 0, len(labels)+len(extra))
	seen := map[string]bool{}
	for _, l := range append(append([]string(nil), labels...), extra...) {
		l = strings.TrimSpace(l)
		if l == "" || seen[strings.ToLower(l)] {
			continue
		}
		seen[strings.ToLower(l)] = true
		out = append(out, l)
	}
	return out
}

// clip cuts s to at most n characters, ending a cut one with "…".
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n-1 {
			return strings.TrimRight(s[:pos], " ") + "…"
		}
		i++
	}
	return s
}

// fitBody returns text + suffix, cut so that it stays under GitHub's cap:
// when text is too long it is cut at a line boundary and note is added on
// a line of its own before the suffix.
func fitBody(text, suffix, note string) string {
	if len(text)+len(suffix) <= MaxBody {
		return text + suffix
	}
	tail := "\n\n" + note + suffix
	room := max(0, MaxBody-len(tail))
	cut := text[:room]
	if i := strings.LastIndexByte(cut, '\n'); i > 0 {
		cut = cut[:i]
	} else {
		// One enormous line: cut at a character boundary.
		for room > 0 && !isRuneStart(text[room]) {
			room--
		}
		cut = text[:room]
	}
	return strings.TrimRight(cut, "\n") + tail
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// hasMarker reports whether body ends with the marker comment mc (GitHub
// may store the body with CRLFs and trailing space).
func hasMarker(body, mc string) bool {
	return strings.HasSuffix(strings.TrimRight(body, " \t\r\n"), mc)
}

// ---- Post-mortems

// PostmortemPublisher returns the post-mortem publisher: pull requests, or
// issues when asIssue.
func (c *Client) PostmortemPublisher(asIssue bool) playbook.PostmortemRepo {
	return publisher{c: c, asIssue: asIssue}
}

type publisher struct {
	c       *Client
	asIssue bool
}

func (p publisher) Publish(ctx context.Context, doc playbook.PostmortemDoc) (string, error) {
	if p.asIssue {
		return p.c.PublishIssue(ctx, doc)
	}
	return p.c.Publish(ctx, doc)
}

// Branch is the branch a post-mortem with this marker is proposed on:
// "klaxon/" and a slug of the marker.
func Branch(marker string) string { return "klaxon/" + slug(marker) }

// slug keeps [a-z0-9] and turns every other run into one dash.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	out := b.String()
	if len(out) > 80 {
		out = out[:80]
	}
	return strings.Trim(out, "-")
}

// Publish proposes the post-mortem as a pull request adding doc.Path on
// the branch Branch(doc.Marker), against the default branch, and returns
// its URL. With doc.Adopt it first returns the pull request already open
// (or closed) for that branch. Each step tolerates having been done
// before (branch exists, file exists, pull request exists), so publishing
// again never opens a second pull request.
func (c *Client) Publish(ctx context.Context, doc playbook.PostmortemDoc) (string, error) {
	owner, name, err := splitRepo(doc.Repo)
	if err != nil {
		return "", err
	}
	key := doc.Marker
	if key == "" {
		key = doc.Path
	}
	if slug(key) == "" {
		return "", errors.New("github: publish post-mortem: no marker to name its branch after")
	}
	if strings.Trim(doc.Path, "/") == "" || strings.Contains(doc.Path, "..") {
		return "", fmt.Errorf("github: publish post-mortem: file path %q is not usable", doc.Path)
	}
	path := strings.Trim(doc.Path, "/")
	branch := Branch(key)
	if doc.Adopt {
		pr, err := c.findPull(ctx, owner, name, branch)
		if err != nil {
			return "", c.fail("look for the post-mortem pull request in "+doc.Repo, err)
		}
		if pr != nil {
			return pr.GetHTMLURL(), nil
		}
	}

	repo, _, err := c.api.Repositories.Get(ctx, owner, name)
	if err != nil {
		return "", c.fail("read repository "+doc.Repo, err)
	}
	base := repo.GetDefaultBranch()
	if base == "" {
		base = "main"
	}
	ref, _, err := c.api.Git.GetRef(ctx, owner, name, "heads/"+base)
	if err != nil {
		return "", c.fail(fmt.Sprintf("read branch %s of %s", base, doc.Repo), err)
	}
	_, _, err = c.api.Git.CreateRef(ctx, owner, name, &gh.Reference{
		Ref:    gh.String("refs/heads/" + branch),
		Object: &gh.GitObject{SHA: ref.GetObject().SHA},
	})
	if err != nil && !unprocessable(err, "Reference already exists") {
		return "", c.fail(fmt.Sprintf("create branch %s in %s", branch, doc.Repo), err)
	}
	if err := c.putFile(ctx, owner, name, branch, path, doc); err != nil {
		return "", err
	}
	pr, _, err := c.api.PullRequests.Create(ctx, owner, name, &gh.NewPullRequest{
		Title: gh.String(clip(doc.Title, maxTitle)),
		Head:  gh.String(branch),
		Base:  gh.String(base),
		Body:  gh.String("Post-mortem outline generated by Klaxon." + markerSuffix(doc.Marker)),
	})
	if err != nil {
		// Opened before (a retry after a crash or a timeout), or merged
		// already: return that one.
		if unprocessable(err, "A pull request already exists") || unprocessable(err, "No commits between") {
			if old, ferr := c.findPull(ctx, owner, name, branch); ferr == nil && old != nil {
				return old.GetHTMLURL(), nil
			}
		}
		return "", c.fail(fmt.Sprintf("open a pull request from %s in %s", branch, doc.Repo), err)
	}
	return pr.GetHTMLURL(), nil
}

// putFile commits doc on branch at path, creating or updating the file
// (an update only when the content differs).
func (c *Client) putFile(ctx context.Context, owner, name, branch, path string, doc playbook.PostmortemDoc) error {
	opts := &gh.RepositoryContentFileOptions{
		Message: gh.String("Post-mortem: " + doc.Title),
		Content: doc.Markdown,
		Branch:  gh.String(branch),
	}
	_, _, err := c.api.Repositories.CreateFile(ctx, owner, name, path, opts)
	if err == nil {
		return nil
	}
	if !unprocessable(err, `"sha" wasn't supplied`) {
		return c.fail(fmt.Sprintf("commit %s to %s in %s/%s", path, branch, owner, name), err)
	}
	// The file is there already (an earlier attempt): update it.
	fc, _, _, err := c.api.Repositories.GetContents(ctx, owner, name, path, &gh.RepositoryContentGetOptions{Ref: branch})
	if err != nil {
		return c.fail(fmt.Sprintf("read %s on %s in %s/%s", path, branch, owner, name), err)
	}
	if fc == nil {
		return fmt.Errorf("github: %s on %s in %s/%s is a directory, not a file", path, branch, owner, name)
	}
	if old, err := fc.GetContent(); err == nil && old == string(doc.Markdown) {
		return nil
	}
	opts.SHA = fc.SHA
	if _, _, err := c.api.Repositories.UpdateFile(ctx, owner, name, path, opts); err != nil {
		return c.fail(fmt.Sprintf("update %s on %s in %s/%s", path, branch, owner, name), err)
	}
	return nil
}

// findPull returns the newest pull request from branch (an open one
// first), or nil.
func (c *Client) findPull(ctx context.Context, owner, name, branch string) (*gh.PullRequest, error) {
	list, _, err := c.api.PullRequests.List(ctx, owner, name, &gh.PullRequestListOptions{
		State:       "all",
		Head:        owner + ":" + branch,
		ListOptions: gh.ListOptions{PerPage: 100},
	})
	if err != nil {
		return nil, err
	}
	var found *gh.PullRequest
	for _, pr := range list {
		if pr.GetHead().GetRef() != branch {
			continue
		}
		if pr.GetState() == "open" {
			return pr, nil
		}
		if found == nil {
			found = pr
		}
	}
	return found, nil
}

// PublishIssue publishes the post-mortem as an issue labelled "postmortem"
// and "klaxon" whose body is the outline (cut at a line boundary under
// GitHub's 65,536-character cap, with a line saying the full outline is in
// the incident's Slack channel). With doc.Adopt it first returns the issue
// already filed for doc.Marker.
func (c *Client) PublishIssue(ctx context.Context, doc playbook.PostmortemDoc) (string, error) {
	owner, name, err := splitRepo(doc.Repo)
	if err != nil {
		return "", err
	}
	if doc.Adopt && doc.Marker != "" {
		it, err := c.findIssue(ctx, owner, name, doc.Marker)
		if err != nil {
			return "", c.fail("look for the post-mortem issue in "+doc.Repo, err)
		}
		if it != nil {
			return it.GetHTMLURL(), nil
		}
	}
	body := fitBody(string(doc.Markdown), markerSuffix(doc.Marker),
		"_Cut here: GitHub limits an issue to 65,536 characters. The full outline is in the incident's Slack channel._")
	labels := []string{"postmortem", Label}
	it, _, err := c.api.Issues.Create(ctx, owner, name, &gh.IssueRequest{
		Title:  gh.String(clip(doc.Title, maxTitle)),
		Body:   &body,
		Labels: &labels,
	})
	if err != nil {
		return "", c.fail("create post-mortem issue in "+doc.Repo, err)
	}
	return it.GetHTMLURL(), nil
}

// unprocessable reports whether err is a 422 whose message, or one of
// whose errors' messages, contains text.
func unprocessable(err error, text string) bool {
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusUnprocessableEntity {
		return false
	}
	if strings.Contains(er.Message, text) {
		return true
	}
	for _, e := range er.Errors {
		if strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}
