package github

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	gh "github.com/google/go-github/v60/github"
	"golang.org/x/sync/errgroup"

	"github.com/klaxonhq/klaxon/playbook"
)

// The declaration-time deploy lookup: deployments → their statuses → the
// pull requests of each successful one → each PR's reviews and files. Each
// deploy goes down that chain on its own (no stage waits for the slowest
// deploy), with at most MaxInFlight requests to GitHub at a time. A
// deploy's commit is known from the deployment itself, so its pull
// requests are read beside its status rather than after it: the deploys of
// a window take three round trips (deployments; status and pull requests;
// reviews and files), plus one for a pull request of more than 100 files.

// MaxInFlight bounds the concurrent GitHub requests of one lookup, well
// under GitHub's secondary limit of 100 concurrent requests.
const MaxInFlight = 16

// maxPRsPerDeploy bounds the pull requests read in detail per deploy.
const maxPRsPerDeploy = 50

// olderBatch is how many deploys before the window have their status read
// at a time, looking for the previous successful one (the rollback target).
const olderBatch = 6

// maxFilePages bounds the pages of 100 changed files read per pull request
// (GitHub lists 3,000 at most); past them the PR is flagged FilesMore. The
// pages after the first are read at once, so a large PR costs one round
// trip more, not one per page.
const maxFilePages = 10

var _ playbook.DeployLookup = (*Client)(nil)

// lookup is one Investigate call: its request slots, and what it already
// read, so a commit deployed twice in the window (a redeploy) and a pull
// request shipped by two deploys are read once.
type lookup struct {
	c       *Client
	sem     chan struct{}
	pulls   memo[string, []*gh.PullRequest]    // by owner/name@sha
	details memo[string, playbook.PullRequest] // by owner/name#number
}

// call runs fn holding one of the lookup's request slots.
func (l *lookup) call(ctx context.Context, fn func() error) error {
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-l.sem }()
	return fn()
}

// memo runs a function once per key and keeps its result.
type memo[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]*memoCell[V]
}

type memoCell[V any] struct {
	once sync.Once
	v    V
	err  error
}

// get returns fn's result for k, calling fn only for the first caller of k
// (the others wait for it).
func (m *memo[K, V]) get(k K, fn func() (V, error)) (V, error) {
	m.mu.Lock()
	if m.m == nil {
		m.m = map[K]*memoCell[V]{}
	}
	c := m.m[k]
	if c == nil {
		c = &memoCell[V]{}
		m.m[k] = c
	}
	m.mu.Unlock()
	c.once.Do(func() { c.v, c.err = fn() })
	return c.v, c.err
}

