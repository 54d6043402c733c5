package bot

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Slack's documented limits, per workspace: each Web API method belongs to a
// tier allowing about so many calls a minute, with short bursts above it;
// chat.postMessage is limited per channel, about one message a second with
// short bursts. Klaxon paces its calls to stay inside them, so that a burst
// of declarations is spread out before Slack answers 429 rather than after.
type tier struct {
	perMinute float64
	burst     int
}

var (
	tier1 = tier{perMinute: 1, burst: 2} // apps.connections.open: a reconnect or two at once
	// A minute's allowance may go at once, as Slack counts per minute: an
	// incident storm's first declarations are never paced, a sustained
	// one is spread out at the tier's rate.
	tier2 = tier{perMinute: 20, burst: 20}
	tier3 = tier{perMinute: 50, burst: 50}
	tier4 = tier{perMinute: 100, burst: 100}
)

// postPerSecond and postBurst are chat.postMessage's limit on one channel.
const (
	postPerSecond = 1
	postBurst     = 3
)

// A post leaves when the channel's bucket allows it, but reaches Slack's
// counter a little later, and not always after the same delay: two posts
// leaving 1 s apart can arrive 0.98 s apart and the second be refused, at
// the cost of a whole second of Retry-After. So the channel's bucket holds
// postGuard's worth of tokens less than Slack's: after a burst, posts leave
// that much later than Slack would allow, and jitter up to it costs
// nothing. Tokens are counted in hundredths of a post to hold that margin.
const (
	postGuard = 100 * time.Millisecond
	postUnits = 100
)

// methodTiers lists the tier of every method Klaxon calls (api.slack.com,
// each method's "Rate limiting" line). A method not listed is not paced; a
// 429 on it still holds it until its Retry-After.
var methodTiers = map[string]tier{
	"apps.connections.open":        tier1,
	"conversations.create":         tier2,
	"conversations.setTopic":       tier2,
	"conversations.setPurpose":     tier2,
	"conversations.archive":        tier2,
	"conversations.rename":         tier2,
	"conversations.list":           tier2,
	"bookmarks.add":                tier2,
	"bookmarks.list":               tier2,
	"pins.add":                     tier2,
	"usergroups.users.list":        tier2,
	"conversations.invite":         tier3,
	"conversations.info":           tier3,
	"conversations.members":        tier3,
	"conversations.join":           tier3,
	"conversations.open":           tier3,
	"chat.update":                  tier3,
	"chat.delete":                  tier3,
	"users.lookupByEmail":          tier3,
	"views.open":                   tier4,
	"views.update":                 tier4,
	"views.push":                   tier4,
	"views.publish":                tier4,
	"users.info":                   tier4,
	"chat.postEphemeral":           tier4,
	"chat.getPermalink":            tier4,
	"files.getUploadURLExternal":   tier4,
	"files.completeUploadExternal": tier4,
	"files.info":                   tier4,
}

// Pace sets how Klaxon paces its Web API calls.
type Pace struct {
	// Scale multiplies every limit, for a test Slack whose limits are
	// scaled the same way (fakeslack's RateLimitScale); 0 means 1.
	Scale float64
	// Off paces nothing (benchmarks against a Slack without limits). A
	// 429's Retry-After is still honoured.
	Off bool
	// Transport carries the calls the gate lets through (nil:
	// SlackTransport()); metrics wrap it to count every call sent.
	Transport http.RoundTripper
	// Clock is the time the pacing and the Retry-After holds run on (nil:
	// the wall clock). Tests share a clock with the fake Slack's rate
	// limits whose Sleep moves it forward (fakeslack.ManualClock): calls
	// are paced at the real limits without the test waiting for them.
	Clock PaceClock
}

// PaceClock is a clock the gate can wait on.
type PaceClock interface {
	Now() time.Time
	// Sleep returns after d on this clock, or with ctx's error.
	Sleep(ctx context.Context, d time.Duration) error
}

// maxSlackConns is how many idle connections to Slack are kept for reuse.
// Ten declarations at once make some 80 calls side by side in their second
// round trip; http.DefaultTransport keeps 2 idle connections per host, so
// over HTTP/1.1 (a proxy, a test Slack) every burst after the first opened
// dozens of new connections (a TLS handshake each on the real service) in
// front of its calls.
const maxSlackConns = 128

