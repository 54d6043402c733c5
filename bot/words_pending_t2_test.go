package bot_test

// pendingWordsT2 are the literals TestNoSlackMarkupOrSentencesInBot still finds in
// the files helper t2 moves into templates (deploys.go, stats.go, signals.go, remediation.go, actions.go, gates.go, closing.go, metrics.go, opsmetrics.go, paging.go, channelfail.go, adapter.go, outbox.go).
// Keys are "file: literal"; the list only shrinks.
var pendingWordsT2 = map[string]string{
	"metrics.go: 1 while the Socket Mode connection to Slack is up, else 0.":                                                                                         "t2",
	"metrics.go: Action items by state: done (ticket closed), open (ticket open), unfiled (no ticket).":                                                              "t2",
	"metrics.go: Incidents declared, by severity.":                                                                                                                   "t2",
	"metrics.go: Incidents in the store, by severity and status.":                                                                                                    "t2",
	"metrics.go: Incidents whose root-cause tag matches an earlier incident's, by severity.":                                                                         "t2",
	"metrics.go: Socket Mode envelopes received, by type.":                                                                                                           "t2",
	"metrics.go: Socket Mode reconnections after the first connection.":                                                                                              "t2",
	"metrics.go: Time from receiving an envelope to acking it (Slack allows 3 s).":                                                                                   "t2",
	"metrics.go: Time from the declaring envelope to the incident being ready for responders: announced, invites sent, runbook bookmarked, triage checklist posted.": "t2",
	"opsmetrics.go: 429 answers, each waited out (Retry-After) before the call was retried, by API and method.":                                                      "t2",
	"opsmetrics.go: Calls to Slack, GitHub and PagerDuty, by API method (or route template) and outcome: ok, api_error (Slack's ok:false, a 4xx), rate_limited (429), server_error (5xx), transport_error.": "t2",
	"opsmetrics.go: Escalation steps fired (the escalation matrix), by severity.":                                                                  "t2",
	"opsmetrics.go: How long after its deadline a first reminder was posted (the scheduler's lateness, Slack's answer included).":                  "t2",
	"opsmetrics.go: Open incidents (not resolved), by severity.":                                                                                   "t2",
	"opsmetrics.go: Phase durations of resolved incidents (detection, triage, remediation, verification), by severity.":                            "t2",
	"opsmetrics.go: Reminders posted by the scheduler, by kind (update_due, update_escalated, status_page, resolution_update, postmortem, scope).": "t2",
	"opsmetrics.go: Retry-After announced with each 429, which Klaxon waits before retrying.":                                                      "t2",
	"opsmetrics.go: repos issues pulls deployments statuses commits contents git refs trees blobs\n\t\treviews files comments labels assignees search user users orgs teams members collaborators\n\t\tincidents notes log_entries oncalls schedules escalation_policies services responder_requests\n\t\tenqueue v2 api v3 graphql branches merge codeowners": "t2",
}
