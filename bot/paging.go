package bot

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

func init() {
	register(feature{
		commands: []subcommand{
			{Name: "page", Topic: "paging", Handle: (*Bot).onPage, Forms: []form{
				{Usage: "page <service|@someone|policy ID>", Key: "page"}}},
			{Name: "owners", Topic: "paging", Handle: (*Bot).onOwners, Forms: []form{
				{Usage: "owners <service> [path]", Key: "owners"},
				{Usage: "owners <path>", Key: "owners.path"}}},
		},
		actions: map[string]actionHandler{actionAckPage: (*Bot).onAckPage},
	})
}

// actionAckPage is the "Acknowledge" button of a page sent through Slack
// only (without PagerDuty, nobody acknowledges anywhere else).
const actionAckPage = "page_ack"

// emailCacheTTL bounds how long a users.lookupByEmail answer (Tier 3) is kept.
const emailCacheTTL = time.Hour

// PageChat implements playbook.PageChat: people by e-mail
// (users.lookupByEmail, cached; needs users:read.email) and the page notices.
type PageChat struct {
	Adapter *Adapter

	mu    sync.Mutex
	cache map[string]emailEntry // e-mail → user, and "id:"+user → e-mail
}

type emailEntry struct {
	v  string
	at time.Time
}

var _ playbook.PageChat = (*PageChat)(nil)

func (p *PageChat) cached(key string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.cache[key]
	if !ok || p.Adapter.Clock.Now().Sub(e.at) > emailCacheTTL {
		return "", false
	}
	return e.v, true
}

func (p *PageChat) keep(key, v string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cache == nil {
		p.cache = map[string]emailEntry{}
	}
	p.cache[key] = emailEntry{v, p.Adapter.Clock.Now()}
}

// UserByEmail implements playbook.PageChat; "" when nobody has the e-mail.
func (p *PageChat) UserByEmail(ctx context.Context, email string) (string, error) {
	key := strings.ToLower(strings.TrimSpace(email))
	if v, ok := p.cached(key); ok {
		return v, nil
	}
	u, err := p.Adapter.API.GetUserByEmailContext(ctx, key)
	if isSlackError(err, "users_not_found") {
		p.keep(key, "")
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("users.lookupByEmail: %w", err)
	}
	p.keep(key, u.ID)
	return u.ID, nil
}

// EmailOf implements playbook.PageChat with users.info.
func (p *PageChat) EmailOf(ctx context.Context, id string) (string, error) {
	if v, ok := p.cached("id:" + id); ok {
		return v, nil
	}
	u, err := p.Adapter.API.GetUserInfoContext(ctx, id)
	if err != nil {
		return "", fmt.Errorf("users.info: %w", err)
	}
	p.keep("id:"+id, u.Profile.Email)
	return u.Profile.Email, nil
}

// PostPage implements playbook.PageChat: who was paged, in the channel, with
// the PagerDuty link; Slack targets as mentions, PagerDuty ones by name
// (page.tmpl).
func (p *PageChat) PostPage(ctx context.Context, b playbook.Briefing, n playbook.PageNotice) error {
	name, block := "page.notice", "page"
	if n.Kind == playbook.PageOwners {
		name, block = "page.owners", "owners"
	}
	text, err := p.Adapter.Templates.Render(name, map[string]any{"Incident": b.Incident, "Notice": n})
	if err != nil {
		return err
	}
	text = templates.Truncate(maxSectionText, text)
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, nil, slack.SectionBlockOptionBlockID(block))}
	if (n.Kind == playbook.PageDeclaration || n.Kind == playbook.PageRaise) && n.Link == "" && len(n.Slack) > 0 {
		btn := slack.NewButtonBlockElement(actionAckPage, strconv.FormatInt(b.Incident.Number, 10), plainText(p.Adapter.say("page.ack_button", nil)))
		btn.Style = slack.StylePrimary
		blocks = append(blocks, slack.NewActionBlock("page_actions", btn))
	}
	_, err = p.Adapter.post(ctx, b.Incident.Channel.ID, text, blocks)
	return err
}

