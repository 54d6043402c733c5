package bot

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/slack-go/slack"
)

// TestSlackReasonBlamesSlackOnlyForSlack: a store failure is not "Slack did
// not answer".
func TestSlackReasonBlamesSlackOnlyForSlack(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("conversations.create: %w", slack.SlackErrorResponse{Err: "restricted_action"}), "restricted_action"},
		{&slack.RateLimitedError{}, "Slack rate limit"},
		{slack.StatusCodeError{Code: 503, Status: "503"}, "Slack did not answer"},
		{&url.Error{Op: "Post", URL: "x", Err: errors.New("connection refused")}, "Slack did not answer"},
		{context.DeadlineExceeded, "Slack did not answer"},
		{fmt.Errorf("record channel intent for incident #1: %w", errors.New("database not open")), "a failure on Klaxon's side, not Slack's"},
	} {
		if got := slackReason(nil, c.err); got != c.want {
			t.Errorf("slackReason(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
