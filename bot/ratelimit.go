package bot

import (
	"io"
	"math/rand/v2"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rateGate is an http.RoundTripper that honours Slack's Retry-After per
// method for every caller: after a 429 for a method, no call to that method
// leaves until the announced time has passed (it is answered 429 locally). slack-go's retry waits for the
// call that got the 429; without this gate, other goroutines calling the
// same method (another declaration's topic, say) would call early and be
// refused again.
type rateGate struct {
	next http.RoundTripper
	now  func() time.Time

	mu    sync.Mutex
	until map[string]time.Time // method -> no call before
}

func newRateGate(next http.RoundTripper) *rateGate {
	if next == nil {
		next = http.DefaultTransport
	}
	return &rateGate{next: next, now: time.Now, until: map[string]time.Time{}}
}

// RoundTrip implements http.RoundTripper. A call to a method still under a
// Retry-After waits here, with a little jitter so held callers do not all
// leave at the same instant. If the wait would not fit in the request's
// deadline (the HTTP client's timeout), the call gets a 429 at once with the
// time left instead, so slack-go's retry waits outside that timeout.
func (g *rateGate) RoundTrip(req *http.Request) (*http.Response, error) {
	method := path.Base(req.URL.Path)
	for {
		g.mu.Lock()
		wait := g.until[method].Sub(g.now())
		g.mu.Unlock()
		if wait <= 0 {
			break
		}
		wait += time.Duration(rand.Int64N(int64(250 * time.Millisecond)))
		if dl, ok := req.Context().Deadline(); ok && time.Until(dl) < wait+5*time.Second {
			return held(req, wait), nil
		}
		t := time.NewTimer(wait)
		select {
		case <-req.Context().Done():
			t.Stop()
			return nil, req.Context().Err()
		case <-t.C:
		}
	}
	resp, err := g.next.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		secs, perr := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After")))
		if perr != nil || secs < 1 {
			secs = 1
		}
		g.mu.Lock()
		if until := g.now().Add(time.Duration(secs) * time.Second); until.After(g.until[method]) {
			g.until[method] = until
		}
		g.mu.Unlock()
	}
	return resp, err
}

// held is the 429 the gate answers itself when it cannot wait.
func held(req *http.Request, wait time.Duration) *http.Response {
	if req.Body != nil {
		req.Body.Close()
	}
	secs := int((wait + time.Second - 1) / time.Second)
	return &http.Response{
		StatusCode: http.StatusTooManyRequests,
		Status:     "429 Too Many Requests (held by Klaxon until Retry-After)",
		Header:     http.Header{"Retry-After": {strconv.Itoa(secs)}, "Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(`{"ok":false,"error":"ratelimited"}`)),
		Request:    req,
		ProtoMajor: 1, ProtoMinor: 1,
	}
}
