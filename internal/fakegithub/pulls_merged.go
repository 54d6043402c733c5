package fakegithub

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Merged pull requests, as a deploy ships them: the commits each is
// associated with, its reviews and its changed files. Served at
//
//	GET /repos/{owner}/{repo}/commits/{sha}/pulls
//	GET /repos/{owner}/{repo}/pulls/{number}/reviews
//	GET /repos/{owner}/{repo}/pulls/{number}/files

// MergedPull describes a merged pull request for AddMergedPull.
type MergedPull struct {
	Title  string
	Author string // login; default Login
	// Commits are the commit SHAs GitHub associates with the pull request
	// (its merge commit and the commits it brought); GET
	// /commits/{sha}/pulls lists it for each.
	Commits  []string
	MergedAt time.Time
	Files    []PullFile
	Reviews  []Review
}

// PullFile is one changed file of a pull request.
type PullFile struct {
	Path                 string
	Additions, Deletions int
	Status               string // added, modified (default), removed, renamed
}

// Review is a pull request review.
type Review struct {
	User  string
	State string // APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
	At    time.Time
}

// mergedExtra is what an item that is a merged pull request carries
// beyond an issue.
type mergedExtra struct {
	commits  []string
	mergedAt time.Time
	files    []PullFile
	reviews  []Review
	reviewID []int64
}

// reviewStates are the states GitHub reports for a submitted review.
var reviewStates = []string{"APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"}

// AddMergedPull records a merged pull request in repo and returns its
// number. Its merge commit (the first of p.Commits, or a new SHA when none
// is given) becomes reachable through GET /commits/{sha}/pulls.
func (s *Server) AddMergedPull(repo string, p MergedPull) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoLocked(repo)
	for _, rv := range p.Reviews {
		if !slices.Contains(reviewStates, rv.State) {
			panic(fmt.Sprintf("fakegithub: review state %q is not one of %v", rv.State, reviewStates))
		}
	}
	if p.Author == "" {
		p.Author = Login
	}
	at := p.MergedAt.UTC()
	if at.IsZero() {
		at = s.now()
	}
	it := &item{
		id: s.newIDLocked(), number: len(r.items) + 1, state: "closed", stateReason: "",
		title: p.Title, user: p.Author, created: at.Add(-time.Hour), updated: at, closed: at,
		pull: true, head: fmt.Sprintf("feature-%d", len(r.items)+1), base: r.defaultBranch,
	}
	commits := slices.Clone(p.Commits)
	if len(commits) == 0 {
		h := sha1.Sum(fmt.Appendf(nil, "merge %s %d", r.full(), it.number))
		commits = []string{hex.EncodeToString(h[:])}
	}
	it.headSHA, it.baseSHA = commits[len(commits)-1], r.branches[r.defaultBranch]
	ext := &mergedExtra{commits: commits, mergedAt: at, files: slices.Clone(p.Files), reviews: slices.Clone(p.Reviews)}
	for range p.Reviews {
		ext.reviewID = append(ext.reviewID, s.newIDLocked())
	}
	r.items = append(r.items, it)
	if s.merged == nil {
		s.merged = map[*item]*mergedExtra{}
	}
	s.merged[it] = ext
	return it.number
}

func init() {
	register("GET", "/repos/{owner}/{repo}/commits/{sha}/pulls", (*call).commitPulls)
	register("GET", "/repos/{owner}/{repo}/pulls/{number}/reviews", (*call).listReviews)
	register("GET", "/repos/{owner}/{repo}/pulls/{number}/files", (*call).listPullFiles)
}

// register adds a route, as server.go's own table does.
func register(method, pattern string, h func(*call) reply) {
	segs := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
	routes = append(routes, &route{method: method, pattern: pattern, segs: segs, handle: h,
		repo: strings.HasPrefix(pattern, "/repos/{owner}/{repo}")})
}

