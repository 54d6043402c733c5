package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

func init() {
	register(feature{
		commands: []subcommand{{Name: "update", Topic: "updates", Forms: []form{
			{Usage: "update <text>", Key: "update"}},
			Handle: func(b *Bot, ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) {
				b.onUpdateCommand(ctx, req, sc, Plain(arg), received)
			}}},
		actions: map[string]actionHandler{actionPostUpdate: (*Bot).onPostUpdateButton},
		views:   map[string]viewHandler{updateCallbackID: (*Bot).onUpdateSubmit},
	})
}

const (
	actionPostUpdate = "klaxon_post_update" // the reminder's "Post update" button
	updateCallbackID = "klaxon_update"
	blockStatus      = "status"
	blockImpact      = "impact"
	blockNextSteps   = "next_steps"
	blockNextUpdate  = "next_update"
)

// nextUpdateChoices are the "next update in" options of the form.
var nextUpdateChoices = []time.Duration{10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour}

// onUpdateCommand handles "/incident update [text]": with text the update
// is recorded, acked and posted; without, the form opens.
func (b *Bot) onUpdateCommand(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, text string, received time.Time) {
	inc, ok := b.incidentHere(ctx, req, sc, received)
	if !ok {
		return
	}
	if text == "" {
		b.ack(req, nil, received)
		b.openUpdateForm(ctx, sc.TriggerID, inc, sc.ResponseURL)
		return
	}
	o, err := b.App.SendUpdate(ctx, inc.Number, playbook.UpdateRequest{Key: "env:" + req.EnvelopeID, Author: sc.UserID, Text: text}, func(o playbook.Outcome) {
		if !o.Applied {
			b.ack(req, ephemeral(b.words("update.duplicate", nil)), received)
			return
		}
		b.ack(req, ephemeral(b.words("update.posting", o)), received)
	})
	switch {
	case err != nil:
		b.ack(req, ephemeral(b.errText(err)), received)
		b.logDomainError("update", sc.UserID, err)
	case o.Unpublished != nil:
		b.tellUser(ctx, sc.ResponseURL, b.errText(o.Unpublished))
	}
}

// openUpdateForm opens the status-update modal for inc.
func (b *Bot) openUpdateForm(ctx context.Context, triggerID string, inc playbook.Incident, responseURL string) {
	if _, err := b.API.OpenViewContext(ctx, triggerID, b.updateView(inc)); err != nil {
		b.log().Error("views.open for the update form failed", "incident", inc.Number, "err", err)
		b.tellUser(ctx, responseURL, b.words("update.form_failed", map[string]any{"Reason": slackReason(b.tmpl(), err), "Command": b.Command}))
	}
}

func (b *Bot) updateView(inc playbook.Incident) slack.ModalViewRequest {
	plain := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
	}
	say := func(name string, data any) *slack.TextBlockObject { return plain(b.words("update.form_"+name, data)) }
	text := func(block, field string, optional bool) *slack.InputBlock {
		el := slack.NewPlainTextInputBlockElement(say(field+"_hint", nil), block)
		el.Multiline = true
		el.MaxLength = playbook.MaxUpdateField
		in := slack.NewInputBlock(block, say(field, nil), nil, el)
		in.Optional = optional
		return in
	}
	tier := b.App.Tier(inc.Severity)
	blocks := []slack.Block{
		text(blockStatus, "status", false),
		text(blockImpact, "impact", true),
		text(blockNextSteps, "next_steps", true),
	}
	// "Next update in" only means something for a tier with a cadence.
	if tier.Updates == playbook.UpdatesPeriodic && tier.UpdateEvery > 0 {
		var opts []*slack.OptionBlockObject
		var initial *slack.OptionBlockObject
		choices := nextUpdateChoices
		if !containsDuration(choices, tier.UpdateEvery) {
			choices = append([]time.Duration{tier.UpdateEvery}, choices...)
		}
		for _, d := range choices {
			o := slack.NewOptionBlockObject(strconv.FormatInt(int64(d/time.Second), 10), say("next_update_choice", map[string]any{"Every": d}), nil)
			opts = append(opts, o)
			if d == tier.UpdateEvery {
				initial = o
			}
		}
		sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, say("next_update", nil), blockNextUpdate, opts...)
		sel.InitialOption = initial
		hint := b.words("update.form_next_update_hint", map[string]any{"Severity": inc.Severity, "Cadence": b.tmpl().Cadence(tier)})
		next := slack.NewInputBlock(blockNextUpdate, say("next_update", nil), plain(templates.Truncate(150, hint)), sel)
		next.Optional = true
		blocks = append(blocks, next)
	}
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      updateCallbackID,
		Title:           plain(templates.Truncate(24, b.words("update.form_title", inc))),
		Submit:          say("submit", nil),
		Close:           plain(b.words("form.cancel", nil)),
		PrivateMetadata: strconv.FormatInt(inc.Number, 10),
		Blocks:          slack.Blocks{BlockSet: blocks},
	}
}

