package playbook

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file holds detection's pure rules: which service an alert belongs to,
// what kind of signal it is, how signals group, and how confident a group is
// that something is an incident. Every function takes the time it needs as a
// parameter. The use cases (intake, the offer, declaring from a group) are in
// signals_app.go.

// SignalKind says what a signal measures; the confidence rules read kinds,
// not alert names.
type SignalKind string

// The signal kinds. Other is everything the rules do not recognise.
const (
	KindBurnRate   SignalKind = "slo_burn_rate"
	KindErrorRate  SignalKind = "error_rate"
	KindLatency    SignalKind = "latency"
	KindSynthetic  SignalKind = "synthetic"
	KindSaturation SignalKind = "saturation"
	KindOther      SignalKind = "other"
)

// SignalKinds lists the kinds a label or a rule may name (not Other).
var SignalKinds = []SignalKind{KindBurnRate, KindErrorRate, KindLatency, KindSynthetic, KindSaturation}

// ParseSignalKind reads a kind as written in a label or the config.
func ParseSignalKind(s string) (SignalKind, bool) {
	k := SignalKind(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(SignalKinds, k) || k == KindOther {
		return k, true
	}
	return "", false
}

// Confidence is how sure Klaxon is that a group of signals is an incident.
type Confidence int

// Confidence levels, ordered. ConfidenceNone is the zero value (never set).
const (
	ConfidenceNone Confidence = iota
	ConfidenceLow
	ConfidenceMedium
	ConfidenceHigh
)

func (c Confidence) String() string {
	switch c {
	case ConfidenceLow:
		return "low"
	case ConfidenceMedium:
		return "medium"
	case ConfidenceHigh:
		return "high"
	}
	return "none"
}

// MarshalText stores a confidence by name.
func (c Confidence) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads a stored confidence.
func (c *Confidence) UnmarshalText(b []byte) error {
	switch string(b) {
	case "low":
		*c = ConfidenceLow
	case "medium":
		*c = ConfidenceMedium
	case "high":
		*c = ConfidenceHigh
	case "none", "":
		*c = ConfidenceNone
	default:
		return fmt.Errorf("unknown confidence %q", b)
	}
	return nil
}

// ParseAutoDeclare reads services[].auto_declare: "off" (ConfidenceNone),
// "medium" or "high".
func ParseAutoDeclare(s string) (Confidence, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "off", "":
		return ConfidenceNone, true
	case "medium":
		return ConfidenceMedium, true
	case "high":
		return ConfidenceHigh, true
	}
	return ConfidenceNone, false
}

// Alert is one alert as a monitoring system reported it (Alertmanager's
// webhook, a PagerDuty incident), already decoded by its adapter.
type Alert struct {
	// Source names the sender: "alertmanager", "pagerduty".
	Source string
	// Resolved is true when the sender says the alert stopped firing.
	Resolved     bool
	Labels       map[string]string
	Annotations  map[string]string
	StartsAt     time.Time
	EndsAt       time.Time // zero while firing
	GeneratorURL string
	// Fingerprint identifies the alert's label set at its sender.
	Fingerprint string
}

// Name is the alert's alertname label (or "" when it has none).
func (a Alert) Name() string { return a.Labels["alertname"] }

// SignalKey identifies one firing of one alert: its fingerprint (or its
// labels when the sender gave none) and its start. A repeated or redelivered
// notification carries the same key, so it changes nothing twice.
func (a Alert) SignalKey() string {
	fp := a.Fingerprint
	if fp == "" {
		keys := slices.Sorted(maps.Keys(a.Labels))
		var b strings.Builder
		for _, k := range keys {
			b.WriteString(strconv.Quote(k) + "=" + strconv.Quote(a.Labels[k]) + ",")
		}
		fp = "labels:" + b.String()
	}
	return a.Source + "|" + fp + "|" + a.StartsAt.UTC().Format(time.RFC3339Nano)
}

// Matcher selects alerts by label: every label it names must have exactly
// that value. An empty matcher matches nothing (a route that matches every
// alert is the default service's job).
type Matcher map[string]string

var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// ValidLabelName reports whether s is a Prometheus label name.
func ValidLabelName(s string) bool { return labelNameRE.MatchString(s) }

// Matches reports whether labels carry every label=value of m.
func (m Matcher) Matches(labels map[string]string) bool {
	if len(m) == 0 {
		return false
	}
	for k, v := range m {
		got, ok := labels[k]
		if !ok || got != v {
			return false
		}
	}
	return true
}

