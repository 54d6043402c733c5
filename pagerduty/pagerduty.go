// Package pagerduty is Klaxon's PagerDuty adapter, on go-pagerduty: it opens,
// follows and resolves PagerDuty incidents, answers who is on call, and
// serves PagerDuty's v3 webhooks (webhook.go). It implements playbook.Pager
// and playbook.OnCalls. What it tells PagerDuty (an incident's body, a
// responder request's message) is worded by templates (pagerduty.tmpl).
//
// It imports playbook and templates; only cmd/klaxon imports it.
package pagerduty

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	pd "github.com/PagerDuty/go-pagerduty"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

// Options configures the client.
type Options struct {
	APIURL    string // no trailing slash
	EventsURL string
	Token     string
	// From is a PagerDuty user's e-mail, sent as From on writes.
	From string
	// Deadline bounds one operation with its retries (default 20 s): a
	// PagerDuty outage never holds a declaration longer.
	Deadline time.Duration
	// Backoff is the first wait after a 429 or a 5xx (default 500 ms),
	// doubled each time, at most 5 s.
	Backoff time.Duration
	// Attempts, when above zero, also bounds one operation by its number of
	// tries, whatever the clock says: tests decide "PagerDuty is down" by
	// count, so a loaded machine cannot turn a slow answer into an outage.
	Attempts int
	// HTTPClient defaults to one with a 10 s timeout.
	HTTPClient *http.Client
	// Templates word the incident's body and the responder requests
	// (pagerduty.tmpl); the embedded ones when nil.
	Templates *templates.Set
}

// Client implements playbook.Pager and playbook.OnCalls.
type Client struct {
	api  *pd.Client
	opts Options

	mu     sync.Mutex
	names  map[playbook.Target]string
	fromID string
}

// New builds the client.
func New(o Options) *Client {
	if o.Deadline <= 0 {
		o.Deadline = 20 * time.Second
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	opts := []pd.ClientOptions{}
	if o.APIURL != "" {
		opts = append(opts, pd.WithAPIEndpoint(strings.TrimRight(o.APIURL, "/")))
	}
	if o.EventsURL != "" {
		opts = append(opts, pd.WithV2EventsAPIEndpoint(strings.TrimRight(o.EventsURL, "/")))
	}
	api := pd.NewClient(o.Token, opts...)
	api.HTTPClient = o.HTTPClient
	return &Client{api: api, opts: o, names: map[playbook.Target]string{}}
}

var (
	_ playbook.Pager   = (*Client)(nil)
	_ playbook.OnCalls = (*Client)(nil)
)

// retryable reports whether err is worth another try: a 429, a 5xx, or
// PagerDuty not answering at all.
func retryable(err error) bool {
	var ae pd.APIError
	if errors.As(err, &ae) {
		return ae.StatusCode == http.StatusTooManyRequests || ae.StatusCode >= 500
	}
	var ne net.Error
	return errors.As(err, &ne) || strings.Contains(err.Error(), "error calling the API endpoint")
}

// do runs f, retrying 429 and 5xx with backoff within the deadline.
func (c *Client) do(ctx context.Context, what string, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Deadline)
	defer cancel()
	wait := c.opts.Backoff
	for try := 1; ; try++ {
		err := f(ctx)
		if err == nil {
			return nil
		}
		if !retryable(err) {
			return fmt.Errorf("pagerduty %s: %w", what, describe(err))
		}
		if c.opts.Attempts > 0 && try >= c.opts.Attempts {
			return fmt.Errorf("pagerduty %s: gave up after %d tries: %w", what, try, describe(err))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("pagerduty %s: gave up after retries: %w", what, describe(err))
		case <-t.C:
		}
		wait = min(wait*2, 5*time.Second)
	}
}

