package bot

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxonhq/klaxon/playbook"
)

// Metrics are the bot's Prometheus series. A nil *Metrics records nothing.
type Metrics struct {
	envelopes *prometheus.CounterVec
	ack       prometheus.Histogram
	declares  *prometheus.CounterVec
	readyIn   prometheus.Histogram
	// Socket Mode's state (connection.go).
	connected  prometheus.Gauge
	reconnects prometheus.Counter
}

// envelopeTypes are the Socket Mode envelope types Klaxon handles, each
// exported at 0 from the start so a dashboard sees the series before the
// first envelope.
var envelopeTypes = []string{"slash_commands", "interactive", "events_api"}

// NewMetrics registers the bot's series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		envelopes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_envelopes_total", Help: "Socket Mode envelopes received, by type.",
		}, []string{"type"}),
		ack: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "klaxon_ack_seconds", Help: "Time from receiving an envelope to acking it (Slack allows 3 s).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 3},
		}),
		declares: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "klaxon_incidents_declared_total", Help: "Incidents declared, by severity.",
		}, []string{"severity"}),
		readyIn: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "klaxon_declare_ready_seconds", Help: "Time from the declaring envelope to the incident being ready for responders: announced, invites sent, runbook bookmarked, triage checklist posted.",
			Buckets: []float64{.05, .1, .2, .3, .5, 1, 2, 5, 10, 30},
		}),
	}
	m.connected = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "klaxon_slack_connected", Help: "1 while the Socket Mode connection to Slack is up, else 0.",
	})
	m.reconnects = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "klaxon_slack_reconnects_total", Help: "Socket Mode reconnections after the first connection.",
	})
	reg.MustRegister(m.envelopes, m.ack, m.declares, m.readyIn, m.connected, m.reconnects)
	// Every series at 0 from the start, not only after the first event.
	for _, t := range envelopeTypes {
		m.envelopes.WithLabelValues(t)
	}
	for _, s := range playbook.Severities {
		m.declares.WithLabelValues(s.String())
	}
	return m
}

func (m *Metrics) setConnected(up bool) {
	if m != nil {
		v := 0.0
		if up {
			v = 1
		}
		m.connected.Set(v)
	}
}

func (m *Metrics) reconnected() {
	if m != nil {
		m.reconnects.Inc()
	}
}

func (m *Metrics) envelope(typ string) {
	if m != nil {
		m.envelopes.WithLabelValues(typ).Inc()
	}
}

func (m *Metrics) ackLatency(d time.Duration) {
	if m != nil {
		m.ack.Observe(d.Seconds())
	}
}

func (m *Metrics) declared(s playbook.Severity) {
	if m != nil {
		m.declares.WithLabelValues(s.String()).Inc()
	}
}

func (m *Metrics) ready(d time.Duration) {
	if m != nil {
		m.readyIn.Observe(d.Seconds())
	}
}

// incidentLister is the part of the store the incident collector reads.
type incidentLister interface {
	List(ctx context.Context, keep func(*playbook.Incident) bool) ([]playbook.Incident, error)
}

// IncidentCollector exports the stored incidents' state at each scrape:
// counts by severity and status, repeats (a root cause seen before), and the
// action items by state (their completion rate). Titles never appear.
type IncidentCollector struct {
	store   incidentLister
	log     *slog.Logger
	timeout time.Duration

	incidents, repeats, actions *prometheus.Desc
}

// NewIncidentCollector reads incidents from store at each scrape.
func NewIncidentCollector(store incidentLister, log *slog.Logger) *IncidentCollector {
	return &IncidentCollector{
		store: store, log: log, timeout: 5 * time.Second,
		incidents: prometheus.NewDesc("klaxon_incidents", "Incidents in the store, by severity and status.", []string{"severity", "status"}, nil),
		repeats:   prometheus.NewDesc("klaxon_repeat_incidents", "Incidents whose root-cause tag matches an earlier incident's, by severity.", []string{"severity"}, nil),
		actions:   prometheus.NewDesc("klaxon_action_items", "Action items by state: done (ticket closed), open (ticket open), unfiled (no ticket).", []string{"state"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *IncidentCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.incidents
	ch <- c.repeats
	ch <- c.actions
}

// Collect implements prometheus.Collector.
func (c *IncidentCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	incs, err := c.store.List(ctx, func(*playbook.Incident) bool { return true })
	if err != nil {
		if c.log != nil {
			c.log.Error("metrics: listing incidents", "err", err)
		}
		return
	}
	type key struct {
		sev    playbook.Severity
		status playbook.Status
	}
	counts := map[key]int{}
	repeats := map[playbook.Severity]int{}
	for _, inc := range incs {
		counts[key{inc.Severity, inc.Status}]++
		if len(inc.RepeatOf) > 0 {
			repeats[inc.Severity]++
		}
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.incidents, prometheus.GaugeValue, float64(n), k.sev.String(), string(k.status))
	}
	for _, s := range playbook.Severities {
		ch <- prometheus.MustNewConstMetric(c.repeats, prometheus.GaugeValue, float64(repeats[s]), s.String())
	}
	st := playbook.CountActions(incs)
	ch <- prometheus.MustNewConstMetric(c.actions, prometheus.GaugeValue, float64(st.Done), "done")
	ch <- prometheus.MustNewConstMetric(c.actions, prometheus.GaugeValue, float64(st.Ticketed-st.Done), "open")
	ch <- prometheus.MustNewConstMetric(c.actions, prometheus.GaugeValue, float64(st.Total-st.Ticketed), "unfiled")
}
