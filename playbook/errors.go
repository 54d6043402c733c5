package playbook

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Code classifies a domain error so adapters can decide how to answer
// (an ephemeral reply, a retry, a log line) without parsing messages.
type Code string

// Error codes returned by the domain.
const (
	CodeBadSeverity   Code = "bad_severity"
	CodeBadInput      Code = "bad_input"
	CodeNotFound      Code = "not_found"
	CodeBadTransition Code = "bad_transition"
	CodeStore         Code = "store"
)

// Error is a domain error, as data: a code for programs, the reason (one
// per distinct refusal or failure), the field it concerns when there is
// one, and the values a sentence about it needs. It holds no words: an
// adapter renders it (templates/default/errors.tmpl, one template per
// reason) for the person who caused it.
type Error struct {
	Code   Code
	Reason ErrorReason
	// Field is the form field or command argument at fault, or "".
	Field Field
	Args  ErrorArgs
	Err   error // the cause, if any; logged, never shown to people
}

// Field names the input an error concerns, so an adapter can show the
// error beside it (a modal's block) without reading words.
type Field string

// The fields errors point at.
const (
	FieldTitle    Field = "title"
	FieldSeverity Field = "severity"
	FieldService  Field = "service"
	FieldStarted  Field = "started"  // when the impact started
	FieldText     Field = "text"     // the main text: an action item, a note, an update, a tag
	FieldOwner    Field = "owner"    // an action item's owner
	FieldDue      Field = "due"      // an action item's deadline
	FieldReason   Field = "reason"   // a severity change's or an override's reason
	FieldPlan     Field = "plan"     // the validation plan
	FieldAnswers  Field = "answers"  // the scope call's answers
	FieldNextDue  Field = "next_due" // an update's next due time
	FieldWindow   Field = "window"   // a figures or deploys window
	FieldTarget   Field = "target"   // whom to page
	FieldDeploy   Field = "deploy"   // a deploy's commit SHA
	FieldLink     Field = "link"     // the post-mortem's link
	FieldUser     Field = "user"     // a person named in a command
	FieldPath     Field = "path"     // a path in a repository
	FieldKind     Field = "kind"     // a remediation's kind
	FieldItem     Field = "item"     // a checklist item or a gate
)

// Act is a managing action a permission refusal names.
type Act string

// The managing actions mayManage guards.
const (
	ActChangeSeverity  Act = "change_severity"
	ActHandOver        Act = "hand_over"
	ActAllClear        Act = "all_clear"
	ActTag             Act = "tag"
	ActPostmortemDone  Act = "postmortem_done"
	ActClose           Act = "close"
	ActActionsFromAway Act = "actions_from_away" // add action items from outside the incident's channel
)

// Subject is what a store failure could not record or read.
type Subject string

// The subjects of store failures.
const (
	SubjectAlerts            Subject = "alerts"
	SubjectAlertState        Subject = "alert_state"
	SubjectAlertLink         Subject = "alert_link"
	SubjectSignals           Subject = "signals"
	SubjectIncident          Subject = "incident"
	SubjectDeclaration       Subject = "declaration"
	SubjectRetry             Subject = "retry"
	SubjectVerdict           Subject = "verdict"
	SubjectCause             Subject = "cause"
	SubjectDeploy            Subject = "deploy"
	SubjectFigures           Subject = "figures"
	SubjectChangeFailureRate Subject = "change_failure_rate"
	SubjectRemediation       Subject = "remediation"
	SubjectMitigation        Subject = "mitigation"
	SubjectValidationPlan    Subject = "validation_plan"
	SubjectPage              Subject = "page"
	SubjectAcknowledgement   Subject = "acknowledgement"
	SubjectActionItem        Subject = "action_item"
	SubjectRootCause         Subject = "root_cause"
	SubjectPostmortem        Subject = "postmortem"
	SubjectVerification      Subject = "verification"
	SubjectGate              Subject = "gate"
	SubjectAllClear          Subject = "all_clear"
	SubjectChecklist         Subject = "checklist"
	SubjectCommander         Subject = "commander"
	SubjectScopeCall         Subject = "scope_call"
	SubjectSeverityChange    Subject = "severity_change"
	SubjectNote              Subject = "note"
	SubjectClose             Subject = "close"
	SubjectUpdate            Subject = "update"
)

