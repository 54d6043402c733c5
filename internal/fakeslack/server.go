// Package fakeslack is a stateful fake of Slack's Web API and Socket Mode,
// listening on 127.0.0.1, for end-to-end tests that drive the real slack-go
// client:
//
//	fake := fakeslack.New(fakeslack.Options{})
//	defer fake.Close()
//	api := slack.New(fakeslack.DefaultBotToken,
//		slack.OptionAPIURL(fake.URL()),
//		slack.OptionAppLevelToken(fakeslack.DefaultAppToken))
//	sm := socketmode.New(api)
//
// It reproduces the parts of Slack that a bot can get wrong: token checks,
// argument and Block Kit validation, channel membership, per-method rate
// limits with Retry-After, single-use trigger_ids that die after 3 s,
// response_urls limited to 5 uses in 30 minutes, and Socket Mode envelopes
// that must be acked within 3 s. Tests drive the Slack side (slash commands,
// button clicks, events) and inspect the resulting state; WaitFor replaces
// sleeps.
//
// Only tests and the demo (internal/demo) import it.
package fakeslack

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

const (
	DefaultBotToken = "xoxb-fake-bot-token"
	DefaultAppToken = "xapp-fake-app-token"
	BotUserID       = "UKLAXONBOT"
	TeamID          = "TFAKE0001"

	// BotID and AppID identify the bot's app in message and view objects.
	BotID = "BKLAXONBOT"
	AppID = "AFAKE"
	// TeamDomain is the fake workspace's domain, used in permalinks.
	TeamDomain = "fake"
)

// Options configure a Server. The zero value is a strict fake with Slack's
// real limits.
type Options struct {
	BotToken, AppToken string // default DefaultBotToken and DefaultAppToken

	// Latency is added to every Web API call before it takes effect.
	Latency time.Duration
	// PingInterval is how often the server sends WebSocket PINGs; default
	// 10s. slack-go reconnects when it sees none for 30 s.
	PingInterval time.Duration

	// Fault, if set, is consulted for every Web API call before it takes
	// effect; n is the 1-based count of calls to that method so far. A
	// non-nil Fault with a Status or an Error makes the call fail that way
	// without applying it. A Fault with only a Delay just slows the call
	// down, which then goes through normally. Fault may be called from
	// several goroutines at once.
	Fault func(method string, n int) *Fault
	// FaultOn is consulted like Fault (when Fault is nil or returns nil)
	// with the call itself: its method and parameters (channel, text,
	// metadata, ...), for a fault aimed at one message.
	FaultOn func(c Call) *Fault

	// DisableRateLimits turns the per-method rate limits off (benchmarks).
	// Limits are on by default because a bot that ignores them fails in
	// production.
	DisableRateLimits bool
	// RateLimitScale multiplies every limit (e.g. 10 allows 200 Tier 2
	// calls a minute); 0 means 1.
	RateLimitScale float64

	// Clock drives rate-limit windows, message timestamps and the expiry of
	// trigger_ids and response_urls; default time.Now. See ManualClock.
	Clock func() time.Time
	// RateClock, if set, drives the rate limits alone (the windows and
	// buckets, Retry-After, and the early-retry counts) in place of Clock.
	// A test shares it with the client's pacing (a ManualClock passed as
	// bot.Pace.Clock): a paced call then moves it forward instead of
	// waiting in real time, while acks, trigger_ids and timestamps stay on
	// Clock.
	RateClock func() time.Time

	// AckTimeout is how long Send and friends wait, in real time, for a
	// Socket Mode ack before returning ErrNoAck; default 3s as on Slack.
	// An ack is also late when more than 3 s passed on Clock.
	AckTimeout time.Duration

	// Logf, if set, receives a line per Web API call and Socket Mode event.
	Logf func(format string, args ...any)
}