// describe keeps PagerDuty's message and status, never the token (which
// go-pagerduty never puts in errors).
func describe(err error) error {
	var ae pd.APIError
	if errors.As(err, &ae) {
		msg := ae.Error()
		if ae.APIError.Valid && len(ae.APIError.ErrorObject.Errors) > 0 {
			msg += ": " + strings.Join(ae.APIError.ErrorObject.Errors, "; ")
		}
		return fmt.Errorf("%s (HTTP %d)", msg, ae.StatusCode)
	}
	return err
}

func isStatus(err error, code int) bool {
	var ae pd.APIError
	return errors.As(err, &ae) && ae.StatusCode == code
}

// Trigger implements playbook.Pager: it opens an incident on the service with
// the incident key, or adopts the open one with that key (PagerDuty refuses a
// second open incident with the same key on a service).
func (c *Client) Trigger(ctx context.Context, req playbook.PageRequest) (playbook.PageRef, error) {
	details, err := c.words().Render("pagerduty.details", req.About)
	if err != nil {
		return playbook.PageRef{}, err
	}
	var inc *pd.Incident
	var dup bool
	err = c.do(ctx, "create incident", func(ctx context.Context) error {
		var err error
		inc, err = c.api.CreateIncidentWithContext(ctx, c.opts.From, &pd.CreateIncidentOptions{
			Title:       req.Title,
			Service:     &pd.APIReference{ID: req.Service, Type: "service_reference"},
			IncidentKey: req.Key,
			Urgency:     "high",
			Body:        &pd.APIDetails{Type: "incident_body", Details: details},
		})
		if err != nil && isStatus(err, http.StatusBadRequest) && strings.Contains(strings.ToLower(describe(err).Error()), "already exists") {
			dup = true
			return nil
		}
		return err
	})
	if err != nil {
		return playbook.PageRef{}, err
	}
	if dup {
		err := c.do(ctx, "list incidents by key", func(ctx context.Context) error {
			res, err := c.api.ListIncidentsWithContext(ctx, pd.ListIncidentsOptions{IncidentKey: req.Key, ServiceIDs: []string{req.Service}, Statuses: []string{"triggered", "acknowledged"}})
			if err != nil {
				return err
			}
			if len(res.Incidents) == 0 {
				return fmt.Errorf("PagerDuty said an open incident with key %s exists but lists none", req.Key)
			}
			inc = &res.Incidents[0]
			return nil
		})
		if err != nil {
			return playbook.PageRef{}, err
		}
	}
	return playbook.PageRef{ID: inc.ID, URL: inc.HTMLURL, Adopted: dup}, nil
}

// words are the templates that word what Klaxon tells PagerDuty.
func (c *Client) words() *templates.Set {
	if c.opts.Templates != nil {
		return c.opts.Templates
	}
	return templates.Default()
}

// requester is the PagerDuty user of the From address, for responder requests.
func (c *Client) requester(ctx context.Context) (string, error) {
	c.mu.Lock()
	id := c.fromID
	c.mu.Unlock()
	if id != "" {
		return id, nil
	}
	p, err := c.UserByEmail(ctx, c.opts.From)
	if err != nil {
		return "", fmt.Errorf("pagerduty.from %s is not a PagerDuty user: %w", c.opts.From, err)
	}
	c.mu.Lock()
	c.fromID = p.ID
	c.mu.Unlock()
	return p.ID, nil
}

// AddResponders implements playbook.Pager with a responder request.
func (c *Client) AddResponders(ctx context.Context, incidentID string, targets []playbook.Target, about playbook.PageAbout) error {
	message, err := c.words().Render("pagerduty.responders", about)
	if err != nil {
		return err
	}
	message = templates.Truncate(500, message)
	req, err := c.requester(ctx)
	if err != nil {
		return err
	}
	o := pd.ResponderRequestOptions{From: c.opts.From, Message: message, RequesterID: req}
	for _, t := range targets {
		typ := ""
		switch t.Kind {
		case playbook.TargetPDUser:
			typ = "user_reference"
		case playbook.TargetPDPolicy:
			typ = "escalation_policy_reference"
		case playbook.TargetPDSchedule:
			typ = "schedule_reference"
		default:
			continue
		}
		o.Targets = append(o.Targets, pd.ResponderRequestTargetWrapper{Target: pd.ResponderRequestTarget{APIObject: pd.APIObject{ID: t.ID, Type: typ}}})
	}
	if len(o.Targets) == 0 {
		return nil
	}
	return c.do(ctx, "responder request", func(ctx context.Context) error {
		_, err := c.api.ResponderRequestWithContext(ctx, incidentID, o)
		return err
	})
}

