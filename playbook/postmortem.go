package playbook

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
)

// People resolves Slack user IDs to display names for documents read outside
// Slack (a mention does not resolve in a Markdown file).
type People interface {
	Names(ctx context.Context, ids []string) map[string]string
}

// Postmortem is everything the post-mortem outline shows, computed from an
// incident and its timeline, ready for a template that only ranges and tests.
//
// Every string is plain text, never Markdown: titles, answers, notes,
// reasons, names and the timeline's sentences hold what people typed as they
// typed it, so the template must escape each one (the default template's md
// and mdline). Times are UTC and already formatted; an empty date or
// duration means the incident has not got there.
type Postmortem struct {
	Number   int64
	Title    string
	Severity Severity
	// Impact is the severity tier's definition as the operator set it
	// (empty: the templates' default for the severity).
	Impact  string
	Service string // "" when the incident names none
	Runbook string // the service's runbook URL, if configured
	Status  Status
	Private bool

	// Commander is the commander's name ("" when none was ever named);
	// FormerCommanders are those who handed the role over, in order.
	Commander        string
	FormerCommanders []string
	Declarer         string
	// Participants are the names of everyone involved, in the order of
	// PostmortemParticipants.
	Participants []string

	// Declared, Resolved and Closed are "2006-01-02 15:04 UTC" or "".
	Declared, Resolved, Closed string
	// Duration is detected → resolved ("1 h 5 min"), "" while unresolved.
	Duration string

	Scope PostmortemScope

	// Phases are the four phases of time to restore; Total is detected →
	// resolved against the sum of their targets.
	Phases []PostmortemPhase
	Total  PostmortemPhase
	// Detection is first anomaly → alert → declared → acknowledged, each
	// as "15:04" UTC with the time since the previous step.
	Detection []PostmortemDetection
	// Bottleneck names the bottleneck phase ("" when there is none) and
	// BottleneckRule says which rule chose it (PostmortemBottleneck):
	// "over" (furthest over its target), "share" (none over: the largest
	// share of its target, BottleneckShare percent), "none_ended" or
	// "no_time" (no bottleneck).
	Bottleneck      string
	BottleneckRule  string
	BottleneckShare int

	// Timeline has one entry per recorded event, in time order.
	Timeline []PostmortemEvent

	// Verification is when the verification gates were opened ("" if never).
	Verification string
	Gates        []PostmortemGate
	Remediations []PostmortemRemedy
	Override     *PostmortemOverride // nil unless the all-clear overrode gates

	// Deploys are the deploys of the window before detection and the one
	// linked as the cause (deploys_postmortem.go).
	Deploys PostmortemDeploys

	RootCause string // the root-cause tag, "" when not tagged
	// RepeatOf are the earlier incidents sharing the tag.
	RepeatOf []int64

	Whys    []PostmortemWhy
	Actions []PostmortemAction

	// Generated is GeneratedAt as "2006-01-02 15:04 UTC".
	Generated   string
	GeneratedAt time.Time
	// Incident is the incident as stored, for custom templates. Its text is
	// raw and its times unformatted: prefer the fields above.
	Incident Incident
}

// PostmortemScope is the scope call's answers.
type PostmortemScope struct {
	Recorded bool
	// Answers are what broke, who is affected and the blast radius, in
	// that order; an answer left empty is Missing.
	Answers []PostmortemAnswer
	By, At  string
}

// PostmortemAnswer is one question of the scope call and its answer.
type PostmortemAnswer struct {
	// Question is "what_broke", "who_affected" or "blast_radius".
	Question string
	Answer   string
	Missing  bool
}

// PostmortemPhase is one phase's duration against its P1 target.
type PostmortemPhase struct {
	Name     string // "Detection"
	From, To Phase
	// Span says what is measured: "acknowledged → mitigation started".
	Span string
	// Elapsed is the phase's length when it ended (Reached), else 0.
	Elapsed time.Duration
	Target  time.Duration
	Reached bool
	// Over is true when the phase ended past its target, by OverBy.
	Over       bool
	Bottleneck bool
	// Duration is HumanDuration(Elapsed), "" when not Reached.
	Duration   string
	TargetText string
	OverBy     string
}

