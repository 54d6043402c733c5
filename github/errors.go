package github

import (
	"errors"
	"net/http"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// RateLimitError is returned when GitHub refused a request for exceeding a
// rate limit. Its text says when to try again.
type RateLimitError struct {
	// Op is what was attempted, e.g. "create issue in acme/api".
	Op string
	// RetryAt is when GitHub accepts requests again; zero when unknown.
	RetryAt time.Time
	// Secondary is GitHub's secondary limit (too many requests in a short
	// time or at once), as opposed to the hourly quota.
	Secondary bool
	Err       error
}

func (e *RateLimitError) Error() string {
	var b strings.Builder
	b.WriteString("github: " + e.Op + ": GitHub ")
	if e.Secondary {
		b.WriteString("secondary rate limit reached (too many requests in a short time)")
	} else {
		b.WriteString("rate limit reached")
	}
	switch {
	case e.RetryAt.IsZero():
		b.WriteString("; try again in a few minutes")
	case e.Secondary:
		b.WriteString("; retry after " + e.RetryAt.UTC().Format("15:04 UTC"))
	default:
		b.WriteString("; resets at " + e.RetryAt.UTC().Format("15:04 UTC"))
	}
	return b.String()
}

func (e *RateLimitError) Unwrap() error { return e.Err }

// opError is a failed GitHub call: what was attempted, a hint for a
// person, and go-github's error (method, URL, status, GitHub's message).
type opError struct {
	op    string
	hint  string
	err   error
	token string
}

func (e *opError) Error() string {
	msg := "github: " + e.op + ": "
	if e.hint != "" {
		msg += e.hint + ": "
	}
	msg += e.err.Error()
	// go-github never puts the Authorization header in an error; this is a
	// second lock on the same door.
	if len(e.token) >= 4 {
		msg = strings.ReplaceAll(msg, e.token, "[token]")
	}
	return msg
}

func (e *opError) Unwrap() error { return e.err }

// fail wraps err from a call attempting op.
func (c *Client) fail(op string, err error) error {
	var rl *gh.RateLimitError
	if errors.As(err, &rl) {
		return &RateLimitError{Op: op, RetryAt: rl.Rate.Reset.Time, Err: err}
	}
	var arl *gh.AbuseRateLimitError
	if errors.As(err, &arl) {
		e := &RateLimitError{Op: op, Secondary: true, Err: err}
		if arl.RetryAfter != nil {
			e.RetryAt = c.now().Add(*arl.RetryAfter)
		}
		return e
	}
	return &opError{op: op, hint: hint(err), err: err, token: c.token}
}

// hint says in a person's words what an HTTP status means here.
func hint(err error) string {
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return ""
	}
	switch s := er.Response.StatusCode; {
	case s == http.StatusUnauthorized:
		return "GitHub refused the token (expired or revoked?)"
	case s == http.StatusForbidden:
		return "the token lacks permission"
	case s == http.StatusNotFound:
		return "not found, or the token cannot see it"
	case s >= 500:
		return "GitHub is having trouble; try again"
	}
	return ""
}
