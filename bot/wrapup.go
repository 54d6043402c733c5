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
			{Name: "resolve", Topic: "resolve", Handle: (*Bot).onResolve, Forms: []form{
				{Usage: "resolve", Help: "open the four verification gates; once they all hold, the same command (or the \"All clear\" button) resolves."},
				{Usage: "resolve override <reason>", Help: "the commander's all-clear over open gates."}}},
			{Name: "action", Topic: "actions", Handle: (*Bot).onAction, Forms: []form{
				{Usage: "action <what will change> @owner due:YYYY-MM-DD", Help: "an action item, one owner, one deadline (filed on GitHub when configured). Without text, a form opens."},
				{Usage: "action #12 …", Help: "from another channel (after the archive, say): for the commander, the declarer and the responders."}}},
			{Name: "actions", Topic: "actions", Handle: (*Bot).onActions, Forms: []form{
				{Usage: "actions", Help: "the items and how many are done."}}},
			{Name: "close", Topic: "closing", Handle: (*Bot).onClose, Forms: []form{
				{Usage: "close [root cause]", Help: "after the all-clear, share the post-mortem outline and archive the channel (never deleted)."}}},
			{Name: "tag", Topic: "closing", Handle: (*Bot).onTag, Forms: []form{
				{Usage: "tag <root cause>", Help: "tag it later; the same tag twice flags a repeat. After the archive: `{cmd} tag #12 …`."}}},
			{Name: "postmortem", Topic: "closing", Handle: (*Bot).onPostmortem, Forms: []form{
				{Usage: "postmortem done <link>", Help: "the post-mortem is written; reminders stop. After the archive: `{cmd} postmortem done #12 <link>`."}}},
		},
		actions: map[string]actionHandler{
			actionRemedy:         (*Bot).onRemedyButton,
			actionValidationPlan: (*Bot).onValidationPlanButton,
			actionGate:           (*Bot).onGateButton,
			actionAllClear:       (*Bot).onAllClearButton,
			actionOverride:       (*Bot).onOverrideButton,
			actionAddAction:      (*Bot).onAddActionButton,
			actionRetryTickets:   (*Bot).onRetryTickets,
			actionRetryClose:     (*Bot).onRetryClose,
		},
		views: map[string]viewHandler{
			overrideCallbackID: (*Bot).onOverrideSubmit,
			planCallbackID:     (*Bot).onPlanSubmit,
			actionCallbackID:   (*Bot).onActionSubmit,
		},
	})
}

// Interaction IDs of the remediation, verification and wrap-up messages.
const (
	actionRemedy         = "klaxon_remedy"
	actionGate           = "klaxon_gate"
	actionAllClear       = "klaxon_all_clear"
	actionOverride       = "klaxon_override"
	actionValidationPlan = "klaxon_validation_plan"
	actionRetryTickets   = "klaxon_retry_tickets"
	actionRetryClose     = "klaxon_retry_close"
	actionAddAction      = "klaxon_add_action"
	overrideCallbackID   = "klaxon_override"
	planCallbackID       = "klaxon_plan"
	actionCallbackID     = "klaxon_action"
	blockReason          = "reason"
	blockPlan            = "plan"
	blockActionText      = "action_text"
	blockActionOwner     = "action_owner"
	blockActionDue       = "action_due"
)

// incidentFor finds the incident a command is about: "#12" first names it
// (useful once its channel is archived), else the channel it is typed in.
// rest is the text after "#12". A private incident is reachable by number
// only from its own channel or by its commander or declarer (its channel is
// archived at close, and they still owe its post-mortem), so its number
// reveals nothing to others.
func (b *Bot) incidentFor(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) (playbook.Incident, string, bool) {
	n, rest := IncidentRef(arg)
	if n == 0 {
		inc, ok := b.incidentHere(ctx, req, sc, received)
		return inc, arg, ok
	}
	inc, err := b.App.Store.Get(ctx, n)
	if err == nil && inc.Private && inc.Channel.ID != sc.ChannelID && sc.UserID != inc.Commander && sc.UserID != inc.Declarer {
		err = playbook.Errorf(playbook.CodeNotFound, "no such incident")
	}
	switch {
	case err == nil:
		return inc, rest, true
	case playbook.ErrorCode(err) == playbook.CodeNotFound:
		b.ack(req, ephemeral(fmt.Sprintf("There is no incident #%d you can reach from here. `%s list` shows the open ones.", n, b.Command)), received)
	default:
		b.log().Error("looking up an incident", "incident", n, "err", err)
		b.ack(req, ephemeral(playbook.UserMessage(err)), received)
	}
	return playbook.Incident{}, "", false
}