// PostmortemDetection is one step of the Detection phase.
type PostmortemDetection struct {
	Name    string // "first anomaly", "alert", "declared", "acknowledged"
	At      string // "15:04" UTC, "" when not reached
	Since   string // "+3 min" from the previous reached step, "" for the first
	Reached bool
}

// PostmortemEvent is one line of the timeline reconstruction: what the
// event's sentence says, as facts. The sentence is the template's: Text is
// empty until templates fills it (the postmortem.event template in
// postmortem_timeline.tmpl, which reads the fields below by Type and Case).
type PostmortemEvent struct {
	// Time is "15:04:05", or "2006-01-02 15:04:05" on another day than
	// the declaration; "" when unknown.
	Time  string
	Type  EventType
	Actor string // the actor's name; "Klaxon" for Klaxon; "" for nobody
	// Text is the whole sentence, actor included (plain text), rendered by
	// templates before the outline.
	Text string
	// Link is a URL the event points at (a deploy, a ticket), or "".
	Link string

	// Detail is the event's own text, plain, without what the sentence
	// says already (a note, a reason, the status update's text); "" for none.
	Detail string
	// Case picks one of the type's sentences: "took", "named",
	// "took_over", "handed", "handed_between" (commander); "changed"
	// (severity, with From and To); "deploy" (suspect deploy known);
	// "watchdog" (deploy linked by the watchdog); "held", "over_gates",
	// "comma" (all-clear); "filed" (ticket); "upload", "publish"
	// (outline shared); "acknowledged" (page, By known); "error" (a
	// failed step with its error); "retried_setup", "retried_deploys"
	// (note); "impact_stopped", "verification_started",
	// "phases_skipped" (status); "step" (escalation); "opened",
	// "adopted", "resolved_by_klaxon", "webhook" (PagerDuty); "github",
	// "slack" (owning team told). "" is the type's plain sentence, with
	// the event's text as Detail (records written before the payload
	// carried these facts).
	Case string

	// The facts, by type (empty when the event does not have them).
	Severity, Service string   // declared
	Step              string   // the setup step that failed
	From, To          string   // commander names, severities, statuses
	Names             []string // the stakeholders invited
	Seq               int      // status update number, 0 unknown
	Final, StatusPage bool     // final update; in time for the status page
	Nudge             NudgeKind
	// The checklist item, remediation option or gate (the templates word
	// them: label.checklist.<item>, ...).
	Item   Item
	Option Remedy
	Gate   Gate
	// A deploy: short SHAs, the repository, ref, creator, status.
	SHA, KnownGood, Repo, Ref, Creator, State string
	// A checked gate with a dwell: when it counts as held, and the dwell.
	HeldFrom, Dwell string
	Unmet           []Gate // an override's unmet gates
	// An action item and its ticket ("owner/repo#12").
	ID                 int
	Owner, Due, Ticket string
	Tag                string  // root-cause tag
	RepeatOf           []int64 // earlier incidents with that tag
	// An acknowledged page: by whom, where ("webhook", "poll", "slack",
	// "join"), and how long after detection (or, SinceRaise, after the
	// page a severity raise sent).
	By, Source, Since string
	SinceRaise        bool
	Name, Kind        string // an alert's name and kind
	// A status change's skipped phases; an escalation step's number, when
	// it was due after the declaration and its condition.
	Skipped   []string
	Index     int
	After, If string
	// PagerDuty: its incident's ID, and the verb of what PagerDuty said
	// ("escalated"; By is who did it, Detail its summary).
	PagerDuty, Verb string
	// The owning team told, and its Slack group.
	Team, Group string
}

// PostmortemGate is a verification gate and who checked it.
type PostmortemGate struct {
	Gate    Gate
	Checked bool
	By, At  string
	// Dwell is how long the gate must hold ("5 min"), "" for none;
	// HoldsFrom is when a checked gate with a dwell counts as held.
	Dwell     string
	HoldsFrom string
}

// PostmortemRemedy is a remediation option chosen.
type PostmortemRemedy struct {
	Option Remedy
	By, At string
}

// PostmortemOverride is an all-clear given over open gates.
type PostmortemOverride struct {
	By, At string
	Reason string
	// NoChannel: Klaxon gave the reason, the incident having no channel
	// to check its gates in.
	NoChannel bool
	Unmet     []Gate
}