// SlackTransport is the transport Klaxon's Slack client uses underneath the
// pacing: http.DefaultTransport's settings (proxy from the environment,
// HTTP/2, timeouts), keeping enough idle connections for a burst.
func SlackTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = max(t.MaxIdleConns, maxSlackConns)
	t.MaxIdleConnsPerHost = maxSlackConns
	return t
}

func (p Pace) scaled(v float64) float64 {
	s := p.Scale
	if s <= 0 {
		s = 1
	}
	return math.Max(1, math.Round(v*s))
}

// callTimeout bounds every Web API call, so that a Slack that never answers
// cannot hold a declaration (or a graceful stop) forever; it leaves room
// for a Tier 2 wait of up to a minute. The gate applies it itself rather
// than http.Client.Timeout: for a transport it does not know (the gate),
// the client starts a goroutine and a timer per request to enforce its
// timeout, and a burst's 60 calls woke 60 more goroutines.
const callTimeout = 90 * time.Second

// maxPostLimiters bounds the per-channel limiters kept; idle ones (full
// buckets) are dropped beyond it, since a full bucket is what a new one is.
const maxPostLimiters = 256

// rateGate is the http.RoundTripper of Klaxon's one Slack client, so every
// caller (declarations, clicks, the scheduler, resumed work) shares it. Before
// a call leaves it waits for a token of the method's tier and, for
// chat.postMessage, of the channel's bucket. After a 429 no call to what
// Slack limited (the method, or for chat.postMessage that method on that
// channel) leaves until the announced Retry-After passed: slack-go's retry
// waits only for the call that got the 429, and without the gate another
// goroutine's call would go early and be refused again.
type rateGate struct {
	next  http.RoundTripper
	pace  Pace
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	// jitter spreads callers held by one Retry-After.
	jitter func() time.Duration
	// timeout bounds each call, reading its answer included (0: none).
	timeout time.Duration

	mu      sync.Mutex
	until   map[string]time.Time     // rate key -> no call before
	methods map[string]*rate.Limiter // method -> its tier's bucket
	posts   map[string]*rate.Limiter // channel -> chat.postMessage bucket
}

func newRateGate(next http.RoundTripper, pace Pace) *rateGate {
	if next == nil {
		next = SlackTransport()
	}
	g := &rateGate{
		next: next, pace: pace, now: time.Now, sleep: sleepCtx, timeout: callTimeout,
		jitter: func() time.Duration { return time.Duration(rand.Int64N(int64(250 * time.Millisecond))) },
		until:  map[string]time.Time{}, methods: map[string]*rate.Limiter{}, posts: map[string]*rate.Limiter{},
	}
	if pace.Clock != nil {
		g.now, g.sleep = pace.Clock.Now, pace.Clock.Sleep
	}
	return g
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// postChannel is the channel a chat.postMessage goes to, read from a copy
// of its form body ("" when it cannot be read: the method is then paced as
// a whole). Only that field is decoded: a post's body is mostly its
// blocks, which url.ParseQuery would unescape and copy for nothing.
func postChannel(req *http.Request) string {
	if req.GetBody == nil {
		return ""
	}
	body, err := req.GetBody()
	if err != nil {
		return ""
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, 1<<20))
	if err != nil {
		return ""
	}
	return formValue(string(b), "channel")
}

// formValue is the first value of key in the URL-encoded form q, as
// url.ParseQuery(q).Get(key) would return it ("" when absent or badly
// encoded).
func formValue(q, key string) string {
	for q != "" {
		var field string
		field, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(field, "=")
		if len(k) < len(key) || k[0] != key[0] && k[0] != '%' {
			continue
		}
		if uk, err := url.QueryUnescape(k); err != nil || uk != key {
			continue
		}
		uv, err := url.QueryUnescape(v)
		if err != nil {
			return ""
		}
		return uv
	}
	return ""
}

// RoundTrip implements http.RoundTripper. Each call is bounded by the
// gate's timeout (or the request's own deadline, if sooner). If a wait
// would not fit in that deadline, the call gets a 429 at once with the
// time left instead, so slack-go's retry waits outside it.
func (g *rateGate) RoundTrip(req *http.Request) (*http.Response, error) {
	if g.timeout <= 0 {
		return g.roundTrip(req)
	}
	if dl, ok := req.Context().Deadline(); ok && time.Until(dl) <= g.timeout {
		return g.roundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), g.timeout)
	resp, err := g.roundTrip(req.WithContext(ctx))
	if err != nil || resp == nil || resp.Body == nil {
		cancel()
		return resp, err
	}
	// The answer is read after RoundTrip returns, within the deadline too.
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelBody ends its call's deadline once the answer is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

