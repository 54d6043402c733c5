package bot

import (
	"context"
	"fmt"

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
// appears once. Other posts are sent as they always were.
func (a *Adapter) postMessage(ctx context.Context, channel string, opts ...slack.MsgOption) (string, string, error) {
	d, ok := playbook.DeliveryOf(ctx)
	if !ok {
		return a.API.PostMessageContext(ctx, channel, opts...)
	}
	if d.Attempt > 1 {
		m, found, err := a.findPosted(ctx, channel, intentEventType, d.Key, d.Since, d.Until.Add(offerLookBefore))
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
