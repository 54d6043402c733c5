package playbook

import (
	"math"
	"testing"
	"time"
)

// figNow is the end of the hand-built windows: Saturday 2026-12-05 00:00 UTC.
var figNow = time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)

func min_(n float64) time.Duration { return time.Duration(n * float64(time.Minute)) }

// figInc builds an incident declared at decl with the phases at the given
// minutes after decl (negative: before it); a phase absent from at is not reached.
func figInc(n int64, sev Severity, status Status, decl time.Time, at map[Phase]float64) Incident {
	inc := Incident{Number: n, Severity: sev, Status: status, Service: "checkout", Times: map[Phase]time.Time{PhaseDeclared: decl}}
	for p, m := range at {
		inc.Times[p] = decl.Add(min_(m))
	}
	return inc
}

// weekly is the known set: one incident per week over four weeks, three
// resolved SEV1s and one open SEV2.
func weekly() []Incident {
	w := func(i int) time.Time { return figNow.Add(-time.Duration(4-i)*Week + 24*time.Hour) }
	return []Incident{
		figInc(1, SEV1, StatusClosed, w(0), map[Phase]float64{PhaseDetected: -4, PhaseAcknowledged: 2, PhaseMitigationStarted: 16, PhaseMitigated: 56, PhaseResolved: 66}),
		figInc(2, SEV1, StatusResolved, w(1), map[Phase]float64{PhaseDetected: 0, PhaseAcknowledged: 0, PhaseMitigationStarted: 10, PhaseMitigated: 30, PhaseResolved: 50}),
		figInc(3, SEV1, StatusClosed, w(2), map[Phase]float64{PhaseDetected: -2, PhaseAcknowledged: 1, PhaseMitigationStarted: 31, PhaseMitigated: 91, PhaseResolved: 101}),
		figInc(4, SEV2, StatusInvestigating, w(3), map[Phase]float64{PhaseDetected: 0, PhaseAcknowledged: 0}),
	}
}

func fourWeeks() FigureQuery { return FigureQuery{Window: WindowEnding(figNow, 4*Week)} }

func TestFiguresEmptyWindow(t *testing.T) {
	// Incidents exist, but all before the window.
	old := weekly()
	q := FigureQuery{Window: WindowEnding(figNow.Add(-10*Week), 7*24*time.Hour)}
	f := BuildFigures(q, DefaultTiers(), figNow, old, nil)
	if !f.Empty() || f.Total != 0 {
		t.Fatalf("Empty() = false, total %d", f.Total)
	}
	if f.MTTR[SEV1].Count != 0 || f.MTTD.Count != 0 || f.MTTA.Count != 0 || f.All[0].Count != 0 {
		t.Errorf("empty window has samples: %+v", f)
	}
	if f.Bottleneck != "" {
		t.Errorf("bottleneck %q in an empty window", f.Bottleneck)
	}
	if _, ok := f.Actions.Rate(); ok {
		t.Error("an action-item rate with no items")
	}
	if _, ok := f.Repeats.Rate(); ok {
		t.Error("a repeat rate with no incidents")
	}
	if f.Pager.Data || f.ChangeFailure.Data {
		t.Error("paging or deploy data from nothing")
	}
	if len(f.Weeks) != 1 || f.Frequency.HasTrend || f.Frequency.PerWeek != 0 {
		t.Errorf("weeks %d, frequency %+v", len(f.Weeks), f.Frequency)
	}
}

