package bot

import (
	"context"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/klaxonhq/klaxon/playbook"
)

// Declaring: /incident declare (and bare /incident, which opens the form in
// form.go), its answer to the declarer once the channel is set up.

func init() {
	register(feature{
		commands: []subcommand{{
			Name: "declare", Aliases: []string{"new", "open"}, Topic: "declare",
			Forms: []form{
				{Usage: "declare [sev1-4] [service] <title>", Key: "declare"},
				{Usage: "declare --private …", Key: "declare.private"},
				{Usage: "declare --started 14:02 …", Key: "declare.started"},
				{Usage: "", Key: "declare.form"},
			},
			Handle: (*Bot).onDeclare,
		}},
		views: map[string]viewHandler{declareCallbackID: (*Bot).onDeclareSubmit},
	})
}

func (b *Bot) onDeclare(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) {
	cmd := parseDeclare(arg, func(w string) bool { _, ok := b.App.Service(w); return ok })
	cmd.Title = Plain(cmd.Title)
	switch {
	case cmd.SeverityErr != nil:
		b.ack(req, ephemeral(b.errText(cmd.SeverityErr)+"\n"+b.words("declare.example", map[string]any{"Command": b.Command})), received)
	case cmd.NeedsForm():
		b.ack(req, nil, received)
		b.openDeclareForm(ctx, sc, cmd)
	default:
		b.declareFromCommand(ctx, req, sc, cmd, received)
	}
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
		if started, err = playbook.ParseStarted(cmd.Started, b.App.Now()); err != nil {
			b.ack(req, ephemeral(b.errText(err)+"\n"+b.words("declare.example", map[string]any{"Command": b.Command, "Started": true})), received)
			return
		}
	}
	inc, created, err := b.App.Declare(ctx, playbook.DeclareRequest{
		Key: "env:" + req.EnvelopeID, Title: cmd.Title, Severity: sev, Service: cmd.Service,
		Declarer: sc.UserID, Origin: sc.ChannelID, Private: cmd.Private, Started: started,
	})
	if err != nil {
		b.ack(req, ephemeral(b.errText(err)), received)
		b.logDomainError("declare", sc.UserID, err)
		return
	}
	if !created {
		b.ack(req, ephemeral(b.words("declare.again", inc)), received)
		return
	}
	b.ack(req, ephemeral(b.words("declare.declared", inc)), received)
	b.Metrics.declared(inc.Severity)
	res, err := b.App.SetUp(ctx, inc.Number)
	if at, ok := res.Incident.ReadyAt(); ok && err == nil {
		b.Metrics.ready(at.Sub(received))
	}
	b.tellDeclarer(ctx, sc.ResponseURL, res, err, true)
}

// tellDeclarer follows up on the declaration through its response_url
// (the declarer may have typed it in a channel Klaxon is not in), in place
// of the ephemeral answer Klaxon gave when replace is set. A click on an
// offer's button must not replace: its original message is the offer,
// which the whole triage channel reads, and which names the incident.
func (b *Bot) tellDeclarer(ctx context.Context, responseURL string, res playbook.SetupResult, setupErr error, replace bool) {
	if responseURL == "" {
		return
	}
	inc := res.Incident
	reason := ""
	if setupErr != nil {
		reason = slackReason(b.tmpl(), setupErr)
	}
	text := b.words("declare.set_up", map[string]any{"Incident": inc, "Failed": len(res.Failed) > 0, "Reason": reason})
	err := slack.PostWebhookCustomHTTPContext(ctx, responseURL, b.httpClient(), &slack.WebhookMessage{Text: text, ResponseType: slack.ResponseTypeEphemeral, ReplaceOriginal: replace})
	if err != nil {
		b.log().Warn("response_url follow-up failed", "incident", inc.Number, "err", redactURL(err))
	}
}
