package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNotLeader is returned by Due on a replica that does not hold the
// scheduler's lease (any more): it fires nothing.
var ErrNotLeader = errors.New("store: this replica does not hold the scheduler's lease")

// wakeChannel is the NOTIFY channel that tells the leader a deadline moved
// earlier (an incident declared or changed on another replica).
const wakeChannel = "klaxon_wake"

// Leader elects, among the replicas that share a database, the one that
// runs the scheduler. Leadership is a lease: one row holding the holder's
// ID, a fencing token and an expiry in the database's clock (so the
// replicas' clocks don't matter). The holder renews it every TTL/5; when it
// stops (kill -9, a partition from the database), another replica takes it
// once it has expired, with the token plus one. Due checks holder and token
// in the transaction that fires deadlines, so a deposed leader that has not
// noticed yet fires nothing, and its last pass, if it holds the row's share
// lock, ends before the new leader's first.
type Leader struct {
	db  *DB
	id  string
	ttl time.Duration
	log *slog.Logger
	now func() time.Time

	mu         sync.Mutex
	token      int64
	validUntil time.Time // on this machine's monotonic clock
}

// Leader makes s fence Due with a lease held as id (unique per process)
// for ttl. Call it before the store is used; Run takes part in the
// election.
func (s *DB) Leader(id string, ttl time.Duration, log *slog.Logger) *Leader {
	l := &Leader{db: s, id: id, ttl: ttl, log: log, now: time.Now}
	s.leader = l
	return l
}

// ID is this replica's holder ID.
func (l *Leader) ID() string { return l.id }

// IsLeader reports whether this replica holds the lease now.
func (l *Leader) IsLeader() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.token != 0 && l.now().Before(l.validUntil)
}

// Token is the fencing token of the lease this replica holds, 0 if none.
func (l *Leader) Token() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.token
}

// Run takes part in the election until ctx ends. While this replica holds
// the lease, lead runs with a context that ends when the lease is lost;
// Run waits for it to return before competing again. On return the lease
// is released, so a graceful stop hands over at once.
func (l *Leader) Run(ctx context.Context, lead func(context.Context)) error {
	every := l.ttl / 5
	var term *term
	for {
		leading := l.step(ctx)
		switch {
		case leading && term == nil:
			l.log.Info("this replica now leads the scheduler", "replica", l.id, "token", l.Token())
			term = startTerm(ctx, lead)
		case !leading && term != nil:
			l.log.Warn("this replica lost the scheduler's lease", "replica", l.id)
			term.stop()
			term = nil
		}
		select {
		case <-ctx.Done():
			if term != nil {
				term.stop()
			}
			l.release()
			return nil
		case <-time.After(every):
		}
	}
}

// term is one stretch of leadership: lead running until stop.
type term struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func startTerm(ctx context.Context, lead func(context.Context)) *term {
	lctx, cancel := context.WithCancel(ctx)
	t := &term{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		lead(lctx)
	}()
	return t
}

func (t *term) stop() {
	t.cancel()
	<-t.done
}

// step acquires or renews the lease and reports whether it is held.
func (l *Leader) step(ctx context.Context) bool {
	start := l.now()
	l.mu.Lock()
	tok := l.token
	l.mu.Unlock()
	// A renewal that hangs (a partition) must not outlive the lease.
	qctx, cancel := context.WithTimeout(ctx, l.ttl/2)
	defer cancel()
	ms := l.ttl.Milliseconds()
	var got int64
	var err error
	if tok != 0 {
		err = l.db.pool.QueryRow(qctx, `UPDATE klaxon_leader SET expires_at = now() + $3 * interval '1 millisecond'
			WHERE id = 1 AND holder = $1 AND token = $2 RETURNING token`, l.id, tok, ms).Scan(&got)
	} else {
		err = l.db.pool.QueryRow(qctx, `INSERT INTO klaxon_leader (id, holder, token, expires_at) VALUES (1, $1, 1, now() + $2 * interval '1 millisecond')
			ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, token = klaxon_leader.token + 1, expires_at = excluded.expires_at
			WHERE klaxon_leader.expires_at <= now() RETURNING token`, l.id, ms).Scan(&got)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err == nil:
		l.token, l.validUntil = got, start.Add(l.ttl)
	case errors.Is(err, pgx.ErrNoRows):
		l.token = 0 // another replica holds it
	case ctx.Err() != nil:
	default:
		if tok != 0 {
			l.log.Warn("renewing the scheduler's lease", "err", err)
		}
		if !l.now().Before(l.validUntil) {
			l.token = 0
		}
	}
	return l.token != 0 && l.now().Before(l.validUntil)
}

// release ends the lease now (if this replica holds it) so another replica
// takes over without waiting for it to expire.
func (l *Leader) release() {
	l.mu.Lock()
	tok := l.token
	l.token = 0
	l.mu.Unlock()
	if tok == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := l.db.pool.Exec(ctx, `UPDATE klaxon_leader SET expires_at = now() WHERE id = 1 AND holder = $1 AND token = $2`, l.id, tok); err != nil {
		l.log.Warn("releasing the scheduler's lease", "err", err)
	}
}

// fence checks, inside tx, that this replica still holds the lease, and
// share-locks the row so that nobody takes it over before tx ends.
func (l *Leader) fence(ctx context.Context, tx pgx.Tx) error {
	l.mu.Lock()
	tok := l.token
	l.mu.Unlock()
	if tok == 0 {
		return ErrNotLeader
	}
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM klaxon_leader WHERE id = 1 AND holder = $1 AND token = $2 AND expires_at > now() FOR SHARE`, l.id, tok).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotLeader
	}
	if err != nil {
		return fmt.Errorf("store: check the scheduler's lease: %w", err)
	}
	return nil
}

// notifyWake tells the leader, at commit, that a deadline moved earlier.
func notifyWake(ctx context.Context, tx pgx.Tx, old, now time.Time) error {
	if now.IsZero() || (!old.IsZero() && !now.Before(old)) {
		return nil
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, '')`, wakeChannel); err != nil {
		return fmt.Errorf("store: notify the scheduler: %w", err)
	}
	return nil
}

// ListenWake calls wake whenever a transaction moved a deadline earlier,
// and once at each (re)connection (notifications may have been missed),
// until ctx ends. It holds one connection of the pool.
func (s *DB) ListenWake(ctx context.Context, wake func(), log *slog.Logger) {
	for ctx.Err() == nil {
		err := s.listen(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		log.Warn("listening for deadline changes; retrying in 1s", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (s *DB) listen(ctx context.Context, wake func()) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection is left LISTENing: hijack it out of the pool.
	pc := conn.Hijack()
	defer pc.Close(context.Background())
	if _, err := pc.Exec(ctx, "LISTEN "+wakeChannel); err != nil {
		return err
	}
	wake()
	for {
		if _, err := pc.WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}