func TestFiguresOneIncidentPerWeek(t *testing.T) {
	f := BuildFigures(fourWeeks(), DefaultTiers(), figNow, weekly(), nil)
	checkStat := func(name string, got Stat, count int, mean, p50, p90 float64) {
		t.Helper()
		if got.Count != count || got.Mean != min_(mean).Round(0) || got.P50 != min_(p50) || got.P90 != min_(p90) {
			t.Errorf("%s = count %d mean %v p50 %v p90 %v; want %d %v %v %v", name, got.Count, got.Mean, got.P50, got.P90,
				count, min_(mean), min_(p50), min_(p90))
		}
	}
	if f.Total != 4 || f.Open != 1 || f.BySeverity[SEV1] != 3 || f.BySeverity[SEV2] != 1 {
		t.Errorf("total %d open %d by severity %v", f.Total, f.Open, f.BySeverity)
	}
	// MTTR: resolved SEV1s only (70, 50, 103 min); the open SEV2 is not counted.
	checkStat("MTTR SEV1", f.MTTR[SEV1], 3, (70+50+103)/3.0, 70, 103)
	if !f.MTTR[SEV1].HasTarget || f.MTTR[SEV1].Target != time.Hour || !f.MTTR[SEV1].Over() {
		t.Errorf("SEV1 MTTR target: %+v", f.MTTR[SEV1])
	}
	checkStat("MTTR SEV2", f.MTTR[SEV2], 0, 0, 0, 0)
	if f.MTTR[SEV2].HasTarget {
		t.Error("SEV2 has no MTTR target")
	}
	// MTTD: only #1 (4 min) and #3 (2 min) recorded an anomaly before declaring.
	checkStat("MTTD", f.MTTD, 2, 3, 2, 4)
	// MTTA: 2, 0, 1 and the open #4's 0.
	checkStat("MTTA", f.MTTA, 4, 0.75, 0, 2)
	// Phases over the three resolved incidents.
	checkStat("Detection", f.All[0], 3, 3, 3, 6)
	checkStat("Triage", f.All[1], 3, 18, 14, 30)
	checkStat("Remediation", f.All[2], 3, 40, 40, 60)
	checkStat("Verification", f.All[3], 3, 40.0/3, 10, 20)
	checkStat("SEV1 Remediation", f.Phases[SEV1][2], 3, 40, 40, 60)
	checkStat("SEV2 Remediation", f.Phases[SEV2][2], 0, 0, 0, 0)
	if f.All[2].Target != 30*time.Minute {
		t.Errorf("remediation target %v", f.All[2].Target)
	}
	// Triage is 3 min over and Remediation 10 min over: Remediation.
	if f.Bottleneck != "Remediation" || !f.BottleneckOver {
		t.Errorf("bottleneck %q over=%v", f.Bottleneck, f.BottleneckOver)
	}
	// Frequency: one SEV1/SEV2 a week, flat.
	if len(f.Weeks) != 4 || f.Frequency.PerWeek != 1 || !f.Frequency.HasTrend || f.Frequency.Slope != 0 {
		t.Errorf("weeks %d frequency %+v", len(f.Weeks), f.Frequency)
	}
	for i, w := range f.Weeks {
		if w.Incidents != 1 || w.Major != 1 {
			t.Errorf("week %d: %d incidents, %d major", i, w.Incidents, w.Major)
		}
	}
	if got := f.Weeks[0].Phases[SEV1][2]; got.Count != 1 || got.Mean != 40*time.Minute {
		t.Errorf("week 0 SEV1 remediation %+v", got)
	}
}

func TestFiguresTrend(t *testing.T) {
	// 0, 1, 2, 3 SEV1s in the four weeks: slope 1 per week; SEV3s do not count.
	var incs []Incident
	n := int64(0)
	for wk := range 4 {
		for range wk {
			n++
			decl := figNow.Add(-time.Duration(4-wk)*Week + time.Hour)
			incs = append(incs, figInc(n, SEV1, StatusInvestigating, decl, nil))
		}
		n++
		incs = append(incs, figInc(n, SEV3, StatusInvestigating, figNow.Add(-time.Duration(4-wk)*Week+time.Hour), nil))
	}
	f := BuildFigures(fourWeeks(), DefaultTiers(), figNow, incs, nil)
	if math.Abs(f.Frequency.Slope-1) > 1e-9 || f.Frequency.PerWeek != 1.5 {
		t.Errorf("frequency %+v, want slope 1, 1.5 a week", f.Frequency)
	}
	// An open incident counts in frequency but not in MTTR.
	if f.MTTR[SEV1].Count != 0 || f.Open != f.Total {
		t.Errorf("open incidents in MTTR: %+v", f.MTTR[SEV1])
	}
}

