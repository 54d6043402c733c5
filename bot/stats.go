package bot

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/report"
	"github.com/klaxonhq/klaxon/templates"
)

func init() {
	register(feature{commands: []subcommand{{Name: "stats", Topic: "reports", Handle: (*Bot).onStats, Forms: []form{
		{Usage: "stats [7d|30d|12w] [service]", Help: "MTTR by severity and phase, the bottleneck and the other figures (only you see them)."}}}}})
}

// statsDefaultSpan is /incident stats' window when none is typed.
const statsDefaultSpan = 30 * 24 * time.Hour

// parseStatsArgs reads "[7d|30d|12w] [service]" in any order.
func parseStatsArgs(text string) (span time.Duration, service string, err error) {
	span = statsDefaultSpan
	for _, w := range strings.Fields(text) {
		if d, perr := playbook.ParseSpan(w, 0); perr == nil {
			span = d
			continue
		} else if len(w) > 1 && (w[0] >= '0' && w[0] <= '9') {
			return 0, "", perr
		}
		if service != "" {
			return 0, "", playbook.Fail(playbook.CodeBadInput, playbook.ReasonStatsTooManyArgs, playbook.FieldWindow, playbook.ErrorArgs{})
		}
		service = strings.ToLower(w)
	}
	return span, service, nil
}

// onStats answers "/incident stats [7d|30d|12w] [service]": the figures over
// the window, the bottleneck named, only to the person who asked.
func (b *Bot) onStats(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) {
	span, service, err := parseStatsArgs(Plain(arg))
	if err == nil {
		var f playbook.Figures
		f, err = b.App.Figures(ctx, playbook.FigureQuery{Window: playbook.WindowEnding(b.App.Now(), span), Service: service})
		if err == nil {
			blocks := statsBlocks(f, "")
			b.ack(req, map[string]any{"response_type": "ephemeral", "text": report.Title(f), "blocks": blocks}, received)
			return
		}
	}
	b.ack(req, ephemeral(b.errText(err)), received)
	b.logDomainError("stats", sc.UserID, err)
}

// statsBlocks renders the figures for Slack within Block Kit's limits: a
// header, the counts, one section per group of figures (each under 3,000
// characters), the bottleneck. prev, when not empty, is a previous period's
// figures to compare MTTR with.
func statsBlocks(f playbook.Figures, title string) []slack.Block {
	if title == "" {
		title = report.Title(f)
	}
	blocks := []slack.Block{slack.NewHeaderBlock(plainText(templates.Truncate(150, title)))}
	if f.Empty() {
		blocks = append(blocks, mrkdwnSection("No incidents in this window."))
	} else {
		var sev []string
		for _, s := range playbook.Severities {
			sev = append(sev, fmt.Sprintf("%s %d", s, f.BySeverity[s]))
		}
		blocks = append(blocks, mrkdwnSection(fmt.Sprintf("*%d incidents* (%d open) · %s", f.Total, f.Open, strings.Join(sev, " · "))))
	}
	blocks = append(blocks, mrkdwnSection("*"+templates.Escape(report.BottleneckText(f))+"*"))
	var durations []string
	durations = append(durations, fmt.Sprintf("*MTTD* (first anomaly → alert, %d of %d incidents recorded one): %s · target %s",
		f.MTTD.Count, f.Total, report.StatText(f.MTTD), report.TargetText(f.MTTD)))
	durations = append(durations, fmt.Sprintf("*MTTA* (declared → acknowledged): %s · target %s", report.StatText(f.MTTA), report.TargetText(f.MTTA)))
	for _, s := range playbook.Severities {
		durations = append(durations, fmt.Sprintf("*MTTR %s*: %s · target %s", s, report.StatText(f.MTTR[s]), report.TargetText(f.MTTR[s])))
	}
	blocks = append(blocks, mrkdwnSection(templates.Truncate(3000, strings.Join(durations, "\n"))))
	var phases []string
	for i, pt := range playbook.PhaseTargets {
		phases = append(phases, fmt.Sprintf("*%s*: %s · target %s", pt.Name, report.StatText(f.All[i]), report.TargetText(f.All[i])))
	}
	blocks = append(blocks, mrkdwnSection(templates.Truncate(3000, "Phases, all severities (P1 targets):\n"+strings.Join(phases, "\n"))))
	var lines []string
	for _, l := range report.Lines(f) {
		lines = append(lines, "• "+templates.Escape(l))
	}
	blocks = append(blocks, mrkdwnSection(templates.Truncate(3000, strings.Join(lines, "\n"))))
	return blocks
}