func containsDuration(ds []time.Duration, d time.Duration) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}

// onPostUpdateButton opens the form from a reminder's "Post update" button.
func (b *Bot) onPostUpdateButton(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
	b.ack(req, nil, received)
	n, err := strconv.ParseInt(act.Value, 10, 64)
	if err != nil {
		return
	}
	inc, err := b.App.IncidentFor(ctx, n, playbook.Viewer{User: cb.User.ID, Channel: cb.Channel.ID})
	if err != nil {
		b.log().Warn("Post update button for an unknown incident", "value", act.Value, "err", err)
		return
	}
	b.openUpdateForm(ctx, cb.TriggerID, inc, cb.ResponseURL)
}

func (b *Bot) onUpdateSubmit(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, received time.Time) {
	n, err := strconv.ParseInt(cb.View.PrivateMetadata, 10, 64)
	if err != nil {
		b.ack(req, b.blockErrors(map[string]error{blockStatus: errFormLost}), received)
		return
	}
	get := func(block string) slack.BlockAction { return inputValue(cb, block) }
	var nextIn time.Duration
	if v := get(blockNextUpdate).SelectedOption.Value; v != "" {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs <= 0 {
			b.ack(req, b.formErrors(playbook.Fail(playbook.CodeBadInput, playbook.ReasonNoNextDue, playbook.FieldNextDue, playbook.ErrorArgs{}), blockNextUpdate, nil), received)
			return
		}
		nextIn = time.Duration(secs) * time.Second
	}
	status := strings.TrimSpace(get(blockStatus).Value)
	if status == "" {
		b.ack(req, b.formErrors(playbook.Fail(playbook.CodeBadInput, playbook.ReasonNoStatus, playbook.FieldText, playbook.ErrorArgs{}), blockStatus, nil), received)
		return
	}
	o, err := b.App.SendUpdate(ctx, n, playbook.UpdateRequest{
		Key: "view:" + cb.View.ID, Author: cb.User.ID, Status: status,
		Impact: strings.TrimSpace(get(blockImpact).Value), NextSteps: strings.TrimSpace(get(blockNextSteps).Value), NextIn: nextIn,
	}, func(playbook.Outcome) { b.ack(req, nil, received) })
	switch {
	case err != nil:
		b.ack(req, b.formErrors(err, blockStatus, map[playbook.Field]string{playbook.FieldNextDue: blockNextUpdate}), received)
		b.logDomainError("update", cb.User.ID, err)
	case o.Unpublished != nil:
		// The form is closed by now: the channel is told.
		b.notice(ctx, o.Incident.Channel.ID, b.errText(o.Unpublished))
	}
}

// The Adapter's side: the update posted, and the reminders (with their
// one-click button).

