package playbook

import (
	"regexp"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC) // the night Europe moves its clocks

func alert(name string, labels map[string]string, startsAt time.Time) Alert {
	l := map[string]string{"alertname": name, "service": "checkout"}
	for k, v := range labels {
		l[k] = v
	}
	return Alert{Source: "alertmanager", Labels: l, StartsAt: startsAt, Fingerprint: name + startsAt.Format("150405")}
}

func rulesForTest() DetectionRules {
	return DetectionRules{Kinds: []KindRule{
		{Kind: KindErrorRate, Patterns: []*regexp.Regexp{mustKind(".*Error.*"), mustKind(".*5xx.*")}},
		{Kind: KindLatency, Patterns: []*regexp.Regexp{mustKind(".*Latency.*")}},
	}}
}

func mustKind(p string) *regexp.Regexp {
	re, err := CompileKindPattern(p)
	if err != nil {
		panic(err)
	}
	return re
}

func TestKindOf(t *testing.T) {
	r := rulesForTest().WithDefaults()
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   SignalKind
	}{
		{"HighErrorRate", nil, KindErrorRate},
		{"Checkout5xxRatio", nil, KindErrorRate},
		{"P99Latency", nil, KindLatency},
		{"errors", nil, KindOther},                                              // anchored and case-sensitive, as Prometheus's
		{"P99Latency", map[string]string{"kind": "saturation"}, KindSaturation}, // the label wins
		{"P99Latency", map[string]string{"kind": "nonsense"}, KindLatency},      // a kind that is none falls back
		{"BudgetBurn", map[string]string{"kind": "SLO_BURN_RATE"}, KindBurnRate},
		{"Probe", map[string]string{"kind": "synthetic"}, KindSynthetic},
		{"DiskFull", nil, KindOther},
	} {
		if got := r.KindOf(alert(tc.name, tc.labels, t0)); got != tc.want {
			t.Errorf("KindOf(%s, %v) = %s, want %s", tc.name, tc.labels, got, tc.want)
		}
	}
	other := DetectionRules{KindLabel: "signal"}
	if got := other.KindOf(alert("X", map[string]string{"signal": "latency", "kind": "error_rate"}, t0)); got != KindLatency {
		t.Errorf("alerts.kind_label signal: got %s, want latency", got)
	}
}

func TestRoute(t *testing.T) {
	routes := Routes([]Service{
		{Name: "checkout"},
		{Name: "payments", AlertMatch: Matcher{"job": "payments-api"}},
		{Name: "search", AlertMatch: Matcher{"team": "search", "env": "prod"}},
		{Name: "payments-dup", AlertMatch: Matcher{"job": "payments-api"}},
	})
	for _, tc := range []struct {
		labels map[string]string
		def    string
		want   string
	}{
		{map[string]string{"service": "checkout"}, "", "checkout"},
		{map[string]string{"job": "payments-api"}, "", "payments"}, // first match wins over payments-dup
		{map[string]string{"team": "search", "env": "prod"}, "", "search"},
		{map[string]string{"team": "search", "env": "staging"}, "", ""}, // every label must match
		{map[string]string{"team": "search"}, "checkout", "checkout"},   // the default service
		{map[string]string{"service": "Checkout"}, "", ""},              // values are exact
		{nil, "", ""},
	} {
		if got := Route(routes, tc.labels, tc.def); got != tc.want {
			t.Errorf("Route(%v, default %q) = %q, want %q", tc.labels, tc.def, got, tc.want)
		}
	}
}

