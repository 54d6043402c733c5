// Package bot is everything Slack: Socket Mode envelopes become playbook
// calls, and playbook's chat ports become Web API calls (adapter.go).
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
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
	// Members tells who is in a channel (for private incidents in lists).
	Members interface {
		IsMember(ctx context.Context, channelID, user string) (bool, error)
	}
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
	go func() { sockErr <- b.Socket.RunContext(sockCtx) }()

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
	const msg = "Klaxon is restarting and did not act on this. Try again in a few seconds."
	switch evt.Type {
	case socketmode.EventTypeSlashCommand:
		b.ack(*evt.Request, ephemeral(":hourglass: "+msg), time.Now())
	case socketmode.EventTypeInteractive:
		if cb, ok := evt.Data.(slack.InteractionCallback); ok && cb.Type == slack.InteractionTypeViewSubmission && cb.View.CallbackID == declareCallbackID {
			// Keep the form open with what was typed.
			b.ack(*evt.Request, slack.NewErrorsViewSubmissionResponse(map[string]string{blockTitle: msg}), time.Now())
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

func (b *Bot) onSlash(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, received time.Time) {
	cmd := ParseCommand(sc.Text, func(w string) bool { _, ok := b.App.Service(w); return ok })
	if cmd.Name == "declare" {
		cmd.Title = Plain(cmd.Title)
	}
	switch {
	case cmd.Name == "update":
		b.onUpdateCommand(ctx, req, sc, Plain(cmd.Title), received)
	case cmd.Name == "ic":
		b.onIC(ctx, req, sc, cmd.Title, received)
	case cmd.Name == "sev":
		b.onSev(ctx, req, sc, cmd.Title, received)
	case cmd.Name == "status":
		b.onStatus(ctx, req, sc, received)
	case cmd.Name == "note":
		b.onNote(ctx, req, sc, cmd.Title, received)
	case cmd.Name == "list":
		b.onList(ctx, req, sc, received)
	case cmd.Name == "stats":
		b.onStats(ctx, req, sc, cmd.Title, received)
	case cmd.Name == "remediate":
		b.onRemediate(ctx, req, sc, cmd.Title, received)
	case cmd.Name == "mitigated":
		b.onMitigated(ctx, req, sc, received)
	case cmd.Name == "resolve":
		b.onResolve(ctx, req, sc, cmd.Title, received)
	case cmd.Name == "action":
		b.onAction(ctx, req, sc, cmd.Title, received)
	case cmd.Name == "actions":
		b.onActions(ctx, req, sc, cmd.Title, received)
	case cmd.Name == "close":
		b.onClose(ctx, req, sc, cmd.Title, received)
	case cmd.Name == "tag":
		b.onTag(ctx, req, sc, cmd.Title, received)
	case cmd.Name == "postmortem":
		b.onPostmortem(ctx, req, sc, cmd.Title, received)
	case cmd.Name == "deploys":
		b.onDeploys(ctx, req, sc, cmd.Title, received)
	case cmd.Name == "cause":
		b.onCause(ctx, req, sc, cmd.Title, received)
	case cmd.Name == "signals":
		b.onSignals(ctx, req, received)
	case cmd.Name == "page":
		b.onPage(ctx, req, sc, cmd.Title, received)
	case cmd.Name == "owners":
		b.onOwners(ctx, req, sc, cmd.Title, received)
	case cmd.Name == "help":
		b.ack(req, ephemeral(b.help("")), received)
	case cmd.Unknown:
		b.ack(req, ephemeral(b.help(fmt.Sprintf("`%s %s` is not a Klaxon command.", b.Command, templates.Escape(templates.Truncate(40, cmd.Name))))), received)
	case cmd.SeverityErr != nil:
		b.ack(req, ephemeral(playbook.UserMessage(cmd.SeverityErr)+fmt.Sprintf("\nFor example: `%s declare sev2 checkout Card payments failing`", b.Command)), received)
	case cmd.NeedsForm():
		b.ack(req, nil, received)
		b.openDeclareForm(ctx, sc, cmd)
	default:
		b.declareFromCommand(ctx, req, sc, cmd, received)
	}
}

func (b *Bot) help(prefix string) string {
	services := b.App.Services
	tiers := make([]playbook.Tier, 0, 4)
	for _, s := range playbook.Severities {
		tiers = append(tiers, b.App.Tiers.Get(s))
	}
	text, err := b.Templates.Render("help.tmpl", map[string]any{
		"Command": b.Command, "Services": services, "Tiers": tiers, "DefaultSeverity": b.defaultSeverity(),
	})
	if err != nil {
		b.log().Error("rendering help", "err", err)
		text = "Usage: " + b.Command + " declare [sev1-4] [service] <title>"
	}
	if prefix != "" {
		text = prefix + "\n" + text
	}
	return text
}

func (b *Bot) defaultSeverity() playbook.Severity {
	if b.DefaultSeverity.Valid() {
		return b.DefaultSeverity
	}
	return playbook.SEV3
}

func (b *Bot) declareFromCommand(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, cmd Command, received time.Time) {
	sev := cmd.Severity
	if sev == 0 {
		sev = b.defaultSeverity()
	}
	// The declaration is recorded before the ack, keyed by the envelope ID,
	// so the ack can tell the truth ("declared #12" or "nothing was done")
	// and a redelivered envelope declares nothing twice.
	var started time.Time
	if cmd.Started != "" {
		var err error
		if started, err = playbook.ParseStarted(cmd.Started, b.App.Clock.Now()); err != nil {
			b.ack(req, ephemeral(playbook.UserMessage(err)+fmt.Sprintf("\nFor example: `%s declare sev2 --started 14:02 checkout Card payments failing`", b.Command)), received)
			return
		}
	}
	inc, created, err := b.App.Declare(ctx, playbook.DeclareRequest{
		Key: "env:" + req.EnvelopeID, Title: cmd.Title, Severity: sev, Service: cmd.Service,
		Declarer: sc.UserID, Origin: sc.ChannelID, Private: cmd.Private, Started: started,
	})
	if err != nil {
		b.ack(req, ephemeral(playbook.UserMessage(err)), received)
		b.logDomainError("declare", sc.UserID, err)
		return
	}
	if !created {
		b.ack(req, ephemeral(fmt.Sprintf("Incident #%d is already declared from this request.", inc.Number)), received)
		return
	}
	b.ack(req, ephemeral(fmt.Sprintf(":rotating_light: Declared %s incident #%d. Klaxon is opening its channel and inviting the responders…", inc.Severity, inc.Number)), received)
	b.Metrics.declared(inc.Severity)
	res, err := b.App.SetUp(ctx, inc.Number)
	if at, ok := res.Incident.ReadyAt(); ok && err == nil {
		b.Metrics.ready(at.Sub(received))
	}
	b.tellDeclarer(ctx, sc.ResponseURL, res, err)
}

// tellDeclarer follows up on the slash command through its response_url
// (the declarer may have typed it in a channel Klaxon is not in).
func (b *Bot) tellDeclarer(ctx context.Context, responseURL string, res playbook.SetupResult, setupErr error) {
	if responseURL == "" {
		return
	}
	inc := res.Incident
	var text string
	switch {
	case setupErr != nil:
		text = fmt.Sprintf(":warning: Incident #%d is declared, but Klaxon could not create its channel (%s). It tries again a few times over the next minutes; if it still cannot, you and the announce channel are told why. Meanwhile coordinate in this channel.", inc.Number, slackReason(setupErr))
	case len(res.Failed) > 0:
		text = fmt.Sprintf("Incident #%d: <#%s> is open, but some steps failed; the channel says which.", inc.Number, inc.Channel.ID)
	default:
		text = fmt.Sprintf("Incident #%d is ready: <#%s>. You have been invited.", inc.Number, inc.Channel.ID)
	}
	err := slack.PostWebhookCustomHTTPContext(ctx, responseURL, b.httpClient(), &slack.WebhookMessage{Text: text, ResponseType: slack.ResponseTypeEphemeral, ReplaceOriginal: true})
	if err != nil {
		b.log().Warn("response_url follow-up failed", "incident", inc.Number, "err", redactURL(err))
	}
}

// slackReason extracts the Slack error code for a person, without internals.
func slackReason(err error) string {
	var serr slack.SlackErrorResponse
	if errors.As(err, &serr) {
		return serr.Err
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return "Slack rate limit"
	}
	var sce slack.StatusCodeError
	var uerr *url.Error
	var nerr net.Error
	if errors.As(err, &sce) || errors.As(err, &uerr) || errors.As(err, &nerr) || errors.Is(err, context.DeadlineExceeded) {
		return "Slack did not answer"
	}
	// Not Slack's doing: the store, say. Slack is not blamed for it.
	return "a failure on Klaxon's side, not Slack's"
}

func (b *Bot) logDomainError(action, user string, err error) {
	switch playbook.ErrorCode(err) {
	case playbook.CodeBadInput, playbook.CodeBadSeverity, playbook.CodeForbidden:
		b.log().Info("refused", "action", action, "user", user, "reason", err)
	default:
		b.log().Error(action+" failed", "user", user, "err", err)
	}
}

func (b *Bot) onInteractive(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, received time.Time) {
	switch cb.Type {
	case slack.InteractionTypeViewSubmission:
		switch cb.View.CallbackID {
		case declareCallbackID:
			b.onDeclareSubmit(ctx, req, cb, received)
			return
		case updateCallbackID:
			b.onUpdateSubmit(ctx, req, cb, received)
			return
		case scopeCallbackID:
			b.onScopeSubmit(ctx, req, cb, received)
			return
		case overrideCallbackID:
			b.onOverrideSubmit(ctx, req, cb, received)
			return
		case planCallbackID:
			b.onPlanSubmit(ctx, req, cb, received)
			return
		case actionCallbackID:
			b.onActionSubmit(ctx, req, cb, received)
			return
		}
	case slack.InteractionTypeMessageAction:
		if cb.CallbackID == shortcutAddTimeline {
			b.onAddToTimeline(ctx, req, cb, received)
			return
		}
	case slack.InteractionTypeBlockActions:
		for _, act := range cb.ActionCallback.BlockActions {
			switch act.ActionID {
			case actionPostUpdate:
				b.onPostUpdateButton(ctx, req, cb, act, received)
				return
			case actionTakeIC:
				n, err := strconv.ParseInt(act.Value, 10, 64)
				if err != nil {
					break
				}
				b.assignCommander(ctx, req, n, cb.User.ID, cb.User.ID, "act:"+act.ActionTs+":"+cb.User.ID, received, true, cb.ResponseURL)
				return
			case actionCheck:
				b.onCheck(ctx, req, cb, act, received)
				return
			case actionOpenScope:
				b.onOpenScope(ctx, req, cb, act, received)
				return
			case actionScopeToUpdate:
				b.onScopeToUpdate(ctx, req, cb, act, received)
				return
			case actionRetrySetup:
				b.onRetrySetup(ctx, req, cb, act, received)
				return
			case actionAckPage:
				b.onAckPage(ctx, req, cb, act, received)
				return
			case actionRemedy:
				b.onRemedyButton(ctx, req, cb, act, received)
				return
			case actionValidationPlan:
				b.onValidationPlanButton(ctx, req, cb, act, received)
				return
			case actionGate:
				b.onGateButton(ctx, req, cb, act, received)
				return
			case actionAllClear:
				b.onAllClearButton(ctx, req, cb, act, received)
				return
			case actionOverride:
				b.onOverrideButton(ctx, req, cb, act, received)
				return
			case actionAddAction:
				b.onAddActionButton(ctx, req, cb, act, received)
				return
			case actionRetryTickets:
				b.onRetryTickets(ctx, req, cb, act, received)
				return
			case actionRetryClose:
				b.onRetryClose(ctx, req, cb, act, received)
				return
			case actionDeployCause, actionDeployNot:
				b.onDeployVerdict(ctx, req, cb, act, act.ActionID == actionDeployCause, received)
				return
			case actionRetryDeploys:
				b.onRetryDeploys(ctx, req, cb, act, received)
			case actionDeclareGroup:
				b.onDeclareGroup(ctx, req, cb, act, received)
				return
			}
		}
	}
	b.ack(req, nil, received)
}

func (b *Bot) httpClient() *http.Client {
	if b.HTTP != nil {
		return b.HTTP
	}
	return &http.Client{Timeout: 10 * time.Second}
}

// redactURL drops the URL from an HTTP client error: a response_url grants
// posting rights for 30 minutes and does not belong in logs.
func redactURL(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return fmt.Errorf("%s response_url: %w", uerr.Op, uerr.Err)
	}
	return err
}
