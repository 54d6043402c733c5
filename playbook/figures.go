package playbook

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"
)

// This file computes the figures an engineering leader tracks (MTTD, MTTA,
// MTTR by severity and phase, frequency, post-mortems on time, action items
// closed by their deadline, pager load, repeats, change failure rate) from the
// stored incidents. It is pure: the caller passes now, the tiers and the
// incidents; nothing here reads a clock or a store. A figure with no sample
// is reported as such (Count 0, Data false), never as a zero duration.

// Window is the half-open time span [From, To) the figures cover.
type Window struct {
	From, To time.Time
}

// Contains reports whether t falls in the window.
func (w Window) Contains(t time.Time) bool { return !t.Before(w.From) && t.Before(w.To) }

// Week is seven days.
const Week = 7 * 24 * time.Hour

// WindowEnding is the window of length d that ends at to.
func WindowEnding(to time.Time, d time.Duration) Window {
	to = to.UTC()
	return Window{From: to.Add(-d), To: to}
}

// ParseSpan reads a figures window as people type it: "7d", "30d", "12w"
// (any number of days or weeks from 1 day to 104 weeks). An empty string is
// def.
func ParseSpan(s string, def time.Duration) (time.Duration, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return def, nil
	}
	bad := Fail(CodeBadInput, ReasonNotAWindow, FieldWindow, ErrorArgs{Input: truncate(s, 20)})
	if len(s) < 2 || len(s) > 5 {
		return 0, bad
	}
	unit := 24 * time.Hour
	switch s[len(s)-1] {
	case 'd':
	case 'w':
		unit = Week
	default:
		return 0, bad
	}
	n := 0
	for _, c := range s[:len(s)-1] {
		if c < '0' || c > '9' {
			return 0, bad
		}
		n = n*10 + int(c-'0')
	}
	d := time.Duration(n) * unit
	if n == 0 || d > MaxSpan {
		return 0, Fail(CodeBadInput, ReasonWindowOutOfRange, FieldWindow, ErrorArgs{Input: s})
	}
	return d, nil
}

// MaxSpan bounds a figures window.
const MaxSpan = 104 * Week

// The targets the figures are held against (the playbook's).
const (
	// TargetMTTRSEV1 is the SEV1 time to restore; other tiers have none.
	TargetMTTRSEV1 = time.Hour
	// TargetMTTD is the elite time from the first anomaly to the alert.
	TargetMTTD = 3 * time.Minute
	// TargetMTTA is the time from the declaration to the acknowledgement
	// (Detection ends with the on-call engineer's acknowledgement, P1 < 5 min).
	TargetMTTA = 5 * time.Minute
	// TargetPagesPerWeek is the sustainable pager load per engineer per week;
	// PagerFlagPerWeek and above is flagged (8–10 pages a shift burns people out).
	TargetPagesPerWeek = 5
	PagerFlagPerWeek   = 8
	// TargetActionCompletion is the share of action items closed by their
	// deadline to stay above, in percent.
	TargetActionCompletion = 75
	// TargetRepeatRate is the share of repeat incidents to stay below, in percent.
	TargetRepeatRate = 10
)

// FigureQuery selects what the figures cover.
type FigureQuery struct {
	Window Window
	// Service, when set, keeps only that service's incidents.
	Service string
}

// Stat is a duration figure: its sample and its target.
type Stat struct {
	// Count is the sample size; the other durations mean nothing when it is 0.
	Count          int
	Mean, P50, P90 time.Duration
	// Target is the figure's target; HasTarget is false when it has none.
	Target    time.Duration
	HasTarget bool
	// Missing counts incidents that should have counted but lack a timestamp.
	Missing int
}

// Over reports whether the mean is over the target.
func (s Stat) Over() bool { return s.Count > 0 && s.HasTarget && s.Mean > s.Target }

// PhaseNames are the four phases, in order (the names of PhaseTargets).
func PhaseNames() []string {
	names := make([]string, len(PhaseTargets))
	for i, p := range PhaseTargets {
		names[i] = p.Name
	}
	return names
}

// WeekFigures are one week's figures, for the trend and the chart.
type WeekFigures struct {
	From, To time.Time
	// Incidents declared that week, and how many of them were SEV1 or SEV2.
	Incidents, Major int
	// Phases[s][i] is phase i (PhaseTargets order) of the week's resolved
	// incidents of severity s.
	Phases map[Severity][]Stat
}

