package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Incidents calls fn with every incident as stored (its JSON) and its
// events' JSON in order, by number, in one read transaction: what
// `klaxon migrate` copies. The slices are valid only during the call.
func (s *DB) Incidents(fn func(number int64, incident []byte, events [][]byte) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		tl := tx.Bucket(bucketTimeline)
		return tx.Bucket(bucketIncidents).ForEach(func(k, v []byte) error {
			var evs [][]byte
			if b := tl.Bucket(k); b != nil {
				if err := b.ForEach(func(_, ev []byte) error { evs = append(evs, ev); return nil }); err != nil {
					return err
				}
			}
			return fn(int64(binary.BigEndian.Uint64(k)), v, evs)
		})
	})
}

// Keys calls fn with every idempotency key, the incident it belongs to (0
// for none) and when it was recorded.
func (s *DB) Keys(fn func(key string, number int64, at time.Time) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKeys).ForEach(func(k, v []byte) error {
			var rec keyRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("store: decode key %q: %w", k, err)
			}
			return fn(string(k), rec.Number, rec.At)
		})
	})
}

// LastNumber is the last incident number handed out.
func (s *DB) LastNumber() (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		n = int64(tx.Bucket(bucketIncidents).Sequence())
		return nil
	})
	return n, err
}

// Backup writes a consistent copy of the whole file to w from one read
// transaction: writers go on meanwhile (bbolt readers never block them) and
// the copy is the store as of the transaction's start, openable as a store.
// size, when not nil, is told the copy's length before it is written.
func (s *DB) Backup(w io.Writer, size func(int64)) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		if size != nil {
			size(tx.Size())
		}
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// Deploys calls fn with every deploy record of the deploy log as stored
// (its JSON), for `klaxon migrate`.
func (s *DB) Deploys(fn func(record []byte) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketDeploys)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error { return fn(v) })
	})
}