// numberValue reads a button value "12" or "12:…".
func numberValue(v string) (int64, []string, bool) {
	parts := strings.Split(v, ":")
	n, err := strconv.ParseInt(parts[0], 10, 64)
	return n, parts[1:], err == nil && n > 0
}

// ---- remediation ----

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
		b.tellUser(ctx, responseURL, playbook.UserMessage(err))
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
		Title: plainText(title), Submit: plainText(submit), Close: plainText("Cancel"),
		Blocks: slack.Blocks{BlockSet: blocks},
	}
	if _, err := b.API.OpenViewContext(ctx, triggerID, view); err != nil {
		b.log().Error("views.open failed", "form", callbackID, "incident", n, "err", err)
		b.tellUser(ctx, responseURL, fmt.Sprintf("Klaxon could not open the form (%s). Type %s instead.", slackReason(err), instead))
	}
}

func (b *Bot) onPlanSubmit(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, received time.Time) {
	n, _, ok := numberValue(cb.View.PrivateMetadata)
	if !ok {
		b.ack(req, slack.NewErrorsViewSubmissionResponse(map[string]string{blockPlan: "This form lost track of its incident; close it."}), received)
		return
	}
	inc, applied, err := b.App.AddValidationPlan(ctx, n, cb.User.ID, inputValue(cb, blockPlan).Value, "view:"+cb.View.ID)
	if err != nil {
		b.ack(req, slack.NewErrorsViewSubmissionResponse(map[string]string{blockPlan: templates.Truncate(150, playbook.UserMessage(err))}), received)
		return
	}
	b.ack(req, nil, received)
	if applied {
		b.App.Poster.Notice(ctx, inc.Channel.ID, fmt.Sprintf(":clipboard: <@%s> recorded the validation plan for the data remediation (it is on the timeline).", cb.User.ID))
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
		b.ack(req, ephemeral(playbook.UserMessage(err)), received)
		return
	}
	b.ack(req, nil, received)
	if applied {
		b.App.Poster.Notice(ctx, inc.Channel.ID, fmt.Sprintf(":large_green_circle: <@%s> marked incident #%d mitigated: the impact has stopped. Verification next: `%s resolve` opens the four gates.", sc.UserID, inc.Number, b.Command))
	}
}