// Frequency is how often SEV1 and SEV2 incidents happen.
type Frequency struct {
	// PerWeek is the mean number of SEV1+SEV2 incidents per week over the window.
	PerWeek float64
	// Slope is the least-squares trend of the weekly counts, in incidents
	// per week per week; HasTrend is false with fewer than two whole weeks.
	Slope    float64
	HasTrend bool
}

// PostmortemFigures count the post-mortems due in the window's incidents.
type PostmortemFigures struct {
	// Required: resolved incidents whose tier requires a post-mortem.
	Required int
	OnTime   int
	Late     int
	// Overdue: not done and past due; Pending: not done, not due yet.
	Overdue, Pending int
	// DoneUnknown: marked done, but when is not recorded.
	DoneUnknown int
	// OverdueList names the overdue ones, oldest due first.
	OverdueList []OverduePostmortem
}

// Counted is the number that the on-time rate is over.
func (p PostmortemFigures) Counted() int { return p.OnTime + p.Late + p.Overdue }

// OverduePostmortem is a post-mortem past its due time.
type OverduePostmortem struct {
	Incident  int64
	Severity  Severity
	Commander string
	Private   bool
	Due       time.Time
}

// ActionFigures count the action items of the window's incidents against
// their deadlines (the end of the due day, UTC).
type ActionFigures struct {
	Total int
	// OnTime: closed by the deadline; Late: closed after it; Overdue: open
	// past it; NotDue: open, deadline ahead (not counted in the rate).
	OnTime, Late, Overdue, NotDue int
	// ClosedUnknown: closed, but when is not recorded (not counted).
	ClosedUnknown int
	// BadDue: a deadline that is not a date (not counted).
	BadDue      int
	OverdueList []OverdueAction
}

// Counted is the number the completion rate is over.
func (a ActionFigures) Counted() int { return a.OnTime + a.Late + a.Overdue }

// Rate is the share closed by their deadline, in percent; ok is false when
// no item has come due.
func (a ActionFigures) Rate() (float64, bool) {
	if a.Counted() == 0 {
		return 0, false
	}
	return 100 * float64(a.OnTime) / float64(a.Counted()), true
}

// OverdueAction is an open action item past its deadline.
type OverdueAction struct {
	Incident int64
	Item     int
	Owner    string
	Due      string
	Private  bool
}

// PagerFigures are the pages per engineer per week, from the recorded pages.
type PagerFigures struct {
	// Data is false when no page was ever recorded (no paging source).
	Data  bool
	Pages int
	// Unattributed counts pages whose target is not recorded.
	Unattributed int
	// EngineerWeeks counts (engineer, week) pairs with at least one page;
	// PerEngineerWeek is the mean pages over them and Max the largest.
	EngineerWeeks   int
	PerEngineerWeek float64
	Max             int
	// Flagged lists engineer-weeks at or above PagerFlagPerWeek.
	Flagged []PagerLoad
}

// PagerLoad is one engineer's pages in one week.
type PagerLoad struct {
	Who   string
	Week  time.Time
	Pages int
}

// RepeatFigures count the incidents sharing a root-cause tag with an earlier one.
type RepeatFigures struct {
	Incidents, Repeats int
}

// Rate is the repeat share in percent; ok is false with no incidents.
func (r RepeatFigures) Rate() (float64, bool) {
	if r.Incidents == 0 {
		return 0, false
	}
	return 100 * float64(r.Repeats) / float64(r.Incidents), true
}

// ChangeFailure is the change failure rate per service, where deploys are
// recorded.
type ChangeFailure struct {
	// Data is false when no deploy is recorded (no deploy source).
	Data     bool
	Services []ServiceChangeFailure
}

// ServiceChangeFailure is one service's deploys and those linked to an incident.
type ServiceChangeFailure struct {
	Service         string
	Deploys, Failed int
}