func TestGrouping(t *testing.T) {
	r := rulesForTest()
	st := &ServiceSignals{Service: "checkout"}
	in := func(a Alert, at time.Time) Ingested { return r.Ingest(st, a, at) }

	first := in(alert("HighErrorRate", nil, t0), t0.Add(time.Minute))
	if !first.Changed || len(st.Groups) != 1 {
		t.Fatalf("first alert: %+v, groups %d", first, len(st.Groups))
	}
	// Inside the window (9 min after the first anomaly): same group.
	in(alert("P99Latency", nil, t0.Add(9*time.Minute)), t0.Add(9*time.Minute))
	// An alert that started earlier but arrives late joins too, and moves the first anomaly.
	in(alert("Checkout5xx", nil, t0.Add(-2*time.Minute)), t0.Add(10*time.Minute))
	if len(st.Groups) != 1 || len(st.Groups[0].Signals) != 3 || !st.Groups[0].Start.Equal(t0.Add(-2*time.Minute)) {
		t.Fatalf("groups = %d, signals = %d, start %v; want 1 group of 3 from %v", len(st.Groups), len(st.Groups[0].Signals), st.Groups[0].Start, t0.Add(-2*time.Minute))
	}
	// A repeat (Alertmanager's repeat_interval, a redelivery) changes nothing.
	if rep := in(alert("HighErrorRate", nil, t0), t0.Add(4*time.Hour)); rep.Changed {
		t.Error("a repeated alert changed the group")
	}
	if got := st.Groups[0].Signals[0].Received; !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("a repeat moved the first receipt to %v", got)
	}
	// Past the window: a new group.
	late := in(alert("Other", nil, t0.Add(30*time.Minute)), t0.Add(30*time.Minute))
	if late.Group != len(st.Groups)-1 || len(st.Groups) != 2 {
		t.Fatalf("an alert 32 min after the first anomaly: groups = %d, joined %d", len(st.Groups), late.Group)
	}
	// A resolved alert ends its signal, once.
	res := alert("HighErrorRate", nil, t0)
	res.Resolved, res.EndsAt = true, t0.Add(15*time.Minute)
	if out := in(res, t0.Add(16*time.Minute)); !out.Changed || out.Group != 0 {
		t.Fatalf("resolution: %+v", out)
	}
	if s := st.Groups[0].Signals[0]; s.Firing() || !s.EndsAt.Equal(t0.Add(15*time.Minute)) {
		t.Errorf("resolved signal = %+v", s)
	}
	if out := in(res, t0.Add(17*time.Minute)); out.Changed {
		t.Error("a repeated resolution changed the group")
	}
	// A resolution of something never seen firing is dropped, not a group.
	ghost := alert("Ghost", nil, t0)
	ghost.Resolved = true
	if out := in(ghost, t0.Add(18*time.Minute)); !out.Dropped || len(st.Groups) != 2 {
		t.Errorf("ghost resolution: %+v, groups %d", out, len(st.Groups))
	}
}

func TestGroupingFollowsTheOpenIncident(t *testing.T) {
	r := rulesForTest()
	st := &ServiceSignals{Service: "checkout"}
	r.Ingest(st, alert("HighErrorRate", nil, t0), t0)
	st.Groups[0].ID, st.Groups[0].Incident, st.Incident = 1, 12, 12
	// Two hours later, far past the window: still the incident's group.
	out := r.Ingest(st, alert("P99Latency", nil, t0.Add(2*time.Hour)), t0.Add(2*time.Hour))
	if out.Group != 0 || len(st.Groups) != 1 {
		t.Fatalf("while incident 12 is open a later alert made group %d of %d", out.Group, len(st.Groups))
	}
	RetireIncident(st, 12, t0.Add(3*time.Hour))
	if st.Incident != 0 || len(st.Groups) != 0 || len(st.Retired) != 1 || st.Retired[0].Live() {
		t.Fatalf("after the incident resolved: %+v", st)
	}
	if out := r.Ingest(st, alert("P99Latency", nil, t0.Add(4*time.Hour)), t0.Add(4*time.Hour)); out.Group != 0 || st.Groups[0].Incident != 0 {
		t.Errorf("after resolution an alert should open a fresh group: %+v", st.Groups)
	}
}

