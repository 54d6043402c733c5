package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

// Verification and the all-clear: /incident resolve opens the four gates,
// each a button; the all-clear once they hold, or the commander's override
// with a reason.

func init() {
	register(feature{
		commands: []subcommand{
			{Name: "resolve", Topic: "resolve", Handle: (*Bot).onResolve, Forms: []form{
				{Usage: "resolve", Key: "resolve"},
				{Usage: "resolve override <reason>", Key: "resolve.override"}}},
		},
		actions: map[string]actionHandler{
			actionGate:     (*Bot).onGateButton,
			actionAllClear: (*Bot).onAllClearButton,
			actionOverride: (*Bot).onOverrideButton,
		},
		views: map[string]viewHandler{overrideCallbackID: (*Bot).onOverrideSubmit},
	})
}

const (
	actionGate         = "klaxon_gate"
	actionAllClear     = "klaxon_all_clear"
	actionOverride     = "klaxon_override"
	overrideCallbackID = "klaxon_override" // the override's reason form
	blockReason        = "reason"
)

// onResolve handles "/incident resolve [override <reason>]". The first call
// opens the gates; once they are open it asks for the all-clear.
func (b *Bot) onResolve(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) {
	inc, arg, ok := b.incidentFor(ctx, req, sc, arg, received)
	if !ok {
		return
	}
	arg = strings.TrimSpace(arg)
	if inc.Channel.ID == "" {
		b.resolveWithoutChannel(ctx, req, sc, inc, arg, received)
		return
	}
	if first, _, _ := strings.Cut(arg, " "); strings.EqualFold(first, "override") {
		reason := Plain(tail(arg, 1))
		if reason == "" {
			b.ack(req, ephemeral(b.words("gates.override_needs_reason", map[string]any{"Command": b.Command})), received)
			return
		}
		b.ack(req, nil, received)
		b.allClear(ctx, inc.Number, sc.UserID, reason, "env:"+req.EnvelopeID, sc.ResponseURL)
		return
	}
	if arg != "" {
		b.ack(req, ephemeral(b.words("gates.usage", map[string]any{"Command": b.Command})), received)
		return
	}
	if inc.Verifying.IsZero() {
		inc, opened, err := b.App.OpenVerification(ctx, inc.Number, sc.UserID, "env:"+req.EnvelopeID)
		if err != nil {
			b.ack(req, ephemeral(b.errText(err)), received)
			return
		}
		b.ack(req, nil, received)
		if opened || inc.GatesMsg.Zero() {
			b.postGates(ctx, inc, sc.ResponseURL)
		}
		return
	}
	b.ack(req, nil, received)
	if inc.GatesMsg.Zero() && inc.Status.Open() {
		// The gates are open but their message never made it (Slack
		// refused it, or Klaxon stopped): show them instead of refusing
		// with a pointer to a message that does not exist.
		b.postGates(ctx, inc, sc.ResponseURL)
		return
	}
	b.allClear(ctx, inc.Number, sc.UserID, "", "env:"+req.EnvelopeID, sc.ResponseURL)
}

// resolveWithoutChannel gives the all-clear for an incident Slack refused a
// channel ("/incident resolve #12 [override <reason>]" from any channel):
// there is no gates message to check, so the domain records why it was
// resolved without them. The decision is in the ack (or, when a responder
// group must be read first, through the response_url).
func (b *Bot) resolveWithoutChannel(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, inc playbook.Incident, arg string, received time.Time) {
	reason := ""
	if first, _, _ := strings.Cut(arg, " "); strings.EqualFold(first, "override") {
		reason = Plain(tail(arg, 1))
	}
	reply := b.replyFor(ctx, req, received, sc.ResponseURL, sc.UserID)
	if _, err := b.App.GiveAllClear(ctx, inc.Number, playbook.AllClearRequest{Key: "env:" + req.EnvelopeID, Actor: sc.UserID, Reason: reason}, func(o playbook.Outcome) {
		reply(b.words("gates.resolved_no_channel", map[string]any{"Incident": o.Incident.Number, "Command": b.Command}))
	}); err != nil {
		reply(b.errText(err))
		b.logDomainError("all-clear", sc.UserID, err)
	}
}

// postGates posts the gates message and remembers it for later edits.
func (b *Bot) postGates(ctx context.Context, inc playbook.Incident, responseURL string) {
	_, ts, err := b.API.PostMessageContext(ctx, inc.Channel.ID, slack.MsgOptionText(b.words("gates.fallback", inc), false), slack.MsgOptionBlocks(b.gatesBlocks(inc)...))
	if err != nil {
		b.log().Error("posting the verification gates", "incident", inc.Number, "err", err)
		b.tellUser(ctx, responseURL, b.words("gates.post_failed", map[string]any{"Reason": slackReason(b.tmpl(), err), "Command": b.Command}))
		return
	}
	if _, err := b.App.RecordGatesMessage(ctx, inc.Number, playbook.MessageRef{Channel: inc.Channel.ID, TS: ts}); err != nil {
		b.log().Error("recording the gates message", "incident", inc.Number, "err", err)
	}
}

func (b *Bot) gatesBlocks(inc playbook.Incident) []slack.Block {
	return renderGates(b.Templates, inc, b.App.Now())
}

