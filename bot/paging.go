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
				{Usage: "page <service|@someone|policy ID>", Help: "in the incident's channel, page more people (PagerDuty's responder request, or Slack when PagerDuty is not set up); the people reached are invited."}}},
			{Name: "owners", Topic: "paging", Handle: (*Bot).onOwners, Forms: []form{
				{Usage: "owners <service> [path]", Help: "the owning team, the CODEOWNERS rule that matched, who is on call now and the escalation policy."},
				{Usage: "owners <path>", Help: "the same for a path: in an incident's channel read in its service's repo, else in the repo it starts with (acme/checkout/db/x.sql) or the services' one repo."}}},
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

var condWords = map[playbook.Condition]string{
	playbook.CondUnacknowledged: "nobody has acknowledged the page",
	playbook.CondNoTriage:       "triage has not started",
	playbook.CondUnresolved:     "the incident is not resolved",
}

// PostPage implements playbook.PageChat: who was paged, in the channel, with
// the PagerDuty link; Slack targets as mentions, PagerDuty ones by name.
func (p *PageChat) PostPage(ctx context.Context, b playbook.Briefing, n playbook.PageNotice) error {
	if n.Kind == playbook.PageOwners {
		return p.postOwners(ctx, b, n)
	}
	var sb strings.Builder
	switch n.Kind {
	case playbook.PageEscalation:
		fmt.Fprintf(&sb, ":rotating_light: *Escalation step %d* (%s after the declaration; %s): ", n.Index, playbook.HumanDuration(n.Step.After), condWords[n.Step.If])
	case playbook.PageManual:
		fmt.Fprintf(&sb, ":pager: <@%s> paged ", n.By)
	case playbook.PageRaise:
		fmt.Fprintf(&sb, ":pager: *Paged on the raise to %s* ", b.Incident.Severity)
	default:
		sb.WriteString(":pager: *Paged* ")
	}
	var who []string
	if len(n.Slack) > 0 {
		who = append(who, mention(n.Slack))
	}
	for _, name := range n.PagerDuty {
		who = append(who, templates.Escape(name))
	}
	if len(who) == 0 {
		who = append(who, "nobody")
	}
	sb.WriteString(strings.Join(who, ", "))
	if n.Link != "" {
		fmt.Fprintf(&sb, "\nPagerDuty incident: <%s|%s>", n.Link, "open in PagerDuty")
	}
	for _, pr := range n.Problems {
		sb.WriteString("\n:warning: " + p.Adapter.Templates.Problem(pr))
	}
	text := templates.Truncate(maxSectionText, sb.String())
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, nil, slack.SectionBlockOptionBlockID("page"))}
	if (n.Kind == playbook.PageDeclaration || n.Kind == playbook.PageRaise) && n.Link == "" && len(n.Slack) > 0 {
		btn := slack.NewButtonBlockElement(actionAckPage, strconv.FormatInt(b.Incident.Number, 10), plainText("Acknowledge"))
		btn.Style = slack.StylePrimary
		blocks = append(blocks, slack.NewActionBlock("page_actions", btn))
	}
	_, err := p.Adapter.post(ctx, b.Incident.Channel.ID, text, blocks)
	return err
}