func TestFiguresMissingTimestamps(t *testing.T) {
	decl := figNow.Add(-24 * time.Hour)
	incs := []Incident{
		// Resolved straight from investigating: no mitigation start, so no
		// Triage or Remediation sample; counted as missing, not as zero.
		figInc(1, SEV2, StatusResolved, decl, map[Phase]float64{PhaseDetected: 0, PhaseAcknowledged: 0, PhaseMitigated: 20, PhaseResolved: 20}),
		// No detection time at all: no MTTR, no Detection.
		figInc(2, SEV2, StatusClosed, decl, map[Phase]float64{PhaseAcknowledged: 1, PhaseMitigationStarted: 5, PhaseMitigated: 10, PhaseResolved: 15}),
		// No acknowledgement: no MTTA.
		figInc(3, SEV3, StatusInvestigating, decl, map[Phase]float64{PhaseDetected: 0}),
	}
	f := BuildFigures(fourWeeks(), DefaultTiers(), figNow, incs, nil)
	if s := f.MTTR[SEV2]; s.Count != 1 || s.Missing != 1 || s.Mean != 20*time.Minute {
		t.Errorf("SEV2 MTTR %+v, want 1 sample (20 min) and 1 missing", s)
	}
	want := []struct{ count, missing int }{{1, 1}, {1, 1}, {1, 1}, {2, 0}}
	for i, w := range want {
		if s := f.All[i]; s.Count != w.count || s.Missing != w.missing {
			t.Errorf("%s: count %d missing %d, want %d %d", PhaseTargets[i].Name, s.Count, s.Missing, w.count, w.missing)
		}
	}
	if f.MTTA.Count != 2 || f.MTTA.Missing != 1 {
		t.Errorf("MTTA %+v, want 2 samples and 1 missing", f.MTTA)
	}
	if f.MTTD.Count != 0 {
		t.Errorf("MTTD invented: %+v", f.MTTD)
	}
}

func TestFiguresRepeat(t *testing.T) {
	incs := weekly()
	incs[2].RootCause, incs[2].RepeatOf = "dns-ttl", []int64{1}
	incs[0].RootCause = "dns-ttl"
	f := BuildFigures(fourWeeks(), DefaultTiers(), figNow, incs, nil)
	if r, ok := f.Repeats.Rate(); !ok || r != 25 || f.Repeats.Repeats != 1 {
		t.Errorf("repeat rate %v %v (%+v), want 25%%", r, ok, f.Repeats)
	}
}

func TestFiguresPostmortems(t *testing.T) {
	res := func(n int64, sev Severity, resolvedAgo time.Duration) Incident {
		decl := figNow.Add(-resolvedAgo - time.Hour)
		return figInc(n, sev, StatusResolved, decl, map[Phase]float64{PhaseDetected: 0, PhaseAcknowledged: 0, PhaseResolved: 60})
	}
	done := func(inc Incident, after time.Duration) []Event {
		return []Event{{Type: EventPostmortemDone, At: inc.Times[PhaseResolved].Add(after)}}
	}
	incs := []Incident{
		res(1, SEV1, 100*time.Hour), // done 25 h after: late (24 h)
		res(2, SEV2, 100*time.Hour), // done 47 h after: on time (48 h)
		res(3, SEV1, 30*time.Hour),  // not done, due 6 h ago: overdue
		res(4, SEV1, time.Hour),     // not done, due in 23 h: pending
		res(5, SEV3, 100*time.Hour), // SEV3: none required
		res(6, SEV1, 50*time.Hour),  // marked done, time not recorded
		res(7, SEV2, 10*time.Hour),  // done 1 h after
	}
	incs[5].Timers.PostmortemDone = true
	incs[2].Commander = "U0IC"
	events := [][]Event{done(incs[0], 25*time.Hour), done(incs[1], 47*time.Hour), nil, nil, nil, nil, done(incs[6], time.Hour)}
	f := BuildFigures(fourWeeks(), DefaultTiers(), figNow, incs, events)
	p := f.Postmortems
	if p.Required != 6 || p.OnTime != 2 || p.Late != 1 || p.Overdue != 1 || p.Pending != 1 || p.DoneUnknown != 1 || p.Counted() != 4 {
		t.Errorf("post-mortems %+v", p)
	}
	if len(p.OverdueList) != 1 || p.OverdueList[0].Incident != 3 || p.OverdueList[0].Commander != "U0IC" {
		t.Errorf("overdue list %+v", p.OverdueList)
	}
}

