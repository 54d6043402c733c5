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
		{Usage: "stats [7d|30d|12w] [service]", Key: "stats"}}}}})
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
			blocks := statsBlocks(b.Templates, f, "")
			b.ack(req, map[string]any{"response_type": "ephemeral", "text": report.Title(f), "blocks": blocks}, received)
			return
		}
	}
	b.ack(req, ephemeral(b.errText(err)), received)
	b.logDomainError("stats", sc.UserID, err)
}

// statRow is a figure in words for stats.tmpl: a name, its value and its
// target (worded by report).
type statRow struct{ Name, Text, Target string }

func rowOf(name string, s playbook.Stat) statRow {
	return statRow{Name: name, Text: report.StatText(s), Target: report.TargetText(s)}
}

// statsBlocks renders the figures for Slack with words (stats.tmpl) within
// Block Kit's limits: a header, the counts, one section per group of
// figures (each under 3,000 characters), the bottleneck.
func statsBlocks(words *templates.Set, f playbook.Figures, title string) []slack.Block {
	if title == "" {
		title = report.Title(f)
	}
	blocks := []slack.Block{slack.NewHeaderBlock(plainText(templates.Truncate(150, title)))}
	if f.Empty() {
		blocks = append(blocks, mrkdwnSection(say(words, "stats.empty", nil)))
	} else {
		blocks = append(blocks, mrkdwnSection(say(words, "stats.counts", map[string]any{"Total": f.Total, "Open": f.Open, "Severities": playbook.Severities, "BySeverity": f.BySeverity})))
	}
	blocks = append(blocks, mrkdwnSection(say(words, "stats.bottleneck", report.BottleneckText(f))))
	var mttr []statRow
	for _, s := range playbook.Severities {
		mttr = append(mttr, rowOf(s.String(), f.MTTR[s]))
	}
	blocks = append(blocks, mrkdwnSection(templates.Truncate(3000, say(words, "stats.durations", map[string]any{
		"Total": f.Total, "MTTDCount": f.MTTD.Count, "MTTD": rowOf("MTTD", f.MTTD), "MTTA": rowOf("MTTA", f.MTTA), "MTTR": mttr}))))
	var phases []statRow
	for i, pt := range playbook.PhaseTargets {
		phases = append(phases, rowOf(pt.Name, f.All[i]))
	}
	blocks = append(blocks, mrkdwnSection(templates.Truncate(3000, say(words, "stats.phases", phases))))
	blocks = append(blocks, mrkdwnSection(templates.Truncate(3000, say(words, "stats.lines", report.Lines(f)))))
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
		AltTxt: b.words("stats.chart_alt", nil)})
	if err != nil {
		return "", fmt.Errorf("files.getUploadURLExternal: %w", err)
	}
	if err := b.API.UploadToURL(ctx, slack.UploadToURLParameters{UploadURL: u.UploadURL, Reader: bytes.NewReader(png), Filename: name}); err != nil {
		return "", fmt.Errorf("uploading the chart: %w", err)
	}
	if _, err := b.API.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{
		Files: []slack.FileSummary{{ID: u.FileID, Title: b.words("stats.chart_title", nil)}}, Channel: channelID, InitialComment: comment,
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
	blocks := digestBlocks(b.Templates, week, prev, trend)
	if _, _, err := b.API.PostMessageContext(ctx, channelID, slack.MsgOptionText(b.words("stats.digest_text", report.Title(week)), false),
		slack.MsgOptionBlocks(blocks...)); err != nil {
		return fmt.Errorf("posting the digest: %w", err)
	}
	if _, err := b.uploadChart(ctx, trend, channelID, b.words("stats.chart_comment", nil)); err != nil {
		return fmt.Errorf("uploading the digest's chart: %w", err)
	}
	return nil
}

// maxDigestListed bounds each overdue list (the rest is counted).
const maxDigestListed = 15

// digestBlocks renders the digest with words (stats.tmpl), within 50
// blocks and 3,000 characters a section.
func digestBlocks(words *templates.Set, week, prev, trend playbook.Figures) []slack.Block {
	w := week.Query.Window
	blocks := statsBlocks(words, week, say(words, "stats.digest_title", map[string]any{"From": w.From, "To": w.To}))
	type compare struct {
		Name, Week, Prev string
		Down, Up         bool
	}
	var rows []compare
	for _, s := range playbook.Severities {
		w, p := week.MTTR[s], prev.MTTR[s]
		if w.Count == 0 && p.Count == 0 {
			continue
		}
		both := w.Count > 0 && p.Count > 0
		rows = append(rows, compare{Name: s.String(), Week: meanOr(w), Prev: meanOr(p), Down: both && w.Mean < p.Mean, Up: both && w.Mean > p.Mean})
	}
	blocks = append(blocks, mrkdwnSection(say(words, "stats.digest_compare", map[string]any{"Week": week.Total, "Prev": prev.Total, "Rows": rows})))
	blocks = append(blocks, mrkdwnSection(templates.Truncate(3000, say(words, "stats.digest_trend",
		map[string]any{"Bottleneck": report.BottleneckText(trend), "PerWeek": trend.Frequency.PerWeek}))))
	blocks = append(blocks, mrkdwnSection(overdue(words, "stats.overdue_postmortems", trend.Postmortems.OverdueList, func(p playbook.OverduePostmortem) bool { return p.Private })))
	blocks = append(blocks, mrkdwnSection(overdue(words, "stats.overdue_actions", trend.Actions.OverdueList, func(a playbook.OverdueAction) bool { return a.Private })))
	return blocks
}

func meanOr(s playbook.Stat) string {
	if s.Count == 0 {
		return report.NoSample
	}
	return playbook.HumanDuration(s.Mean.Round(time.Second))
}

// overdue renders an overdue list with template name: how many are
// overdue, up to maxDigestListed of them named; those of private
// incidents are counted, never named.
func overdue[T any](words *templates.Set, name string, list []T, private func(T) bool) string {
	var listed []T
	hidden := 0
	for _, it := range list {
		switch {
		case private(it):
			hidden++
		case len(listed) < maxDigestListed:
			listed = append(listed, it)
		}
	}
	return templates.Truncate(3000, say(words, name, map[string]any{"Total": len(list), "Listed": listed, "More": len(list) - hidden - len(listed), "Hidden": hidden}))
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
