package bot

import (
	"context"
	"time"

	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// readGroups reads from Slack the responder groups the domain has not read
// yet (at start, or while Slack refused them), so that it can decide
// whether user may manage an incident. ack, when not nil, runs first: no
// Web API call may come before an envelope's ack. It reports whether it
// had to read (and so acked).
func (b *Bot) readGroups(ctx context.Context, user string, ack func()) bool {
	groups := b.App.GroupsToRead(user)
	if len(groups) == 0 || b.Groups == nil {
		return false
	}
	if ack != nil {
		ack()
	}
	if err := b.Groups.RefreshGroups(ctx, groups); err != nil {
		b.log().Warn("reading the responder groups", "err", err)
	}
	return true
}

// replyFor answers a managing slash command by user: in the ack when the
// domain decides from memory, else (see groupsFirst) through responseURL
// after an ack saying Klaxon is checking (see readGroups). An empty text
// acks with nothing.
func (b *Bot) replyFor(ctx context.Context, req socketmode.Request, received time.Time, responseURL, user string) func(string) {
	if b.readGroups(ctx, user, func() { b.ack(req, ephemeral(b.words("permissions.checking", nil)), received) }) {
		return func(text string) {
			if text != "" {
				b.tellUser(ctx, responseURL, text)
			}
		}
	}
	return func(text string) {
		if text == "" {
			b.ack(req, nil, received)
			return
		}
		b.ack(req, ephemeral(text), received)
	}
}

// onEvent handles an Events API envelope: acked first (Slack redelivers
// unacked ones), then a user group's changed members are read again, so
// permissions follow a group change at once rather than at the next refresh.
func (b *Bot) onEvent(ctx context.Context, req socketmode.Request, ev slackevents.EventsAPIEvent, received time.Time) {
	b.ack(req, nil, received)
	b.onHomeEvent(ctx, ev)
	b.onMemberJoined(ctx, ev)
	if e, ok := ev.InnerEvent.Data.(*slackevents.SubteamMembersChangedEvent); ok && b.Groups != nil && e.SubteamID != "" {
		if err := b.Groups.RefreshGroups(ctx, []string{e.SubteamID}); err != nil {
			b.log().Warn("reading a changed user group", "group", e.SubteamID, "err", err)
		}
	}
}
