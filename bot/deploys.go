package bot

import (
	"context"
	"errors"
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
				{Usage: "deploys [service] [window]", Key: "deploys"}}},
			{Name: "cause", Topic: "deploys", Handle: (*Bot).onCause, Forms: []form{
				{Usage: "cause deploy <sha>", Key: "cause"}}},
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
	blocks := DeployBlocks(a.Templates, r, b.Incident.Number, b.Incident.Deploys)
	var suspect *playbook.Ranked
	if s, ok := r.Suspect(); ok {
		suspect = &s
	}
	fallback := a.say("deploys.fallback", map[string]any{"Incident": b.Incident.Number, "Suspect": suspect})
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
	btn := slack.NewButtonBlockElement(actionRetryDeploys, strconv.FormatInt(b.Incident.Number, 10), plainText(a.say("deploys.button_retry", nil)))
	blocks := []slack.Block{
		slack.NewSectionBlock(mrkdwn(a.say("deploys.failed", map[string]any{"Notice": text})), nil, nil, slack.SectionBlockOptionBlockID("deploys_failure")),
		slack.NewActionBlock("deploys_failure_actions", btn),
	}
	_, err = a.post(ctx, b.Incident.Channel.ID, templates.Truncate(3000, text), blocks)
	return err
}

// DeployBlocks renders the deploys message with words (deploys.tmpl): the
// suspect first with its rollback hint, then the others; buttons when n
// names an incident. It stays within Block Kit's limits (50 blocks, 3000
// characters a section) whatever the number of deploys and pull requests.
func DeployBlocks(words *templates.Set, r playbook.DeployReport, n int64, f *playbook.DeployFinding) []slack.Block {
	what := say(words, "deploys.context", map[string]any{"Services": r.Services, "From": r.From, "Span": spanOf(r.Detected.Sub(r.From)), "Detection": n > 0})
	blocks := []slack.Block{
		slack.NewHeaderBlock(plainText(say(words, "deploys.title", map[string]any{"Incident": n}))),
		slack.NewContextBlock("deploys_ctx", mrkdwn(templates.Truncate(maxSectionText, what))),
	}
	inWindow := 0
	for _, rk := range r.Ranked {
		if !rk.At.Before(r.From) {
			inWindow++
		}
	}
	if inWindow == 0 {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(say(words, "deploys.none", nil)), nil, nil, slack.SectionBlockOptionBlockID("deploys_none")))
	}
	shown := 0
	for i, rk := range r.Ranked {
		if shown == maxDeploysShown {
			break
		}
		shown++
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(deployText(words, rk, r)), nil, nil, slack.SectionBlockOptionBlockID(fmt.Sprintf("deploy_%d", i))))
		if n <= 0 || !rk.Succeeded() || rk.Verdict == playbook.VerdictAfterDetection {
			continue
		}
		val := fmt.Sprintf("%d:%s", n, rk.Key())
		confirmed := r.Confirmed && i == 0 && rk.Verdict == playbook.VerdictSuspect
		var els []slack.BlockElement
		if !confirmed {
			cause := slack.NewButtonBlockElement(actionDeployCause, val, plainText(say(words, "deploys.button_cause", nil)))
			if rk.Verdict == playbook.VerdictSuspect {
				cause.Style = slack.StylePrimary
			}
			els = append(els, cause)
		}
		if rk.Verdict != playbook.VerdictRejected {
			els = append(els, slack.NewButtonBlockElement(actionDeployNot, val, plainText(say(words, "deploys.button_not", nil))))
		}
		blocks = append(blocks, slack.NewActionBlock(fmt.Sprintf("deploy_actions_%d", i), els...))
	}
	var foot []string
	if more := len(r.Ranked) - shown; more > 0 {
		foot = append(foot, say(words, "deploys.more", more))
	}
	for _, w := range r.Windows {
		foot = append(foot, say(words, "deploys.window", w))
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
func WindowBlocks(words *templates.Set, ws []playbook.HeightenedWindow) []slack.Block {
	shown := ws[:min(len(ws), maxWindowLines)]
	text := say(words, "deploys.windows", map[string]any{"Total": len(ws), "Windows": shown, "More": len(ws) - len(shown)})
	return []slack.Block{slack.NewSectionBlock(mrkdwn(templates.Truncate(maxSectionText, text)), nil, nil, slack.SectionBlockOptionBlockID("deploy_windows"))}
}

// deployText is one deploy's section: what, flags, pull requests, and for
// the suspect the rollback hint, in at most maxSectionText characters.
func deployText(words *templates.Set, rk playbook.Ranked, r playbook.DeployReport) string {
	d := map[string]any{"Deploy": rk, "ShowRepo": len(r.Services) > 1, "Risky": firstRisky(rk.PRs), "Changed": changedLines(rk.PRs)}
	if rk.Verdict == playbook.VerdictSuspect && r.Confirmed {
		d["Confirmed"], d["ConfirmedBy"], d["ByKlaxon"] = true, r.ConfirmedBy, r.ConfirmedBy == playbook.ActorKlaxon
	}
	if rk.KnownGood != nil {
		d["GoodSHA"] = shortSHA(rk.KnownGood.SHA)
	}
	head := say(words, "deploys.deploy", d)
	// The pull requests, as many as fit.
	var lines []string
	if rk.Detailed && len(rk.PRs) == 0 && rk.Succeeded() {
		lines = append(lines, say(words, "deploys.pushed_directly", nil))
	}
	room := maxSectionText - utf8.RuneCountInString(head) - 80
	for i, pr := range rk.PRs {
		if i == maxPRLinesPerDeploy {
			lines = append(lines, say(words, "deploys.more_prs", len(rk.PRs)-i))
			break
		}
		l := say(words, "deploys.pr", pr)
		if room -= utf8.RuneCountInString(l) + 1; room < 0 {
			lines = append(lines, say(words, "deploys.more_prs", len(rk.PRs)-i))
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

// span is a window's length in one unit (deploys.span): whole days from
// two days up, whole hours from one hour, else minutes.
type span struct{ Days, Hours, Minutes int64 }

func spanOf(d time.Duration) span {
	d = d.Round(time.Minute)
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return span{Days: int64(d / (24 * time.Hour))}
	case d >= time.Hour && d%time.Hour == 0:
		return span{Hours: int64(d / time.Hour)}
	}
	return span{Minutes: int64(d / time.Minute)}
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
		b.noticeFrom(ctx, inc.Channel.ID, "deploys.linked_cause", map[string]any{"User": cb.User.ID, "SHA": shortSHA(s.SHA), "Repo": s.Repo, "Incident": inc.Number, "Command": b.Command})
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

// DeploysArgError is a word of /incident deploys that is neither a
// service nor a window (NotWindow: it starts like a window but is not one,
// or is not positive); deploys.bad_args says it.
type DeploysArgError struct {
	Word      string
	NotWindow bool
}

func (e *DeploysArgError) Error() string {
	if e.NotWindow {
		return fmt.Sprintf("deploys window %q", e.Word)
	}
	return fmt.Sprintf("deploys argument %q", e.Word)
}

// ParseDeploysArgs reads "[service] [window]" of /incident deploys: a word
// naming a service, and a window as a Go duration or a number of days
// ("3d"). A word that is neither is a *DeploysArgError.
func ParseDeploysArgs(text string, isService func(string) bool) (service string, window time.Duration, err error) {
	for _, w := range strings.Fields(text) {
		switch {
		case service == "" && isService != nil && isService(w):
			service = w
		case window == 0 && looksLikeDuration(w):
			d, derr := parseWindow(w)
			if derr != nil || d <= 0 {
				return "", 0, &DeploysArgError{Word: w, NotWindow: true}
			}
			window = d
		default:
			return "", 0, &DeploysArgError{Word: w}
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
		text := b.errText(err)
		if bad := (*DeploysArgError)(nil); errors.As(err, &bad) {
			text = b.words("deploys.bad_args", map[string]any{"Word": bad.Word, "NotWindow": bad.NotWindow, "Command": b.Command})
		}
		b.ack(req, ephemeral(text), received)
		return
	}
	inc, ierr := b.App.IncidentIn(ctx, sc.ChannelID)
	inIncident := ierr == nil
	if inIncident && service == "" {
		service = inc.Service
	}
	b.ack(req, ephemeral(b.words("deploys.reading", nil)), received)
	rep, err := b.App.RecentDeploys(ctx, service, window)
	if err != nil {
		b.logDomainError("deploys", sc.UserID, err)
		b.tellUser(ctx, sc.ResponseURL, b.errText(err))
		return
	}
	msg := &slack.WebhookMessage{Text: b.words("deploys.title", map[string]any{"Incident": 0}), ResponseType: slack.ResponseTypeEphemeral, ReplaceOriginal: true,
		Blocks: &slack.Blocks{BlockSet: DeployBlocks(b.Templates, rep, 0, nil)}}
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
		b.ack(req, ephemeral(b.words("deploys.cause_usage", map[string]any{"Command": b.Command})), received)
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
		b.noticeFrom(ctx, inc.Channel.ID, "deploys.linked_cause", map[string]any{"User": sc.UserID, "SHA": rec.Short(), "Repo": rec.Repo, "Incident": inc.Number})
	}
}
