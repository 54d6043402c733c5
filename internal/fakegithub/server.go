// Package fakegithub is a stateful, in-memory fake of the parts of the
// GitHub REST API that Klaxon uses (repositories, git refs, contents,
// deployments and their statuses, issues, pull requests), served on
// 127.0.0.1 with httptest. It is driven through the real go-github client
// and answers the way GitHub does: authentication, 404 for unknown
// repositories, 422 Validation Failed with GitHub's error codes, Link
// headers for pagination, rate-limit headers, and injectable faults.
//
// Route patterns, as counted by Requests:
//
//	GET   /repos/{owner}/{repo}
//	GET   /repos/{owner}/{repo}/git/ref/{ref}
//	POST  /repos/{owner}/{repo}/git/refs
//	GET   /repos/{owner}/{repo}/contents/{path}
//	PUT   /repos/{owner}/{repo}/contents/{path}
//	GET   /repos/{owner}/{repo}/deployments
//	POST  /repos/{owner}/{repo}/deployments
//	GET   /repos/{owner}/{repo}/deployments/{id}/statuses
//	POST  /repos/{owner}/{repo}/deployments/{id}/statuses
//	GET   /repos/{owner}/{repo}/issues
//	POST  /repos/{owner}/{repo}/issues
//	GET   /repos/{owner}/{repo}/issues/{number}
//	PATCH /repos/{owner}/{repo}/issues/{number}
//	GET   /repos/{owner}/{repo}/pulls
//	POST  /repos/{owner}/{repo}/pulls
//
// Only tests and the demo (internal/demo) import it.
package fakegithub

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Token is the only token the fake accepts, sent as "Bearer <Token>" or
// "token <Token>".
const Token = "ghp_fakegithubtoken0000000000000000000"

// Login is the user the token belongs to: the author of everything created
// through the API, and a collaborator on every repository.
const Login = "klaxon-bot"

// MaxBody is the longest issue or pull request body GitHub accepts, in
// characters.
const MaxBody = 65536

// maxTitle is the longest issue title GitHub accepts, in characters.
const maxTitle = 256

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	// Now stamps created_at and friends, and X-RateLimit-Reset. Set it
	// before a request, not while one runs; it defaults to time.Now.
	Now func() time.Time

	srv    *httptest.Server
	prefix string // "/" or "/api/v3/"
	web    string // where html_url points: https://github.com or the server root

	mu       sync.Mutex
	repos    map[string]*repo // by lower-case "owner/name"
	faults   []*fault
	requests map[string]int
	nextID   int64
	commits  int
	merged   map[*item]*mergedExtra // merged pull requests (pulls_merged.go)
}

// Fault makes the next Times requests matching a method and path prefix
// fail.
type Fault struct {
	// Status is the HTTP status to answer with; default 500 (403 for the
	// rate limits).
	Status int
	// Times is how many matching requests fail; default 1.
	Times int
	// RetryAfter, in seconds, is sent as Retry-After. For RateLimited it
	// also sets X-RateLimit-Reset to now (Server.Now) plus that many
	// seconds (default 60).
	RetryAfter int
	// RateLimited answers as GitHub's primary rate limit does: 403 with
	// X-RateLimit-Remaining: 0 and X-RateLimit-Reset.
	RateLimited bool
	// Secondary answers as GitHub's secondary rate limit does: 403 with
	// Retry-After and the secondary-rate-limits documentation URL.
	Secondary bool
	// Message replaces the default error message.
	Message string
}

type fault struct {
	method, prefix string
	f              Fault
	left           int
}

// New starts a fake serving the API at its root, like api.github.com.
func New() *Server { return start("/", "https://github.com") }

// NewEnterprise starts a fake serving the API under /api/v3/, like GitHub
// Enterprise Server; html_url values point at the server's root.
func NewEnterprise() *Server { return start("/api/v3/", "") }

func start(prefix, web string) *Server {
	s := &Server{
		Now:      time.Now,
		prefix:   prefix,
		repos:    map[string]*repo{},
		requests: map[string]int{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.web = web
	if s.web == "" {
		s.web = s.srv.URL
	}
	return s
}

// URL is the API base URL, with a trailing slash: http://127.0.0.1:port/
// or, for NewEnterprise, http://127.0.0.1:port/api/v3/.
func (s *Server) URL() string { return s.srv.URL + s.prefix }

// WebURL is where html_url values point: https://github.com, or the
// server's root for NewEnterprise.
func (s *Server) WebURL() string { return s.web }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Fail makes the next f.Times requests whose method is method (any when
// empty) and whose path, relative to the API root and starting with "/",
// starts with pathPrefix fail as f says. Faults are checked after
// authentication, in the order they were added.
func (s *Server) Fail(method, pathPrefix string, f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: strings.ToUpper(method), prefix: pathPrefix, f: f, left: f.Times})
}

// Requests returns how many requests each route received (faults and
// errors included), keyed "METHOD pattern", for example
// "POST /repos/{owner}/{repo}/issues". Requests no route matched are
// counted under "METHOD unknown".
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.requests))
	for k, v := range s.requests {
		out[k] = v
	}
	return out
}