func TestFiguresActionItems(t *testing.T) {
	closed := func(at string) *Ticket {
		tk := &Ticket{State: "closed"}
		if at != "" {
			tk.ClosedAt, _ = time.Parse(time.RFC3339, at)
		}
		return tk
	}
	inc := figInc(1, SEV1, StatusClosed, figNow.Add(-20*24*time.Hour), map[Phase]float64{PhaseDetected: 0, PhaseAcknowledged: 0, PhaseResolved: 30})
	inc.Actions = []ActionItem{
		{ID: 1, Owner: "U1", Due: "2026-11-20", Ticket: closed("2026-11-20T23:59:00Z")}, // on time (end of the day)
		{ID: 2, Owner: "U2", Due: "2026-11-20", Ticket: closed("2026-11-21T00:00:00Z")}, // late
		{ID: 3, Owner: "U3", Due: "2026-11-25", Ticket: &Ticket{State: "open"}},         // overdue
		{ID: 4, Owner: "U4", Due: "2026-12-10"},                                         // not due yet
		{ID: 5, Owner: "U5", Due: "2026-11-20", Ticket: closed("")},                     // closed, time unknown
		{ID: 6, Owner: "U6", Due: "someday"},
		{ID: 7, Owner: "U7", Due: "2026-12-01"}, // never filed, overdue
	}
	f := BuildFigures(fourWeeks(), DefaultTiers(), figNow, []Incident{inc}, nil)
	a := f.Actions
	if a.Total != 7 || a.OnTime != 1 || a.Late != 1 || a.Overdue != 2 || a.NotDue != 1 || a.ClosedUnknown != 1 || a.BadDue != 1 {
		t.Errorf("action items %+v", a)
	}
	if r, ok := a.Rate(); !ok || r != 25 {
		t.Errorf("completion %v%%, want 25%%", r)
	}
	if len(a.OverdueList) != 2 || a.OverdueList[0].Owner != "U3" || a.OverdueList[1].Owner != "U7" {
		t.Errorf("overdue %+v", a.OverdueList)
	}
}

func TestFiguresPagerLoad(t *testing.T) {
	incs := weekly()
	page := func(at time.Time, data map[string]string) Event {
		return Event{Type: EventPage, At: at, Payload: DecodeLegacy(EventPage, data, "")}
	}
	wk := incs[0].DeclaredAt()
	var evs []Event
	evs = append(evs, page(wk, map[string]string{"paged": "U1, U2"}), page(wk.Add(time.Hour), map[string]string{"person": "U1", "target": "pagerduty_schedule:PS0EMGR"}),
		page(wk.Add(2*time.Hour), map[string]string{"target": "pagerduty_policy:PE0X"}))
	for i := range 8 {
		evs = append(evs, page(wk.Add(time.Duration(i)*time.Minute), map[string]string{"person": "U3", "kind": "escalation"}))
	}
	f := BuildFigures(fourWeeks(), DefaultTiers(), figNow, incs, [][]Event{evs})
	p := f.Pager
	// Engineer-weeks: U1 2, U2 1, U3 8 → mean 11/3; one flagged.
	if !p.Data || p.Pages != 11 || p.Unattributed != 1 || p.EngineerWeeks != 3 || p.Max != 8 || math.Abs(p.PerEngineerWeek-11.0/3) > 1e-9 {
		t.Errorf("pager %+v", p)
	}
	if len(p.Flagged) != 1 || p.Flagged[0].Who != "U3" || p.Flagged[0].Pages != 8 {
		t.Errorf("flagged %+v", p.Flagged)
	}
	if f2 := BuildFigures(fourWeeks(), DefaultTiers(), figNow, incs, nil); f2.Pager.Data {
		t.Error("no page events, yet paging data")
	}
}

func TestFiguresServiceAndDeploys(t *testing.T) {
	incs := weekly()
	incs[1].Service = "search"
	q := fourWeeks()
	q.Service = "search"
	b := NewFigureBuilder(q, DefaultTiers(), figNow)
	for i := range incs {
		b.Add(&incs[i], nil)
	}
	b.AddDeploys("search", 10, 2)
	b.AddDeploys("checkout", 5, 5)
	f := b.Result()
	if f.Total != 1 || f.MTTR[SEV1].Count != 1 || f.MTTR[SEV1].Mean != 50*time.Minute {
		t.Errorf("service filter: total %d, MTTR %+v", f.Total, f.MTTR[SEV1])
	}
	if !f.ChangeFailure.Data || len(f.ChangeFailure.Services) != 1 || f.ChangeFailure.Services[0].Failed != 2 {
		t.Errorf("change failure %+v", f.ChangeFailure)
	}
}

