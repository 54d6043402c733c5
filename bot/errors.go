package bot

import (
	"github.com/slack-go/slack"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

// The domain's errors are data (a reason, a field, the values involved);
// their words are in templates/default/errors.tmpl, reached by an
// operator's override directory like every other text.

// errText renders what to tell a person about err, in Slack mrkdwn.
func (b *Bot) errText(err error) string { return b.tmpl().Error(err) }

func (b *Bot) tmpl() *templates.Set {
	if b.Templates != nil {
		return b.Templates
	}
	return templates.Default()
}

// errFormLost answers a submission whose form no longer names its
// incident (its private metadata did not parse).
var errFormLost = playbook.Fail(playbook.CodeBadInput, playbook.ReasonFormLost, "", playbook.ErrorArgs{})

// blockErrors answers a view submission with an error under each block.
func (b *Bot) blockErrors(errs map[string]error) *slack.ViewSubmissionResponse {
	out := make(map[string]string, len(errs))
	for block, err := range errs {
		out[block] = templates.Truncate(150, b.errText(err))
	}
	return slack.NewErrorsViewSubmissionResponse(out)
}

// formErrors answers a view submission with err shown beside the input it
// concerns: blocks maps the domain's fields to this form's block IDs, and
// an error about no field of the form (or none at all) goes to fallback.
// Slack shows at most 150 characters under a block.
func (b *Bot) formErrors(err error, fallback string, blocks map[playbook.Field]string) *slack.ViewSubmissionResponse {
	block := fallback
	if id, ok := blocks[playbook.AsError(err).Field]; ok {
		block = id
	}
	return slack.NewErrorsViewSubmissionResponse(map[string]string{block: templates.Truncate(150, b.errText(err))})
}
