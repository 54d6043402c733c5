package bot

import (
	"context"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/klaxonhq/klaxon/playbook"
)

// Action items: /incident action (or its form), each filed as a GitHub
// issue when configured, with a retry button when filing failed;
// /incident actions lists them.

func init() {
	register(feature{
		commands: []subcommand{
			{Name: "action", Topic: "actions", Handle: (*Bot).onAction, Forms: []form{
				{Usage: "action <what will change> @owner due:YYYY-MM-DD", Key: "action"},
				{Usage: "action #12 …", Key: "action.from_away"}}},
			{Name: "actions", Topic: "actions", Handle: (*Bot).onActions, Forms: []form{
				{Usage: "actions", Key: "actions"}}},
		},
		actions: map[string]actionHandler{
			actionAddAction:    (*Bot).onAddActionButton,
			actionRetryTickets: (*Bot).onRetryTickets,
		},
		views: map[string]viewHandler{actionCallbackID: (*Bot).onActionSubmit},
	})
}

const (
	actionAddAction    = "klaxon_add_action"
	actionRetryTickets = "klaxon_retry_tickets"
	actionCallbackID   = "klaxon_action" // the action item form
	blockActionText    = "action_text"
	blockActionOwner   = "action_owner"
	blockActionDue     = "action_due"
)

// maxListedActions keeps the /incident actions answer well under Slack's
// 20 KB ack limit.
const maxListedActions = 30

// onAction handles "/incident action [#N] <text> @owner due:YYYY-MM-DD";
// without text it opens the form.
func (b *Bot) onAction(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) {
	inc, rest, ok := b.incidentFor(ctx, req, sc, arg, received)
	if !ok {
		return
	}
	// In the incident's channel anyone taking part may add an item; by
	// number from elsewhere (each item becomes a GitHub issue under the
	// incident's name) only those who manage it, as for tag and close.
	if sc.ChannelID != inc.Channel.ID {
		if err := b.App.MayManage(ctx, inc, sc.UserID, playbook.ActActionsFromAway); err != nil {
			b.ack(req, ephemeral(b.errText(err)), received)
			b.readGroups(ctx, sc.UserID, nil) // acked: the next try decides on fresh groups
			return
		}
	}
	if strings.TrimSpace(rest) == "" {
		b.ack(req, nil, received)
		b.openActionForm(ctx, inc.Number, sc.TriggerID, sc.ResponseURL)
		return
	}
	a := ParseAction(rest)
	switch {
	case a.Groups > 0:
		b.ack(req, ephemeral(b.words("actions.owner_group", nil)), received)
		return
	case len(a.Owners) > 1:
		b.ack(req, ephemeral(b.words("actions.owners_many", len(a.Owners))), received)
		return
	}
	var owner string
	if len(a.Owners) == 1 {
		owner = a.Owners[0]
	}
	inc, item, applied, err := b.App.AddAction(ctx, inc.Number, playbook.ActionRequest{Key: "env:" + req.EnvelopeID, Actor: sc.UserID, Text: a.Text, Owner: owner, Due: a.Due})
	if err != nil {
		b.ack(req, ephemeral(b.errText(err)), received)
		b.logDomainError("action item", sc.UserID, err)
		return
	}
	b.ack(req, ephemeral(b.words("actions.recorded", map[string]any{"Item": item.ID, "Incident": inc.Number})), received)
	if applied {
		b.actionAdded(ctx, inc, item, sc.ResponseURL)
	}
}

// actionAdded shows the item and files it as a ticket. Once the incident's
// channel is archived, the answer goes to the person (responseURL).
func (b *Bot) actionAdded(ctx context.Context, inc playbook.Incident, item playbook.ActionItem, responseURL string) {
	res, err := b.App.FileTickets(ctx, inc.Number, false)
	if err != nil {
		b.log().Error("filing action items", "incident", inc.Number, "err", err)
	}
	archived := res.Incident.Closure != nil && !res.Incident.Closure.Archived.IsZero()
	var ticket *playbook.Ticket
	for _, it := range res.Filed {
		if it.ID == item.ID {
			ticket = it.Ticket
		}
	}
	text, err := b.Templates.Render("actions.added", map[string]any{"Item": item, "Ticket": ticket, "Skipped": res.Skipped, "Archived": archived, "Failed": len(res.Failed) > 0})
	if err != nil {
		b.log().Error("rendering an action item's answer", "incident", inc.Number, "err", err)
		return
	}
	if archived {
		b.tellUser(ctx, responseURL, text)
		return
	}
	b.postWithRetry(ctx, inc.Channel.ID, text, res.Failed, inc.Number, actionRetryTickets, b.words("actions.retry_filing", nil))
}

