package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/store"
	"github.com/klaxonhq/klaxon/store/postgres"
)

// migrateStore copies a bbolt store into PostgreSQL: every incident with
// its timeline and deadlines, every idempotency key, the deploy log, and
// the incident counter. Each incident is copied with its events in one transaction and
// incidents already there are skipped, so the copy can be run again (it
// resumes where an interrupted run stopped). It ends by counting both
// sides.
func migrateStore(ctx context.Context, from, to string, stdout io.Writer) error {
	path, ok := strings.CutPrefix(from, "bolt:")
	if !ok || path == "" {
		return usageError{"--from: want bolt:PATH, the bbolt file to copy (e.g. bolt:klaxon.db)"}
	}
	if !strings.HasPrefix(to, "postgres://") && !strings.HasPrefix(to, "postgresql://") {
		return usageError{"--to: want a postgres:// URL (the password can come from PGPASSWORD, to keep it off the command line)"}
	}
	start := time.Now()
	src, err := store.Open(path, 2*time.Second)
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("%w: stop Klaxon before migrating, so nothing changes during the copy", err)
		}
		return err
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, to)
	if err != nil {
		return err
	}
	defer dst.Close()

	var (
		want    postgres.Counts
		numbers []int64
		keys    []string
		copied  int
	)
	err = src.Incidents(func(n int64, data []byte, events [][]byte) error {
		var inc playbook.Incident
		if err := json.Unmarshal(data, &inc); err != nil {
			return fmt.Errorf("incident #%d in %s: %w", n, path, err)
		}
		want.Incidents++
		want.Events += int64(len(events))
		if !inc.WakeAt().IsZero() {
			want.Deadlines++
		}
		numbers = append(numbers, n)
		did, err := dst.ImportIncident(ctx, n, data, events)
		if errors.Is(err, postgres.ErrDifferentIncident) {
			return fmt.Errorf("%w: copy into an empty database (or the one an earlier run of this copy filled)", err)
		}
		if did {
			copied++
		}
		return err
	})
	if err != nil {
		return err
	}
	err = src.Keys(func(key string, n int64, at time.Time) error {
		want.Keys++
		keys = append(keys, key)
		return dst.ImportKey(ctx, key, n, at)
	})
	if err != nil {
		return err
	}
	var deploys int64
	err = src.Deploys(func(rec []byte) error {
		deploys++
		return dst.ImportDeploy(ctx, rec)
	})
	if err != nil {
		return err
	}
	// Detection: every alert group (the live ones and the history behind
	// /incident signals) and each service's state.
	var groups int64
	err = src.SignalGroups(func(id int64, data []byte) error {
		groups++
		return dst.ImportSignalGroup(ctx, id, data)
	})
	if err != nil {
		return err
	}
	err = src.SignalServices(func(service string, live []int64, incident int64) error {
		return dst.ImportSignalService(ctx, service, live, incident)
	})
	if err != nil {
		return err
	}
	last, err := src.LastNumber()
	if err != nil {
		return err
	}
	if err := dst.ImportLastNumber(ctx, last); err != nil {
		return err
	}
	got, err := dst.CountsFor(ctx, numbers, keys)
	if err != nil {
		return fmt.Errorf("counting the copy: %w", err)
	}
	if got != want {
		return fmt.Errorf("count check failed: %s has %+v, the database %+v", path, want, got)
	}
	// The database may hold deploys of its own: at least the source's.
	if n, err := dst.CountDeploys(ctx); err != nil || n < deploys {
		return fmt.Errorf("count check failed: %s has %d deploy records, the database %d (%v)", path, deploys, n, err)
	}
	if n, err := dst.CountSignalGroups(ctx); err != nil || n < groups {
		return fmt.Errorf("count check failed: %s has %d alert groups, the database %d (%v)", path, groups, n, err)
	}
	fmt.Fprintf(stdout, "copied %d incidents (%d were already there) with %d events, %d deadlines and %d keys, %d deploy records and %d alert groups, in %v; counts match\n",
		copied, int(want.Incidents)-copied, want.Events, want.Deadlines, want.Keys, deploys, groups, time.Since(start).Round(time.Millisecond))
	return nil
}

// usageError is a mistake in the command line (exit 2, not 1).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }
