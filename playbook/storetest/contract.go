package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// Opener opens a store for one subtest. reopen, when non-nil, closes the
// store and opens the same data again (for stores that persist).
type Opener func(t *testing.T) (s playbook.Store, reopen func() playbook.Store)

var t0 = time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)

func build(title string) func(int64) (playbook.Incident, []playbook.Event) {
	return func(n int64) (playbook.Incident, []playbook.Event) {
		inc := playbook.Incident{Title: title, Severity: playbook.SEV2, Declarer: "U1", Status: playbook.StatusInvestigating,
			Times: map[playbook.Phase]time.Time{playbook.PhaseDeclared: t0}}
		return inc, []playbook.Event{playbook.NewEvent(playbook.EventDeclared, "U1", t0, title)}
	}
}

// Run is the contract suite every playbook.Store implementation must pass.
func Run(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("numbers start at 1 and increase", func(t *testing.T) {
		s, _ := open(t)
		for want := int64(1); want <= 3; want++ {
			inc, created, err := s.Create(ctx, fmt.Sprint("k", want), build("t"))
			if err != nil || !created || inc.Number != want {
				t.Fatalf("Create #%d = %d, %v, %v", want, inc.Number, created, err)
			}
		}
	})

	t.Run("same key declares once", func(t *testing.T) {
		s, _ := open(t)
		a, created, err := s.Create(ctx, "env-1", build("first"))
		if err != nil || !created {
			t.Fatal(created, err)
		}
		b, created, err := s.Create(ctx, "env-1", build("second"))
		if err != nil || created || b.Number != a.Number || b.Title != "first" {
			t.Fatalf("second Create = #%d %q created=%v err=%v; want #%d first, not created", b.Number, b.Title, created, err, a.Number)
		}
		all, _ := s.List(ctx, nil)
		if len(all) != 1 {
			t.Fatalf("%d incidents stored, want 1", len(all))
		}
	})

	t.Run("concurrent creates get distinct numbers", func(t *testing.T) {
		s, _ := open(t)
		var wg sync.WaitGroup
		nums := make([]int64, 20)
		for i := range nums {
			wg.Go(func() {
				inc, _, err := s.Create(ctx, fmt.Sprint("c", i), build("t"))
				if err != nil {
					t.Error(err)
				}
				nums[i] = inc.Number
			})
		}
		wg.Wait()
		seen := map[int64]bool{}
		for _, n := range nums {
			if seen[n] || n < 1 || n > 20 {
				t.Fatalf("numbers %v are not 1..20 each once", nums)
			}
			seen[n] = true
		}
	})

	t.Run("get, update, timeline and channel index", func(t *testing.T) {
		s, _ := open(t)
		inc, _, _ := s.Create(ctx, "k", build("db down"))
		got, err := s.Get(ctx, inc.Number)
		if err != nil || got.Title != "db down" || !got.Times[playbook.PhaseDeclared].Equal(t0) {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		up, err := s.Update(ctx, inc.Number, func(i *playbook.Incident) ([]playbook.Event, error) {
			i.Channel = playbook.ChannelRef{ID: "C1", Name: "inc-1"}
			return []playbook.Event{playbook.NewEvent(playbook.EventChannelCreated, "klaxon", t0.Add(time.Second), "#inc-1")}, nil
		})
		if err != nil || up.Channel.ID != "C1" || up.Version <= inc.Version {
			t.Fatalf("Update = %+v, %v", up, err)
		}
		byc, err := s.ByChannel(ctx, "C1")
		if err != nil || byc.Number != inc.Number {
			t.Fatalf("ByChannel = %+v, %v", byc, err)
		}
		evs, err := s.Timeline(ctx, inc.Number)
		if err != nil || len(evs) != 2 || evs[0].Type != playbook.EventDeclared || evs[1].Type != playbook.EventChannelCreated || evs[0].Seq >= evs[1].Seq {
			t.Fatalf("Timeline = %+v, %v", evs, err)
		}
	})

	t.Run("failed update writes nothing", func(t *testing.T) {
		s, _ := open(t)
		inc, _, _ := s.Create(ctx, "k", build("t"))
		boom := errors.New("boom")
		_, err := s.Update(ctx, inc.Number, func(i *playbook.Incident) ([]playbook.Event, error) {
			i.Title = "changed"
			return []playbook.Event{playbook.NewEvent(playbook.EventNote, "U1", t0, "x")}, boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want boom", err)
		}
		got, _ := s.Get(ctx, inc.Number)
		evs, _ := s.Timeline(ctx, inc.Number)
		if got.Title != "t" || len(evs) != 1 {
			t.Fatalf("after a failed update: title %q, %d events; want unchanged", got.Title, len(evs))
		}
	})

	t.Run("missing incident is not found", func(t *testing.T) {
		s, _ := open(t)
		if _, err := s.Get(ctx, 42); playbook.ErrorCode(err) != playbook.CodeNotFound {
			t.Fatalf("Get(42) err = %v", err)
		}
		if _, err := s.ByChannel(ctx, "CNOPE"); playbook.ErrorCode(err) != playbook.CodeNotFound {
			t.Fatalf("ByChannel err = %v", err)
		}
		if _, err := s.Update(ctx, 42, func(*playbook.Incident) ([]playbook.Event, error) { return nil, nil }); playbook.ErrorCode(err) != playbook.CodeNotFound {
			t.Fatalf("Update(42) err = %v", err)
		}
	})

	t.Run("list filters", func(t *testing.T) {
		s, _ := open(t)
		for i := range 4 {
			inc, _, _ := s.Create(ctx, fmt.Sprint(i), build("t"))
			if i%2 == 0 {
				s.Update(ctx, inc.Number, func(i *playbook.Incident) ([]playbook.Event, error) {
					return nil, i.Transition(playbook.StatusResolved, t0)
				})
			}
		}
		open, err := s.List(ctx, func(i *playbook.Incident) bool { return i.Status.Open() })
		if err != nil || len(open) != 2 || open[0].Number != 2 || open[1].Number != 4 {
			t.Fatalf("open incidents = %+v, %v", open, err)
		}
	})

	t.Run("apply once per key", func(t *testing.T) {
		s, _ := open(t)
		inc, _, _ := s.Create(ctx, "k", build("t"))
		bump := func(i *playbook.Incident) ([]playbook.Event, error) {
			i.Timers.Updates++
			return []playbook.Event{playbook.NewEvent(playbook.EventNote, "U1", t0, "x")}, nil
		}
		a, applied, err := s.Apply(ctx, inc.Number, "click-1", bump)
		if err != nil || !applied || a.Timers.Updates != 1 {
			t.Fatalf("first Apply = %+v, %v, %v", a.Timers, applied, err)
		}
		b, applied, err := s.Apply(ctx, inc.Number, "click-1", bump)
		if err != nil || applied || b.Timers.Updates != 1 {
			t.Fatalf("second Apply with the same key = %+v, %v, %v; want unchanged", b.Timers, applied, err)
		}
		evs, _ := s.Timeline(ctx, inc.Number)
		if len(evs) != 2 {
			t.Fatalf("%d events, want 2 (declared + one note)", len(evs))
		}
	})

	t.Run("due incidents in wake order, once", func(t *testing.T) {
		s, _ := open(t)
		wakes := []time.Duration{3 * time.Minute, time.Minute, 0, 10 * time.Minute}
		for i, d := range wakes {
			inc, _, _ := s.Create(ctx, fmt.Sprint("w", i), build("t"))
			if d > 0 {
				s.Update(ctx, inc.Number, func(i *playbook.Incident) ([]playbook.Event, error) {
					i.Timers.NextNudge = t0.Add(d)
					return nil, nil
				})
			}
		}
		next, ok, err := s.NextWake(ctx)
		if err != nil || !ok || !next.Equal(t0.Add(time.Minute)) {
			t.Fatalf("NextWake = %v, %v, %v; want t0+1m", next, ok, err)
		}
		var order []int64
		got, err := s.Due(ctx, t0.Add(5*time.Minute), func(i *playbook.Incident) ([]playbook.Event, error) {
			order = append(order, i.Number)
			i.Timers.NextNudge = time.Time{} // fired
			return []playbook.Event{playbook.NewEvent(playbook.EventNudged, "klaxon", t0, "")}, nil
		})
		if err != nil || len(got) != 2 || fmt.Sprint(order) != "[2 1]" {
			t.Fatalf("Due = %d incidents in order %v, %v; want [2 1]", len(got), order, err)
		}
		again, _ := s.Due(ctx, t0.Add(5*time.Minute), func(i *playbook.Incident) ([]playbook.Event, error) {
			t.Errorf("incident %d due twice", i.Number)
			return nil, nil
		})
		if len(again) != 0 {
			t.Fatalf("fired incidents still due: %d", len(again))
		}
		next, ok, _ = s.NextWake(ctx)
		if !ok || !next.Equal(t0.Add(10*time.Minute)) {
			t.Fatalf("NextWake after firing = %v, %v", next, ok)
		}
		evs, _ := s.Timeline(ctx, 2)
		if evs[len(evs)-1].Type != playbook.EventNudged {
			t.Fatalf("Due did not store the events fn returned")
		}
	})

	t.Run("a failing due pass changes nothing", func(t *testing.T) {
		s, _ := open(t)
		for i := range 2 {
			inc, _, _ := s.Create(ctx, fmt.Sprint("f", i), build("t"))
			s.Update(ctx, inc.Number, func(i *playbook.Incident) ([]playbook.Event, error) {
				i.Timers.NextNudge = t0
				return nil, nil
			})
		}
		boom := errors.New("boom")
		calls := 0
		_, err := s.Due(ctx, t0, func(i *playbook.Incident) ([]playbook.Event, error) {
			calls++
			if calls == 2 {
				return nil, boom
			}
			i.Timers.NextNudge = time.Time{}
			return nil, nil
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		if got, _ := s.Due(ctx, t0, func(*playbook.Incident) ([]playbook.Event, error) { return nil, nil }); len(got) != 2 {
			t.Fatalf("after a failed pass %d incidents due, want both still due", len(got))
		}
	})

	t.Run("survives reopen and numbers continue", func(t *testing.T) {
		s, reopen := open(t)
		if reopen == nil {
			t.Skip("store does not persist")
		}
		a, _, _ := s.Create(ctx, "a", build("first"))
		s = reopen()
		got, err := s.Get(ctx, a.Number)
		if err != nil || got.Title != "first" {
			t.Fatalf("after reopen Get = %+v, %v", got, err)
		}
		if _, created, _ := s.Create(ctx, "a", build("again")); created {
			t.Fatal("key forgotten across reopen: declared twice")
		}
		b, _, _ := s.Create(ctx, "b", build("second"))
		if b.Number != a.Number+1 {
			t.Fatalf("number after reopen = %d, want %d", b.Number, a.Number+1)
		}
	})

	t.Run("old idempotency keys are pruned, recent ones kept", func(t *testing.T) {
		s, _ := open(t)
		inc, _, err := s.Create(ctx, "decl-1", build("t"))
		if err != nil {
			t.Fatal(err)
		}
		noop := func(*playbook.Incident) ([]playbook.Event, error) { return nil, nil }
		if _, applied, err := s.Apply(ctx, inc.Number, "click-1", noop); err != nil || !applied {
			t.Fatalf("Apply = %v, %v", applied, err)
		}
		if n, err := s.PruneKeys(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("PruneKeys an hour back = %d, %v; want nothing pruned", n, err)
		}
		if _, applied, _ := s.Apply(ctx, inc.Number, "click-1", noop); applied {
			t.Fatal("a recent key was forgotten")
		}
		if n, err := s.PruneKeys(ctx, time.Now().Add(time.Hour)); err != nil || n != 2 {
			t.Fatalf("PruneKeys = %d, %v; want both keys pruned", n, err)
		}
		if _, applied, err := s.Apply(ctx, inc.Number, "click-1", noop); err != nil || !applied {
			t.Fatalf("a pruned key still blocks: %v, %v", applied, err)
		}
		if got, err := s.Get(ctx, inc.Number); err != nil || got.Number != inc.Number {
			t.Fatalf("the incident is gone with its keys: %v", err)
		}
	})
}
