package store

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/playbook/storetest"
)

// recordingPoster stands in for Slack: it records when each reminder was
// handed over, to measure how late the scheduler fires.
type recordingPoster struct {
	mu       sync.Mutex
	lateness []time.Duration
	want     int
	all      chan struct{} // closed when want reminders arrived
}

func (p *recordingPoster) PostIntro(context.Context, playbook.Briefing) (playbook.MessageRef, error) {
	return playbook.MessageRef{}, nil
}
func (p *recordingPoster) Announce(context.Context, playbook.Briefing) (playbook.MessageRef, error) {
	return playbook.MessageRef{}, nil
}
func (p *recordingPoster) Notice(context.Context, string, playbook.Notice) error         { return nil }
func (p *recordingPoster) ChannelFailed(context.Context, playbook.Briefing, error) error { return nil }
func (p *recordingPoster) PostUpdate(context.Context, playbook.Briefing, playbook.StatusUpdate) error {
	return nil
}
func (p *recordingPoster) Nudge(_ context.Context, _ playbook.Briefing, n playbook.Nudge) error {
	late := time.Since(n.Due)
	p.mu.Lock()
	p.lateness = append(p.lateness, late)
	if len(p.lateness) == p.want {
		close(p.all)
	}
	p.mu.Unlock()
	return nil
}

// countingStore counts scheduler passes over the due index.
type countingStore struct {
	*DB
	ticks atomic.Int64
}

func (c *countingStore) Due(ctx context.Context, now time.Time, fn func(*playbook.Incident) ([]playbook.Event, error)) ([]playbook.Incident, error) {
	c.ticks.Add(1)
	return c.DB.Due(ctx, now, fn)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procMB reads a memory figure of this process from /proc/self/status
// ("VmRSS" now, "VmHWM" the peak), in MB.
func procMB(field string) float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			var kb float64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkScheduler10k stores 10,000 active incidents whose next reminder
// falls uniformly over one 10-second interval, plus 100 whose declaration a
// crash interrupted (the checklist not yet posted), reopens the store as a
// restart would, runs the real scheduler loop (RunScheduler with time.After)
// and, after its first pass, the resume of the 100 (as cmd/klaxon does),
// until every reminder fired. It reports how late they fired, the CPU the
// scheduler used per tick, the process's RSS, the start-up load time (open
// the store, first pass over the due deadlines) and how long the resume
// took beside the scheduler (scan the 10,100 incidents, finish the 100). The incidents are
// copies of one declared and set up through the domain, so they stay ready
// by its definition when setup steps are added. Slack is replaced by a
// recorder: this measures Klaxon.
//
//	go test -run='^$' -bench=Scheduler10k -benchtime=1x ./store/
func BenchmarkScheduler10k(b *testing.B) {
	const (
		incidents   = 10_000
		interrupted = 100
		interval    = 10 * time.Second
		lead        = 2 * time.Second // time to reopen before the first deadline
	)
	ctx := context.Background()
	for range b.N {
		path := filepath.Join(b.TempDir(), "klaxon.db")
		db, err := Open(path, time.Second)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now().UTC().Add(lead)
		declared := start.Add(-time.Hour)
		tiers := playbook.DefaultTiers()
		services := []playbook.Service{{Name: "checkout", Runbook: "https://runbooks.example.com/checkout", Stakeholders: []string{"U0PAY001"}}}
		ready, err := storetest.ReadyIncident(ctx, playbook.DeclareRequest{
			Key: "fixture", Title: "Checkout returns 500s", Severity: playbook.SEV1, Service: "checkout", Declarer: "U0DECL01",
		}, tiers, services, start) // declared at start: none of its own deadlines falls in the run
		if err != nil {
			b.Fatal(err)
		}
		// One transaction writes them all: the benchmark is about the
		// scheduler, not about 10,000 declarations.
		err = db.db.Update(func(tx *bolt.Tx) error {
			for i := range incidents + interrupted {
				seq, _ := tx.Bucket(bucketIncidents).NextSequence()
				inc := ready
				inc.Number = int64(seq)
				inc.Title = fmt.Sprintf("Checkout returns 500s in region %d", i)
				inc.Commander = "U0IC0001"
				inc.Channel = playbook.ChannelRef{ID: fmt.Sprintf("C%09d", i), Name: fmt.Sprintf("inc-%d-sev1-checkout", seq)}
				// Three updates posted; the next one is due in the interval.
				due := start.Add(time.Duration(i) * interval / incidents)
				if i >= incidents {
					// Interrupted before its checklist; its reminder is an hour off.
					inc.Setup = maps.Clone(ready.Setup)
					delete(inc.Setup, playbook.StepChecks)
					due = start.Add(time.Hour)
				}
				inc.Timers = playbook.Timers{LastUpdate: declared, Updates: 3, UpdateDue: due, NextNudge: due}
				if err := putIncident(tx, &inc, "", time.Time{}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		db.Close()

		// Start-up: open the store and make the scheduler's first pass;
		// the resume follows it.
		t0 := time.Now()
		db, err = Open(path, time.Second)
		if err != nil {
			b.Fatal(err)
		}
		cs := &countingStore{DB: db}
		poster := &recordingPoster{want: incidents, all: make(chan struct{})}
		app := playbook.New(playbook.Deps{Store: cs, Poster: poster, Clock: playbook.ClockFunc(time.Now), Tiers: tiers, Services: services})
		runCtx, cancel := context.WithCancel(ctx)
		cpu0 := cpuTime()
		done := make(chan error, 1)
		go func() { done <- app.RunScheduler(runCtx, time.After) }()
		<-app.FirstTick()
		load := time.Since(t0)
		resumed := make(chan error, 1)
		var resumeTook time.Duration
		go func() {
			t := time.Now()
			err := app.Resume(runCtx)
			resumeTook = time.Since(t)
			resumed <- err
		}()
		<-poster.all
		rss := procMB("VmRSS")
		if err := <-resumed; err != nil {
			b.Fatal(err)
		}
		cancel()
		<-done
		cpu := cpuTime() - cpu0
		left, err := db.List(ctx, func(i *playbook.Incident) bool { return !i.Ready() })
		if err != nil || len(left) != 0 {
			b.Fatalf("%d incidents not ready after the resume (%v)", len(left), err)
		}
		db.Close()

		late := slices.Clone(poster.lateness)
		slices.Sort(late)
		pct := func(p float64) float64 {
			return float64(late[min(len(late)-1, int(float64(len(late))*p))].Microseconds()) / 1000
		}
		ticks := cs.ticks.Load()
		b.ReportMetric(pct(.50), "late-p50-ms")
		b.ReportMetric(pct(.99), "late-p99-ms")
		b.ReportMetric(float64(late[len(late)-1].Microseconds())/1000, "late-max-ms")
		b.ReportMetric(float64(ticks), "ticks")
		b.ReportMetric(float64(cpu.Microseconds())/float64(ticks), "cpu-µs/tick")
		b.ReportMetric(rss, "rss-MB")
		b.ReportMetric(procMB("VmHWM"), "peak-rss-MB")
		b.ReportMetric(float64(load.Microseconds())/1000, "startup-load-ms")
		b.ReportMetric(float64(resumeTook.Microseconds())/1000, "resume-ms")
	}
}
