package bot

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxonhq/klaxon/playbook"
)

// The series a platform team alerts on, beside those of metrics.go: open
// incidents by severity, phase durations by severity, reminders fired and
// how late, escalations fired, calls to Slack, GitHub and PagerDuty by method
// and outcome, and the 429s waited out. Labels hold only fixed names
// (severities, phases, kinds, API method names and route templates), never
// a title, a channel, a person or any text someone typed.

// OpsMetrics are those series. A nil *OpsMetrics records nothing.
type OpsMetrics struct {
	calls     *prometheus.CounterVec
	limited   *prometheus.CounterVec
	waited    *prometheus.HistogramVec
	reminders *prometheus.CounterVec
	late      *prometheus.HistogramVec
	escalated *prometheus.CounterVec
}

// NewOpsMetrics registers the series on reg.
func NewOpsMetrics(reg prometheus.Registerer) *OpsMetrics {
	m := &OpsMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_api_calls_total", Help: "Calls to Slack, GitHub and PagerDuty, by API method (or route template) and outcome: ok, api_error (Slack's ok:false, a 4xx), rate_limited (429), server_error (5xx), transport_error.",
		}, []string{"api", "method", "outcome"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_rate_limited_total", Help: "429 answers, each waited out (Retry-After) before the call was retried, by API and method.",
		}, []string{"api", "method"}),
		waited: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "klaxon_rate_limit_wait_seconds", Help: "Retry-After announced with each 429, which Klaxon waits before retrying.",
			Buckets: []float64{1, 2, 5, 10, 20, 30, 60, 120},
		}, []string{"api"}),
		reminders: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_reminders_fired_total", Help: "Reminders posted by the scheduler, by kind (update_due, update_escalated, status_page, resolution_update, postmortem, scope).",
		}, []string{"kind"}),
		late: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "klaxon_reminder_lateness_seconds", Help: "How long after its deadline a first reminder was posted (the scheduler's lateness, Slack's answer included).",
			Buckets: []float64{.01, .05, .1, .5, 1, 2, 5, 10, 30, 60, 300},
		}, []string{"kind"}),
		escalated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_escalations_fired_total", Help: "Escalation steps fired (the escalation matrix), by severity.",
		}, []string{"severity"}),
	}
	reg.MustRegister(m.calls, m.limited, m.waited, m.reminders, m.late, m.escalated)
	return m
}