func mrkdwnSection(s string) *slack.SectionBlock {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, s, false, false), nil, nil)
}

// chartCache remembers the last chart uploaded, so the App Home shows it
// without uploading a new file each time someone opens the tab.
type chartCache struct {
	mu     sync.Mutex
	fileID string
	at     time.Time
}

// chartMaxAge is how long an uploaded chart is shown before a new one is drawn.
const chartMaxAge = time.Hour

// uploadChart draws the chart of f and uploads it with files.uploadV2,
// shared in channelID (or kept private to Klaxon when channelID is empty),
// and remembers it for the App Home.
func (b *Bot) uploadChart(ctx context.Context, f playbook.Figures, channelID, comment string) (string, error) {
	png, err := report.NewChart(f).PNG()
	if err != nil {
		return "", err
	}
	name := "klaxon-mttr-" + f.Query.Window.To.Format("2006-01-02") + ".png"
	u, err := b.API.GetUploadURLExternalContext(ctx, slack.GetUploadURLExternalParameters{FileName: name, FileSize: len(png),
		AltTxt: "Time to restore per week, stacked by phase, one panel per severity"})
	if err != nil {
		return "", fmt.Errorf("files.getUploadURLExternal: %w", err)
	}
	if err := b.API.UploadToURL(ctx, slack.UploadToURLParameters{UploadURL: u.UploadURL, Reader: bytes.NewReader(png), Filename: name}); err != nil {
		return "", fmt.Errorf("uploading the chart: %w", err)
	}
	if _, err := b.API.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{
		Files: []slack.FileSummary{{ID: u.FileID, Title: "MTTR by phase, last 12 weeks"}}, Channel: channelID, InitialComment: comment,
	}); err != nil {
		return "", fmt.Errorf("files.completeUploadExternal: %w", err)
	}
	b.chart.mu.Lock()
	b.chart.fileID, b.chart.at = u.FileID, b.App.Now()
	b.chart.mu.Unlock()
	return u.FileID, nil
}

// homeChart returns a chart file for the App Home: the last one uploaded
// when it is recent, else a new one (not shared in any channel).
func (b *Bot) homeChart(ctx context.Context, f playbook.Figures) string {
	b.chart.mu.Lock()
	id, at := b.chart.fileID, b.chart.at
	b.chart.mu.Unlock()
	if id != "" && b.App.Now().Sub(at) < chartMaxAge {
		return id
	}
	id, err := b.uploadChart(ctx, f, "", "")
	if err != nil {
		b.log().Warn("uploading the chart for the App Home", "err", err)
		return ""
	}
	return id
}

// Digest posts the weekly digest in channelID at now: the week's figures
// against the targets and the previous week, the chart of the last 12
// weeks, the post-mortems overdue, the action items overdue with their
// owners. Private incidents are counted but never named.
func (b *Bot) Digest(ctx context.Context, channelID string, now time.Time) error {
	week, err := b.App.Figures(ctx, playbook.FigureQuery{Window: playbook.WindowEnding(now, playbook.Week)})
	if err != nil {
		return err
	}
	prev, err := b.App.Figures(ctx, playbook.FigureQuery{Window: playbook.WindowEnding(now.Add(-playbook.Week), playbook.Week)})
	if err != nil {
		return err
	}
	trend, err := b.App.Figures(ctx, playbook.FigureQuery{Window: playbook.WindowEnding(now, 12*playbook.Week)})
	if err != nil {
		return err
	}
	blocks := digestBlocks(week, prev, trend)
	if _, _, err := b.API.PostMessageContext(ctx, channelID, slack.MsgOptionText("Weekly incident digest: "+report.Title(week), false),
		slack.MsgOptionBlocks(blocks...)); err != nil {
		return fmt.Errorf("posting the digest: %w", err)
	}
	if _, err := b.uploadChart(ctx, trend, channelID, "Time to restore per week, by phase, last 12 weeks (one panel per severity; lines: targets)."); err != nil {
		return fmt.Errorf("uploading the digest's chart: %w", err)
	}
	return nil
}

// maxDigestListed bounds each overdue list (the rest is counted).
const maxDigestListed = 15