// PostUpdate implements playbook.Poster: the update goes in the incident
// channel and, threaded under the declaration's announcement, in the
// announce channel; both at once.
func (a *Adapter) PostUpdate(ctx context.Context, b playbook.Briefing, u playbook.StatusUpdate) error {
	body, err := a.Templates.Render("update.tmpl", map[string]any{"Incident": b.Incident, "Tier": b.Tier, "Service": b.Service, "Update": u})
	if err != nil {
		return err
	}
	inc := b.Incident
	header := a.say("update.header", map[string]any{"Incident": inc, "Update": u})
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, templates.Truncate(maxHeader, header), true, false)),
	}
	// Four fields of up to 3,000 characters each, escaped: more than one
	// section holds, and nothing a person wrote may be cut.
	for i, part := range splitText(body, maxSectionText) {
		blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, part, false, false), nil, nil, slack.SectionBlockOptionBlockID(fmt.Sprintf("update_%d", i))))
	}
	line := templates.Escape(firstLine(u.Status, u.Text))
	if u.Final != nil { // the all-clear's: its words are the template's, escaped
		if l, err := a.Templates.Render("update.final_status_line", u.Final); err == nil {
			line = firstLine(l)
		}
	}
	fallback := templates.Truncate(300, header+": "+line)
	var wg sync.WaitGroup
	var errChan, errAnn error
	if inc.Channel.ID != "" { // none when Slack refused to create it
		wg.Go(func() { _, errChan = a.post(ctx, inc.Channel.ID, fallback, blocks) })
	}
	// A private incident's updates stay in its channel.
	if !inc.Announcement.Zero() && !inc.Private {
		wg.Go(func() {
			_, _, errAnn = a.postMessage(ctx, inc.Announcement.Channel, inc.Announcement.TS, slack.MsgOptionText(fallback, false),
				slack.MsgOptionBlocks(blocks...), slack.MsgOptionTS(inc.Announcement.TS))
		})
	}
	wg.Wait()
	if errChan != nil {
		return errChan
	}
	if errAnn != nil {
		return fmt.Errorf("chat.postMessage in the announcement thread: %w", errAnn)
	}
	return nil
}

func firstLine(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			line, _, _ := strings.Cut(s, "\n")
			return line
		}
	}
	return ""
}

// Nudge implements playbook.Poster: a reminder in the incident channel, with
// a one-click "Post update" button when an update is what is missing.
func (a *Adapter) Nudge(ctx context.Context, b playbook.Briefing, n playbook.Nudge) error {
	text, err := a.Templates.Render("nudge.tmpl", map[string]any{"Incident": b.Incident, "Tier": b.Tier, "Service": b.Service, "Nudge": n, "Who": mention(n.Mention)})
	if err != nil {
		return err
	}
	blocks := []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, templates.Truncate(maxSectionText, text), false, false), nil, nil, slack.SectionBlockOptionBlockID("nudge")),
	}
	switch n.Kind {
	case playbook.NudgePostmortem:
	case playbook.NudgeScope:
		btn := slack.NewButtonBlockElement(actionOpenScope, fmt.Sprint(b.Incident.Number), plainText(a.say("triage.scope_button", nil)))
		btn.Style = slack.StylePrimary
		blocks = append(blocks, slack.NewActionBlock("nudge_actions", btn))
	default:
		btn := slack.NewButtonBlockElement(actionPostUpdate, fmt.Sprint(b.Incident.Number), plainText(a.say("update.post_button", nil)))
		btn.Style = slack.StylePrimary
		blocks = append(blocks, slack.NewActionBlock("nudge_actions", btn))
	}
	channel := b.Incident.Channel.ID
	if c := b.Incident.Closure; channel == "" || (c != nil && !c.Archived.IsZero()) {
		// An archived channel (or none: Slack refused to make it) takes
		// no posts: remind the commander (or the declarer) directly.
		to := b.Incident.Commander
		if to == "" {
			to = b.Incident.Declarer
		}
		if channel, err = a.DirectChannel(ctx, to); err != nil {
			return err
		}
	}
	// The fallback text carries the mentions so they notify.
	_, err = a.post(ctx, channel, templates.Truncate(3000, text), blocks)
	return err
}
