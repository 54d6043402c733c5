package bot

import (
	"context"
	"errors"

	"github.com/klaxonhq/klaxon/playbook"
)

// ChannelFailed implements playbook.Poster: the declarer (by DM) and the
// announce channel learn that the incident has no channel, why (the Slack
// error and what an admin must allow), and that resolve and close work by
// number from any channel.
func (a *Adapter) ChannelFailed(ctx context.Context, b playbook.Briefing, cerr error) error {
	inc := b.Incident
	text := a.say("closing.channel_failed", map[string]any{"Incident": inc, "Code": slackReason(a.Templates, cerr), "Attempts": playbook.MaxChannelAttempts})
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