// Fault describes how a Web API call should fail (see Options.Fault).
// Status 429 answers "ratelimited" with Retry-After (and counts as an
// announcement for EarlyRetries); another non-200 Status answers that status;
// Error alone answers {"ok":false,"error":Error} with HTTP 200; Status 200
// alone answers {"ok":false} with no error code, which slack-go's
// SlackResponse.Err() mistakes for success.
type Fault struct {
	Status     int           // HTTP status, e.g. 429 or 500
	RetryAfter int           // seconds, sent as Retry-After with a 429 (default 1)
	Error      string        // an ok:false error code
	Delay      time.Duration // wait this long (real time) before answering
	// Until, when not nil, holds the call until it is closed (after
	// Delay): a Slack that is slow for as long as a test needs, with no
	// real-time wait in the test.
	Until <-chan struct{}
	// Applied makes the call take effect before failing with Status or
	// Error, as when Slack did the work but the answer was lost (a 5xx from
	// a proxy, a reset connection). A client that retries such a call blindly
	// does it twice.
	Applied bool
}

var (
	// ErrNoAck is returned when the client did not ack an envelope in time.
	// For a slash command or a button click the user then sees an error.
	ErrNoAck = errors.New("fakeslack: envelope not acknowledged within 3s")
	// ErrNotConnected is returned when no Socket Mode client is connected.
	ErrNotConnected = errors.New("fakeslack: no Socket Mode connection")
	// ErrClosed is returned by waits cut short by Close.
	ErrClosed = errors.New("fakeslack: server closed")
)

// Server is a running fake. All its methods are safe for concurrent use.
type Server struct {
	opts  Options
	clock func() time.Time
	// rateClock drives the rate limits (Options.RateClock, default clock).
	rateClock func() time.Time
	ln        net.Listener
	httpSrv   *http.Server
	base      string // http://127.0.0.1:PORT
	upgrader  websocket.Upgrader

	closed    chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup // socket readers and pingers
	reqWG     sync.WaitGroup // HTTP handlers in progress

	mu     sync.Mutex
	notify chan struct{} // closed and replaced on every state change

	// workspace
	users        map[string]*user
	userOrder    []string
	groups       map[string]*userGroup
	channels     map[string]*channel
	channelOrder []string
	ephemerals   []*message
	views        map[string]*View
	viewOrder    []string
	triggers     map[string]*trigger
	responseURLs map[string]*responseURL
	files        map[string]*File
	fileOrder    []string
	seq          map[string]int
	lastTS       int64

	// records
	calls         []Call
	methodCount   map[string]int
	responsePosts []ResponsePost
	acks          []Ack
	envelopes     []SentEnvelope
	earlyRetries  int

	// rate limiting, see ratelimit.go
	windows    map[string]*window
	buckets    map[string]*bucket
	retryUntil map[string]time.Time
	// limited: rate key -> the last 429's answer time and Retry-After end,
	// to count calls a client should have held (EarlyCalls).
	limited    map[string][2]time.Time
	earlyCalls int

	// Socket Mode, see socket.go
	tickets    map[string]bool
	conns      []*wsConn
	allConns   map[*wsConn]bool // open, with or without hello, for Close
	rr         int
	totalConns int
	waiters    map[string][]chan Ack
	sentByID   map[string]*sent
}

