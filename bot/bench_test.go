package bot_test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/internal/pgtest"
	"github.com/klaxonhq/klaxon/store"
	"github.com/klaxonhq/klaxon/store/postgres"
)

// Declare → ready is measured from outside, as a responder sees it: from the
// envelope sent to the moment the fake Slack applied the last of the
// incident's announcement, triage checklist, invites and runbook bookmark.
// The floor is two Web API calls one after the other (create the channel,
// then everything else side by side); ratios to it hold on a noisy machine
// where absolute times do not.
//
//	go test -run='^$' -bench='Declare$' -benchtime=30x ./bot/
//	go test -run='^$' -bench=DeclareBurst -benchtime=3x ./bot/

var incidentNumber = regexp.MustCompile(`incident #(\d+)`)

// createdAt is when incident n's channel was created in f's record.
func createdAt(calls []fakeslack.Call, n int64) time.Time {
	prefix := fmt.Sprintf("inc-%d-", n)
	for _, c := range calls {
		if c.Method == "conversations.create" && c.OK() && strings.HasPrefix(c.Params.Get("name"), prefix) {
			return c.At
		}
	}
	return time.Time{}
}

// readyAt is when incident n was ready in the fake's record (its channels
// and calls), false while one of its four parts is missing.
func readyAt(chans []fakeslack.Channel, calls []fakeslack.Call, n int64) (time.Time, bool) {
	// The strings looked for are made once: made per call, they were most
	// of the garbage the next batch's measurement paid for in collection.
	prefix, declared := fmt.Sprintf("inc-%d-", n), fmt.Sprintf("incident #%d declared", n)
	var ch fakeslack.Channel
	for _, c := range chans {
		if strings.HasPrefix(c.Name, prefix) {
			ch = c
		}
	}
	if ch.ID == "" {
		return time.Time{}, false
	}
	var announced, checklist, invited, bookmarked time.Time
	for _, c := range calls {
		if !c.OK() {
			continue
		}
		switch c.Method {
		case "chat.postMessage":
			switch text := c.Params.Get("text"); {
			case c.Params.Get("channel") == announce && strings.Contains(text, declared):
				announced = c.At
			case c.Params.Get("channel") == ch.ID && strings.HasPrefix(text, "Triage checklist"):
				checklist = c.At
			}
		case "conversations.invite":
			if c.Params.Get("channel") == ch.ID {
				invited = c.At
			}
		case "bookmarks.add":
			if c.Params.Get("channel_id") == ch.ID {
				bookmarked = c.At
			}
		}
	}
	parts := []time.Time{announced, checklist, invited, bookmarked}
	if slices.ContainsFunc(parts, time.Time.IsZero) {
		return time.Time{}, false
	}
	return slices.MaxFunc(parts, time.Time.Compare), true
}

// declared is one declaration sent to the fake.
type declared struct {
	sent   time.Time
	ack    time.Duration
	number int64
	err    error
}

