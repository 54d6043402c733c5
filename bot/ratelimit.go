package bot

import (
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rateGate is an http.RoundTripper that honours Slack's Retry-After per
// method for every caller: after a 429 for a method, no call to that method
// leaves until the announced time has passed. slack-go's retry waits for the
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

// RoundTrip implements http.RoundTripper.
func (g *rateGate) RoundTrip(req *http.Request) (*http.Response, error) {
	method := path.Base(req.URL.Path)
	for {
		g.mu.Lock()
		wait := g.until[method].Sub(g.now())
		g.mu.Unlock()
		if wait <= 0 {
			break
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
