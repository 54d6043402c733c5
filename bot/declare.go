package bot

import (
	"context"
	"fmt"
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
		b.ack(req, ephemeral(b.errText(cmd.SeverityErr)+fmt.Sprintf("\nFor example: `%s declare sev2 checkout Card payments failing`", b.Command)), received)
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
			b.ack(req, ephemeral(b.errText(err)+fmt.Sprintf("\nFor example: `%s declare sev2 --started 14:02 checkout Card payments failing`", b.Command)), received)
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