// onMemberJoined passes a join of an incident's channel to the App: a
// paged person arriving acknowledges a page sent without PagerDuty
// (playbook.App.Joined). A join Klaxon's own invite caused (the inviter is
// the bot user the envelope was delivered to) is the page itself; when the
// envelope does not say who the bot is, the join is not counted.
func (b *Bot) onMemberJoined(ctx context.Context, ev slackevents.EventsAPIEvent) {
	e, ok := ev.InnerEvent.Data.(*slackevents.MemberJoinedChannelEvent)
	if !ok || e.User == "" || e.Channel == "" {
		return
	}
	self := ""
	if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok {
		for _, a := range cb.Authorizations {
			if a.IsBot {
				self = a.UserID
			}
		}
	}
	if self == "" || e.User == self {
		return
	}
	first, err := b.App.Joined(ctx, playbook.Join{Key: "join:" + e.Channel + ":" + e.User + ":" + e.EventTimestamp, Channel: e.Channel,
		User: e.User, ByKlaxon: e.Inviter == self, At: b.App.Now()})
	if err != nil {
		b.log().Error("recording a join as an acknowledgement", "channel", e.Channel, "err", err)
		return
	}
	if first {
		b.noticeFrom(ctx, e.Channel, "page.acknowledged", map[string]any{"User": e.User, "Joined": true})
	}
}

// onAckPage records an acknowledgement clicked in Slack.
func (b *Bot) onAckPage(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
	b.ack(req, nil, received)
	n, err := strconv.ParseInt(act.Value, 10, 64)
	if err != nil {
		return
	}
	_, first, err := b.App.Acknowledge(ctx, n, playbook.Ack{Key: "ack:" + act.ActionTs + ":" + cb.User.ID, SlackUser: cb.User.ID, At: b.App.Now(), Source: "slack"})
	if err != nil {
		b.log().Error("recording a Slack acknowledgement", "incident", n, "err", err)
		return
	}
	if first {
		b.noticeFrom(ctx, cb.Channel.ID, "page.acknowledged", map[string]any{"User": cb.User.ID, "Joined": false})
	}
}

// noticeFrom posts template name rendered with data as a notice.
func (b *Bot) noticeFrom(ctx context.Context, channel, name string, data any) {
	text, err := b.Templates.Render(name, data)
	if err != nil {
		b.log().Error("rendering a notice", "template", name, "err", err)
		return
	}
	b.notice(ctx, channel, text)
}

func (b *Bot) notice(ctx context.Context, channel, text string) {
	if _, _, err := b.API.PostMessageContext(ctx, channel, slack.MsgOptionText(text, false)); err != nil {
		b.log().Warn("posting a notice", "channel", channel, "err", err)
	}
}

// onPage handles "/incident page <service|@user|PagerDuty policy>".
func (b *Bot) onPage(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) {
	inc, ok := b.incidentHere(ctx, req, sc, received)
	if !ok {
		return
	}
	arg = strings.TrimSpace(arg)
	mp := playbook.ManualPage{Key: "page:" + req.EnvelopeID, Actor: sc.UserID}
	switch {
	case arg == "":
		b.ack(req, ephemeral(b.words("page.usage", map[string]any{"Command": b.Command})), received)
		return
	default:
		if id, ok := MentionedUser(arg); ok {
			mp.SlackUser = id
		} else if _, ok := b.App.Service(arg); ok {
			mp.Service = arg
		} else if t, err := playbook.ParseTarget(pdTarget(arg)); err == nil && t.PagerDuty() {
			mp.Target = t
		} else {
			b.ack(req, ephemeral(b.words("page.unknown", map[string]any{"Arg": Plain(arg), "Services": serviceNames(b.App.Services()), "Command": b.Command})), received)
			return
		}
	}
	// Ack first (3 s), then page: PagerDuty may take a while.
	b.ack(req, ephemeral(b.words("page.paging", nil)), received)
	// Whom it reached is posted in the channel (PostPage); only a refusal
	// comes back here.
	if _, err := b.App.Page(ctx, inc.Number, mp); err != nil {
		b.logDomainError("page", sc.UserID, err)
		b.reply(ctx, sc.ResponseURL, b.errText(err))
	}
}

