package playbook

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// This file holds who gets paged: the targets a page or an escalation step
// names, the ports toward PagerDuty and toward the chat, and the paging state
// an incident keeps (the PagerDuty incident, the acknowledgement, the stored
// deadlines of the escalation matrix).

// TargetKind says what a page target is.
type TargetKind string

// The target kinds. In config a PagerDuty target is written kind:ID
// ("pagerduty_schedule:PS0EMGR"), a Slack one as its bare ID (U…, W…, S…),
// a role as role:name.
const (
	TargetPDSchedule TargetKind = "pagerduty_schedule"
	TargetPDPolicy   TargetKind = "pagerduty_policy"
	TargetPDUser     TargetKind = "pagerduty_user"
	TargetSlackUser  TargetKind = "slack_user"
	TargetSlackGroup TargetKind = "slack_group"
	// TargetRole names a role (escalation_roles in config), so the default
	// matrix can say "the on-call engineering manager" without IDs.
	TargetRole TargetKind = "role"
)

// Target is someone a page or an escalation step reaches.
type Target struct {
	Kind TargetKind `json:"kind"`
	ID   string     `json:"id"`
}

// PagerDuty reports whether t is reached through PagerDuty.
func (t Target) PagerDuty() bool {
	return t.Kind == TargetPDSchedule || t.Kind == TargetPDPolicy || t.Kind == TargetPDUser
}

// String writes t back as config spells it.
func (t Target) String() string {
	switch t.Kind {
	case TargetSlackUser, TargetSlackGroup:
		return t.ID
	}
	return string(t.Kind) + ":" + t.ID
}

var (
	pdIDRE    = regexp.MustCompile(`^P[A-Z0-9]{1,19}$`)
	slackIDRE = regexp.MustCompile(`^[UWS][A-Z0-9]{2,20}$`)
	roleRE    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
)

// ParseTarget reads a target as config and /incident page write it. The
// error is a person-readable sentence.
func ParseTarget(s string) (Target, error) {
	s = strings.TrimSpace(s)
	kind, id, ok := strings.Cut(s, ":")
	if !ok {
		if slackIDRE.MatchString(s) {
			if s[0] == 'S' {
				return Target{TargetSlackGroup, s}, nil
			}
			return Target{TargetSlackUser, s}, nil
		}
		return Target{}, fmt.Errorf("not a page target: %q (want a Slack user or group ID such as U0CEO001 or S0LEADS, pagerduty_schedule:P…, pagerduty_policy:P…, pagerduty_user:P… or role:name)", truncate(s, 40))
	}
	switch k := TargetKind(kind); k {
	case TargetPDSchedule, TargetPDPolicy, TargetPDUser, "pagerduty_escalation_policy":
		if k == "pagerduty_escalation_policy" {
			k = TargetPDPolicy
		}
		if !pdIDRE.MatchString(id) {
			return Target{}, fmt.Errorf("not a PagerDuty ID: %q (PagerDuty IDs look like PS0EMGR: a P, then capitals and digits)", truncate(id, 40))
		}
		return Target{k, id}, nil
	case TargetRole:
		if !roleRE.MatchString(id) {
			return Target{}, fmt.Errorf("not a role name: %q (want lowercase letters, digits and _)", truncate(id, 40))
		}
		return Target{TargetRole, id}, nil
	}
	return Target{}, fmt.Errorf("unknown target kind %q (want pagerduty_schedule, pagerduty_policy, pagerduty_user or role)", truncate(kind, 40))
}

// Condition is when an escalation step still fires at its time.
type Condition string

// The escalation conditions.
const (
	// CondUnacknowledged: nobody has acknowledged the page.
	CondUnacknowledged Condition = "unacknowledged"
	// CondNoTriage: no commander and no scope call yet.
	CondNoTriage Condition = "no_triage"
	// CondUnresolved: the incident is still open.
	CondUnresolved Condition = "unresolved"
)

// Valid reports whether c is a known condition.
func (c Condition) Valid() bool {
	return c == CondUnacknowledged || c == CondNoTriage || c == CondUnresolved
}

// Holds reports whether c still holds for inc (an open incident only).
func (c Condition) Holds(inc *Incident) bool {
	if !inc.Status.Open() {
		return false
	}
	switch c {
	case CondUnacknowledged:
		return inc.pageUnacknowledged()
	case CondNoTriage:
		return inc.Commander == "" && inc.Scope == nil
	}
	return true
}

// EscalationStep is one row of a tier's escalation matrix.
type EscalationStep struct {
	After time.Duration `json:"after"`
	If    Condition     `json:"if"`
	To    []Target      `json:"to"`
}

