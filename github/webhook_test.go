package github_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/github"
	"github.com/klaxonhq/klaxon/internal/fakegithub"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/playbook/storetest"
)

const hookSecret = "whsec-test-0123456789"

// webhookRig is the webhook handler of a real App (in-memory store) on
// 127.0.0.1, and the fake GitHub that sends it events.
type webhookRig struct {
	fake *fakegithub.Server
	app  *playbook.App
	log  *storetest.Memory
	url  string
	now  time.Time
}

func newWebhookRig(t *testing.T) *webhookRig {
	t.Helper()
	r := &webhookRig{fake: newFake(t, false), log: storetest.NewMemory(), now: t0}
	r.app = playbook.New(playbook.Deps{
		Store: r.log, DeployLog: r.log, Clock: playbook.ClockFunc(func() time.Time { return r.now }),
		Services: []playbook.Service{{Name: "api", Repo: "acme/api"}}, WatchWindow: 5 * time.Minute,
	})
	h, err := github.NewWebhook(hookSecret, r.app, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/github", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/webhooks/github"
	return r
}

func (r *webhookRig) deploys(t *testing.T) []playbook.DeployRecord {
	t.Helper()
	recs, err := r.log.DeploysSince(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func post(t *testing.T, url string, body []byte, header map[string]string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestWebhookSignatures(t *testing.T) {
	ctx := context.Background()
	r := newWebhookRig(t)
	id := r.fake.AddDeploy("acme/api", "production", "c0ffee1234567890", "main", "alice-gh", t0.Add(-2*time.Minute), "in_progress", "success")
	d := r.fake.DeploymentStatusDelivery("acme/api", id)

	// Signed by another secret, or not at all: 401, nothing recorded.
	if code, err := fakegithub.Send(ctx, r.url, "another-secret", d); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("bad signature: %d, %v; want 401", code, err)
	}
	if code, err := fakegithub.Send(ctx, r.url, "", d); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("missing signature: %d, %v; want 401", code, err)
	}
	// The legacy SHA-1 header alone is not enough.
	if code := post(t, r.url, d.Body, map[string]string{"X-GitHub-Event": d.Event, "X-GitHub-Delivery": d.GUID,
		"X-Hub-Signature": "sha1=0000000000000000000000000000000000000000"}); code != http.StatusUnauthorized {
		t.Fatalf("SHA-1 only: %d, want 401", code)
	}
	// A signature over another body.
	tampered := bytes.Replace(d.Body, []byte(`"success"`), []byte(`"failure"`), 1)
	if code := post(t, r.url, tampered, map[string]string{"X-GitHub-Event": d.Event, "X-GitHub-Delivery": d.GUID,
		"X-Hub-Signature-256": fakegithub.Sign(hookSecret, d.Body)}); code != http.StatusUnauthorized {
		t.Fatalf("tampered body: %d, want 401", code)
	}
	if got := r.deploys(t); len(got) != 0 {
		t.Fatalf("refused deliveries recorded %+v", got)
	}

	// Signed like GitHub: recorded, and the window opens.
	if code, err := fakegithub.Send(ctx, r.url, hookSecret, d); err != nil || code != http.StatusOK {
		t.Fatalf("good signature: %d, %v; want 200", code, err)
	}
	got := r.deploys(t)
	if len(got) != 1 || got[0].SHA != "c0ffee1234567890" || got[0].State != "success" || got[0].Repo != "acme/api" ||
		got[0].Environment != "production" || got[0].Creator != "alice-gh" || !got[0].Webhook {
		t.Fatalf("recorded %+v", got)
	}
	if w, open, _ := r.app.OpenWindow(ctx, "api", t0.Add(time.Minute)); !open || w.ID != id {
		t.Fatalf("window after a successful production deploy: open=%v %+v", open, w)
	}

	// A redelivery (same X-GitHub-Delivery) is answered and recorded once,
	// even after the deploy's record changed meanwhile.
	r.fake.SetStatus("acme/api", id, "failure", t0.Add(time.Minute))
	later := r.fake.DeploymentStatusDelivery("acme/api", id)
	if code, _ := fakegithub.Send(ctx, r.url, hookSecret, later); code != http.StatusOK {
		t.Fatalf("second delivery: %d", code)
	}
	if code, _ := fakegithub.Send(ctx, r.url, hookSecret, d); code != http.StatusOK {
		t.Fatalf("redelivery: %d, want 200", code)
	}
	got = r.deploys(t)
	if len(got) != 1 || got[0].State != "failure" {
		t.Fatalf("after a replayed delivery: %+v; want one record, the newer status kept", got)
	}
}

func TestWebhookRefusals(t *testing.T) {
	ctx := context.Background()
	r := newWebhookRig(t)
	if _, err := github.NewWebhook("", r.app, nil); err == nil {
		t.Fatal("a webhook without a secret was made: ValidatePayload would accept anything")
	}
	sign := func(body []byte, event string) map[string]string {
		return map[string]string{"X-GitHub-Event": event, "X-GitHub-Delivery": "d-" + event, "X-Hub-Signature-256": fakegithub.Sign(hookSecret, body)}
	}
	big := []byte(`{"x":"` + strings.Repeat("a", github.MaxWebhookBody) + `"}`)
	if code := post(t, r.url, big, sign(big, "deployment_status")); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: %d, want 413", code)
	}
	ping := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
	if code := post(t, r.url, ping, sign(ping, "ping")); code != http.StatusNoContent {
		t.Fatalf("ping: %d, want 204", code)
	}
	junk := []byte(`{"deployment":{"id":"seven"}}`)
	if code := post(t, r.url, junk, sign(junk, "deployment")); code != http.StatusBadRequest {
		t.Fatalf("bad payload: %d, want 400", code)
	}
	noRepo := []byte(`{"deployment":{"id":7,"sha":"abc1234","created_at":"2026-11-27T13:00:00Z"}}`)
	if code := post(t, r.url, noRepo, sign(noRepo, "deployment")); code != http.StatusBadRequest {
		t.Fatalf("no repository: %d, want 400", code)
	}
	// A deployment event (no status yet) is recorded, without a window.
	id := r.fake.AddDeploy("acme/api", "production", "beef000000000001", "main", "", t0)
	if code, _ := fakegithub.Send(ctx, r.url, hookSecret, r.fake.DeploymentDelivery("acme/api", id)); code != http.StatusOK {
		t.Fatalf("deployment event: %d", code)
	}
	if got := r.deploys(t); len(got) != 1 || got[0].State != "" || !got[0].WatchUntil.IsZero() {
		t.Fatalf("deployment event recorded %+v", got)
	}
	req, _ := http.NewRequest(http.MethodGet, r.url, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %v %v", resp, err)
	}
}

func FuzzDecodeEvent(f *testing.F) {
	fake := fakegithub.New()
	defer fake.Close()
	fake.Now = func() time.Time { return t0 }
	fake.AddRepo("acme/api", "main")
	id := fake.AddDeploy("acme/api", "production", "c0ffee1234567890", "main", "alice", t0, "success")
	f.Add("deployment_status", fake.DeploymentStatusDelivery("acme/api", id).Body)
	f.Add("deployment", fake.DeploymentDelivery("acme/api", id).Body)
	f.Add("deployment_status", []byte(`{"deployment":{"id":1},"deployment_status":{}}`))
	f.Add("deployment", []byte(`{"deployment":{"id":1,"sha":"ABC","created_at":"1970-01-01T00:00:00Z"},"repository":{"full_name":"a/b","html_url":"javascript:x"}}`))
	f.Add("ping", []byte(`{}`))
	f.Add("deployment", []byte(`null`))
	f.Fuzz(func(t *testing.T, event string, payload []byte) {
		ev, ok, err := github.DecodeEvent(event, payload)
		if err != nil && ok {
			t.Fatal("ok with an error")
		}
		if !ok {
			return
		}
		if ev.Repo == "" || ev.Deploy.ID <= 0 || ev.Deploy.At.IsZero() {
			t.Fatalf("accepted an event without repo, ID or time: %+v", ev)
		}
		for _, u := range []string{ev.Deploy.URL, ev.RepoURL} {
			if u != "" && !strings.HasPrefix(u, "http") || strings.ContainsAny(u, "<>| \n") {
				t.Fatalf("unsafe link %q", u)
			}
		}
	})
}