// ---- verification ----

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
			b.ack(req, ephemeral(fmt.Sprintf("An override needs a written reason, kept in the post-mortem: `%s resolve override synthetic monitors are down for maintenance; error rate flat for 20 min`.", b.Command)), received)
			return
		}
		b.ack(req, nil, received)
		b.allClear(ctx, inc.Number, sc.UserID, reason, "env:"+req.EnvelopeID, sc.ResponseURL)
		return
	}
	if arg != "" {
		b.ack(req, ephemeral(fmt.Sprintf("`%s resolve` opens the verification gates (and gives the all-clear once they hold); the commander can override them with `%s resolve override <reason>`.", b.Command, b.Command)), received)
		return
	}
	if inc.Verifying.IsZero() {
		inc, opened, err := b.App.OpenVerification(ctx, inc.Number, sc.UserID, "env:"+req.EnvelopeID)
		if err != nil {
			b.ack(req, ephemeral(playbook.UserMessage(err)), received)
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
	got, su, applied, err := b.App.AllClear(ctx, inc.Number, playbook.AllClearRequest{Key: "env:" + req.EnvelopeID, Actor: sc.UserID, Reason: reason})
	if err != nil {
		reply(playbook.UserMessage(err))
		b.logDomainError("all-clear", sc.UserID, err)
		return
	}
	reply(fmt.Sprintf(":white_check_mark: Incident #%d is resolved (it has no channel, so its verification gates could not be checked; that is on its timeline). Next: `%s close #%d`.", got.Number, b.Command, got.Number))
	if applied {
		if err := b.App.PublishUpdate(ctx, got, su); err != nil {
			b.log().Warn("posting the final update of an incident without a channel", "incident", got.Number, "err", err)
		}
	}
}

// postGates posts the gates message and remembers it for later edits.
func (b *Bot) postGates(ctx context.Context, inc playbook.Incident, responseURL string) {
	_, ts, err := b.API.PostMessageContext(ctx, inc.Channel.ID, slack.MsgOptionText(fmt.Sprintf("Verification gates for incident #%d", inc.Number), false), slack.MsgOptionBlocks(b.gatesBlocks(inc)...))
	if err != nil {
		b.log().Error("posting the verification gates", "incident", inc.Number, "err", err)
		b.tellUser(ctx, responseURL, fmt.Sprintf("The gates are open but Klaxon could not post them (%s). Type `%s resolve` again to show them.", slackReason(err), b.Command))
		return
	}
	if _, err := b.App.RecordGatesMessage(ctx, inc.Number, playbook.MessageRef{Channel: inc.Channel.ID, TS: ts}); err != nil {
		b.log().Error("recording the gates message", "incident", inc.Number, "err", err)
	}
}

func (b *Bot) gatesBlocks(inc playbook.Incident) []slack.Block {
	return renderGates(inc, b.App.Clock.Now())
}

// renderGates renders the gates of the stored incident as they stand at now.
func renderGates(inc playbook.Incident, now time.Time) []slack.Block {
	open := inc.Status.Open()
	blocks := []slack.Block{
		slack.NewHeaderBlock(plainText(fmt.Sprintf("Verification gates · incident #%d", inc.Number))),
		slack.NewContextBlock("gates_ctx", mrkdwn("All four must hold before the all-clear. Synthetic monitors count from 5 minutes after they are checked green.")),
	}
	for _, st := range inc.GateStates(now) {
		var text string
		switch {
		case st.Check == nil:
			text = ":white_large_square: *" + st.Label + "*"
		case !st.Holds:
			text = fmt.Sprintf(":hourglass_flowing_sand: *%s*\nchecked by <@%s> %s · holds from %s", st.Label, st.Check.By, templates.SlackDate(st.Check.At), templates.SlackDate(st.HoldsAt))
		default:
			text = fmt.Sprintf(":white_check_mark: *%s*\nchecked by <@%s> %s", st.Label, st.Check.By, templates.SlackDate(st.Check.At))
		}
		var acc *slack.Accessory
		if open {
			label, want := "Holds", "on"
			if st.Check != nil {
				label, want = "Undo", "off"
			}
			acc = slack.NewAccessory(slack.NewButtonBlockElement(actionGate, fmt.Sprintf("%d:%s:%s", inc.Number, st.Gate, want), plainText(label)))
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(text), nil, acc, slack.SectionBlockOptionBlockID("gate_"+string(st.Gate))))
	}
	if open {
		clear := slack.NewButtonBlockElement(actionAllClear, fmt.Sprint(inc.Number), plainText("All clear"))
		clear.Style = slack.StylePrimary
		override := slack.NewButtonBlockElement(actionOverride, fmt.Sprint(inc.Number), plainText("Override (commander)…"))
		override.Style = slack.StyleDanger
		blocks = append(blocks, slack.NewActionBlock("gates_actions", clear, override))
		return blocks
	}
	resolved, _ := inc.At(playbook.PhaseResolved)
	text := fmt.Sprintf(":tada: Resolved %s.", templates.SlackDate(resolved))
	if ov := inc.Override; ov != nil {
		text = fmt.Sprintf(":warning: Resolved %s by <@%s> over open gates. Reason: %s", templates.SlackDate(resolved), ov.By, templates.Escape(ov.Reason))
	}
	return append(blocks, slack.NewSectionBlock(mrkdwn(text), nil, nil, slack.SectionBlockOptionBlockID("gates_done")))
}