// mergedPullJSON is a pull request as the commit → pulls list shows it.
func (c *call) mergedPullJSON(it *item) map[string]any {
	out := c.pullJSON(it)
	if ext := c.s.merged[it]; ext != nil {
		out["merged_at"] = ts(ext.mergedAt)
		out["merge_commit_sha"] = ext.commits[0]
	}
	return out
}

func (c *call) commitPulls() reply {
	sha := strings.ToLower(c.params["sha"])
	if len(sha) < 7 || strings.Trim(sha, "0123456789abcdef") != "" {
		return errReply(http.StatusUnprocessableEntity, "No commit found for SHA: "+c.params["sha"])
	}
	var out []*item
	for _, it := range c.repo.items {
		ext := c.s.merged[it]
		if ext == nil {
			continue
		}
		if slices.ContainsFunc(ext.commits, func(x string) bool { return strings.HasPrefix(strings.ToLower(x), sha) }) {
			out = append(out, it)
		}
	}
	// Newest first, as GitHub lists them.
	slices.Reverse(out)
	rep := reply{status: http.StatusOK, header: http.Header{}}
	list := []map[string]any{}
	for _, it := range page(c, out, rep.header) {
		list = append(list, c.mergedPullJSON(it))
	}
	rep.body = list
	return rep
}

func (c *call) pull() (*item, *mergedExtra) {
	it := c.item()
	if it == nil || !it.pull {
		return nil, nil
	}
	ext := c.s.merged[it]
	if ext == nil {
		ext = &mergedExtra{}
	}
	return it, ext
}

func (c *call) listReviews() reply {
	it, ext := c.pull()
	if it == nil {
		return notFound()
	}
	type rv struct {
		i int
		r Review
	}
	var all []rv
	for i, r := range ext.reviews {
		all = append(all, rv{i, r})
	}
	rep := reply{status: http.StatusOK, header: http.Header{}}
	list := []map[string]any{}
	for _, x := range page(c, all, rep.header) {
		at := x.r.At
		if at.IsZero() {
			at = ext.mergedAt.Add(-time.Duration(len(ext.reviews)-x.i) * time.Minute)
		}
		id := ext.reviewID[x.i]
		list = append(list, map[string]any{
			"id":                 id,
			"node_id":            "PRR_" + strconv.FormatInt(id, 36),
			"user":               c.s.userJSON(x.r.User),
			"body":               "",
			"state":              x.r.State,
			"html_url":           fmt.Sprintf("%s#pullrequestreview-%d", c.s.htmlURL(c.repo, it), id),
			"pull_request_url":   c.s.apiURL("repos/%s/pulls/%d", c.repo.full(), it.number),
			"submitted_at":       ts(at),
			"commit_id":          it.headSHA,
			"author_association": "MEMBER",
		})
	}
	rep.body = list
	return rep
}

// maxPullFiles is how many files GitHub lists for a pull request at most.
const maxPullFiles = 3000

func (c *call) listPullFiles() reply {
	it, ext := c.pull()
	if it == nil {
		return notFound()
	}
	files := ext.files
	if len(files) > maxPullFiles {
		files = files[:maxPullFiles]
	}
	rep := reply{status: http.StatusOK, header: http.Header{}}
	list := []map[string]any{}
	for _, f := range page(c, files, rep.header) {
		st := f.Status
		if st == "" {
			st = "modified"
		}
		blob := blobSHA([]byte(f.Path))
		list = append(list, map[string]any{
			"sha":          blob,
			"filename":     f.Path,
			"status":       st,
			"additions":    f.Additions,
			"deletions":    f.Deletions,
			"changes":      f.Additions + f.Deletions,
			"blob_url":     fmt.Sprintf("%s/%s/blob/%s/%s", c.s.web, c.repo.full(), it.headSHA, f.Path),
			"raw_url":      fmt.Sprintf("%s/%s/raw/%s/%s", c.s.web, c.repo.full(), it.headSHA, f.Path),
			"contents_url": c.s.apiURL("repos/%s/contents/%s?ref=%s", c.repo.full(), f.Path, it.headSHA),
		})
	}
	rep.body = list
	return rep
}
