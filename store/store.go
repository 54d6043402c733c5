// Package store keeps Klaxon's incidents in an embedded bbolt file. It
// implements playbook.Store; nothing outside cmd imports it.
package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/klaxonhq/klaxon/playbook"
)

// SchemaVersion is the layout written by this code. Open refuses a file with a
// newer version rather than misreading it.
const SchemaVersion = 2

var (
	bucketMeta      = []byte("meta")
	bucketIncidents = []byte("incidents") // number (8 bytes BE) -> Incident JSON
	bucketTimeline  = []byte("timeline")  // number -> nested bucket: seq (8 bytes BE) -> Event JSON
	bucketKeys      = []byte("keys")      // idempotency key -> keyRecord JSON
	bucketChannels  = []byte("channels")  // channel ID -> number
	bucketWake      = []byte("wake")      // wake time (unix ns, 8 bytes BE) + number -> nothing: the index of due deadlines
	keySchema       = []byte("schema_version")
)

// keyRecord is what an idempotency key remembers.
type keyRecord struct {
	Number int64     `json:"number,omitempty"`
	At     time.Time `json:"at"`
}

// DB is a bbolt-backed playbook.Store.
type DB struct {
	db      *bolt.DB
	path    string
	commits committer // group commit of writes (commit.go)
}

var _ playbook.Store = (*DB)(nil)

// ErrLocked is returned by Open when another process holds the file.
var ErrLocked = errors.New("store file is locked by another process")

// Open opens (creating if needed) the store at path. If another process holds
// the file lock, Open gives up after lockTimeout with an error that says so.
func Open(path string, lockTimeout time.Duration) (*DB, error) {
	if lockTimeout <= 0 {
		lockTimeout = 2 * time.Second
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create directory for %s: %w", path, err)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("another Klaxon is using %s (the file stayed locked for %s): %w", filepath.Base(path), lockTimeout, ErrLocked)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// Batch (the deploy records of a lookup, saved side by side) waits this
	// long for more saves to join a transaction: the saves arrive within
	// microseconds of each other, and bbolt's default, 10 ms, would delay
	// the deploys message by a fifth of a GitHub round trip.
	db.MaxBatchDelay = 2 * time.Millisecond
	s := &DB{db: db, path: path}
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *DB) init() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketIncidents, bucketTimeline, bucketKeys, bucketChannels, bucketWake} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("store: create bucket %s: %w", b, err)
			}
		}
		if err := initDigest(tx); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		version := 0
		if v := meta.Get(keySchema); v != nil {
			version = int(binary.BigEndian.Uint64(v))
		}
		if version > SchemaVersion {
			return fmt.Errorf("store: %s has schema version %d; this Klaxon understands up to %d: upgrade Klaxon", s.path, version, SchemaVersion)
		}
		if version == 1 {
			// Version 2 added the wake index: build it from the incidents.
			if err := tx.Bucket(bucketIncidents).ForEach(func(k, v []byte) error {
				var inc playbook.Incident
				if err := json.Unmarshal(v, &inc); err != nil {
					return fmt.Errorf("store: migrate incident %x: %w", k, err)
				}
				return indexWake(tx, inc.Number, time.Time{}, inc.WakeAt())
			}); err != nil {
				return err
			}
		}
		if version == SchemaVersion {
			return nil
		}
		return meta.Put(keySchema, u64(SchemaVersion))
	})
}

// Close releases the file.
func (s *DB) Close() error { return s.db.Close() }

// SetNoSync turns the fsync after each commit off (true) or back on, for
// filling a store with a fixture that is rebuilt whole if the machine stops
// meanwhile. Never while Klaxon serves: a commit without fsync can be lost.
func (s *DB) SetNoSync(off bool) { s.db.NoSync = off }

// Path is the file's path.
func (s *DB) Path() string { return s.path }