// refreshGates re-renders the gates message from the store (serialised
// per incident with the other triage messages, so the last edit shows the
// latest state).
func (b *Bot) refreshGates(ctx context.Context, n int64) {
	if err := b.App.PublishGates(ctx, n); err != nil {
		b.log().Warn("refreshing the gates message", "incident", n, "err", err)
	}
}

func (b *Bot) onGateButton(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
	n, rest, ok := numberValue(act.Value)
	if !ok || len(rest) != 2 {
		b.ack(req, nil, received)
		return
	}
	_, changed, err := b.App.SetGate(ctx, n, playbook.Gate(rest[0]), rest[1] == "on", cb.User.ID, "act:"+act.ActionTs+":"+cb.User.ID)
	b.ack(req, nil, received)
	if err != nil {
		b.logDomainError("gate", cb.User.ID, err)
		b.tellUser(ctx, cb.ResponseURL, playbook.UserMessage(err))
		return
	}
	if changed {
		b.refreshGates(ctx, n)
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
	inc, su, applied, err := b.App.AllClear(ctx, n, playbook.AllClearRequest{Key: key, Actor: actor, Reason: reason})
	if err != nil {
		b.logDomainError("all-clear", actor, err)
		b.tellUser(ctx, responseURL, playbook.UserMessage(err))
		return
	}
	if applied {
		b.announceAllClear(ctx, inc, su)
	}
}

func (b *Bot) announceAllClear(ctx context.Context, inc playbook.Incident, su playbook.StatusUpdate) {
	b.refreshGates(ctx, inc.Number)
	if err := b.App.PublishUpdate(ctx, inc, su); err != nil {
		b.log().Error("posting the final update", "incident", inc.Number, "err", err)
	}
	btn := slack.NewButtonBlockElement(actionAddAction, fmt.Sprint(inc.Number), plainText("Add an action item"))
	btn.Style = slack.StylePrimary
	text := fmt.Sprintf(":white_check_mark: Incident #%d is resolved. Next: action items (`%s action <what will change> @owner due:YYYY-MM-DD`), then `%s close [root cause]` shares the post-mortem outline and archives this channel.", inc.Number, b.Command, b.Command)
	if d := inc.Timers.PostmortemDue; !d.IsZero() {
		text += " The post-mortem is due " + templates.SlackDate(d) + "."
	}
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
	b.openForm(ctx, n, cb.TriggerID, cb.ResponseURL, overrideCallbackID, "Override the gates", "Give the all-clear",
		"`"+b.Command+" resolve override <reason>`",
		slack.NewSectionBlock(mrkdwn("Only the incident commander can give the all-clear before all four gates hold. The reason is recorded and shown in the post-mortem."), nil, nil),
		slack.NewInputBlock(blockReason, plainText("Reason"), nil, multiline(blockReason, "Why the all-clear cannot wait for every gate", playbook.MaxOverrideReason)))
}

func (b *Bot) onOverrideSubmit(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, received time.Time) {
	n, _, ok := numberValue(cb.View.PrivateMetadata)
	if !ok {
		b.ack(req, slack.NewErrorsViewSubmissionResponse(map[string]string{blockReason: "This form lost track of its incident; close it."}), received)
		return
	}
	reason := strings.TrimSpace(inputValue(cb, blockReason).Value)
	if reason == "" {
		b.ack(req, slack.NewErrorsViewSubmissionResponse(map[string]string{blockReason: "Write the reason; it goes in the post-mortem."}), received)
		return
	}
	// Recorded before the ack so a refusal shows on the form itself.
	inc, su, applied, err := b.App.AllClear(ctx, n, playbook.AllClearRequest{Key: "view:" + cb.View.ID, Actor: cb.User.ID, Reason: reason})
	if err != nil {
		b.ack(req, slack.NewErrorsViewSubmissionResponse(map[string]string{blockReason: templates.Truncate(150, playbook.UserMessage(err))}), received)
		b.logDomainError("override", cb.User.ID, err)
		return
	}
	b.ack(req, nil, received)
	if applied {
		b.announceAllClear(ctx, inc, su)
	}
}

// ---- action items ----

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
		if err := b.App.MayManage(ctx, inc, sc.UserID, "add action items from outside the channel of"); err != nil {
			b.ack(req, ephemeral(playbook.UserMessage(err)), received)
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
		b.ack(req, ephemeral("An action item's owner is one person, not a group: mention @someone who will do it."), received)
		return
	case len(a.Owners) > 1:
		b.ack(req, ephemeral(fmt.Sprintf("An action item has exactly one owner; this one names %d. Split it, or pick the person accountable.", len(a.Owners))), received)
		return
	}
	var owner string
	if len(a.Owners) == 1 {
		owner = a.Owners[0]
	}
	inc, item, applied, err := b.App.AddAction(ctx, inc.Number, playbook.ActionRequest{Key: "env:" + req.EnvelopeID, Actor: sc.UserID, Text: a.Text, Owner: owner, Due: a.Due})
	if err != nil {
		b.ack(req, ephemeral(playbook.UserMessage(err)), received)
		b.logDomainError("action item", sc.UserID, err)
		return
	}
	b.ack(req, ephemeral(fmt.Sprintf(":pushpin: Action item %d recorded on incident #%d.", item.ID, inc.Number)), received)
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
	text := fmt.Sprintf(":pushpin: Action item %d: %s, owner <@%s>, due %s.", item.ID, templates.Escape(item.Text), item.Owner, item.Due)
	for _, it := range res.Filed {
		if it.ID == item.ID {
			text += " " + ticketLink(*it.Ticket)
			if it.Ticket.Assignee == "" {
				text += " (not assigned on GitHub: no login is configured for the owner in github.logins)"
			}
		}
	}
	if res.Note != "" {
		text += " " + res.Note
	}
	if archived {
		if len(res.Failed) > 0 {
			text += " :warning: GitHub did not take it; Klaxon retries at its next start."
		}
		b.tellUser(ctx, responseURL, text)
		return
	}
	b.postWithRetry(ctx, inc.Channel.ID, text, res.Failed, inc.Number, actionRetryTickets, "Retry filing")
}