// ErrorArgs are the values a sentence about an error needs. Only the
// fields a reason uses are set. Input, Name and Detail may hold what a
// person typed or a dependency said: renderers escape them.
type ErrorArgs struct {
	Incident  int64
	Status    Status // the incident's status
	To        Status // the status it cannot become
	Input     string // what the person typed (cut short)
	Name      string // a service, a page target, a commit SHA, an e-mail
	Prefix    string // the vague word an action item starts with
	Limit     int    // a maximum, in characters
	Length    int    // the length given
	Services  []string
	Repos     []string
	Commander string // Slack user IDs
	Declarer  string
	Time      time.Time // the instant the sentence names
	Today     time.Time
	Act       Act
	Subject   Subject
	Detail    string // a dependency's own words (cut to one line)
	Gates     []GateState
	Unread    bool   // Klaxon could not read the responder groups yet
	Intent    Intent // what a *PublishError did not publish
}

// ErrorReason identifies one distinct refusal or failure. Each has a
// template "error.<reason>" in templates/default/errors.tmpl.
type ErrorReason string

// Every error reason, in one place (ErrorReasons lists them).
const (
	ReasonInternal ErrorReason = "internal" // not a domain error: details stay in logs

	ReasonNoSuchIncident     ErrorReason = "no_such_incident"
	ReasonNotManager         ErrorReason = "not_manager"
	ReasonOverrideNotCommand ErrorReason = "override_not_commander"
	ReasonNotRecorded        ErrorReason = "not_recorded" // a store write failed; Args.Subject
	ReasonNotRead            ErrorReason = "not_read"     // a store read failed; Args.Subject
	ReasonBadTransition      ErrorReason = "bad_transition"

	// declaring
	ReasonNoTitle          ErrorReason = "no_title"
	ReasonTitleTooLong     ErrorReason = "title_too_long"
	ReasonDeclareSeverity  ErrorReason = "declare_severity"
	ReasonNoDeclarer       ErrorReason = "no_declarer"
	ReasonNoKey            ErrorReason = "no_key"
	ReasonUnknownService   ErrorReason = "unknown_service"
	ReasonDeclareNotStored ErrorReason = "declare_not_stored"
	ReasonNotASeverity     ErrorReason = "not_a_severity"
	ReasonNotATime         ErrorReason = "not_a_time"
	ReasonStartInFuture    ErrorReason = "start_in_future"
	ReasonStartTooOld      ErrorReason = "start_too_old"

	// triage
	ReasonNotAChecklistItem   ErrorReason = "not_a_checklist_item"
	ReasonChecklistFinal      ErrorReason = "checklist_final"
	ReasonNoCommanderNamed    ErrorReason = "no_commander_named"
	ReasonNoCommanderNeeded   ErrorReason = "no_commander_needed"
	ReasonScopeAnswerTooLong  ErrorReason = "scope_answer_too_long"
	ReasonScopeEmpty          ErrorReason = "scope_empty"
	ReasonScopeFinal          ErrorReason = "scope_final"
	ReasonSeverityNeeded      ErrorReason = "severity_needed"
	ReasonSeverityReasonLong  ErrorReason = "severity_reason_too_long"
	ReasonSeverityFinal       ErrorReason = "severity_final"
	ReasonNoNoteText          ErrorReason = "no_note_text"
	ReasonNoteTooLong         ErrorReason = "note_too_long"
	ReasonUpdateEmpty         ErrorReason = "update_empty"
	ReasonUpdateFieldTooLong  ErrorReason = "update_field_too_long"
	ReasonNextDueTooFar       ErrorReason = "next_due_too_far"
	ReasonNoUpdateAuthor      ErrorReason = "no_update_author"
	ReasonUpdatesOver         ErrorReason = "updates_over"
	ReasonUpdateNotStored     ErrorReason = "update_not_stored"
	ReasonUpdateNotPosted     ErrorReason = "update_not_posted"
	ReasonStatsTooManyArgs    ErrorReason = "stats_too_many_args"
	ReasonNotAWindow          ErrorReason = "not_a_window"
	ReasonWindowOutOfRange    ErrorReason = "window_out_of_range"
	ReasonDeployWindowTooLong ErrorReason = "deploy_window_too_long"

	// remediation and resolution
	ReasonNoRemediation      ErrorReason = "no_remediation"
	ReasonNothingToRemediate ErrorReason = "nothing_to_remediate"
	ReasonAlreadyMitigated   ErrorReason = "already_mitigated"
	ReasonCannotMitigate     ErrorReason = "cannot_mitigate"
	ReasonNoPlan             ErrorReason = "no_plan"
	ReasonPlanTooLong        ErrorReason = "plan_too_long"
	ReasonAlreadyStatus      ErrorReason = "already_status"
	ReasonNotAGate           ErrorReason = "not_a_gate"
	ReasonGatesFinal         ErrorReason = "gates_final"
	ReasonOverrideTooLong    ErrorReason = "override_too_long"
	ReasonGatesOpen          ErrorReason = "gates_open"

	// closing and follow-up
	ReasonCloseBeforeAllClear ErrorReason = "close_before_all_clear"
	ReasonAlreadyClosed       ErrorReason = "already_closed"
	ReasonActionEmpty         ErrorReason = "action_empty"
	ReasonActionTooLong       ErrorReason = "action_too_long"
	ReasonActionTooShort      ErrorReason = "action_too_short"
	ReasonActionVague         ErrorReason = "action_vague"
	ReasonActionNoOwner       ErrorReason = "action_no_owner"
	ReasonOwnerNotPerson      ErrorReason = "owner_not_person"
	ReasonActionNoDue         ErrorReason = "action_no_due"
	ReasonDueNotADate         ErrorReason = "due_not_a_date"
	ReasonDueInPast           ErrorReason = "due_in_past"
	ReasonDueTooFar           ErrorReason = "due_too_far"
	ReasonNoTag               ErrorReason = "no_tag"
	ReasonNoPostmortemLink    ErrorReason = "no_postmortem_link"
	ReasonPostmortemEarly     ErrorReason = "postmortem_early"

	// alerts and deploys
	ReasonAlertsOff          ErrorReason = "alerts_off"
	ReasonNoSuchAlerts       ErrorReason = "no_such_alerts"
	ReasonAlertsNoService    ErrorReason = "alerts_no_service"
	ReasonDeployForgotten    ErrorReason = "deploy_forgotten"
	ReasonBadSHA             ErrorReason = "bad_sha"
	ReasonNoSuchDeploy       ErrorReason = "no_such_deploy"
	ReasonDeploysOff         ErrorReason = "deploys_off"
	ReasonCauseFinal         ErrorReason = "cause_final"
	ReasonServiceNoRepo      ErrorReason = "service_no_repo"
	ReasonNoRepos            ErrorReason = "no_repos"
	ReasonGitHubOff          ErrorReason = "github_off"
	ReasonGitHubUnavailable  ErrorReason = "github_unavailable"
	ReasonNoDeployLog        ErrorReason = "no_deploy_log"
	ReasonDeployEventPartial ErrorReason = "deploy_event_partial"

	// paging and owners
	ReasonNobodyToPage      ErrorReason = "nobody_to_page"
	ReasonPagerDutyOff      ErrorReason = "pagerduty_off"
	ReasonNoPagerDutyInc    ErrorReason = "no_pagerduty_incident"
	ReasonNoPageTarget      ErrorReason = "no_page_target"
	ReasonUnknownPageTarget ErrorReason = "unknown_page_target" // a well-formed PagerDuty ID PagerDuty does not know
	ReasonNoPagerDutyUser   ErrorReason = "no_pagerduty_user"
	ReasonNoReposForOwners  ErrorReason = "no_repos_for_owners"
	ReasonWhichRepo         ErrorReason = "which_repo"
	ReasonUnpublishedIntent ErrorReason = "unpublished" // a *PublishError: the change stands, Slack was not told

	// a form's own checks, before the domain is asked
	ReasonFormLost         ErrorReason = "form_lost" // a form whose private metadata no longer names its incident
	ReasonServiceNotListed ErrorReason = "service_not_listed"
	ReasonNoNextDue        ErrorReason = "no_next_due"
	ReasonNoStatus         ErrorReason = "no_status"
	ReasonNoOverrideReason ErrorReason = "no_override_reason"
)

