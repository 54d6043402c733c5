package bot

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

const (
	declareCallbackID = "klaxon_declare"
	blockTitle        = "title"
	blockSeverity     = "severity"
	blockService      = "service"
	blockPrivate      = "private"
	blockStarted      = "started"
	maxSelectOptions  = 100
	maxTitleInput     = 3000 // Slack's limit for plain_text_input
)

// formMeta travels in the modal's private_metadata (≤ 3000 characters).
type formMeta struct {
	Origin      string `json:"o,omitempty"`
	ResponseURL string `json:"r,omitempty"`
}

// openDeclareForm opens the declaration modal. It runs right after the ack:
// the trigger_id dies 3 s after Slack sent it.
func (b *Bot) openDeclareForm(ctx context.Context, sc slack.SlashCommand, cmd Command) {
	sev := cmd.Severity
	if !sev.Valid() {
		sev = b.defaultSeverity()
	}
	meta, _ := json.Marshal(formMeta{Origin: sc.ChannelID, ResponseURL: sc.ResponseURL})
	if len(meta) > 3000 {
		meta, _ = json.Marshal(formMeta{Origin: sc.ChannelID})
	}
	view := b.declareView(sev, cmd.Service, string(meta))
	if _, err := b.API.OpenViewContext(ctx, sc.TriggerID, view); err != nil {
		b.log().Error("views.open for the declaration form failed", "user", sc.UserID, "err", err)
		b.tellUser(ctx, sc.ResponseURL, b.words("declare.form_failed", map[string]any{"Reason": slackReason(b.tmpl(), err), "Command": b.Command}))
	}
}

func (b *Bot) declareView(sev playbook.Severity, service, meta string) slack.ModalViewRequest {
	plain := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
	}
	say := func(name string) *slack.TextBlockObject { return plain(b.words("declare."+name, nil)) }

	titleInput := slack.NewPlainTextInputBlockElement(say("form_title_hint"), blockTitle)
	titleInput.MaxLength = maxTitleInput

	var sevOptions []*slack.OptionBlockObject
	var initial *slack.OptionBlockObject
	for _, s := range playbook.Severities {
		t := b.App.Tier(s)
		o := slack.NewOptionBlockObject(s.String(), plain(templates.Truncate(75, s.String()+": "+b.Templates.Impact(t))), nil)
		sevOptions = append(sevOptions, o)
		if s == sev {
			initial = o
		}
	}
	sevSelect := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, say("form_severity"), blockSeverity, sevOptions...)
	sevSelect.InitialOption = initial

	blocks := []slack.Block{
		slack.NewInputBlock(blockTitle, say("form_title_label"), nil, titleInput),
		slack.NewInputBlock(blockSeverity, say("form_severity"), nil, sevSelect),
	}
	if len(b.App.Services()) > 0 {
		var opts []*slack.OptionBlockObject
		var initialSvc *slack.OptionBlockObject
		for i, s := range b.App.Services() {
			if i == maxSelectOptions {
				break
			}
			o := slack.NewOptionBlockObject(s.Name, plain(templates.Truncate(75, s.Name)), nil)
			opts = append(opts, o)
			if strings.EqualFold(s.Name, service) {
				initialSvc = o
			}
		}
		svcSelect := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, say("form_service"), blockService, opts...)
		svcSelect.InitialOption = initialSvc
		in := slack.NewInputBlock(blockService, say("form_service"), say("form_service_hint"), svcSelect)
		in.Optional = true
		blocks = append(blocks, in)
	}
	priv := slack.NewCheckboxGroupsBlockElement(blockPrivate,
		slack.NewOptionBlockObject("private", say("form_private"), say("form_private_hint")))
	privIn := slack.NewInputBlock(blockPrivate, say("form_visibility"), nil, priv)
	privIn.Optional = true
	started := slack.NewPlainTextInputBlockElement(say("form_started_placeholder"), blockStarted)
	started.MaxLength = 25
	startedIn := slack.NewInputBlock(blockStarted, say("form_started"), say("form_started_hint"), started)
	startedIn.Optional = true
	blocks = append(blocks, privIn, startedIn)
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      declareCallbackID,
		Title:           say("form_title"),
		Submit:          say("form_submit"),
		Close:           plain(b.words("form.cancel", nil)),
		PrivateMetadata: meta,
		Blocks:          slack.Blocks{BlockSet: blocks},
	}
}

// declareSubmission is a declaration form as submitted.
type declareSubmission struct {
	Title    string
	Severity playbook.Severity
	Service  string
	Private  bool
	// Started is the "impact started at" field as typed ("" when empty).
	Started string
	Meta    formMeta
}