// declare sends a declaration of a checkout incident (runbook, stakeholders
// and, for SEV1, a user group to expand) and reads its number from the ack.
func declare(f *fakeslack.Server, sev, title string) declared {
	d := declared{sent: time.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ack, err := f.SlashCommand(ctx, fakeslack.SlashCommand{Text: "declare " + sev + " checkout " + title, UserID: declarer, ChannelID: general})
	if err != nil || ack.Late {
		d.err = fmt.Errorf("%s: %v (late: %v)", title, err, ack.Late)
		return d
	}
	d.ack = ack.Latency
	m := incidentNumber.FindSubmatch(ack.Payload)
	if m == nil {
		d.err = fmt.Errorf("ack without an incident number: %s", ack.Payload)
		return d
	}
	d.number, _ = strconv.ParseInt(string(m[1]), 10, 64)
	return d
}

func pct(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkDeclare declares SEV1 incidents against the fake with 50 ms, then
// 200 ms, added to every Web API call, one after another and ten at once,
// rate limits off (this measures Klaxon, not Slack's tiers). Each op is one
// declaration, or one batch of ten. It reports declare → ready at p50 and
// p99, in ms and as a multiple of the two-call floor, and the ack latency.
func BenchmarkDeclare(b *testing.B) {
	for _, latency := range []time.Duration{50 * time.Millisecond, 200 * time.Millisecond} {
		for _, batch := range []int{1, 10} {
			name := fmt.Sprintf("latency=%v/sequential", latency)
			if batch > 1 {
				name = fmt.Sprintf("latency=%v/%d-at-once", latency, batch)
			}
			b.Run(name, func(b *testing.B) { benchDeclare(b, latency, batch) })
		}
	}
}

// BenchmarkDeclarePostgres is BenchmarkDeclare's sequential case on the
// PostgreSQL store (KLAXON_TEST_POSTGRES_DSN; `source .ci/postgres.sh`
// starts a server), to compare with the bbolt figures:
//
//	go test -run='^$' -bench='Declare$|DeclarePostgres' -benchtime=30x ./bot/
func BenchmarkDeclarePostgres(b *testing.B) {
	for _, latency := range []time.Duration{50 * time.Millisecond, 200 * time.Millisecond} {
		b.Run(fmt.Sprintf("latency=%v/sequential", latency), func(b *testing.B) {
			benchDeclareOn(b, latency, 1, func(b *testing.B) closingStore {
				// A fresh schema for each run, as bbolt gets a new file.
				db, err := postgres.Open(context.Background(), pgtest.DSN(b))
				if err != nil {
					b.Fatal(err)
				}
				return db
			})
		})
	}
}

func benchDeclare(b *testing.B, latency time.Duration, batch int) {
	benchDeclareOn(b, latency, batch, func(b *testing.B) closingStore {
		db, err := store.Open(filepath.Join(b.TempDir(), "klaxon.db"), time.Second)
		if err != nil {
			b.Fatal(err)
		}
		return db
	})
}

func benchDeclareOn(b *testing.B, latency time.Duration, batch int, open func(*testing.B) closingStore) {
	f := newFake(b, fakeslack.Options{Latency: latency, DisableRateLimits: true})
	k := startOn(b, f, open(b), bot.Pace{Off: true})
	var acks, ready, created []time.Duration
	total, seen := 0, 0
	var mem0, mem1 runtime.MemStats
	runtime.ReadMemStats(&mem0)
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := range b.N {
		ds := make([]declared, batch)
		var wg sync.WaitGroup
		for j := range batch {
			wg.Go(func() { ds[j] = declare(f, "sev1", fmt.Sprintf("Checkout returns 500s %d-%d", i, j)) })
		}
		wg.Wait()
		total += batch
		waitReady(b, f, total) // every step done, the pin included, before the next
		// Only this batch's calls, and the channels once: copying the whole
		// record for each declaration made garbage the next batch's
		// measurement paid for in garbage collection.
		calls := f.CallsSince(seen)
		seen += len(calls)
		chans := f.Channels()
		for _, d := range ds {
			if d.err != nil {
				b.Fatal(d.err)
			}
			at, ok := readyAt(chans, calls, d.number)
			if !ok {
				b.Fatalf("incident #%d: announcement, checklist, invites or bookmark missing", d.number)
			}
			acks = append(acks, d.ack)
			ready = append(ready, at.Sub(d.sent))
			created = append(created, createdAt(calls, d.number).Sub(d.sent))
		}
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&mem1)
	k.stop()
	floor := 2 * latency
	b.ReportMetric(ms(pct(acks, .50)), "ack-p50-ms")
	b.ReportMetric(ms(pct(acks, .99)), "ack-p99-ms")
	b.ReportMetric(ms(pct(created, .50)), "created-p50-ms")
	b.ReportMetric(ms(pct(ready, .50)), "ready-p50-ms")
	b.ReportMetric(ms(pct(ready, .99)), "ready-p99-ms")
	b.ReportMetric(float64(pct(ready, .50))/float64(floor), "ready-p50-x-floor")
	b.ReportMetric(float64(pct(ready, .99))/float64(floor), "ready-p99-x-floor")
	// The process's CPU time and allocations per declaration, the fake
	// Slack's and the benchmark's own included: less sensitive to other
	// processes on the machine than the times above.
	b.ReportMetric(float64(cpu.Microseconds())/float64(total), "cpu-us/decl")
	b.ReportMetric(float64(mem1.Mallocs-mem0.Mallocs)/float64(total), "allocs/decl")
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDeclareBurst sends 25 SEV1 declarations over one second to the
// fake with 50 ms per call and Slack's limits scaled by 4 (so the run takes
// seconds, not minutes), with Klaxon pacing at the same scaled limits. It
// reports the time from the first declaration sent to the last one ready,
// the lower bound the limits themselves put on it (the fake's tiers and
// per-channel buckets replayed on the earliest possible calls: the 25
// announcements share one channel), their ratio, the 429s Slack served,
// and the calls made before a Retry-After ran out (must be 0).
func BenchmarkDeclareBurst(b *testing.B) {
	const (
		latency = 50 * time.Millisecond
		scale   = 4
		n       = 25
		over    = time.Second
	)
	var totals, bounds []time.Duration
	var limited, early int
	for range b.N {
		b.StopTimer()
		f := newFake(b, fakeslack.Options{Latency: latency, RateLimitScale: scale})
		k := startPaced(b, f, filepath.Join(b.TempDir(), "klaxon.db"), bot.Pace{Scale: scale})
		b.StartTimer()
		ds := make([]declared, n)
		var wg sync.WaitGroup
		t0 := time.Now()
		for i := range n {
			time.Sleep(time.Until(t0.Add(time.Duration(i) * over / n)))
			wg.Go(func() { ds[i] = declare(f, "sev1", fmt.Sprintf("Checkout returns 500s %d", i)) })
		}
		wg.Wait()
		waitReady(b, f, n)
		b.StopTimer()
		calls, chans := f.Calls(), f.Channels()
		var last time.Time
		sent := make([]time.Time, n)
		for i, d := range ds {
			if d.err != nil {
				b.Fatal(d.err)
			}
			at, ok := readyAt(chans, calls, d.number)
			if !ok {
				b.Fatalf("incident #%d: announcement, checklist, invites or bookmark missing", d.number)
			}
			if at.After(last) {
				last = at
			}
			sent[i] = d.sent
		}
		incs, err := k.db.List(context.Background(), nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, inc := range incs {
			if !inc.Ready() || len(inc.Failures) > 0 {
				b.Fatalf("incident #%d not ready or a step reported failed: %v", inc.Number, inc.Failures)
			}
		}
		for _, c := range calls {
			if c.Status == 429 {
				limited++
			}
		}
		early += f.EarlyRetries() + f.EarlyCalls()
		totals = append(totals, last.Sub(sent[0]))
		bounds = append(bounds, burstBound(sent, latency, scale).Sub(sent[0]))
		k.stop()
		b.StartTimer()
	}
	b.StopTimer()
	total, bound := pct(totals, .5), pct(bounds, .5)
	b.ReportMetric(total.Seconds(), "total-s")
	b.ReportMetric(bound.Seconds(), "bound-s")
	b.ReportMetric(float64(total)/float64(bound), "x-bound")
	b.ReportMetric(float64(limited)/float64(b.N), "429s/op")
	b.ReportMetric(float64(early), "early-retries")
}

// burstBound is the earliest the last of the burst's declarations can be
// ready under the fake's limits: each channel is created one call after
// its declaration was sent (conversations.create's Tier 2 window), and its
// announcement, invites, bookmark and checklist one call after that (the
// announce channel's bucket, the Tier 3 and Tier 2 windows; an incident
// channel's three posts fit in its burst).
func burstBound(sent []time.Time, latency time.Duration, scale float64) time.Time {
	scaled := func(v float64) float64 { return math.Max(1, math.Round(v*scale)) }
	tier := func(method string) int {
		perMinute, _ := fakeslack.TierLimit(method)
		return int(scaled(float64(perMinute)))
	}
	created := make([]time.Time, len(sent))
	for i, s := range sent {
		created[i] = s.Add(latency)
	}
	created = windowed(created, tier("conversations.create"))
	second := make([]time.Time, len(created))
	for i, c := range created {
		second[i] = c.Add(latency)
	}
	burst, perSecond := fakeslack.PostMessageLimit()
	last := second[len(second)-1]
	for _, at := range [][]time.Time{
		bucketed(second, scaled(burst), scaled(perSecond)),
		windowed(second, tier("conversations.invite")),
		windowed(second, tier("bookmarks.add")),
	} {
		if m := slices.MaxFunc(at, time.Time.Compare); m.After(last) {
			last = m
		}
	}
	return last
}

// windowed admits calls asked for at reqs (in order) under a fixed
// one-minute window of limit calls opened by the first call after the
// previous window ended, as the fake counts.
func windowed(reqs []time.Time, limit int) []time.Time {
	out := make([]time.Time, len(reqs))
	var start time.Time
	count := 0
	for i, r := range reqs {
		if i > 0 && out[i-1].After(r) {
			r = out[i-1]
		}
		if start.IsZero() || !r.Before(start.Add(time.Minute)) {
			start, count = r, 0
		}
		if count == limit {
			r = start.Add(time.Minute)
			start, count = r, 0
		}
		count++
		out[i] = r
	}
	return out
}

// bucketed admits calls asked for at reqs (in order) from a token bucket of
// capacity burst refilled at perSecond, full at the first call.
func bucketed(reqs []time.Time, burst, perSecond float64) []time.Time {
	out := make([]time.Time, len(reqs))
	tokens, last := burst, time.Time{}
	for i, r := range reqs {
		if i > 0 {
			if out[i-1].After(r) {
				r = out[i-1]
			}
			tokens = math.Min(burst, tokens+r.Sub(last).Seconds()*perSecond)
		}
		if tokens < 1 {
			wait := time.Duration((1 - tokens) / perSecond * float64(time.Second))
			r = r.Add(wait)
			tokens = 1
		}
		tokens--
		last, out[i] = r, r
	}
	return out
}
