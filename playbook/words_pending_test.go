package playbook_test

// pendingWords are the literals TestNoSlackMarkupOrSentencesInPlaybook still
// finds in playbook, each with the helper who owes its move to templates.
// Keys are "file: literal"; the list only shrinks.
var pendingWords = map[string]string{
	// Still to move into templates (i12t), at the end of this round (i12e's
	// error sentences and i12v's timeline and post-mortem words have all
	// left): the all-clear's final status update (gates.go: its Status,
	// Impact and NextSteps, also the status-update event's text); the
	// catalogues' labels (the checklist items in triage.go, the gates and
	// remediation options in wrapup_types.go), which the Slack messages,
	// the post-mortem and the errors all show, so they need a label lookup
	// by ID in templates; the default tiers' impact and response
	// (severity.go), which an operator overrides in severities.*; and "be
	// more careful", a phrase the action-item check looks for in typed text,
	// not words Klaxon writes.
	"actions.go: be more careful": "i12t",
	"gates.go: . Record action items with `/incident action`, then `/incident close`.": "i12t",
	"gates.go: Mon 2 Jan 15:04 UTC": "i12t",
	"gates.go: No channel could be created for this incident, so the verification gates could not be checked.": "i12t",
	"gates.go: Record action items with `/incident action`, then `/incident close`.":                           "i12t",
	"gates.go: Resolved: all clear given by the commander before every verification gate held. Reason: ":       "i12t",
	"gates.go: Resolved: all clear.":                                                       "i12t",
	"gates.go: The impact has ended.":                                                      "i12t",
	"severity.go: All users down or core functionality unavailable":                        "i12t",
	"severity.go: Cosmetic issue, no user impact":                                          "i12t",
	"severity.go: Minor impact, workaround available":                                      "i12t",
	"severity.go: Partial degradation, significant user subset affected":                   "i12t",
	"severity.go: immediate (wake anyone)":                                                 "i12t",
	"severity.go: next business day":                                                       "i12t",
	"triage.go: Channel created and stakeholders added":                                    "i12t",
	"triage.go: Five-minute scope call completed":                                          "i12t",
	"triage.go: Recent deployments identified (last 2 hours)":                              "i12t",
	"triage.go: Runbook link posted in the channel":                                        "i12t",
	"triage.go: Service owner identified and paged":                                        "i12t",
	"triage.go: Status page updated (within 5 min of a SEV1 declaration)":                  "i12t",
	"wrapup_types.go: 30 min or more":                                                      "i12t",
	"wrapup_types.go: Cut traffic over":                                                    "i12t",
	"wrapup_types.go: Disable a feature flag":                                              "i12t",
	"wrapup_types.go: Error rate below 0.1%":                                               "i12t",
	"wrapup_types.go: Move traffic to a healthy region, cluster or provider.":              "i12t",
	"wrapup_types.go: Redeploy the last known-good version.":                               "i12t",
	"wrapup_types.go: Repair corrupted, lost or wrong data.":                               "i12t",
	"wrapup_types.go: SLO burn rate back toward 1x or below":                               "i12t",
	"wrapup_types.go: Ship a hotfix":                                                       "i12t",
	"wrapup_types.go: Synthetic monitors green for 5+ minutes":                             "i12t",
	"wrapup_types.go: Turn off the flag behind the change. No deploy, reversible at once.": "i12t",
	"wrapup_types.go: User-reported complaints stopped":                                    "i12t",
	"wrapup_types.go: Write, review and deploy a fix forward.":                             "i12t",
}