func (s *Server) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

// apiError is GitHub's error body.
type apiError struct {
	Message          string       `json:"message"`
	Errors           []fieldError `json:"errors,omitempty"`
	DocumentationURL string       `json:"documentation_url,omitempty"`
}

// fieldError is one entry of a 422's "errors".
type fieldError struct {
	Resource string `json:"resource,omitempty"`
	Field    string `json:"field,omitempty"`
	Code     string `json:"code"`
	Value    any    `json:"value,omitempty"`
	Message  string `json:"message,omitempty"`
}

// reply is what a handler answers.
type reply struct {
	status int
	body   any
	header http.Header
}

func ok(v any) reply      { return reply{status: http.StatusOK, body: v} }
func created(v any) reply { return reply{status: http.StatusCreated, body: v} }

func notFound() reply {
	return reply{status: http.StatusNotFound, body: apiError{
		Message:          "Not Found",
		DocumentationURL: "https://docs.github.com/rest",
	}}
}

func errReply(status int, msg string) reply {
	return reply{status: status, body: apiError{Message: msg, DocumentationURL: "https://docs.github.com/rest"}}
}

func invalid(errs ...fieldError) reply {
	return reply{status: http.StatusUnprocessableEntity, body: apiError{
		Message:          "Validation Failed",
		Errors:           errs,
		DocumentationURL: "https://docs.github.com/rest",
	}}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rel, inAPI := strings.CutPrefix(r.URL.Path, s.prefix)
	rel = "/" + rel
	route, params := match(r.Method, rel)
	key := r.Method + " unknown"
	if route != nil {
		key = r.Method + " " + route.pattern
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[key]++

	var rep reply
	switch {
	case !authorized(r.Header.Get("Authorization")):
		rep = errReply(http.StatusUnauthorized, "Bad credentials")
	case s.faultLocked(r.Method, rel, &rep):
	case !inAPI || route == nil:
		rep = notFound()
	default:
		var body []byte
		if r.Body != nil {
			var err error
			body, err = readBody(w, r)
			if err != nil {
				rep = errReply(http.StatusBadRequest, "Problems parsing JSON")
				break
			}
		}
		c := &call{s: s, r: r, params: params, body: body}
		if route.repo {
			c.repo = s.repos[strings.ToLower(params["owner"]+"/"+params["repo"])]
			if c.repo == nil {
				rep = notFound()
				break
			}
		}
		rep = route.handle(c)
	}
	s.writeLocked(w, rep)
}

func authorized(h string) bool {
	scheme, tok, found := strings.Cut(h, " ")
	if !found {
		return false
	}
	switch strings.ToLower(scheme) {
	case "bearer", "token":
		return strings.TrimSpace(tok) == Token
	}
	return false
}

// faultLocked fills rep and reports true when a fault applies.
func (s *Server) faultLocked(method, rel string, rep *reply) bool {
	for i, f := range s.faults {
		if (f.method != "" && f.method != method) || !strings.HasPrefix(rel, f.prefix) {
			continue
		}
		f.left--
		if f.left <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		*rep = s.faultReply(f.f)
		return true
	}
	return false
}

func (s *Server) faultReply(f Fault) reply {
	h := http.Header{}
	if f.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	switch {
	case f.RateLimited:
		wait := f.RetryAfter
		if wait <= 0 {
			wait = 60
		}
		h.Set("X-RateLimit-Limit", "5000")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Used", "5000")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(s.now().Add(time.Duration(wait)*time.Second).Unix(), 10))
		h.Set("X-RateLimit-Resource", "core")
		msg := f.Message
		if msg == "" {
			msg = "API rate limit exceeded for user ID 1."
		}
		return reply{status: or(f.Status, http.StatusForbidden), header: h, body: apiError{
			Message:          msg,
			DocumentationURL: "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting",
		}}
	case f.Secondary:
		if f.RetryAfter <= 0 {
			h.Set("Retry-After", "60")
		}
		msg := f.Message
		if msg == "" {
			msg = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
		}
		return reply{status: or(f.Status, http.StatusForbidden), header: h, body: apiError{
			Message:          msg,
			DocumentationURL: "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		}}
	}
	status := or(f.Status, http.StatusInternalServerError)
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(status)
		if status >= 500 {
			msg = "Server Error"
		}
	}
	rep := errReply(status, msg)
	rep.header = h
	return rep
}

func or(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func (s *Server) writeLocked(w http.ResponseWriter, rep reply) {
	h := w.Header()
	for k, vs := range rep.header {
		h[k] = vs
	}
	if h.Get("X-RateLimit-Remaining") == "" {
		used := 0
		for _, n := range s.requests {
			used += n
		}
		h.Set("X-RateLimit-Limit", "5000")
		h.Set("X-RateLimit-Remaining", strconv.Itoa(max(1, 5000-used)))
		h.Set("X-RateLimit-Used", strconv.Itoa(min(used, 4999)))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(s.now().Truncate(time.Hour).Add(time.Hour).Unix(), 10))
		h.Set("X-RateLimit-Resource", "core")
	}
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(rep.status)
	if rep.body != nil {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(rep.body)
	}
}

// readBody reads at most 32 MiB, GitHub's own order of magnitude.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(w, r.Body, 32<<20))
}

// call is one request being handled, with s.mu held.
type call struct {
	s      *Server
	r      *http.Request
	params map[string]string
	body   []byte
	repo   *repo // set for routes under /repos/{owner}/{repo}
}

// decode reads the JSON body into v.
func (c *call) decode(v any) bool {
	if len(c.body) == 0 {
		return true
	}
	return json.Unmarshal(c.body, v) == nil
}

func (c *call) query(k string) string { return c.r.URL.Query().Get(k) }

// route is one API route.
type route struct {
	method  string
	pattern string
	segs    []string
	rest    bool // the last parameter takes the rest of the path
	repo    bool // the pattern starts with /repos/{owner}/{repo}
	handle  func(*call) reply
}

var routes []*route

func init() {
	add := func(method, pattern string, h func(*call) reply) {
		segs := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
		rt := &route{method: method, pattern: pattern, segs: segs, handle: h,
			repo: strings.HasPrefix(pattern, "/repos/{owner}/{repo}")}
		last := segs[len(segs)-1]
		rt.rest = last == "{ref}" || last == "{path}"
		routes = append(routes, rt)
	}
	add("GET", "/repos/{owner}/{repo}", (*call).getRepo)
	add("GET", "/repos/{owner}/{repo}/git/ref/{ref}", (*call).getRef)
	add("POST", "/repos/{owner}/{repo}/git/refs", (*call).createRef)
	add("GET", "/repos/{owner}/{repo}/contents/{path}", (*call).getContents)
	add("PUT", "/repos/{owner}/{repo}/contents/{path}", (*call).putContents)
	add("GET", "/repos/{owner}/{repo}/deployments", (*call).listDeployments)
	add("POST", "/repos/{owner}/{repo}/deployments", (*call).createDeployment)
	add("GET", "/repos/{owner}/{repo}/deployments/{id}/statuses", (*call).listStatuses)
	add("POST", "/repos/{owner}/{repo}/deployments/{id}/statuses", (*call).createStatus)
	add("GET", "/repos/{owner}/{repo}/issues", (*call).listIssues)
	add("POST", "/repos/{owner}/{repo}/issues", (*call).createIssue)
	add("GET", "/repos/{owner}/{repo}/issues/{number}", (*call).getIssue)
	add("PATCH", "/repos/{owner}/{repo}/issues/{number}", (*call).editIssue)
	add("GET", "/repos/{owner}/{repo}/pulls", (*call).listPulls)
	add("POST", "/repos/{owner}/{repo}/pulls", (*call).createPull)
}

// match finds the route for a method and a path relative to the API root.
func match(method, rel string) (*route, map[string]string) {
	segs := strings.Split(strings.TrimPrefix(rel, "/"), "/")
	for _, rt := range routes {
		if rt.method != method {
			continue
		}
		if len(segs) < len(rt.segs) || (!rt.rest && len(segs) != len(rt.segs)) {
			continue
		}
		params := map[string]string{}
		okay := true
		for i, p := range rt.segs {
			if strings.HasPrefix(p, "{") {
				v := segs[i]
				if rt.rest && i == len(rt.segs)-1 {
					v = strings.Join(segs[i:], "/")
				}
				if v == "" {
					okay = false
					break
				}
				params[strings.Trim(p, "{}")] = v
				continue
			}
			if p != segs[i] {
				okay = false
				break
			}
		}
		if okay {
			return rt, params
		}
	}
	return nil, nil
}

// page cuts items for the request's page and per_page, setting a Link
// header the way GitHub does.
func page[T any](c *call, items []T, h http.Header) []T {
	per, err := strconv.Atoi(c.query("per_page"))
	if err != nil || per <= 0 {
		per = 30
	}
	per = min(per, 100)
	n, err := strconv.Atoi(c.query("page"))
	if err != nil || n <= 0 {
		n = 1
	}
	last := max(1, (len(items)+per-1)/per)
	link := func(p int, rel string) string {
		u := *c.r.URL
		u.Scheme = "http"
		u.Host = c.r.Host
		q := u.Query()
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(per))
		u.RawQuery = q.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if n > 1 {
		links = append(links, link(min(n-1, last), "prev"))
	}
	if n < last {
		links = append(links, link(n+1, "next"), link(last, "last"))
	}
	if n > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		h.Set("Link", strings.Join(links, ", "))
	}
	start := (n - 1) * per
	if start >= len(items) {
		return []T{}
	}
	return items[start:min(start+per, len(items))]
}