func ticketLink(t playbook.Ticket) string {
	return fmt.Sprintf("<%s|%s#%d>", t.URL, templates.Escape(t.Repo), t.Number)
}

// postWithRetry posts text, and when something failed, says what with a
// Retry button carrying the incident number.
func (b *Bot) postWithRetry(ctx context.Context, channel, text string, failed map[int]error, n int64, retryAction, label string) {
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(templates.Truncate(maxSectionText, text)), nil, nil, slack.SectionBlockOptionBlockID("wrapup"))}
	if len(failed) > 0 {
		var reasons []string
		for id, err := range failed {
			reasons = append(reasons, fmt.Sprintf("item %d: %s", id, templates.Escape(oneLine(err.Error(), 150))))
		}
		warn := fmt.Sprintf(":warning: GitHub did not take %d action item(s) (%s). They are kept; Klaxon retries at its next start, or now:", len(failed), templates.Truncate(2000, strings.Join(reasons, "; ")))
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

func (b *Bot) onRetryTickets(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
	b.ack(req, nil, received)
	n, _, ok := numberValue(act.Value)
	if !ok {
		return
	}
	res, err := b.App.FileTickets(ctx, n, true)
	switch {
	case err != nil:
		b.tellUser(ctx, cb.ResponseURL, "The retry failed: "+playbook.UserMessage(err))
	case len(res.Failed) > 0:
		b.tellUser(ctx, cb.ResponseURL, fmt.Sprintf("GitHub still refuses %d item(s); try again later.", len(res.Failed)))
	default:
		var links []string
		for _, it := range res.Filed {
			links = append(links, fmt.Sprintf("item %d → %s", it.ID, ticketLink(*it.Ticket)))
		}
		b.tellUser(ctx, cb.ResponseURL, ":white_check_mark: Filed: "+strings.Join(links, ", "))
	}
}

func (b *Bot) openActionForm(ctx context.Context, n int64, triggerID, responseURL string) {
	text := slack.NewPlainTextInputBlockElement(plainText("What will change, so anyone can tell when it is done"), blockActionText)
	text.MaxLength = playbook.MaxActionText
	owner := slack.NewOptionsSelectBlockElement(slack.OptTypeUser, plainText("One person"), blockActionOwner)
	due := slack.NewDatePickerBlockElement(blockActionDue)
	b.openForm(ctx, n, triggerID, responseURL, actionCallbackID, "Action item", "Record",
		"`"+b.Command+" action <what> @owner due:YYYY-MM-DD`",
		slack.NewInputBlock(blockActionText, plainText("Action"), nil, text),
		slack.NewInputBlock(blockActionOwner, plainText("Owner (exactly one)"), nil, owner),
		slack.NewInputBlock(blockActionDue, plainText("Due"), nil, due))
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
		b.ack(req, slack.NewErrorsViewSubmissionResponse(map[string]string{blockActionText: "This form lost track of its incident; close it."}), received)
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
		block := blockActionText
		msg := playbook.UserMessage(err)
		switch {
		case strings.Contains(msg, "owner") || strings.Contains(msg, "one person"):
			block = blockActionOwner
		case strings.Contains(msg, "deadline") || strings.Contains(msg, "date"):
			block = blockActionDue
		}
		b.ack(req, slack.NewErrorsViewSubmissionResponse(map[string]string{block: templates.Truncate(150, msg)}), received)
		return
	}
	b.ack(req, nil, received)
	if applied {
		b.actionAdded(ctx, inc, item, "")
	}
}

