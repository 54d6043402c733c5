package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/slack-go/slack"

	"github.com/klaxonhq/klaxon/bot"
)

// reachBudget bounds how long a start waits for Slack's Web API to answer.
const reachBudget = 15 * time.Second

// reach dials the API URL's host before the first call, logging every
// failed attempt at once with the address and when it retries, so that an
// unreachable api_url is not 15 s of silence.
func reach(ctx context.Context, apiURL string, log *slog.Logger) error {
	u, err := url.Parse(apiURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("slack.api_url %q is not a URL", apiURL)
	}
	addr := u.Host
	if u.Port() == "" {
		port := "443"
		if u.Scheme == "http" {
			port = "80"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	log.Info("connecting to Slack's Web API", "api_url", apiURL, "addr", addr)
	deadline := time.Now().Add(reachBudget)
	wait := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		conn, err := d.DialContext(dctx, "tcp", addr)
		cancel()
		if err == nil {
			conn.Close()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("cannot reach Slack's Web API at %s (slack.api_url %s) after %d attempts: %v", addr, apiURL, attempt, err)
		}
		log.Warn("cannot reach Slack's Web API; retrying", "addr", addr, "attempt", attempt, "err", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 4*time.Second)
	}
}

// authError explains a failed auth.test: a token Slack refused names the
// token and where to get the right one; anything else names the address.
func authError(err error, apiURL string) error {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return bot.BotTokenRefused(se.Err)
	}
	switch err.Error() {
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "not_allowed_token_type":
		return bot.BotTokenRefused(err.Error())
	}
	// slack-go's errors carry Slack's error code, never the token.
	return fmt.Errorf("slack auth.test with the bot token at %s: %w", apiURL, err)
}
