// Package bot is everything Slack: Socket Mode envelopes become playbook
// calls, and playbook's chat ports become Web API calls (adapter.go and the
// Adapter methods beside each feature).
//
// The files mirror the features. Each feature file registers, in its init,
// what it answers (router.go): its /incident subcommands (name, aliases,
// usages with one line of help each, help topic, handler), its buttons'
// action IDs, its modals' callback IDs and its message shortcuts. Adding a
// command or a button touches that one file: the parser (command.go), the
// manifest's usage hint and shortcuts (manifest.go), `/incident help`
// (help.go, by topic, within Slack's 3,000 characters) and the dispatch of
// envelopes (router.go) are all read from the registrations.
//
//	bot.go         Run, the envelope loop, acks, graceful stop
//	router.go      the registrations and the dispatch
//	help.go        /incident help, built from the registrations
//	declare.go     /incident declare; form.go: the declaration modal
//	signals.go     alerts: the offer to declare, /incident signals
//	triage.go      ic, sev, status, note, the scope call, the checklist
//	update.go      status updates (command, form, reminder button)
//	paging.go      page, owners, the page's Acknowledge button
//	deploys.go     deploys, cause, the suspect deploy's buttons
//	wrapup.go      remediation, verification gates, action items, closing
//	list.go        list; stats.go: stats, the weekly digest; home.go: App Home
//
// Everything else is plumbing: connection.go, ratelimit.go (Slack's tiers),
// metrics.go and opsmetrics.go, permissions.go and groups.go.
//
// bot imports playbook and templates (and slack-go); only cmd/klaxon
// imports bot.
package bot
