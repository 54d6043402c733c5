package main

import (
	"log/slog"
	"net/http"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/github"
	"github.com/klaxonhq/klaxon/internal/config"
	"github.com/klaxonhq/klaxon/pagerduty"
	"github.com/klaxonhq/klaxon/playbook"
)

// wirePaging gives the App its paging ports: PagerDuty when configured
// (else pages and the escalation matrix go to Slack only), the Slack side,
// CODEOWNERS through GitHub when it is on, the teams and the roles.
func wirePaging(cfg *config.Config, deps *playbook.Deps, adapter *bot.Adapter, gh *github.Client, log *slog.Logger) {
	deps.PageChat = &bot.PageChat{Adapter: adapter}
	deps.Teams, deps.Roles = cfg.Teams, cfg.EscalationRoles
	if gh != nil {
		deps.Owners = gh.Owners(0)
	}
	if !cfg.PagerDuty.Enabled() {
		log.Info("PagerDuty is off: pages and escalations go to Slack")
		return
	}
	pd := pagerduty.New(pagerduty.Options{APIURL: cfg.PagerDuty.APIURL, EventsURL: cfg.PagerDuty.EventsURL,
		Token: cfg.PagerDuty.Token.Reveal(), From: cfg.PagerDuty.From, Templates: adapter.Templates})
	deps.Pager, deps.OnCalls = pd, pd
	log.Info("PagerDuty is on", "api_url", cfg.PagerDuty.APIURL, "webhook", cfg.PagerDuty.WebhookEnabled())
}

// pagerDutyRoute is POST /webhooks/pagerduty when a webhook secret is
// configured; without one the route does not exist (nil).
func pagerDutyRoute(cfg *config.Config, app *playbook.App, log *slog.Logger) (string, http.Handler) {
	if !cfg.PagerDuty.WebhookEnabled() {
		return "", nil
	}
	return "POST /webhooks/pagerduty", pagerduty.WebhookHandler(cfg.PagerDuty.WebhookSecret.Reveal(), app, log.With("component", "pagerduty"))
}
