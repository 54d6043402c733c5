package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/klaxonhq/klaxon/playbook"
)

// Remediation: /incident remediate (the five options, fastest first, and
// the guidance of the one chosen), the data-repair validation plan, and
// /incident mitigated.

func init() {
	register(feature{
		commands: []subcommand{
			{Name: "remediate", Topic: "remediation", Handle: (*Bot).onRemediate, Forms: []form{
				{Usage: "remediate [flag|cutover|rollback|hotfix|data]", Key: "remediate"}}},
			{Name: "mitigated", Topic: "remediation", Forms: []form{
				{Usage: "mitigated", Key: "mitigated"}},
				Handle: func(b *Bot, ctx context.Context, req socketmode.Request, sc slack.SlashCommand, _ string, received time.Time) {
					b.onMitigated(ctx, req, sc, received)
				}},
		},
		actions: map[string]actionHandler{
			actionRemedy:         (*Bot).onRemedyButton,
			actionValidationPlan: (*Bot).onValidationPlanButton,
		},
		views: map[string]viewHandler{planCallbackID: (*Bot).onPlanSubmit},
	})
}

const (
	actionRemedy         = "klaxon_remedy"          // an option's button
	actionValidationPlan = "klaxon_validation_plan" // "Write the validation plan"
	planCallbackID       = "klaxon_plan"
	blockPlan            = "plan"
)

// onRemediate handles "/incident remediate [option]": without an option the
// five options are posted in the channel as buttons.
func (b *Bot) onRemediate(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) {
	inc, ok := b.incidentHere(ctx, req, sc, received)
	if !ok {
		return
	}
	if arg = strings.TrimSpace(arg); arg == "" {
		if !inc.Status.Open() {
			b.ack(req, ephemeral(b.words("remediation.nothing_left", map[string]any{"Incident": inc.Number, "Status": inc.Status})), received)
			return
		}
		b.ack(req, nil, received)
		if _, _, err := b.API.PostMessageContext(ctx, inc.Channel.ID, slack.MsgOptionText(b.words("remediation.options_text", map[string]any{"Incident": inc.Number}), false), slack.MsgOptionBlocks(b.remediateBlocks(inc)...)); err != nil {
			b.log().Error("posting the remediation options", "incident", inc.Number, "err", err)
			b.tellUser(ctx, sc.ResponseURL, b.words("remediation.options_failed", map[string]any{"Reason": slackReason(b.tmpl(), err), "Command": b.Command}))
		}
		return
	}
	opt, ok := playbook.ParseRemedy(arg)
	if !ok {
		b.ack(req, ephemeral(b.words("remediation.unknown", map[string]any{"Arg": Plain(arg), "Command": b.Command})), received)
		return
	}
	b.ack(req, nil, received)
	b.remediate(ctx, inc.Number, opt, sc.UserID, "env:"+req.EnvelopeID, sc.ResponseURL)
}

func (b *Bot) remediateBlocks(inc playbook.Incident) []slack.Block {
	svc, _ := b.App.Service(inc.Service)
	blocks := []slack.Block{
		slack.NewHeaderBlock(plainText(b.words("remediation.header", map[string]any{"Incident": inc.Number}))),
		slack.NewContextBlock("remedy_ctx", mrkdwn(b.words("remediation.context", nil))),
	}
	for i, r := range playbook.Remedies {
		d := map[string]any{"Index": i + 1, "Label": b.Templates.Label("remedy", r), "Typical": b.Templates.Label("remedy_typical", r),
			"Blurb": b.Templates.Label("remedy_blurb", r), "Service": svc.Name, "FlagURL": "", "CutoverURL": ""}
		switch r {
		case playbook.RemedyFlag:
			d["FlagURL"] = svc.FlagURL
		case playbook.RemedyCutover:
			d["CutoverURL"] = svc.CutoverURL
		}
		text := b.words("remediation.option", d)
		btn := slack.NewButtonBlockElement(actionRemedy, fmt.Sprintf("%d:%s", inc.Number, r), plainText(b.words("remediation.choose", nil)))
		if i == 0 {
			btn.Style = slack.StylePrimary
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(text), nil, slack.NewAccessory(btn), slack.SectionBlockOptionBlockID("remedy_"+string(r))))
	}
	return blocks
}

