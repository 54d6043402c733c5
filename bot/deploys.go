package bot

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

func init() {
	register(feature{
		commands: []subcommand{
			{Name: "deploys", Topic: "deploys", Handle: (*Bot).onDeploys, Forms: []form{
				{Usage: "deploys [service] [window]", Help: "the deploys of the window (`90m`, `4h`, `3d`), the suspect first, and the open watch windows; only you see it outside an incident."}}},
			{Name: "cause", Topic: "deploys", Handle: (*Bot).onCause, Forms: []form{
				{Usage: "cause deploy <sha>", Help: "in the incident's channel, link the deploy of that commit (7+ hex characters) as the incident's cause."}}},
		},
		actions: map[string]actionHandler{
			actionDeployCause: func(b *Bot, ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
				b.onDeployVerdict(ctx, req, cb, act, true, received)
			},
			actionDeployNot: func(b *Bot, ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
				b.onDeployVerdict(ctx, req, cb, act, false, received)
			},
			actionRetryDeploys: (*Bot).onRetryDeploys,
		},
	})
}

// Interaction IDs of the deploys message.
const (
	actionDeployCause   = "klaxon_deploy_cause"
	actionDeployNot     = "klaxon_deploy_not"
	actionRetryDeploys  = "klaxon_retry_deploys"
	maxDeploysShown     = 20
	maxPRLinesPerDeploy = 12
)

var _ playbook.DeployPoster = (*Adapter)(nil)

// PostDeploys implements playbook.DeployPoster.
func (a *Adapter) PostDeploys(ctx context.Context, b playbook.Briefing, r playbook.DeployReport, m playbook.MessageRef) (playbook.MessageRef, error) {
	blocks := DeployBlocks(r, b.Incident.Number, b.Incident.Deploys)
	fallback := fmt.Sprintf("Recent deploys of incident #%d", b.Incident.Number)
	if s, ok := r.Suspect(); ok {
		fallback += ": suspect " + s.Short() + " of " + s.Repo
	}
	if !m.Zero() {
		_, _, _, err := a.API.UpdateMessageContext(ctx, m.Channel, m.TS, slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...))
		if err != nil {
			return m, fmt.Errorf("chat.update: %w", err)
		}
		return m, nil
	}
	return a.post(ctx, b.Incident.Channel.ID, fallback, blocks)
}

// PostDeploysFailure implements playbook.DeployPoster.
func (a *Adapter) PostDeploysFailure(ctx context.Context, b playbook.Briefing, n playbook.Notice) error {
	text, err := a.Templates.RenderNotice(n)
	if err != nil {
		return err
	}
	btn := slack.NewButtonBlockElement(actionRetryDeploys, strconv.FormatInt(b.Incident.Number, 10), plainText("Retry"))
	blocks := []slack.Block{
		slack.NewSectionBlock(mrkdwn(":warning: "+text), nil, nil, slack.SectionBlockOptionBlockID("deploys_failure")),
		slack.NewActionBlock("deploys_failure_actions", btn),
	}
	_, err = a.post(ctx, b.Incident.Channel.ID, templates.Truncate(3000, text), blocks)
	return err
}

// verdictWords says each verdict to a person.
var verdictWords = map[playbook.Verdict]string{
	playbook.VerdictSuspect:        ":dart: *Most likely*",
	playbook.VerdictCandidate:      "*Candidate*",
	playbook.VerdictRejected:       ":heavy_multiplication_x: *Ruled out*",
	playbook.VerdictRedeploy:       "*Redeploy* of a version live before",
	playbook.VerdictNotLive:        "*Never went live*",
	playbook.VerdictAfterDetection: "*After detection*",
}

var flagWords = map[playbook.RiskFlag]string{
	playbook.FlagMigration:  "database migration",
	playbook.FlagLargeDiff:  "large diff",
	playbook.FlagNoApproval: "no approving review",
}

