package bot

import (
	"context"
	"errors"
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
			{Name: "ic", Topic: "triage", Handle: (*Bot).onIC, Forms: []form{
				{Usage: "ic [@someone]", Key: "ic"}}},
			{Name: "sev", Aliases: []string{"severity"}, Topic: "triage", Handle: (*Bot).onSev, Forms: []form{
				{Usage: "sev <1-4> [reason]", Key: "sev"}}},
			{Name: "status", Topic: "triage", Forms: []form{
				{Usage: "status", Key: "status"}},
				Handle: func(b *Bot, ctx context.Context, req socketmode.Request, sc slack.SlashCommand, _ string, received time.Time) {
					b.onStatus(ctx, req, sc, received)
				}},
			{Name: "note", Topic: "triage", Handle: (*Bot).onNote, Forms: []form{
				{Usage: "note <text>", Key: "note"}}},
		},
		actions: map[string]actionHandler{
			actionTakeIC:        (*Bot).onTakeICButton,
			actionCheck:         (*Bot).onCheck,
			actionOpenScope:     (*Bot).onOpenScope,
			actionScopeToUpdate: (*Bot).onScopeToUpdate,
			actionRetrySetup:    (*Bot).onRetrySetup,
		},
		views:     map[string]viewHandler{scopeCallbackID: (*Bot).onScopeSubmit},
		shortcuts: []shortcutRoute{{CallbackID: shortcutAddTimeline, Handle: (*Bot).onAddToTimeline}},
	})
}

// Interaction IDs of the triage messages.
const (
	actionTakeIC        = "klaxon_ic_take"
	actionOpenScope     = "klaxon_scope_open"
	actionCheck         = "klaxon_check"
	actionScopeToUpdate = "klaxon_scope_to_update"
	actionRetrySetup    = "klaxon_retry_setup"
	scopeCallbackID     = "klaxon_scope"
	shortcutAddTimeline = "klaxon_add_to_timeline"
	blockWhatBroke      = "what_broke"
	blockWhoAffected    = "who_affected"
	blockBlastRadius    = "blast_radius"
	blockScopeSeverity  = "scope_severity"
)

func plainText(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, templates.Truncate(maxSectionText, s), false, false)
}

// introBlocks renders the intro from the incident, so a commander change
// re-renders it the same way.
func (a *Adapter) introBlocks(b playbook.Briefing) ([]slack.Block, string, error) {
	body, err := a.Templates.Render("intro.tmpl", b)
	if err != nil {
		return nil, "", err
	}
	inc := b.Incident
	header := a.say("triage.intro_header", inc)
	btn := slack.NewButtonBlockElement(actionTakeIC, strconv.FormatInt(inc.Number, 10), plainText(a.say("triage.take_ic", inc)))
	if inc.Commander == "" {
		btn.Style = slack.StylePrimary
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, templates.Truncate(maxHeader, header), true, false)),
		slack.NewSectionBlock(mrkdwn(body), nil, nil, slack.SectionBlockOptionBlockID("intro")),
	}
	if inc.Status.Open() {
		blocks = append(blocks, slack.NewActionBlock("intro_actions", btn))
	}
	fallback := templates.Truncate(300, a.say("triage.intro_fallback", inc))
	return blocks, fallback, nil
}