func u64(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

func numKey(n int64) []byte { return u64(uint64(n)) }

// Create implements playbook.Store.
func (s *DB) Create(ctx context.Context, key string, build func(int64) (playbook.Incident, []playbook.Event)) (playbook.Incident, bool, error) {
	if err := ctx.Err(); err != nil {
		return playbook.Incident{}, false, err
	}
	var (
		inc     playbook.Incident
		created bool
	)
	err := s.update(func(tx *bolt.Tx) error {
		keys := tx.Bucket(bucketKeys)
		if v := keys.Get([]byte(key)); v != nil {
			var rec keyRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return refuse(fmt.Errorf("store: decode key %q: %w", key, err))
			}
			got, err := getIncident(tx, rec.Number)
			inc = got
			return refuse(err)
		}
		seq, err := tx.Bucket(bucketIncidents).NextSequence()
		if err != nil {
			return err
		}
		n := int64(seq)
		var evs []playbook.Event
		inc, evs = build(n)
		inc.Number = n
		inc.Version = 1
		if err := putIncident(tx, &inc, "", time.Time{}); err != nil {
			return err
		}
		if err := appendEvents(tx, n, evs); err != nil {
			return err
		}
		rec, _ := json.Marshal(keyRecord{Number: n, At: time.Now().UTC()})
		created = true
		return keys.Put([]byte(key), rec)
	})
	if err != nil {
		return playbook.Incident{}, false, err
	}
	return inc, created, nil
}

// Get implements playbook.Store.
func (s *DB) Get(ctx context.Context, n int64) (playbook.Incident, error) {
	var inc playbook.Incident
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		inc, err = getIncident(tx, n)
		return err
	})
	return inc, err
}

// ByChannel implements playbook.Store.
func (s *DB) ByChannel(ctx context.Context, channelID string) (playbook.Incident, error) {
	var inc playbook.Incident
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketChannels).Get([]byte(channelID))
		if v == nil {
			return playbook.ErrNotFound
		}
		var err error
		inc, err = getIncident(tx, int64(binary.BigEndian.Uint64(v)))
		return err
	})
	return inc, err
}

// Update implements playbook.Store.
func (s *DB) Update(ctx context.Context, n int64, fn func(*playbook.Incident) ([]playbook.Event, error)) (playbook.Incident, error) {
	if err := ctx.Err(); err != nil {
		return playbook.Incident{}, err
	}
	var inc playbook.Incident
	err := s.update(func(tx *bolt.Tx) error {
		cur, err := getIncident(tx, n)
		if err != nil {
			return refuse(err)
		}
		oldChannel, oldWake := cur.Channel.ID, cur.WakeAt()
		evs, err := fn(&cur)
		if err != nil {
			return refuse(err)
		}
		cur.Number = n // the number is the key; fn may not change it
		cur.Version++
		if err := putIncident(tx, &cur, oldChannel, oldWake); err != nil {
			return err
		}
		inc = cur
		return appendEvents(tx, n, evs)
	})
	return inc, err
}

// Timeline implements playbook.Store.
func (s *DB) Timeline(ctx context.Context, n int64) ([]playbook.Event, error) {
	var evs []playbook.Event
	err := s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketIncidents).Get(numKey(n)) == nil {
			return playbook.ErrNotFound
		}
		b := tx.Bucket(bucketTimeline).Bucket(numKey(n))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var ev playbook.Event
			if err := json.Unmarshal(v, &ev); err != nil {
				return fmt.Errorf("store: decode event %d/%x: %w", n, k, err)
			}
			evs = append(evs, ev)
			return nil
		})
	})
	return evs, err
}

// listChunk is how many incidents List decodes in one read transaction.
const listChunk = 256

