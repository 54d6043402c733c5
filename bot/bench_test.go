package bot_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
)

// BenchmarkDeclare declares incidents one after another against the fake
// with 50 ms added to every Web API call, and reports the ack latency and the
// declare-to-ready time (envelope sent → announcement posted) at p50 and p99.
// Rate limits are off: the benchmark measures Klaxon, not Slack's tiers.
//
//	go test -run='^$' -bench=Declare -benchtime=100x ./bot/
func BenchmarkDeclare(b *testing.B) {
	const latency = 50 * time.Millisecond
	f := newFake(b, fakeslack.Options{Latency: latency, DisableRateLimits: true})
	start(b, f, filepath.Join(b.TempDir(), "klaxon.db"))
	var acks, ready []time.Duration
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		ack := slash(b, f, fmt.Sprintf("declare sev1 checkout Checkout returns 500s %d", i))
		acks = append(acks, ack.Latency)
		waitAnnounced(b, f, i+1)
		ready = append(ready, time.Since(t0))
		waitReady(b, f, i+1) // let the remaining steps finish before the next one
	}
	b.StopTimer()
	pct := func(ds []time.Duration, p float64) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[min(len(s)-1, int(float64(len(s))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(acks, .50), "ack-p50-ms")
	b.ReportMetric(pct(acks, .99), "ack-p99-ms")
	b.ReportMetric(pct(ready, .50), "ready-p50-ms")
	b.ReportMetric(pct(ready, .99), "ready-p99-ms")
	b.ReportMetric(pct(ready, .50)/float64(latency.Milliseconds()), "ready-p50-roundtrips")
}