// ErrorReasons lists every reason, for the templates' tests.
func ErrorReasons() []ErrorReason {
	return []ErrorReason{
		ReasonInternal, ReasonNoSuchIncident, ReasonNotManager, ReasonOverrideNotCommand, ReasonNotRecorded, ReasonNotRead, ReasonBadTransition,
		ReasonNoTitle, ReasonTitleTooLong, ReasonDeclareSeverity, ReasonNoDeclarer, ReasonNoKey, ReasonUnknownService, ReasonDeclareNotStored,
		ReasonNotASeverity, ReasonNotATime, ReasonStartInFuture, ReasonStartTooOld,
		ReasonNotAChecklistItem, ReasonChecklistFinal, ReasonNoCommanderNamed, ReasonNoCommanderNeeded, ReasonScopeAnswerTooLong,
		ReasonScopeEmpty, ReasonScopeFinal, ReasonSeverityNeeded, ReasonSeverityReasonLong, ReasonSeverityFinal, ReasonNoNoteText,
		ReasonNoteTooLong, ReasonUpdateEmpty, ReasonUpdateFieldTooLong, ReasonNextDueTooFar, ReasonNoUpdateAuthor, ReasonUpdatesOver,
		ReasonUpdateNotStored, ReasonUpdateNotPosted, ReasonStatsTooManyArgs, ReasonNotAWindow, ReasonWindowOutOfRange, ReasonDeployWindowTooLong,
		ReasonNoRemediation, ReasonNothingToRemediate, ReasonAlreadyMitigated, ReasonCannotMitigate, ReasonNoPlan, ReasonPlanTooLong,
		ReasonAlreadyStatus, ReasonNotAGate, ReasonGatesFinal, ReasonOverrideTooLong, ReasonGatesOpen,
		ReasonCloseBeforeAllClear, ReasonAlreadyClosed, ReasonActionEmpty, ReasonActionTooLong, ReasonActionTooShort, ReasonActionVague,
		ReasonActionNoOwner, ReasonOwnerNotPerson, ReasonActionNoDue, ReasonDueNotADate, ReasonDueInPast, ReasonDueTooFar, ReasonNoTag,
		ReasonNoPostmortemLink, ReasonPostmortemEarly,
		ReasonAlertsOff, ReasonNoSuchAlerts, ReasonAlertsNoService, ReasonDeployForgotten, ReasonBadSHA, ReasonNoSuchDeploy, ReasonDeploysOff,
		ReasonCauseFinal, ReasonServiceNoRepo, ReasonNoRepos, ReasonGitHubOff, ReasonGitHubUnavailable, ReasonNoDeployLog, ReasonDeployEventPartial,
		ReasonNobodyToPage, ReasonPagerDutyOff, ReasonNoPagerDutyInc, ReasonNoPageTarget, ReasonUnknownPageTarget, ReasonNoPagerDutyUser, ReasonNoReposForOwners,
		ReasonWhichRepo, ReasonUnpublishedIntent,
		ReasonFormLost, ReasonServiceNotListed, ReasonNoNextDue, ReasonNoStatus, ReasonNoOverrideReason,
	}
}