// PostmortemWhy is one prompt of the 5 Whys; the first carries what broke
// (as the scope call said, cut to 300 characters; "" when not said).
type PostmortemWhy struct {
	N         int
	WhatBroke string
}

// PostmortemAction is an action item as the outline lists it.
type PostmortemAction struct {
	ID    int
	Text  string
	Owner string // name
	Due   string // YYYY-MM-DD
	// Ticket is "owner/repo#12" ("" when no ticket was filed yet), with
	// its URL and last known state.
	Ticket      string
	TicketURL   string
	TicketState string
}

const (
	postmortemDateLayout  = "2006-01-02 15:04 UTC"
	postmortemClockLayout = "15:04:05"
	postmortemStampLayout = "2006-01-02 15:04:05"
)

// PostmortemParticipants returns the Slack IDs of everyone involved in inc,
// each once, in first-seen order: the declarer, the commanders (each who
// held the role, then the current one), the actors of events (in the order
// given) other than Klaxon, action-item owners, the people who checked a
// verification gate, and then anyone the incident records as having chosen
// a remediation, answered the scope call or overridden the gates. The caller
// resolves these to names before BuildPostmortem.
func PostmortemParticipants(inc Incident, events []Event) []string {
	seen := make(map[string]bool, 16)
	var out []string
	add := func(id string) {
		if id == "" || id == ActorKlaxon || seen[id] {
			return
		}
		seen[id] = true
		out = append(out, id)
	}
	add(inc.Declarer)
	for _, e := range events {
		if c, ok := PayloadOf[CommanderPayload](e); ok && e.Type == EventCommanderChanged {
			add(c.From)
			add(c.To)
		}
	}
	add(inc.Commander)
	for _, e := range events {
		add(e.Actor)
	}
	for _, it := range inc.Actions {
		add(it.Owner)
	}
	for _, g := range Gates {
		if c, ok := inc.GateChecks[g.Gate]; ok {
			add(c.By)
		}
	}
	for _, r := range inc.Remediations {
		add(r.By)
	}
	if inc.Scope != nil {
		add(inc.Scope.By)
	}
	if inc.Override != nil {
		add(inc.Override.By)
	}
	return out
}

// BuildPostmortem gathers the outline's content for inc and its events at
// now. names maps Slack IDs to display names (IDs missing from it are shown
// as they are). It reads no clock and costs O(len(events)) (plus a sort when
// the events are not already in time order).
func (a *App) BuildPostmortem(inc Incident, events []Event, names map[string]string, now time.Time) Postmortem {
	b := postmortemBuilder{inc: &inc, names: names}
	if d := inc.DeclaredAt(); !d.IsZero() {
		b.day = d.UTC()
	} else if len(events) > 0 {
		b.day = events[0].At.UTC()
	}
	tier := a.deps.Tiers.Get(inc.Severity)
	p := Postmortem{
		Number:      inc.Number,
		Title:       inc.Title,
		Severity:    inc.Severity,
		Impact:      tier.Impact,
		Service:     inc.Service,
		Status:      inc.Status,
		Private:     inc.Private,
		Commander:   b.name(inc.Commander),
		Declarer:    b.name(inc.Declarer),
		Declared:    b.date(PhaseDeclared),
		Resolved:    b.date(PhaseResolved),
		Closed:      b.date(PhaseClosed),
		GeneratedAt: now.UTC(),
		Generated:   now.UTC().Format(postmortemDateLayout),
		Incident:    inc,
		RootCause:   inc.RootCause,
	}
	if svc, ok := a.Service(inc.Service); ok {
		p.Service, p.Runbook = svc.Name, svc.Runbook
	}
	for _, id := range PostmortemParticipants(inc, events) {
		p.Participants = append(p.Participants, b.name(id))
	}
	p.Scope = b.scope()
	b.phases(&p)
	p.Timeline = b.timeline(events)
	p.FormerCommanders = b.formerCommanders(events)
	b.gates(&p)
	for _, r := range inc.Remediations {
		p.Remediations = append(p.Remediations, PostmortemRemedy{Option: r.Option, By: b.name(r.By), At: b.clock(r.At)})
	}
	if ov := inc.Override; ov != nil {
		p.Override = &PostmortemOverride{By: b.name(ov.By), At: b.clock(ov.At), Reason: ov.Reason, NoChannel: ov.NoChannel, Unmet: ov.Unmet}
	}
	p.RepeatOf = inc.RepeatOf
	p.Whys = b.whys()
	for _, it := range inc.Actions {
		act := PostmortemAction{ID: it.ID, Text: it.Text, Owner: b.name(it.Owner), Due: it.Due}
		if t := it.Ticket; t != nil {
			act.Ticket = t.Repo + "#" + strconv.Itoa(t.Number)
			act.TicketURL, act.TicketState = t.URL, cmp.Or(t.State, "unknown")
		}
		p.Actions = append(p.Actions, act)
	}
	return p
}