// List implements playbook.Store. It reads listChunk incidents per read
// transaction, in number order, so that no read stays open for long: bbolt
// reuses a freed page only once every read older than it has ended, and a
// write that must grow the file waits for every open read. One read across
// 10,000 incidents (about half a second of decoding at start-up, longer on
// a busy machine) held the scheduler's due pass that long. An incident
// changed while List runs is seen before or after the change, never twice.
func (s *DB) List(ctx context.Context, keep func(*playbook.Incident) bool) ([]playbook.Incident, error) {
	var (
		out  []playbook.Incident
		next []byte // the first key of the next chunk; nil: from the start
	)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		more := false
		err := s.db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketIncidents).Cursor()
			k, v := c.First()
			if next != nil {
				k, v = c.Seek(next)
			}
			for i := 0; k != nil; k, v = c.Next() {
				if i == listChunk {
					next, more = bytes.Clone(k), true
					return nil
				}
				i++
				var inc playbook.Incident
				if err := json.Unmarshal(v, &inc); err != nil {
					return fmt.Errorf("store: decode incident %x: %w", k, err)
				}
				if keep == nil || keep(&inc) {
					out = append(out, inc)
				}
			}
			return nil
		})
		if err != nil || !more {
			return out, err
		}
	}
}

func getIncident(tx *bolt.Tx, n int64) (playbook.Incident, error) {
	var inc playbook.Incident
	v := tx.Bucket(bucketIncidents).Get(numKey(n))
	if v == nil {
		return inc, playbook.ErrNotFound
	}
	// json.Unmarshal copies out of v, which is only valid inside the transaction.
	if err := json.Unmarshal(v, &inc); err != nil {
		return inc, fmt.Errorf("store: decode incident %d: %w", n, err)
	}
	return inc, nil
}

func putIncident(tx *bolt.Tx, inc *playbook.Incident, oldChannel string, oldWake time.Time) error {
	v, err := json.Marshal(inc)
	if err != nil {
		return fmt.Errorf("store: encode incident %d: %w", inc.Number, err)
	}
	if err := tx.Bucket(bucketIncidents).Put(numKey(inc.Number), v); err != nil {
		return err
	}
	if err := putDigest(tx, inc); err != nil {
		return err
	}
	if err := indexWake(tx, inc.Number, oldWake, inc.WakeAt()); err != nil {
		return err
	}
	chans := tx.Bucket(bucketChannels)
	if oldChannel != "" && oldChannel != inc.Channel.ID {
		if err := chans.Delete([]byte(oldChannel)); err != nil {
			return err
		}
	}
	if inc.Channel.ID != "" {
		return chans.Put([]byte(inc.Channel.ID), numKey(inc.Number))
	}
	return nil
}

func appendEvents(tx *bolt.Tx, n int64, evs []playbook.Event) error {
	if len(evs) == 0 {
		return nil
	}
	b, err := tx.Bucket(bucketTimeline).CreateBucketIfNotExists(numKey(n))
	if err != nil {
		return err
	}
	for _, ev := range evs {
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		ev.Seq = seq
		v, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("store: encode event: %w", err)
		}
		if err := b.Put(u64(seq), v); err != nil {
			return err
		}
		if err := putDigestEvent(tx, n, ev); err != nil {
			return err
		}
	}
	return nil
}

func wakeKey(at time.Time, n int64) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, uint64(at.UnixNano()))
	binary.BigEndian.PutUint64(k[8:], uint64(n))
	return k
}

// indexWake moves incident n in the wake index from old to now (zero: absent).
func indexWake(tx *bolt.Tx, n int64, old, now time.Time) error {
	if old.Equal(now) {
		return nil
	}
	b := tx.Bucket(bucketWake)
	if !old.IsZero() {
		if err := b.Delete(wakeKey(old, n)); err != nil {
			return err
		}
	}
	if now.IsZero() {
		return nil
	}
	return b.Put(wakeKey(now, n), nil)
}

