// Package playbook is Klaxon's domain: the incident and its rules, and
// nothing of Slack, bbolt, PagerDuty or GitHub.
//
// What lives here: the Incident (severity tiers, phases and their
// timestamps, the checklist, the scope call, escalation steps, verification
// gates, action items, the close steps), its timeline events, signals and
// confidence, deploys and suspects, the deadlines (what is due at time t,
// fired by one loop, RunScheduler/Tick), the figures (MTTR by severity and
// phase, …), the permission rules (permissions.go: who may manage an
// incident, and MaySee, who may see a private one), and the ports the rules
// call out through (ports.go and beside each feature: Store, Channels,
// Poster, Clock, Pager, Deploys, …).
//
// New(Deps) builds the App; its ports are unexported, so an adapter reaches
// incidents only through App methods: one per user intent (declare, change
// severity, record an update, the scope call, the all-clear, …) and the
// queries an adapter needs (IncidentIn, IncidentFor, OpenIncidentsFor, Now,
// Tier, Services, …), which apply the visibility rule.
//
// Results are data, never words: what the domain decides to tell people is
// a value (Notice, Problem, PageNotice, Guidance, OutlineShare, PageAbout,
// typed errors and timeline events) and the adapters word it through
// templates. No Slack markup and no sentences for people live here:
// TestNoSlackMarkupOrSentencesInPlaybook scans this package's source
// (words_pending_test.go lists what is still owed, and is empty). The
// catalogues (Checklist, Gates, Remedies) and the default tiers are IDs and
// figures; their words are templates/default/labels.tmpl's, by ID.
//
// Who may import it: everyone (bot, store, the webhook adapters github,
// pagerduty and alertmanager, report, templates, cmd/klaxon, the fakes and
// the demo). It imports only the standard library. Only cmd/klaxon, the demo
// and tests build Deps. playbook/storetest holds the Store contract tests and
// in-memory fakes, for store implementations and tests only.
package playbook
