package bot

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
)

// fakeSlackRT stands in for Slack at the transport level, on a fake clock:
// it records when each call arrived and answers 429 with Retry-After to the
// calls its limit function picks.
type fakeSlackRT struct {
	now     func() time.Time
	limit   func(method, channel string) int // Retry-After seconds, 0 = ok
	mu      sync.Mutex
	arrived []arrival
}

type arrival struct {
	method, channel string
	at              time.Time
}

func (f *fakeSlackRT) RoundTrip(req *http.Request) (*http.Response, error) {
	method := path.Base(req.URL.Path)
	b, _ := io.ReadAll(req.Body)
	v, _ := url.ParseQuery(string(b))
	ch := v.Get("channel")
	f.mu.Lock()
	f.arrived = append(f.arrived, arrival{method, ch, f.now()})
	f.mu.Unlock()
	resp := &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"ok":true}`)), Request: req}
	if f.limit != nil {
		if secs := f.limit(method, ch); secs > 0 {
			resp.StatusCode = http.StatusTooManyRequests
			resp.Header.Set("Retry-After", strconv.Itoa(secs))
		}
	}
	return resp, nil
}

// fakeClock is advanced only by the gate's sleeps: a test runs in no time
// and its waits are exact.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return nil
}

func newTestGate(pace Pace, limit func(method, channel string) int) (*rateGate, *fakeSlackRT, *fakeClock) {
	clk := &fakeClock{t: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)}
	slackRT := &fakeSlackRT{now: clk.now, limit: limit}
	g := newRateGate(slackRT, pace)
	g.now, g.sleep, g.jitter = clk.now, clk.sleep, func() time.Duration { return 0 }
	return g, slackRT, clk
}

func call(t *testing.T, c *http.Client, method, channel string) int {
	t.Helper()
	form := url.Values{"token": {"xoxb-x"}}
	if channel != "" {
		form.Set("channel", channel)
	}
	resp, err := c.PostForm("http://slack.test/api/"+method, form)
	if err != nil {
		t.Fatalf("%s %s: %v", method, channel, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestPostsHeldPerChannelUntilRetryAfter: after a 429 for posts to one
// channel, no post to that channel reaches Slack before its Retry-After ran
// out, whoever makes it, while posts to other channels and other methods go
// at once.
func TestPostsHeldPerChannelUntilRetryAfter(t *testing.T) {
	t.Parallel()
	refused := false
	g, slackRT, clk := newTestGate(Pace{}, func(method, ch string) int {
		if method == "chat.postMessage" && ch == "C0BUSY" && !refused {
			refused = true
			return 2
		}
		return 0
	})
	c := &http.Client{Transport: g}
	t0 := clk.now()
	if st := call(t, c, "chat.postMessage", "C0BUSY"); st != http.StatusTooManyRequests {
		t.Fatalf("first post: %d, want the 429", st)
	}
	for _, ch := range []string{"C0OTHER1", "C0OTHER2", "C0OTHER1"} {
		if st := call(t, c, "chat.postMessage", ch); st != 200 {
			t.Fatalf("post to %s: %d", ch, st)
		}
	}
	call(t, c, "conversations.setTopic", "C0BUSY")
	if !clk.now().Equal(t0) {
		t.Fatalf("posts to other channels or another method were held %v", clk.now().Sub(t0))
	}
	// Two callers post to the limited channel: both wait out the 2 s.
	call(t, c, "chat.postMessage", "C0BUSY")
	call(t, c, "chat.postMessage", "C0BUSY")
	for _, a := range slackRT.arrived[1:] {
		if a.channel == "C0BUSY" && a.method == "chat.postMessage" && a.at.Before(t0.Add(2*time.Second)) {
			t.Errorf("a post to C0BUSY reached Slack %v after its 429, inside the 2 s Retry-After", a.at.Sub(t0))
		}
	}
	// A caller that cannot wait that long gets the 429 back at once.
	refused = false
	call(t, c, "chat.postMessage", "C0BUSY")
	short := &http.Client{Transport: g, Timeout: 3 * time.Second}
	resp, err := short.PostForm("http://slack.test/api/chat.postMessage", url.Values{"channel": {"C0BUSY"}})
	if err != nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a call that cannot wait: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestMethodHeldForEveryCallerAfter429: after a 429 for a method, calls to
// it from other callers, made after the gate learned of the 429 (here: at
// the same time, from several goroutines), reach Slack only once the
// Retry-After ran out; another method goes at once. This is the check
// TestDeclarationsCompleteUnderFaults cannot make on the wall clock (there
// a call already past the gate when the 429 came may arrive late on a
// loaded machine), made on the gate's clock.
func TestMethodHeldForEveryCallerAfter429(t *testing.T) {
	t.Parallel()
	var once sync.Once
	g, slackRT, clk := newTestGate(Pace{Off: true}, func(method, _ string) int {
		refuse := 0
		if method == "conversations.create" {
			once.Do(func() { refuse = 1 })
		}
		return refuse
	})
	c := &http.Client{Transport: g}
	t0 := clk.now()
	if st := call(t, c, "conversations.create", ""); st != http.StatusTooManyRequests {
		t.Fatalf("first create: %d, want the 429", st)
	}
	call(t, c, "conversations.invite", "C0OTHER1")
	if !clk.now().Equal(t0) {
		t.Fatalf("another method was held %v", clk.now().Sub(t0))
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if st := call(t, c, "conversations.create", ""); st != 200 {
				t.Errorf("held create: %d", st)
			}
		})
	}
	wg.Wait()
	slackRT.mu.Lock()
	defer slackRT.mu.Unlock()
	creates := 0
	for _, a := range slackRT.arrived[1:] {
		if a.method != "conversations.create" {
			continue
		}
		creates++
		if a.at.Before(t0.Add(time.Second)) {
			t.Errorf("a create reached Slack %v after the 429, inside its 1 s Retry-After", a.at.Sub(t0))
		}
	}
	if creates != 3 {
		t.Fatalf("%d creates reached Slack, want 3", creates)
	}
}

// TestPacedAtTierAndChannelLimits: calls are spread out before Slack
// refuses any: a tier's burst goes at once, then one call per
// 60/perMinute seconds; posts to one channel after its burst go one a
// second, and never hold another channel's.
func TestPacedAtTierAndChannelLimits(t *testing.T) {
	t.Parallel()
	g, slackRT, clk := newTestGate(Pace{}, nil)
	c := &http.Client{Transport: g}
	t0 := clk.now()
	for range tier2.burst + 2 {
		call(t, c, "conversations.create", "")
	}
	if got, want := clk.now().Sub(t0), 2*time.Minute/time.Duration(tier2.perMinute); !near(got, want) {
		t.Errorf("%d Tier 2 calls took %v, want %v (burst %d, then %v/min)", tier2.burst+2, got, want, tier2.burst, tier2.perMinute)
	}
	t1 := clk.now()
	for range postBurst + 2 {
		call(t, c, "chat.postMessage", "C0ANNOUNCE")
	}
	if got := clk.now().Sub(t1); !near(got, 2*time.Second+postGuard) {
		t.Errorf("%d posts to one channel took %v, want 2s and the guard", postBurst+2, got)
	}
	t2 := clk.now()
	call(t, c, "chat.postMessage", "C0INC1")
	call(t, c, "views.open", "")
	if clk.now() != t2 {
		t.Errorf("a post to another channel waited %v", clk.now().Sub(t2))
	}
	n := len(slackRT.arrived)
	if n != tier2.burst+2+postBurst+2+2 {
		t.Errorf("%d calls reached Slack", n)
	}

	// Scaled for a scaled test Slack; off for one without limits.
	g, _, clk = newTestGate(Pace{Scale: 4}, nil)
	c = &http.Client{Transport: g}
	t0 = clk.now()
	for range 4*postBurst + 4 {
		call(t, c, "chat.postMessage", "C0ANNOUNCE")
	}
	if got := clk.now().Sub(t0); !near(got, time.Second+postGuard) {
		t.Errorf("scale 4: %d posts took %v, want 1s and the guard", 4*postBurst+4, got)
	}
	g, _, clk = newTestGate(Pace{Off: true}, nil)
	c = &http.Client{Transport: g}
	t0 = clk.now()
	for range 50 {
		call(t, c, "chat.postMessage", "C0ANNOUNCE")
	}
	if clk.now() != t0 {
		t.Errorf("pacing off still waited %v", clk.now().Sub(t0))
	}
}

// TestTiersMatchTheFake: the tiers Klaxon paces at are the ones the fake
// Slack enforces (both from Slack's documentation), so a drift in either is
// seen here.
func TestTiersMatchTheFake(t *testing.T) {
	t.Parallel()
	for method, tr := range methodTiers {
		perMinute, ok := fakeslack.TierLimit(method)
		if !ok {
			continue
		}
		if float64(perMinute) != tr.perMinute {
			t.Errorf("%s: Klaxon paces at %v/min, the fake limits at %d/min", method, tr.perMinute, perMinute)
		}
	}
	burst, perSecond := fakeslack.PostMessageLimit()
	if burst != postBurst || perSecond != postPerSecond {
		t.Errorf("chat.postMessage: Klaxon paces at %d/s burst %d, the fake at %v/s burst %v", postPerSecond, postBurst, perSecond, burst)
	}
}

// near allows for the token bucket's float arithmetic.
func near(got, want time.Duration) bool {
	return got > want-time.Millisecond && got < want+time.Millisecond
}

// hangingRT is a Slack that never answers: it returns only once the
// call's context ends.
type hangingRT struct{}

func (hangingRT) RoundTrip(req *http.Request) (*http.Response, error) {
	<-req.Context().Done()
	return nil, req.Context().Err()
}

// TestCallsBoundedByTheGate: a Slack that never answers cannot hold a
// caller forever: the gate ends the call at its timeout, and a call that
// did answer keeps its answer readable until the caller closes it.
func TestCallsBoundedByTheGate(t *testing.T) {
	t.Parallel()
	g := newRateGate(hangingRT{}, Pace{Off: true})
	g.timeout = time.Millisecond
	_, err := (&http.Client{Transport: g}).PostForm("http://slack.test/api/conversations.create", url.Values{"name": {"inc-1"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a call Slack never answers: %v, want its deadline exceeded", err)
	}

	ok, _, _ := newTestGate(Pace{Off: true}, nil)
	resp, err := (&http.Client{Transport: ok}).PostForm("http://slack.test/api/chat.postMessage", url.Values{"channel": {"C0ONE"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, err := io.ReadAll(resp.Body); err != nil || string(b) != `{"ok":true}` {
		t.Fatalf("the answer: %q, %v", b, err)
	}
}

// FuzzFormValue: the gate reads a post's channel as url.ParseQuery would.
func FuzzFormValue(f *testing.F) {
	for _, q := range []string{
		"token=xoxb-x&channel=C0ONE",
		"blocks=%5B%7B%22type%22%3A%22section%22%7D%5D&channel=C0TWO&text=a+b",
		"channel=&channel=C0ONE",
		"%63hannel=C0ENC",
		"channels=C0NO&channel=C0YES",
		"channel=C%zz",
		"a=1;channel=C0SEMI",
		"channel",
		"",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			// A badly encoded field: the old reading gave up on the
			// whole body, the new one only on that field; either way
			// no channel is invented.
			if got := formValue(q, "channel"); got != "" && !slices.Contains(v["channel"], got) {
				t.Fatalf("formValue(%q) = %q, not a channel ParseQuery found (%q)", q, got, v["channel"])
			}
			return
		}
		if got, want := formValue(q, "channel"), v.Get("channel"); got != want {
			t.Fatalf("formValue(%q) = %q, url.ParseQuery gives %q", q, got, want)
		}
	})
}