// postmortemBuilder holds what every part of the outline needs.
type postmortemBuilder struct {
	inc   *Incident
	names map[string]string
	// day is the declaration's date: times on it are shown without a date.
	day time.Time
}

// name is a person's display name: the resolved name, else the ID itself.
func (b *postmortemBuilder) name(id string) string {
	switch id {
	case "":
		return ""
	case ActorKlaxon:
		return "Klaxon"
	}
	// A name is one line: runs of space, tabs and line breaks become one space.
	if n := strings.Join(strings.Fields(b.names[id]), " "); n != "" {
		return n
	}
	return id
}

// date formats phase p's timestamp, or "" when it was not reached.
func (b *postmortemBuilder) date(p Phase) string {
	t, ok := b.inc.At(p)
	if !ok || t.IsZero() {
		return ""
	}
	return t.UTC().Format(postmortemDateLayout)
}

// clock formats t as a time of day, with the date when it is not the
// declaration's day; "" for a zero time.
func (b *postmortemBuilder) clock(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	y, m, d := t.Date()
	by, bm, bd := b.day.Date()
	if y == by && m == bm && d == bd {
		return t.Format(postmortemClockLayout)
	}
	return t.Format(postmortemStampLayout)
}

func (b *postmortemBuilder) scope() PostmortemScope {
	var s PostmortemScope
	var answers [3]string
	if sc := b.inc.Scope; sc != nil {
		s.Recorded = true
		s.By, s.At = b.name(sc.By), b.clock(sc.At)
		answers = [3]string{sc.WhatBroke, sc.WhoAffected, sc.BlastRadius}
	}
	for i, q := range [3]string{"what_broke", "who_affected", "blast_radius"} {
		a := strings.TrimSpace(answers[i])
		if a == "" {
			s.Answers = append(s.Answers, PostmortemAnswer{Question: q, Missing: true})
			continue
		}
		s.Answers = append(s.Answers, PostmortemAnswer{Question: q, Answer: a})
	}
	return s
}

// phases fills the four phases, the total and the bottleneck.
func (b *postmortemBuilder) phases(p *Postmortem) {
	var sum time.Duration
	for _, pt := range PhaseTargets {
		p.Phases = append(p.Phases, b.phase(pt.Name, pt.From, pt.To, pt.Target))
		sum += pt.Target
	}
	p.Total = b.phase("Total", PhaseDetected, PhaseResolved, sum)
	first := true
	for _, st := range b.inc.DetectionSteps() {
		d := PostmortemDetection{Name: st.Name, Reached: st.Reached}
		if st.Reached {
			d.At = st.At.Format("15:04")
			if !first {
				d.Since = "+" + HumanDuration(st.Since)
			}
			first = false
		}
		p.Detection = append(p.Detection, d)
	}
	if p.Total.Reached {
		p.Duration = p.Total.Duration
	}
	i, rule, share := PostmortemBottleneck(p.Phases)
	p.BottleneckRule, p.BottleneckShare = rule, share
	if i >= 0 {
		p.Phases[i].Bottleneck = true
		p.Bottleneck = p.Phases[i].Name
	}
}

func (b *postmortemBuilder) phase(name string, from, to Phase, target time.Duration) PostmortemPhase {
	ph := PostmortemPhase{Name: name, From: from, To: to, Target: target, TargetText: HumanDuration(target),
		Span: strings.ReplaceAll(string(from)+" → "+string(to), "_", " ")}
	start, okFrom := b.inc.At(from)
	end, okTo := b.inc.At(to)
	if !okFrom || !okTo {
		return ph
	}
	ph.Reached = true
	ph.Elapsed = max(end.Sub(start), 0)
	ph.Duration = HumanDuration(ph.Elapsed)
	if ph.Elapsed > target {
		ph.Over, ph.OverBy = true, HumanDuration(ph.Elapsed-target)
	}
	return ph
}

