package fakegithub

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"time"
)

// repo is one repository: git history reduced to commits that snapshot
// whole trees, branches pointing at them, deployments, and the issues and
// pull requests sharing one number sequence.
type repo struct {
	id            int64
	owner, name   string
	defaultBranch string
	collaborators map[string]bool // lower-case logins
	branches      map[string]string
	commits       map[string]*commit
	deployments   []*deployment
	items         []*item // issues and pull requests; items[n-1] is number n
	labels        map[string]*label
}

func (r *repo) full() string { return r.owner + "/" + r.name }

type commit struct {
	sha     string
	parent  string
	message string
	files   map[string][]byte
}

type deployment struct {
	id                          int64
	sha, ref, task, env, desc   string
	creator                     string
	created                     time.Time
	statuses                    []*status // oldest first
	transientEnv, productionEnv bool
}

type status struct {
	id               int64
	state, desc, env string
	logURL, envURL   string
	creator          string
	created          time.Time
}

type label struct {
	id   int64
	name string
}

// item is an issue or a pull request.
type item struct {
	id          int64
	number      int
	title, body string
	state       string
	stateReason string
	labels      []string
	assignees   []string
	user        string
	created     time.Time
	updated     time.Time
	closed      time.Time
	pull        bool
	head, base  string // pull requests: branch names
	headSHA     string
	baseSHA     string
}

// Issue is a copy of an issue's state, for tests.
type Issue struct {
	Number    int
	Title     string
	Body      string
	State     string // open or closed
	Labels    []string
	Assignees []string
	User      string
	HTMLURL   string
	CreatedAt time.Time
	ClosedAt  time.Time // zero while open
}

// Pull is a copy of a pull request's state, for tests.
type Pull struct {
	Number    int
	Title     string
	Body      string
	State     string // open or closed
	Head      string // branch name
	Base      string // branch name
	HTMLURL   string
	CreatedAt time.Time
}

func (s *Server) newIDLocked() int64 {
	s.nextID++
	return s.nextID
}

// commitLocked records a commit on top of parent with files as its tree.
func (s *Server) commitLocked(r *repo, parent, message string, files map[string][]byte) *commit {
	s.commits++
	h := sha1.Sum(fmt.Appendf(nil, "commit %d %s %s %s", s.commits, r.full(), parent, message))
	c := &commit{sha: hex.EncodeToString(h[:]), parent: parent, message: message, files: files}
	r.commits[c.sha] = c
	return c
}

// blobSHA is git's object ID for a blob, as GitHub reports a file's sha.
func blobSHA(content []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

func userID(login string) int64 {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(login)))
	return int64(h.Sum32()%9_000_000) + 1_000_000
}

func (s *Server) repoLocked(full string) *repo {
	r := s.repos[strings.ToLower(full)]
	if r == nil {
		panic(fmt.Sprintf("fakegithub: no repository %q (AddRepo it first)", full))
	}
	return r
}

