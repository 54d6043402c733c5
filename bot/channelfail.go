package bot

import (
	"context"
	"errors"
	"fmt"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

// channelHints say, per Slack error code, what an admin must do for Klaxon
// to create channels.
var channelHints = map[string]string{
	"restricted_action":      "This workspace restricts who may create channels: a Slack admin must allow the Klaxon app to create channels (workspace settings → Permissions → Channel Management), or give it a channel by hand.",
	"missing_scope":          "The Klaxon app lacks the scope to create channels (`channels:manage`, `groups:write` for private incidents): a Slack admin must reinstall it from its manifest (`klaxon manifest`).",
	"not_allowed_token_type": "Klaxon's bot token cannot create channels: check `slack.bot_token` (an `xoxb-` token).",
	"invalid_name_specials":  "Slack refused the channel name Klaxon made from the title.",
}

// ChannelFailed implements playbook.Poster: the declarer (by DM) and the
// announce channel learn that the incident has no channel, why (the Slack
// error and what an admin must allow), and that resolve and close work by
// number from any channel.
func (a *Adapter) ChannelFailed(ctx context.Context, b playbook.Briefing, cerr error) error {
	inc := b.Incident
	code := slackReason(cerr)
	hint := channelHints[code]
	if hint == "" {
		hint = "Klaxon stopped retrying; it tries again at its next start."
	}
	what := fmt.Sprintf("%s incident #%d (%s)", inc.Severity, inc.Number, templates.Truncate(200, templates.Escape(inc.Title)))
	if inc.Private {
		what = fmt.Sprintf("Private %s incident #%d", inc.Severity, inc.Number)
	}
	text := fmt.Sprintf(":warning: %s has no channel: Slack refused to create it (`%s`) %d times. %s Coordinate elsewhere meanwhile; `/incident resolve #%d` and `/incident close #%d` work from any channel.",
		what, code, playbook.MaxChannelAttempts, hint, inc.Number, inc.Number)
	var errs []error
	if dm, err := a.DirectChannel(ctx, inc.Declarer); err != nil {
		errs = append(errs, err)
	} else if err := a.postText(ctx, dm, text); err != nil {
		errs = append(errs, err)
	}
	if err := a.postText(ctx, a.AnnounceChannel, text); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
