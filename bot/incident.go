package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

// Finding the incident a command or a button is about, and the small
// helpers the features' forms and follow-ups share.

// incidentHere finds the incident whose channel the command was typed in.
// The bool is false (and the person was told why) when there is none.
func (b *Bot) incidentHere(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, received time.Time) (playbook.Incident, bool) {
	inc, err := b.App.IncidentIn(ctx, sc.ChannelID)
	if err == nil {
		return inc, true
	}
	if playbook.ErrorCode(err) == playbook.CodeNotFound {
		b.ack(req, ephemeral(b.words("incident.not_here", map[string]any{"Command": b.Command, "Word": firstWord(sc.Text)})), received)
	} else {
		b.log().Error("looking up the incident of a channel", "channel", sc.ChannelID, "err", err)
		b.ack(req, ephemeral(b.errText(err)), received)
	}
	return playbook.Incident{}, false
}

func firstWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return templates.Truncate(20, f[0])
}

// incidentFor finds the incident a command is about: "#12" first names it
// (useful once its channel is archived), else the channel it is typed in.
// rest is the text after "#12". A private incident is reachable by number
// as playbook.MaySee decides without asking Slack (this answers before the
// ack), so its number reveals nothing to others.
func (b *Bot) incidentFor(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) (playbook.Incident, string, bool) {
	n, rest := IncidentRef(arg)
	if n == 0 {
		inc, ok := b.incidentHere(ctx, req, sc, received)
		return inc, arg, ok
	}
	inc, err := b.App.IncidentFor(ctx, n, playbook.Viewer{User: sc.UserID, Channel: sc.ChannelID})
	switch {
	case err == nil:
		return inc, rest, true
	case playbook.ErrorCode(err) == playbook.CodeNotFound:
		b.ack(req, ephemeral(b.words("incident.unreachable", map[string]any{"Number": n, "Command": b.Command})), received)
	default:
		b.log().Error("looking up an incident", "incident", n, "err", err)
		b.ack(req, ephemeral(b.errText(err)), received)
	}
	return playbook.Incident{}, "", false
}

// numberValue reads a button value "12" or "12:…".
func numberValue(v string) (int64, []string, bool) {
	parts := strings.Split(v, ":")
	n, err := strconv.ParseInt(parts[0], 10, 64)
	return n, parts[1:], err == nil && n > 0
}

// multiline is a long text input whose action ID is its block ID.
func multiline(block, hint string, max int) *slack.PlainTextInputBlockElement {
	el := slack.NewPlainTextInputBlockElement(plainText(hint), block)
	el.Multiline, el.MaxLength = true, max
	return el
}

// openForm opens a modal for incident n right after the ack (a trigger_id
// lives 3 s); when Slack refuses, the person is told what to type instead.
func (b *Bot) openForm(ctx context.Context, n int64, triggerID, responseURL, callbackID, title, submit, instead string, blocks ...slack.Block) {
	view := slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: callbackID, PrivateMetadata: fmt.Sprint(n),
		Title: plainText(title), Submit: plainText(submit), Close: plainText(b.words("form.cancel", nil)),
		Blocks: slack.Blocks{BlockSet: blocks},
	}
	if _, err := b.API.OpenViewContext(ctx, triggerID, view); err != nil {
		b.log().Error("views.open failed", "form", callbackID, "incident", n, "err", err)
		b.tellUser(ctx, responseURL, b.words("incident.form_failed", map[string]any{"Reason": slackReason(b.tmpl(), err), "Instead": instead}))
	}
}

// postWithRetry posts text, and when something failed, says what with a
// Retry button carrying the incident number.
func (b *Bot) postWithRetry(ctx context.Context, channel, text string, failed map[int]error, n int64, retryAction, label string) {
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(templates.Truncate(maxSectionText, text)), nil, nil, slack.SectionBlockOptionBlockID("wrapup"))}
	if len(failed) > 0 {
		type failure struct {
			ID  int
			Err string
		}
		var items []failure
		for id, err := range failed {
			items = append(items, failure{id, oneLine(err.Error(), 150)})
		}
		reasons := b.words("incident.github_reasons", map[string]any{"Failed": items})
		warn := b.words("incident.github_failed", map[string]any{"Count": len(failed), "Reasons": templates.Truncate(2000, reasons)})
		btn := slack.NewButtonBlockElement(retryAction, fmt.Sprint(n), plainText(label))
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(warn), nil, nil, slack.SectionBlockOptionBlockID("wrapup_failed")), slack.NewActionBlock("wrapup_retry", btn))
	}
	if _, _, err := b.API.PostMessageContext(ctx, channel, slack.MsgOptionText(templates.Truncate(3000, text), false), slack.MsgOptionBlocks(blocks...)); err != nil {
		b.log().Warn("posting an action item", "incident", n, "err", err)
	}
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	return templates.Truncate(n, s)
}

// words renders template name with data: a text for people, from templates.
// A template that fails (a broken override) is logged and says nothing.
func (b *Bot) words(name string, data any) string {
	text, err := b.tmpl().Render(name, data)
	if err != nil {
		b.log().Error("rendering a text", "template", name, "err", err)
		return ""
	}
	return text
}