// postOwners tells the channel how a tier that pages nobody told the
// owning team: the GitHub issue opened for it, or its Slack group
// mentioned (and invited).
func (p *PageChat) postOwners(ctx context.Context, b playbook.Briefing, n playbook.PageNotice) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, ":busts_in_silhouette: *%s pages nobody.* ", b.Incident.Severity)
	team := "the owning team"
	if n.Team != "" {
		team += " (" + templates.Escape(n.Team) + ")"
	}
	switch {
	case n.Issue != nil:
		fmt.Fprintf(&sb, "Klaxon opened <%s|%s#%d> for %s.", n.Issue.URL, templates.Escape(n.Issue.Repo), n.Issue.Number, team)
	case len(n.Slack) > 0:
		fmt.Fprintf(&sb, "Telling %s: %s", team, mention(n.Slack))
	default:
		sb.WriteString("Nobody was told.")
	}
	for _, pr := range n.Problems {
		sb.WriteString("\n:warning: " + p.Adapter.Templates.Problem(pr))
	}
	text := templates.Truncate(maxSectionText, sb.String())
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(text), nil, nil, slack.SectionBlockOptionBlockID("owners"))}
	_, err := p.Adapter.post(ctx, b.Incident.Channel.ID, text, blocks)
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
		b.notice(ctx, e.Channel, fmt.Sprintf("<@%s> joined: the page is acknowledged.", e.User))
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
		b.notice(ctx, cb.Channel.ID, fmt.Sprintf("<@%s> acknowledged the page.", cb.User.ID))
	}
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
		b.ack(req, ephemeral(fmt.Sprintf("Say whom to page: `%s page <service>`, `%s page @someone` or `%s page <PagerDuty escalation policy ID>`.", b.Command, b.Command, b.Command)), received)
		return
	default:
		if id, ok := MentionedUser(arg); ok {
			mp.SlackUser = id
		} else if _, ok := b.App.Service(arg); ok {
			mp.Service = arg
		} else if t, err := playbook.ParseTarget(pdTarget(arg)); err == nil && t.PagerDuty() {
			mp.Target = t
		} else {
			b.ack(req, ephemeral(fmt.Sprintf("`%s` is neither a service (%s), a @mention, nor a PagerDuty policy ID (P…).", templates.Escape(templates.Truncate(40, Plain(arg))), templates.Escape(strings.Join(serviceNames(b.App.Services()), ", ")))), received)
			return
		}
	}
	// Ack first (3 s), then page: PagerDuty may take a while.
	b.ack(req, ephemeral(":pager: Paging…"), received)
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
	if len(out) == 0 {
		return []string{"none configured"}
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
		b.ack(req, ephemeral(fmt.Sprintf("Usage: `%s owners <service> [path]` or `%s owners <path>` (read in the incident's service's repo in its channel, else in the repo the path starts with or the services' one repo). Services: %s.", b.Command, b.Command, templates.Escape(strings.Join(serviceNames(b.App.Services()), ", ")))), received)
		return
	}
	// Reading CODEOWNERS and PagerDuty may take longer than the 3 s ack.
	b.ack(req, ephemeral(":mag: Looking up the owners of "+templates.Escape(templates.Truncate(200, cmp.Or(service+" "+path, path)))+"…"), received)
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

// ownersText is the answer to /incident owners.
func (b *Bot) ownersText(ctx context.Context, o playbook.ServiceOwnership) string {
	var sb strings.Builder
	what := "*" + templates.Escape(cmp.Or(o.Service, o.Repo)) + "*"
	if o.Path != "" {
		what += " `" + templates.Escape(templates.Truncate(200, o.Path)) + "`"
	}
	fmt.Fprintf(&sb, "*Owners of* %s\n", what)
	switch {
	case o.Found:
		fmt.Fprintf(&sb, "• *Owning team:* %s\n", templates.Escape(strings.Join(o.Rule.Owners, ", ")))
		fmt.Fprintf(&sb, "• *CODEOWNERS rule:* `%s` (%s/%s line %d)\n", templates.Escape(o.Rule.Pattern), templates.Escape(o.Repo), templates.Escape(o.Rule.File), o.Rule.Line)
	case o.Repo != "":
		fmt.Fprintf(&sb, "• *Owning team:* no CODEOWNERS rule matches in %s\n", templates.Escape(o.Repo))
	}
	if o.TeamFromService && o.Team != nil {
		fmt.Fprintf(&sb, "• *Owning team (services[].team):* %s\n", templates.Escape(o.Team.GitHub))
	}
	if o.Team != nil && o.Team.SlackGroup != "" {
		fmt.Fprintf(&sb, "• *Slack group:* %s\n", mention([]string{o.Team.SlackGroup}))
	}
	if len(o.OnCall) > 0 {
		var who []string
		for _, p := range o.OnCall {
			if id := b.App.SlackFor(ctx, p); id != "" {
				who = append(who, "<@"+id+">")
			} else {
				who = append(who, templates.Escape(p.Name))
			}
		}
		fmt.Fprintf(&sb, "• *On call now:* %s\n", strings.Join(who, ", "))
	} else if o.Policy != "" {
		sb.WriteString("• *On call now:* nobody found\n")
	}
	if o.Policy != "" {
		fmt.Fprintf(&sb, "• *Escalation policy:* %s", templates.Escape(o.Policy))
		if o.PagerDutyOff {
			sb.WriteString(" (PagerDuty is not configured)")
		}
		sb.WriteString("\n")
	}
	for _, p := range o.Problems {
		sb.WriteString(":warning: " + b.Templates.Problem(p) + "\n")
	}
	return sb.String()
}

// ackLine is the acknowledgement line of /incident status.
func ackLine(inc playbook.Incident) string {
	by, _, ok := inc.Acknowledged()
	if !ok {
		if inc.Paging != nil && (inc.Paging.Pending || inc.Paging.PD.ID != "") {
			return "*Page:* not acknowledged yet\n"
		}
		return ""
	}
	who := templates.Escape(by)
	if strings.HasPrefix(by, "U") || strings.HasPrefix(by, "W") {
		if _, err := playbook.ParseTarget(by); err == nil {
			who = "<@" + by + ">"
		}
	}
	ttk, _ := inc.PageAckDelay()
	return fmt.Sprintf("*Page:* acknowledged by %s after %s\n", who, playbook.HumanDuration(ttk))
}
