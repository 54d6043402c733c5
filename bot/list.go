package bot

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/klaxonhq/klaxon/playbook"
)

func init() {
	register(feature{commands: []subcommand{{Name: "list", Topic: "reports", Forms: []form{
		{Usage: "list", Key: "list"}},
		Handle: func(b *Bot, ctx context.Context, req socketmode.Request, sc slack.SlashCommand, _ string, received time.Time) {
			b.onList(ctx, req, sc, received)
		}}}})
}

// maxListed bounds /incident list (the answer is one message).
const maxListed = 30

// IsMember reports whether user is in channelID (conversations.members,
// paginated).
func (a *Adapter) IsMember(ctx context.Context, channelID, user string) (bool, error) {
	cursor := ""
	for range maxListPages {
		members, next, err := a.API.GetUsersInConversationContext(ctx, &slack.GetUsersInConversationParameters{ChannelID: channelID, Cursor: cursor, Limit: 1000})
		if err != nil {
			return false, fmt.Errorf("conversations.members: %w", err)
		}
		if slices.Contains(members, user) {
			return true, nil
		}
		if next == "" {
			return false, nil
		}
		cursor = next
	}
	return false, nil
}

// MemberOf implements playbook.Members at the lowest Slack cost: one
// channel is checked with conversations.members, several with one
// users.conversations listing the person's private channels.
func (a *Adapter) MemberOf(ctx context.Context, user string, channels []string) (map[string]bool, error) {
	if len(channels) == 1 {
		ok, err := a.IsMember(ctx, channels[0], user)
		return map[string]bool{channels[0]: ok}, err
	}
	return a.PrivateChannelsOf(ctx, user)
}

// onList handles "/incident list": the open incidents, newest first. A
// private one is listed only to the people playbook.Visibility lets see it,
// which may take a Web API call; so the ack says it is looking, and the
// list follows through the response_url.
func (b *Bot) onList(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, received time.Time) {
	b.ack(req, ephemeral(b.words("list.looking", nil)), received)
	open, err := b.App.OpenIncidentsFor(ctx, playbook.Viewer{User: sc.UserID, Channel: sc.ChannelID})
	if err != nil {
		b.tellUser(ctx, sc.ResponseURL, b.errText(err))
		return
	}
	slices.Reverse(open)
	var lines []string
	for _, inc := range open {
		if len(lines) == maxListed {
			break
		}
		lines = append(lines, b.words("list.line", inc))
	}
	// Whole lines only, within Slack's 3,000 characters.
	text := b.words("list.head", nil)
	for i, l := range lines {
		if len(text)+len(l)+40 > 3000 {
			text += "\n" + b.words("list.more", len(lines)-i)
			break
		}
		text += "\n" + l
	}
	if len(lines) == 0 {
		text = b.words("list.none", nil)
	}
	b.tellUser(ctx, sc.ResponseURL, text)
}