// The roles of the default matrix (escalation_roles in config maps each to
// targets).
const (
	RoleEngineeringManager = "engineering_manager"
	RoleVPEngineering      = "vp_engineering"
	RoleCEO                = "ceo"
)

// DefaultEscalation is the playbook's matrix for a 20-engineer organisation:
// SEV1 pages the on-call engineer at once (the declaration page), the on-call
// engineering manager at 5 min if unacknowledged, VP Engineering at 10 min if
// triage has not started, the CEO at 20 min; SEV2 the engineering manager at
// 15 min if unacknowledged. SEV3 and SEV4 page nobody.
func DefaultEscalation(s Severity) []EscalationStep {
	role := func(r string) []Target { return []Target{{TargetRole, r}} }
	switch s {
	case SEV1:
		return []EscalationStep{
			{After: 5 * time.Minute, If: CondUnacknowledged, To: role(RoleEngineeringManager)},
			{After: 10 * time.Minute, If: CondNoTriage, To: role(RoleVPEngineering)},
			{After: 20 * time.Minute, If: CondUnresolved, To: role(RoleCEO)},
		}
	case SEV2:
		return []EscalationStep{
			{After: 15 * time.Minute, If: CondUnacknowledged, To: role(RoleEngineeringManager)},
		}
	}
	return nil
}

// ServicePagerDuty is a service's PagerDuty side: the service incidents are
// opened on, and its escalation policy or schedule (who is on call).
type ServicePagerDuty struct {
	Service          string
	EscalationPolicy string
	Schedule         string
}

// Team joins an owner found in CODEOWNERS (a GitHub team "@org/team" or user
// "@login") to who is paged for it and the Slack group told.
type Team struct {
	GitHub           string
	Schedule         string // PagerDuty schedule
	EscalationPolicy string // PagerDuty escalation policy
	SlackGroup       string // S…, or a user ID
}

