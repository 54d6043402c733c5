package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

// Bot receives Socket Mode envelopes and answers them.
type Bot struct {
	App       *playbook.App
	API       *slack.Client
	Socket    *socketmode.Client
	Templates *templates.Set
	Log       *slog.Logger
	Metrics   *Metrics
	// Command is the slash command's name, e.g. "/incident".
	Command         string
	DefaultSeverity playbook.Severity
	// HTTP posts to response_url; nil means a client with a 10 s timeout.
	HTTP *http.Client
	// Drain bounds how long Run waits for in-flight work after ctx ends.
	Drain time.Duration
	// Groups reads user groups' members into the cache permissions are
	// decided from (nil: groups are never read on demand).
	Groups interface {
		RefreshGroups(ctx context.Context, ids []string) error
	}

	inflight  sync.WaitGroup
	connected atomic.Bool
	// everConnected and failing let connection.go log once per change.
	everConnected, failing atomic.Bool
	chart                  chartCache // the last chart uploaded, for the App Home
}

// Connected reports whether the Socket Mode connection is up (for /readyz).
func (b *Bot) Connected() bool { return b.connected.Load() }

func (b *Bot) log() *slog.Logger {
	if b.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return b.Log
}

// Run reads envelopes until ctx ends. Then it stops taking new work:
// envelopes still arriving are acked with "Klaxon is restarting" so nobody
// is left with a timeout, while the work already started finishes (up to
// Drain, after which it is cancelled). The socket closes last, so the acks
// of that work still reach Slack.
func (b *Bot) Run(ctx context.Context) error {
	// The socket and the work outlive ctx by the drain; both end when Run returns.
	sockCtx, stopSocket := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSocket()
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	sockErr := make(chan error, 1)
	sockDone := make(chan struct{})
	go func() { sockErr <- b.Socket.RunContext(sockCtx); close(sockDone) }()

	for running := true; running; {
		select {
		case <-ctx.Done():
			running = false
		case err := <-sockErr:
			b.connected.Store(false)
			b.Metrics.setConnected(false)
			b.drain(stopWork, nil)
			return socketError(err)
		case evt := <-b.Socket.Events:
			b.dispatch(work, evt)
		}
	}
	b.drain(stopWork, sockErr)
	stopSocket()
	// slack-go closes the socket when RunContext returns: wait for it, so
	// that a Run started next in this process (a restart, a test) is the
	// only connection Slack delivers envelopes to.
	<-sockDone
	b.connected.Store(false)
	return nil
}

// ackGrace lets slack-go's writer send the last queued acks before the
// socket closes (Ack only queues; there is no flush).
const ackGrace = 250 * time.Millisecond

// drain waits for in-flight work, refusing new envelopes meanwhile. After
// Drain it cancels the work and stops waiting.
func (b *Bot) drain(stopWork context.CancelFunc, sockErr <-chan error) {
	limit := b.Drain
	if limit <= 0 {
		limit = 30 * time.Second
	}
	done := make(chan struct{})
	go func() { b.inflight.Wait(); close(done) }()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	var grace <-chan time.Time
	for {
		select {
		case <-done:
			done = nil
			grace = time.After(ackGrace)
		case <-grace:
			return
		case <-deadline.C:
			b.log().Warn("in-flight work still running at shutdown; cancelling it", "waited", limit)
			stopWork()
			return
		case <-sockErr:
			if done == nil {
				return
			}
			sockErr = nil // no socket: nothing to refuse, only wait
		case evt := <-b.Socket.Events:
			b.refuse(evt)
		}
	}
}

// refuse answers an envelope that arrives while Klaxon is stopping.
func (b *Bot) refuse(evt socketmode.Event) {
	if evt.Request == nil {
		return
	}
	switch evt.Type {
	case socketmode.EventTypeSlashCommand:
		b.ack(*evt.Request, ephemeral(b.words("bot.restarting", map[string]any{"Slash": true})), time.Now())
	case socketmode.EventTypeInteractive:
		if cb, ok := evt.Data.(slack.InteractionCallback); ok && cb.Type == slack.InteractionTypeViewSubmission && cb.View.CallbackID == declareCallbackID {
			// Keep the form open with what was typed.
			b.ack(*evt.Request, slack.NewErrorsViewSubmissionResponse(map[string]string{blockTitle: b.words("bot.restarting", map[string]any{"Slash": false})}), time.Now())
			return
		}
		b.ack(*evt.Request, nil, time.Now())
	case socketmode.EventTypeEventsAPI:
		// Not acking makes Slack redeliver it, to this Klaxon after its restart.
	}
}

