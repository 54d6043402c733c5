package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/klaxonhq/klaxon/playbook"
)

var _ playbook.History = (*DB)(nil)

// OpenReadOnly opens an existing store for reading, as `klaxon report` and
// `klaxon export` do. A running Klaxon holds the file's exclusive lock, so
// this fails after lockTimeout with an error wrapping ErrLocked; the caller
// then asks the running Klaxon instead.
func OpenReadOnly(path string, lockTimeout time.Duration) (*DB, error) {
	if lockTimeout <= 0 {
		lockTimeout = 2 * time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, ReadOnly: true})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("another Klaxon is using %s (the file stayed locked for %s): %w", filepath.Base(path), lockTimeout, ErrLocked)
		}
		return nil, fmt.Errorf("store: open %s read-only: %w", path, err)
	}
	s := &DB{db: db, path: path}
	err = db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil || tx.Bucket(bucketIncidents) == nil {
			return fmt.Errorf("store: %s is not a Klaxon store", path)
		}
		if v := meta.Get(keySchema); v != nil && binary.BigEndian.Uint64(v) > SchemaVersion {
			return fmt.Errorf("store: %s has schema version %d; this Klaxon understands up to %d: upgrade Klaxon", path, binary.BigEndian.Uint64(v), SchemaVersion)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Scan implements playbook.History: every incident, in number order, with
// its events of the given types (nil: all of them), in one read transaction.
// Events of other types are skipped before they are decoded, which keeps a
// scan over thousands of long timelines cheap.
func (s *DB) Scan(ctx context.Context, types []playbook.EventType, fn func(*playbook.Incident, []playbook.Event) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		timeline := tx.Bucket(bucketTimeline)
		var evs []playbook.Event
		return tx.Bucket(bucketIncidents).ForEach(func(k, v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			var inc playbook.Incident
			if err := json.Unmarshal(v, &inc); err != nil {
				return fmt.Errorf("store: decode incident %x: %w", k, err)
			}
			evs = evs[:0]
			if b := timeline.Bucket(k); b != nil {
				if err := b.ForEach(func(ek, ev []byte) error {
					if types != nil && !slices.Contains(types, playbook.EventType(eventType(ev))) {
						return nil
					}
					var e playbook.Event
					if err := json.Unmarshal(ev, &e); err != nil {
						return fmt.Errorf("store: decode event %x/%x: %w", k, ek, err)
					}
					if types == nil || slices.Contains(types, e.Type) {
						evs = append(evs, e)
					}
					return nil
				}); err != nil {
					return err
				}
			}
			return fn(&inc, slices.Clone(evs))
		})
	})
}

var typeKey = []byte(`"type":"`)

// eventType reads an encoded event's type without decoding it: the first
// "type" key (Event's fields are written in order, seq before type, and
// the type is a plain identifier). It is only a pre-filter: a match is
// decoded and checked again.
func eventType(v []byte) string {
	i := bytes.Index(v, typeKey)
	if i < 0 {
		return ""
	}
	rest := v[i+len(typeKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}