// PostmortemBottleneck picks the bottleneck among phases that ended: the one furthest
// over its target; when none is over, the one that used the largest share
// of its target. Ties go to the earlier phase. It returns the index (-1 for
// none), the rule that applied ("over", "share", "none_ended", "no_time")
// and, for "share", the share of its target in percent.
func PostmortemBottleneck(phases []PostmortemPhase) (int, string, int) {
	best, ended := -1, false
	for i, ph := range phases {
		if !ph.Reached {
			continue
		}
		ended = true
		if ph.Over && (best < 0 || ph.Elapsed-ph.Target > phases[best].Elapsed-phases[best].Target) {
			best = i
		}
	}
	if best >= 0 {
		return best, "over", 0
	}
	if !ended {
		return -1, "none_ended", 0
	}
	var bestShare float64
	for i, ph := range phases {
		if !ph.Reached || ph.Target <= 0 || ph.Elapsed <= 0 {
			continue
		}
		if share := float64(ph.Elapsed) / float64(ph.Target); share > bestShare {
			best, bestShare = i, share
		}
	}
	if best < 0 {
		return -1, "no_time", 0
	}
	return best, "share", int(bestShare * 100)
}

// timeline gathers the events, in time order.
func (b *postmortemBuilder) timeline(events []Event) []PostmortemEvent {
	byTime := func(x, y Event) int {
		if c := x.At.Compare(y.At); c != 0 {
			return c
		}
		return cmp.Compare(x.Seq, y.Seq)
	}
	if !slices.IsSortedFunc(events, byTime) {
		events = slices.Clone(events)
		slices.SortStableFunc(events, byTime)
	}
	out := make([]PostmortemEvent, len(events))
	for i, e := range events {
		out[i] = b.event(e)
	}
	return out
}

// formerCommanders are those who handed the commander role over, in order.
func (b *postmortemBuilder) formerCommanders(events []Event) []string {
	var out []string
	seen := map[string]bool{b.inc.Commander: true}
	for _, e := range events {
		c, _ := PayloadOf[CommanderPayload](e)
		if from := c.From; e.Type == EventCommanderChanged && from != "" && !seen[from] {
			seen[from] = true
			out = append(out, b.name(from))
		}
	}
	return out
}