// apiMethodRE is what a method label may look like; anything else is "other".
var apiMethodRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9._]{0,63}$`)

// SlackMethod names a Slack Web API call by its method (the URL's last
// segment, chat.postMessage), "other" for anything unexpected.
func SlackMethod(r *http.Request) string {
	m := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	if !apiMethodRE.MatchString(m) {
		return "other"
	}
	return m
}

// routeWords are the path segments kept in a REST route template; every
// other segment (an owner, a repository, a number, an ID) becomes {x}.
var routeWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`repos issues pulls deployments statuses commits contents git refs trees blobs
		reviews files comments labels assignees search user users orgs teams members collaborators
		incidents notes log_entries oncalls schedules escalation_policies services responder_requests
		enqueue v2 api v3 graphql branches merge codeowners`) {
		routeWords[w] = true
	}
}

// RouteTemplate names a REST call by its method and path with every
// variable segment replaced: "GET /repos/{x}/{x}/issues/{x}".
func RouteTemplate(r *http.Request) string {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	for i, s := range segs {
		if !routeWords[strings.ToLower(s)] {
			segs[i] = "{x}"
		}
	}
	return r.Method + " /" + strings.Join(segs, "/")
}

type instrumented struct {
	api    string
	next   http.RoundTripper
	method func(*http.Request) string
	m      *OpsMetrics
}

// Instrument wraps next (nil: http.DefaultTransport) to count api's calls by
// method and outcome, and the 429s waited.
func (m *OpsMetrics) Instrument(api string, next http.RoundTripper, method func(*http.Request) string) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	if m == nil {
		return next
	}
	return &instrumented{api: api, next: next, method: method, m: m}
}

// maxPeek bounds how much of a 200 answer is read to tell Slack's ok:false.
const maxPeek = 64

func (t *instrumented) RoundTrip(req *http.Request) (*http.Response, error) {
	method := t.method(req)
	resp, err := t.next.RoundTrip(req)
	outcome := "ok"
	switch {
	case err != nil:
		outcome = "transport_error"
	case resp.StatusCode == http.StatusTooManyRequests:
		outcome = "rate_limited"
		t.m.limited.WithLabelValues(t.api, method).Inc()
		if secs, perr := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); perr == nil && secs >= 0 {
			t.m.waited.WithLabelValues(t.api).Observe(float64(secs))
		}
	case resp.StatusCode >= 500:
		outcome = "server_error"
	case resp.StatusCode >= 400:
		outcome = "api_error"
	case t.api == "slack" && resp.Body != nil:
		// Slack answers errors with 200 and {"ok":false,…}: peek, then
		// hand the whole body on.
		head := make([]byte, maxPeek)
		n, _ := io.ReadFull(resp.Body, head)
		if bytes.Contains(head[:n], []byte(`"ok":false`)) {
			outcome = "api_error"
		}
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head[:n]), resp.Body), resp.Body}
	}
	t.m.calls.WithLabelValues(t.api, method, outcome).Inc()
	return resp, err
}

// InstrumentedPoster counts the reminders the scheduler posts and how late.
type InstrumentedPoster struct {
	playbook.Poster
	M     *OpsMetrics
	Clock playbook.Clock
}

// Nudge implements playbook.Poster.
func (p InstrumentedPoster) Nudge(ctx context.Context, b playbook.Briefing, n playbook.Nudge) error {
	err := p.Poster.Nudge(ctx, b, n)
	if err == nil && p.M != nil {
		p.M.reminders.WithLabelValues(string(n.Kind)).Inc()
		// A first reminder fires at the deadline it is about: the rest is lateness.
		if n.Level <= 1 && !n.Due.IsZero() && p.Clock != nil {
			p.M.late.WithLabelValues(string(n.Kind)).Observe(max(p.Clock.Now().Sub(n.Due), 0).Seconds())
		}
	}
	return err
}

// InstrumentedPageChat counts the escalation steps fired.
type InstrumentedPageChat struct {
	playbook.PageChat
	M *OpsMetrics
}

// PostPage implements playbook.PageChat.
func (p InstrumentedPageChat) PostPage(ctx context.Context, b playbook.Briefing, n playbook.PageNotice) error {
	err := p.PageChat.PostPage(ctx, b, n)
	if err == nil && p.M != nil && n.Kind == playbook.PageEscalation {
		p.M.escalated.WithLabelValues(b.Incident.Severity.String()).Inc()
	}
	return err
}

// FiguresCollector exports, at each scrape, the open incidents by severity
// and the phase durations of resolved incidents by severity (histograms),
// read from the store in one pass over the figures' digest.
type FiguresCollector struct {
	store   playbook.Store
	log     *slog.Logger
	timeout time.Duration

	open, phases *prometheus.Desc
}

// NewFiguresCollector reads store at each scrape.
func NewFiguresCollector(store playbook.Store, log *slog.Logger) *FiguresCollector {
	return &FiguresCollector{store: store, log: log, timeout: 5 * time.Second,
		open:   prometheus.NewDesc("klaxon_open_incidents", "Open incidents (not resolved), by severity.", []string{"severity"}, nil),
		phases: prometheus.NewDesc("klaxon_phase_duration_seconds", "Phase durations of resolved incidents (detection, triage, remediation, verification), by severity.", []string{"severity", "phase"}, nil),
	}
}

// phaseBuckets span the P1 targets (5–30 min) to a long day.
var phaseBuckets = []float64{60, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400}

// Describe implements prometheus.Collector.
func (c *FiguresCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.open
	ch <- c.phases
}

type phaseHist struct {
	count   uint64
	sum     float64
	buckets map[float64]uint64
}

// Collect implements prometheus.Collector.
func (c *FiguresCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	open := map[playbook.Severity]int{}
	hists := map[playbook.Severity][]*phaseHist{}
	err := playbook.ScanFigures(ctx, c.store, func(inc *playbook.Incident, _ []playbook.Event) error {
		if inc.Status.Open() {
			open[inc.Severity]++
			return nil
		}
		if hists[inc.Severity] == nil {
			hists[inc.Severity] = make([]*phaseHist, len(playbook.PhaseTargets))
		}
		for i, pt := range playbook.PhaseTargets {
			from, ok := inc.At(pt.From)
			to, ok2 := inc.At(pt.To)
			if !ok || !ok2 {
				continue
			}
			h := hists[inc.Severity][i]
			if h == nil {
				h = &phaseHist{buckets: map[float64]uint64{}}
				hists[inc.Severity][i] = h
			}
			s := max(to.Sub(from), 0).Seconds()
			h.count++
			h.sum += s
			for _, b := range phaseBuckets {
				if s <= b {
					h.buckets[b]++
				}
			}
		}
		return nil
	})
	if err != nil {
		if c.log != nil {
			c.log.Error("metrics: reading the figures", "err", err)
		}
		return
	}
	for _, s := range playbook.Severities {
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(open[s]), s.String())
		for i, pt := range playbook.PhaseTargets {
			h := &phaseHist{buckets: map[float64]uint64{}}
			if hs := hists[s]; hs != nil && hs[i] != nil {
				h = hs[i]
			}
			ch <- prometheus.MustNewConstHistogram(c.phases, h.count, h.sum, h.buckets, s.String(), strings.ToLower(pt.Name))
		}
	}
}