// renderGates renders the gates of the stored incident as they stand at now.
func renderGates(words *templates.Set, inc playbook.Incident, now time.Time) []slack.Block {
	open := inc.Status.Open()
	blocks := []slack.Block{
		slack.NewHeaderBlock(plainText(say(words, "gates.header", inc))),
		slack.NewContextBlock("gates_ctx", mrkdwn(say(words, "gates.context", nil))),
	}
	for _, st := range inc.GateStates(now) {
		text := say(words, "gates.row", st)
		var acc *slack.Accessory
		if open {
			label, want := say(words, "gates.button_holds", nil), "on"
			if st.Check != nil {
				label, want = say(words, "gates.button_undo", nil), "off"
			}
			acc = slack.NewAccessory(slack.NewButtonBlockElement(actionGate, fmt.Sprintf("%d:%s:%s", inc.Number, st.Gate, want), plainText(label)))
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(text), nil, acc, slack.SectionBlockOptionBlockID("gate_"+string(st.Gate))))
	}
	if open {
		clear := slack.NewButtonBlockElement(actionAllClear, fmt.Sprint(inc.Number), plainText(say(words, "gates.button_all_clear", nil)))
		clear.Style = slack.StylePrimary
		override := slack.NewButtonBlockElement(actionOverride, fmt.Sprint(inc.Number), plainText(say(words, "gates.button_override", nil)))
		override.Style = slack.StyleDanger
		blocks = append(blocks, slack.NewActionBlock("gates_actions", clear, override))
		return blocks
	}
	resolved, _ := inc.At(playbook.PhaseResolved)
	text := say(words, "gates.done", map[string]any{"Resolved": resolved, "Override": inc.Override})
	return append(blocks, slack.NewSectionBlock(mrkdwn(text), nil, nil, slack.SectionBlockOptionBlockID("gates_done")))
}

func (b *Bot) onGateButton(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
	n, rest, ok := numberValue(act.Value)
	if !ok || len(rest) != 2 {
		b.ack(req, nil, received)
		return
	}
	_, err := b.App.CheckGate(ctx, playbook.GateRequest{N: n, Gate: playbook.Gate(rest[0]), On: rest[1] == "on", Actor: cb.User.ID, Key: "act:" + act.ActionTs + ":" + cb.User.ID},
		func(playbook.Outcome) { b.ack(req, nil, received) })
	if err != nil {
		b.ack(req, nil, received)
		b.logDomainError("gate", cb.User.ID, err)
		b.tellUser(ctx, cb.ResponseURL, b.errText(err))
	}
}

func (b *Bot) onAllClearButton(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
	b.ack(req, nil, received)
	if n, _, ok := numberValue(act.Value); ok {
		b.allClear(ctx, n, cb.User.ID, "", "act:"+act.ActionTs+":"+cb.User.ID, cb.ResponseURL)
	}
}

// allClear asks the domain for the all-clear and, given, tells everyone.
// Its callers have acked already.
func (b *Bot) allClear(ctx context.Context, n int64, actor, reason, key, responseURL string) {
	b.readGroups(ctx, actor, nil)
	o, err := b.App.GiveAllClear(ctx, n, playbook.AllClearRequest{Key: key, Actor: actor, Reason: reason}, nil)
	if err != nil {
		b.logDomainError("all-clear", actor, err)
		b.tellUser(ctx, responseURL, b.errText(err))
		return
	}
	b.announceAllClear(ctx, o)
}

// announceAllClear posts the next steps once the all-clear is given (the
// domain has refreshed the gates and posted the final update).
func (b *Bot) announceAllClear(ctx context.Context, o playbook.Outcome) {
	if !o.Applied {
		return
	}
	inc := o.Incident
	btn := slack.NewButtonBlockElement(actionAddAction, fmt.Sprint(inc.Number), plainText(b.words("gates.button_add_action", nil)))
	btn.Style = slack.StylePrimary
	text := b.words("gates.resolved", map[string]any{"Incident": inc, "Command": b.Command})
	if _, _, err := b.API.PostMessageContext(ctx, inc.Channel.ID, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(
		slack.NewSectionBlock(mrkdwn(text), nil, nil, slack.SectionBlockOptionBlockID("resolved")),
		slack.NewActionBlock("resolved_actions", btn),
	)); err != nil {
		b.log().Warn("posting the next steps", "incident", inc.Number, "err", err)
	}
}

func (b *Bot) onOverrideButton(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
	b.ack(req, nil, received)
	n, _, ok := numberValue(act.Value)
	if !ok {
		return
	}
	b.openForm(ctx, n, cb.TriggerID, cb.ResponseURL, overrideCallbackID, b.words("gates.override_title", nil), b.words("gates.override_submit", nil),
		b.words("gates.override_instead", map[string]any{"Command": b.Command}),
		slack.NewSectionBlock(mrkdwn(b.words("gates.override_explain", nil)), nil, nil),
		slack.NewInputBlock(blockReason, plainText(b.words("gates.override_label", nil)), nil,
			multiline(blockReason, b.words("gates.override_placeholder", nil), playbook.MaxOverrideReason)))
}

func (b *Bot) onOverrideSubmit(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, received time.Time) {
	n, _, ok := numberValue(cb.View.PrivateMetadata)
	if !ok {
		b.ack(req, b.blockErrors(map[string]error{blockReason: errFormLost}), received)
		return
	}
	reason := strings.TrimSpace(inputValue(cb, blockReason).Value)
	if reason == "" {
		b.ack(req, b.formErrors(playbook.Fail(playbook.CodeBadInput, playbook.ReasonNoOverrideReason, playbook.FieldReason, playbook.ErrorArgs{}), blockReason, nil), received)
		return
	}
	// Recorded before the ack so a refusal shows on the form itself.
	o, err := b.App.GiveAllClear(ctx, n, playbook.AllClearRequest{Key: "view:" + cb.View.ID, Actor: cb.User.ID, Reason: reason},
		func(playbook.Outcome) { b.ack(req, nil, received) })
	if err != nil {
		b.ack(req, b.formErrors(err, blockReason, nil), received)
		b.logDomainError("override", cb.User.ID, err)
		return
	}
	b.announceAllClear(ctx, o)
}
