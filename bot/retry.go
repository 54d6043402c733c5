package bot

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/slack-go/slack"
)

// A call whose effect is not idempotent (a chat.postMessage that must not
// appear twice) is marked with withoutBlindRetries: the client then retries
// it only after a 429, which Slack answers before doing anything, and never
// after a 5xx or a broken connection, after which the post may be in the
// channel already. The caller looks before posting again.
type noBlindRetryKey struct{}

func withoutBlindRetries(ctx context.Context) context.Context {
	return context.WithValue(ctx, noBlindRetryKey{}, true)
}

func blindRetriesOff(req *http.Request) bool {
	off, _ := req.Context().Value(noBlindRetryKey{}).(bool)
	return off
}

// guardedRetry wraps a retry handler: for marked calls only 429s retry.
type guardedRetry struct{ h slack.RetryHandler }

func (g guardedRetry) ShouldRetry(st *slack.RetryState, req *http.Request, resp *http.Response, err error) (bool, time.Duration) {
	if req != nil && blindRetriesOff(req) && (resp == nil || resp.StatusCode != http.StatusTooManyRequests) {
		return false, 0
	}
	return g.h.ShouldRetry(st, req, resp, err)
}

// mayHaveApplied reports whether a failed call may still have taken effect
// at Slack: a 5xx, a transport error (reset, timeout), or the ok:false codes
// Slack documents as "some aspect of the operation may have succeeded".
func mayHaveApplied(err error) bool {
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		return sc.Code >= http.StatusInternalServerError
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "internal_error", "fatal_error", "request_timeout", "service_unavailable":
			return true
		}
		return false
	}
	var ue *url.Error
	return errors.As(err, &ue)
}
