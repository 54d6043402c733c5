package bot

import (
	"context"
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
		commands: []subcommand{{Name: "signals", Topic: "alerts", Forms: []form{
			{Usage: "signals", Help: "the latest alert groups, low-confidence and unrouted ones included."}},
			Handle: func(b *Bot, ctx context.Context, req socketmode.Request, _ slack.SlashCommand, _ string, received time.Time) {
				b.onSignals(ctx, req, received)
			}}},
		actions: map[string]actionHandler{actionDeclareGroup: (*Bot).onDeclareGroup},
	})
}

// actionDeclareGroup is the offer's "Declare SEVn" button; its value is the
// signal group's ID.
const actionDeclareGroup = "klaxon_declare_signals"

// maxOfferSignals bounds the signals listed in an offer (a storm of 500
// alerts is one line: "+488 more").
const maxOfferSignals = 12

var _ playbook.Offers = (*Adapter)(nil)

// offerEventType is the event_type of the metadata an offer carries; its
// payload's "key" is the group's offer key.
const offerEventType = "klaxon_offer"

func offerMetadata(o playbook.Offer) slack.SlackMetadata {
	return slack.SlackMetadata{EventType: offerEventType, EventPayload: map[string]any{"key": o.Key, "service": o.Group.Service}}
}

// offerPostAttempts bounds the posts of one offer when answers get lost;
// before each new attempt the channel is searched for the previous one.
const offerPostAttempts = 4

// PostOffer implements playbook.Offers. The message carries the offer's key
// in its metadata. Slack may post a message and still answer with a 5xx, a
// reset or no answer at all: such a failure is not retried blindly (the
// client's own retries would post it twice) but only after the channel's
// latest messages show no offer with that key.
func (a *Adapter) PostOffer(ctx context.Context, channel string, o playbook.Offer) (playbook.MessageRef, error) {
	blocks, text := offerBlocks(o)
	since := a.Clock.Now()
	var err error
	for attempt := range offerPostAttempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return playbook.MessageRef{}, fmt.Errorf("chat.postMessage of the offer: %w (then %w)", err, ctx.Err())
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			}
			m, found, ferr := a.FindOffer(ctx, channel, o.Key, since)
			if ferr != nil {
				return playbook.MessageRef{}, fmt.Errorf("chat.postMessage of the offer: %w; looking for it: %w", err, ferr)
			}
			if found {
				return m, nil
			}
		}
		var ch, ts string
		ch, ts, err = a.API.PostMessageContext(withoutBlindRetries(ctx), channel,
			slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...), slack.MsgOptionMetadata(offerMetadata(o)))
		if err == nil {
			return playbook.MessageRef{Channel: ch, TS: ts}, nil
		}
		if !mayHaveApplied(err) {
			break
		}
	}
	return playbook.MessageRef{}, fmt.Errorf("chat.postMessage of the offer: %w", err)
}

// UpdateOffer implements playbook.Offers: the same message, edited in place
// (its metadata kept).
func (a *Adapter) UpdateOffer(ctx context.Context, m playbook.MessageRef, o playbook.Offer) error {
	blocks, text := offerBlocks(o)
	if _, _, _, err := a.API.UpdateMessageContext(ctx, m.Channel, m.TS, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...), slack.MsgOptionMetadata(offerMetadata(o))); err != nil {
		return fmt.Errorf("chat.update of the offer: %w", err)
	}
	return nil
}

// offerLookWindow bounds the history FindOffer reads around the time a post
// was attempted: the post happened within the attempt's timeouts, and
// Slack's clock may differ a little from Klaxon's.
const (
	offerLookBefore = time.Minute
	offerLookAfter  = 4 * time.Minute
	// offerLookLimit is one page of conversations.history as Slack gives it
	// to every app (Tier 1 allows 15 messages a page).
	offerLookLimit = 15
)

// FindOffer implements playbook.Offers with conversations.history: the
// bot's message whose metadata carries key, among the channel's latest
// messages posted around since.
func (a *Adapter) FindOffer(ctx context.Context, channel, key string, since time.Time) (playbook.MessageRef, bool, error) {
	return a.findPosted(ctx, channel, offerEventType, key, since, since.Add(offerLookAfter))
}

