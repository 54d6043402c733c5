// Package fakepagerduty is a stateful fake of PagerDuty's REST API v2 and
// Events API v2 on 127.0.0.1, driven through go-pagerduty in tests and the
// demo. It keeps users, schedules, escalation policies, services and
// incidents; answers with PagerDuty's documented shapes and errors (401
// without a token, 400 without From on writes, 400 for an open incident with
// the same incident_key, 404 for unknown objects); injects 429 and 5xx
// faults; and sends v3 webhooks signed as PagerDuty signs them.
//
// Only tests and the demo (internal/demo) import it.
package fakepagerduty

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Token is the REST API key the fake accepts.
const Token = "fake-pd-token"

// User is a PagerDuty user.
type User struct{ ID, Name, Email string }

// Policy is an escalation policy: level i is Levels[i-1], each a list of
// user IDs or schedule IDs.
type Policy struct {
	ID, Name string
	Levels   [][]string
}

// Schedule is an on-call schedule with whoever is on call now.
type Schedule struct {
	ID, Name string
	OnCall   string // user ID
}

// Service is a PagerDuty service.
type Service struct{ ID, Name, Policy string }

// LogEntry is one entry of an incident's log.
type LogEntry struct {
	Type    string // trigger_log_entry, notify_log_entry, acknowledge_log_entry, escalate_log_entry, resolve_log_entry, responder_request_log_entry
	At      time.Time
	Agent   string // user ID, or "" for PagerDuty itself
	Summary string
}

// Incident is a PagerDuty incident.
type Incident struct {
	ID, Key, Title, Service, Policy string
	Number                          int
	Status                          string // triggered, acknowledged, resolved
	Created                         time.Time
	AckedBy                         string
	AckedAt                         time.Time
	Assignees                       []string
	Responders                      []string // targets of responder requests, as type:id
	Log                             []LogEntry
	From                            string // the From of the create
	// Details is the body's text; Messages the responder requests' messages.
	Details  string
	Messages []string
}

type fault struct {
	method, prefix string
	status, times  int
	retryAfter     string
}

// Server is the fake.
type Server struct {
	srv *httptest.Server

	mu        sync.Mutex
	users     map[string]*User
	policies  map[string]*Policy
	schedules map[string]*Schedule
	services  map[string]*Service
	incidents []*Incident
	faults    []*fault
	requests  map[string]int
	events    []map[string]any
	now       func() time.Time
	seq       int
}