// maxListedActions keeps the /incident actions answer well under Slack's
// 20 KB ack limit.
const maxListedActions = 30

// onActions handles "/incident actions [#N]": the items, their tickets and
// the completion rate.
func (b *Bot) onActions(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) {
	inc, _, ok := b.incidentFor(ctx, req, sc, arg, received)
	if !ok {
		return
	}
	if len(inc.Actions) == 0 {
		b.ack(req, ephemeral(fmt.Sprintf("Incident #%d has no action items yet: `%s action <what will change> @owner due:YYYY-MM-DD`.", inc.Number, b.Command)), received)
		return
	}
	var sb strings.Builder
	st := playbook.CountActions([]playbook.Incident{inc})
	fmt.Fprintf(&sb, "*Action items of incident #%d* · %d of %d done (%d%%)\n", inc.Number, st.Done, st.Total, st.Rate())
	for i, it := range inc.Actions {
		// An ack of 20 KB or more is refused: list the first ones.
		if i == maxListedActions {
			fmt.Fprintf(&sb, "… and %d more.\n", len(inc.Actions)-i)
			break
		}
		state := "no ticket"
		if it.Ticket != nil {
			state = ticketLink(*it.Ticket) + " " + it.Ticket.State
		}
		fmt.Fprintf(&sb, "%d. %s · <@%s> · due %s · %s\n", it.ID, templates.Escape(templates.Truncate(200, it.Text)), it.Owner, it.Due, state)
	}
	b.ack(req, ephemeral(sb.String()), received)
}

// ---- close ----

// onClose handles "/incident close [root cause tag]".
func (b *Bot) onClose(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) {
	inc, rest, ok := b.incidentFor(ctx, req, sc, arg, received)
	if !ok {
		return
	}
	// The close is recorded before the ack, like every change, so an acked
	// close is never lost to a crash; the Slack and GitHub steps follow.
	reply := b.replyFor(ctx, req, received, sc.ResponseURL, sc.UserID)
	inc, applied, err := b.App.Close(ctx, inc.Number, playbook.CloseRequest{Key: "env:" + req.EnvelopeID, Actor: sc.UserID, Tag: Plain(rest)})
	if err != nil {
		reply(playbook.UserMessage(err))
		b.logDomainError("close", sc.UserID, err)
		return
	}
	if !applied {
		reply("")
		return
	}
	reply(fmt.Sprintf("Incident #%d is closed: sharing the post-mortem outline, then archiving the channel.", inc.Number))
	b.finishClose(ctx, inc.Number, false, sc.ResponseURL)
}

