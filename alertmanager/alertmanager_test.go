package alertmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/playbook/storetest"
)

const token = "am-test-token-0123456789"

// offers counts what the playbook would post to Slack.
type offers struct {
	mu            sync.Mutex
	posts, edits  int
	lastSignals   int
	lastConfident playbook.Confidence
}

func (o *offers) PostOffer(_ context.Context, _ string, of playbook.Offer) (playbook.MessageRef, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.posts++
	o.lastSignals, o.lastConfident = len(of.Group.Signals), of.Group.Assessment.Confidence
	return playbook.MessageRef{Channel: "C0TRIAGE", TS: "1.000"}, nil
}

func (o *offers) UpdateOffer(_ context.Context, _ playbook.MessageRef, of playbook.Offer) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.edits++
	o.lastSignals, o.lastConfident = len(of.Group.Signals), of.Group.Assessment.Confidence
	return nil
}

func (o *offers) FindOffer(context.Context, string, string, time.Time) (playbook.MessageRef, bool, error) {
	return playbook.MessageRef{}, false, nil
}

// newApp builds an App for the intake; configure, if any, changes its
// dependencies first.
func newApp(t testing.TB, signals playbook.SignalStore, clock func() time.Time, configure ...func(*playbook.Deps)) (*playbook.App, *offers) {
	o := &offers{}
	d := playbook.Deps{
		Store: storetest.NewMemory(), Signals: signals, Offers: o, Clock: playbook.ClockFunc(clock),
		Tiers: playbook.DefaultTiers(), Services: []playbook.Service{{Name: "checkout"}},
		Detection: playbook.Detection{TriageChannel: "C0TRIAGE"},
	}
	for _, c := range configure {
		c(&d)
	}
	return playbook.New(d), o
}

func post(t testing.TB, h http.Handler, auth string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestWebhook(t *testing.T) {
	body, err := os.ReadFile("testdata/grouped.json")
	if err != nil {
		t.Fatal(err)
	}
	signals := storetest.NewSignals()
	now := time.Date(2026, 3, 29, 14, 4, 0, 0, time.UTC)
	app, o := newApp(t, signals, func() time.Time { return now })
	h, err := NewHandler(token, app, nil)
	if err != nil {
		t.Fatal(err)
	}
	recorded := func() int {
		gs, _ := signals.Groups(context.Background(), func(*playbook.SignalGroup) bool { return true }, 0)
		n := 0
		for _, g := range gs {
			n += len(g.Signals)
		}
		return n
	}

	for name, auth := range map[string]string{"missing": "", "wrong": "Bearer nope", "basic": "Basic " + token, "wrong case": "bearer " + token} {
		if rec := post(t, h, auth, body); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s token: %d, want 401", name, rec.Code)
		}
	}
	if n := recorded(); n != 0 {
		t.Fatalf("refused notifications recorded %d signals", n)
	}

	rec := post(t, h, "Bearer "+token, body)
	if rec.Code != http.StatusOK {
		t.Fatalf("good notification: %d %s", rec.Code, rec.Body)
	}
	var got map[string]int
	json.Unmarshal(rec.Body.Bytes(), &got)
	if got["new"] != 2 || got["alerts"] != 2 {
		t.Errorf("answer = %v, want 2 new alerts", got)
	}
	app.WaitDetection()
	// Redelivered (a retry, a repeat_interval): nothing changes.
	rec = post(t, h, "Bearer "+token, body)
	json.Unmarshal(rec.Body.Bytes(), &got)
	app.WaitDetection()
	if rec.Code != http.StatusOK || got["new"] != 0 || got["repeats"] != 2 || recorded() != 2 {
		t.Errorf("redelivery: %d %v, %d signals recorded", rec.Code, got, recorded())
	}
	if o.posts != 1 || o.edits != 0 || o.lastConfident != playbook.ConfidenceMedium {
		t.Errorf("offers: %d posts, %d edits, %s; want one medium offer (error rate + latency) and no edit on a redelivery", o.posts, o.edits, o.lastConfident)
	}

	// send_resolved: the group shows it, in place.
	var m Message
	json.Unmarshal(body, &m)
	m.Status, m.Alerts = "resolved", m.Alerts[1:]
	m.Alerts[0].Status, m.Alerts[0].EndsAt = "resolved", now
	resolved, _ := json.Marshal(m)
	rec = post(t, h, "Bearer "+token, resolved)
	json.Unmarshal(rec.Body.Bytes(), &got)
	app.WaitDetection()
	if got["resolved"] != 1 || o.posts != 1 || o.edits != 1 || o.lastConfident != playbook.ConfidenceLow {
		t.Errorf("resolution: %v; %d posts, %d edits, %s", got, o.posts, o.edits, o.lastConfident)
	}
}