// event gathers what the outline says of event e: its facts, with names
// resolved, labels looked up and times formatted, and the URL it points
// at. The sentence itself is the template's (postmortem_timeline.tmpl).
func (b *postmortemBuilder) event(e Event) PostmortemEvent {
	text := strings.TrimSpace(e.Text)
	pe := PostmortemEvent{Time: b.clock(e.At), Type: e.Type, Actor: b.name(e.Actor), Detail: text}
	switch e.Type {
	case EventDeploy:
		d, _ := PayloadOf[DeployPayload](e)
		pe.SHA, pe.Repo, pe.Creator, pe.State = shortCommit(d.SHA), d.Repo, d.Creator, d.State
	case EventDeployLinked, EventDeployRuled:
		d, _ := PayloadOf[DeployRefPayload](e)
		pe.SHA, pe.Repo = shortCommit(d.SHA), d.Repo
		if d.Watchdog {
			pe.Case = "watchdog"
		}
	case EventDeclared:
		p, _ := PayloadOf[DeclaredPayload](e)
		if p.Severity.Valid() {
			pe.Severity = p.Severity.String()
		}
		pe.Service = p.Service
	case EventInvited:
		for _, id := range strings.Split(strings.TrimPrefix(text, "invited "), ", ") {
			if n := b.name(id); n != "" {
				pe.Names = append(pe.Names, n)
			}
		}
	case EventRunbookAttached:
		pe.Link = text
	case EventStepFailed:
		p, _ := PayloadOf[StepFailedPayload](e)
		pe.Step = string(p.Step)
		if p.Error != "" && text == "" {
			pe.Case, pe.Detail = "error", strings.TrimSpace(p.Error)
		}
	case EventNote:
		if p, ok := PayloadOf[NotePayload](e); ok && p.Retried != "" {
			pe.Case = "retried_" + p.Retried
		}
	case EventCommanderChanged:
		p, _ := PayloadOf[CommanderPayload](e)
		pe.From, pe.To = b.name(p.From), b.name(p.To)
		switch {
		case p.To == "":
		case p.From == "" && e.Actor == p.To:
			pe.Case = "took"
		case p.From == "":
			pe.Case = "named"
		case e.Actor == p.To:
			pe.Case = "took_over"
		case e.Actor == p.From:
			pe.Case = "handed"
		default:
			pe.Case = "handed_between"
		}
	case EventSeverityChanged:
		if p, ok := PayloadOf[SeverityPayload](e); ok {
			pe.Case, pe.To, pe.Detail = "changed", p.To.String(), strings.TrimSpace(p.Reason)
			if p.From.Valid() {
				pe.From = p.From.String()
			}
		}
	case EventStatusChanged:
		p, _ := PayloadOf[StatusPayload](e)
		pe.From, pe.To = string(p.From), string(p.To)
		pe.Detail = trimPrefixFold(text, pe.To)
		if p.Why != "" && text == "" {
			pe.Case = p.Why
			for _, s := range p.Skipped {
				pe.Skipped = append(pe.Skipped, string(s))
			}
		}
	case EventStatusUpdate:
		p, _ := PayloadOf[UpdatePayload](e)
		pe.Seq, pe.Final, pe.StatusPage, pe.Case = p.Seq, p.Final, p.StatusPage, p.AllClear
	case EventNudged:
		p, _ := PayloadOf[NudgePayload](e)
		pe.Nudge = cmp.Or(p.Kind, NudgeKind(text))
	case EventChecked, EventUnchecked:
		p, _ := PayloadOf[ItemPayload](e)
		pe.Item = cmp.Or(p.Item, Item(text))
	case EventScoped:
		pe.Detail = trimPrefixFold(text, "scope call")
	case EventRemediation:
		p, _ := PayloadOf[RemediationPayload](e)
		// Records before the payload held only the option's label (the
		// option, here); those after it and before the labels left
		// playbook, the label as text: the template leaves that out.
		pe.Option, pe.Detail = cmp.Or(p.Option, Remedy(text)), ""
		if text != "" && !strings.EqualFold(text, string(pe.Option)) {
			pe.Detail = text
		}
	case EventSuspectDeploy:
		p, _ := PayloadOf[SuspectPayload](e)
		pe.Link = p.URL
		if p.SHA != "" {
			pe.Case, pe.SHA, pe.Ref, pe.Creator, pe.State, pe.KnownGood = "deploy", shortCommit(p.SHA), p.Ref, p.Creator, p.State, shortCommit(p.KnownGood)
		}
	case EventGateChecked, EventGateUnchecked:
		p, _ := PayloadOf[GatePayload](e)
		g := cmp.Or(p.Gate, Gate(text))
		pe.Gate = g
		if d := gateDwell(g); d > 0 && e.Type == EventGateChecked {
			pe.HeldFrom, pe.Dwell = b.clock(e.At.Add(d)), HumanDuration(d)
		}
	case EventAllClear:
		// Klaxon's text was "All clear: …" or "All clear, …".
		if p, ok := PayloadOf[AllClearPayload](e); ok && text == "" {
			pe.Case = "held"
			if p.OverGates {
				pe.Case = "over_gates"
			}
		} else if len(text) > 9 && strings.EqualFold(text[:9], "all clear") && text[9] == ',' {
			pe.Case, pe.Detail = "comma", text[10:]
		} else {
			pe.Detail = trimPrefixFold(text, "all clear")
		}
	case EventGateOverride:
		p, _ := PayloadOf[OverridePayload](e)
		pe.Unmet = p.Unmet
		if p.NoChannel && text == "" {
			pe.Case = "no_channel"
		}
	case EventActionItem:
		p, _ := PayloadOf[ActionPayload](e)
		pe.ID, pe.Owner, pe.Due = p.ID, b.name(p.Owner), p.Due
	case EventTicketFiled:
		p, _ := PayloadOf[TicketPayload](e)
		pe.Link = p.URL
		if p.Ticket != "" && p.ID != 0 {
			pe.Case, pe.ID, pe.Ticket = "filed", p.ID, p.Ticket
		}
	case EventPostmortemShared:
		p, _ := PayloadOf[SharedPayload](e)
		pe.Link, pe.Repo = p.URL, p.Repo
		switch {
		case p.Upload:
			pe.Case = "upload"
		case p.Repo != "":
			pe.Case = "publish"
		default:
			pe.Detail = trimPrefixFold(text, "post-mortem outline")
		}
	case EventRootCause:
		p, _ := PayloadOf[RootCausePayload](e)
		pe.Tag, pe.RepeatOf = cmp.Or(p.Tag, text), p.RepeatOf
	case EventPostmortemDone:
		p, _ := PayloadOf[PostmortemDonePayload](e)
		pe.Link = cmp.Or(p.URL, text)
	case EventPageAcknowledged:
		p, _ := PayloadOf[AckPayload](e)
		if p.By == "" {
			break
		}
		pe.Case, pe.By, pe.Source = "acknowledged", pe.Actor, p.Source
		if e.Actor == ActorKlaxon {
			pe.By = p.By // a PagerDuty user not found in Slack, by name
		}
		if p.TimeToAck != nil {
			pe.Since = HumanDuration(*p.TimeToAck)
		} else if p.AfterRaise != nil {
			pe.Since, pe.SinceRaise = HumanDuration(*p.AfterRaise), true
		}
	case EventPagerDuty:
		p, _ := PayloadOf[PagerDutyPayload](e)
		pe.Link = p.URL
		if text == "" {
			pe.Case, pe.PagerDuty = p.Event, p.Incident
			if verb, ok := strings.CutPrefix(p.Event, "incident."); ok {
				pe.Case, pe.Verb, pe.By, pe.Detail = "webhook", verb, p.Agent, strings.TrimSpace(p.Summary)
			}
		}
	case EventEscalated, EventEscalationSkipped:
		if p, ok := PayloadOf[EscalationPayload](e); ok && text == "" {
			pe.Case, pe.Index, pe.After, pe.If = "step", p.Step, HumanDuration(p.After), p.If
		}
	case EventOwnersTold:
		p, _ := PayloadOf[OwnersToldPayload](e)
		pe.Link = p.URL
		if text == "" {
			pe.Case, pe.Team, pe.Ticket, pe.Group = p.Via, p.Team, p.Issue, p.SlackGroup
		}
	case EventSignal, EventSignalResolved:
		p, _ := PayloadOf[SignalPayload](e)
		pe.Name, pe.Kind, pe.Link = p.Name, string(p.Kind), p.URL
		if e.Type == EventSignalResolved {
			pe.Link = ""
		}
		pe.Detail = strings.TrimSpace(p.Summary)
	}
	return pe
}

