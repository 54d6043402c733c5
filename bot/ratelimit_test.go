package bot

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestRateGateHoldsOtherCallersUntilRetryAfter: once Slack answers 429 with
// Retry-After for a method, no call to that method reaches Slack before it
// runs out, whoever makes it; other methods are not held.
func TestRateGateHoldsOtherCallersUntilRetryAfter(t *testing.T) {
	var first atomic.Bool
	var limitedAt atomic.Int64
	early := make(chan time.Duration, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/conversations.setTopic" {
			if !first.Swap(true) {
				limitedAt.Store(time.Now().UnixNano())
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			if d := time.Since(time.Unix(0, limitedAt.Load())); d < time.Second && first.Load() {
				early <- d
			}
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	c := &http.Client{Transport: newRateGate(nil)}
	resp, err := c.Post(srv.URL+"/api/conversations.setTopic", "application/x-www-form-urlencoded", nil)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("first call: %v %v", resp, err)
	}
	resp.Body.Close()
	other, err := c.Post(srv.URL+"/api/chat.postMessage", "application/x-www-form-urlencoded", nil)
	if err != nil || other.StatusCode != http.StatusOK {
		t.Fatalf("another method was held or failed: %v %v", other, err)
	}
	other.Body.Close()
	// Within the Retry-After the call waits, then goes through.
	again, err := c.Post(srv.URL+"/api/conversations.setTopic", "application/x-www-form-urlencoded", nil)
	if err != nil || again.StatusCode != http.StatusOK {
		t.Fatalf("second call: %v %v", again, err)
	}
	again.Body.Close()
	// With a deadline too short to wait, the gate answers 429 itself.
	first.Store(false)
	c.Post(srv.URL+"/api/conversations.setTopic", "application/x-www-form-urlencoded", nil) // a new 429
	short := &http.Client{Transport: c.Transport, Timeout: 2 * time.Second}
	resp, err = short.Post(srv.URL+"/api/conversations.setTopic", "application/x-www-form-urlencoded", nil)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a call that cannot wait: %v %v", resp, err)
	}
	resp.Body.Close()
	select {
	case d := <-early:
		t.Fatalf("a call went out %v after the 429, before its 1 s Retry-After", d)
	default:
	}
}