func (b *Bot) onRetryTickets(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
	b.ack(req, nil, received)
	n, _, ok := numberValue(act.Value)
	if !ok {
		return
	}
	res, err := b.App.FileTickets(ctx, n, true)
	switch {
	case err != nil:
		b.tellUser(ctx, cb.ResponseURL, b.words("actions.retry_failed", map[string]any{"Error": b.errText(err)}))
	case len(res.Failed) > 0:
		b.tellUser(ctx, cb.ResponseURL, b.words("actions.still_refused", len(res.Failed)))
	default:
		b.tellUser(ctx, cb.ResponseURL, b.words("actions.filed", res.Filed))
	}
}

func (b *Bot) openActionForm(ctx context.Context, n int64, triggerID, responseURL string) {
	text := slack.NewPlainTextInputBlockElement(plainText(b.words("actions.form_text_placeholder", nil)), blockActionText)
	text.MaxLength = playbook.MaxActionText
	owner := slack.NewOptionsSelectBlockElement(slack.OptTypeUser, plainText(b.words("actions.form_owner_placeholder", nil)), blockActionOwner)
	due := slack.NewDatePickerBlockElement(blockActionDue)
	b.openForm(ctx, n, triggerID, responseURL, actionCallbackID, b.words("actions.form_title", nil), b.words("actions.form_submit", nil),
		b.words("actions.form_instead", map[string]any{"Command": b.Command}),
		slack.NewInputBlock(blockActionText, plainText(b.words("actions.form_text_label", nil)), nil, text),
		slack.NewInputBlock(blockActionOwner, plainText(b.words("actions.form_owner_label", nil)), nil, owner),
		slack.NewInputBlock(blockActionDue, plainText(b.words("actions.form_due_label", nil)), nil, due))
}

func (b *Bot) onAddActionButton(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
	b.ack(req, nil, received)
	if n, _, ok := numberValue(act.Value); ok {
		b.openActionForm(ctx, n, cb.TriggerID, cb.ResponseURL)
	}
}

func (b *Bot) onActionSubmit(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, received time.Time) {
	n, _, ok := numberValue(cb.View.PrivateMetadata)
	if !ok {
		b.ack(req, b.blockErrors(map[string]error{blockActionText: errFormLost}), received)
		return
	}
	r := playbook.ActionRequest{
		Key: "view:" + cb.View.ID, Actor: cb.User.ID,
		Text:  inputValue(cb, blockActionText).Value,
		Owner: inputValue(cb, blockActionOwner).SelectedUser,
		Due:   inputValue(cb, blockActionDue).SelectedDate,
	}
	inc, item, applied, err := b.App.AddAction(ctx, n, r)
	if err != nil {
		b.ack(req, b.formErrors(err, blockActionText, map[playbook.Field]string{playbook.FieldOwner: blockActionOwner, playbook.FieldDue: blockActionDue}), received)
		return
	}
	b.ack(req, nil, received)
	if applied {
		b.actionAdded(ctx, inc, item, "")
	}
}

// onActions handles "/incident actions [#N]": the items, their tickets and
// the completion rate.
func (b *Bot) onActions(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) {
	inc, _, ok := b.incidentFor(ctx, req, sc, arg, received)
	if !ok {
		return
	}
	if len(inc.Actions) == 0 {
		b.ack(req, ephemeral(b.words("actions.none", map[string]any{"Incident": inc.Number, "Command": b.Command})), received)
		return
	}
	// An ack of 20 KB or more is refused: list the first ones.
	items := inc.Actions[:min(len(inc.Actions), maxListedActions)]
	b.ack(req, ephemeral(b.words("actions.list", map[string]any{"Incident": inc.Number, "Stats": playbook.CountActions([]playbook.Incident{inc}),
		"Items": items, "More": len(inc.Actions) - len(items)})), received)
}
