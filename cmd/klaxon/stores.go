package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/klaxonhq/klaxon/internal/config"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/store"
	"github.com/klaxonhq/klaxon/store/postgres"
)

// openedStore is the configured store with what run needs around it.
type openedStore struct {
	playbook.Store
	close func() error
	// bolt is the embedded store (driver bolt), for backups.
	bolt *store.DB
	// pg and leader are set with driver postgres: the replicas elect the
	// one that runs the scheduler.
	pg     *postgres.DB
	leader *postgres.Leader
}

// lockProbe is how long the commands that can ask a running Klaxon instead
// (report, backup) or must tell the operator to stop it (export) wait for
// the bbolt file's lock before doing so.
const lockProbe = 300 * time.Millisecond

// openStore opens the store that cfg names.
func openStore(ctx context.Context, cfg config.Store, log *slog.Logger) (*openedStore, error) {
	if cfg.Driver == config.DriverPostgres {
		octx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		db, err := postgres.Open(octx, cfg.DSN.Reveal())
		if err != nil {
			return nil, err
		}
		leader := db.Leader(replicaID(), cfg.LeaderLease, log.With("component", "leader"))
		return &openedStore{Store: db, close: db.Close, pg: db, leader: leader}, nil
	}
	db, err := store.Open(cfg.Path, cfg.LockTimeout)
	if err != nil {
		return nil, err
	}
	return &openedStore{Store: db, close: db.Close, bolt: db}, nil
}

// lead runs fn for as long as this replica leads the scheduler: always with
// bolt (one process), while it holds the lease with postgres. It returns
// when ctx ends.
func (s *openedStore) lead(ctx context.Context, app *playbook.App, log *slog.Logger, fn func(context.Context)) error {
	if s.leader == nil {
		fn(ctx)
		return nil
	}
	return s.leader.Run(ctx, func(ctx context.Context) {
		// A deadline moved earlier on another replica wakes this scheduler.
		go s.pg.ListenWake(ctx, app.Wake, log)
		fn(ctx)
	})
}

// isLeader reports whether this replica runs the scheduler.
func (s *openedStore) isLeader() bool { return s.leader == nil || s.leader.IsLeader() }

// replicaID names this process in the lease: host, pid and a random part,
// so a restarted process never mistakes its predecessor's lease for its own.
func replicaID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}
