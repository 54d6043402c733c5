package alertmanager

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/playbook/storetest"
	"github.com/klaxonhq/klaxon/store"
)

// stormAlert is a notification with alerts i to i+n-1 of a storm: one
// service, starts spread over a minute.
func stormAlert(i, n int, start time.Time) []byte {
	m := Message{Version: "4", Status: "firing", Receiver: "klaxon"}
	for j := i; j < i+n; j++ {
		m.Alerts = append(m.Alerts, Alert{
			Status:      "firing",
			Labels:      map[string]string{"alertname": fmt.Sprintf("Storm%03d", j), "service": "checkout", "kind": []string{"error_rate", "latency", "saturation"}[j%3], "pod": fmt.Sprintf("checkout-%d", j)},
			Annotations: map[string]string{"summary": "pod unhealthy"},
			StartsAt:    start.Add(time.Duration(j) * time.Minute / 500),
			Fingerprint: fmt.Sprintf("%016x", j),
		})
	}
	b, _ := json.Marshal(m)
	return b
}

// TestStormIsOneGroupAndOneOffer: 500 alerts for one service within a
// minute become one group and at most one offer (edited, never reposted).
// Alertmanager groups them ten to a notification here, to keep the test
// quick under -race; BenchmarkStorm sends one per notification.
func TestStormIsOneGroupAndOneOffer(t *testing.T) {
	start := time.Date(2026, 3, 29, 14, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := start
	signals := storetest.NewSignals()
	app, o := newApp(t, signals, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	h, _ := NewHandler(token, app, nil)
	for i := 0; i < 500; i += 10 {
		mu.Lock()
		now = start.Add(time.Duration(i) * time.Minute / 500)
		mu.Unlock()
		if rec := post(t, h, "Bearer "+token, stormAlert(i, 10, start)); rec.Code != http.StatusOK {
			t.Fatalf("alert %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	app.WaitDetection()
	gs, _ := signals.Groups(context.Background(), func(*playbook.SignalGroup) bool { return true }, 0)
	if len(gs) != 1 || len(gs[0].Signals) != 500 {
		t.Fatalf("%d groups, want 1 of 500 signals", len(gs))
	}
	if o.posts != 1 {
		t.Errorf("%d offers posted, want 1", o.posts)
	}
	// Coalesced: far fewer edits than alerts, and the last shows all 500.
	if o.lastSignals != 500 {
		t.Errorf("the offer last showed %d signals, want 500 (%d edits)", o.lastSignals, o.edits)
	}
}

// BenchmarkStorm posts 500 alerts for one service, one notification each,
// to the webhook backed by the bbolt store (an fsync per notification), and
// reports the p50 and p99 time to answer. The offers go to a recorder.
//
//	go test -run='^$' -bench=Storm -benchtime=1x -count=3 ./alertmanager/
func BenchmarkStorm(b *testing.B) {
	for range b.N {
		db, err := store.Open(filepath.Join(b.TempDir(), "k.db"), time.Second)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now().UTC()
		app, o := newApp(b, db, time.Now)
		h, _ := NewHandler(token, app, nil)
		lat := make([]time.Duration, 0, 500)
		for i := range 500 {
			body := stormAlert(i, 1, start)
			t0 := time.Now()
			rec := post(b, h, "Bearer "+token, body)
			lat = append(lat, time.Since(t0))
			if rec.Code != http.StatusOK {
				b.Fatalf("alert %d: %d", i, rec.Code)
			}
		}
		app.WaitDetection()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
		b.ReportMetric(float64(o.posts), "offers")
		db.Close()
	}
}
