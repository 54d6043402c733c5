package pagerduty_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	pd "github.com/PagerDuty/go-pagerduty"

	"github.com/klaxonhq/klaxon/internal/fakepagerduty"
	"github.com/klaxonhq/klaxon/pagerduty"
	"github.com/klaxonhq/klaxon/playbook"
)

// world is a PagerDuty account: checkout's policy pages the on-call
// engineer (schedule PS0CHKOUT) at level 1 and the EM schedule at level 2.
func world(t *testing.T) (*fakepagerduty.Server, *pagerduty.Client) {
	t.Helper()
	f := fakepagerduty.New()
	t.Cleanup(f.Close)
	f.AddUser("PU0ALICE", "Alice Oncall", "alice@example.com")
	f.AddUser("PU0EMGR", "Erin Manager", "erin@example.com")
	f.AddUser("PU0VPENG", "Victor VP", "victor@example.com")
	f.AddUser("PU0KLAXON", "Klaxon Bot", "klaxon@example.com")
	f.AddSchedule("PS0CHKOUT", "Checkout primary", "PU0ALICE")
	f.AddSchedule("PS0EMGR", "EM on call", "PU0EMGR")
	f.AddPolicy("PE0CHKOUT", "Checkout", []string{"PS0CHKOUT"}, []string{"PS0EMGR"})
	f.AddService("PSVC0CHK", "Checkout", "PE0CHKOUT")
	c := pagerduty.New(pagerduty.Options{APIURL: f.URL(), EventsURL: f.EventsURL(), Token: fakepagerduty.Token,
		From: "klaxon@example.com", Backoff: time.Millisecond, Attempts: 3})
	return f, c
}

func TestTriggerAdoptsTheOpenIncidentWithItsKey(t *testing.T) {
	f, c := world(t)
	ctx := context.Background()
	req := playbook.PageRequest{Key: "klaxon-1-100", Title: "#1 SEV1: checkout down", Service: "PSVC0CHK"}
	first, err := c.Trigger(ctx, req)
	if err != nil || first.ID == "" || first.Adopted || !strings.Contains(first.URL, first.ID) {
		t.Fatalf("first trigger: %+v %v", first, err)
	}
	again, err := c.Trigger(ctx, req)
	if err != nil || again.ID != first.ID || !again.Adopted {
		t.Fatalf("a retry with the same key: %+v %v (want %s adopted)", again, err, first.ID)
	}
	if n := len(f.Incidents()); n != 1 {
		t.Fatalf("%d PagerDuty incidents, want 1", n)
	}
	if got := f.Incidents()[0]; got.From != "klaxon@example.com" || got.Key != req.Key || got.Assignees[0] != "PU0ALICE" {
		t.Fatalf("incident as PagerDuty holds it: %+v", got)
	}
}

func TestRetries429And5xxThenGivesUp(t *testing.T) {
	f, c := world(t)
	ctx := context.Background()
	f.Fail(http.MethodPost, "/incidents", http.StatusTooManyRequests, 1)
	f.Fail(http.MethodPost, "/incidents", http.StatusBadGateway, 1)
	if _, err := c.Trigger(ctx, playbook.PageRequest{Key: "k1", Title: "t", Service: "PSVC0CHK"}); err != nil {
		t.Fatalf("after a 429 and a 502: %v", err)
	}
	if n := f.Requests("POST /incidents"); n != 3 {
		t.Fatalf("%d create calls, want 3", n)
	}
	f.Fail(http.MethodPost, "/incidents", http.StatusServiceUnavailable, 1_000_000)
	_, err := c.Trigger(ctx, playbook.PageRequest{Key: "k2", Title: "t", Service: "PSVC0CHK"})
	if err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Fatalf("PagerDuty down: %v", err)
	}
	if n := f.Requests("POST /incidents"); n != 6 {
		t.Fatalf("%d create calls in all, want 3 more for the 3 tries while PagerDuty is down", n)
	}
	// A 400 (an unknown service) is not retried.
	f3 := fakepagerduty.New()
	defer f3.Close()
	f3.AddService("PSVC0CHK", "Checkout", "")
	c3 := pagerduty.New(pagerduty.Options{APIURL: f3.URL(), Token: fakepagerduty.Token, From: "klaxon@example.com", Backoff: time.Millisecond})
	if _, err := c3.Trigger(ctx, playbook.PageRequest{Key: "k3", Title: "t", Service: "PSVCNONE"}); err == nil || f3.Requests("POST /incidents") != 1 {
		t.Fatalf("a 400 was retried or accepted: %v, %d calls", err, f3.Requests("POST /incidents"))
	}
	// A wrong token is a 401, not retried either.
	bad := pagerduty.New(pagerduty.Options{APIURL: f3.URL(), Token: "wrong", From: "klaxon@example.com", Backoff: time.Millisecond})
	if _, err := bad.Trigger(ctx, playbook.PageRequest{Key: "k4", Title: "t", Service: "PSVC0CHK"}); err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("bad token: %v", err)
	}
}

