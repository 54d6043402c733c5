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
//	adapter.go     the Adapter (playbook's chat ports): the channel, invites, intro, announcement, notices
//	router.go      the registrations and the dispatch
//	help.go        /incident help, built from the registrations
//	command.go     the slash command's parser (declare's arguments, #12, action items)
//	incident.go    finding the incident a command or button is about; shared form helpers
//	declare.go     /incident declare; declare_form.go: the declaration modal
//	signals.go     alerts: the offer to declare, /incident signals
//	triage.go      ic, sev, status, note, the scope call, the checklist, the timeline shortcut
//	update.go      status updates (command, form, the post) and the reminders with their button
//	paging.go      page, owners, the page's Acknowledge button
//	deploys.go     deploys, cause, the suspect deploy's buttons
//	remediation.go remediate, the validation plan, mitigated
//	gates.go       resolve: the verification gates, the all-clear, the override
//	actions.go     action, actions, filing them as GitHub issues
//	closing.go     close, tag, postmortem done; the upload and the archive
//	list.go        list; stats.go: stats and the weekly digest; home.go: the App Home
//
// Everything else is plumbing: connection.go, ratelimit.go (Slack's tiers),
// metrics.go and opsmetrics.go, permissions.go and groups.go.
//
// bot imports playbook and templates (and slack-go); only cmd/klaxon
// imports bot.
package bot
