package postgres

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func dueIncident(t *testing.T, s *DB, at time.Time) {
	t.Helper()
	if _, _, err := s.Create(context.Background(), "k"+at.String(), func(int64) (playbook.Incident, []playbook.Event) {
		return playbook.Incident{Title: "t", Status: playbook.StatusInvestigating, Timers: playbook.Timers{NextNudge: at}}, nil
	}); err != nil {
		t.Fatal(err)
	}
}

func fire(i *playbook.Incident) ([]playbook.Event, error) {
	i.Timers.NextNudge = time.Time{}
	return []playbook.Event{playbook.NewEvent(playbook.EventNudged, "klaxon", i.Timers.UpdateDue, "")}, nil
}

// TestDeposedLeaderFiresNothing: replica A holds the lease, is partitioned
// long enough for it to expire, and B takes over. A still believes it leads
// (its renewal has not failed yet), but its Due is refused in the
// transaction by the fencing token, so the deadline fires once, on B.
func TestDeposedLeaderFiresNothing(t *testing.T) {
	a, b := twoReplicas(t)
	ctx := context.Background()
	la, lb := a.Leader("a", time.Minute, quiet), b.Leader("b", time.Minute, quiet)
	if !la.step(ctx) || lb.step(ctx) {
		t.Fatalf("A leads %v, B leads %v; want only A", la.IsLeader(), lb.IsLeader())
	}
	at := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	dueIncident(t, a, at)
	if _, err := b.Due(ctx, at, fire); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("B's Due = %v; want ErrNotLeader", err)
	}
	// A's lease runs out in the database (A cannot reach it, say).
	if _, err := a.pool.Exec(ctx, `UPDATE klaxon_leader SET expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if !lb.step(ctx) || lb.Token() != la.Token()+1 {
		t.Fatalf("B did not take over the expired lease with the next token: %d after %d", lb.Token(), la.Token())
	}
	if !la.IsLeader() {
		t.Fatal("A should still believe it leads (its local lease has not run out)")
	}
	if got, err := a.Due(ctx, at, fire); !errors.Is(err, ErrNotLeader) || len(got) != 0 {
		t.Fatalf("deposed A's Due = %d fired, %v; want ErrNotLeader", len(got), err)
	}
	got, err := b.Due(ctx, at, fire)
	if err != nil || len(got) != 1 {
		t.Fatalf("new leader B's Due = %d fired, %v; want 1", len(got), err)
	}
	// A's next renewal finds the lease gone and steps down.
	if la.step(ctx) || la.IsLeader() {
		t.Fatal("A still leads after B took over")
	}
	evs, _ := b.Timeline(ctx, 1)
	if len(evs) != 1 {
		t.Fatalf("%d nudges recorded, want exactly 1", len(evs))
	}
}

// TestLeaseIsNotTakenWhileHeld: a live lease is never taken over, and a
// released one (a graceful stop) is taken at once.
func TestLeaseIsNotTakenWhileHeld(t *testing.T) {
	a, b := twoReplicas(t)
	ctx := context.Background()
	la, lb := a.Leader("a", time.Minute, quiet), b.Leader("b", time.Minute, quiet)
	la.step(ctx)
	for range 3 {
		if lb.step(ctx) {
			t.Fatal("B took a live lease")
		}
		if !la.step(ctx) {
			t.Fatal("A could not renew its lease")
		}
	}
	la.release()
	if la.IsLeader() || !lb.step(ctx) {
		t.Fatal("B did not take the released lease at once")
	}
}

// TestRunLeadsAndHandsOver runs the real loop: A leads; when A stops
// gracefully B's loop takes over within its polling interval.
func TestRunLeadsAndHandsOver(t *testing.T) {
	a, b := twoReplicas(t)
	la := a.Leader("a", time.Second, quiet)
	lb := b.Leader("b", time.Second, quiet)
	actx, stopA := context.WithCancel(context.Background())
	aLeads := make(chan struct{})
	aDone := make(chan error, 1)
	go func() {
		aDone <- la.Run(actx, func(ctx context.Context) { close(aLeads); <-ctx.Done() })
	}()
	<-aLeads
	bctx, stopB := context.WithCancel(context.Background())
	defer stopB()
	bLeads := make(chan struct{})
	go lb.Run(bctx, func(ctx context.Context) { close(bLeads); <-ctx.Done() })
	stopA()
	<-aDone
	select {
	case <-bLeads:
	case <-time.After(30 * time.Second): // a bound for a hung test, not a timing assertion
		t.Fatal("B never took over")
	}
	if la.IsLeader() || !lb.IsLeader() {
		t.Fatalf("A leads %v, B leads %v", la.IsLeader(), lb.IsLeader())
	}
}

// TestWakeIsNotified: a deadline moved earlier by one replica wakes the
// listener (the leader's scheduler) on another.
func TestWakeIsNotified(t *testing.T) {
	a, b := twoReplicas(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	woke := make(chan struct{}, 10)
	go b.ListenWake(ctx, func() { woke <- struct{}{} }, quiet)
	<-woke // the wake at connection
	dueIncident(t, a, time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC))
	<-woke
}