// pdTarget reads "PE0CHKOUT" as an escalation policy; typed kinds pass as is.
func pdTarget(arg string) string {
	if strings.Contains(arg, ":") {
		return arg
	}
	return string(playbook.TargetPDPolicy) + ":" + strings.ToUpper(arg)
}

func serviceNames(ss []playbook.Service) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

// reply sends an ephemeral follow-up through the response_url.
func (b *Bot) reply(ctx context.Context, responseURL, text string) {
	if responseURL == "" {
		return
	}
	if err := slack.PostWebhookCustomHTTPContext(ctx, responseURL, b.httpClient(), &slack.WebhookMessage{ResponseType: "ephemeral", Text: templates.Truncate(3000, text)}); err != nil {
		b.log().Warn("replying through response_url", "err", redactURL(err))
	}
}

// onOwners handles "/incident owners <service|path>": "<service> [path]"
// anywhere; a bare path is read in the incident's service's repo in an
// incident's channel, else in the repo it starts with or the one repo the
// services name (App.PathOwners).
func (b *Bot) onOwners(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) {
	words := strings.Fields(Plain(arg))
	service, path := "", ""
	if len(words) > 0 {
		if _, ok := b.App.Service(words[0]); ok {
			service, path = words[0], strings.Join(words[1:], " ")
		} else {
			path = strings.Join(words, " ")
		}
	}
	if service == "" {
		if inc, err := b.App.IncidentIn(ctx, sc.ChannelID); err == nil && inc.Service != "" {
			service = inc.Service
		}
	}
	if service == "" && path == "" {
		b.ack(req, ephemeral(b.words("owners.usage", map[string]any{"Command": b.Command, "Services": serviceNames(b.App.Services())})), received)
		return
	}
	// Reading CODEOWNERS and PagerDuty may take longer than the 3 s ack.
	b.ack(req, ephemeral(b.words("owners.looking", map[string]any{"What": cmp.Or(service+" "+path, path)})), received)
	path = strings.TrimPrefix(path, "/")
	var o playbook.ServiceOwnership
	var err error
	if service != "" {
		o, err = b.App.ServiceOwners(ctx, service, path)
	} else {
		o, err = b.App.PathOwners(ctx, path)
	}
	if err != nil {
		b.reply(ctx, sc.ResponseURL, b.errText(err))
		return
	}
	b.reply(ctx, sc.ResponseURL, b.ownersText(ctx, o))
}

// ownersText is the answer to /incident owners (owners.answer).
func (b *Bot) ownersText(ctx context.Context, o playbook.ServiceOwnership) string {
	type onCall struct{ User, Name string }
	var who []onCall
	for _, p := range o.OnCall {
		who = append(who, onCall{User: b.App.SlackFor(ctx, p), Name: p.Name})
	}
	return b.words("owners.answer", map[string]any{"Ownership": o, "OnCall": who})
}

// ackLine is the page line of /incident status (page.status).
func (b *Bot) ackLine(inc playbook.Incident) string {
	d := map[string]any{"Pending": inc.Paging != nil && (inc.Paging.Pending || inc.Paging.PD.ID != "")}
	if by, _, ok := inc.Acknowledged(); ok {
		d["Acked"], d["Name"], d["User"] = true, by, ""
		if strings.HasPrefix(by, "U") || strings.HasPrefix(by, "W") {
			if _, err := playbook.ParseTarget(by); err == nil {
				d["User"] = by
			}
		}
		d["After"], _ = inc.PageAckDelay()
	}
	if line := b.words("page.status", d); line != "" {
		return line + "\n"
	}
	return ""
}
