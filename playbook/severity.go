package playbook

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Severity is an incident's tier, 1 (worst) to 4. The zero value is invalid so
// that a missing severity is never mistaken for a real one.
type Severity int

// The four tiers of the playbook.
const (
	SEV1 Severity = 1
	SEV2 Severity = 2
	SEV3 Severity = 3
	SEV4 Severity = 4
)

// Severities lists every valid severity, worst first.
var Severities = []Severity{SEV1, SEV2, SEV3, SEV4}

// String renders the canonical name, "SEV1".
func (s Severity) String() string {
	if !s.Valid() {
		return fmt.Sprintf("SEV?(%d)", int(s))
	}
	return "SEV" + strconv.Itoa(int(s))
}

// Valid reports whether s is one of SEV1–SEV4.
func (s Severity) Valid() bool { return s >= SEV1 && s <= SEV4 }

// ParseSeverity accepts the spellings people type: "sev1", "SEV1", "Sev1",
// "sev-1", "p1" and "1" are all SEV1. Anything else is an *Error with
// CodeBadSeverity whose message lists the valid spellings.
func ParseSeverity(s string) (Severity, error) {
	digits, ok := severityDigits(s)
	if ok && len(digits) == 1 && Severity(digits[0]-'0').Valid() {
		return Severity(digits[0] - '0'), nil
	}
	return 0, Fail(CodeBadSeverity, ReasonNotASeverity, FieldSeverity, ErrorArgs{Input: truncate(strings.TrimSpace(s), 20)})
}

// LooksLikeSeverity reports whether a word was meant as a severity, so that
// "sev9" is answered with an error rather than taken as the start of a title,
// while "p95 latency" or "500 errors" stay titles. It is true for every word
// ParseSeverity accepts.
func LooksLikeSeverity(word string) bool {
	_, ok := severityDigits(word)
	return ok
}

// severityDigits is the one reading of a severity word both functions above
// share: "sev" (optionally "sev-") followed by any digits, or "p" or nothing
// followed by a single digit. It returns the digits.
func severityDigits(word string) (string, bool) {
	t := strings.ToLower(strings.TrimSpace(word))
	single := true
	switch {
	case strings.HasPrefix(t, "sev"):
		t = strings.TrimPrefix(strings.TrimPrefix(t, "sev"), "-")
		single = false
	case strings.HasPrefix(t, "p"):
		t = t[1:]
	}
	if t == "" || (single && len(t) != 1) {
		return "", false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return "", false
		}
	}
	return t, true
}

// UpdatePolicy says how often a tier expects status updates.
type UpdatePolicy string

// The update policies of the playbook.
const (
	// UpdatesPeriodic: an update every Tier.UpdateEvery.
	UpdatesPeriodic UpdatePolicy = "periodic"
	// UpdatesOpenAndResolution: one update at open and one at resolution.
	UpdatesOpenAndResolution UpdatePolicy = "open_and_resolution"
	// UpdatesTicketOnly: no channel updates; the ticket is the record.
	UpdatesTicketOnly UpdatePolicy = "ticket_only"
)

// Valid reports whether p is a known policy.
func (p UpdatePolicy) Valid() bool {
	switch p {
	case UpdatesPeriodic, UpdatesOpenAndResolution, UpdatesTicketOnly:
		return true
	}
	return false
}