func TestRetire(t *testing.T) {
	r := rulesForTest()
	st := &ServiceSignals{Service: "checkout"}
	r.Ingest(st, alert("HighErrorRate", nil, t0), t0)
	st.Groups[0].ID = 1
	r.Retire(st, t0.Add(time.Hour))
	if len(st.Groups) != 1 {
		t.Fatal("a group with a firing signal retired")
	}
	res := alert("HighErrorRate", nil, t0)
	res.Resolved = true
	r.Ingest(st, res, t0.Add(5*time.Minute))
	r.Retire(st, t0.Add(5*time.Minute))
	if len(st.Groups) != 1 {
		t.Fatal("a group retired inside its window (a flapping alert would open a second group)")
	}
	r.Retire(st, t0.Add(11*time.Minute))
	if len(st.Groups) != 0 || len(st.Retired) != 1 || st.Retired[0].Ended.IsZero() {
		t.Errorf("resolved group past its window: groups %d, retired %d", len(st.Groups), len(st.Retired))
	}
}

func TestAssess(t *testing.T) {
	deploy := func(at time.Time, state string) Deploy {
		return Deploy{ID: 7, SHA: "abc1234def", At: at, State: state}
	}
	sig := func(kind SignalKind, burn float64, ext bool) Signal {
		return Signal{Key: string(kind) + "x", Kind: kind, BurnRate: burn, External: ext, StartsAt: t0, Received: t0}
	}
	resolved := sig(KindLatency, 0, false)
	resolved.Key, resolved.EndsAt = "lat-ended", t0.Add(3*time.Minute)
	now := t0.Add(4 * time.Minute)
	for _, tc := range []struct {
		name    string
		signals []Signal
		deploys []Deploy
		want    Confidence
		sev     Severity
		reason  Reason
		deploy  bool
		watched *Deploy
	}{
		{"burn rate at 14.4x alone pages", []Signal{sig(KindBurnRate, 14.4, false)}, nil, ConfidenceHigh, SEV1, ReasonBurnRate, false, nil},
		{"burn rate just under 14.4x", []Signal{sig(KindBurnRate, 14.3, false)}, nil, ConfidenceMedium, SEV3, ReasonBurnLow, false, nil},
		{"burn 8x inside a deploy's heightened window (threshold 7.2)", []Signal{sig(KindBurnRate, 8, false)},
			[]Deploy{deploy(t0.Add(-3*time.Minute), "success")}, ConfidenceHigh, SEV1, ReasonHeightened, true, nil},
		{"burn 8x after the heightened window closed", []Signal{sig(KindBurnRate, 8, false)},
			[]Deploy{deploy(t0.Add(-30*time.Minute), "success")}, ConfidenceMedium, SEV3, ReasonBurnLow, false, nil},
		{"burn 8x inside the watchdog's window (deploys.watch_window)", []Signal{sig(KindBurnRate, 8, false)},
			nil, ConfidenceHigh, SEV1, ReasonHeightened, true, &Deploy{ID: 7, SHA: "abc1234", At: t0.Add(-20 * time.Minute), State: "success"}},
		{"a failed deploy opens no heightened window", []Signal{sig(KindBurnRate, 8, false)},
			[]Deploy{deploy(t0.Add(-3*time.Minute), "failure")}, ConfidenceMedium, SEV3, ReasonBurnLow, false, nil},
		{"synthetic on an external user path", []Signal{sig(KindSynthetic, 0, true)}, nil, ConfidenceHigh, SEV1, ReasonSynthetic, false, nil},
		{"synthetic on an internal path is a single signal", []Signal{sig(KindSynthetic, 0, false)}, nil, ConfidenceLow, SEV4, ReasonSingle, false, nil},
		{"errors + latency + a deploy 8 min before", []Signal{sig(KindErrorRate, 0, false), sig(KindLatency, 0, false)},
			[]Deploy{deploy(t0.Add(-8*time.Minute), "success")}, ConfidenceHigh, SEV2, ReasonErrLatDeploy, true, nil},
		{"errors + latency + a deploy 11 min before", []Signal{sig(KindErrorRate, 0, false), sig(KindLatency, 0, false)},
			[]Deploy{deploy(t0.Add(-11*time.Minute), "success")}, ConfidenceMedium, SEV3, ReasonTwoKinds, false, nil},
		{"errors + latency, no deploy: two kinds", []Signal{sig(KindErrorRate, 0, false), sig(KindLatency, 0, false)}, nil, ConfidenceMedium, SEV3, ReasonTwoKinds, false, nil},
		{"errors + saturation", []Signal{sig(KindErrorRate, 0, false), sig(KindSaturation, 0, false)}, nil, ConfidenceMedium, SEV3, ReasonTwoKinds, false, nil},
		{"a single error-rate signal", []Signal{sig(KindErrorRate, 0, false)}, nil, ConfidenceLow, SEV4, ReasonSingle, false, nil},
		{"many signals of one kind stay low", []Signal{sig(KindOther, 0, false), {Key: "o2", Kind: KindOther, StartsAt: t0}}, nil, ConfidenceLow, SEV4, ReasonSingle, false, nil},
		{"a resolved latency alert no longer counts", []Signal{sig(KindErrorRate, 0, false), resolved},
			[]Deploy{deploy(t0.Add(-2*time.Minute), "success")}, ConfidenceLow, SEV4, ReasonSingle, false, nil},
		{"everything resolved", []Signal{resolved}, nil, ConfidenceLow, SEV4, ReasonAllResolved, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &SignalGroup{Service: "checkout", Start: t0, Signals: tc.signals}
			a := DetectionRules{}.Assess(g, tc.deploys, tc.watched, now)
			if a.Confidence != tc.want || a.Severity != tc.sev || !a.Has(tc.reason) {
				t.Errorf("Assess = %s %s %v, want %s %s with %s", a.Confidence, a.Severity, a.Reasons, tc.want, tc.sev, tc.reason)
			}
			if tc.deploy && (a.Deploy == nil || a.Deploy.ID != 7) {
				t.Errorf("the deploy that counted is missing: %+v", a.Deploy)
			}
		})
	}
	unrouted := DetectionRules{}.Assess(&SignalGroup{Signals: []Signal{sig(KindBurnRate, 40, false)}}, nil, nil, now)
	if unrouted.Confidence != ConfidenceLow || !unrouted.Has(ReasonUnroutedSignal) {
		t.Errorf("unrouted group = %+v, want low (never offered)", unrouted)
	}
	// Configured rules: a factor of 4 inside the window, a 20x threshold.
	r := DetectionRules{BurnRateHigh: 20, HeightenedFactor: 4}
	g := &SignalGroup{Service: "checkout", Start: t0, Signals: []Signal{sig(KindBurnRate, 5, false)}}
	if a := r.Assess(g, []Deploy{deploy(t0.Add(-time.Minute), "success")}, nil, now); a.Confidence != ConfidenceHigh || a.Threshold != 5 {
		t.Errorf("burn 5x with threshold 20/4 = %s (threshold %v), want high at 5", a.Confidence, a.Threshold)
	}
}

