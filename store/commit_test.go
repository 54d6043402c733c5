package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonhq/klaxon/playbook"
)

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "klaxon.db")
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func declareOne(t *testing.T, db *DB) int64 {
	t.Helper()
	inc, _, err := db.Create(context.Background(), "k", func(int64) (playbook.Incident, []playbook.Event) {
		return playbook.Incident{Title: "Checkout returns 500s", Severity: playbook.SEV2, Status: playbook.StatusInvestigating}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return inc.Number
}

func note(text string) func(*playbook.Incident) ([]playbook.Event, error) {
	return func(*playbook.Incident) ([]playbook.Event, error) {
		return []playbook.Event{playbook.NewEvent(playbook.EventNote, "U1", time.Now(), text)}, nil
	}
}

func notes(t *testing.T, db *DB, n int64) []string {
	t.Helper()
	evs, err := db.Timeline(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Text)
	}
	slices.Sort(out)
	return out
}

// holdCommits starts a write that holds the commit under way until the
// returned function is called, and returns once it holds it: writes made
// meanwhile queue for the next commit, together.
func holdCommits(t *testing.T, db *DB) (release func()) {
	t.Helper()
	held, done := make(chan struct{}), make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(done)
		_ = db.update(func(*bolt.Tx) error { close(held); <-stop; return nil })
	}()
	<-held
	return func() { close(stop); <-done }
}

// waitQueued returns once n writes wait for the next commit.
func waitQueued(db *DB, n int) {
	for {
		db.commits.mu.Lock()
		queued := len(db.commits.queue)
		db.commits.mu.Unlock()
		if queued >= n {
			return
		}
		runtime.Gosched()
	}
}

// Writes made at once all commit, each seeing the others before it, and
// are on disk when they return.
func TestConcurrentWritesAllCommit(t *testing.T) {
	db, path := openTemp(t)
	n := declareOne(t, db)
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = db.Update(context.Background(), n, note(fmt.Sprintf("note %02d", i)))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inc, err := db.Get(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Version != 41 {
		t.Errorf("version %d after 40 updates of a new incident, want 41 (an update lost or applied twice)", inc.Version)
	}
	if got := notes(t, db, n); len(got) != 40 || got[0] != "note 00" || got[39] != "note 39" {
		t.Errorf("timeline after 40 updates at once: %q", got)
	}
}

// A write that refuses (its incident is unknown, the caller's function
// returns an error) gets its own error; the writes committed with it commit.
func TestRefusedWriteLeavesItsBatchAlone(t *testing.T) {
	db, _ := openTemp(t)
	n := declareOne(t, db)
	ctx := context.Background()
	release := holdCommits(t, db)

	refusal := errors.New("the incident is closed")
	var wg sync.WaitGroup
	var errA, errRefused, errMissing, errB error
	wg.Go(func() { _, errA = db.Update(ctx, n, note("a")) })
	wg.Go(func() {
		_, errRefused = db.Update(ctx, n, func(*playbook.Incident) ([]playbook.Event, error) { return nil, refusal })
	})
	wg.Go(func() { _, errMissing = db.Update(ctx, n+1, note("lost")) })
	wg.Go(func() { _, errB = db.Update(ctx, n, note("b")) })
	waitQueued(db, 4)
	release()
	wg.Wait()

	if errA != nil || errB != nil {
		t.Fatalf("the writes beside a refused one failed: %v, %v", errA, errB)
	}
	if !errors.Is(errRefused, refusal) {
		t.Errorf("the refused write got %v, want its own error", errRefused)
	}
	if !errors.Is(errMissing, playbook.ErrNotFound) {
		t.Errorf("a write to an unknown incident got %v, want ErrNotFound", errMissing)
	}
	if got := notes(t, db, n); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("timeline %q, want the two notes of the batch", got)
	}
}

// A write that panics panics in its caller; nothing of its batch is
// written, the others are told so, and later writes go on.
func TestPanickingWriteFailsItsBatchOnly(t *testing.T) {
	db, _ := openTemp(t)
	n := declareOne(t, db)
	ctx := context.Background()
	release := holdCommits(t, db)

	var wg sync.WaitGroup
	var errA error
	var recovered any
	wg.Go(func() { _, errA = db.Update(ctx, n, note("a")) })
	wg.Go(func() {
		defer func() { recovered = recover() }()
		_, _ = db.Update(ctx, n, func(*playbook.Incident) ([]playbook.Event, error) { panic("boom") })
	})
	waitQueued(db, 2)
	release()
	wg.Wait()

	if recovered != "boom" {
		t.Errorf("the panicking write's caller recovered %v, want its panic", recovered)
	}
	if !errors.Is(errA, errBatchPanicked) {
		t.Errorf("the write beside a panic got %v, want errBatchPanicked", errA)
	}
	if _, err := db.Update(ctx, n, note("after")); err != nil {
		t.Fatalf("a write after the panic: %v", err)
	}
	if got := notes(t, db, n); !slices.Equal(got, []string{"after"}) {
		t.Errorf("timeline %q, want only the note written after the failed batch", got)
	}
}