// Incident implements playbook.Pager.
func (c *Client) Incident(ctx context.Context, id string) (playbook.PageState, error) {
	var inc *pd.Incident
	err := c.do(ctx, "get incident", func(ctx context.Context) error {
		var err error
		inc, err = c.api.GetIncidentWithContext(ctx, id)
		return err
	})
	if err != nil {
		return playbook.PageState{}, err
	}
	st := playbook.PageState{Status: inc.Status}
	if len(inc.Acknowledgements) > 0 {
		a := inc.Acknowledgements[0]
		st.AckedBy = playbook.Person{ID: a.Acknowledger.ID, Name: a.Acknowledger.Summary}
		st.AckedAt, _ = time.Parse(time.RFC3339, a.At)
	}
	return st, nil
}

// Resolve implements playbook.Pager.
func (c *Client) Resolve(ctx context.Context, id string) error {
	return c.do(ctx, "resolve incident", func(ctx context.Context) error {
		_, err := c.api.ManageIncidentsWithContext(ctx, c.opts.From, []pd.ManageIncidentsOptions{{ID: id, Status: "resolved"}})
		return err
	})
}

// Log implements playbook.Pager: the incident's log entries, oldest first.
func (c *Client) Log(ctx context.Context, id string) ([]playbook.PageLogEntry, error) {
	var out []playbook.PageLogEntry
	err := c.do(ctx, "list log entries", func(ctx context.Context) error {
		out = out[:0]
		var offset uint
		for page := 0; page < 10; page++ {
			res, err := c.api.ListIncidentLogEntriesWithContext(ctx, id, pd.ListIncidentLogEntriesOptions{Limit: 100, Offset: offset})
			if err != nil {
				return err
			}
			for _, e := range res.LogEntries {
				at, _ := time.Parse(time.RFC3339, e.CreatedAt)
				out = append(out, playbook.PageLogEntry{At: at, Type: e.Type, Summary: e.Summary, Agent: e.Agent.Summary})
			}
			if !res.More {
				break
			}
			offset += uint(len(res.LogEntries))
		}
		return nil
	})
	slices.SortStableFunc(out, func(a, b playbook.PageLogEntry) int { return a.At.Compare(b.At) })
	return out, err
}

