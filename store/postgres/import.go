package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/klaxonhq/klaxon/playbook"
)

// ErrDifferentIncident is returned by ImportIncident when the database
// already holds another incident under the same number.
var ErrDifferentIncident = errors.New("the database already holds a different incident under this number")

// ImportIncident stores an incident exactly as another store encoded it
// (its JSON and its events' JSON, in order) under its own number, with its
// timeline, in one transaction: an interrupted copy never leaves an
// incident without its events. An incident already there with the same
// content is skipped (copied=false), so a copy can be run again and resumes
// where it stopped; one with different content is ErrDifferentIncident.
func (s *DB) ImportIncident(ctx context.Context, number int64, incident []byte, events [][]byte) (copied bool, err error) {
	inc, err := decode(number, incident)
	if err != nil {
		return false, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		copied = false
		tag, err := tx.Exec(ctx, `INSERT INTO klaxon_incidents (number, data, channel_id, wake_ns, last_seq) VALUES ($1, $2, $3, $4, 0) ON CONFLICT (number) DO NOTHING`,
			number, incident, channelID(&inc), wakeNS(&inc))
		if err != nil {
			return fmt.Errorf("store: insert incident %d: %w", number, err)
		}
		if tag.RowsAffected() == 0 {
			var have []byte
			if err := tx.QueryRow(ctx, `SELECT data FROM klaxon_incidents WHERE number = $1`, number).Scan(&have); err != nil {
				return err
			}
			if !bytes.Equal(have, incident) {
				return fmt.Errorf("incident #%d: %w", number, ErrDifferentIncident)
			}
			return nil
		}
		seqs := make([]int64, len(events))
		var last int64
		for i, e := range events {
			var ev playbook.Event
			if err := json.Unmarshal(e, &ev); err != nil {
				return fmt.Errorf("store: decode an event of incident %d: %w", number, err)
			}
			seqs[i] = int64(ev.Seq)
			last = max(last, seqs[i])
		}
		if err := insertEvents(ctx, tx, number, seqs, events); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE klaxon_incidents SET last_seq = $2 WHERE number = $1`, number, last); err != nil {
			return err
		}
		// The next declaration gets the number after the highest copied.
		if _, err := tx.Exec(ctx, `UPDATE klaxon_counters SET value = greatest(value, $1) WHERE name = 'incident'`, number); err != nil {
			return err
		}
		copied = true
		return nil
	})
	return copied, err
}

// ImportKey records an idempotency key copied from another store; a key
// already recorded is left as it is.
func (s *DB) ImportKey(ctx context.Context, key string, number int64, at time.Time) error {
	if at.IsZero() {
		at = time.Now()
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO klaxon_keys (key, number, at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`, key, number, at); err != nil {
		return fmt.Errorf("store: record key: %w", err)
	}
	return nil
}

// ImportLastNumber makes the next incident number follow n at least (the
// source's counter, which may be past its highest stored incident).
func (s *DB) ImportLastNumber(ctx context.Context, n int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE klaxon_counters SET value = greatest(value, $1) WHERE name = 'incident'`, n)
	return err
}

// Counts is what a copy is checked against.
type Counts struct {
	Incidents, Events, Keys, Deadlines int64
}

// CountsFor counts, among the incidents numbered in numbers, the incidents,
// their events and their deadlines, and every key in keys that is recorded.
func (s *DB) CountsFor(ctx context.Context, numbers []int64, keys []string) (Counts, error) {
	var c Counts
	err := s.pool.QueryRow(ctx, `SELECT count(*), count(wake_ns) FROM klaxon_incidents WHERE number = ANY($1)`, numbers).Scan(&c.Incidents, &c.Deadlines)
	if err != nil {
		return c, err
	}
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM klaxon_events WHERE number = ANY($1)`, numbers).Scan(&c.Events); err != nil {
		return c, err
	}
	err = s.pool.QueryRow(ctx, `SELECT count(*) FROM klaxon_keys WHERE key = ANY($1)`, keys).Scan(&c.Keys)
	return c, err
}
