package bot

import (
	"errors"
	"fmt"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// Socket Mode's connection state, as an operator needs to see it: the cause
// logged once per change (not once per retry: slack-go retries with its own
// exponential backoff and jitter, up to 5 minutes apart), the state on
// /readyz and klaxon_slack_connected, and reconnections counted.

// onConnection handles Socket Mode's connection events.
func (b *Bot) onConnection(evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnected:
		// The state is set before the line that says so: whoever reads the
		// log (an operator, a test) then finds /metrics agreeing with it.
		was := b.connected.Swap(true)
		b.Metrics.setConnected(true)
		b.failing.Store(false)
		if b.everConnected.Swap(true) && !was {
			b.Metrics.reconnected()
			b.log().Info("reconnected to Slack over Socket Mode")
		} else if !was {
			b.log().Info("connected to Slack over Socket Mode")
		}
	case socketmode.EventTypeConnecting:
		// slack-go reconnects without a disconnect event when the socket
		// drops: connecting again means the connection was lost.
		if b.connected.Swap(false) {
			b.Metrics.setConnected(false)
			b.log().Warn("Socket Mode connection lost; reconnecting")
		}
		b.log().Debug("connecting to Slack")
	case socketmode.EventTypeConnectionError:
		b.connected.Store(false)
		b.Metrics.setConnected(false)
		var attrs []any
		if ce, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			attrs = append(attrs, "err", ce.ErrorObj, "attempt", ce.Attempt, "retry_in", ce.Backoff.Round(1e6).String())
		}
		if !b.failing.Swap(true) {
			b.log().Warn("cannot connect to Slack over Socket Mode; retrying with backoff", attrs...)
		} else {
			b.log().Debug("Socket Mode connection attempt failed", attrs...)
		}
	case socketmode.EventTypeDisconnect:
		b.Metrics.setConnected(false)
		if b.connected.Swap(false) {
			b.log().Warn("Socket Mode connection lost; reconnecting")
		}
	case socketmode.EventTypeInvalidAuth:
		b.connected.Store(false)
		b.Metrics.setConnected(false)
		b.log().Error(AppTokenRefused("invalid_auth").Error())
	}
}

// AppTokenRefused says which token Slack refused, what Slack answered and
// where to get the right one.
func AppTokenRefused(answer string) error {
	return fmt.Errorf("slack refused the app token (slack.app_token): %s. It must be an app-level token, xapp-…, with the connections:write scope: your app's page on api.slack.com → Basic Information → App-Level Tokens", answer)
}

// BotTokenRefused is AppTokenRefused for the bot token.
func BotTokenRefused(answer string) error {
	return fmt.Errorf("slack refused the bot token (slack.bot_token): %s. It must be the Bot User OAuth Token, xoxb-…, of the app installed in your workspace: your app's page on api.slack.com → OAuth & Permissions (install the app first)", answer)
}

// socketError explains the error that ended Socket Mode: slack-go gives up
// only when Slack refuses the app token.
func socketError(err error) error {
	if err == nil {
		return nil
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return AppTokenRefused(se.Err)
	}
	switch err.Error() {
	case "invalid_auth", "account_inactive", "not_authed", "token_revoked", "not_allowed_token_type":
		return AppTokenRefused(err.Error())
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) && sc.Code == 404 {
		return AppTokenRefused(err.Error())
	}
	return fmt.Errorf("socket mode: %w", err)
}