// RenderChecklist renders the triage checklist of inc with the templates
// of set (the items' labels: label.checklist.<item>). It reads only the
// stored incident, so the message is identical after a restart.
func RenderChecklist(set *templates.Set, inc playbook.Incident) []slack.Block {
	say := func(name string, data any) string { text, _ := set.Render(name, data); return text }
	done := 0
	blocks := []slack.Block{
		slack.NewSectionBlock(mrkdwn(say("triage.checklist_head", inc.Number)), nil, nil, slack.SectionBlockOptionBlockID("checklist_head")),
	}
	n := strconv.FormatInt(inc.Number, 10)
	for _, it := range playbook.Checklist {
		chk, on := inc.Checked[it]
		state := "on"
		if on {
			done++
			state = "off"
		}
		d := map[string]any{"Item": it, "Label": set.Label("checklist", it), "On": on, "Klaxon": chk.By == playbook.ActorKlaxon, "By": chk.By, "At": chk.At}
		btn := slack.NewButtonBlockElement(actionCheck, n+":"+string(it)+":"+state, plainText(say("triage.checklist_button", d)))
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(say("triage.checklist_item", d)), nil, slack.NewAccessory(btn), slack.SectionBlockOptionBlockID("check_"+string(it))))
	}
	progress := say("triage.checklist_progress", map[string]any{"Done": done, "Total": len(playbook.Checklist)})
	blocks = append(blocks, slack.NewContextBlock("checklist_progress", plainText(progress)))
	return blocks
}

func (a *Adapter) scopeCallBlocks(inc playbook.Incident) []slack.Block {
	if inc.Scope != nil {
		return []slack.Block{slack.NewSectionBlock(mrkdwn(a.say("triage.scope_call", inc)), nil, nil, slack.SectionBlockOptionBlockID("scope_call"))}
	}
	btn := slack.NewButtonBlockElement(actionOpenScope, strconv.FormatInt(inc.Number, 10), plainText(a.say("triage.scope_button", nil)))
	btn.Style = slack.StylePrimary
	return []slack.Block{
		slack.NewSectionBlock(mrkdwn(a.say("triage.scope_call", inc)), nil, nil, slack.SectionBlockOptionBlockID("scope_call")),
		slack.NewActionBlock("scope_actions", btn),
	}
}

// PostScopeCall implements playbook.Triage.
func (a *Adapter) PostScopeCall(ctx context.Context, b playbook.Briefing) (playbook.MessageRef, error) {
	return a.post(ctx, b.Incident.Channel.ID, a.say("triage.scope_fallback", nil), a.scopeCallBlocks(b.Incident))
}

// PostChecklist implements playbook.Triage.
func (a *Adapter) PostChecklist(ctx context.Context, b playbook.Briefing) (playbook.MessageRef, error) {
	return a.post(ctx, b.Incident.Channel.ID, a.say("triage.checklist_fallback", b.Incident.Number), RenderChecklist(a.Templates, b.Incident))
}

// Refresh implements playbook.Triage: the intro, the scope call and the
// checklist are edited in place (chat.update) from the stored incident.
func (a *Adapter) Refresh(ctx context.Context, b playbook.Briefing, what playbook.Parts) error {
	inc := b.Incident
	var introBlocks, annBlocks []slack.Block
	var introText, annText string
	if what.Has(playbook.PartIntro) {
		var err error
		if introBlocks, introText, err = a.introBlocks(b); err != nil {
			return err
		}
	}
	if what.Has(playbook.PartAnnouncement) {
		var err error
		if annBlocks, annText, err = a.announceBlocks(b); err != nil {
			return err
		}
	}
	var errs []error
	// Usually one part changed; the edits run one after the other.
	for _, m := range []struct {
		part   playbook.Parts
		name   string
		ref    playbook.MessageRef
		text   string
		blocks []slack.Block
	}{
		{playbook.PartIntro, "intro", inc.Intro, introText, introBlocks},
		{playbook.PartAnnouncement, "announcement", inc.Announcement, annText, annBlocks},
		{playbook.PartScope, "scope call", inc.ScopeMsg, a.say("triage.scope_refresh_fallback", nil), a.scopeCallBlocks(inc)},
		{playbook.PartChecklist, "checklist", inc.ChecklistMsg, a.say("triage.checklist_fallback", inc.Number), RenderChecklist(a.Templates, inc)},
		{playbook.PartGates, "verification gates", inc.GatesMsg, a.say("gates.fallback", inc), renderGates(a.Templates, inc, a.Clock.Now())},
	} {
		if m.ref.Zero() || !what.Has(m.part) {
			continue
		}
		if _, _, _, err := a.API.UpdateMessageContext(ctx, m.ref.Channel, m.ref.TS, slack.MsgOptionText(m.text, false), slack.MsgOptionBlocks(m.blocks...)); err != nil {
			errs = append(errs, fmt.Errorf("chat.update of the %s: %w", m.name, err))
		}
	}
	return errors.Join(errs...)
}