// Person is someone on PagerDuty.
type Person struct {
	ID    string `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// PageRequest opens a PagerDuty incident.
type PageRequest struct {
	// Key is the incident_key: one per Klaxon incident, so a retry, a
	// redelivery or a restart never pages twice.
	Key     string
	Title   string
	Service string // PagerDuty service ID
	// About is what the incident's body says; the adapter words it.
	About PageAbout
}

// PageAbout is what Klaxon tells PagerDuty about an incident: in the
// PagerDuty incident's body and in responder requests (worded by the
// adapter, templates' pagerduty.tmpl).
type PageAbout struct {
	Incident int64
	Severity Severity
	Title    string
	Channel  string // the channel's name
	// Raised: the page comes from a raise of the severity, not the
	// declaration.
	Raised bool
}

// PageRef is a PagerDuty incident.
type PageRef struct {
	ID  string `json:"id"`
	URL string `json:"url,omitempty"`
	// Adopted is true when an open incident with the key already existed.
	Adopted bool `json:"-"`
}

// PageState is a PagerDuty incident as read back (the polling fallback).
type PageState struct {
	Status  string // triggered, acknowledged, resolved
	AckedBy Person
	AckedAt time.Time
}

// PageLogEntry is one entry of a PagerDuty incident's log.
type PageLogEntry struct {
	At      time.Time
	Type    string // trigger_log_entry, notify_log_entry, acknowledge_log_entry, ...
	Summary string
	Agent   string // who or what did it, by name
}

// Pager opens and follows PagerDuty incidents. Errors are retried by the
// adapter within a deadline; an error returned here means PagerDuty could
// not be reached in time.
type Pager interface {
	Trigger(ctx context.Context, req PageRequest) (PageRef, error)
	// AddResponders asks targets (PagerDuty schedules, policies, users) to
	// join the incident (a responder request).
	AddResponders(ctx context.Context, incidentID string, targets []Target, about PageAbout) error
	Incident(ctx context.Context, incidentID string) (PageState, error)
	Resolve(ctx context.Context, incidentID string) error
	Log(ctx context.Context, incidentID string) ([]PageLogEntry, error)
}

// OnCalls answers who is on call and who PagerDuty users are.
type OnCalls interface {
	// OnCallNow lists who is on call now at level 1 of policy, or on
	// schedule when policy is empty.
	OnCallNow(ctx context.Context, policy, schedule string) ([]Person, error)
	User(ctx context.Context, id string) (Person, error)
	// UserByEmail finds a PagerDuty user; an error with CodeNotFound when none.
	UserByEmail(ctx context.Context, email string) (Person, error)
	// TargetName names a PagerDuty target for people ("EM on call (schedule)").
	TargetName(ctx context.Context, t Target) string
	// TargetExists reports whether PagerDuty knows target t (a schedule, a
	// policy or a user); an error when PagerDuty could not say.
	TargetExists(ctx context.Context, t Target) (bool, error)
}

// PageChat is the chat side of paging: people by e-mail, and the page
// notices posted in the incident channel.
type PageChat interface {
	// UserByEmail returns the chat user with that e-mail, or "" when none.
	UserByEmail(ctx context.Context, email string) (string, error)
	// EmailOf returns a chat user's e-mail, or "" when it is hidden.
	EmailOf(ctx context.Context, userID string) (string, error)
	PostPage(ctx context.Context, b Briefing, n PageNotice) error
}

// PageKind says why a page was sent.
type PageKind string

// The page kinds.
const (
	PageDeclaration PageKind = "declaration"
	PageEscalation  PageKind = "escalation"
	PageManual      PageKind = "manual"
	PageRetry       PageKind = "retry" // a declaration page that failed
	// PageRaise: a severity change raised the incident to a tier that
	// pages; the on-call is paged as at declaration (raise.go).
	PageRaise PageKind = "raise"
	// PageOwners: a tier that pages nobody told the owning team (a GitHub
	// issue, or a mention of its Slack group).
	PageOwners PageKind = "owners"
)

// PageNotice is what the channel is told about a page.
type PageNotice struct {
	Kind PageKind
	// Link is the PagerDuty incident (empty without PagerDuty).
	Link string
	// Step is the escalation step (Kind escalation), Index its position.
	Step  EscalationStep
	Index int
	// Slack are chat users and groups mentioned (and invited); PagerDuty
	// the PagerDuty targets and people reached, by name.
	Slack     []string
	PagerDuty []string
	// Problems say what could not be done (a role nobody maps, on-call
	// unreadable, PagerDuty down).
	Problems []Problem
	By       string // who asked (manual pages)
	// Failed is set when the declaration page could not reach PagerDuty:
	// the notice then offers a retry.
	Failed bool
	// Kind PageOwners: Team is the owning team as CODEOWNERS or config
	// names it ("@acme/payments"); Issue the GitHub issue opened for it
	// (nil when the team was told through its Slack group, in Slack).
	Team  string
	Issue *Ticket
}

// StepState is how far an escalation step has got. The set is closed.
type StepState string

// The step states. A step is claimed (firing) in the same transaction that
// finds it due, and fired once its pages are recorded, so a restart between
// the two redoes it and a restart after neither loses nor repeats it.
const (
	StepPending StepState = ""
	StepFiring  StepState = "firing"
	StepFired   StepState = "fired"
	StepSkipped StepState = "skipped"
)

// PlannedStep is an escalation step with its stored deadline.
type PlannedStep struct {
	Step     EscalationStep `json:"step"`
	Index    int            `json:"index"` // 1-based position in its tier's matrix
	Severity Severity       `json:"severity"`
	Due      time.Time      `json:"due"`
	State    StepState      `json:"state,omitempty"`
}

// Paging is an incident's paging state, stored with it.
type Paging struct {
	// Pending: the declaration page is still to be sent (a failure, a
	// restart: it is retried, never doubled, thanks to the incident key).
	Pending bool `json:"pending,omitempty"`
	// Sent: the declaration page (or the one a raise owed, raise.go) went
	// out, so a later raise to a paging tier pages nobody again.
	Sent bool `json:"sent,omitempty"`
	// Raised is when a severity change raised the incident to a tier that
	// pages, leaving the page pending (zero for a declaration page).
	Raised time.Time `json:"raised,omitzero"`
	// AwaitingAck: a raise page waits for its acknowledgement, though an
	// earlier one (the declarer's) ended Detection (pageUnacknowledged).
	AwaitingAck bool `json:"awaiting_ack,omitempty"`
	// Key is the PagerDuty incident_key.
	Key string `json:"key,omitempty"`
	// PD is the PagerDuty incident, once opened.
	PD PageRef `json:"pd,omitzero"`
	// AckedBy is a Slack user ID when the acknowledger was found in Slack
	// by e-mail, else their PagerDuty name.
	AckedBy string `json:"acked_by,omitempty"`
	// AckedAt is when the page was acknowledged; AckKept is set when
	// Detection had ended before the page (a raise) and kept that end.
	AckedAt time.Time `json:"acked_at,omitzero"`
	AckKept bool      `json:"ack_kept,omitempty"`
	// PollDue is when Klaxon next reads the PagerDuty incident while it is
	// unacknowledged (the fallback when webhooks are off or lost).
	PollDue time.Time `json:"poll_due,omitzero"`
	// Steps are the escalation matrix's planned steps.
	Steps []PlannedStep `json:"steps,omitempty"`
	// ResolvedInPD is set when PagerDuty said its incident was resolved;
	// PDResolved when Klaxon resolved it after the all-clear.
	ResolvedInPD bool `json:"resolved_in_pd,omitempty"`
	PDResolved   bool `json:"pd_resolved,omitempty"`
	// Notify: the tier pages nobody (SEV3, SEV4 by default) and the owning
	// team is still to be told (notify.go). Told is how it was told
	// ("github" or "slack") once it was.
	Notify bool   `json:"notify,omitempty"`
	Told   string `json:"told,omitempty"`
	// OwnerIssue is the GitHub issue opened for the owning team;
	// OwnerFiling is set before GitHub is asked, so a retry after a crash
	// adopts the issue filed then instead of opening a second.
	OwnerIssue  *Ticket   `json:"owner_issue,omitempty"`
	OwnerFiling time.Time `json:"owner_filing,omitzero"`
}

// DefaultPollEvery is how often an unacknowledged PagerDuty incident is read.
const DefaultPollEvery = 30 * time.Second

// pageKey is the PagerDuty incident_key of an incident: its number and its
// declaration time, so a second Klaxon store never adopts another's page.
func pageKey(inc *Incident) string {
	return fmt.Sprintf("klaxon-%d-%d", inc.Number, inc.declaredOr(time.Time{}).Unix())
}

// planSteps plans tier t's escalation steps from base. Steps of an earlier
// plan that fired (or are firing) are kept; the ones still pending are
// replaced; a new step that names the same condition and targets as a fired
// one is not planned again (nobody is paged twice for one reason).
func (inc *Incident) planSteps(t Tier, base time.Time) {
	if inc.Paging == nil {
		inc.Paging = &Paging{}
	}
	p := inc.Paging
	var kept []PlannedStep
	for _, s := range p.Steps {
		if s.State == StepFired || s.State == StepFiring || s.State == StepSkipped {
			kept = append(kept, s)
		}
	}
	for i, st := range t.Escalate {
		if slices.ContainsFunc(kept, func(k PlannedStep) bool {
			return k.State != StepSkipped && k.Step.If == st.If && slices.Equal(k.Step.To, st.To)
		}) {
			continue
		}
		kept = append(kept, PlannedStep{Step: st, Index: i + 1, Severity: t.Severity, Due: base.Add(st.After).UTC()})
	}
	p.Steps = kept
}

// pagingWake is the earliest paging deadline: a step, a poll, or the
// PagerDuty incident to resolve after the all-clear.
func (inc *Incident) pagingWake() time.Time {
	p := inc.Paging
	if p == nil {
		return time.Time{}
	}
	var w time.Time
	early := func(t time.Time) {
		if !t.IsZero() && (w.IsZero() || t.Before(w)) {
			w = t
		}
	}
	for _, s := range p.Steps {
		if s.State == StepPending {
			early(s.Due)
		}
	}
	early(p.PollDue)
	if p.PD.ID != "" && !inc.Status.Open() && !p.PDResolved && !p.ResolvedInPD {
		early(inc.Times[PhaseResolved])
	}
	return w
}

// pagingDue is what the scheduler does for an incident at now.
type pagingDue struct {
	Steps     []PlannedStep
	Poll      bool
	ResolvePD bool
}

func (d pagingDue) empty() bool { return len(d.Steps) == 0 && !d.Poll && !d.ResolvePD }

// firePaging claims the paging work due at now: steps whose condition still
// holds become firing, the others skipped; a poll is due every PollEvery
// while the page is unacknowledged. It returns the events to record.
func (inc *Incident) firePaging(now time.Time, pollEvery time.Duration) (pagingDue, []Event) {
	var d pagingDue
	p := inc.Paging
	if p == nil {
		return d, nil
	}
	var evs []Event
	for i := range p.Steps {
		s := &p.Steps[i]
		if s.State != StepPending || now.Before(s.Due) {
			continue
		}
		if !s.Step.If.Holds(inc) {
			s.State = StepSkipped
			ev := NewEvent(EventEscalationSkipped, ActorKlaxon, now, "")
			ev.Payload = EscalationPayload{Step: s.Index, After: s.Step.After, If: string(s.Step.If)}
			evs = append(evs, ev)
			continue
		}
		s.State = StepFiring
		d.Steps = append(d.Steps, *s)
	}
	if !p.PollDue.IsZero() && !now.Before(p.PollDue) {
		if !inc.pageUnacknowledged() || p.PD.ID == "" || !inc.Status.Open() {
			p.PollDue = time.Time{}
		} else {
			d.Poll = true
			p.PollDue = now.Add(pollEvery).UTC()
		}
	}
	if p.PD.ID != "" && !inc.Status.Open() && !p.PDResolved && !p.ResolvedInPD {
		if r, ok := inc.At(PhaseResolved); ok && !now.Before(r) {
			d.ResolvePD = true
			p.PDResolved = true // claimed; a failure is logged, PagerDuty's own timeout remains
		}
	}
	return d, evs
}

// pendingSteps lists steps claimed but not finished (a crash in between).
func (inc *Incident) pendingSteps() []PlannedStep {
	if inc.Paging == nil {
		return nil
	}
	var out []PlannedStep
	for _, s := range inc.Paging.Steps {
		if s.State == StepFiring {
			out = append(out, s)
		}
	}
	return out
}

// Acknowledged reports who acknowledged the page and when, if anyone did.
func (inc Incident) Acknowledged() (by string, at time.Time, ok bool) {
	if inc.Paging == nil || inc.Paging.AckedBy == "" {
		return "", time.Time{}, false
	}
	at, ok = inc.At(PhaseAcknowledged)
	return inc.Paging.AckedBy, at, ok
}

// TimeToAcknowledge is the time from detection to acknowledgement.
func (inc Incident) TimeToAcknowledge() (time.Duration, bool) {
	ack, ok := inc.At(PhaseAcknowledged)
	if !ok {
		return 0, false
	}
	from, ok := inc.At(PhaseDetected)
	if !ok {
		from = inc.DeclaredAt()
	}
	return max(ack.Sub(from), 0), true
}

// ProblemKind says what could not be done while paging, reading owners or
// telling a team. The set is closed; templates word each (problem.tmpl).
type ProblemKind string

// The problems. The fields of Problem each uses are in brackets.
const (
	ProblemRoleUnmapped      ProblemKind = "role_unmapped"       // no escalation_roles entry [Target: the role]
	ProblemNoOwner           ProblemKind = "no_owner"            // a tier that pages nobody found no team [Severity, Service]
	ProblemIssueFailed       ProblemKind = "issue_failed"        // the owning team's issue failed; its Slack group is told [Err]
	ProblemTeamUntold        ProblemKind = "team_untold"         // the team has no Slack group and no issue [Severity, Team, Why]
	ProblemTeamInviteFailed  ProblemKind = "team_invite_failed"  // inviting the team's group failed [Err]
	ProblemInviteFailed      ProblemKind = "invite_failed"       // inviting those paged failed [Err]
	ProblemOnCallUnread      ProblemKind = "oncall_unread"       // who is on call could not be read [Target (optional), Err]
	ProblemOnCallPagedAnyway ProblemKind = "oncall_paged_anyway" // on-call unreadable, PagerDuty pages them anyway [Err]
	ProblemOwnersNoTeam      ProblemKind = "owners_no_team"      // CODEOWNERS owners with no team in config [Owners, File, Line]
	ProblemRespondersRefused ProblemKind = "responders_refused"  // PagerDuty refused the responder request [Err]
	ProblemPagerDutyOff      ProblemKind = "pagerduty_off"       // a PagerDuty target with PagerDuty off [Target]
	ProblemTargetUnread      ProblemKind = "target_unread"       // a PagerDuty target could not be read [Target, Err]
	ProblemCodeownersUnread  ProblemKind = "codeowners_unread"   // [Repo, Err]
	ProblemNoRepo            ProblemKind = "no_repo"             // the service names no repo: no CODEOWNERS
	ProblemGitHubOff         ProblemKind = "github_off"          // GitHub is off: CODEOWNERS unread
)

// Why a team could not be told (ProblemTeamUntold).
const (
	WhyGitHubOff = "github_off"
	WhyPrivate   = "private"
	WhyNoRepo    = "no_repo"
)

// Problem is one thing that could not be done, with its values; never
// words.
type Problem struct {
	Kind     ProblemKind
	Target   string // a role, a team handle, a PagerDuty target's name
	Severity Severity
	Service  string
	Team     string
	Why      string
	Repo     string
	File     string
	Line     int
	Owners   []string
	Err      string // the cause, in one line
}
