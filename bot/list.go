package bot

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

func init() {
	register(feature{commands: []subcommand{{Name: "list", Topic: "reports", Forms: []form{
		{Usage: "list", Help: "the open incidents (private ones only to their members)."}},
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

// onList handles "/incident list": the open incidents, newest first. A
// private one is listed only to the members of its channel, which takes a
// Web API call; so the ack says it is looking, and the list follows through
// the response_url.
func (b *Bot) onList(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, received time.Time) {
	open, err := b.App.Store.List(ctx, func(i *playbook.Incident) bool { return i.Status.Open() })
	if err != nil {
		b.ack(req, ephemeral(playbook.UserMessage(err)), received)
		return
	}
	if len(open) == 0 {
		b.ack(req, ephemeral("No open incidents. :green_heart:"), received)
		return
	}
	b.ack(req, ephemeral("Looking up the open incidents…"), received)
	slices.Reverse(open)
	var lines []string
	for _, inc := range open {
		if len(lines) == maxListed {
			break
		}
		if inc.Private {
			// Not a member (or unknown): not listed, not even counted.
			if inc.Channel.ID == "" {
				continue
			}
			ok, err := b.Members.IsMember(ctx, inc.Channel.ID, sc.UserID)
			if err != nil {
				b.log().Warn("checking who may see a private incident", "incident", inc.Number, "err", err)
			}
			if err != nil || !ok {
				continue
			}
		}
		ic := "no commander"
		if inc.Commander != "" {
			ic = "IC <@" + inc.Commander + ">"
		}
		where := "channel being created"
		if inc.Channel.ID != "" {
			where = "<#" + inc.Channel.ID + ">"
		}
		lock := ""
		if inc.Private {
			lock = ":lock: "
		}
		lines = append(lines, fmt.Sprintf("• %s*#%d %s* %s · %s · %s · %s", lock, inc.Number, inc.Severity,
			templates.Truncate(80, templates.Escape(inc.Title)), where, ic, inc.Status))
	}
	// Whole lines only, within Slack's 3,000 characters.
	text := "*Open incidents*"
	for i, l := range lines {
		if len(text)+len(l)+40 > 3000 {
			text += fmt.Sprintf("\n…and %d more", len(lines)-i)
			break
		}
		text += "\n" + l
	}
	if len(lines) == 0 {
		text = "No open incidents you can see."
	}
	b.tellUser(ctx, sc.ResponseURL, text)
}
