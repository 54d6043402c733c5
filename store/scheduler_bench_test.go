package store

import (
	"context"
	"fmt"
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
func (p *recordingPoster) Notice(context.Context, string, string) error                  { return nil }
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
// falls uniformly over one 10-second interval, reopens the store as a
// restart would, runs the real scheduler loop (RunScheduler with time.After)
// until every reminder fired, and reports how late they fired, the CPU the
// scheduler used per tick, the peak RSS of the process and the start-up
// load time. Slack is replaced by a recorder: this measures Klaxon.
//
//	go test -run='^$' -bench=Scheduler10k -benchtime=1x ./store/
func BenchmarkScheduler10k(b *testing.B) {
	const (
		incidents = 10_000
		interval  = 10 * time.Second
		lead      = 2 * time.Second // time to reopen before the first deadline
	)
	for range b.N {
		path := filepath.Join(b.TempDir(), "klaxon.db")
		db, err := Open(path, time.Second)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now().UTC().Add(lead)
		tiers := playbook.DefaultTiers()
		// One transaction writes them all: the benchmark is about the
		// scheduler, not about 10,000 declarations.
		err = db.db.Update(func(tx *bolt.Tx) error {
			for i := range incidents {
				seq, _ := tx.Bucket(bucketIncidents).NextSequence()
				declared := start.Add(-time.Hour)
				inc := playbook.Incident{
					Number: int64(seq), Title: fmt.Sprintf("Checkout returns 500s in region %d", i), Severity: playbook.SEV1,
					Service: "checkout", Declarer: "U0DECL01", Commander: "U0IC0001", Status: playbook.StatusInvestigating,
					Channel: playbook.ChannelRef{ID: fmt.Sprintf("C%09d", i), Name: fmt.Sprintf("inc-%d-sev1-checkout", seq)},
					Times:   map[playbook.Phase]time.Time{playbook.PhaseDetected: declared, playbook.PhaseDeclared: declared, playbook.PhaseAcknowledged: declared},
					Setup:   map[playbook.Step]time.Time{playbook.StepChannel: declared, playbook.StepTopic: declared, playbook.StepPurpose: declared, playbook.StepInvite: declared, playbook.StepBookmark: declared, playbook.StepIntro: declared, playbook.StepPin: declared, playbook.StepAnnounce: declared},
					Version: 1,
				}
				inc.Timers.LastUpdate = declared
				inc.Timers.Updates = 3
				inc.Timers.UpdateDue = start.Add(time.Duration(i) * interval / incidents)
				inc.Timers.NextNudge = inc.Timers.UpdateDue
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

		// Start-up: open the store, find the interrupted declarations (a
		// scan of every incident) and the first deadline.
		t0 := time.Now()
		db, err = Open(path, time.Second)
		if err != nil {
			b.Fatal(err)
		}
		cs := &countingStore{DB: db}
		poster := &recordingPoster{want: incidents, all: make(chan struct{})}
		app := &playbook.App{Store: cs, Poster: poster, Clock: playbook.ClockFunc(time.Now), Tiers: tiers}
		if err := app.Resume(context.Background()); err != nil {
			b.Fatal(err)
		}
		if _, ok, err := db.NextWake(context.Background()); err != nil || !ok {
			b.Fatal("no deadline", err)
		}
		load := time.Since(t0)

		ctx, cancel := context.WithCancel(context.Background())
		cpu0 := cpuTime()
		done := make(chan error, 1)
		go func() { done <- app.RunScheduler(ctx, time.After) }()
		<-poster.all
		rss := procMB("VmRSS")
		cancel()
		<-done
		cpu := cpuTime() - cpu0
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
	}
}