// DeployBlocks renders the deploys message: the suspect first with its
// rollback hint, then the others; buttons when n names an incident. It
// stays within Block Kit's limits (50 blocks, 3000 characters a section)
// whatever the number of deploys and pull requests.
func DeployBlocks(r playbook.DeployReport, n int64, f *playbook.DeployFinding) []slack.Block {
	var targets []string
	for _, s := range r.Services {
		env := s.DeployEnvironment
		if env == "" {
			env = "production"
		}
		targets = append(targets, fmt.Sprintf("%s (`%s` to %s)", templates.Escape(s.Name), templates.Escape(s.Repo), templates.Escape(env)))
	}
	title := "Recent deploys"
	if n > 0 {
		title = fmt.Sprintf("Deploys before incident #%d", n)
	}
	what := fmt.Sprintf("Deploys of %s since %s (%s before %s).", strings.Join(targets, ", "), templates.SlackDate(r.From), spanWords(r.Detected.Sub(r.From)), map[bool]string{true: "detection", false: "now"}[n > 0])
	blocks := []slack.Block{
		slack.NewHeaderBlock(plainText(title)),
		slack.NewContextBlock("deploys_ctx", mrkdwn(templates.Truncate(maxSectionText, what))),
	}
	inWindow := 0
	for _, rk := range r.Ranked {
		if !rk.At.Before(r.From) {
			inWindow++
		}
	}
	if inWindow == 0 {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(":white_check_mark: No deploys in this window: a deploy is an unlikely cause. Look at config changes, dependencies and traffic."), nil, nil, slack.SectionBlockOptionBlockID("deploys_none")))
	}
	shown := 0
	for i, rk := range r.Ranked {
		if shown == maxDeploysShown {
			break
		}
		shown++
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(deployText(rk, r, f)), nil, nil, slack.SectionBlockOptionBlockID(fmt.Sprintf("deploy_%d", i))))
		if n <= 0 || !rk.Succeeded() || rk.Verdict == playbook.VerdictAfterDetection {
			continue
		}
		val := fmt.Sprintf("%d:%s", n, rk.Key())
		confirmed := r.Confirmed && i == 0 && rk.Verdict == playbook.VerdictSuspect
		var els []slack.BlockElement
		if !confirmed {
			cause := slack.NewButtonBlockElement(actionDeployCause, val, plainText("This is the cause"))
			if rk.Verdict == playbook.VerdictSuspect {
				cause.Style = slack.StylePrimary
			}
			els = append(els, cause)
		}
		if rk.Verdict != playbook.VerdictRejected {
			els = append(els, slack.NewButtonBlockElement(actionDeployNot, val, plainText("Not this one")))
		}
		blocks = append(blocks, slack.NewActionBlock(fmt.Sprintf("deploy_actions_%d", i), els...))
	}
	var foot []string
	if more := len(r.Ranked) - shown; more > 0 {
		foot = append(foot, fmt.Sprintf("… and %d older or less likely deploys not shown.", more))
	}
	for _, w := range r.Windows {
		foot = append(foot, fmt.Sprintf(":eyes: Watch window open for %s until %s (deploy `%s`).", templates.Escape(w.Service), templates.SlackDate(w.Until), templates.Escape(w.Deploy.Short())))
	}
	if len(foot) > 0 {
		blocks = append(blocks, slack.NewContextBlock("deploys_foot", mrkdwn(templates.Truncate(maxSectionText, strings.Join(foot, "\n")))))
	}
	return blocks
}

// maxWindowLines bounds the watch windows listed one by one.
const maxWindowLines = 10