// PostScopeSummary implements playbook.Triage: the answers, and a button to
// send them as the first status update.
func (a *Adapter) PostScopeSummary(ctx context.Context, b playbook.Briefing) error {
	inc := b.Incident
	sc := inc.Scope
	if sc == nil {
		return nil
	}
	btn := slack.NewButtonBlockElement(actionScopeToUpdate, strconv.FormatInt(inc.Number, 10), plainText(a.say("triage.scope_to_update_button", nil)))
	blocks := []slack.Block{
		slack.NewSectionBlock(mrkdwn(a.say("triage.scope_summary_head", sc)), nil, nil, slack.SectionBlockOptionBlockID("scope_head")),
	}
	// An answer may be 3,000 characters before escaping: it takes as many
	// sections as it needs rather than losing its end.
	for _, q := range []struct{ id, question, text string }{
		{"scope_what", "what", sc.WhatBroke},
		{"scope_who", "who", sc.WhoAffected},
		{"scope_radius", "radius", sc.BlastRadius},
	} {
		text := a.say("triage.scope_answer", map[string]any{"Question": q.question, "Answer": q.text, "Answered": strings.TrimSpace(q.text) != ""})
		for i, part := range splitText(text, maxSectionText) {
			blocks = append(blocks, slack.NewSectionBlock(mrkdwn(part), nil, nil, slack.SectionBlockOptionBlockID(fmt.Sprintf("%s_%d", q.id, i))))
		}
	}
	blocks = append(blocks, slack.NewActionBlock("scope_summary_actions", btn))
	_, err := a.post(ctx, inc.Channel.ID, templates.Truncate(300, a.say("triage.scope_summary_fallback", sc)), blocks)
	return err
}

// AnnounceSeverityChange implements playbook.Triage.
func (a *Adapter) AnnounceSeverityChange(ctx context.Context, b playbook.Briefing, ch playbook.SeverityChange) error {
	inc := b.Incident
	text := a.say("triage.severity_announce", map[string]any{"Incident": inc, "Change": ch})
	opts := []slack.MsgOption{slack.MsgOptionText(templates.Truncate(3000, text), false)}
	thread := ""
	if !inc.Announcement.Zero() {
		thread = inc.Announcement.TS
		// In the announcement's thread; shown in the channel too, except
		// for a private incident, which stays discreet.
		opts = append(opts, slack.MsgOptionTS(inc.Announcement.TS))
		if !inc.Private {
			opts = append(opts, slack.MsgOptionBroadcast())
		}
	}
	_, _, err := a.postMessage(ctx, a.AnnounceChannel, thread, opts...)
	if err != nil {
		return fmt.Errorf("chat.postMessage (severity change): %w", err)
	}
	return nil
}

// PostSetupFailure implements playbook.Triage.
func (a *Adapter) PostSetupFailure(ctx context.Context, channelID string, n playbook.Notice) error {
	text, err := a.Templates.RenderNotice(n)
	if err != nil {
		return err
	}
	btn := slack.NewButtonBlockElement(actionRetrySetup, strconv.FormatInt(n.Incident, 10), plainText(a.say("triage.retry_button", nil)))
	blocks := []slack.Block{
		slack.NewSectionBlock(mrkdwn(a.say("triage.setup_failure", text)), nil, nil, slack.SectionBlockOptionBlockID("setup_failure")),
		slack.NewActionBlock("setup_failure_actions", btn),
	}
	_, err = a.post(ctx, channelID, templates.Truncate(3000, text), blocks)
	return err
}