// Investigate implements playbook.DeployLookup.
func (c *Client) Investigate(ctx context.Context, q playbook.DeployQuery) ([]playbook.DeployRecord, error) {
	l := &lookup{c: c, sem: make(chan struct{}, MaxInFlight)}
	type target struct{ repo, env string }
	var targets []target
	for _, s := range q.Services {
		if s.Repo == "" {
			continue
		}
		env := s.DeployEnvironment
		if env == "" {
			env = "production"
		}
		t := target{s.Repo, env}
		if !slices.ContainsFunc(targets, func(x target) bool { return strings.EqualFold(x.repo, t.repo) && x.env == t.env }) {
			targets = append(targets, t)
		}
	}
	var (
		mu  sync.Mutex
		out []playbook.DeployRecord
	)
	g, gctx := errgroup.WithContext(ctx)
	for _, t := range targets {
		g.Go(func() error {
			recs, err := l.target(gctx, t.repo, t.env, q)
			mu.Lock()
			out = append(out, recs...)
			mu.Unlock()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b playbook.DeployRecord) int { return b.At.Compare(a.At) })
	return out, nil
}

// target reads the deploys of one repo and environment.
func (l *lookup) target(ctx context.Context, repo, env string, q playbook.DeployQuery) ([]playbook.DeployRecord, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return nil, err
	}
	var deps []*gh.Deployment
	err = l.call(ctx, func() error {
		var err error
		deps, _, err = l.c.api.Repositories.ListDeployments(ctx, owner, name, &gh.DeploymentsListOptions{
			Environment: env, ListOptions: gh.ListOptions{PerPage: 100},
		})
		return err
	})
	if err != nil {
		return nil, l.c.fail(fmt.Sprintf("list %s deployments of %s", env, repo), err)
	}
	repoURL := fmt.Sprintf("%s/%s/%s", l.c.web, owner, name)
	var window, older []playbook.DeployRecord
	for _, d := range deps {
		rec := playbook.DeployRecord{Repo: repo, RepoURL: repoURL, Deploy: playbook.Deploy{
			ID: d.GetID(), SHA: d.GetSHA(), Ref: d.GetRef(), Environment: d.GetEnvironment(),
			Creator: d.GetCreator().GetLogin(), Description: d.GetDescription(), At: d.GetCreatedAt().Time.UTC(),
		}}
		if rec.Environment == "" {
			rec.Environment = env
		}
		switch {
		case rec.At.After(q.To):
		case !rec.At.Before(q.From):
			window = append(window, rec)
		case !rec.At.Before(q.From.Add(-playbook.KnownGoodLookback)):
			older = append(older, rec)
		}
	}

	shipped := map[string]bool{} // the window's commits, read before the goroutines write the records
	for _, w := range window {
		shipped[w.SHA] = true
	}
	g, gctx := errgroup.WithContext(ctx)
	for i := range window {
		g.Go(func() error { return l.detail(gctx, owner, name, &window[i], q) })
	}
	// Beside them, the deploys before the window, a batch at a time, until
	// one succeeded with a commit the window did not ship: the rollback
	// target.
	g.Go(func() error {
		for start := 0; start < len(older); start += olderBatch {
			batch := older[start:min(start+olderBatch, len(older))]
			bg, bctx := errgroup.WithContext(gctx)
			for i := range batch {
				bg.Go(func() error { return l.status(bctx, owner, name, &batch[i]) })
			}
			if err := bg.Wait(); err != nil {
				return err
			}
			if slices.ContainsFunc(batch, func(d playbook.DeployRecord) bool { return d.State == "success" && !shipped[d.SHA] }) {
				older = older[:min(start+olderBatch, len(older))]
				return nil
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return append(window, older...), nil
}

// status reads a deploy's latest status.
func (l *lookup) status(ctx context.Context, owner, name string, d *playbook.DeployRecord) error {
	var sts []*gh.DeploymentStatus
	err := l.call(ctx, func() error {
		var err error
		sts, _, err = l.c.api.Repositories.ListDeploymentStatuses(ctx, owner, name, d.ID, &gh.ListOptions{PerPage: 1})
		return err
	})
	if err != nil {
		return l.c.fail(fmt.Sprintf("read the status of deployment %d of %s/%s", d.ID, owner, name), err)
	}
	if len(sts) > 0 {
		st := sts[0]
		d.State = st.GetState()
		d.StatusAt = st.GetCreatedAt().Time.UTC()
		d.URL = firstNonEmpty(st.GetLogURL(), st.GetEnvironmentURL(), st.GetTargetURL())
		if d.Description == "" {
			d.Description = st.GetDescription()
		}
	}
	if d.URL == "" && d.SHA != "" {
		d.URL = d.RepoURL + "/commit/" + d.SHA
	}
	return nil
}

// detail reads a deploy's status and, when it succeeded, the pull requests
// it shipped with their reviews and files. The commit's pull requests are
// read beside the status (the deployment names its commit): for a deploy
// that did not succeed that one read is wasted and its result dropped, for
// the others it saves a round trip.
func (l *lookup) detail(ctx context.Context, owner, name string, d *playbook.DeployRecord, q playbook.DeployQuery) error {
	var (
		prs    []*gh.PullRequest
		prsErr error
		wg     sync.WaitGroup
	)
	if d.SHA != "" {
		wg.Go(func() { prs, prsErr = l.pullsOf(ctx, owner, name, d.SHA) })
	}
	err := l.status(ctx, owner, name, d)
	wg.Wait()
	if err != nil {
		return err
	}
	if d.State != "success" || d.SHA == "" {
		return nil // what the pull requests' read found (or why it failed) does not matter
	}
	if prsErr != nil {
		return prsErr
	}
	if len(prs) > maxPRsPerDeploy {
		prs = prs[:maxPRsPerDeploy]
	}
	d.PRs = make([]playbook.PullRequest, len(prs))
	d.Detailed = true
	g, gctx := errgroup.WithContext(ctx)
	for i, pr := range prs {
		base := playbook.PullRequest{Number: pr.GetNumber(), Title: pr.GetTitle(), Author: pr.GetUser().GetLogin(), URL: pr.GetHTMLURL()}
		g.Go(func() error {
			p, err := l.pull(gctx, owner, name, base, q.Risky)
			d.PRs[i] = p
			return err
		})
	}
	return g.Wait()
}

// pullsOf lists the pull requests of commit sha (once per lookup).
func (l *lookup) pullsOf(ctx context.Context, owner, name, sha string) ([]*gh.PullRequest, error) {
	return l.pulls.get(owner+"/"+name+"@"+sha, func() ([]*gh.PullRequest, error) {
		var prs []*gh.PullRequest
		err := l.call(ctx, func() error {
			var err error
			prs, _, err = l.c.api.PullRequests.ListPullRequestsWithCommit(ctx, owner, name, sha, &gh.ListOptions{PerPage: 100})
			return err
		})
		if err != nil {
			return nil, l.c.fail(fmt.Sprintf("list the pull requests of commit %.7s in %s/%s", sha, owner, name), err)
		}
		return prs, nil
	})
}

// pull completes base with its reviews and files, read at once (once per
// lookup).
func (l *lookup) pull(ctx context.Context, owner, name string, base playbook.PullRequest, risky func(string) bool) (playbook.PullRequest, error) {
	return l.details.get(fmt.Sprintf("%s/%s#%d", owner, name, base.Number), func() (playbook.PullRequest, error) {
		p := base
		// Each read sets its own fields of p.
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error { return l.reviews(gctx, owner, name, &p) })
		g.Go(func() error { return l.files(gctx, owner, name, &p, risky) })
		err := g.Wait()
		return p, err
	})
}

// reviews sets who approved: each reviewer's latest approving or
// change-requesting review counts (comments do not change it; a dismissed
// review withdraws it).
func (l *lookup) reviews(ctx context.Context, owner, name string, p *playbook.PullRequest) error {
	var rvs []*gh.PullRequestReview
	err := l.call(ctx, func() error {
		var err error
		rvs, _, err = l.c.api.PullRequests.ListReviews(ctx, owner, name, p.Number, &gh.ListOptions{PerPage: 100})
		return err
	})
	if err != nil {
		return l.c.fail(fmt.Sprintf("list the reviews of %s/%s#%d", owner, name, p.Number), err)
	}
	latest := map[string]string{}
	var order []string
	for _, rv := range rvs {
		who := rv.GetUser().GetLogin()
		switch st := rv.GetState(); st {
		case "APPROVED", "CHANGES_REQUESTED", "DISMISSED":
			if _, seen := latest[who]; !seen {
				order = append(order, who)
			}
			latest[who] = st
		}
	}
	for _, who := range order {
		if latest[who] == "APPROVED" && who != p.Author {
			p.Approvers = append(p.Approvers, who)
		}
	}
	return nil
}

// files reads a pull request's changed files: the first page of 100, then
// the pages after it (up to maxFilePages) at once.
func (l *lookup) files(ctx context.Context, owner, name string, p *playbook.PullRequest, risky func(string) bool) error {
	read := func(ctx context.Context, page int) ([]*gh.CommitFile, *gh.Response, error) {
		var (
			fs   []*gh.CommitFile
			resp *gh.Response
		)
		err := l.call(ctx, func() error {
			var err error
			fs, resp, err = l.c.api.PullRequests.ListFiles(ctx, owner, name, p.Number, &gh.ListOptions{Page: page, PerPage: 100})
			return err
		})
		if err != nil {
			return nil, nil, l.c.fail(fmt.Sprintf("list the files of %s/%s#%d", owner, name, p.Number), err)
		}
		return fs, resp, nil
	}
	first, resp, err := read(ctx, 1)
	if err != nil {
		return err
	}
	pages := [][]*gh.CommitFile{first}
	if resp != nil && resp.NextPage != 0 {
		// GitHub's Link header names the last page; without it, read the
		// pages up to the cap and stop at the first empty one.
		last := maxFilePages
		if resp.LastPage != 0 {
			last = min(resp.LastPage, maxFilePages)
		}
		p.FilesMore = resp.LastPage == 0 || resp.LastPage > maxFilePages
		pages = append(pages, make([][]*gh.CommitFile, last-1)...)
		g, gctx := errgroup.WithContext(ctx)
		for n := 2; n <= last; n++ {
			g.Go(func() error {
				fs, _, err := read(gctx, n)
				pages[n-1] = fs
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		if resp.LastPage == 0 && len(pages[len(pages)-1]) < 100 {
			p.FilesMore = false // the last page read was not full: that was all
		}
	}
	for _, fs := range pages {
		p.Files += len(fs)
		for _, f := range fs {
			p.Additions += f.GetAdditions()
			p.Deletions += f.GetDeletions()
			if risky != nil && len(p.Risky) < 5 && risky(f.GetFilename()) {
				p.Risky = append(p.Risky, f.GetFilename())
			}
		}
	}
	return nil
}