// WindowBlocks renders the deploy watch windows open now (the App Home):
// each service, its deploy and until when, in one section.
func WindowBlocks(ws []playbook.HeightenedWindow) []slack.Block {
	lines := []string{fmt.Sprintf(":eyes: *Deploy watch windows open: %d*. An incident declared for one of these services now is linked to its deploy.", len(ws))}
	for i, w := range ws {
		if i == maxWindowLines {
			lines = append(lines, fmt.Sprintf("…and %d more (`/incident deploys` lists them all).", len(ws)-i))
			break
		}
		d := w.Deploy
		l := fmt.Sprintf("• *%s* · deploy `%s`", templates.Escape(templates.Truncate(60, w.Service)), templates.Escape(d.Short()))
		if d.URL != "" {
			l = fmt.Sprintf("• *%s* · deploy <%s|`%s`>", templates.Escape(templates.Truncate(60, w.Service)), d.URL, templates.Escape(d.Short()))
		}
		if d.Ref != "" {
			l += fmt.Sprintf(" (%s)", templates.Escape(templates.Truncate(60, d.Ref)))
		}
		l += fmt.Sprintf(" of `%s`", templates.Escape(templates.Truncate(80, d.Repo)))
		if d.Creator != "" {
			l += " by " + templates.Escape(templates.Truncate(40, d.Creator))
		}
		l += " · until " + templates.SlackDate(w.Until)
		lines = append(lines, l)
	}
	return []slack.Block{slack.NewSectionBlock(mrkdwn(templates.Truncate(maxSectionText, strings.Join(lines, "\n"))), nil, nil, slack.SectionBlockOptionBlockID("deploy_windows"))}
}

// deployText is one deploy's section: what, flags, pull requests, and for
// the suspect the rollback hint, in at most maxSectionText characters.
func deployText(rk playbook.Ranked, r playbook.DeployReport, f *playbook.DeployFinding) string {
	var b strings.Builder
	verdict := verdictWords[rk.Verdict]
	if rk.Verdict == playbook.VerdictSuspect && r.Confirmed {
		verdict = ":white_check_mark: *Confirmed cause*"
		if r.ConfirmedBy == playbook.ActorKlaxon {
			verdict += " (declared inside its watch window)"
		} else if r.ConfirmedBy != "" {
			verdict += " (by <@" + templates.Escape(r.ConfirmedBy) + ">)"
		}
	}
	fmt.Fprintf(&b, "%s · `%s`", verdict, templates.Escape(rk.Short()))
	if len(r.Services) > 1 {
		fmt.Fprintf(&b, " of `%s`", templates.Escape(rk.Repo))
	}
	if rk.Ref != "" {
		fmt.Fprintf(&b, " (%s)", templates.Escape(templates.Truncate(60, rk.Ref)))
	}
	if rk.Creator != "" {
		fmt.Fprintf(&b, " by %s", templates.Escape(templates.Truncate(40, rk.Creator)))
	}
	state := rk.State
	if state == "" {
		state = "no status"
	}
	fmt.Fprintf(&b, " · %s · %s", templates.SlackDate(rk.At), templates.Escape(state))
	if rk.URL != "" {
		fmt.Fprintf(&b, " · <%s|details>", rk.URL)
	}
	if len(rk.Flags) > 0 {
		var fl []string
		for _, fg := range rk.Flags {
			w := flagWords[fg]
			switch fg {
			case playbook.FlagMigration:
				if p := firstRisky(rk.PRs); p != "" {
					w += " (`" + templates.Escape(templates.Truncate(80, p)) + "`)"
				}
			case playbook.FlagLargeDiff:
				w += fmt.Sprintf(" (%d lines)", changedLines(rk.PRs))
			}
			fl = append(fl, w)
		}
		b.WriteString("\n:warning: " + strings.Join(fl, ", "))
	}
	if rk.Verdict == playbook.VerdictSuspect || rk.Verdict == playbook.VerdictCandidate {
		switch {
		case rk.KnownGood != nil:
			fmt.Fprintf(&b, "\n:rewind: Roll back to `%s` (deployed %s)", templates.Escape(shortSHA(rk.KnownGood.SHA)), templates.SlackDate(rk.KnownGood.At))
			if rk.CompareURL != "" {
				fmt.Fprintf(&b, " · <%s|compare>", rk.CompareURL)
			}
		case rk.Succeeded():
			b.WriteString("\n:rewind: No earlier successful deploy in the last 30 days: find the known-good version in your deploy tool.")
		}
	}
	head := b.String()
	// The pull requests, as many as fit.
	var lines []string
	if rk.Detailed && len(rk.PRs) == 0 && rk.Succeeded() {
		lines = append(lines, "No pull request: pushed directly.")
	}
	room := maxSectionText - utf8.RuneCountInString(head) - 80
	for i, pr := range rk.PRs {
		if i == maxPRLinesPerDeploy {
			lines = append(lines, fmt.Sprintf("… and %d more pull requests", len(rk.PRs)-i))
			break
		}
		l := prLine(pr)
		if room -= utf8.RuneCountInString(l) + 1; room < 0 {
			lines = append(lines, fmt.Sprintf("… and %d more pull requests", len(rk.PRs)-i))
			break
		}
		lines = append(lines, l)
	}
	out := head
	if len(lines) > 0 {
		out += "\n" + strings.Join(lines, "\n")
	}
	return templates.Truncate(maxSectionText, out)
}