// New starts a fake PagerDuty. Close it when done.
func New() *Server {
	s := &Server{
		users: map[string]*User{}, policies: map[string]*Policy{}, schedules: map[string]*Schedule{},
		services: map[string]*Service{}, requests: map[string]int{}, now: time.Now,
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the REST API endpoint (pagerduty.api_url); EventsURL the Events API's.
func (s *Server) URL() string { return s.srv.URL }

// EventsURL is the Events API v2 endpoint (pagerduty.events_url).
func (s *Server) EventsURL() string { return s.srv.URL + "/events" }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// SetClock makes the fake stamp times with now.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// AddUser adds a user.
func (s *Server) AddUser(id, name, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[id] = &User{id, name, email}
}

// AddSchedule adds a schedule with onCall (a user ID) on call now.
func (s *Server) AddSchedule(id, name, onCall string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.schedules[id] = &Schedule{id, name, onCall}
}

// AddPolicy adds an escalation policy; each level lists user or schedule IDs.
func (s *Server) AddPolicy(id, name string, levels ...[]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.policies[id] = &Policy{id, name, levels}
}

// AddService adds a service escalating along policy.
func (s *Server) AddService(id, name, policy string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.services[id] = &Service{id, name, policy}
}

// Fail makes the next times requests whose method matches (or "" for any)
// and whose path starts with prefix answer status (429 with Retry-After: 1).
func (s *Server) Fail(method, prefix string, status, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{method: method, prefix: prefix, status: status, times: times, retryAfter: "1"})
}

// Heal drops every fault still pending: PagerDuty is back.
func (s *Server) Heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Requests counts requests by "METHOD /path" (without IDs' query strings).
func (s *Server) Requests(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[key]
}

// Incidents returns a copy of every incident.
func (s *Server) Incidents() []Incident {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Incident, len(s.incidents))
	for i, inc := range s.incidents {
		out[i] = *inc
		out[i].Log = slices.Clone(inc.Log)
		out[i].Responders = slices.Clone(inc.Responders)
	}
	return out
}

// Events returns the Events API v2 events received.
func (s *Server) Events() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// Acknowledge acknowledges incident id as user, as someone would in the
// PagerDuty app, and returns the v3 webhook event PagerDuty would send.
func (s *Server) Acknowledge(id, user string) (WebhookEvent, error) {
	return s.change(id, user, "acknowledged")
}

// Resolve resolves incident id as user and returns the webhook event.
func (s *Server) Resolve(id, user string) (WebhookEvent, error) {
	return s.change(id, user, "resolved")
}

// Escalate moves incident id to its policy's next level and returns the event.
func (s *Server) Escalate(id string) (WebhookEvent, error) {
	return s.change(id, "", "escalated")
}

// change applies what (acknowledged, resolved, escalated, reassigned to
// the users in to) to incident id as user and returns the webhook event.
func (s *Server) change(id, user, what string, to ...string) (WebhookEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inc := s.incidentLocked(id)
	if inc == nil {
		return WebhookEvent{}, fmt.Errorf("no incident %s", id)
	}
	now := s.now().UTC()
	switch what {
	case "acknowledged":
		inc.Status, inc.AckedBy, inc.AckedAt = "acknowledged", user, now
		inc.Log = append(inc.Log, LogEntry{"acknowledge_log_entry", now, user, "Acknowledged by " + s.nameLocked(user)})
	case "resolved":
		inc.Status = "resolved"
		inc.Log = append(inc.Log, LogEntry{"resolve_log_entry", now, user, "Resolved by " + s.nameLocked(user)})
	case "escalated":
		level := 2
		inc.Assignees = s.levelLocked(inc.Policy, level)
		inc.Log = append(inc.Log, LogEntry{"escalate_log_entry", now, "", "Escalated to level 2"})
	case "reassigned":
		inc.Assignees = append([]string(nil), to...)
		for _, u := range to {
			inc.Log = append(inc.Log, LogEntry{"assign_log_entry", now, user, "Assigned to " + s.nameLocked(u)})
		}
	}
	return s.webhookLocked(inc, "incident."+what, user, now), nil
}

// ---- HTTP

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := r.URL.Path
	s.requests[r.Method+" "+routeKey(path)]++
	for i, f := range s.faults {
		if (f.method == "" || f.method == r.Method) && strings.HasPrefix(path, f.prefix) && f.times > 0 {
			f.times--
			if f.times == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
			if f.status == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", f.retryAfter)
			}
			writeErr(w, f.status, 0, http.StatusText(f.status))
			return
		}
	}
	if strings.HasPrefix(path, "/events/") {
		s.enqueue(w, r)
		return
	}
	if !authorized(r) {
		writeErr(w, http.StatusUnauthorized, 2006, "Authentication failed: the API key is missing or invalid")
		return
	}
	if r.Method != http.MethodGet && r.Header.Get("From") == "" {
		if r.Method == http.MethodPost && strings.HasSuffix(path, "/incidents") || r.Method == http.MethodPut || strings.HasSuffix(path, "/responder_requests") {
			writeErr(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "A valid user email must be provided in the From header")
			return
		}
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPost && path == "/incidents":
		s.createIncident(w, r)
	case r.Method == http.MethodGet && path == "/incidents":
		s.listIncidents(w, q)
	case r.Method == http.MethodPut && path == "/incidents":
		s.manageIncidents(w, r)
	case r.Method == http.MethodGet && len(segs) == 2 && segs[0] == "incidents":
		if inc := s.incidentLocked(segs[1]); inc != nil {
			writeJSON(w, http.StatusOK, map[string]any{"incident": s.incidentJSON(inc)})
		} else {
			writeErr(w, http.StatusNotFound, 2100, "Not Found")
		}
	case r.Method == http.MethodPost && len(segs) == 3 && segs[0] == "incidents" && segs[2] == "responder_requests":
		s.responderRequest(w, r, segs[1])
	case r.Method == http.MethodGet && len(segs) == 3 && segs[0] == "incidents" && segs[2] == "log_entries":
		s.logEntries(w, segs[1])
	case r.Method == http.MethodGet && path == "/oncalls":
		s.oncalls(w, q)
	case r.Method == http.MethodGet && len(segs) == 2 && segs[0] == "schedules":
		if sc := s.schedules[segs[1]]; sc != nil {
			writeJSON(w, http.StatusOK, map[string]any{"schedule": map[string]any{"id": sc.ID, "type": "schedule", "name": sc.Name, "summary": sc.Name, "html_url": s.web("schedules/" + sc.ID)}})
		} else {
			writeErr(w, http.StatusNotFound, 2100, "Not Found")
		}
	case r.Method == http.MethodGet && len(segs) == 2 && segs[0] == "escalation_policies":
		if p := s.policies[segs[1]]; p != nil {
			writeJSON(w, http.StatusOK, map[string]any{"escalation_policy": s.policyJSON(p)})
		} else {
			writeErr(w, http.StatusNotFound, 2100, "Not Found")
		}
	case r.Method == http.MethodGet && len(segs) == 2 && segs[0] == "users":
		if u := s.users[segs[1]]; u != nil {
			writeJSON(w, http.StatusOK, map[string]any{"user": s.userJSON(u)})
		} else {
			writeErr(w, http.StatusNotFound, 2100, "Not Found")
		}
	case r.Method == http.MethodGet && path == "/users":
		var out []any
		query := strings.ToLower(q.Get("query"))
		for _, id := range sortedKeys(s.users) {
			u := s.users[id]
			if query == "" || strings.Contains(strings.ToLower(u.Email), query) || strings.Contains(strings.ToLower(u.Name), query) {
				out = append(out, s.userJSON(u))
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"users": out, "limit": 25, "offset": 0, "more": false})
	default:
		writeErr(w, http.StatusNotFound, 2100, "Not Found")
	}
}

