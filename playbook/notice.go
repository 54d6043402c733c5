package playbook

import "time"

// NoticeKind says what a Notice tells. The set is closed: an adapter
// renders each kind through its own template (templates/default/notice.tmpl,
// one define per kind), so the domain decides what to say and never how.
type NoticeKind string

// The notice kinds.
const (
	// NoticeCommander: User is the new commander; Previous the one who
	// handed over (empty for the first commander).
	NoticeCommander NoticeKind = "commander"
	// NoticeSeverity: Change is the severity change, Tier the new tier.
	NoticeSeverity NoticeKind = "severity"
	// NoticePageAcked: the page was acknowledged in PagerDuty by User (a
	// Slack user) or, when nobody in Slack matches, by Name; After is the
	// time from detection (zero when unknown), or from the page when
	// AfterPage is set.
	NoticePageAcked NoticeKind = "page_acked"
	// NoticeResolvedInPagerDuty: PagerDuty incident PagerDutyIncident was
	// resolved there while Klaxon's incident stays Status.
	NoticeResolvedInPagerDuty NoticeKind = "resolved_in_pagerduty"
	// NoticeSetupFailed: the declaration steps in Steps failed (the notice
	// offers a retry).
	NoticeSetupFailed NoticeKind = "setup_failed"
	// NoticeDeploysFailed: the deploy lookup failed; Cause is the error in
	// one line (the notice offers a retry).
	NoticeDeploysFailed NoticeKind = "deploys_failed"
	// NoticeUndelivered: Undelivered is a message Klaxon gave up telling
	// Slack after its Attempts; Cause is the last attempt's error.
	NoticeUndelivered NoticeKind = "undelivered"
)

// Notice is a short message the domain decides to post in a channel: what
// happened and the values involved, never words or markup.
type Notice struct {
	Kind     NoticeKind
	Incident int64
	// User is the Slack user the notice is about; Previous the one before
	// (a handover); Name a person outside Slack (a PagerDuty name).
	User, Previous, Name string
	Change               SeverityChange
	Tier                 Tier
	After                time.Duration
	AfterPage            bool
	PagerDutyIncident    string
	Status               Status
	Steps                []Step
	Cause                string
	Undelivered          *Message
}