// onRetrySetup retries the failed declaration steps.
func (b *Bot) onRetrySetup(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
	b.ack(req, nil, received)
	n, err := strconv.ParseInt(act.Value, 10, 64)
	if err != nil {
		return
	}
	res, err := b.App.RetrySetUp(ctx, n, cb.User.ID, "act:"+act.ActionTs+":"+cb.User.ID)
	switch {
	case err != nil:
		b.tellUser(ctx, cb.ResponseURL, b.words("triage.retry_failed", map[string]any{"Error": b.errText(err)}))
	case len(res.Failed) == 0 && res.Incident.Ready():
		b.tellUser(ctx, cb.ResponseURL, b.words("triage.set_up", n))
	}
}

// Rename implements playbook.Channels.
func (a *Adapter) Rename(ctx context.Context, channelID, name string) error {
	_, err := a.API.RenameConversationContext(ctx, channelID, name)
	if isSlackError(err, "name_taken") {
		return fmt.Errorf("conversations.rename %s: %w", name, playbook.ErrNameTaken)
	}
	if err != nil {
		return fmt.Errorf("conversations.rename: %w", err)
	}
	return nil
}

// ---- handlers ----

// onIC handles "/incident ic [@user]": take the role, or hand it over.
func (b *Bot) onIC(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) {
	inc, ok := b.incidentHere(ctx, req, sc, received)
	if !ok {
		return
	}
	user := sc.UserID
	if arg = strings.TrimSpace(arg); arg != "" {
		u, ok := MentionedUser(strings.Fields(arg)[0])
		if !ok {
			b.ack(req, ephemeral(b.words("triage.ic_usage", map[string]any{"Command": b.Command})), received)
			return
		}
		user = u
	}
	b.assignCommander(ctx, req, inc.Number, user, sc.UserID, "env:"+req.EnvelopeID, received, false, sc.ResponseURL)
}

// assignCommander records the new commander, then answers: in the slash
// command's ack, or (for the button, whose ack carries no message) through
// the click's response_url when something went wrong.
// onTakeICButton: "I'll be IC" under the intro.
func (b *Bot) onTakeICButton(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
	n, err := strconv.ParseInt(act.Value, 10, 64)
	if err != nil {
		b.ack(req, nil, received)
		return
	}
	b.assignCommander(ctx, req, n, cb.User.ID, cb.User.ID, "act:"+act.ActionTs+":"+cb.User.ID, received, true, cb.ResponseURL)
}

func (b *Bot) assignCommander(ctx context.Context, req socketmode.Request, n int64, user, actor, key string, received time.Time, button bool, responseURL string) {
	var reply func(string)
	if button {
		// A click's ack carries no message: it comes first when the
		// groups must be read, else right after the decision.
		acked := b.readGroups(ctx, actor, func() { b.ack(req, nil, received) })
		reply = func(string) {
			if !acked {
				b.ack(req, nil, received)
			}
		}
	} else {
		reply = b.replyFor(ctx, req, received, responseURL, actor)
	}
	_, err := b.App.SetCommander(ctx, playbook.CommanderRequest{N: n, User: user, Actor: actor, Key: key}, func(o playbook.Outcome) {
		if !o.Applied {
			reply(b.words("triage.ic_same", map[string]any{"User": user, "Incident": o.Incident.Number}))
			return
		}
		reply(b.words("triage.ic_now", map[string]any{"User": user, "Incident": o.Incident.Number}))
	})
	if err != nil {
		reply(b.errText(err))
		if button {
			b.tellUser(ctx, responseURL, b.errText(err))
		}
		b.logDomainError("commander", actor, err)
	}
}