// Fail builds an *Error: code, reason, the field at fault ("" for none)
// and the values the sentence needs.
func Fail(code Code, r ErrorReason, f Field, args ErrorArgs) *Error {
	return &Error{Code: code, Reason: r, Field: f, Args: args}
}

// Error is for logs: machine-readable, the reason with its values, then
// the cause. It holds what the person typed (cut short), never a secret.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	b.WriteByte('/')
	b.WriteString(string(e.Reason))
	kv := func(k, v string) {
		if v != "" {
			b.WriteString(" " + k + "=" + v)
		}
	}
	kv("field", string(e.Field))
	a := e.Args
	if a.Incident != 0 {
		kv("incident", strconv.FormatInt(a.Incident, 10))
	}
	kv("status", string(a.Status))
	kv("to", string(a.To))
	if a.Input != "" {
		kv("input", strconv.Quote(truncate(a.Input, 60)))
	}
	if a.Name != "" {
		kv("name", strconv.Quote(truncate(a.Name, 60)))
	}
	kv("prefix", a.Prefix)
	if a.Limit != 0 {
		kv("limit", strconv.Itoa(a.Limit))
	}
	if a.Length != 0 {
		kv("length", strconv.Itoa(a.Length))
	}
	kv("commander", a.Commander)
	kv("declarer", a.Declarer)
	if !a.Time.IsZero() {
		kv("time", a.Time.UTC().Format(time.RFC3339))
	}
	kv("act", string(a.Act))
	kv("subject", string(a.Subject))
	kv("intent", string(a.Intent))
	if len(a.Gates) > 0 {
		kv("unmet", strconv.Itoa(len(a.Gates)))
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	} else if a.Detail != "" {
		b.WriteString(": " + a.Detail)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of the first *Error in err's chain, or "".
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// AsError returns what to tell a person about err, as data: the first
// *Error in its chain; a *PublishError as ReasonUnpublishedIntent (the
// change stands); anything else as ReasonInternal, whose details stay in
// logs.
func AsError(err error) *Error {
	var pe *PublishError
	if errors.As(err, &pe) {
		var e *Error
		if errors.As(pe.Err, &e) {
			return e
		}
		return &Error{Code: CodeUnavailable, Reason: ReasonUnpublishedIntent, Args: ErrorArgs{Intent: pe.Intent}, Err: err}
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeStore, Reason: ReasonInternal, Err: err}
}

// ErrNotFound is returned by stores when an incident does not exist.
var ErrNotFound = &Error{Code: CodeNotFound, Reason: ReasonNoSuchIncident}

// notFound is ErrNotFound for incident n.
func notFound(n int64) *Error {
	return Fail(CodeNotFound, ReasonNoSuchIncident, "", ErrorArgs{Incident: n})
}