func TestBurnRateAndSignalBounds(t *testing.T) {
	for in, want := range map[string]float64{"14.4": 14.4, "14.4x": 14.4, " 3 ": 3, "": 0, "NaN": 0, "-2": 0, "1e300": 0, "fast": 0} {
		if got := BurnRate(Alert{Labels: map[string]string{"burn_rate": in}}); got != want {
			t.Errorf("BurnRate(%q) = %v, want %v", in, got, want)
		}
	}
	if got := BurnRate(Alert{Annotations: map[string]string{"burn_rate": "16"}}); got != 16 {
		t.Errorf("burn rate from an annotation = %v", got)
	}
	labels := map[string]string{}
	for i := range 100 {
		labels[string(rune('a'+i%26))+string(rune('a'+i/26))] = string(make([]byte, 2000))
	}
	s := DetectionRules{}.NewSignal(Alert{Labels: labels}, t0)
	if len(s.Labels) != MaxSignalLabels {
		t.Errorf("kept %d labels, want %d", len(s.Labels), MaxSignalLabels)
	}
	for _, v := range s.Labels {
		if len(v) > MaxLabelText+3 {
			t.Fatalf("kept a label value of %d bytes", len(v))
		}
	}
}

func TestDetectionStepsAndStarted(t *testing.T) {
	inc := Incident{Times: map[Phase]time.Time{
		PhaseDetected: t0, PhaseAlerted: t0.Add(3 * time.Minute),
		PhaseDeclared: t0.Add(5 * time.Minute), PhaseAcknowledged: t0.Add(6 * time.Minute),
	}}
	want := "first anomaly 00:30 → (+3 min) alert 00:33 → (+2 min) declared 00:35 → (+1 min) acknowledged 00:36"
	if got := DetectionSummary(inc.DetectionSteps()); got != want {
		t.Errorf("summary =\n%s\nwant\n%s", got, want)
	}
	noAlert := Incident{Times: map[Phase]time.Time{PhaseDetected: t0, PhaseDeclared: t0.Add(time.Minute), PhaseAcknowledged: t0.Add(time.Minute)}}
	if got := DetectionSummary(noAlert.DetectionSteps()); got != "first anomaly 00:30 → (+1 min) declared 00:31 → (+0 s) acknowledged 00:31" {
		t.Errorf("without an alert: %s", got)
	}
	now := time.Date(2026, 3, 29, 14, 10, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"14:02":                now.Add(-8 * time.Minute),
		"14:02 UTC":            now.Add(-8 * time.Minute),
		"23:50":                time.Date(2026, 3, 28, 23, 50, 0, 0, time.UTC), // yesterday: today's is in the future
		"2026-03-29T13:00:00Z": time.Date(2026, 3, 29, 13, 0, 0, 0, time.UTC),
	} {
		got, err := ParseStarted(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseStarted(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "2pm", "25:00", "2026-03-30T13:00:00Z", "2026-03-01T13:00:00Z"} {
		if _, err := ParseStarted(bad, now); ErrorCode(err) != CodeBadInput {
			t.Errorf("ParseStarted(%q) error = %v, want a bad-input answer", bad, err)
		}
	}
}

// FuzzRoute checks the label matchers: a route matches exactly when every
// label it names has that value, the first matching route wins, and nothing
// matches an empty matcher.
func FuzzRoute(f *testing.F) {
	f.Add("service", "checkout", "job", "payments-api", "service", "checkout", "job", "x")
	f.Add("", "", "a", "b", "a", "b", "", "")
	f.Add("team", "search\x00", "env", "prod", "team", "search", "env", "prod")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, lk1, lv1, lk2, lv2 string) {
		m1 := Matcher{}
		if k1 != "" {
			m1[k1] = v1
		}
		m2 := Matcher{k2: v2}
		labels := map[string]string{lk1: lv1, lk2: lv2}
		routes := []AlertRoute{{Service: "one", Match: m1}, {Service: "two", Match: m2}}
		got := Route(routes, labels, "def")
		want := "def"
		has := func(m Matcher) bool {
			if len(m) == 0 {
				return false
			}
			for k, v := range m {
				if lv, ok := labels[k]; !ok || lv != v {
					return false
				}
			}
			return true
		}
		switch {
		case has(m1):
			want = "one"
		case has(m2):
			want = "two"
		}
		if got != want {
			t.Fatalf("Route(%v, %v) = %q, want %q", routes, labels, got, want)
		}
		if len(m1) == 0 && m1.Matches(labels) {
			t.Fatal("an empty matcher matched")
		}
	})
}