func TestOnCallsUsersAndResponders(t *testing.T) {
	f, c := world(t)
	ctx := context.Background()
	ps, err := c.OnCallNow(ctx, "PE0CHKOUT", "")
	if err != nil || len(ps) != 1 || ps[0].Email != "alice@example.com" {
		t.Fatalf("level 1 of the policy: %+v %v", ps, err)
	}
	ps, err = c.OnCallNow(ctx, "", "PS0EMGR")
	if err != nil || len(ps) != 1 || ps[0].ID != "PU0EMGR" {
		t.Fatalf("the EM schedule: %+v %v", ps, err)
	}
	p, err := c.UserByEmail(ctx, "VICTOR@example.com")
	if err != nil || p.ID != "PU0VPENG" {
		t.Fatalf("user by e-mail: %+v %v", p, err)
	}
	if _, err := c.UserByEmail(ctx, "nobody@example.com"); playbook.ErrorCode(err) != playbook.CodeNotFound {
		t.Fatalf("unknown e-mail: %v", err)
	}
	if n := c.TargetName(ctx, playbook.Target{Kind: playbook.TargetPDSchedule, ID: "PS0EMGR"}); n != "EM on call (PagerDuty schedule)" {
		t.Fatalf("schedule name %q", n)
	}
	about := playbook.PageAbout{Incident: 4, Severity: playbook.SEV1, Title: "Checkout down", Channel: "inc-4-sev1-checkout-down"}
	ref, err := c.Trigger(ctx, playbook.PageRequest{Key: "k", Title: "t", Service: "PSVC0CHK", About: about})
	if err != nil {
		t.Fatal(err)
	}
	err = c.AddResponders(ctx, ref.ID, []playbook.Target{{Kind: playbook.TargetPDSchedule, ID: "PS0EMGR"}, {Kind: playbook.TargetPDUser, ID: "PU0VPENG"}}, about)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Incidents()[0].Responders; len(got) != 2 || got[0] != "schedule:PS0EMGR" || got[1] != "user:PU0VPENG" {
		t.Fatalf("responders %v", got)
	}
	// The words are the templates' (pagerduty.tmpl).
	if got := f.Incidents()[0]; got.Details != "Declared in Slack by Klaxon (incident #4). Channel: #inc-4-sev1-checkout-down" ||
		len(got.Messages) == 0 || got.Messages[0] != "Klaxon: you are paged into incident #4 (SEV1): Checkout down" {
		t.Fatalf("details %q, messages %q", got.Details, got.Messages)
	}
	if _, err := f.Acknowledge(ref.ID, "PU0ALICE"); err != nil {
		t.Fatal(err)
	}
	st, err := c.Incident(ctx, ref.ID)
	if err != nil || st.Status != "acknowledged" || st.AckedBy.ID != "PU0ALICE" || st.AckedBy.Name != "Alice Oncall" {
		t.Fatalf("polled: %+v %v", st, err)
	}
	if err := c.Resolve(ctx, ref.ID); err != nil || f.Incidents()[0].Status != "resolved" {
		t.Fatalf("resolve: %v", err)
	}
	log, err := c.Log(ctx, ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range log {
		types = append(types, e.Type)
	}
	want := "trigger_log_entry notify_log_entry responder_request_log_entry responder_request_log_entry acknowledge_log_entry resolve_log_entry"
	if strings.Join(types, " ") != want {
		t.Fatalf("log %v\nwant %s", types, want)
	}
}

type recorder struct {
	mu     sync.Mutex
	events []playbook.PDEvent
	known  string
}

func (r *recorder) PagerDutyEvent(_ context.Context, ev playbook.PDEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.IncidentID != r.known {
		return playbook.ErrUnknownIncident
	}
	r.events = append(r.events, ev)
	return nil
}

func TestWebhookSignatures(t *testing.T) {
	f, c := world(t)
	ref, err := c.Trigger(context.Background(), playbook.PageRequest{Key: "k", Title: "t", Service: "PSVC0CHK"})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{known: ref.ID}
	srv := httptest.NewServer(pagerduty.WebhookHandler("s3cret", rec, nil))
	defer srv.Close()
	ev, err := f.Acknowledge(ref.ID, "PU0ALICE")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		secrets []string
		want    int
		events  int
	}{
		{"missing", nil, http.StatusUnauthorized, 0},
		{"bad", []string{"wrong"}, http.StatusUnauthorized, 0},
		{"good", []string{"s3cret"}, http.StatusAccepted, 1},
		{"rotated: old and new", []string{"old-secret", "s3cret"}, http.StatusAccepted, 2},
	} {
		code, err := fakepagerduty.Send(srv.URL, ev, tt.secrets...)
		if err != nil || code != tt.want {
			t.Fatalf("%s: %d %v, want %d", tt.name, code, err, tt.want)
		}
		if len(rec.events) != tt.events {
			t.Fatalf("%s: %d events recorded, want %d", tt.name, len(rec.events), tt.events)
		}
	}
	got := rec.events[0]
	if got.Type != "incident.acknowledged" || got.IncidentID != ref.ID || got.Agent.ID != "PU0ALICE" || got.Agent.Name != "Alice Oncall" || got.At.IsZero() {
		t.Fatalf("decoded %+v", got)
	}
	// Unknown incident: 202 (and a log line); a body over 1 MB: 413.
	other := fakepagerduty.WebhookEvent{Body: []byte(`{"event":{"id":"E1","event_type":"incident.triggered","resource_type":"incident","data":{"id":"QOTHER"}}}`)}
	if code, _ := fakepagerduty.Send(srv.URL, other, "s3cret"); code != http.StatusAccepted {
		t.Fatalf("unknown incident: %d", code)
	}
	big := fakepagerduty.WebhookEvent{Body: []byte(`{"event":{"id":"E2","event_type":"x","pad":"` + strings.Repeat("a", 1<<20) + `"}}`)}
	if code, _ := fakepagerduty.Send(srv.URL, big, "s3cret"); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("over 1 MB: %d", code)
	}
	if code, _ := fakepagerduty.Send(srv.URL, fakepagerduty.WebhookEvent{Body: []byte("{")}, "s3cret"); code != http.StatusBadRequest {
		t.Fatalf("garbage: %d", code)
	}
}