// AlertRoute maps alerts to a service.
type AlertRoute struct {
	Service string
	Match   Matcher
}

// Routes returns the alert routes of services, in config order: each
// service's matcher, or {service: <name>} when it sets none.
func Routes(services []Service) []AlertRoute {
	out := make([]AlertRoute, 0, len(services))
	for _, s := range services {
		m := s.AlertMatch
		if len(m) == 0 {
			m = Matcher{"service": s.Name}
		}
		out = append(out, AlertRoute{Service: s.Name, Match: m})
	}
	return out
}

// Route returns the service of the first route whose matcher matches labels,
// else def (the default service), else "" (unrouted).
func Route(routes []AlertRoute, labels map[string]string, def string) string {
	for _, r := range routes {
		if r.Match.Matches(labels) {
			return r.Service
		}
	}
	return def
}

// KindRule gives alerts whose alertname matches one of Patterns the kind Kind.
type KindRule struct {
	Kind     SignalKind
	Patterns []*regexp.Regexp // anchored: the whole alertname must match
}

// CompileKindPattern compiles a kinds pattern anchored at both ends, as
// Prometheus and Alertmanager anchor theirs.
func CompileKindPattern(p string) (*regexp.Regexp, error) {
	return regexp.Compile("^(?:" + p + ")$")
}

// Confidence rules' defaults.
const (
	// DefaultBurnRateHigh is the burn rate that pages on its own: 14.4× uses
	// 2% of a 30-day error budget in one hour.
	DefaultBurnRateHigh = 14.4
	// DefaultHeightenedFactor divides the threshold inside a deploy's
	// heightened window.
	DefaultHeightenedFactor = 2.0
	// DefaultDeployWithin is how recent a deploy must be to count with an
	// error rate and a latency signal.
	DefaultDeployWithin = 10 * time.Minute
	// DefaultCorrelationWindow groups signals of one service.
	DefaultCorrelationWindow = 10 * time.Minute
	// DefaultHeightenedWindow is how long after a successful deploy of a
	// service its alerts are read with the lowered threshold, when no
	// deploy watchdog says otherwise.
	DefaultHeightenedWindow = 5 * time.Minute
	// DefaultKindLabel is the label that names a signal's kind.
	DefaultKindLabel = "kind"
)

// DetectionRules are the knobs of detection, from alerts.* in the config.
// The zero value of each field means its default.
type DetectionRules struct {
	KindLabel        string
	Kinds            []KindRule
	Window           time.Duration // correlation window
	BurnRateHigh     float64
	HeightenedFactor float64
	DeployWithin     time.Duration
	HeightenedWindow time.Duration
}

// WithDefaults fills unset fields with the playbook's defaults.
func (r DetectionRules) WithDefaults() DetectionRules {
	if r.KindLabel == "" {
		r.KindLabel = DefaultKindLabel
	}
	if r.Window <= 0 {
		r.Window = DefaultCorrelationWindow
	}
	if r.BurnRateHigh <= 0 {
		r.BurnRateHigh = DefaultBurnRateHigh
	}
	if r.HeightenedFactor <= 0 {
		r.HeightenedFactor = DefaultHeightenedFactor
	}
	if r.DeployWithin <= 0 {
		r.DeployWithin = DefaultDeployWithin
	}
	if r.HeightenedWindow <= 0 {
		r.HeightenedWindow = DefaultHeightenedWindow
	}
	return r
}

// KindOf classifies an alert: the kind label when it names a kind, else the
// first rule matching its alertname, else Other.
func (r DetectionRules) KindOf(a Alert) SignalKind {
	label := r.KindLabel
	if label == "" {
		label = DefaultKindLabel
	}
	if k, ok := ParseSignalKind(a.Labels[label]); ok {
		return k
	}
	name := a.Name()
	for _, rule := range r.Kinds {
		for _, p := range rule.Patterns {
			if p.MatchString(name) {
				return rule.Kind
			}
		}
	}
	return KindOther
}

// BurnRate reads the burn_rate label or annotation ("14.4", "14.4x"); 0
// when there is none or it is not a number.
func BurnRate(a Alert) float64 {
	for _, v := range []string{a.Labels["burn_rate"], a.Annotations["burn_rate"]} {
		v = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSpace(v), "x"), "×")
		if f, err := strconv.ParseFloat(v, 64); err == nil && f > 0 && f < 1e9 {
			return f
		}
	}
	return 0
}

