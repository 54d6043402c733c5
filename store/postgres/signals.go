package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/klaxonhq/klaxon/playbook"
)

var _ playbook.SignalStore = (*DB)(nil)

// UpdateService implements playbook.SignalStore. The service's row is
// created if missing and locked, then its live groups' rows, so that two
// replicas recording alerts of one service, or one recording alerts while
// another records an offer (UpdateGroup), apply one after the other and
// lose nothing. An error from fn rolls everything back.
func (s *DB) UpdateService(ctx context.Context, service string, fn func(*playbook.ServiceSignals) error) (playbook.ServiceSignals, error) {
	var st playbook.ServiceSignals
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO klaxon_signal_services (service) VALUES ($1) ON CONFLICT (service) DO NOTHING`, service); err != nil {
			return fmt.Errorf("store: signal state of %q: %w", service, err)
		}
		var live []int64
		st = playbook.ServiceSignals{Service: service}
		if err := tx.QueryRow(ctx, `SELECT live, incident FROM klaxon_signal_services WHERE service = $1 FOR UPDATE`, service).Scan(&live, &st.Incident); err != nil {
			return fmt.Errorf("store: read the signal state of %q: %w", service, err)
		}
		groups, err := lockGroups(ctx, tx, live)
		if err != nil {
			return err
		}
		for _, id := range live {
			if g, ok := groups[id]; ok {
				st.Groups = append(st.Groups, g)
			}
		}
		if err := fn(&st); err != nil {
			return err
		}
		ids := make([]int64, 0, len(st.Groups))
		for _, gs := range [][]playbook.SignalGroup{st.Groups, st.Retired} {
			for i := range gs {
				if err := putGroup(ctx, tx, &gs[i]); err != nil {
					return err
				}
			}
		}
		for _, g := range st.Groups {
			ids = append(ids, g.ID)
		}
		if _, err := tx.Exec(ctx, `UPDATE klaxon_signal_services SET live = $2, incident = $3 WHERE service = $1`, service, ids, st.Incident); err != nil {
			return fmt.Errorf("store: write the signal state of %q: %w", service, err)
		}
		return nil
	})
	if err != nil {
		return playbook.ServiceSignals{}, err
	}
	return st, nil
}

// lockGroups reads and locks the groups ids, in ID order (one order for
// every transaction, so two never wait on each other in a cycle).
func lockGroups(ctx context.Context, tx pgx.Tx, ids []int64) (map[int64]playbook.SignalGroup, error) {
	out := make(map[int64]playbook.SignalGroup, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, `SELECT id, data FROM klaxon_signal_groups WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
	if err != nil {
		return nil, fmt.Errorf("store: read signal groups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return nil, err
		}
		g, err := decodeGroup(id, data)
		if err != nil {
			return nil, err
		}
		out[id] = g
	}
	return out, rows.Err()
}

func decodeGroup(id int64, data []byte) (playbook.SignalGroup, error) {
	var g playbook.SignalGroup
	if err := json.Unmarshal(data, &g); err != nil {
		return g, fmt.Errorf("store: signal group %d: %w", id, err)
	}
	return g, nil
}

// putGroup writes g, giving it an ID first when it has none.
func putGroup(ctx context.Context, tx pgx.Tx, g *playbook.SignalGroup) error {
	if g.ID == 0 {
		if err := tx.QueryRow(ctx, `SELECT nextval('klaxon_signal_group_ids')`).Scan(&g.ID); err != nil {
			return fmt.Errorf("store: next signal group ID: %w", err)
		}
	}
	data, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("store: encode signal group %d: %w", g.ID, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO klaxon_signal_groups (id, data) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET data = excluded.data`, g.ID, data); err != nil {
		return fmt.Errorf("store: write signal group %d: %w", g.ID, err)
	}
	return nil
}

// Group implements playbook.SignalStore.
func (s *DB) Group(ctx context.Context, id int64) (playbook.SignalGroup, error) {
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM klaxon_signal_groups WHERE id = $1`, id).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return playbook.SignalGroup{}, playbook.ErrNotFound
	}
	if err != nil {
		return playbook.SignalGroup{}, fmt.Errorf("store: read signal group %d: %w", id, err)
	}
	return decodeGroup(id, data)
}

// UpdateGroup implements playbook.SignalStore: the group's row is locked
// for the transaction, so the check-and-set fn does (the offer's claim) is
// atomic across replicas.
func (s *DB) UpdateGroup(ctx context.Context, id int64, fn func(*playbook.SignalGroup) error) (playbook.SignalGroup, error) {
	var g playbook.SignalGroup
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		groups, err := lockGroups(ctx, tx, []int64{id})
		if err != nil {
			return err
		}
		cur, ok := groups[id]
		if !ok {
			return playbook.ErrNotFound
		}
		if err := fn(&cur); err != nil {
			return err
		}
		cur.ID = id
		g = cur
		return putGroup(ctx, tx, &cur)
	})
	if err != nil {
		return playbook.SignalGroup{}, err
	}
	return g, nil
}

// Groups implements playbook.SignalStore: newest (highest ID) first, read
// until limit groups are kept.
func (s *DB) Groups(ctx context.Context, keep func(*playbook.SignalGroup) bool, limit int) ([]playbook.SignalGroup, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, data FROM klaxon_signal_groups ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("store: list signal groups: %w", err)
	}
	defer rows.Close()
	var out []playbook.SignalGroup
	for rows.Next() {
		var id int64
		var data []byte
		if err := rows.Scan(&id, &data); err != nil {
			return nil, err
		}
		g, err := decodeGroup(id, data)
		if err != nil {
			return nil, err
		}
		if keep(&g) {
			out = append(out, g)
			if limit > 0 && len(out) >= limit {
				return out, nil
			}
		}
	}
	return out, rows.Err()
}

// ImportSignalGroup copies a signal group as another store encoded it,
// under its own ID; one already there is left as it is (a copy run again
// changes nothing). Later groups get IDs after the highest copied.
func (s *DB) ImportSignalGroup(ctx context.Context, id int64, data []byte) error {
	if _, err := decodeGroup(id, data); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO klaxon_signal_groups (id, data) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, id, data); err != nil {
			return fmt.Errorf("store: insert signal group %d: %w", id, err)
		}
		// setval with is_called: nextval then gives the next ID.
		_, err := tx.Exec(ctx, `SELECT setval('klaxon_signal_group_ids', greatest($1, (SELECT last_value FROM klaxon_signal_group_ids)), true)`, id)
		return err
	})
}

// ImportSignalService copies a service's detection state (its live groups
// and the incident its alerts go to); one already there is left as it is.
func (s *DB) ImportSignalService(ctx context.Context, service string, live []int64, incident int64) error {
	if live == nil {
		live = []int64{}
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO klaxon_signal_services (service, live, incident) VALUES ($1, $2, $3) ON CONFLICT (service) DO NOTHING`, service, live, incident); err != nil {
		return fmt.Errorf("store: insert the signal state of %q: %w", service, err)
	}
	return nil
}

// CountSignalGroups counts the stored signal groups.
func (s *DB) CountSignalGroups(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM klaxon_signal_groups`).Scan(&n)
	return n, err
}