// onSev handles "/incident sev <1-4> [reason]".
func (b *Bot) onSev(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) {
	inc, ok := b.incidentHere(ctx, req, sc, received)
	if !ok {
		return
	}
	words := strings.Fields(arg)
	if len(words) == 0 {
		b.ack(req, ephemeral(b.words("triage.sev_usage", map[string]any{"Incident": inc, "Command": b.Command})), received)
		return
	}
	sev, err := playbook.ParseSeverity(words[0])
	if err != nil {
		b.ack(req, ephemeral(b.errText(err)), received)
		return
	}
	reason := Plain(tail(arg, 1))
	reply := b.replyFor(ctx, req, received, sc.ResponseURL, sc.UserID)
	o, err := b.App.SetSeverity(ctx, playbook.SeverityRequest{N: inc.Number, To: sev, Actor: sc.UserID, Reason: reason, Key: "env:" + req.EnvelopeID}, func(o playbook.Outcome) {
		if !o.Applied {
			reply(b.words("triage.sev_same", o.Incident))
			return
		}
		reply(b.words("triage.sev_changed", o))
	})
	if err != nil {
		reply(b.errText(err))
		b.logDomainError("severity", sc.UserID, err)
		return
	}
	b.severityUnpublished(ctx, o)
}

// severityUnpublished tells the channel what a recorded severity change
// could not tell Slack.
func (b *Bot) severityUnpublished(ctx context.Context, o playbook.Outcome) {
	if o.Unpublished != nil {
		b.notice(ctx, o.Incident.Channel.ID, b.words("triage.sev_unpublished", map[string]any{"Change": o.Change, "Reason": slackReason(b.tmpl(), o.Unpublished)}))
	}
}

// onStatus handles "/incident status": an ephemeral summary.
func (b *Bot) onStatus(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, received time.Time) {
	inc, ok := b.incidentHere(ctx, req, sc, received)
	if !ok {
		return
	}
	b.ack(req, ephemeral(b.words("triage.status", map[string]any{
		"Incident": inc, "Command": b.Command, "Ack": b.ackLine(inc), "Phase": inc.CurrentPhase(),
		"Cadence": b.tmpl().Cadence(b.App.Tier(inc.Severity)), "Phases": inc.PhaseProgress(b.App.Now()),
		"Detection": playbook.DetectionSummary(inc.DetectionSteps()), "Done": len(inc.Checked), "Total": len(playbook.Checklist),
	})), received)
}

// onNote handles "/incident note <text>".
func (b *Bot) onNote(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, text string, received time.Time) {
	inc, ok := b.incidentHere(ctx, req, sc, received)
	if !ok {
		return
	}
	_, applied, err := b.App.AddNote(ctx, inc.Number, sc.UserID, Plain(text), time.Time{}, "env:"+req.EnvelopeID)
	switch {
	case err != nil:
		b.ack(req, ephemeral(b.errText(err)), received)
	case !applied:
		b.ack(req, ephemeral(b.words("triage.note_duplicate", nil)), received)
	default:
		b.ack(req, ephemeral(b.words("triage.note_added", map[string]any{"Incident": inc.Number})), received)
	}
}

// onAddToTimeline handles the message shortcut: the message joins the
// timeline with its original time and author.
func (b *Bot) onAddToTimeline(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, received time.Time) {
	b.ack(req, nil, received)
	tell := func(text string) { b.tellUser(ctx, cb.ResponseURL, text) }
	inc, err := b.App.IncidentIn(ctx, cb.Channel.ID)
	if err != nil {
		tell(b.words("triage.timeline_not_incident", nil))
		return
	}
	at := tsToTime(cb.Message.Timestamp)
	author := cb.Message.User
	if author == "" {
		author = cb.User.ID
	}
	text := Plain(cb.Message.Text)
	if strings.TrimSpace(text) == "" {
		text = b.words("triage.timeline_no_text", nil)
	}
	_, applied, err := b.App.AddNote(ctx, inc.Number, author, templates.Truncate(playbook.MaxUpdateField, text), at, "msg:"+cb.Channel.ID+":"+cb.Message.Timestamp)
	switch {
	case err != nil:
		tell(b.errText(err))
	case !applied:
		tell(b.words("triage.timeline_duplicate", nil))
	default:
		tell(b.words("triage.note_added", map[string]any{"Incident": inc.Number, "Original": true}))
	}
}

// tsToTime reads a Slack message timestamp.
func tsToTime(ts string) time.Time {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}
	}
	us, _ := strconv.ParseInt((frac + "000000")[:6], 10, 64)
	return time.Unix(s, us*1000).UTC()
}