// ExternalPath reports whether a synthetic check probes a path external users
// take: the label or annotation user_path is "external".
func ExternalPath(a Alert) bool {
	return strings.EqualFold(a.Labels["user_path"], "external") || strings.EqualFold(a.Annotations["user_path"], "external")
}

// Signal is one alert firing, as Klaxon keeps it.
type Signal struct {
	Key      string     `json:"key"`
	Source   string     `json:"source"`
	Name     string     `json:"name"`
	Kind     SignalKind `json:"kind"`
	BurnRate float64    `json:"burn_rate,omitempty"`
	External bool       `json:"external,omitempty"`
	Summary  string     `json:"summary,omitempty"`
	URL      string     `json:"url,omitempty"`
	// Labels are the alert's labels, bounded (MaxSignalLabels, MaxLabelText).
	Labels   map[string]string `json:"labels,omitempty"`
	StartsAt time.Time         `json:"starts_at"`
	// EndsAt is set once the alert is resolved.
	EndsAt time.Time `json:"ends_at,omitzero"`
	// Received is when Klaxon first heard of this firing.
	Received time.Time `json:"received"`
}

// Firing reports whether the signal has not ended.
func (s Signal) Firing() bool { return s.EndsAt.IsZero() }

// Bounds on what a signal keeps, so a hostile or broken sender cannot grow
// the store without limit.
const (
	MaxSignalLabels = 40
	MaxLabelText    = 500
	MaxSummary      = 1000
)

// NewSignal turns an alert into a signal received at now.
func (r DetectionRules) NewSignal(a Alert, now time.Time) Signal {
	s := Signal{
		Key: a.SignalKey(), Source: a.Source, Name: truncate(a.Name(), MaxLabelText),
		Kind: r.KindOf(a), URL: truncate(a.GeneratorURL, MaxLabelText),
		StartsAt: a.StartsAt.UTC(), Received: now.UTC(),
	}
	if s.Kind == KindBurnRate {
		s.BurnRate = BurnRate(a)
	}
	if s.Kind == KindSynthetic {
		s.External = ExternalPath(a)
	}
	for _, k := range []string{"summary", "description", "message"} {
		if v := strings.TrimSpace(a.Annotations[k]); v != "" {
			s.Summary = truncate(v, MaxSummary)
			break
		}
	}
	keys := slices.Sorted(maps.Keys(a.Labels))
	if len(keys) > MaxSignalLabels {
		keys = keys[:MaxSignalLabels]
	}
	if len(keys) > 0 {
		s.Labels = make(map[string]string, len(keys))
		for _, k := range keys {
			s.Labels[truncate(k, MaxLabelText)] = truncate(a.Labels[k], MaxLabelText)
		}
	}
	if a.Resolved {
		s.EndsAt = a.EndsAt.UTC()
		if s.EndsAt.IsZero() || s.EndsAt.Before(s.StartsAt) {
			s.EndsAt = now.UTC()
		}
	}
	return s
}

// SignalGroup is the signals of one service that started within one
// correlation window, and what became of them.
type SignalGroup struct {
	ID      int64  `json:"id"`
	Service string `json:"service"` // "" for unrouted alerts
	// Start is the earliest StartsAt: the first anomaly.
	Start   time.Time `json:"start"`
	Signals []Signal  `json:"signals"`
	// Opened is when Klaxon received the group's first alert.
	Opened time.Time `json:"opened"`
	// Assessment is the last confidence computed, with its reasons.
	Assessment Assessment `json:"assessment"`
	// Offer is the message offering the declaration ("" until posted);
	// OfferIntent is set before posting, so a crash is noticed.
	Offer       MessageRef `json:"offer"`
	OfferIntent time.Time  `json:"offer_intent,omitzero"`
	// Assessor is the process (a random ID per App) that holds the group's
	// assessment until AssessorUntil: one process at a time assesses a
	// group and posts or edits its offer, across replicas sharing a store.
	Assessor      string    `json:"assessor,omitempty"`
	AssessorUntil time.Time `json:"assessor_until,omitzero"`
	// Incident is the incident the group became (0 when none); Linked is
	// the signal keys already on that incident's timeline.
	Incident int64           `json:"incident,omitempty"`
	Linked   map[string]bool `json:"linked,omitempty"`
	// Version counts changes; Assessed is the Version last assessed and
	// shown, so a restart re-assesses what changed since.
	Version  int64 `json:"version"`
	Assessed int64 `json:"assessed"`
	// Ended is when the group stopped taking signals: its incident was
	// resolved, or every signal resolved.
	Ended time.Time `json:"ended,omitzero"`
}