// spanWords says a window's length: "2 hours", "90 min", "3 days".
func spanWords(d time.Duration) string {
	d = d.Round(time.Minute)
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d == time.Hour:
		return "1 hour"
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	return fmt.Sprintf("%d min", d/time.Minute)
}

func prLine(pr playbook.PullRequest) string {
	title := templates.Escape(templates.Truncate(80, pr.Title))
	ref := fmt.Sprintf("#%d %s", pr.Number, title)
	if pr.URL != "" {
		ref = fmt.Sprintf("<%s|#%d> %s", pr.URL, pr.Number, title)
	}
	l := "• " + ref
	if pr.Author != "" {
		l += " by " + templates.Escape(templates.Truncate(40, pr.Author))
	}
	if len(pr.Approvers) > 0 {
		ap := pr.Approvers
		if len(ap) > 3 {
			ap = ap[:3]
		}
		l += " · approved by " + templates.Escape(strings.Join(ap, ", "))
	} else {
		l += " · *no approval*"
	}
	files := strconv.Itoa(pr.Files)
	if pr.FilesMore {
		files += "+"
	}
	l += fmt.Sprintf(" · %s files (+%d −%d)", files, pr.Additions, pr.Deletions)
	return l
}

func firstRisky(prs []playbook.PullRequest) string {
	for _, pr := range prs {
		if len(pr.Risky) > 0 {
			return pr.Risky[0]
		}
	}
	return ""
}

func changedLines(prs []playbook.PullRequest) int {
	n := 0
	for _, pr := range prs {
		n += pr.Additions + pr.Deletions
	}
	return n
}

func shortSHA(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	return s
}

// ---- buttons

// onDeployVerdict handles "This is the cause" and "Not this one".
func (b *Bot) onDeployVerdict(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, cause bool, received time.Time) {
	b.ack(req, nil, received)
	n, key, ok := strings.Cut(act.Value, ":")
	num, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || num <= 0 {
		return
	}
	inc, applied, err := b.App.SetDeployVerdict(ctx, num, key, cause, cb.User.ID, "act:"+act.ActionTs+":"+cb.User.ID)
	if err != nil {
		b.logDomainError("deploy verdict", cb.User.ID, err)
		b.tellUser(ctx, cb.ResponseURL, b.errText(err))
		return
	}
	if !applied || inc.Deploys == nil || inc.Deploys.Suspect == nil {
		return
	}
	if cause {
		s := inc.Deploys.Suspect
		b.notice(ctx, inc.Channel.ID, fmt.Sprintf(":link: <@%s> linked deploy `%s` of `%s` to incident #%d as its cause. `%s remediate rollback` rolls back to it.", cb.User.ID, shortSHA(s.SHA), templates.Escape(s.Repo), inc.Number, b.Command))
	}
}

func (b *Bot) onRetryDeploys(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
	b.ack(req, nil, received)
	n, err := strconv.ParseInt(act.Value, 10, 64)
	if err != nil {
		return
	}
	if err := b.App.RetryDeploys(ctx, n, cb.User.ID, "act:"+act.ActionTs+":"+cb.User.ID); err != nil {
		b.log().Warn("retrying the deploy lookup", "incident", n, "err", err)
	}
}