// AddRepo creates the repository owner/name with one commit (a README) on
// its default branch (default "main"). The token's user (Login) and the
// given logins are its collaborators: the only users issues can be
// assigned to.
func (s *Server) AddRepo(fullName, defaultBranch string, collaborators ...string) {
	owner, name, found := strings.Cut(fullName, "/")
	if !found || owner == "" || name == "" || strings.Contains(name, "/") {
		panic(fmt.Sprintf("fakegithub: repository %q is not owner/name", fullName))
	}
	if defaultBranch == "" {
		defaultBranch = "main"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repos[strings.ToLower(fullName)] != nil {
		panic(fmt.Sprintf("fakegithub: repository %q added twice", fullName))
	}
	r := &repo{
		id:            s.newIDLocked(),
		owner:         owner,
		name:          name,
		defaultBranch: defaultBranch,
		collaborators: map[string]bool{strings.ToLower(Login): true},
		branches:      map[string]string{},
		commits:       map[string]*commit{},
		labels:        map[string]*label{},
	}
	for _, c := range collaborators {
		r.collaborators[strings.ToLower(c)] = true
	}
	c := s.commitLocked(r, "", "Initial commit", map[string][]byte{"README.md": []byte("# " + name + "\n")})
	r.branches[defaultBranch] = c.sha
	s.repos[strings.ToLower(fullName)] = r
}

// AddDeploy records a deployment of sha (ref names it, e.g. a branch or a
// tag) to env, created by creator at at, with one status per state, oldest
// first (each a second after the previous). It returns the deployment's
// ID. Unlike a status created through the API, these statuses do not make
// older deployments inactive.
func (s *Server) AddDeploy(repo, env, sha, ref, creator string, at time.Time, states ...string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoLocked(repo)
	if creator == "" {
		creator = Login
	}
	d := &deployment{
		id: s.newIDLocked(), sha: sha, ref: ref, task: "deploy", env: env,
		creator: creator, created: at.UTC(), productionEnv: env == "production",
	}
	for i, st := range states {
		d.statuses = append(d.statuses, &status{
			id: s.newIDLocked(), state: st, env: env, creator: creator,
			created: at.UTC().Add(time.Duration(i+1) * time.Second),
		})
	}
	r.deployments = append(r.deployments, d)
	return d.id
}

// SetIssueState opens or closes issue (or pull request) n, as someone on
// GitHub would.
func (s *Server) SetIssueState(repo string, n int, state string) {
	if state != "open" && state != "closed" {
		panic(fmt.Sprintf("fakegithub: state %q is not open or closed", state))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoLocked(repo)
	if n < 1 || n > len(r.items) {
		panic(fmt.Sprintf("fakegithub: %s has no issue #%d", repo, n))
	}
	s.setStateLocked(r.items[n-1], state, "")
}

func (s *Server) setStateLocked(it *item, state, reason string) {
	now := s.now()
	if it.state == state {
		return
	}
	it.state = state
	it.updated = now
	if state == "closed" {
		it.closed = now
		it.stateReason = reason
		if reason == "" {
			it.stateReason = "completed"
		}
	} else {
		it.closed = time.Time{}
		it.stateReason = "reopened"
	}
}

// Issues returns copies of the repository's issues (pull requests left
// out), by number.
func (s *Server) Issues(repo string) []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoLocked(repo)
	var out []Issue
	for _, it := range r.items {
		if it.pull {
			continue
		}
		out = append(out, Issue{
			Number: it.number, Title: it.title, Body: it.body, State: it.state,
			Labels: slices.Clone(it.labels), Assignees: slices.Clone(it.assignees),
			User: it.user, HTMLURL: s.htmlURL(r, it), CreatedAt: it.created, ClosedAt: it.closed,
		})
	}
	return out
}

// Pulls returns copies of the repository's pull requests, by number.
func (s *Server) Pulls(repo string) []Pull {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoLocked(repo)
	var out []Pull
	for _, it := range r.items {
		if !it.pull {
			continue
		}
		out = append(out, Pull{
			Number: it.number, Title: it.title, Body: it.body, State: it.state,
			Head: it.head, Base: it.base, HTMLURL: s.htmlURL(r, it), CreatedAt: it.created,
		})
	}
	return out
}

// File returns the content of path at the head of branch.
func (s *Server) File(repo, branch, path string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoLocked(repo)
	sha, found := r.branches[branch]
	if !found {
		return nil, false
	}
	b, found := r.commits[sha].files[path]
	return slices.Clone(b), found
}

// Branch returns the commit branch points at.
func (s *Server) Branch(repo, branch string) (sha string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sha, ok = s.repoLocked(repo).branches[branch]
	return sha, ok
}

// PutFile commits content at path on branch (which must exist), as a push
// would, and returns the new commit's sha.
func (s *Server) PutFile(repo, branch, path string, content []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoLocked(repo)
	head, found := r.branches[branch]
	if !found {
		panic(fmt.Sprintf("fakegithub: %s has no branch %q", repo, branch))
	}
	files := maps.Clone(r.commits[head].files)
	files[path] = slices.Clone(content)
	c := s.commitLocked(r, head, "Update "+path, files)
	r.branches[branch] = c.sha
	return c.sha
}

// isAncestor reports whether commit a is b or one of b's ancestors.
func (r *repo) isAncestor(a, b string) bool {
	for b != "" {
		if a == b {
			return true
		}
		c := r.commits[b]
		if c == nil {
			return false
		}
		b = c.parent
	}
	return false
}

func (s *Server) htmlURL(r *repo, it *item) string {
	kind := "issues"
	if it.pull {
		kind = "pull"
	}
	return fmt.Sprintf("%s/%s/%s/%d", s.web, r.full(), kind, it.number)
}