// Figures are the figures over one window.
type Figures struct {
	Query FigureQuery
	Now   time.Time
	// Total incidents declared in the window; Open among them.
	Total, Open int
	BySeverity  map[Severity]int
	// MTTD: first anomaly → alert, over the incidents that recorded an
	// anomaly time (Count of Total).
	MTTD Stat
	// MTTA: declared → acknowledged.
	MTTA Stat
	// MTTR: detected → resolved, by severity, resolved incidents only.
	MTTR map[Severity]Stat
	// Phases[i][s] is phase i (PhaseTargets order) for severity s; All[i]
	// every severity together. Targets are the P1 ones for every tier.
	Phases map[Severity][]Stat
	All    []Stat
	// Bottleneck is the phase name furthest over its target by its mean,
	// or, none being over, the one using the largest share of its target;
	// "" when no phase has a sample. BottleneckOver says which rule chose it.
	Bottleneck     string
	BottleneckOver bool
	Weeks          []WeekFigures
	Frequency      Frequency
	Postmortems    PostmortemFigures
	Actions        ActionFigures
	Pager          PagerFigures
	Repeats        RepeatFigures
	ChangeFailure  ChangeFailure
}

// Empty reports whether the window holds no incident ("no incidents").
func (f Figures) Empty() bool { return f.Total == 0 }

// FigureBuilder accumulates incidents one at a time (one pass over the
// store) and computes the figures at the end.
type FigureBuilder struct {
	q     FigureQuery
	tiers Tiers
	now   time.Time

	f       Figures
	mttd    []time.Duration
	mtta    []time.Duration
	mttr    map[Severity][]time.Duration
	phases  map[Severity][][]time.Duration
	all     [][]time.Duration
	weeks   []weekAcc
	major   int // SEV1+SEV2 in the window, whole weeks or not
	pages   map[pagerKey]int
	deploys map[string]*ServiceChangeFailure
}

type weekAcc struct {
	from, to time.Time
	inc      int
	major    int
	phases   map[Severity][][]time.Duration
}

type pagerKey struct {
	who  string
	week int
}

// NewFigureBuilder starts the figures of q at now with the given tiers (for
// the post-mortem deadlines).
func NewFigureBuilder(q FigureQuery, tiers Tiers, now time.Time) *FigureBuilder {
	q.Window.From, q.Window.To = q.Window.From.UTC(), q.Window.To.UTC()
	b := &FigureBuilder{q: q, tiers: tiers, now: now.UTC(),
		mttr: map[Severity][]time.Duration{}, phases: map[Severity][][]time.Duration{},
		all: make([][]time.Duration, len(PhaseTargets)), pages: map[pagerKey]int{},
		deploys: map[string]*ServiceChangeFailure{}}
	b.f.Query, b.f.Now = q, b.now
	b.f.BySeverity = map[Severity]int{}
	// Whole weeks ending at the window's end; a shorter window is one week.
	n := int(q.Window.To.Sub(q.Window.From) / Week)
	if n < 1 {
		n = 1
	}
	for i := n - 1; i >= 0; i-- {
		to := q.Window.To.Add(-time.Duration(i) * Week)
		from := to.Add(-Week)
		if from.Before(q.Window.From) {
			from = q.Window.From
		}
		b.weeks = append(b.weeks, weekAcc{from: from, to: to, phases: map[Severity][][]time.Duration{}})
	}
	return b
}

// FigureEvents are the event types the figures read; a store scan can skip
// the others.
var FigureEvents = []EventType{EventPage, EventPostmortemDone}

// Add counts one incident with its events (only FigureEvents are read).
// Incidents outside the query are skipped here, so the caller may pass all.
func (b *FigureBuilder) Add(inc *Incident, events []Event) {
	for _, e := range events {
		if e.Type == EventPage {
			b.f.Pager.Data = true
			break
		}
	}
	if b.q.Service != "" && inc.Service != b.q.Service {
		return
	}
	declared, ok := inc.At(PhaseDeclared)
	if !ok || !b.q.Window.Contains(declared) {
		return
	}
	f := &b.f
	f.Total++
	f.BySeverity[inc.Severity]++
	open := inc.Status.Open()
	if open {
		f.Open++
	}
	major := inc.Severity == SEV1 || inc.Severity == SEV2
	if major {
		b.major++
	}
	week := b.week(declared)
	if week >= 0 {
		b.weeks[week].inc++
		if major {
			b.weeks[week].major++
		}
	}
	if len(inc.RepeatOf) > 0 {
		f.Repeats.Repeats++
	}
	f.Repeats.Incidents++

	if d, ok := mttd(inc); ok {
		b.mttd = append(b.mttd, d)
	}
	if d, ok := span(inc, PhaseDeclared, PhaseAcknowledged); ok {
		b.mtta = append(b.mtta, d)
	} else {
		f.MTTA.Missing++
	}
	if !open {
		b.resolved(inc, week)
	}
	b.postmortem(inc, events)
	b.actions(inc)
	b.pagesOf(inc, events)
}