// New starts a fake listening on 127.0.0.1 on a free port. It panics if it
// cannot listen, as httptest.NewServer does.
func New(opts Options) *Server {
	if opts.BotToken == "" {
		opts.BotToken = DefaultBotToken
	}
	if opts.AppToken == "" {
		opts.AppToken = DefaultAppToken
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 10 * time.Second
	}
	if opts.RateLimitScale <= 0 {
		opts.RateLimitScale = 1
	}
	if opts.AckTimeout <= 0 {
		opts.AckTimeout = 3 * time.Second
	}
	s := &Server{
		opts:         opts,
		clock:        opts.Clock,
		closed:       make(chan struct{}),
		notify:       make(chan struct{}),
		users:        map[string]*user{},
		groups:       map[string]*userGroup{},
		channels:     map[string]*channel{},
		views:        map[string]*View{},
		triggers:     map[string]*trigger{},
		responseURLs: map[string]*responseURL{},
		files:        map[string]*File{},
		seq:          map[string]int{},
		methodCount:  map[string]int{},
		windows:      map[string]*window{},
		buckets:      map[string]*bucket{},
		retryUntil:   map[string]time.Time{},
		limited:      map[string][2]time.Time{},
		tickets:      map[string]bool{},
		allConns:     map[*wsConn]bool{},
		waiters:      map[string][]chan Ack{},
		sentByID:     map[string]*sent{},
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	s.rateClock = opts.RateClock
	if s.rateClock == nil {
		s.rateClock = s.clock
	}
	// slack-go dials with Origin: https://api.slack.com, which gorilla's
	// default same-origin check would refuse.
	s.upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	s.users[BotUserID] = &user{id: BotUserID, name: "klaxon", realName: "Klaxon", isBot: true}
	s.userOrder = append(s.userOrder, BotUserID)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("fakeslack: listen: " + err.Error())
	}
	s.ln = ln
	s.base = "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/ws", s.serveWS)
	mux.HandleFunc("/response_url/", s.serveResponseURL)
	mux.HandleFunc("/upload/", s.serveUpload)
	s.httpSrv = &http.Server{Handler: s.track(mux), ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.httpSrv.Serve(ln)
	}()
	return s
}

// track counts handlers in progress so that Close can wait for them
// (http.Server.Close does not).
func (s *Server) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if isClosed(s.closed) {
			s.mu.Unlock()
			http.Error(w, "fakeslack closed", http.StatusServiceUnavailable)
			return
		}
		s.reqWG.Add(1)
		s.mu.Unlock()
		defer s.reqWG.Done()
		h.ServeHTTP(w, r)
	})
}

// URL is the Web API base for slack.OptionAPIURL, with its trailing slash.
func (s *Server) URL() string { return s.base + "/api/" }

// Close disconnects every Socket Mode client, stops the pingers and the HTTP
// server, and wakes every waiter with ErrClosed. It waits for the fake's own
// goroutines to end.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.mu.Lock()
		conns := make([]*wsConn, 0, len(s.allConns))
		for c := range s.allConns {
			conns = append(conns, c)
		}
		s.conns = nil
		s.mu.Unlock()
		for _, c := range conns {
			c.close()
		}
		_ = s.httpSrv.Close()
		s.wg.Wait()
		s.reqWG.Wait()
	})
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf("fakeslack: "+format, args...)
	}
}

// changedLocked wakes every WaitFor. Callers hold s.mu.
func (s *Server) changedLocked() {
	close(s.notify)
	s.notify = make(chan struct{})
}

// WaitFor returns nil as soon as cond holds, ctx.Err() when ctx ends first,
// or ErrClosed. cond runs with the server's lock held, once now and again
// after every state change; it must only use the Snapshot, not the Server.
func (s *Server) WaitFor(ctx context.Context, cond func(s *Snapshot) bool) error {
	for {
		ok, ch := s.evaluate(cond)
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closed:
			return ErrClosed
		}
	}
}

// evaluate runs cond under the lock (released even if cond panics) and
// returns the channel that the next change closes.
func (s *Server) evaluate(cond func(s *Snapshot) bool) (bool, chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cond(&Snapshot{s: s}), s.notify
}

// WaitConnected returns once a Socket Mode client has connected and got its
// hello.
func (s *Server) WaitConnected(ctx context.Context) error {
	return s.WaitFor(ctx, func(n *Snapshot) bool { return n.Connections() > 0 })
}

// sleep waits d in real time, or less if ctx or the server ends first.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closed:
		return false
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func trimBearer(h string) string {
	if len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