// routeKey replaces IDs in a path with {id}, for request counts.
func routeKey(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) >= 2 && segs[0] != "events" {
		segs[1] = "{id}"
	}
	return "/" + strings.Join(segs, "/")
}

func authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	return h == "Token token="+Token || h == "Bearer "+Token
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeErr answers PagerDuty's error object.
func writeErr(w http.ResponseWriter, status, code int, msg string, errs ...string) {
	body := map[string]any{"message": msg}
	if code != 0 {
		body["code"] = code
	}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	writeJSON(w, status, map[string]any{"error": body})
}

func (s *Server) web(p string) string { return "https://fake.pagerduty.com/" + p }

func (s *Server) nameLocked(id string) string {
	if u := s.users[id]; u != nil {
		return u.Name
	}
	if id == "" {
		return "PagerDuty"
	}
	return id
}

func (s *Server) userJSON(u *User) map[string]any {
	return map[string]any{"id": u.ID, "type": "user", "summary": u.Name, "name": u.Name, "email": u.Email,
		"html_url": s.web("users/" + u.ID), "self": s.srv.URL + "/users/" + u.ID}
}

func (s *Server) ref(kind, id string) map[string]any {
	summary := id
	switch kind {
	case "user_reference":
		summary = s.nameLocked(id)
	case "schedule_reference":
		if sc := s.schedules[id]; sc != nil {
			summary = sc.Name
		}
	case "escalation_policy_reference":
		if p := s.policies[id]; p != nil {
			summary = p.Name
		}
	case "service_reference":
		if sv := s.services[id]; sv != nil {
			summary = sv.Name
		}
	}
	return map[string]any{"id": id, "type": kind, "summary": summary, "html_url": s.web(strings.TrimSuffix(kind, "_reference") + "s/" + id)}
}

func (s *Server) policyJSON(p *Policy) map[string]any {
	var rules []any
	for i, lvl := range p.Levels {
		var targets []any
		for _, id := range lvl {
			kind := "user_reference"
			if _, ok := s.schedules[id]; ok {
				kind = "schedule_reference"
			}
			targets = append(targets, s.ref(kind, id))
		}
		rules = append(rules, map[string]any{"id": fmt.Sprintf("R%d", i+1), "escalation_delay_in_minutes": 30, "targets": targets})
	}
	return map[string]any{"id": p.ID, "type": "escalation_policy", "name": p.Name, "summary": p.Name, "escalation_rules": rules, "html_url": s.web("escalation_policies/" + p.ID)}
}

