// Package postgres keeps Klaxon's incidents in PostgreSQL (through a pgx
// pool), so that several Klaxon replicas can share them. It implements
// playbook.Store with the same semantics as the bbolt store (both pass
// playbook/storetest), and elects the one replica that runs the scheduler
// (Leader). Nothing outside cmd imports it.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/klaxonhq/klaxon/playbook"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrateLock is the advisory lock key held while migrating, so replicas
// starting together apply each migration once.
const migrateLock = 0x6b6c6178 // "klax"

// DB is a PostgreSQL-backed playbook.Store.
type DB struct {
	pool *pgxpool.Pool
	// leader, when set, fences Due: only the current lease holder may fire
	// deadlines.
	leader *Leader
}

var _ playbook.Store = (*DB)(nil)

// Open connects to the database at dsn (a URL or key=value string, as libpq
// takes), applies the embedded migrations the database lacks, and returns
// the store. A database migrated by a newer Klaxon is refused.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors can quote the DSN, password included.
		return nil, errors.New("store.dsn: not a PostgreSQL connection string (want postgres://user@host:5432/db or host=… dbname=…)")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect to PostgreSQL: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: connect to PostgreSQL at %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	s := &DB{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pool.
func (s *DB) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (s *DB) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		prefix, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil {
			return nil, fmt.Errorf("store: migration %s is not named NNN_name.sql", e.Name())
		}
		b, err := migrations.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// SchemaVersion is the newest schema this code writes.
func SchemaVersion() int {
	ms, err := loadMigrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// migrate applies the missing migrations in one transaction under an
// advisory lock: a second replica waits, then finds nothing to do.
func (s *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
			return fmt.Errorf("store: lock for migrations: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS klaxon_schema (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("store: create klaxon_schema: %w", err)
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM klaxon_schema`).Scan(&have); err != nil {
			return fmt.Errorf("store: read the schema version: %w", err)
		}
		if newest := ms[len(ms)-1].version; have > newest {
			return fmt.Errorf("store: the database has schema version %d; this Klaxon understands up to %d: upgrade Klaxon", have, newest)
		}
		for _, m := range ms {
			if m.version <= have {
				continue
			}
			// No arguments: the simple protocol, which runs every statement
			// of the file.
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("store: migration %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO klaxon_schema (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return err
			}
		}
		return nil
	})
}

// wakeNS is the wake index value of inc: nil when it has no deadline.
func wakeNS(inc *playbook.Incident) *int64 {
	w := inc.WakeAt()
	if w.IsZero() {
		return nil
	}
	ns := w.UnixNano()
	return &ns
}

func channelID(inc *playbook.Incident) *string {
	if inc.Channel.ID == "" {
		return nil
	}
	return &inc.Channel.ID
}

func decode(n int64, data []byte) (playbook.Incident, error) {
	var inc playbook.Incident
	if err := json.Unmarshal(data, &inc); err != nil {
		return inc, fmt.Errorf("store: decode incident %d: %w", n, err)
	}
	return inc, nil
}

// lock reads incident n and locks its row until the transaction ends.
func lock(ctx context.Context, tx pgx.Tx, n int64) (playbook.Incident, int64, error) {
	var data []byte
	var last int64
	err := tx.QueryRow(ctx, `SELECT data, last_seq FROM klaxon_incidents WHERE number = $1 FOR UPDATE`, n).Scan(&data, &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return playbook.Incident{}, 0, playbook.ErrNotFound
	}
	if err != nil {
		return playbook.Incident{}, 0, fmt.Errorf("store: read incident %d: %w", n, err)
	}
	inc, err := decode(n, data)
	return inc, last, err
}

// put writes inc (whose row is locked) and appends evs after sequence last.
// When the incident's wake time moved earlier than old, the leader's
// scheduler is told at commit (its sleep was computed from the old one).
func put(ctx context.Context, tx pgx.Tx, inc *playbook.Incident, last int64, evs []playbook.Event, old time.Time) error {
	if err := notifyWake(ctx, tx, old, inc.WakeAt()); err != nil {
		return err
	}
	seqs, datas, err := encodeEvents(last, evs)
	if err != nil {
		return err
	}
	data, err := json.Marshal(inc)
	if err != nil {
		return fmt.Errorf("store: encode incident %d: %w", inc.Number, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE klaxon_incidents SET data = $2, channel_id = $3, wake_ns = $4, last_seq = $5 WHERE number = $1`,
		inc.Number, data, channelID(inc), wakeNS(inc), last+int64(len(evs))); err != nil {
		return fmt.Errorf("store: write incident %d: %w", inc.Number, err)
	}
	return insertEvents(ctx, tx, inc.Number, seqs, datas)
}

func encodeEvents(last int64, evs []playbook.Event) ([]int64, [][]byte, error) {
	seqs := make([]int64, len(evs))
	datas := make([][]byte, len(evs))
	for i, ev := range evs {
		ev.Seq = uint64(last) + uint64(i) + 1
		v, err := json.Marshal(ev)
		if err != nil {
			return nil, nil, fmt.Errorf("store: encode event: %w", err)
		}
		seqs[i], datas[i] = int64(ev.Seq), v
	}
	return seqs, datas, nil
}

func insertEvents(ctx context.Context, tx pgx.Tx, n int64, seqs []int64, datas [][]byte) error {
	if len(seqs) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO klaxon_events (number, seq, data) SELECT $1, s, d FROM unnest($2::bigint[], $3::bytea[]) AS u(s, d)`,
		n, seqs, datas); err != nil {
		return fmt.Errorf("store: append events to incident %d: %w", n, err)
	}
	return nil
}

// claimKey records key in tx; false when it was recorded before (by a
// committed transaction: a concurrent one with the same key is waited for).
func claimKey(ctx context.Context, tx pgx.Tx, key string, n int64) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO klaxon_keys (key, number) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, n)
	if err != nil {
		return false, fmt.Errorf("store: record key: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// Create implements playbook.Store. The number comes from a counter row
// updated in the transaction, so numbers have no gaps (a sequence would
// leave one at each rollback) and replicas never hand out the same one.
func (s *DB) Create(ctx context.Context, key string, build func(int64) (playbook.Incident, []playbook.Event)) (playbook.Incident, bool, error) {
	var (
		inc     playbook.Incident
		created bool
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		created = false
		fresh, err := claimKey(ctx, tx, key, 0)
		if err != nil {
			return err
		}
		if !fresh {
			var n int64
			if err := tx.QueryRow(ctx, `SELECT number FROM klaxon_keys WHERE key = $1`, key).Scan(&n); err != nil {
				return fmt.Errorf("store: read key: %w", err)
			}
			var data []byte
			if err := tx.QueryRow(ctx, `SELECT data FROM klaxon_incidents WHERE number = $1`, n).Scan(&data); err != nil {
				return fmt.Errorf("store: read incident %d: %w", n, err)
			}
			inc, err = decode(n, data)
			return err
		}
		var n int64
		if err := tx.QueryRow(ctx, `UPDATE klaxon_counters SET value = value + 1 WHERE name = 'incident' RETURNING value`).Scan(&n); err != nil {
			return fmt.Errorf("store: next incident number: %w", err)
		}
		var evs []playbook.Event
		inc, evs = build(n)
		inc.Number = n
		inc.Version = 1
		data, err := json.Marshal(&inc)
		if err != nil {
			return fmt.Errorf("store: encode incident %d: %w", n, err)
		}
		seqs, datas, err := encodeEvents(0, evs)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO klaxon_incidents (number, data, channel_id, wake_ns, last_seq) VALUES ($1, $2, $3, $4, $5)`,
			n, data, channelID(&inc), wakeNS(&inc), len(evs)); err != nil {
			return fmt.Errorf("store: insert incident %d: %w", n, err)
		}
		if err := insertEvents(ctx, tx, n, seqs, datas); err != nil {
			return err
		}
		if err := notifyWake(ctx, tx, time.Time{}, inc.WakeAt()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE klaxon_keys SET number = $2 WHERE key = $1`, key, n); err != nil {
			return fmt.Errorf("store: record key: %w", err)
		}
		created = true
		return nil
	})
	if err != nil {
		return playbook.Incident{}, false, err
	}
	return inc, created, nil
}

// Get implements playbook.Store.
func (s *DB) Get(ctx context.Context, n int64) (playbook.Incident, error) {
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM klaxon_incidents WHERE number = $1`, n).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return playbook.Incident{}, playbook.ErrNotFound
	}
	if err != nil {
		return playbook.Incident{}, fmt.Errorf("store: read incident %d: %w", n, err)
	}
	return decode(n, data)
}