// OnCallNow implements playbook.OnCalls: level 1 of the policy, or the
// schedule's on-call. ListOnCalls needs include[]=users for e-mails and
// does not paginate by itself (the first 100 are plenty for one level).
func (c *Client) OnCallNow(ctx context.Context, policy, schedule string) ([]playbook.Person, error) {
	o := pd.ListOnCallOptions{Includes: []string{"users"}, Earliest: true, Limit: 100}
	if policy != "" {
		o.EscalationPolicyIDs = []string{policy}
	} else if schedule != "" {
		o.ScheduleIDs = []string{schedule}
	} else {
		return nil, nil
	}
	var res *pd.ListOnCallsResponse
	if err := c.do(ctx, "list on-calls", func(ctx context.Context) error {
		var err error
		res, err = c.api.ListOnCallsWithContext(ctx, o)
		return err
	}); err != nil {
		return nil, err
	}
	var out []playbook.Person
	for _, oc := range res.OnCalls {
		if policy != "" && oc.EscalationLevel != 1 {
			continue
		}
		if slices.ContainsFunc(out, func(p playbook.Person) bool { return p.ID == oc.User.ID }) {
			continue
		}
		out = append(out, playbook.Person{ID: oc.User.ID, Name: cmpOr(oc.User.Name, oc.User.Summary), Email: oc.User.Email})
	}
	return out, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// User implements playbook.OnCalls.
func (c *Client) User(ctx context.Context, id string) (playbook.Person, error) {
	var u *pd.User
	err := c.do(ctx, "get user", func(ctx context.Context) error {
		var err error
		u, err = c.api.GetUserWithContext(ctx, id, pd.GetUserOptions{})
		return err
	})
	if err != nil {
		return playbook.Person{}, err
	}
	return playbook.Person{ID: u.ID, Name: cmpOr(u.Name, u.Summary), Email: u.Email}, nil
}

// UserByEmail implements playbook.OnCalls.
func (c *Client) UserByEmail(ctx context.Context, email string) (playbook.Person, error) {
	var res *pd.ListUsersResponse
	err := c.do(ctx, "list users", func(ctx context.Context) error {
		var err error
		res, err = c.api.ListUsersWithContext(ctx, pd.ListUsersOptions{Query: email})
		return err
	})
	if err != nil {
		return playbook.Person{}, err
	}
	for _, u := range res.Users {
		if strings.EqualFold(u.Email, email) {
			return playbook.Person{ID: u.ID, Name: u.Name, Email: u.Email}, nil
		}
	}
	return playbook.Person{}, playbook.Fail(playbook.CodeNotFound, playbook.ReasonNoPagerDutyUser, "", playbook.ErrorArgs{Name: email})
}

// TargetName implements playbook.OnCalls: the target's name in PagerDuty,
// cached; its ID when PagerDuty cannot say.
func (c *Client) TargetName(ctx context.Context, t playbook.Target) string {
	name, found, err := c.lookup(ctx, t)
	if err != nil || !found || name == "" {
		return t.String()
	}
	return name
}

// TargetExists implements playbook.OnCalls: PagerDuty answers 404 for a
// schedule, policy or user it does not have.
func (c *Client) TargetExists(ctx context.Context, t playbook.Target) (bool, error) {
	_, found, err := c.lookup(ctx, t)
	return found, err
}

// lookup reads target t's name (cached): found is false when PagerDuty
// answered 404, err set when it could not be read.
func (c *Client) lookup(ctx context.Context, t playbook.Target) (name string, found bool, err error) {
	c.mu.Lock()
	n, ok := c.names[t]
	c.mu.Unlock()
	if ok {
		return n, true, nil
	}
	notFound := false
	get := func(what string, f func(ctx context.Context) error) error {
		return c.do(ctx, what, func(ctx context.Context) error {
			err := f(ctx)
			if isStatus(err, http.StatusNotFound) {
				notFound = true
				return nil
			}
			return err
		})
	}
	switch t.Kind {
	case playbook.TargetPDSchedule:
		err = get("get schedule", func(ctx context.Context) error {
			s, err := c.api.GetScheduleWithContext(ctx, t.ID, pd.GetScheduleOptions{})
			if err == nil {
				name = cmpOr(s.Name, s.Summary) + " (PagerDuty schedule)"
			}
			return err
		})
	case playbook.TargetPDPolicy:
		err = get("get escalation policy", func(ctx context.Context) error {
			p, err := c.api.GetEscalationPolicyWithContext(ctx, t.ID, &pd.GetEscalationPolicyOptions{})
			if err == nil {
				name = cmpOr(p.Name, p.Summary) + " (PagerDuty escalation policy)"
			}
			return err
		})
	case playbook.TargetPDUser:
		err = get("get user", func(ctx context.Context) error {
			u, err := c.api.GetUserWithContext(ctx, t.ID, pd.GetUserOptions{})
			if err == nil {
				name = cmpOr(u.Name, u.Summary) + " (PagerDuty)"
			}
			return err
		})
	default:
		return "", false, fmt.Errorf("pagerduty: %s is not a PagerDuty target", t)
	}
	if err != nil {
		return "", false, err
	}
	if notFound {
		return "", false, nil
	}
	c.mu.Lock()
	c.names[t] = name
	c.mu.Unlock()
	return name, true, nil
}