// whys is the 5 Whys scaffold, the first seeded with what broke.
func (b *postmortemBuilder) whys() []PostmortemWhy {
	w := []PostmortemWhy{{N: 1}}
	if sc := b.inc.Scope; sc != nil {
		w[0].WhatBroke = truncate(strings.TrimSpace(sc.WhatBroke), 300)
	}
	for n := 2; n <= 5; n++ {
		w = append(w, PostmortemWhy{N: n})
	}
	return w
}

func (b *postmortemBuilder) gates(p *Postmortem) {
	p.Verification = b.clock(b.inc.Verifying)
	for _, g := range Gates {
		pg := PostmortemGate{Gate: g.Gate}
		if g.Dwell > 0 {
			pg.Dwell = HumanDuration(g.Dwell)
		}
		if c, ok := b.inc.GateChecks[g.Gate]; ok {
			pg.Checked, pg.By, pg.At = true, b.name(c.By), b.clock(c.At)
			if g.Dwell > 0 {
				pg.HoldsFrom = b.clock(c.At.Add(g.Dwell))
			}
		}
		p.Gates = append(p.Gates, pg)
	}
}

func gateDwell(g Gate) time.Duration {
	for _, gi := range Gates {
		if gi.Gate == g {
			return gi.Dwell
		}
	}
	return 0
}

// shortCommit is a commit SHA's first 7 characters.
func shortCommit(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// trimPrefixFold removes prefix from s, ignoring case, with the ":" and
// spaces after it, so a text repeating what the sentence already says is
// not said twice.
func trimPrefixFold(s, prefix string) string {
	if prefix == "" || len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s
	}
	return strings.TrimLeft(s[len(prefix):], ": ")
}