// OfferPending reports whether an offer was being posted and its message
// was never recorded: the post failed, its answer was lost, or the process
// stopped in between. The offer may be in the channel already.
func (g *SignalGroup) OfferPending() bool { return !g.OfferIntent.IsZero() && g.Offer.Zero() }

// OfferKey identifies the group's offer across attempts and processes: it
// goes with the post (Slack message metadata), so a post whose answer was
// lost can be found before posting again. The first alert's arrival time
// keeps groups of another store (same ID) apart.
func (g *SignalGroup) OfferKey() string {
	return "group-" + strconv.FormatInt(g.ID, 10) + "-" + strconv.FormatInt(g.Opened.UnixMilli(), 10)
}

// Live reports whether the group still takes signals.
func (g *SignalGroup) Live() bool { return g.Ended.IsZero() }

// Firing returns the signals that have not ended.
func (g *SignalGroup) Firing() []Signal {
	var out []Signal
	for _, s := range g.Signals {
		if s.Firing() {
			out = append(out, s)
		}
	}
	return out
}

// FirstAlert is when Klaxon received the group's first alert.
func (g *SignalGroup) FirstAlert() time.Time {
	var t time.Time
	for _, s := range g.Signals {
		if t.IsZero() || s.Received.Before(t) {
			t = s.Received
		}
	}
	return t
}

// Covers reports whether a signal starting at t falls in the group's
// correlation window: no more than window after its first anomaly (nor
// before it: an alert that started earlier but arrives late still joins).
func (g *SignalGroup) Covers(t time.Time, window time.Duration) bool {
	d := t.Sub(g.Start)
	return d <= window && d >= -window
}

// add merges s into the group. It reports whether anything changed: a
// repeated firing changes nothing; a resolution ends the stored signal.
func (g *SignalGroup) add(s Signal) bool {
	for i := range g.Signals {
		cur := &g.Signals[i]
		if cur.Key != s.Key {
			continue
		}
		if !s.Firing() && cur.Firing() {
			cur.EndsAt = s.EndsAt
			g.Version++
			return true
		}
		return false
	}
	g.Signals = append(g.Signals, s)
	if g.Start.IsZero() || s.StartsAt.Before(g.Start) {
		g.Start = s.StartsAt
	}
	if g.Opened.IsZero() || s.Received.Before(g.Opened) {
		g.Opened = s.Received
	}
	g.Version++
	return true
}

// ServiceSignals is the detection state of one service (or of unrouted
// alerts, Service ""): its live groups and the open incident its alerts go to.
type ServiceSignals struct {
	Service string
	// Groups are the live groups, oldest first. A group with ID 0 is new
	// and gets its ID from the store.
	Groups []SignalGroup
	// Retired are groups that stopped being live in this change; the store
	// keeps them (for /incident signals) but no longer loads them here.
	Retired []SignalGroup
	// Incident is an open incident of this service that takes its alerts
	// (0 when none).
	Incident int64
}

// Ingested says what one alert did.
type Ingested struct {
	Signal Signal
	// Group is the index in ServiceSignals.Groups of the group it joined.
	Group int
	// Changed is false for a repeat (nothing new).
	Changed bool
	// Dropped is true for a resolution of a signal Klaxon never saw
	// firing: there is nothing to end.
	Dropped bool
}

// Ingest adds alert a, received at now, to the service's state: to the live
// group whose window covers its start, or the group linked to the service's
// open incident, or a new group. A resolved alert only ends the signal it
// resolves. It is pure: the caller stores the result.
func (r DetectionRules) Ingest(st *ServiceSignals, a Alert, now time.Time) Ingested {
	r = r.WithDefaults()
	s := r.NewSignal(a, now)
	// A signal already recorded stays in its group, whatever the window.
	for gi := range st.Groups {
		g := &st.Groups[gi]
		for _, cur := range g.Signals {
			if cur.Key == s.Key {
				s.Received = cur.Received
				return Ingested{Signal: s, Group: gi, Changed: g.add(s)}
			}
		}
	}
	if !s.Firing() {
		return Ingested{Signal: s, Group: -1, Dropped: true}
	}
	// One outage, one incident: while the service's incident is open, its
	// alerts go to the group that incident came from (or one linked to it).
	if st.Incident != 0 {
		for gi := range st.Groups {
			if st.Groups[gi].Incident == st.Incident {
				return Ingested{Signal: s, Group: gi, Changed: st.Groups[gi].add(s)}
			}
		}
		g := SignalGroup{Service: st.Service, Incident: st.Incident}
		g.add(s)
		st.Groups = append(st.Groups, g)
		return Ingested{Signal: s, Group: len(st.Groups) - 1, Changed: true}
	}
	for gi := len(st.Groups) - 1; gi >= 0; gi-- {
		g := &st.Groups[gi]
		if g.Incident == 0 && g.Covers(s.StartsAt, r.Window) {
			return Ingested{Signal: s, Group: gi, Changed: g.add(s)}
		}
	}
	g := SignalGroup{Service: st.Service}
	g.add(s)
	st.Groups = append(st.Groups, g)
	return Ingested{Signal: s, Group: len(st.Groups) - 1, Changed: true}
}