// onCheck handles a checklist button: value "n:item:on|off" carries the
// wanted state, so a double click sets it once.
//
// The click is recorded before the ack (a bbolt write, milliseconds), so an
// acknowledged click is never lost to a crash.
func (b *Bot) onCheck(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
	parts := strings.Split(act.Value, ":")
	n, err := strconv.ParseInt(parts[0], 10, 64)
	if len(parts) != 3 || err != nil {
		b.ack(req, nil, received)
		return
	}
	_, err = b.App.CheckItem(ctx, playbook.ItemRequest{N: n, Item: playbook.Item(parts[1]), On: parts[2] == "on", Actor: cb.User.ID, Key: "act:" + act.ActionTs + ":" + cb.User.ID},
		func(playbook.Outcome) { b.ack(req, nil, received) })
	if err != nil {
		b.ack(req, nil, received)
		b.logDomainError("checklist", cb.User.ID, err)
		b.tellUser(ctx, cb.ResponseURL, b.errText(err))
	}
}

// onOpenScope opens the scope-call form.
func (b *Bot) onOpenScope(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
	b.ack(req, nil, received)
	n, err := strconv.ParseInt(act.Value, 10, 64)
	if err != nil {
		return
	}
	inc, err := b.App.IncidentFor(ctx, n, playbook.Viewer{User: cb.User.ID, Channel: cb.Channel.ID})
	if err != nil {
		return
	}
	if _, err := b.API.OpenViewContext(ctx, cb.TriggerID, b.scopeView(inc)); err != nil {
		b.log().Error("views.open for the scope call failed", "incident", n, "err", err)
		b.tellUser(ctx, cb.ResponseURL, b.words("triage.scope_open_failed", map[string]any{"Reason": slackReason(b.tmpl(), err)}))
	}
}

func (b *Bot) scopeView(inc playbook.Incident) slack.ModalViewRequest {
	question := func(block, label, hint string) *slack.InputBlock {
		el := slack.NewPlainTextInputBlockElement(plainText(hint), block)
		el.Multiline = true
		el.MaxLength = playbook.MaxScopeAnswer
		if inc.Scope != nil {
			switch block {
			case blockWhatBroke:
				el.InitialValue = inc.Scope.WhatBroke
			case blockWhoAffected:
				el.InitialValue = inc.Scope.WhoAffected
			case blockBlastRadius:
				el.InitialValue = inc.Scope.BlastRadius
			}
		}
		in := slack.NewInputBlock(block, plainText(label), nil, el)
		in.Optional = true
		return in
	}
	var opts []*slack.OptionBlockObject
	var initial *slack.OptionBlockObject
	for _, s := range playbook.Severities {
		o := slack.NewOptionBlockObject(s.String(), plainText(templates.Truncate(75, s.String()+": "+b.Templates.Impact(b.App.Tier(s)))), nil)
		opts = append(opts, o)
		if s == inc.Severity {
			initial = o
		}
	}
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plainText(b.words("triage.scope_form_severity", nil)), blockScopeSeverity, opts...)
	sel.InitialOption = initial
	return slack.ModalViewRequest{
		Type:       slack.VTModal,
		CallbackID: scopeCallbackID,
		Title:      plainText(templates.Truncate(24, b.words("triage.scope_form_title", inc))),
		Submit:     plainText(b.words("triage.scope_form_submit", nil)),
		Close:      plainText(b.words("form.cancel", nil)),
		// The severity shown when the form opened: only a change of the
		// select changes the incident (someone may have run /incident sev
		// while this form was open).
		PrivateMetadata: strconv.FormatInt(inc.Number, 10) + ":" + inc.Severity.String(),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			question(blockWhatBroke, b.words("triage.scope_form_what", nil), b.words("triage.scope_form_what_hint", nil)),
			question(blockWhoAffected, b.words("triage.scope_form_who", nil), b.words("triage.scope_form_who_hint", nil)),
			question(blockBlastRadius, b.words("triage.scope_form_radius", nil), b.words("triage.scope_form_radius_hint", nil)),
			slack.NewInputBlock(blockScopeSeverity, plainText(b.words("triage.scope_form_severity", nil)), plainText(b.words("triage.scope_form_severity_hint", nil)), sel),
		}},
	}
}