// ---- commands

// ParseDeploysArgs reads "[service] [window]" of /incident deploys: a word
// naming a service, and a window as a Go duration or a number of days
// ("3d").
func ParseDeploysArgs(text string, isService func(string) bool) (service string, window time.Duration, err error) {
	for _, w := range strings.Fields(text) {
		switch {
		case service == "" && isService != nil && isService(w):
			service = w
		case window == 0 && looksLikeDuration(w):
			d, derr := parseWindow(w)
			if derr != nil || d <= 0 {
				return "", 0, fmt.Errorf("%q is not a window: write 30m, 2h or 3d", templates.Truncate(20, w))
			}
			window = d
		default:
			return "", 0, fmt.Errorf("%q is neither a service nor a window", templates.Truncate(30, w))
		}
	}
	return service, window, nil
}

func looksLikeDuration(w string) bool { return w != "" && w[0] >= '0' && w[0] <= '9' }

func parseWindow(w string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(strings.ToLower(w), "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > 30 {
			return 0, fmt.Errorf("bad days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(w)
}

// onDeploys handles "/incident deploys [service] [window]": in an incident's
// channel the answer is posted there (for the incident's service unless
// another is named); elsewhere only the person sees it.
func (b *Bot) onDeploys(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) {
	service, window, err := ParseDeploysArgs(Plain(arg), func(w string) bool { _, ok := b.App.Service(w); return ok })
	if err != nil {
		b.ack(req, ephemeral(templates.Escape(err.Error())+fmt.Sprintf(". For example: `%s deploys checkout 4h`.", b.Command)), received)
		return
	}
	inc, ierr := b.App.IncidentIn(ctx, sc.ChannelID)
	inIncident := ierr == nil
	if inIncident && service == "" {
		service = inc.Service
	}
	b.ack(req, ephemeral(":mag: Reading the deploys from GitHub…"), received)
	rep, err := b.App.RecentDeploys(ctx, service, window)
	if err != nil {
		b.logDomainError("deploys", sc.UserID, err)
		b.tellUser(ctx, sc.ResponseURL, b.errText(err))
		return
	}
	msg := &slack.WebhookMessage{Text: "Recent deploys", ResponseType: slack.ResponseTypeEphemeral, ReplaceOriginal: true,
		Blocks: &slack.Blocks{BlockSet: DeployBlocks(rep, 0, nil)}}
	if inIncident {
		msg.ResponseType, msg.ReplaceOriginal = slack.ResponseTypeInChannel, false
	}
	if err := slack.PostWebhookCustomHTTPContext(ctx, sc.ResponseURL, b.httpClient(), msg); err != nil {
		b.log().Warn("response_url follow-up failed", "err", redactURL(err))
	}
}

// onCause handles "/incident cause deploy <sha>".
func (b *Bot) onCause(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) {
	inc, ok := b.incidentHere(ctx, req, sc, received)
	if !ok {
		return
	}
	f := strings.Fields(arg)
	if len(f) != 2 || !strings.EqualFold(f[0], "deploy") {
		b.ack(req, ephemeral(fmt.Sprintf("Name the deploy that caused it by its commit SHA: `%s cause deploy 3f2a9c1`.", b.Command)), received)
		return
	}
	inc, rec, applied, err := b.App.LinkCauseBySHA(ctx, inc.Number, f[1], sc.UserID, "env:"+req.EnvelopeID)
	if err != nil {
		b.ack(req, ephemeral(b.errText(err)), received)
		b.logDomainError("cause", sc.UserID, err)
		return
	}
	b.ack(req, nil, received)
	if applied {
		b.notice(ctx, inc.Channel.ID, fmt.Sprintf(":link: <@%s> linked deploy `%s` of `%s` to incident #%d as its cause.", sc.UserID, templates.Escape(rec.Short()), templates.Escape(rec.Repo), inc.Number))
	}
}