func (b *Bot) onRemedyButton(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
	b.ack(req, nil, received)
	n, rest, ok := numberValue(act.Value)
	if !ok || len(rest) != 1 {
		return
	}
	b.remediate(ctx, n, playbook.Remedy(rest[0]), cb.User.ID, "act:"+act.ActionTs+":"+cb.User.ID, cb.ResponseURL)
}

// remediate records the choice and posts its guidance in the channel.
func (b *Bot) remediate(ctx context.Context, n int64, opt playbook.Remedy, actor, key, responseURL string) {
	inc, g, applied, err := b.App.Remediate(ctx, n, opt, actor, key)
	if err != nil {
		b.logDomainError("remediate", actor, err)
		b.tellUser(ctx, responseURL, b.errText(err))
		return
	}
	if !applied {
		return
	}
	body, err := b.Templates.Render("guidance.tmpl", map[string]any{"Incident": inc, "Guidance": g, "Actor": actor, "Command": b.Command})
	if err != nil {
		b.log().Error("rendering remediation guidance", "err", err)
		return
	}
	var blocks []slack.Block
	for i, part := range splitText(body, maxSectionText) {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(part), nil, nil, slack.SectionBlockOptionBlockID(fmt.Sprintf("guidance_%d", i))))
	}
	if g.AskValidationPlan {
		btn := slack.NewButtonBlockElement(actionValidationPlan, fmt.Sprint(n), plainText(b.words("remediation.plan_button", nil)))
		btn.Style = slack.StylePrimary
		blocks = append(blocks, slack.NewActionBlock("guidance_actions", btn))
	}
	label := b.Templates.Label("remedy", g.Option)
	fallback := b.words("remediation.chose", map[string]any{"Actor": actor, "Label": label})
	if _, _, err := b.API.PostMessageContext(ctx, inc.Channel.ID, slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...)); err != nil {
		b.log().Error("posting remediation guidance", "incident", n, "err", err)
		b.tellUser(ctx, responseURL, b.words("remediation.guidance_failed", map[string]any{"Label": label, "Reason": slackReason(b.tmpl(), err)}))
	}
}

func (b *Bot) onValidationPlanButton(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
	b.ack(req, nil, received)
	n, _, ok := numberValue(act.Value)
	if !ok {
		return
	}
	b.openForm(ctx, n, cb.TriggerID, cb.ResponseURL, planCallbackID, b.words("remediation.plan_title", nil), b.words("remediation.plan_submit", nil),
		b.words("remediation.plan_instead", map[string]any{"Command": b.Command}),
		slack.NewInputBlock(blockPlan, plainText(b.words("remediation.plan_label", nil)), nil,
			multiline(blockPlan, b.words("remediation.plan_placeholder", nil), playbook.MaxPlan)))
}

func (b *Bot) onPlanSubmit(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, received time.Time) {
	n, _, ok := numberValue(cb.View.PrivateMetadata)
	if !ok {
		b.ack(req, b.blockErrors(map[string]error{blockPlan: errFormLost}), received)
		return
	}
	inc, applied, err := b.App.AddValidationPlan(ctx, n, cb.User.ID, inputValue(cb, blockPlan).Value, "view:"+cb.View.ID)
	if err != nil {
		b.ack(req, b.formErrors(err, blockPlan, nil), received)
		return
	}
	b.ack(req, nil, received)
	if applied {
		b.noticeFrom(ctx, inc.Channel.ID, "remediation.plan_recorded", map[string]any{"User": cb.User.ID})
	}
}

// onMitigated handles "/incident mitigated".
func (b *Bot) onMitigated(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, received time.Time) {
	inc, ok := b.incidentHere(ctx, req, sc, received)
	if !ok {
		return
	}
	inc, applied, err := b.App.Mitigate(ctx, inc.Number, sc.UserID, "env:"+req.EnvelopeID)
	if err != nil {
		b.ack(req, ephemeral(b.errText(err)), received)
		return
	}
	b.ack(req, nil, received)
	if applied {
		b.noticeFrom(ctx, inc.Channel.ID, "remediation.mitigated", map[string]any{"User": sc.UserID, "Incident": inc.Number, "Command": b.Command})
	}
}