// resolved counts the durations of an incident that is no longer open.
func (b *FigureBuilder) resolved(inc *Incident, week int) {
	s := inc.Severity
	if d, ok := span(inc, PhaseDetected, PhaseResolved); ok {
		b.mttr[s] = append(b.mttr[s], d)
	} else {
		st := b.f.MTTR
		if st == nil {
			st = map[Severity]Stat{}
			b.f.MTTR = st
		}
		m := st[s]
		m.Missing++
		st[s] = m
	}
	if b.phases[s] == nil {
		b.phases[s] = make([][]time.Duration, len(PhaseTargets))
	}
	var wp [][]time.Duration
	if week >= 0 {
		if b.weeks[week].phases[s] == nil {
			b.weeks[week].phases[s] = make([][]time.Duration, len(PhaseTargets))
		}
		wp = b.weeks[week].phases[s]
	}
	for i, pt := range PhaseTargets {
		d, ok := span(inc, pt.From, pt.To)
		if !ok {
			if b.f.All == nil {
				b.f.All = make([]Stat, len(PhaseTargets))
			}
			b.f.All[i].Missing++
			continue
		}
		b.phases[s][i] = append(b.phases[s][i], d)
		b.all[i] = append(b.all[i], d)
		if wp != nil {
			wp[i] = append(wp[i], d)
		}
	}
}

// postmortem counts the post-mortem of a resolved incident whose tier requires one.
func (b *FigureBuilder) postmortem(inc *Incident, events []Event) {
	within := b.tiers.Get(inc.Severity).PostmortemWithin
	resolved, ok := inc.At(PhaseResolved)
	if within <= 0 || inc.Status.Open() || !ok {
		return
	}
	p := &b.f.Postmortems
	p.Required++
	due := resolved.Add(within)
	var done time.Time
	for _, e := range events {
		if e.Type == EventPostmortemDone && (done.IsZero() || e.At.Before(done)) {
			done = e.At
		}
	}
	switch {
	case !done.IsZero() && !done.After(due):
		p.OnTime++
	case !done.IsZero():
		p.Late++
	case inc.Timers.PostmortemDone:
		p.DoneUnknown++
	case b.now.After(due):
		p.Overdue++
		p.OverdueList = append(p.OverdueList, OverduePostmortem{Incident: inc.Number, Severity: inc.Severity, Commander: inc.Commander, Private: inc.Private, Due: due})
	default:
		p.Pending++
	}
}

// actions counts the incident's action items against their deadlines.
func (b *FigureBuilder) actions(inc *Incident) {
	a := &b.f.Actions
	for _, it := range inc.Actions {
		a.Total++
		day, err := time.Parse(time.DateOnly, it.Due)
		if err != nil {
			a.BadDue++
			continue
		}
		deadline := day.AddDate(0, 0, 1) // the end of the due day, UTC
		closed := it.Ticket != nil && it.Ticket.State == "closed"
		switch {
		case closed && it.Ticket.ClosedAt.IsZero():
			a.ClosedUnknown++
		case closed && it.Ticket.ClosedAt.Before(deadline):
			a.OnTime++
		case closed:
			a.Late++
		case !b.now.Before(deadline):
			a.Overdue++
			a.OverdueList = append(a.OverdueList, OverdueAction{Incident: inc.Number, Item: it.ID, Owner: it.Owner, Due: it.Due, Private: inc.Private})
		default:
			a.NotDue++
		}
	}
}

// pagesOf counts the incident's pages sent in the window, per person and week.
func (b *FigureBuilder) pagesOf(inc *Incident, events []Event) {
	for _, e := range events {
		if e.Type != EventPage || !b.q.Window.Contains(e.At) {
			continue
		}
		w := b.week(e.At)
		if w < 0 {
			continue
		}
		b.f.Pager.Pages++
		who := PagedPeople(e)
		if len(who) == 0 {
			b.f.Pager.Unattributed++
		}
		for _, p := range who {
			b.pages[pagerKey{p, w}]++
		}
	}
}