// Retire moves groups that stopped being live to st.Retired: a group
// without an incident whose signals have all resolved and whose window has
// passed. Groups of an incident retire when the incident resolves
// (RetireIncident).
func (r DetectionRules) Retire(st *ServiceSignals, now time.Time) {
	r = r.WithDefaults()
	keep := st.Groups[:0]
	for _, g := range st.Groups {
		if g.Incident == 0 && g.ID != 0 && len(g.Firing()) == 0 && now.Sub(g.Start) > r.Window {
			g.Ended = now.UTC()
			g.Version++
			st.Retired = append(st.Retired, g)
			continue
		}
		keep = append(keep, g)
	}
	st.Groups = keep
}

// RetireIncident ends the groups linked to incident n and unlinks the
// service from it, so the next alert opens a new group.
func RetireIncident(st *ServiceSignals, n int64, now time.Time) {
	if st.Incident == n {
		st.Incident = 0
	}
	keep := st.Groups[:0]
	for _, g := range st.Groups {
		if g.Incident == n {
			g.Ended = now.UTC()
			g.Version++
			st.Retired = append(st.Retired, g)
			continue
		}
		keep = append(keep, g)
	}
	st.Groups = keep
}

// Reason says why a group has its confidence.
type Reason string

// The confidence rules, as reasons.
const (
	ReasonBurnRate       Reason = "burn_rate" // a burn rate at or over the threshold
	ReasonSynthetic      Reason = "synthetic" // a synthetic check failing on an external user path
	ReasonErrLatDeploy   Reason = "errors_latency_deploy"
	ReasonTwoKinds       Reason = "two_kinds"       // signals of two kinds or more
	ReasonBurnLow        Reason = "burn_rate_below" // a burn rate below the threshold
	ReasonSingle         Reason = "single_signal"   // one kind of signal, not a burn rate
	ReasonHeightened     Reason = "heightened"      // inside a deploy's heightened window
	ReasonAllResolved    Reason = "all_resolved"    // nothing fires any more
	ReasonUnroutedSignal Reason = "unrouted"        // no service: never offered
)

// Assessment is a group's confidence, why, and the severity a declaration
// from it would get.
type Assessment struct {
	Confidence Confidence `json:"confidence"`
	Reasons    []Reason   `json:"reasons,omitempty"`
	Severity   Severity   `json:"severity,omitempty"`
	// BurnRate is the highest burn rate among firing signals; Threshold the
	// one that applied (lowered inside a heightened window).
	BurnRate  float64 `json:"burn_rate,omitempty"`
	Threshold float64 `json:"threshold,omitempty"`
	// Deploy is the deploy that counted (recent, or the heightened one).
	Deploy     *Deploy `json:"deploy,omitempty"`
	Heightened bool    `json:"heightened,omitempty"`
	// Kinds are the kinds of the firing signals, in SignalKinds order.
	Kinds []SignalKind `json:"kinds,omitempty"`
}

// Has reports whether reason r applied.
func (a Assessment) Has(r Reason) bool { return slices.Contains(a.Reasons, r) }