func (b *Bot) finishClose(ctx context.Context, n int64, force bool, responseURL string) {
	res, err := b.App.FinishClose(ctx, n, force)
	if err != nil {
		b.log().Error("closing", "incident", n, "err", err)
		b.tellUser(ctx, responseURL, "Klaxon could not record the close steps: "+playbook.UserMessage(err))
		return
	}
	inc := res.Incident
	for _, note := range res.Notes {
		b.tellUser(ctx, responseURL, note)
	}
	if len(res.Failed) == 0 {
		return
	}
	var parts []string
	for step, err := range res.Failed {
		parts = append(parts, fmt.Sprintf("%s (%s)", step, templates.Escape(oneLine(err.Error(), 150))))
	}
	text := fmt.Sprintf(":warning: Incident #%d is closed, but these steps failed: %s. The channel stays open until the outline is in it.", n, strings.Join(parts, "; "))
	if inc.Closure != nil && !inc.Closure.Archived.IsZero() {
		b.tellUser(ctx, responseURL, text)
		return
	}
	btn := slack.NewButtonBlockElement(actionRetryClose, fmt.Sprint(n), plainText("Retry"))
	if _, _, err := b.API.PostMessageContext(ctx, inc.Channel.ID, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(
		slack.NewSectionBlock(mrkdwn(text), nil, nil, slack.SectionBlockOptionBlockID("close_failed")),
		slack.NewActionBlock("close_retry", btn),
	)); err != nil {
		b.tellUser(ctx, responseURL, text)
	}
}

func (b *Bot) onRetryClose(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
	b.ack(req, nil, received)
	n, _, ok := numberValue(act.Value)
	if !ok {
		return
	}
	inc, err := b.App.Store.Get(ctx, n)
	if err != nil {
		return
	}
	b.readGroups(ctx, cb.User.ID, nil) // acked above
	if err := b.App.MayManage(ctx, inc, cb.User.ID, "close"); err != nil {
		b.tellUser(ctx, cb.ResponseURL, playbook.UserMessage(err))
		return
	}
	b.finishClose(ctx, n, true, cb.ResponseURL)
}

// onTag handles "/incident tag [#N] <root cause>".
func (b *Bot) onTag(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) {
	inc, rest, ok := b.incidentFor(ctx, req, sc, arg, received)
	if !ok {
		return
	}
	reply := b.replyFor(ctx, req, received, sc.ResponseURL, sc.UserID)
	inc, _, err := b.App.SetRootCause(ctx, inc.Number, Plain(rest), sc.UserID, "env:"+req.EnvelopeID)
	if err != nil {
		reply(playbook.UserMessage(err))
		b.logDomainError("tag", sc.UserID, err)
		return
	}
	text := fmt.Sprintf(":label: Incident #%d's root cause is tagged `%s`.", inc.Number, inc.RootCause)
	if len(inc.RepeatOf) > 0 {
		refs := make([]string, len(inc.RepeatOf))
		for i, r := range inc.RepeatOf {
			refs[i] = fmt.Sprintf("#%d", r)
		}
		text += " :repeat: It is a repeat of " + strings.Join(refs, ", ") + ": the earlier action items did not prevent it."
	}
	reply(text)
}

// onPostmortem handles "/incident postmortem done [#N] <link>".
func (b *Bot) onPostmortem(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) {
	words := strings.Fields(arg)
	if len(words) == 0 || !strings.EqualFold(words[0], "done") {
		b.ack(req, ephemeral(fmt.Sprintf("Mark the post-mortem written with `%s postmortem done <link>` in the incident's channel, or `%s postmortem done #12 <link>` anywhere.", b.Command, b.Command)), received)
		return
	}
	inc, rest, ok := b.incidentFor(ctx, req, sc, tail(arg, 1), received)
	if !ok {
		return
	}
	link := strings.TrimSpace(rest)
	if m := slackLink.FindStringSubmatch(link); m != nil {
		link = m[1] // Slack sends links as <https://…>
	}
	reply := b.replyFor(ctx, req, received, sc.ResponseURL, sc.UserID)
	_, applied, err := b.App.PostmortemDone(ctx, inc.Number, link, sc.UserID, "env:"+req.EnvelopeID)
	switch {
	case err != nil:
		reply(playbook.UserMessage(err))
		b.logDomainError("post-mortem done", sc.UserID, err)
	case !applied:
		reply("")
	default:
		reply(fmt.Sprintf(":white_check_mark: Post-mortem of incident #%d recorded; no more reminders.", inc.Number))
	}
}