// PagedPeople returns who a page event reached, as the paging integration
// records it: the payload's Person (one event per person paged: their
// Slack user, else their PagerDuty name or ID), else its Paged list.
func PagedPeople(e Event) []string {
	p, _ := PayloadOf[PagePayload](e)
	if v := strings.TrimSpace(p.Person); v != "" {
		return []string{v}
	}
	return p.Paged
}

// AddDeploys counts a service's deploys in the window and those that failed
// (linked to an incident), from a deploy source.
func (b *FigureBuilder) AddDeploys(service string, deploys, failed int) {
	if b.q.Service != "" && service != b.q.Service {
		return
	}
	b.f.ChangeFailure.Data = true
	s := b.deploys[service]
	if s == nil {
		s = &ServiceChangeFailure{Service: service}
		b.deploys[service] = s
	}
	s.Deploys += deploys
	s.Failed += failed
}

// week returns the index of the week t falls in, or -1 (outside the window,
// or in the part of it before the first whole week).
func (b *FigureBuilder) week(t time.Time) int {
	if !b.q.Window.Contains(t) {
		return -1
	}
	i := len(b.weeks) - 1 - int((b.q.Window.To.Sub(t)-1)/Week)
	if i < 0 || t.Before(b.weeks[i].from) {
		return -1
	}
	return i
}

// mttd is first anomaly → alert. An incident recorded an anomaly time when
// its detection comes before its declaration (an alert integration or a
// person who said when the impact started); the alert is the "alerted"
// phase when one is recorded, else the declaration.
func mttd(inc *Incident) (time.Duration, bool) {
	detected, ok := inc.At(PhaseDetected)
	declared, ok2 := inc.At(PhaseDeclared)
	if !ok || !ok2 || !detected.Before(declared) {
		return 0, false
	}
	end := declared
	if alerted, ok := inc.At(PhaseAlerted); ok && !alerted.Before(detected) {
		end = alerted
	}
	return end.Sub(detected), true
}

// span is the time from phase a to phase b, when both were reached.
func span(inc *Incident, a, b Phase) (time.Duration, bool) {
	from, ok := inc.At(a)
	to, ok2 := inc.At(b)
	if !ok || !ok2 {
		return 0, false
	}
	return max(to.Sub(from), 0), true
}

// Result computes the figures.
func (b *FigureBuilder) Result() Figures {
	f := b.f
	f.MTTD = stat(b.mttd, TargetMTTD, true, 0)
	f.MTTA = stat(b.mtta, TargetMTTA, true, b.f.MTTA.Missing)
	mttr := map[Severity]Stat{}
	for _, s := range Severities {
		target, has := time.Duration(0), false
		if s == SEV1 {
			target, has = TargetMTTRSEV1, true
		}
		mttr[s] = stat(b.mttr[s], target, has, b.f.MTTR[s].Missing)
	}
	f.MTTR = mttr
	f.Phases = map[Severity][]Stat{}
	for _, s := range Severities {
		f.Phases[s] = phaseStats(b.phases[s], nil)
	}
	f.All = phaseStats(b.all, b.f.All)
	f.Bottleneck, f.BottleneckOver = bottleneck(f.All)
	for _, w := range b.weeks {
		wf := WeekFigures{From: w.from, To: w.to, Incidents: w.inc, Major: w.major, Phases: map[Severity][]Stat{}}
		for _, s := range Severities {
			wf.Phases[s] = phaseStats(w.phases[s], nil)
		}
		f.Weeks = append(f.Weeks, wf)
	}
	f.Frequency = frequency(b.weeks, b.major, b.q.Window)
	f.Pager = b.pager()
	for _, s := range b.deploys {
		f.ChangeFailure.Services = append(f.ChangeFailure.Services, *s)
	}
	slices.SortFunc(f.ChangeFailure.Services, func(x, y ServiceChangeFailure) int { return strings.Compare(x.Service, y.Service) })
	slices.SortFunc(f.Postmortems.OverdueList, func(x, y OverduePostmortem) int { return x.Due.Compare(y.Due) })
	return f
}

