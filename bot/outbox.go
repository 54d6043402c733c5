package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/klaxonhq/klaxon/playbook"
)

// intentEventType is the event_type of the metadata carried by the
// messages Klaxon posts from its outbox; the payload's "key" is the outbox
// message's key.
const intentEventType = "klaxon_intent"

// postMessage posts a message. Under an outbox delivery (the App delivering
// a stored message, playbook.DeliveryOf) the message carries the
// delivery's key in its metadata and is not retried blindly, and a later
// attempt first looks among the channel's latest messages for the one an
// earlier attempt posted (Slack may have posted it and lost the answer:
// a 5xx, a cut connection, a kill before the outcome was stored), so it
// appears once. thread is the thread the message is posted in (its
// MsgOptionTS), or "": a thread reply is looked for with
// conversations.replies, which sees replies history does not show. Other
// posts are sent as they always were.
func (a *Adapter) postMessage(ctx context.Context, channel, thread string, opts ...slack.MsgOption) (string, string, error) {
	d, ok := playbook.DeliveryOf(ctx)
	if !ok {
		return a.API.PostMessageContext(ctx, channel, opts...)
	}
	if d.Attempt > 1 {
		find := a.findPosted
		if thread != "" {
			find = a.findReply(thread)
		}
		m, found, err := find(ctx, channel, intentEventType, d.Key, d.Since, d.Until.Add(offerLookBefore))
		if err != nil {
			return "", "", fmt.Errorf("looking for the earlier attempt's message: %w", err)
		}
		if found {
			return m.Channel, m.TS, nil
		}
	}
	opts = append(opts, slack.MsgOptionMetadata(slack.SlackMetadata{EventType: intentEventType, EventPayload: map[string]any{"key": d.Key}}))
	return a.API.PostMessageContext(withoutBlindRetries(ctx), channel, opts...)
}

// findReply is findPosted for the replies of one thread, with
// conversations.replies (oldest first: the earlier attempt's reply comes
// soon after since).
func (a *Adapter) findReply(thread string) func(ctx context.Context, channel, eventType, key string, since, until time.Time) (playbook.MessageRef, bool, error) {
	return func(ctx context.Context, channel, eventType, key string, since, until time.Time) (playbook.MessageRef, bool, error) {
		msgs, _, _, err := a.API.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
			ChannelID: channel, Timestamp: thread, IncludeAllMetadata: true, Inclusive: true, Limit: offerLookLimit,
			Oldest: slackTS(since.Add(-offerLookBefore)), Latest: slackTS(until),
		})
		if err != nil {
			return playbook.MessageRef{}, false, fmt.Errorf("conversations.replies: %w", err)
		}
		for _, m := range msgs {
			if m.Metadata.EventType == eventType && m.Metadata.EventPayload["key"] == key && (m.User == a.BotUserID || m.BotID != "") {
				return playbook.MessageRef{Channel: channel, TS: m.Timestamp}, true, nil
			}
		}
		return playbook.MessageRef{}, false, nil
	}
}