// digestBlocks renders the digest, within 50 blocks and 3,000 characters a section.
func digestBlocks(week, prev, trend playbook.Figures) []slack.Block {
	blocks := statsBlocks(week, "Weekly incident digest, "+week.Query.Window.From.Format("Jan 2")+" – "+week.Query.Window.To.Format("Jan 2"))
	var cmp []string
	cmp = append(cmp, fmt.Sprintf("Incidents: %d this week, %d the week before", week.Total, prev.Total))
	for _, s := range playbook.Severities {
		w, p := week.MTTR[s], prev.MTTR[s]
		if w.Count == 0 && p.Count == 0 {
			continue
		}
		line := fmt.Sprintf("MTTR %s: %s", s, meanOr(w))
		switch {
		case w.Count > 0 && p.Count > 0 && w.Mean < p.Mean:
			line += fmt.Sprintf(", down from %s", meanOr(p))
		case w.Count > 0 && p.Count > 0 && w.Mean > p.Mean:
			line += fmt.Sprintf(", up from %s", meanOr(p))
		default:
			line += fmt.Sprintf(" (the week before: %s)", meanOr(p))
		}
		cmp = append(cmp, line)
	}
	blocks = append(blocks, mrkdwnSection("*Against the previous week*\n"+strings.Join(cmp, "\n")))
	blocks = append(blocks, mrkdwnSection(templates.Truncate(3000, "*Last 12 weeks*: "+templates.Escape(report.BottleneckText(trend))+
		fmt.Sprintf("; %.1f SEV1+SEV2 a week", trend.Frequency.PerWeek))))
	blocks = append(blocks, mrkdwnSection(overduePostmortems(trend.Postmortems.OverdueList)))
	blocks = append(blocks, mrkdwnSection(overdueActions(trend.Actions.OverdueList)))
	return blocks
}

func meanOr(s playbook.Stat) string {
	if s.Count == 0 {
		return report.NoSample
	}
	return playbook.HumanDuration(s.Mean.Round(time.Second))
}

func overduePostmortems(list []playbook.OverduePostmortem) string {
	return overdueList("Post-mortems overdue", list, func(p playbook.OverduePostmortem) bool { return p.Private }, func(p playbook.OverduePostmortem) string {
		who := "no commander"
		if p.Commander != "" {
			who = "<@" + p.Commander + ">"
		}
		return fmt.Sprintf("• #%d %s, due <!date^%d^{date_short}|%s>, %s", p.Incident, p.Severity, p.Due.Unix(), p.Due.Format("2006-01-02"), who)
	})
}

func overdueActions(list []playbook.OverdueAction) string {
	return overdueList("Action items overdue", list, func(a playbook.OverdueAction) bool { return a.Private }, func(a playbook.OverdueAction) string {
		return fmt.Sprintf("• #%d item %d, due %s, <@%s>", a.Incident, a.Item, a.Due, a.Owner)
	})
}

// overdueList says how many are overdue and lists up to maxDigestListed of
// them; those of private incidents are counted, never named.
func overdueList[T any](title string, list []T, private func(T) bool, line func(T) string) string {
	if len(list) == 0 {
		return "*" + title + "*: none :white_check_mark:"
	}
	var lines []string
	hidden := 0
	for _, it := range list {
		switch {
		case private(it):
			hidden++
		case len(lines) < maxDigestListed:
			lines = append(lines, line(it))
		}
	}
	out := fmt.Sprintf("*%s*: %d\n%s", title, len(list), strings.Join(lines, "\n"))
	if rest := len(list) - hidden - len(lines); rest > 0 {
		out += fmt.Sprintf("\n…and %d more", rest)
	}
	if hidden > 0 {
		out += fmt.Sprintf("\n%d of private incidents (not named here)", hidden)
	}
	return templates.Truncate(3000, out)
}

// Schedule is when a calendar job runs next (robfig/cron's cron.Schedule).
type Schedule interface {
	Next(time.Time) time.Time
}

// RunDigest posts the digest in channelID each time sched comes due, read
// in loc, until ctx ends. Time comes from the App's clock and after (the
// real time.After in production, a fake in tests), so a test drives the job
// through the real schedule without waiting. A digest missed while Klaxon
// was down is not posted late.
func (b *Bot) RunDigest(ctx context.Context, channelID string, sched Schedule, loc *time.Location, after func(time.Duration) <-chan time.Time) {
	for {
		now := b.App.Now()
		next := sched.Next(now.In(loc))
		select {
		case <-ctx.Done():
			return
		case <-after(next.Sub(now)):
		}
		if err := b.Digest(ctx, channelID, next.UTC()); err != nil && ctx.Err() == nil {
			b.log().Error("weekly digest", "channel", channelID, "err", err)
		} else if err == nil {
			b.log().Info("weekly digest posted", "channel", channelID)
		}
	}
}
