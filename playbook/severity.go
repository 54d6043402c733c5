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

// ParseSeverity accepts the spellings people type: "sev1", "SEV1", "Sev1", "1",
// "sev-1" and "p1" are all SEV1. Anything else is an *Error with CodeBadSeverity
// whose message lists the valid spellings.
func ParseSeverity(s string) (Severity, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimPrefix(t, "sev")
	t = strings.TrimPrefix(t, "p")
	t = strings.TrimPrefix(t, "-")
	n, err := strconv.Atoi(t)
	if err != nil || !Severity(n).Valid() || len(t) != 1 {
		return 0, Errorf(CodeBadSeverity, "%q is not a severity: use sev1, sev2, sev3 or sev4 (or 1–4)", truncate(s, 20))
	}
	return Severity(n), nil
}

// LooksLikeSeverity reports whether a word was meant as a severity (so that
// "sev9" is an error rather than the first word of a title).
func LooksLikeSeverity(word string) bool {
	t := strings.ToLower(word)
	switch {
	case strings.HasPrefix(t, "sev"):
		t = strings.TrimPrefix(strings.TrimPrefix(t, "sev"), "-")
	case strings.HasPrefix(t, "p") && len(t) >= 2:
		t = t[1:]
	}
	if t == "" {
		return false
	}
	for _, r := range t {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
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
	// Impact defines the tier by user impact, shown in the intro message.
	Impact string
	// Response is the response target as people say it ("immediate (wake anyone)").
	Response string
	// ResponseWithin is the same target as a duration; 0 means immediately.
	ResponseWithin time.Duration
	Updates        UpdatePolicy
	// UpdateEvery is the status-update cadence when Updates is periodic.
	UpdateEvery time.Duration
	// Stakeholders are Slack user IDs (U…/W…) or user-group IDs (S…) invited
	// to every incident of this tier.
	Stakeholders []string
}

// Cadence describes the update expectation in words, for the intro message.
func (t Tier) Cadence() string {
	switch t.Updates {
	case UpdatesPeriodic:
		return "a status update every " + HumanDuration(t.UpdateEvery)
	case UpdatesOpenAndResolution:
		return "a status update at open and at resolution"
	case UpdatesTicketOnly:
		return "a ticket only, no channel updates"
	}
	return "no status updates"
}

// DefaultTiers returns the playbook's four tiers. Callers own the result.
func DefaultTiers() Tiers {
	return Tiers{
		SEV1: {Severity: SEV1, Impact: "All users down or core functionality unavailable",
			Response: "immediate (wake anyone)", ResponseWithin: 0,
			Updates: UpdatesPeriodic, UpdateEvery: 15 * time.Minute},
		SEV2: {Severity: SEV2, Impact: "Partial degradation, significant user subset affected",
			Response: "within 15 minutes", ResponseWithin: 15 * time.Minute,
			Updates: UpdatesPeriodic, UpdateEvery: 30 * time.Minute},
		SEV3: {Severity: SEV3, Impact: "Minor impact, workaround available",
			Response: "within 2 hours", ResponseWithin: 2 * time.Hour,
			Updates: UpdatesOpenAndResolution},
		SEV4: {Severity: SEV4, Impact: "Cosmetic issue, no user impact",
			Response: "next business day", ResponseWithin: 24 * time.Hour,
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
