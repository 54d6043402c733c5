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
			{Usage: "signals", Key: "signals"}},
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
	blocks, text := offerBlocks(a.Templates, o)
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
	blocks, text := offerBlocks(a.Templates, o)
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

// offerBlocks renders an offer with words (signals.tmpl): what fired, the
// deploy, the confidence, and the Declare button (or, once declared, the
// incident).
func offerBlocks(words *templates.Set, o playbook.Offer) ([]slack.Block, string) {
	g, as := o.Group, o.Group.Assessment
	sev := as.Severity
	if !sev.Valid() {
		sev = playbook.SEV3
	}
	d := map[string]any{"Group": g, "Firing": len(g.Firing()), "BurnRate": "", "Threshold": ""}
	var why []string
	for _, r := range as.Reasons {
		if w := say(words, "signals.reason", r); w != "" {
			why = append(why, w)
		}
	}
	d["Why"] = why
	if as.BurnRate > 0 {
		d["BurnRate"], d["Threshold"] = trimFloat(as.BurnRate), trimFloat(as.Threshold)
	}
	if as.Deploy != nil {
		d["DeploySHA"] = shortSHA(as.Deploy.SHA)
	}
	var lines []string
	for i, s := range g.Signals {
		if i == maxOfferSignals {
			lines = append(lines, say(words, "signals.more", len(g.Signals)-maxOfferSignals))
			break
		}
		lines = append(lines, say(words, "signals.signal", s))
	}
	blocks := []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, templates.Truncate(maxSectionText, say(words, "signals.offer", d)), false, false), nil, nil),
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, templates.Truncate(maxSectionText, strings.Join(lines, "\n")), false, false), nil, nil),
	}
	if inc := o.Incident; inc != nil {
		blocks = append(blocks, slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType,
			say(words, "signals.declared", map[string]any{"Incident": inc, "ByKlaxon": inc.Declarer == playbook.ActorKlaxon, "Service": g.Service}), false, false)))
		return blocks, say(words, "signals.offer_text", map[string]any{"Group": g, "Declared": inc.Number})
	}
	btn := slack.NewButtonBlockElement(actionDeclareGroup, strconv.FormatInt(g.ID, 10), plainText(say(words, "signals.declare_button", sev)))
	btn.Style = slack.StyleDanger
	blocks = append(blocks, slack.NewActionBlock("offer_actions", btn))
	return blocks, say(words, "signals.offer_text", map[string]any{"Group": g, "Declared": 0})
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
		b.logDomainError("offer declaration", cb.User.ID, err)
		return
	case !created:
		b.tellUser(ctx, cb.ResponseURL, b.words("signals.already_declared", inc.Number))
		return
	}
	b.Metrics.declared(inc.Severity)
	res, err := b.App.SetUp(ctx, inc.Number)
	b.Metrics.ready(time.Since(received))
	b.tellDeclarer(ctx, cb.ResponseURL, res, err, false)
}

// onSignals handles "/incident signals": the latest alert groups, low and
// unrouted ones included (they are never offered in the triage channel).
func (b *Bot) onSignals(ctx context.Context, req socketmode.Request, received time.Time) {
	gs, err := b.App.RecentSignals(ctx, 15)
	if err != nil {
		b.ack(req, ephemeral(b.errText(err)), received)
		return
	}
	b.ack(req, ephemeral(SignalsText(b.Templates, gs)), received)
}

// maxSignalsText bounds the /incident signals answer: the group that
// crosses it is the last one listed.
const maxSignalsText = 2800

// SignalsText lists alert groups with words (signals.list), newest first,
// one line each.
func SignalsText(words *templates.Set, gs []playbook.SignalGroup) string {
	var lines []string
	for i := range gs {
		lines = append(lines, say(words, "signals.group", &gs[i]))
		if len(say(words, "signals.list", map[string]any{"Lines": lines}))+1 > maxSignalsText {
			return say(words, "signals.list", map[string]any{"Lines": lines, "Cut": true})
		}
	}
	return say(words, "signals.list", map[string]any{"Lines": lines})
}
