package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

// The App Home tab: the open incidents (private ones only to their
// channel's members), the last 12 weeks' figures and the chart, published
// with views.publish when someone opens the tab.

const (
	// maxHomeBlocks is Slack's limit for a Home tab.
	maxHomeBlocks = 100
	// maxHomeListed bounds the incidents listed one by one; the rest is
	// counted ("and N more").
	maxHomeListed = 100
	// homeLinesPerSection keeps each section well under 3,000 characters.
	homeLinesPerSection = 10
)

// PrivateChannelsOf returns the private channels user is in
// (users.conversations, paginated), to show them their private incidents in
// one or a few calls instead of one per incident.
func (a *Adapter) PrivateChannelsOf(ctx context.Context, user string) (map[string]bool, error) {
	out := map[string]bool{}
	cursor := ""
	for range maxListPages {
		chans, next, err := a.API.GetConversationsForUserContext(ctx, &slack.GetConversationsForUserParameters{
			UserID: user, Types: []string{"private_channel"}, Limit: 1000, Cursor: cursor, ExcludeArchived: true})
		if err != nil {
			return nil, fmt.Errorf("users.conversations: %w", err)
		}
		for _, c := range chans {
			out[c.ID] = true
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return out, nil
}

// onHomeEvent publishes the Home tab when someone opens it (after the ack).
func (b *Bot) onHomeEvent(ctx context.Context, ev slackevents.EventsAPIEvent) {
	if e, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent); ok && e.Tab == "home" {
		if err := b.publishHome(ctx, e.User); err != nil {
			b.log().Warn("publishing the App Home", "user", e.User, "err", err)
		}
	}
}

// publishHome publishes user's Home tab.
func (b *Bot) publishHome(ctx context.Context, user string) error {
	now := b.App.Now()
	open, err := b.App.OpenIncidentsFor(ctx, playbook.Viewer{User: user})
	if err != nil {
		return err
	}
	f, err := b.App.Figures(ctx, playbook.FigureQuery{Window: playbook.WindowEnding(now, 12*playbook.Week)})
	if err != nil {
		return err
	}
	chart := b.homeChart(ctx, f)
	view := homeView(b.tmpl(), open, f, chart, now)
	// The deploy watchdog's open windows follow the open incidents.
	if ws, err := b.App.OpenWindows(ctx, now); err != nil {
		b.log().Warn("reading the open deploy watch windows for the App Home", "err", err)
	} else if len(ws) > 0 {
		view.Blocks.BlockSet = slices.Insert(view.Blocks.BlockSet, homeWindowsAt(view.Blocks.BlockSet), WindowBlocks(b.Templates, ws)...)
	}
	if len(view.Blocks.BlockSet) > maxHomeBlocks {
		view.Blocks.BlockSet = view.Blocks.BlockSet[:maxHomeBlocks]
	}
	_, err = b.API.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: user, View: view})
	return err
}

// homeWindowsAt is where the watch windows go in the Home tab's blocks:
// before the first divider (after the open incidents).
func homeWindowsAt(blocks []slack.Block) int {
	for i, bl := range blocks {
		if bl.BlockType() == slack.MBTDivider {
			return i
		}
	}
	return len(blocks)
}

// homeView builds the Home tab: at most maxHomeBlocks blocks whatever the
// number of open incidents.
func homeView(set *templates.Set, open []playbook.Incident, f playbook.Figures, chartFileID string, now time.Time) slack.HomeTabViewRequest {
	say := func(name string, data any) string { text, _ := set.Render(name, data); return text }
	slices.SortFunc(open, func(x, y playbook.Incident) int {
		if x.Severity != y.Severity {
			return int(x.Severity - y.Severity)
		}
		return int(y.Number - x.Number)
	})
	blocks := []slack.Block{slack.NewHeaderBlock(plainText(say("home.header", len(open))))}
	if len(open) == 0 {
		blocks = append(blocks, mrkdwnSection(say("home.none", nil)))
	}
	var lines []string
	for i, inc := range open {
		if i == maxHomeListed {
			break
		}
		d := map[string]any{"Incident": inc, "Now": now}
		if at := inc.DeclaredAt(); !at.IsZero() {
			d["Aged"], d["Age"] = true, now.Sub(at).Truncate(time.Minute)
		}
		lines = append(lines, say("home.line", d))
	}
	for len(lines) > 0 {
		n := min(homeLinesPerSection, len(lines))
		blocks = append(blocks, mrkdwnSection(templates.Truncate(3000, strings.Join(lines[:n], "\n"))))
		lines = lines[n:]
	}
	if rest := len(open) - maxHomeListed; rest > 0 {
		blocks = append(blocks, slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType,
			say("home.more", rest), false, false)))
	}
	blocks = append(blocks, slack.NewDividerBlock())
	blocks = append(blocks, statsBlocks(set, f, say("home.figures_title", nil))...)
	if chartFileID != "" {
		blocks = append(blocks, slack.NewImageBlockSlackFile(&slack.SlackFileObject{ID: chartFileID},
			say("home.chart_alt", nil), "chart", plainText(say("home.chart_title", nil))))
	}
	blocks = append(blocks, slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType,
		say("home.updated", map[string]any{"Now": now}), false, false)))
	if len(blocks) > maxHomeBlocks {
		blocks = blocks[:maxHomeBlocks]
	}
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}}
}