// levelLocked resolves a policy level to the users on call at it.
func (s *Server) levelLocked(policy string, level int) []string {
	p := s.policies[policy]
	if p == nil || level < 1 || level > len(p.Levels) {
		return nil
	}
	var out []string
	for _, id := range p.Levels[level-1] {
		if sc := s.schedules[id]; sc != nil {
			id = sc.OnCall
		}
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func (s *Server) incidentLocked(id string) *Incident {
	for _, inc := range s.incidents {
		if inc.ID == id {
			return inc
		}
	}
	return nil
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (s *Server) incidentJSON(inc *Incident) map[string]any {
	var assignments, acks []any
	for _, a := range inc.Assignees {
		assignments = append(assignments, map[string]any{"at": ts(inc.Created), "assignee": s.ref("user_reference", a)})
	}
	if inc.AckedBy != "" {
		acks = append(acks, map[string]any{"at": ts(inc.AckedAt), "acknowledger": s.ref("user_reference", inc.AckedBy)})
	}
	return map[string]any{
		"id": inc.ID, "type": "incident", "summary": fmt.Sprintf("[#%d] %s", inc.Number, inc.Title),
		"incident_number": inc.Number, "title": inc.Title, "status": inc.Status, "incident_key": inc.Key,
		"created_at": ts(inc.Created), "urgency": "high",
		"html_url": s.web("incidents/" + inc.ID), "self": s.srv.URL + "/incidents/" + inc.ID,
		"service":           s.ref("service_reference", inc.Service),
		"escalation_policy": s.ref("escalation_policy_reference", inc.Policy),
		"assignments":       assignments, "acknowledgements": acks,
	}
}

func (s *Server) createIncident(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Incident *struct {
			Type             string `json:"type"`
			Title            string `json:"title"`
			IncidentKey      string `json:"incident_key"`
			Service          *struct{ ID, Type string }
			EscalationPolicy *struct{ ID, Type string } `json:"escalation_policy"`
			Body             *struct{ Type, Details string }
		} `json:"incident"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil || in.Incident == nil {
		writeErr(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "incident is required")
		return
	}
	i := in.Incident
	switch {
	case i.Type != "incident":
		writeErr(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "incident.type must be incident")
		return
	case strings.TrimSpace(i.Title) == "":
		writeErr(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "Title cannot be empty")
		return
	case i.Service == nil || s.services[i.Service.ID] == nil:
		writeErr(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "Service not found")
		return
	}
	if i.IncidentKey != "" {
		for _, inc := range s.incidents {
			if inc.Key == i.IncidentKey && inc.Service == i.Service.ID && inc.Status != "resolved" {
				writeErr(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "Open incident with key '"+i.IncidentKey+"' already exists on this service")
				return
			}
		}
	}
	svc := s.services[i.Service.ID]
	policy := svc.Policy
	if i.EscalationPolicy != nil && s.policies[i.EscalationPolicy.ID] != nil {
		policy = i.EscalationPolicy.ID
	}
	now := s.now().UTC()
	n := len(s.incidents) + 1
	inc := &Incident{ID: fmt.Sprintf("Q%07d", n), Key: i.IncidentKey, Title: i.Title, Service: svc.ID, Policy: policy,
		Number: n, Status: "triggered", Created: now, Assignees: s.levelLocked(policy, 1), From: r.Header.Get("From")}
	if i.Body != nil {
		inc.Details = i.Body.Details
	}
	inc.Log = append(inc.Log, LogEntry{"trigger_log_entry", now, "", "Triggered through the API"})
	for _, a := range inc.Assignees {
		inc.Log = append(inc.Log, LogEntry{"notify_log_entry", now, "", "Notified " + s.nameLocked(a) + " by phone and push"})
	}
	s.incidents = append(s.incidents, inc)
	writeJSON(w, http.StatusCreated, map[string]any{"incident": s.incidentJSON(inc)})
}

func (s *Server) listIncidents(w http.ResponseWriter, q url.Values) {
	var out []any
	statuses := q["statuses[]"]
	for _, inc := range s.incidents {
		if k := q.Get("incident_key"); k != "" && inc.Key != k {
			continue
		}
		if len(statuses) > 0 && !slices.Contains(statuses, inc.Status) {
			continue
		}
		if ids := q["service_ids[]"]; len(ids) > 0 && !slices.Contains(ids, inc.Service) {
			continue
		}
		out = append(out, s.incidentJSON(inc))
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": out, "limit": 25, "offset": 0, "more": false})
}

func (s *Server) manageIncidents(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Incidents []struct {
			ID, Type, Status string
		} `json:"incidents"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil || len(in.Incidents) == 0 {
		writeErr(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "incidents is required")
		return
	}
	from := r.Header.Get("From")
	var agent string
	for _, u := range s.users {
		if strings.EqualFold(u.Email, from) {
			agent = u.ID
		}
	}
	var out []any
	now := s.now().UTC()
	for _, m := range in.Incidents {
		inc := s.incidentLocked(m.ID)
		if inc == nil {
			writeErr(w, http.StatusNotFound, 2100, "Not Found")
			return
		}
		switch m.Status {
		case "acknowledged":
			if inc.Status == "triggered" {
				inc.Status, inc.AckedBy, inc.AckedAt = "acknowledged", agent, now
				inc.Log = append(inc.Log, LogEntry{"acknowledge_log_entry", now, agent, "Acknowledged by " + s.nameLocked(agent)})
			}
		case "resolved":
			if inc.Status != "resolved" {
				inc.Status = "resolved"
				inc.Log = append(inc.Log, LogEntry{"resolve_log_entry", now, agent, "Resolved by " + s.nameLocked(agent)})
			}
		case "":
		default:
			writeErr(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "status must be acknowledged or resolved")
			return
		}
		out = append(out, s.incidentJSON(inc))
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": out})
}

func (s *Server) responderRequest(w http.ResponseWriter, r *http.Request, id string) {
	inc := s.incidentLocked(id)
	if inc == nil {
		writeErr(w, http.StatusNotFound, 2100, "Not Found")
		return
	}
	var in struct {
		Message     string `json:"message"`
		RequesterID string `json:"requester_id"`
		Targets     []struct {
			Target struct{ ID, Type string } `json:"responder_request_target"`
		} `json:"responder_request_targets"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil || len(in.Targets) == 0 {
		writeErr(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "responder_request_targets is required")
		return
	}
	if in.RequesterID == "" || s.users[in.RequesterID] == nil {
		writeErr(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "requester_id must be a valid user")
		return
	}
	now := s.now().UTC()
	var targets []any
	for _, t := range in.Targets {
		ok := false
		switch t.Target.Type {
		case "user", "user_reference":
			ok = s.users[t.Target.ID] != nil
		case "escalation_policy", "escalation_policy_reference":
			ok = s.policies[t.Target.ID] != nil
		case "schedule", "schedule_reference":
			ok = s.schedules[t.Target.ID] != nil
		}
		if !ok {
			writeErr(w, http.StatusBadRequest, 2001, "Invalid Input Provided", "Responder request target "+t.Target.ID+" ("+t.Target.Type+") not found")
			return
		}
		inc.Responders = append(inc.Responders, strings.TrimSuffix(t.Target.Type, "_reference")+":"+t.Target.ID)
		inc.Messages = append(inc.Messages, in.Message)
		inc.Log = append(inc.Log, LogEntry{"responder_request_log_entry", now, in.RequesterID, "Requested " + t.Target.ID + " to respond"})
		targets = append(targets, map[string]any{"responder_request_target": map[string]any{"id": t.Target.ID, "type": t.Target.Type}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"responder_request": map[string]any{
		"incident": map[string]any{"id": inc.ID, "type": "incident_reference"}, "message": in.Message,
		"requester": s.userJSON(s.users[in.RequesterID]), "requested_at": ts(now), "responder_request_targets": targets,
	}})
}

func (s *Server) logEntries(w http.ResponseWriter, id string) {
	inc := s.incidentLocked(id)
	if inc == nil {
		writeErr(w, http.StatusNotFound, 2100, "Not Found")
		return
	}
	var out []any
	for i, e := range inc.Log {
		entry := map[string]any{"id": "L" + strconv.Itoa(i+1), "type": e.Type, "summary": e.Summary, "created_at": ts(e.At),
			"incident": map[string]any{"id": inc.ID, "type": "incident_reference"}}
		if e.Agent != "" {
			entry["agent"] = s.ref("user_reference", e.Agent)
		} else {
			entry["agent"] = map[string]any{"id": inc.Service, "type": "service_reference", "summary": "PagerDuty"}
		}
		out = append(out, entry)
	}
	writeJSON(w, http.StatusOK, map[string]any{"log_entries": out, "limit": 100, "offset": 0, "more": false})
}

func (s *Server) oncalls(w http.ResponseWriter, q url.Values) {
	withUsers := slices.Contains(q["include[]"], "users")
	var out []any
	add := func(userID string, policy *Policy, schedule *Schedule, level int) {
		u := s.users[userID]
		if u == nil {
			return
		}
		user := s.ref("user_reference", userID)
		if withUsers {
			user = s.userJSON(u)
		}
		oc := map[string]any{"user": user, "escalation_level": level, "start": ts(s.now().Add(-time.Hour)), "end": ts(s.now().Add(7 * time.Hour))}
		if policy != nil {
			oc["escalation_policy"] = s.ref("escalation_policy_reference", policy.ID)
		}
		if schedule != nil {
			oc["schedule"] = s.ref("schedule_reference", schedule.ID)
		}
		out = append(out, oc)
	}
	for _, id := range q["escalation_policy_ids[]"] {
		p := s.policies[id]
		if p == nil {
			continue
		}
		for lvl, targets := range p.Levels {
			for _, t := range targets {
				if sc := s.schedules[t]; sc != nil {
					add(sc.OnCall, p, sc, lvl+1)
				} else {
					add(t, p, nil, lvl+1)
				}
			}
		}
	}
	for _, id := range q["schedule_ids[]"] {
		if sc := s.schedules[id]; sc != nil {
			add(sc.OnCall, nil, sc, 1)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"oncalls": out, "limit": 25, "offset": 0, "more": false})
}

// enqueue is the Events API v2: 202 with the dedup key.
func (s *Server) enqueue(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/events/v2/enqueue" {
		writeErr(w, http.StatusNotFound, 0, "Not Found")
		return
	}
	var ev map[string]any
	if err := json.NewDecoder(io.LimitReader(r.Body, 512<<10)).Decode(&ev); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": []string{"Invalid JSON"}})
		return
	}
	rk, _ := ev["routing_key"].(string)
	action, _ := ev["event_action"].(string)
	if len(rk) != 32 || (action != "trigger" && action != "acknowledge" && action != "resolve") {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "invalid event", "message": "Event object is invalid",
			"errors": []string{"'routing_key' must be 32 characters; 'event_action' must be trigger, acknowledge or resolve"}})
		return
	}
	dedup, _ := ev["dedup_key"].(string)
	if dedup == "" {
		dedup = fmt.Sprintf("%032x", len(s.events)+1)
	}
	s.events = append(s.events, ev)
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "success", "message": "Event processed", "dedup_key": dedup})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ---- webhooks (v3)

// WebhookEvent is a v3 webhook payload, ready to send.
type WebhookEvent struct {
	Body []byte
	Type string
}

func (s *Server) webhookLocked(inc *Incident, eventType, agent string, at time.Time) WebhookEvent {
	s.seq++
	ev := map[string]any{
		"id": fmt.Sprintf("01EV%012d", s.seq), "event_type": eventType, "resource_type": "incident",
		"occurred_at": at.Format("2006-01-02T15:04:05.000Z"), "client": nil,
		"data": s.webhookIncidentLocked(inc),
	}
	if agent != "" {
		ev["agent"] = s.ref("user_reference", agent)
	}
	b, _ := json.Marshal(map[string]any{"event": ev})
	return WebhookEvent{Body: b, Type: eventType}
}

// webhookIncidentLocked is the incident as a v3 webhook's data carries it:
// the REST shape plus "assignees" (user references), which is where v3
// webhooks say who the incident is assigned to (the REST shape's
// "assignments" are not in webhooks).
func (s *Server) webhookIncidentLocked(inc *Incident) map[string]any {
	data := s.incidentJSON(inc)
	assignees := []any{}
	for _, a := range inc.Assignees {
		assignees = append(assignees, s.ref("user_reference", a))
	}
	data["assignees"] = assignees
	return data
}

// Sign returns the X-PagerDuty-Signature header for body: one v1=<hex
// HMAC-SHA256> per secret, comma-separated, as during a secret rotation.
func Sign(body []byte, secrets ...string) string {
	var sigs []string
	for _, sec := range secrets {
		m := hmac.New(sha256.New, []byte(sec))
		m.Write(body)
		sigs = append(sigs, "v1="+hex.EncodeToString(m.Sum(nil)))
	}
	return strings.Join(sigs, ",")
}

// Send posts a webhook event to url signed with secrets, as PagerDuty does,
// and returns the status code.
func Send(url string, ev WebhookEvent, secrets ...string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(ev.Body)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "PagerDuty-Webhook/V3.0")
	if len(secrets) > 0 {
		req.Header.Set("X-PagerDuty-Signature", Sign(ev.Body, secrets...))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