// ByChannel implements playbook.Store.
func (s *DB) ByChannel(ctx context.Context, channelID string) (playbook.Incident, error) {
	var n int64
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT number, data FROM klaxon_incidents WHERE channel_id = $1 ORDER BY number DESC LIMIT 1`, channelID).Scan(&n, &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return playbook.Incident{}, playbook.ErrNotFound
	}
	if err != nil {
		return playbook.Incident{}, fmt.Errorf("store: find the incident of channel %s: %w", channelID, err)
	}
	return decode(n, data)
}

// Update implements playbook.Store.
func (s *DB) Update(ctx context.Context, n int64, fn func(*playbook.Incident) ([]playbook.Event, error)) (playbook.Incident, error) {
	var inc playbook.Incident
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, last, err := lock(ctx, tx, n)
		if err != nil {
			return err
		}
		old := cur.WakeAt()
		evs, err := fn(&cur)
		if err != nil {
			return err
		}
		cur.Number = n // the number is the key; fn may not change it
		cur.Version++
		inc = cur
		return put(ctx, tx, &cur, last, evs, old)
	})
	if err != nil {
		return playbook.Incident{}, err
	}
	return inc, nil
}

// Apply implements playbook.Store: Update, once per key.
func (s *DB) Apply(ctx context.Context, n int64, key string, fn func(*playbook.Incident) ([]playbook.Event, error)) (playbook.Incident, bool, error) {
	var inc playbook.Incident
	applied := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		applied = false
		cur, last, err := lock(ctx, tx, n)
		if err != nil {
			return err
		}
		fresh, err := claimKey(ctx, tx, key, n)
		if err != nil {
			return err
		}
		inc = cur
		if !fresh {
			return nil
		}
		old := cur.WakeAt()
		evs, err := fn(&cur)
		if err != nil {
			return err
		}
		cur.Number = n
		cur.Version++
		inc, applied = cur, true
		return put(ctx, tx, &cur, last, evs, old)
	})
	if err != nil {
		return playbook.Incident{}, false, err
	}
	return inc, applied, nil
}

// Timeline implements playbook.Store.
func (s *DB) Timeline(ctx context.Context, n int64) ([]playbook.Event, error) {
	var evs []playbook.Event
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM klaxon_incidents WHERE number = $1`, n).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
			return playbook.ErrNotFound
		} else if err != nil {
			return fmt.Errorf("store: read incident %d: %w", n, err)
		}
		rows, err := tx.Query(ctx, `SELECT seq, data FROM klaxon_events WHERE number = $1 ORDER BY seq`, n)
		if err != nil {
			return fmt.Errorf("store: read the timeline of incident %d: %w", n, err)
		}
		defer rows.Close()
		for rows.Next() {
			var seq int64
			var data []byte
			if err := rows.Scan(&seq, &data); err != nil {
				return err
			}
			var ev playbook.Event
			if err := json.Unmarshal(data, &ev); err != nil {
				return fmt.Errorf("store: decode event %d/%d: %w", n, seq, err)
			}
			evs = append(evs, ev)
		}
		return rows.Err()
	})
	return evs, err
}