// Wait blocks until every envelope handled so far has finished its work.
func (b *Bot) Wait() { b.inflight.Wait() }

func (b *Bot) dispatch(ctx context.Context, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnected, socketmode.EventTypeConnecting, socketmode.EventTypeConnectionError,
		socketmode.EventTypeDisconnect, socketmode.EventTypeInvalidAuth:
		b.onConnection(evt) // connection.go
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok || evt.Request == nil {
			return
		}
		b.handle(evt, func(received time.Time) { b.onSlash(ctx, *evt.Request, cmd, received) })
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok || evt.Request == nil {
			return
		}
		b.handle(evt, func(received time.Time) { b.onInteractive(ctx, *evt.Request, cb, received) })
	case socketmode.EventTypeEventsAPI:
		if evt.Request != nil {
			ev, _ := evt.Data.(slackevents.EventsAPIEvent)
			b.handle(evt, func(received time.Time) { b.onEvent(ctx, *evt.Request, ev, received) })
		}
	}
}

// handle runs one envelope in its own goroutine so a slow one never delays
// another's ack, and counts it as in flight for a graceful stop.
func (b *Bot) handle(evt socketmode.Event, fn func(received time.Time)) {
	received := time.Now()
	b.Metrics.envelope(string(evt.Type))
	b.inflight.Go(func() {
		defer func() {
			if r := recover(); r != nil {
				b.log().Error("panic handling envelope", "type", evt.Type, "panic", r)
			}
		}()
		fn(received)
	})
}

// ack answers an envelope. It is the first thing sent for every envelope:
// no Web API call happens before it.
func (b *Bot) ack(req socketmode.Request, payload any, received time.Time) {
	var err error
	if payload == nil {
		err = b.Socket.Ack(req)
	} else {
		err = b.Socket.Ack(req, payload)
	}
	b.Metrics.ackLatency(time.Since(received))
	if err != nil {
		b.log().Error("ack failed", "envelope", req.EnvelopeID, "err", err)
	}
}

// ephemeral is a slash-command ack payload only the person sees.
func ephemeral(text string) map[string]any {
	return map[string]any{"response_type": "ephemeral", "text": templates.Truncate(3000, text)}
}

func (b *Bot) defaultSeverity() playbook.Severity {
	if b.DefaultSeverity.Valid() {
		return b.DefaultSeverity
	}
	return playbook.SEV3
}

// slackReason extracts the Slack error code for a person, without
// internals; when Slack gave none, what went wrong in a few words
// (slack_reason in templates/default/bot.tmpl, from words, the operator's
// set, or the embedded one when nil: the callers, Adapter's and Bot's
// alike, put it in parentheses).
func slackReason(words *templates.Set, err error) string {
	var serr slack.SlackErrorResponse
	if errors.As(err, &serr) {
		return serr.Err
	}
	kind := "klaxon" // not Slack's doing: the store, say; Slack is not blamed for it
	var rl *slack.RateLimitedError
	var sce slack.StatusCodeError
	var uerr *url.Error
	var nerr net.Error
	switch {
	case errors.As(err, &rl):
		kind = "ratelimited"
	case errors.As(err, &sce) || errors.As(err, &uerr) || errors.As(err, &nerr) || errors.Is(err, context.DeadlineExceeded):
		kind = "no_answer"
	}
	if words == nil {
		words = templates.Default()
	}
	text, _ := words.Render("slack_reason", kind)
	return text
}

func (b *Bot) logDomainError(action, user string, err error) {
	switch playbook.ErrorCode(err) {
	case playbook.CodeBadInput, playbook.CodeBadSeverity, playbook.CodeForbidden:
		b.log().Info("refused", "action", action, "user", user, "reason", err)
	default:
		b.log().Error(action+" failed", "user", user, "err", err)
	}
}

func (b *Bot) httpClient() *http.Client {
	if b.HTTP != nil {
		return b.HTTP
	}
	return responseURLClient
}

// responseURLClient posts to response_urls when Bot.HTTP is nil. One
// client for all, keeping as many idle connections as the Slack client:
// a new client per post, on http.DefaultTransport's 2 idle connections per
// host, opened a connection (a TLS handshake) for most of a burst's
// follow-ups.
var responseURLClient = &http.Client{Timeout: 10 * time.Second, Transport: SlackTransport()}

// redactURL drops the URL from an HTTP client error: a response_url grants
// posting rights for 30 minutes and does not belong in logs.
func redactURL(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return fmt.Errorf("%s response_url: %w", uerr.Op, uerr.Err)
	}
	return err
}