// decodeDeclareSubmission reads the declaration form; errs holds, per input
// block, what to tell the person. It is pure (and fuzzed): anything Slack or
// an attacker sends gives an answer, never a panic.
func decodeDeclareSubmission(cb slack.InteractionCallback, isService func(string) bool) (declareSubmission, map[string]error) {
	get := func(block string) slack.BlockAction { return inputValue(cb, block) }
	var d declareSubmission
	d.Title = strings.TrimSpace(get(blockTitle).Value)
	sev, sevErr := playbook.ParseSeverity(get(blockSeverity).SelectedOption.Value)
	d.Severity = sev
	d.Service = get(blockService).SelectedOption.Value
	d.Started = strings.TrimSpace(get(blockStarted).Value)
	for _, o := range get(blockPrivate).SelectedOptions {
		d.Private = d.Private || o.Value == "private"
	}
	_ = json.Unmarshal([]byte(cb.View.PrivateMetadata), &d.Meta) // a bad one only loses the follow-up

	errs := map[string]error{}
	if d.Title == "" {
		errs[blockTitle] = playbook.Fail(playbook.CodeBadInput, playbook.ReasonNoTitle, playbook.FieldTitle, playbook.ErrorArgs{})
	} else if n := len([]rune(d.Title)); n > maxTitleInput {
		errs[blockTitle] = playbook.Fail(playbook.CodeBadInput, playbook.ReasonTitleTooLong, playbook.FieldTitle, playbook.ErrorArgs{Length: n, Limit: maxTitleInput})
	}
	if sevErr != nil {
		errs[blockSeverity] = playbook.Fail(playbook.CodeBadSeverity, playbook.ReasonDeclareSeverity, playbook.FieldSeverity, playbook.ErrorArgs{})
	}
	if d.Service != "" && !isService(d.Service) {
		errs[blockService] = playbook.Fail(playbook.CodeBadInput, playbook.ReasonServiceNotListed, playbook.FieldService, playbook.ErrorArgs{})
	}
	return d, errs
}

func (b *Bot) onDeclareSubmit(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, received time.Time) {
	d, errs := decodeDeclareSubmission(cb, func(s string) bool { _, ok := b.App.Service(s); return ok })
	if len(errs) > 0 {
		b.ack(req, b.blockErrors(errs), received)
		return
	}
	var started time.Time
	if d.Started != "" {
		var err error
		if started, err = playbook.ParseStarted(d.Started, b.App.Now()); err != nil {
			b.ack(req, b.formErrors(err, blockStarted, nil), received)
			return
		}
	}
	title, sev, service, meta := d.Title, d.Severity, d.Service, d.Meta
	inc, created, err := b.App.Declare(ctx, playbook.DeclareRequest{
		Key: "view:" + cb.View.ID, Title: title, Severity: sev, Service: service,
		Declarer: cb.User.ID, Origin: meta.Origin, Private: d.Private, Started: started,
	})
	if err != nil {
		b.ack(req, b.formErrors(err, blockTitle, map[playbook.Field]string{playbook.FieldSeverity: blockSeverity, playbook.FieldService: blockService, playbook.FieldStarted: blockStarted}), received)
		b.logDomainError("declare", cb.User.ID, err)
		return
	}
	b.ack(req, nil, received) // closes the modal
	if !created {
		return
	}
	b.Metrics.declared(inc.Severity)
	res, err := b.App.SetUp(ctx, inc.Number)
	if at, ok := res.Incident.ReadyAt(); ok && err == nil {
		b.Metrics.ready(at.Sub(received))
	}
	b.tellDeclarer(ctx, meta.ResponseURL, res, err, true)
}

// tellUser sends an ephemeral follow-up through a response_url, if any.
func (b *Bot) tellUser(ctx context.Context, responseURL, text string) {
	if responseURL == "" {
		return
	}
	if err := slack.PostWebhookCustomHTTPContext(ctx, responseURL, b.httpClient(), &slack.WebhookMessage{Text: text, ResponseType: slack.ResponseTypeEphemeral}); err != nil {
		b.log().Warn("response_url follow-up failed", "err", redactURL(err))
	}
}

// inputValue is what a person entered in a modal's input block (Klaxon's
// inputs use the block ID as their action ID).
func inputValue(cb slack.InteractionCallback, block string) slack.BlockAction {
	if cb.View.State == nil {
		return slack.BlockAction{}
	}
	return cb.View.State.Values[block][block]
}
