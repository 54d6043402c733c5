package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/klaxonhq/klaxon/playbook"
)

var _ playbook.DeployLog = (*DB)(nil)

// errKeySeen rolls back a SaveDeploy whose key was recorded before.
var errKeySeen = errors.New("key recorded before")

// SaveDeploy implements playbook.DeployLog. The record's row is created
// empty if missing and locked, so concurrent saves of one deployment (two
// replicas receiving two webhooks) are applied one after the other.
func (s *DB) SaveDeploy(ctx context.Context, key, repo string, id int64, fn func(*playbook.DeployRecord, bool) error) (playbook.DeployRecord, bool, error) {
	dk := playbook.DeployKey(repo, id)
	var rec playbook.DeployRecord
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rec = playbook.DeployRecord{}
		if _, err := tx.Exec(ctx, `INSERT INTO klaxon_deploys (key) VALUES ($1) ON CONFLICT (key) DO NOTHING`, dk); err != nil {
			return fmt.Errorf("store: deploy %s: %w", dk, err)
		}
		var data []byte
		if err := tx.QueryRow(ctx, `SELECT data FROM klaxon_deploys WHERE key = $1 FOR UPDATE`, dk).Scan(&data); err != nil {
			return fmt.Errorf("store: read deploy %s: %w", dk, err)
		}
		found := data != nil
		if found {
			if err := json.Unmarshal(data, &rec); err != nil {
				return fmt.Errorf("store: decode deploy %s: %w", dk, err)
			}
		}
		if key != "" {
			fresh, err := claimKey(ctx, tx, key, 0)
			if err != nil {
				return err
			}
			if !fresh {
				return errKeySeen
			}
		}
		if err := fn(&rec, found); err != nil {
			return err
		}
		rec.Repo, rec.ID = repo, id
		v, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE klaxon_deploys SET data = $2, at_ns = $3 WHERE key = $1`, dk, v, rec.At.UnixNano()); err != nil {
			return fmt.Errorf("store: write deploy %s: %w", dk, err)
		}
		return nil
	})
	switch {
	case errors.Is(err, errKeySeen):
		return rec, false, nil
	case err != nil:
		return playbook.DeployRecord{}, false, err
	}
	return rec, true, nil
}

// DeploysSince implements playbook.DeployLog.
func (s *DB) DeploysSince(ctx context.Context, since time.Time) ([]playbook.DeployRecord, error) {
	q, args := `SELECT key, data FROM klaxon_deploys WHERE data IS NOT NULL ORDER BY at_ns, key`, []any{}
	if !since.IsZero() {
		q, args = `SELECT key, data FROM klaxon_deploys WHERE data IS NOT NULL AND at_ns >= $1 ORDER BY at_ns, key`, []any{since.UnixNano()}
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: read the deploy log: %w", err)
	}
	defer rows.Close()
	var out []playbook.DeployRecord
	for rows.Next() {
		var k string
		var data []byte
		if err := rows.Scan(&k, &data); err != nil {
			return nil, err
		}
		var rec playbook.DeployRecord
		if err := json.Unmarshal(data, &rec); err != nil {
			return nil, fmt.Errorf("store: decode deploy %s: %w", k, err)
		}
		out = append(out, rec)
	}
	return out, rows.Err()
}

// ImportDeploy copies a deploy record as another store encoded it; one
// already there is left as it is (a copy run again changes nothing).
func (s *DB) ImportDeploy(ctx context.Context, data []byte) error {
	var rec playbook.DeployRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return fmt.Errorf("store: decode a deploy: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO klaxon_deploys (key, data, at_ns) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`,
		rec.Key(), data, rec.At.UnixNano()); err != nil {
		return fmt.Errorf("store: insert deploy %s: %w", rec.Key(), err)
	}
	return nil
}

// CountDeploys counts the stored deploy records.
func (s *DB) CountDeploys(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM klaxon_deploys WHERE data IS NOT NULL`).Scan(&n)
	return n, err
}
