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

// Remediation: /incident remediate (the five options, fastest first, and
// the guidance of the one chosen), the data-repair validation plan, and
// /incident mitigated.

func init() {
	register(feature{
		commands: []subcommand{
			{Name: "remediate", Topic: "remediation", Handle: (*Bot).onRemediate, Forms: []form{
				{Usage: "remediate [flag|cutover|rollback|hotfix|data]", Help: "the five remediation options, fastest first; choosing one starts remediation and shows what to do (a rollback names the suspect deploy and the last good one)."}}},
			{Name: "mitigated", Topic: "remediation", Forms: []form{
				{Usage: "mitigated", Help: "the impact has stopped."}},
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
			b.ack(req, ephemeral(fmt.Sprintf("Incident #%d is %s; there is nothing left to remediate.", inc.Number, inc.Status)), received)
			return
		}
		b.ack(req, nil, received)
		if _, _, err := b.API.PostMessageContext(ctx, inc.Channel.ID, slack.MsgOptionText(fmt.Sprintf("Remediation options for incident #%d, fastest first", inc.Number), false), slack.MsgOptionBlocks(b.remediateBlocks(inc)...)); err != nil {
			b.log().Error("posting the remediation options", "incident", inc.Number, "err", err)
			b.tellUser(ctx, sc.ResponseURL, fmt.Sprintf("Klaxon could not post the options (%s). Name one instead: `%s remediate rollback`.", slackReason(err), b.Command))
		}
		return
	}
	opt, ok := playbook.ParseRemedy(arg)
	if !ok {
		b.ack(req, ephemeral(fmt.Sprintf("%q is not a remediation option. Type one of: `flag`, `cutover`, `rollback`, `hotfix`, `data`, or `%s remediate` for the buttons.", templates.Truncate(30, Plain(arg)), b.Command)), received)
		return
	}
	b.ack(req, nil, received)
	b.remediate(ctx, inc.Number, opt, sc.UserID, "env:"+req.EnvelopeID, sc.ResponseURL)
}

func (b *Bot) remediateBlocks(inc playbook.Incident) []slack.Block {
	svc, _ := b.App.Service(inc.Service)
	blocks := []slack.Block{
		slack.NewHeaderBlock(plainText(fmt.Sprintf("Remediation · incident #%d", inc.Number))),
		slack.NewContextBlock("remedy_ctx", mrkdwn("Fastest first: prefer the first one that stops the impact. Choosing one records the start of remediation and shows what to do.")),
	}
	for i, r := range playbook.Remedies {
		text := fmt.Sprintf("*%d. %s* · typically %s\n%s", i+1, r.Label, r.Typical, r.Blurb)
		switch {
		case r.Remedy == playbook.RemedyFlag && svc.FlagURL != "":
			text += "\n<" + svc.FlagURL + "|Flags of " + templates.Escape(svc.Name) + ">"
		case r.Remedy == playbook.RemedyCutover && svc.CutoverURL != "":
			text += "\n<" + svc.CutoverURL + "|Traffic controls of " + templates.Escape(svc.Name) + ">"
		}
		btn := slack.NewButtonBlockElement(actionRemedy, fmt.Sprintf("%d:%s", inc.Number, r.Remedy), plainText("Choose"))
		if i == 0 {
			btn.Style = slack.StylePrimary
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(text), nil, slack.NewAccessory(btn), slack.SectionBlockOptionBlockID("remedy_"+string(r.Remedy))))
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
		btn := slack.NewButtonBlockElement(actionValidationPlan, fmt.Sprint(n), plainText("Write the validation plan"))
		btn.Style = slack.StylePrimary
		blocks = append(blocks, slack.NewActionBlock("guidance_actions", btn))
	}
	fallback := fmt.Sprintf("%s chose: %s", "<@"+actor+">", g.Option.Label)
	if _, _, err := b.API.PostMessageContext(ctx, inc.Channel.ID, slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...)); err != nil {
		b.log().Error("posting remediation guidance", "incident", n, "err", err)
		b.tellUser(ctx, responseURL, fmt.Sprintf("Recorded %s, but Klaxon could not post its guidance (%s).", g.Option.Label, slackReason(err)))
	}
}

func (b *Bot) onValidationPlanButton(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
	b.ack(req, nil, received)
	n, _, ok := numberValue(act.Value)
	if !ok {
		return
	}
	b.openForm(ctx, n, cb.TriggerID, cb.ResponseURL, planCallbackID, "Validation plan", "Record",
		"`"+b.Command+" note Validation plan: …`",
		slack.NewInputBlock(blockPlan, plainText("How will the repaired data be checked?"), nil,
			multiline(blockPlan, "Which records, which query proves them right, who checks, when", playbook.MaxPlan)))
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
		b.notice(ctx, inc.Channel.ID, fmt.Sprintf(":clipboard: <@%s> recorded the validation plan for the data remediation (it is on the timeline).", cb.User.ID))
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
		b.notice(ctx, inc.Channel.ID, fmt.Sprintf(":large_green_circle: <@%s> marked incident #%d mitigated: the impact has stopped. Verification next: `%s resolve` opens the four gates.", sc.UserID, inc.Number, b.Command))
	}
}