func TestFiguresWeekBoundaries(t *testing.T) {
	q := FigureQuery{Window: WindowEnding(figNow, 30*24*time.Hour)} // 4 whole weeks + 2 days
	incs := []Incident{
		figInc(1, SEV1, StatusInvestigating, figNow.Add(-29*24*time.Hour), nil), // in the window, before the first whole week
		figInc(2, SEV1, StatusInvestigating, figNow.Add(-Week), nil),            // exactly on a boundary: the last week
		figInc(3, SEV1, StatusInvestigating, figNow, nil),                       // the window's end is outside
		figInc(4, SEV1, StatusInvestigating, figNow.Add(-4*Week), nil),          // the first whole week's start
	}
	f := BuildFigures(q, DefaultTiers(), figNow, incs, nil)
	if f.Total != 3 || len(f.Weeks) != 4 || f.Weeks[3].Major != 1 || f.Weeks[0].Major != 1 {
		t.Errorf("total %d weeks %+v", f.Total, f.Weeks)
	}
	if want := 3 / (30.0 / 7); math.Abs(f.Frequency.PerWeek-want) > 1e-9 {
		t.Errorf("per week %v, want %v", f.Frequency.PerWeek, want)
	}
}

func TestParseSpan(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 12 * Week, true}, {"7d", 7 * 24 * time.Hour, true}, {"30D", 30 * 24 * time.Hour, true}, {"12w", 12 * Week, true},
		{"104w", 104 * Week, true}, {"105w", 0, false}, {"0d", 0, false}, {"7", 0, false}, {"d", 0, false},
		{"-7d", 0, false}, {"7h", 0, false}, {"99999d", 0, false}, {"1.5w", 0, false},
	} {
		got, err := ParseSpan(c.in, 12*Week)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseSpan(%q) = %v, %v; want %v ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func FuzzParseSpan(f *testing.F) {
	for _, s := range []string{"7d", "12w", "", "0w", "1d", "104w", "x", "٣d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseSpan(s, Week)
		if err == nil && (d <= 0 || d > MaxSpan) {
			t.Fatalf("ParseSpan(%q) = %v", s, d)
		}
		if err != nil && ErrorCode(err) != CodeBadInput {
			t.Fatalf("ParseSpan(%q): %v has no bad-input code", s, err)
		}
	})
}

// BenchmarkBuildFigures10k is the computation alone (no store): 10,000
// closed incidents with 50 timeline events each, already in memory.
func BenchmarkBuildFigures10k(b *testing.B) {
	const n = 10_000
	incs := make([]Incident, n)
	evs := make([][]Event, n)
	for i := range incs {
		decl := figNow.Add(-time.Duration(i+1) * (104 * Week / (n + 1)))
		incs[i] = figInc(int64(i+1), Severity(i%4+1), StatusClosed, decl, map[Phase]float64{PhaseDetected: -3, PhaseAcknowledged: 2,
			PhaseMitigationStarted: 15, PhaseMitigated: 45, PhaseResolved: 60, PhaseClosed: 1440})
		incs[i].Actions = []ActionItem{{ID: 1, Owner: "U1", Due: decl.AddDate(0, 0, 14).Format(time.DateOnly), Ticket: &Ticket{State: "closed", ClosedAt: decl.AddDate(0, 0, 10)}}}
		for k := range 48 {
			evs[i] = append(evs[i], NewEvent(EventNote, "U1", decl.Add(time.Duration(k)*time.Minute), "a note"))
		}
		page := NewEvent(EventPage, ActorKlaxon, decl, "")
		page.Payload = PagePayload{Person: "U0ONCALL", Kind: PageDeclaration}
		evs[i] = append(evs[i], page, NewEvent(EventPostmortemDone, "U1", decl.Add(20*time.Hour), ""))
	}
	q := FigureQuery{Window: WindowEnding(figNow, 104*Week)}
	b.ReportAllocs()
	for b.Loop() {
		if f := BuildFigures(q, DefaultTiers(), figNow, incs, evs); f.Total != n {
			b.Fatal(f.Total)
		}
	}
}

// With alert intake, MTTD ends at the alert (first anomaly → alerted), not
// at the declaration.
func TestFiguresMTTDUsesTheAlert(t *testing.T) {
	decl := figNow.Add(-24 * time.Hour)
	incs := []Incident{figInc(1, SEV1, StatusInvestigating, decl, map[Phase]float64{PhaseDetected: -10, PhaseAlerted: -4, PhaseAcknowledged: 1})}
	f := BuildFigures(fourWeeks(), DefaultTiers(), figNow, incs, nil)
	if f.MTTD.Count != 1 || f.MTTD.Mean != 6*time.Minute || !f.MTTD.Over() {
		t.Errorf("MTTD %+v, want 6 min (over the 3 min target)", f.MTTD)
	}
}