// Due implements playbook.Store: one transaction applies fn to every
// incident whose wake time is at or before now, in wake order. A read-only
// look comes first, so a pass with nothing due writes (and fsyncs) nothing.
// Index entries that no longer match their incident (it is gone, or its wake
// time moved) are dropped rather than left to block every later pass.
func (s *DB) Due(ctx context.Context, now time.Time, fn func(*playbook.Incident) ([]playbook.Event, error)) ([]playbook.Incident, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	end := uint64(now.UnixNano())
	scan := func(tx *bolt.Tx) (keys [][]byte) {
		c := tx.Bucket(bucketWake).Cursor()
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) <= end; k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		return keys
	}
	var any bool
	if err := s.db.View(func(tx *bolt.Tx) error { any = len(scan(tx)) > 0; return nil }); err != nil || !any {
		return nil, err
	}
	var out []playbook.Incident
	err := s.update(func(tx *bolt.Tx) error {
		out = out[:0]
		for _, k := range scan(tx) {
			n := int64(binary.BigEndian.Uint64(k[8:]))
			cur, err := getIncident(tx, n)
			if err != nil || !cur.WakeAt().Equal(time.Unix(0, int64(binary.BigEndian.Uint64(k)))) {
				// A stale or unreadable entry: drop it, keep the others going.
				if err := tx.Bucket(bucketWake).Delete(k); err != nil {
					return err
				}
				continue
			}
			oldWake := cur.WakeAt()
			evs, err := fn(&cur)
			if err != nil {
				return err
			}
			cur.Version++
			if err := putIncident(tx, &cur, cur.Channel.ID, oldWake); err != nil {
				return err
			}
			if err := appendEvents(tx, n, evs); err != nil {
				return err
			}
			out = append(out, cur)
		}
		return nil
	})
	return out, err
}

// NextWake implements playbook.Store.
func (s *DB) NextWake(ctx context.Context) (time.Time, bool, error) {
	var at time.Time
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bucketWake).Cursor().First()
		if k != nil {
			at, ok = time.Unix(0, int64(binary.BigEndian.Uint64(k))).UTC(), true
		}
		return nil
	})
	return at, ok, err
}

// Apply implements playbook.Store: Update, once per key.
func (s *DB) Apply(ctx context.Context, n int64, key string, fn func(*playbook.Incident) ([]playbook.Event, error)) (playbook.Incident, bool, error) {
	if err := ctx.Err(); err != nil {
		return playbook.Incident{}, false, err
	}
	var inc playbook.Incident
	applied := false
	err := s.update(func(tx *bolt.Tx) error {
		cur, err := getIncident(tx, n)
		if err != nil {
			return refuse(err)
		}
		keys := tx.Bucket(bucketKeys)
		if keys.Get([]byte(key)) != nil {
			inc = cur
			return nil
		}
		oldChannel, oldWake := cur.Channel.ID, cur.WakeAt()
		evs, err := fn(&cur)
		if err != nil {
			return refuse(err)
		}
		cur.Number = n
		cur.Version++
		if err := putIncident(tx, &cur, oldChannel, oldWake); err != nil {
			return err
		}
		if err := appendEvents(tx, n, evs); err != nil {
			return err
		}
		rec, _ := json.Marshal(keyRecord{Number: n, At: time.Now().UTC()})
		inc, applied = cur, true
		return keys.Put([]byte(key), rec)
	})
	return inc, applied, err
}

// PruneKeys implements playbook.Store: the keys recorded before before are
// deleted (a redelivery comes within minutes; the bucket would otherwise
// grow forever).
func (s *DB) PruneKeys(ctx context.Context, before time.Time) (int, error) {
	pruned := 0
	err := s.update(func(tx *bolt.Tx) error {
		pruned = 0
		c := tx.Bucket(bucketKeys).Cursor()
		for k, v := c.First(); k != nil; {
			var rec keyRecord
			if err := json.Unmarshal(v, &rec); err == nil && rec.At.Before(before) {
				k = bytes.Clone(k)
				if err := c.Delete(); err != nil {
					return err
				}
				pruned++
				k, v = c.Seek(k)
				continue
			}
			k, v = c.Next()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune keys: %w", err)
	}
	return pruned, nil
}

// Check verifies the file's consistency (what `bbolt check` does) and
// returns every problem found, joined.
func (s *DB) Check() error {
	var errs []error
	err := s.db.View(func(tx *bolt.Tx) error {
		for e := range tx.Check() {
			errs = append(errs, e)
		}
		return nil
	})
	return errors.Join(append(errs, err)...)
}
