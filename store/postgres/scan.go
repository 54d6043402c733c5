package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/klaxonhq/klaxon/playbook"
)

var _ playbook.History = (*DB)(nil)

// Scan implements playbook.History: every incident in number order with its
// events of the given types (nil: all), in one read-only transaction of two
// queries, instead of one query per incident. Events of other types are left
// in the database by a LIKE on the encoded type (a pre-filter: what matches
// is decoded and its type checked).
func (s *DB) Scan(ctx context.Context, types []playbook.EventType, fn func(*playbook.Incident, []playbook.Event) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		query := `SELECT number, seq, data FROM klaxon_events ORDER BY number, seq`
		var args []any
		if types != nil {
			patterns := make([]string, len(types))
			for i, t := range types {
				patterns[i] = `%"type":"` + string(t) + `"%`
			}
			query = `SELECT number, seq, data FROM klaxon_events WHERE convert_from(data, 'UTF8') LIKE ANY($1) ORDER BY number, seq`
			args = append(args, patterns)
		}
		events := map[int64][]playbook.Event{}
		rows, err := tx.Query(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("store: read the events: %w", err)
		}
		for rows.Next() {
			var n, seq int64
			var data []byte
			if err := rows.Scan(&n, &seq, &data); err != nil {
				rows.Close()
				return err
			}
			var ev playbook.Event
			if err := json.Unmarshal(data, &ev); err != nil {
				rows.Close()
				return fmt.Errorf("store: decode event %d/%d: %w", n, seq, err)
			}
			if types == nil || slices.Contains(types, ev.Type) {
				events[n] = append(events[n], ev)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: read the events: %w", err)
		}
		rows, err = tx.Query(ctx, `SELECT number, data FROM klaxon_incidents ORDER BY number`)
		if err != nil {
			return fmt.Errorf("store: list incidents: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var n int64
			var data []byte
			if err := rows.Scan(&n, &data); err != nil {
				return err
			}
			inc, err := decode(n, data)
			if err != nil {
				return err
			}
			if err := fn(&inc, events[n]); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}