func (b *Bot) onScopeSubmit(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, received time.Time) {
	num, opened, _ := strings.Cut(cb.View.PrivateMetadata, ":")
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		b.ack(req, b.blockErrors(map[string]error{blockWhatBroke: errFormLost}), received)
		return
	}
	get := func(block string) slack.BlockAction { return inputValue(cb, block) }
	sev, sevErr := playbook.ParseSeverity(get(blockScopeSeverity).SelectedOption.Value)
	if sevErr != nil {
		b.ack(req, b.formErrors(playbook.Fail(playbook.CodeBadSeverity, playbook.ReasonDeclareSeverity, playbook.FieldSeverity, playbook.ErrorArgs{}), blockScopeSeverity, nil), received)
		return
	}
	// Only a change of the form's select changes the severity.
	var to playbook.Severity
	if sev.String() != opened {
		to = sev
	}
	o, err := b.App.SubmitScope(ctx, n, playbook.ScopeRequest{
		Key: "view:" + cb.View.ID, By: cb.User.ID,
		WhatBroke: strings.TrimSpace(get(blockWhatBroke).Value), WhoAffected: strings.TrimSpace(get(blockWhoAffected).Value),
		BlastRadius: strings.TrimSpace(get(blockBlastRadius).Value),
	}, to, "view:"+cb.View.ID+":severity", func(o playbook.Outcome) {
		b.ack(req, nil, received)
		if o.Applied && to != 0 && to != o.Incident.Severity {
			b.readGroups(ctx, cb.User.ID, nil) // acked above, before the severity is decided
		}
	})
	if err != nil {
		b.ack(req, b.formErrors(err, blockWhatBroke, map[playbook.Field]string{playbook.FieldSeverity: blockScopeSeverity}), received)
		return
	}
	switch {
	case playbook.ErrorCode(o.SeverityErr) == playbook.CodeForbidden:
		// The form is closed by now: a refusal is said in the channel.
		b.notice(ctx, o.Incident.Channel.ID, b.words("triage.scope_severity_refused", map[string]any{"User": cb.User.ID, "Severity": o.Incident.Severity, "Error": b.errText(o.SeverityErr)}))
	case o.SeverityErr != nil:
		b.logDomainError("severity", cb.User.ID, o.SeverityErr)
	default:
		b.severityUnpublished(ctx, o.Severity)
	}
}

// onScopeToUpdate posts the scope summary as a status update.
func (b *Bot) onScopeToUpdate(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
	n, err := strconv.ParseInt(act.Value, 10, 64)
	if err != nil {
		b.ack(req, nil, received)
		return
	}
	inc, err := b.App.IncidentFor(ctx, n, playbook.Viewer{User: cb.User.ID, Channel: cb.Channel.ID})
	if err != nil || inc.Scope == nil {
		b.ack(req, nil, received)
		return
	}
	// The scope message's button makes one update, however often clicked.
	// Each answer keeps its own field, so none exceeds a field's limit.
	// Recorded before the ack, posted after.
	o, err := b.App.SendUpdate(ctx, n, playbook.UpdateRequest{Key: "scope-update:" + strconv.FormatInt(n, 10) + ":" + inc.Scope.At.String(), Author: cb.User.ID,
		Status: firstNonEmpty(inc.Scope.WhatBroke, b.words("triage.scope_update_status", nil)), Impact: inc.Scope.WhoAffected, Text: inc.Scope.BlastRadius},
		func(playbook.Outcome) { b.ack(req, nil, received) })
	if err != nil {
		b.ack(req, nil, received)
		b.tellUser(ctx, cb.ResponseURL, b.errText(err))
		return
	}
	if o.Unpublished != nil {
		b.tellUser(ctx, cb.ResponseURL, b.errText(o.Unpublished))
	}
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}