func (b *FigureBuilder) pager() PagerFigures {
	p := b.f.Pager
	total := 0
	for k, n := range b.pages {
		p.EngineerWeeks++
		total += n
		p.Max = max(p.Max, n)
		if n >= PagerFlagPerWeek {
			p.Flagged = append(p.Flagged, PagerLoad{Who: k.who, Week: b.weeks[k.week].from, Pages: n})
		}
	}
	if p.EngineerWeeks > 0 {
		p.PerEngineerWeek = float64(total) / float64(p.EngineerWeeks)
	}
	slices.SortFunc(p.Flagged, func(x, y PagerLoad) int {
		if c := x.Week.Compare(y.Week); c != 0 {
			return c
		}
		return strings.Compare(x.Who, y.Who)
	})
	return p
}

func phaseStats(ds [][]time.Duration, missing []Stat) []Stat {
	out := make([]Stat, len(PhaseTargets))
	for i, pt := range PhaseTargets {
		var d []time.Duration
		if ds != nil {
			d = ds[i]
		}
		m := 0
		if missing != nil {
			m = missing[i].Missing
		}
		out[i] = stat(d, pt.Target, true, m)
	}
	return out
}

// stat computes mean, median and p90 (nearest rank) of ds; it sorts ds.
func stat(ds []time.Duration, target time.Duration, has bool, missing int) Stat {
	s := Stat{Count: len(ds), Target: target, HasTarget: has, Missing: missing}
	if len(ds) == 0 {
		return s
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	s.Mean = sum / time.Duration(len(ds))
	s.P50 = nearestRank(ds, 50)
	s.P90 = nearestRank(ds, 90)
	return s
}

// nearestRank is the p-th percentile of sorted ds: the smallest value with
// at least p% of the sample at or below it.
func nearestRank(sorted []time.Duration, p int) time.Duration {
	r := (p*len(sorted) + 99) / 100
	return sorted[max(r, 1)-1]
}

// bottleneck applies the post-mortem's rule to the phases' means.
func bottleneck(all []Stat) (string, bool) {
	best := -1
	for i, s := range all {
		if s.Over() && (best < 0 || s.Mean-s.Target > all[best].Mean-all[best].Target) {
			best = i
		}
	}
	if best >= 0 {
		return PhaseTargets[best].Name, true
	}
	var share float64
	for i, s := range all {
		if s.Count == 0 || s.Target <= 0 || s.Mean <= 0 {
			continue
		}
		if r := float64(s.Mean) / float64(s.Target); r > share {
			best, share = i, r
		}
	}
	if best < 0 {
		return "", false
	}
	return PhaseTargets[best].Name, false
}

// frequency is the SEV1+SEV2 rate per week and its least-squares slope over
// the whole weeks.
func frequency(weeks []weekAcc, total int, w Window) Frequency {
	var f Frequency
	span := w.To.Sub(w.From)
	if span <= 0 {
		return f
	}
	f.PerWeek = float64(total) / (float64(span) / float64(Week))
	var full []float64
	for _, wk := range weeks {
		if wk.to.Sub(wk.from) == Week {
			full = append(full, float64(wk.major))
		}
	}
	if len(full) < 2 {
		return f
	}
	n := float64(len(full))
	var sx, sy, sxy, sxx float64
	for i, y := range full {
		x := float64(i)
		sx, sy, sxy, sxx = sx+x, sy+y, sxy+x*y, sxx+x*x
	}
	f.Slope = (n*sxy - sx*sy) / (n*sxx - sx*sx)
	if math.Abs(f.Slope) < 1e-12 {
		f.Slope = 0
	}
	f.HasTrend = true
	return f
}

// BuildFigures computes the figures of q over the given incidents and their
// events (events[i] belongs to incs[i]; it may be shorter).
func BuildFigures(q FigureQuery, tiers Tiers, now time.Time, incs []Incident, events [][]Event) Figures {
	b := NewFigureBuilder(q, tiers, now)
	for i := range incs {
		var evs []Event
		if i < len(events) {
			evs = events[i]
		}
		b.Add(&incs[i], evs)
	}
	return b.Result()
}

// History is a store that can hand over every incident with its events of
// the given types in one pass (one read transaction). The figures use it
// when the store implements it.
type History interface {
	Scan(ctx context.Context, types []EventType, fn func(inc *Incident, events []Event) error) error
}

// ScanIncidents calls fn for every stored incident with its events of the
// given types (nil: all), in one pass when the store implements History.
func ScanIncidents(ctx context.Context, s Store, types []EventType, fn func(inc *Incident, events []Event) error) error {
	if h, ok := s.(History); ok {
		return h.Scan(ctx, types, fn)
	}
	incs, err := s.List(ctx, func(*Incident) bool { return true })
	if err != nil {
		return err
	}
	for i := range incs {
		evs, err := s.Timeline(ctx, incs[i].Number)
		if err != nil {
			return err
		}
		if types != nil {
			evs = slices.DeleteFunc(evs, func(e Event) bool { return !slices.Contains(types, e.Type) })
		}
		if err := fn(&incs[i], evs); err != nil {
			return err
		}
	}
	return nil
}

// ScanFigures calls fn with every incident's figure view and its figure
// events: from the store's digest when it keeps one, else from a full scan.
func ScanFigures(ctx context.Context, s Store, fn func(inc *Incident, events []Event) error) error {
	if fs, ok := s.(FigureSource); ok {
		return fs.ScanFigures(ctx, fn)
	}
	return ScanIncidents(ctx, s, FigureEvents, fn)
}

// Figures computes the figures of q from the store at the clock's now.
func (a *App) Figures(ctx context.Context, q FigureQuery) (Figures, error) {
	if q.Service != "" {
		svc, ok := a.Service(q.Service)
		if !ok {
			return Figures{}, a.unknownService(q.Service)
		}
		q.Service = svc.Name
	}
	b := NewFigureBuilder(q, a.deps.Tiers, a.deps.Clock.Now())
	add := func(inc *Incident, evs []Event) error {
		b.Add(inc, evs)
		return nil
	}
	if err := ScanFigures(ctx, a.deps.Store, add); err != nil {
		return Figures{}, storeErr(err, SubjectFigures)
	}
	// The change failure rate, from the deploy log (deploys.go).
	if a.deps.DeployLog != nil {
		cfrs, err := a.ChangeFailureRates(ctx, q.Window.From, q.Window.To)
		if err != nil {
			return Figures{}, storeErr(err, SubjectChangeFailureRate)
		}
		for _, c := range cfrs {
			if q.Service == "" || c.Service == q.Service {
				b.AddDeploys(c.Service, c.Deploys, c.Failed)
			}
		}
	}
	return b.Result(), nil
}

// FigureSource is a store that keeps, beside each incident, the part of it
// the figures read (FigureView and its FigureEvents), so that the figures
// read one small record per incident instead of the incident and its whole
// timeline. The incidents fn receives hold only those fields.
type FigureSource interface {
	ScanFigures(ctx context.Context, fn func(inc *Incident, events []Event) error) error
}

// FigureView is the part of inc the figures read: a store may keep it as a
// digest. Titles, notes and other user text are left out.
func FigureView(inc *Incident) Incident {
	v := Incident{Number: inc.Number, Severity: inc.Severity, Service: inc.Service, Private: inc.Private,
		Commander: inc.Commander, Status: inc.Status, Times: inc.Times, RootCause: inc.RootCause, RepeatOf: inc.RepeatOf}
	v.Timers.PostmortemDone = inc.Timers.PostmortemDone
	for _, it := range inc.Actions {
		a := ActionItem{ID: it.ID, Owner: it.Owner, Due: it.Due}
		if it.Ticket != nil {
			a.Ticket = &Ticket{State: it.Ticket.State, ClosedAt: it.Ticket.ClosedAt}
		}
		v.Actions = append(v.Actions, a)
	}
	return v
}

// FigureEvent is the part of e the figures read, and whether they read e at all.
func FigureEvent(e Event) (Event, bool) {
	if !slices.Contains(FigureEvents, e.Type) {
		return Event{}, false
	}
	v := Event{Seq: e.Seq, Type: e.Type, Actor: e.Actor, At: e.At, Recorded: e.Recorded}
	if e.Type == EventPage {
		p, _ := PayloadOf[PagePayload](e)
		v.Payload = PagePayload{Person: p.Person, Paged: p.Paged}
	}
	return v, true
}