func TestWebhookRefusals(t *testing.T) {
	app, _ := newApp(t, storetest.NewSignals(), time.Now)
	h, _ := NewHandler(token, app, nil)
	big := bytes.Repeat([]byte(" "), MaxBody+1)
	if rec := post(t, h, "Bearer "+token, big); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("%d-byte body: %d, want 413", len(big), rec.Code)
	}
	for name, body := range map[string]string{
		"not json":       "hello",
		"version 3":      `{"version":"3","status":"firing","alerts":[]}`,
		"bad status":     `{"version":"4","status":"burning","alerts":[]}`,
		"alert status":   `{"version":"4","status":"firing","alerts":[{"status":"x","labels":{"a":"b"},"startsAt":"2026-01-01T00:00:00Z"}]}`,
		"no labels":      `{"version":"4","status":"firing","alerts":[{"status":"firing","startsAt":"2026-01-01T00:00:00Z"}]}`,
		"no startsAt":    `{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"a":"b"}}]}`,
		"bad time":       `{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"a":"b"},"startsAt":"yesterday"}]}`,
		"labels as list": `{"version":"4","status":"firing","alerts":[{"status":"firing","labels":["a"]}]}`,
	} {
		rec := post(t, h, "Bearer "+token, []byte(body))
		if rec.Code != http.StatusBadRequest || strings.TrimSpace(rec.Body.String()) == "" {
			t.Errorf("%s: %d %q, want 400 with a reason", name, rec.Code, rec.Body)
		}
	}
	req := httptest.NewRequest(http.MethodGet, Path, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", rec.Code)
	}
	if _, err := NewHandler("", app, nil); err == nil {
		t.Error("a handler without a token was built: the route must stay off")
	}
}

func FuzzDecode(f *testing.F) {
	grouped, _ := os.ReadFile("testdata/grouped.json")
	f.Add(grouped)
	f.Add([]byte(`{"version":"4","status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"X"},"startsAt":"2026-01-01T00:00:00Z","endsAt":"2026-01-01T00:05:00Z"}]}`))
	f.Add([]byte(`{"version":"4","status":"firing","alerts":null}`))
	f.Add([]byte(`{"version":4}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, alerts, err := Decode(body)
		if err != nil {
			if alerts != nil {
				t.Fatal("alerts returned with an error")
			}
			return
		}
		if m.Version != "4" || len(alerts) != len(m.Alerts) {
			t.Fatalf("accepted version %q with %d of %d alerts", m.Version, len(alerts), len(m.Alerts))
		}
		r := playbook.DetectionRules{}
		st := &playbook.ServiceSignals{Service: "s"}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for _, a := range alerts {
			if len(a.Labels) == 0 || a.StartsAt.IsZero() {
				t.Fatalf("accepted an alert without labels or start: %+v", a)
			}
			r.Ingest(st, a, now)
		}
		// Ingesting the same notification again changes nothing.
		for _, a := range alerts {
			if out := r.Ingest(st, a, now); out.Changed {
				t.Fatalf("a redelivered alert changed the state: %+v", a)
			}
		}
	})
}