// findPosted looks, with conversations.history, for the bot's message
// whose metadata has eventType and key, among the channel's latest
// messages posted between since (less offerLookBefore, for clocks that
// differ) and until.
func (a *Adapter) findPosted(ctx context.Context, channel, eventType, key string, since, until time.Time) (playbook.MessageRef, bool, error) {
	resp, err := a.API.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
		ChannelID: channel, IncludeAllMetadata: true, Inclusive: true, Limit: offerLookLimit,
		Oldest: slackTS(since.Add(-offerLookBefore)), Latest: slackTS(until),
	})
	if err != nil {
		return playbook.MessageRef{}, false, fmt.Errorf("conversations.history: %w", err)
	}
	for _, m := range resp.Messages {
		if m.Metadata.EventType == eventType && m.Metadata.EventPayload["key"] == key && (m.User == a.BotUserID || m.BotID != "") {
			return playbook.MessageRef{Channel: channel, TS: m.Timestamp}, true, nil
		}
	}
	return playbook.MessageRef{}, false, nil
}

// slackTS formats t as a Slack message timestamp.
func slackTS(t time.Time) string {
	us := t.UnixMicro()
	if us < 0 {
		us = 0
	}
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}

var confidenceWords = map[playbook.Reason]string{
	playbook.ReasonBurnRate:     "the SLO burn rate is at or over the paging threshold",
	playbook.ReasonSynthetic:    "a synthetic check fails on an external user path",
	playbook.ReasonErrLatDeploy: "error rate and latency both fire right after a deploy",
	playbook.ReasonTwoKinds:     "signals of two kinds or more",
	playbook.ReasonBurnLow:      "the SLO is burning, below the paging threshold",
	playbook.ReasonSingle:       "a single kind of signal",
	playbook.ReasonHeightened:   "inside a deploy's heightened window (threshold lowered)",
	playbook.ReasonAllResolved:  "every alert has resolved",
}

// offerBlocks renders an offer: what fired, the deploy, the confidence, and
// the Declare button (or, once declared, the incident).
func offerBlocks(o playbook.Offer) ([]slack.Block, string) {
	g, as := o.Group, o.Group.Assessment
	sev := as.Severity
	if !sev.Valid() {
		sev = playbook.SEV3
	}
	firing := len(g.Firing())
	head := fmt.Sprintf(":rotating_light: Alerts on *%s* · %s confidence · %d firing of %d", templates.Escape(g.Service), as.Confidence, firing, len(g.Signals))
	var why []string
	for _, r := range as.Reasons {
		if w, ok := confidenceWords[r]; ok {
			why = append(why, w)
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s\n*First anomaly:* %s · *Why:* %s", head, templates.SlackDate(g.Start), strings.Join(why, "; "))
	if as.BurnRate > 0 {
		fmt.Fprintf(&sb, "\n*Burn rate:* %s× (threshold %s×)", trimFloat(as.BurnRate), trimFloat(as.Threshold))
	}
	if d := as.Deploy; d != nil {
		sha := d.SHA
		if len(sha) > 7 {
			sha = sha[:7]
		}
		fmt.Fprintf(&sb, "\n*Deploy:* `%s` at %s", templates.Escape(sha), templates.SlackDate(d.At))
		if d.Creator != "" {
			fmt.Fprintf(&sb, " by %s", templates.Escape(templates.Truncate(60, d.Creator)))
		}
	}
	var lines []string
	for i, s := range g.Signals {
		if i == maxOfferSignals {
			lines = append(lines, fmt.Sprintf("… and %d more", len(g.Signals)-maxOfferSignals))
			break
		}
		state := ":red_circle:"
		if !s.Firing() {
			state = ":white_check_mark:"
		}
		line := fmt.Sprintf("%s *%s* (%s) since %s", state, templates.Escape(templates.Truncate(80, s.Name)), s.Kind, templates.SlackDate(s.StartsAt))
		if s.Summary != "" {
			line += ": " + templates.Escape(templates.Truncate(120, s.Summary))
		}
		lines = append(lines, line)
	}
	blocks := []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, templates.Truncate(maxSectionText, sb.String()), false, false), nil, nil),
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, templates.Truncate(maxSectionText, strings.Join(lines, "\n")), false, false), nil, nil),
	}
	text := fmt.Sprintf("Alerts on %s: %s confidence", g.Service, as.Confidence)
	if inc := o.Incident; inc != nil {
		who := "Klaxon (auto_declare)"
		if inc.Declarer != playbook.ActorKlaxon {
			who = "<@" + inc.Declarer + ">"
		}
		where := ""
		if inc.Channel.ID != "" {
			where = " in <#" + inc.Channel.ID + ">"
		}
		blocks = append(blocks, slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType,
			fmt.Sprintf(":white_check_mark: Declared as %s incident #%d by %s%s. Later alerts of %s go to its timeline.", inc.Severity, inc.Number, who, where, templates.Escape(g.Service)), false, false)))
		return blocks, text + fmt.Sprintf(" (declared #%d)", inc.Number)
	}
	btn := slack.NewButtonBlockElement(actionDeclareGroup, strconv.FormatInt(g.ID, 10), plainText("Declare "+sev.String()))
	btn.Style = slack.StyleDanger
	blocks = append(blocks, slack.NewActionBlock("offer_actions", btn))
	return blocks, text
}

func trimFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// onDeclareGroup handles a click on the offer's Declare button.
func (b *Bot) onDeclareGroup(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
	b.ack(req, nil, received)
	id, err := strconv.ParseInt(act.Value, 10, 64)
	if err != nil {
		return
	}
	inc, created, err := b.App.DeclareFromGroup(ctx, id, cb.User.ID, false)
	switch {
	case err != nil:
		b.tellUser(ctx, cb.ResponseURL, b.errText(err))
		b.logDomainError("declare from alerts", cb.User.ID, err)
		return
	case !created:
		b.tellUser(ctx, cb.ResponseURL, fmt.Sprintf("These alerts are already incident #%d.", inc.Number))
		return
	}
	b.Metrics.declared(inc.Severity)
	res, err := b.App.SetUp(ctx, inc.Number)
	b.Metrics.ready(time.Since(received))
	b.tellDeclarer(ctx, cb.ResponseURL, res, err)
}

// onSignals handles "/incident signals": the latest alert groups, low and
// unrouted ones included (they are never offered in the triage channel).
func (b *Bot) onSignals(ctx context.Context, req socketmode.Request, received time.Time) {
	gs, err := b.App.RecentSignals(ctx, 15)
	if err != nil {
		b.ack(req, ephemeral(b.errText(err)), received)
		return
	}
	b.ack(req, ephemeral(SignalsText(gs)), received)
}

// SignalsText lists alert groups, newest first, one line each.
func SignalsText(gs []playbook.SignalGroup) string {
	if len(gs) == 0 {
		return "No alerts received yet."
	}
	var sb strings.Builder
	sb.WriteString("*Latest alert groups* (newest first):\n")
	for _, g := range gs {
		svc := g.Service
		if svc == "" {
			svc = "unrouted"
		}
		state := "live"
		switch {
		case g.Incident != 0:
			state = fmt.Sprintf("incident #%d", g.Incident)
		case !g.Live():
			state = "ended"
		}
		kinds := make([]string, 0, len(g.Assessment.Kinds))
		for _, k := range g.Assessment.Kinds {
			kinds = append(kinds, string(k))
		}
		fmt.Fprintf(&sb, "• *%s* · %s confidence · %d signals (%d firing; %s) · first anomaly %s · %s\n",
			templates.Escape(svc), g.Assessment.Confidence, len(g.Signals), len(g.Firing()), strings.Join(kinds, ", "), templates.SlackDate(g.Start), state)
		if sb.Len() > 2800 {
			sb.WriteString("…")
			break
		}
	}
	return sb.String()
}