// Assess computes a group's confidence at now from its firing signals and
// the service's deploys (newest first or in any order; only successful ones
// count). The rules, strongest first:
//
//   - a burn rate ≥ BurnRateHigh (÷ HeightenedFactor inside a deploy's
//     heightened window) is high, SEV1;
//   - a synthetic check failing on an external user path is high, SEV1;
//   - error rate + latency + a deploy of the service from DeployWithin
//     before the first anomaly until now is high, SEV2;
//   - two kinds or more is medium, SEV3; so is a burn rate below the
//     threshold (an SLO is burning, just not fast);
//   - a single other signal is low, SEV4 (recorded, never offered).
//
// A group whose signals have all resolved keeps no confidence (low).
//
// watched, when not nil, is the deploy whose heightened window the deploy
// watchdog has open for the service (at the first anomaly or now); without
// it the window is HeightenedWindow after a successful deploy in deploys.
func (r DetectionRules) Assess(g *SignalGroup, deploys []Deploy, watched *Deploy, now time.Time) Assessment {
	r = r.WithDefaults()
	var a Assessment
	if g.Service == "" {
		return Assessment{Confidence: ConfidenceLow, Reasons: []Reason{ReasonUnroutedSignal}, Severity: SEV4}
	}
	firing := g.Firing()
	if len(firing) == 0 {
		return Assessment{Confidence: ConfidenceLow, Reasons: []Reason{ReasonAllResolved}, Severity: SEV4}
	}
	kinds := map[SignalKind]bool{}
	external := false
	for _, s := range firing {
		kinds[s.Kind] = true
		a.BurnRate = max(a.BurnRate, s.BurnRate)
		external = external || (s.Kind == KindSynthetic && s.External)
	}
	for _, k := range append(slices.Clone(SignalKinds), KindOther) {
		if kinds[k] {
			a.Kinds = append(a.Kinds, k)
		}
	}
	recent, heightened := r.deploysAround(g.Start, deploys, now)
	if watched != nil {
		heightened = watched
	}
	a.Threshold = r.BurnRateHigh
	if heightened != nil {
		a.Heightened = true
		a.Threshold = r.BurnRateHigh / r.HeightenedFactor
	}
	add := func(c Confidence, sev Severity, why Reason) {
		a.Reasons = append(a.Reasons, why)
		if c > a.Confidence || (c == a.Confidence && sev < a.Severity) {
			a.Confidence, a.Severity = c, sev
		}
	}
	if kinds[KindBurnRate] && a.BurnRate >= a.Threshold {
		add(ConfidenceHigh, SEV1, ReasonBurnRate)
		if a.Heightened && a.BurnRate < r.BurnRateHigh {
			a.Reasons = append(a.Reasons, ReasonHeightened)
			a.Deploy = heightened
		}
	}
	if external {
		add(ConfidenceHigh, SEV1, ReasonSynthetic)
	}
	if kinds[KindErrorRate] && kinds[KindLatency] && recent != nil {
		add(ConfidenceHigh, SEV2, ReasonErrLatDeploy)
		if a.Deploy == nil {
			a.Deploy = recent
		}
	}
	if len(a.Kinds) >= 2 {
		add(ConfidenceMedium, SEV3, ReasonTwoKinds)
	}
	if kinds[KindBurnRate] && a.BurnRate < a.Threshold {
		add(ConfidenceMedium, SEV3, ReasonBurnLow)
	}
	if a.Confidence == ConfidenceNone {
		add(ConfidenceLow, SEV4, ReasonSingle)
	}
	if a.Deploy == nil {
		if recent != nil {
			a.Deploy = recent
		} else {
			a.Deploy = heightened
		}
	}
	return a
}

// deploysAround returns the newest successful deploy from DeployWithin
// before start until now, and the newest successful deploy whose
// heightened window (HeightenedWindow after it) contains start or now.
func (r DetectionRules) deploysAround(start time.Time, deploys []Deploy, now time.Time) (recent, heightened *Deploy) {
	for i := range deploys {
		d := deploys[i]
		if d.State != "success" || d.At.After(now) {
			continue
		}
		if !d.At.Before(start.Add(-r.DeployWithin)) && (recent == nil || d.At.After(recent.At)) {
			recent = &d
		}
		in := func(t time.Time) bool { return !t.Before(d.At) && t.Sub(d.At) <= r.HeightenedWindow }
		if (in(start) || in(now)) && (heightened == nil || d.At.After(heightened.At)) {
			heightened = &d
		}
	}
	return recent, heightened
}

// GroupTitle is the title a declaration from g gets: the first firing
// signal's summary, else its alert name, with the service.
func GroupTitle(g *SignalGroup) string {
	sigs := g.Firing()
	if len(sigs) == 0 {
		sigs = g.Signals
	}
	if len(sigs) == 0 {
		return "Alerts for " + g.Service
	}
	first := sigs[0]
	for _, s := range sigs {
		if s.StartsAt.Before(first.StartsAt) {
			first = s
		}
	}
	title := first.Summary
	if title == "" {
		title = first.Name
	}
	if title == "" {
		title = string(first.Kind)
	}
	if n := len(sigs) - 1; n > 0 {
		title += fmt.Sprintf(" (+%d more)", n)
	}
	return truncate(title, 200)
}