// List implements playbook.Store.
func (s *DB) List(ctx context.Context, keep func(*playbook.Incident) bool) ([]playbook.Incident, error) {
	rows, err := s.pool.Query(ctx, `SELECT number, data FROM klaxon_incidents ORDER BY number`)
	if err != nil {
		return nil, fmt.Errorf("store: list incidents: %w", err)
	}
	defer rows.Close()
	var out []playbook.Incident
	for rows.Next() {
		var n int64
		var data []byte
		if err := rows.Scan(&n, &data); err != nil {
			return nil, err
		}
		inc, err := decode(n, data)
		if err != nil {
			return nil, err
		}
		if keep == nil || keep(&inc) {
			out = append(out, inc)
		}
	}
	return out, rows.Err()
}

// Due implements playbook.Store: one transaction locks every incident whose
// wake time is at or before now, in wake order, and applies fn to each. With
// a Leader attached, the transaction first checks (and share-locks) the
// lease: a replica that lost it fires nothing, and no other replica can take
// the lease over until this transaction ends.
func (s *DB) Due(ctx context.Context, now time.Time, fn func(*playbook.Incident) ([]playbook.Event, error)) ([]playbook.Incident, error) {
	end := now.UnixNano()
	// A look without locks first, so a pass with nothing due writes nothing.
	var some bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM klaxon_incidents WHERE wake_ns <= $1)`, end).Scan(&some); err != nil {
		return nil, fmt.Errorf("store: read the wake index: %w", err)
	}
	if !some {
		return nil, nil
	}
	var out []playbook.Incident
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		out = out[:0]
		if s.leader != nil {
			if err := s.leader.fence(ctx, tx); err != nil {
				return err
			}
		}
		type row struct {
			n, last int64
			data    []byte
		}
		var due []row
		rows, err := tx.Query(ctx, `SELECT number, last_seq, data FROM klaxon_incidents WHERE wake_ns <= $1 ORDER BY wake_ns, number FOR UPDATE`, end)
		if err != nil {
			return fmt.Errorf("store: read due incidents: %w", err)
		}
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.n, &r.last, &r.data); err != nil {
				rows.Close()
				return err
			}
			due = append(due, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: read due incidents: %w", err)
		}
		for _, r := range due {
			cur, err := decode(r.n, r.data)
			if err != nil {
				// An unreadable incident leaves the wake index rather than
				// block every later pass, as in the bbolt store.
				if _, err := tx.Exec(ctx, `UPDATE klaxon_incidents SET wake_ns = NULL WHERE number = $1`, r.n); err != nil {
					return err
				}
				continue
			}
			evs, err := fn(&cur)
			if err != nil {
				return err
			}
			cur.Number = r.n
			cur.Version++
			// The scheduler reads the next wake after its own pass: passing
			// the new wake time as the old one notifies nobody.
			if err := put(ctx, tx, &cur, r.last, evs, cur.WakeAt()); err != nil {
				return err
			}
			out = append(out, cur)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PruneKeys implements playbook.Store.
func (s *DB) PruneKeys(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM klaxon_keys WHERE at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune keys: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// NextWake implements playbook.Store.
func (s *DB) NextWake(ctx context.Context) (time.Time, bool, error) {
	var ns *int64
	if err := s.pool.QueryRow(ctx, `SELECT min(wake_ns) FROM klaxon_incidents`).Scan(&ns); err != nil {
		return time.Time{}, false, fmt.Errorf("store: read the wake index: %w", err)
	}
	if ns == nil {
		return time.Time{}, false, nil
	}
	return time.Unix(0, *ns).UTC(), true, nil
}