func (g *rateGate) roundTrip(req *http.Request) (*http.Response, error) {
	method := path.Base(req.URL.Path)
	key, channel := method, ""
	if method == "chat.postMessage" {
		if channel = postChannel(req); channel != "" {
			key = method + "#" + channel
		}
	}
	if resp, err := g.waitRetryAfter(req, key); resp != nil || err != nil {
		return resp, err
	}
	if resp, err := g.waitToken(req, method, channel); resp != nil || err != nil {
		return resp, err
	}
	// A 429 may have come for this key while the call waited for its token.
	if resp, err := g.waitRetryAfter(req, key); resp != nil || err != nil {
		return resp, err
	}
	resp, err := g.next.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		secs, perr := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After")))
		if perr != nil || secs < 1 {
			secs = 1
		}
		g.mu.Lock()
		if until := g.now().Add(time.Duration(secs) * time.Second); until.After(g.until[key]) {
			g.until[key] = until
		}
		g.mu.Unlock()
	}
	if err == nil && echoingMethods[method] {
		dropEcho(resp)
	}
	return resp, err
}

// waitRetryAfter holds the call while key is under a Retry-After, with a
// little jitter so held callers do not all leave at the same instant.
func (g *rateGate) waitRetryAfter(req *http.Request, key string) (*http.Response, error) {
	for {
		g.mu.Lock()
		wait := g.until[key].Sub(g.now())
		g.mu.Unlock()
		if wait <= 0 {
			return nil, nil
		}
		wait += g.jitter()
		if !fits(req, wait) {
			return held(req, wait), nil
		}
		if err := g.sleep(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

// waitToken takes a token from the method's tier bucket and, for a post,
// from its channel's, waiting until both have one.
func (g *rateGate) waitToken(req *http.Request, method, channel string) (*http.Response, error) {
	if g.pace.Off {
		return nil, nil
	}
	now := g.now()
	var rs []*rate.Reservation
	g.mu.Lock()
	if t, ok := methodTiers[method]; ok {
		l := g.methods[method]
		if l == nil {
			l = rate.NewLimiter(rate.Limit(g.pace.scaled(t.perMinute)/60), int(g.pace.scaled(float64(t.burst))))
			g.methods[method] = l
		}
		rs = append(rs, l.ReserveN(now, 1))
	}
	if method == "chat.postMessage" && channel != "" {
		rs = append(rs, g.postLimiterLocked(channel, now).ReserveN(now, postUnits))
	}
	g.mu.Unlock()
	var wait time.Duration
	for _, r := range rs {
		wait = max(wait, r.DelayFrom(now))
	}
	if wait <= 0 {
		return nil, nil
	}
	cancel := func() {
		at := g.now()
		for _, r := range rs {
			r.CancelAt(at)
		}
	}
	if !fits(req, wait) {
		cancel()
		return held(req, wait), nil
	}
	if err := g.sleep(req.Context(), wait); err != nil {
		cancel()
		return nil, err
	}
	return nil, nil
}

// postLimiterLocked returns channel's chat.postMessage bucket. Callers hold g.mu.
func (g *rateGate) postLimiterLocked(channel string, now time.Time) *rate.Limiter {
	if l := g.posts[channel]; l != nil {
		return l
	}
	if len(g.posts) >= maxPostLimiters {
		for ch, l := range g.posts {
			if l.TokensAt(now) >= float64(l.Burst()) {
				delete(g.posts, ch)
			}
		}
	}
	perSecond := g.pace.scaled(postPerSecond) * postUnits
	burst := g.pace.scaled(postBurst)*postUnits - math.Round(postGuard.Seconds()*perSecond)
	l := rate.NewLimiter(rate.Limit(perSecond), int(max(burst, postUnits)))
	g.posts[channel] = l
	return l
}

// fits reports whether waiting d still leaves the call time to be made
// within its request's deadline.
func fits(req *http.Request, d time.Duration) bool {
	dl, ok := req.Context().Deadline()
	return !ok || time.Until(dl) >= d+5*time.Second
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
