package bot

import (
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
}

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
			Name: "klaxon_declare_ready_seconds", Help: "Time from the declaring envelope to the channel being ready and announced.",
			Buckets: []float64{.05, .1, .2, .3, .5, 1, 2, 5, 10, 30},
		}),
	}
	reg.MustRegister(m.envelopes, m.ack, m.declares, m.readyIn)
	return m
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
