package store

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Group commit. bbolt has one writer at a time and syncs the file at every
// commit, so writes that arrive together (ten declarations at once, each
// recording its incident, then its channel, then its steps) used to queue
// for one fsync each: the tenth waited for nine commits before its own.
// Here a write that finds no commit under way commits at once, alone, and
// the writes that arrive meanwhile are committed together by the next one
// (the first of them leads): each write waits for at most the commit in
// progress and its own, and no write is delayed to gather a batch.
//
// A write in a batch runs in the same transaction as the others, in arrival
// order, so it sees their effects as if they had been committed just before
// it. A write that refuses before writing anything (its incident is not
// found, the caller's function returns an error) says so with refuse: its
// error goes to its caller and the others commit. Any other error, a failed
// commit or a panic fails every write of its batch, as a failed commit
// always did, and nothing of the batch is written. No write's function is
// ever run twice.

// maxBatch bounds the writes committed in one transaction.
const maxBatch = 64

type write struct {
	fn       func(*bolt.Tx) error
	err      error
	panicked any
	refused  bool
	done     chan struct{} // closed once the batch is committed, or failed
	lead     chan struct{} // closed when this write is to commit the queue
}

type committer struct {
	mu    sync.Mutex
	queue []*write
	busy  bool // a leader is committing
}

// refused marks an error returned by a write before it wrote anything.
type refused struct{ err error }

func (r refused) Error() string { return r.err.Error() }
func (r refused) Unwrap() error { return r.err }

// refuse returns err (nil stays nil) marked as returned before anything
// was written, so the writes committed with this one still commit.
func refuse(err error) error {
	if err == nil {
		return nil
	}
	return refused{err}
}

// errBatchPanicked is what the other writes of a batch get when one panicked.
var errBatchPanicked = errors.New("store: a write committed in the same transaction panicked, so nothing was written")

// update runs fn in a read-write transaction, committed with the writes
// that arrived while the previous commit was under way, and returns once
// that commit is durable (or failed).
func (s *DB) update(fn func(*bolt.Tx) error) error {
	w := &write{fn: fn, done: make(chan struct{}), lead: make(chan struct{})}
	c := &s.commits
	c.mu.Lock()
	c.queue = append(c.queue, w)
	if !c.busy {
		c.busy = true
		close(w.lead)
	}
	c.mu.Unlock()
	select {
	case <-w.done:
	case <-w.lead:
		s.commitQueue()
		<-w.done
	}
	if w.panicked != nil {
		panic(w.panicked)
	}
	return w.err
}

// commitQueue commits the writes queued so far (the leader is the first),
// then hands the lead to the first write queued meanwhile.
func (s *DB) commitQueue() {
	c := &s.commits
	c.mu.Lock()
	n := min(len(c.queue), maxBatch)
	batch := c.queue[:n:n]
	c.queue = slices.Clone(c.queue[n:])
	c.mu.Unlock()

	s.commitBatch(batch)

	c.mu.Lock()
	if len(c.queue) > 0 {
		close(c.queue[0].lead)
	} else {
		c.busy = false
	}
	c.mu.Unlock()
}

func (s *DB) commitBatch(batch []*write) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, w := range batch {
			err := run(w, tx)
			if w.panicked != nil {
				return errBatchPanicked
			}
			if r, ok := errors.AsType[refused](err); ok {
				w.err, w.refused = r.err, true
				continue
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	for _, w := range batch {
		if !w.refused && w.panicked == nil {
			w.err = err
		}
		close(w.done)
	}
}

// run calls w.fn, keeping a panic for w's own caller.
func run(w *write, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			w.panicked = p
			err = fmt.Errorf("store: write panicked: %v", p)
		}
	}()
	return w.fn(tx)
}