func TestWebhookHandlerNeedsASecret(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a handler without a secret was built")
		}
	}()
	pagerduty.WebhookHandler("", &recorder{}, nil)
}

func FuzzDecodeWebhook(f *testing.F) {
	f.Add([]byte(`{"event":{"id":"01","event_type":"incident.acknowledged","resource_type":"incident","occurred_at":"2026-12-05T10:00:00.000Z","agent":{"id":"PU1","type":"user_reference","summary":"A"},"data":{"id":"Q1","assignees":[{"summary":"B"}]}}}`))
	f.Add([]byte(`{"event":{"id":"02","event_type":"service.updated","resource_type":"service","data":{"id":"P1"}}}`))
	f.Add([]byte(`{"event":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := pagerduty.DecodeWebhook(body)
		if err != nil {
			if ev != (playbook.PDEvent{}) {
				t.Fatalf("an error with an event: %+v", ev)
			}
			return
		}
		if ev.ID == "" || ev.Type == "" {
			t.Fatalf("decoded without an id or type: %+v", ev)
		}
	})
}

// The fake's Events API v2 answers 202 with the dedup key, through go-pagerduty.
func TestFakeEventsV2(t *testing.T) {
	f, _ := world(t)
	api := pd.NewClient(fakepagerduty.Token, pd.WithAPIEndpoint(f.URL()), pd.WithV2EventsAPIEndpoint(f.EventsURL()))
	res, err := api.ManageEventWithContext(context.Background(), &pd.V2Event{RoutingKey: strings.Repeat("a", 32), Action: "trigger", DedupKey: "klaxon-1",
		Payload: &pd.V2Payload{Summary: "checkout down", Source: "klaxon", Severity: "critical"}})
	if err != nil || res.Status != "success" || res.DedupKey != "klaxon-1" || len(f.Events()) != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := api.ManageEventWithContext(context.Background(), &pd.V2Event{RoutingKey: "short", Action: "trigger"}); err == nil {
		t.Fatal("a bad routing key was accepted")
	}
}