// Tier is what a severity means and what it demands of responders.
type Tier struct {
	Severity Severity
	// Impact defines the tier by user impact, shown in the intro message;
	// Response is the response target as people say it. Both are the
	// operator's words (severities.*.impact, .response); empty, the
	// templates' defaults for the severity (label.impact.SEV1, ...).
	Impact   string
	Response string
	// ResponseWithin is the same target as a duration; 0 means immediately.
	ResponseWithin time.Duration
	Updates        UpdatePolicy
	// UpdateEvery is the status-update cadence when Updates is periodic.
	UpdateEvery time.Duration
	// Stakeholders are Slack user IDs (U…/W…) or user-group IDs (S…) invited
	// to every incident of this tier.
	Stakeholders []string
	// OverdueUpdateMentions are the people (IDs as above) mentioned with the
	// commander when an update is still overdue a full interval after the
	// first nudge (config: overdue_update_mentions, once "escalation").
	OverdueUpdateMentions []string
	// Page says whether a declaration of this tier pages the service's
	// on-call engineer; Escalate is the escalation matrix (paging.go).
	Page     bool
	Escalate []EscalationStep
	// StatusPageWithin is how soon after declaration the first status update
	// (standing for the status page) is expected; 0 means no such rule.
	StatusPageWithin time.Duration
	// PostmortemWithin is how soon after resolution the post-mortem is due;
	// 0 means none is required.
	PostmortemWithin time.Duration
}

// DefaultTiers returns the playbook's four tiers. Callers own the result.
// Their impact and response are the templates' words (Impact and Response
// are empty).
func DefaultTiers() Tiers {
	return Tiers{
		SEV1: {Severity: SEV1, ResponseWithin: 0,
			Updates: UpdatesPeriodic, UpdateEvery: 15 * time.Minute,
			StatusPageWithin: 5 * time.Minute, PostmortemWithin: 24 * time.Hour,
			Page: true, Escalate: DefaultEscalation(SEV1)},
		SEV2: {Severity: SEV2, ResponseWithin: 15 * time.Minute,
			Updates: UpdatesPeriodic, UpdateEvery: 30 * time.Minute,
			PostmortemWithin: 48 * time.Hour,
			Page:             true, Escalate: DefaultEscalation(SEV2)},
		SEV3: {Severity: SEV3, ResponseWithin: 2 * time.Hour,
			Updates: UpdatesOpenAndResolution},
		SEV4: {Severity: SEV4, ResponseWithin: 24 * time.Hour,
			Updates: UpdatesTicketOnly},
	}
}

// Tiers maps each severity to its tier.
type Tiers map[Severity]Tier

// Get returns the tier of s, falling back to the default tier so that a
// partial configuration never leaves a severity undefined.
func (ts Tiers) Get(s Severity) Tier {
	if t, ok := ts[s]; ok {
		return t
	}
	return DefaultTiers()[s]
}

// Service is a configured service: its name as typed in commands, its runbook
// and the people to loop in.
type Service struct {
	Name         string
	Runbook      string
	Stakeholders []string
	// Repo is the service's GitHub repository (owner/name): its deploys
	// are read for rollbacks and its action items filed there.
	Repo string
	// DeployEnvironment is the GitHub deployment environment to read
	// (default "production").
	DeployEnvironment string
	// FlagURL and CutoverURL are where its feature flags are switched and
	// its traffic is moved, offered with those remediation options.
	FlagURL    string
	CutoverURL string
	// PagerDuty is where its incidents are paged (zero: not on PagerDuty).
	PagerDuty ServicePagerDuty
	// Team names the owning team (a Team's GitHub name) when CODEOWNERS
	// cannot say: no repo, GitHub off, or no rule naming a team of config.
	Team string
	// AlertMatch selects the service's alerts by label (nil: label
	// service = Name); AutoDeclare is the confidence at which its alert
	// groups are declared without a person (ConfidenceNone: never).
	AlertMatch  Matcher
	AutoDeclare Confidence
}

// HumanDuration renders d the way a person would say it: "15 min", "2 h",
// "1 h 30 min", "45 s".
func HumanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Second)
	h := int(d / time.Hour)
	m := int(d % time.Hour / time.Minute)
	s := int(d % time.Minute / time.Second)
	var parts []string
	if h > 0 {
		parts = append(parts, strconv.Itoa(h)+" h")
	}
	if m > 0 {
		parts = append(parts, strconv.Itoa(m)+" min")
	}
	if s > 0 || len(parts) == 0 {
		parts = append(parts, strconv.Itoa(s)+" s")
	}
	return strings.Join(parts, " ")
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
