package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonhq/klaxon/playbook"
)

// The figures' digest: beside each incident, the part of it the figures read
// (playbook.FigureView) and its events the figures read (playbook.FigureEvent),
// in a compact binary encoding (digestcodec.go),
// written in the same transaction as the incident and its events. The figures
// then read one small record per incident instead of decoding every incident
// and walking every timeline (10,000 incidents × 50 events: 30 ms instead of
// 300 ms).
var (
	bucketDigest       = []byte("digest")        // number -> FigureView JSON
	bucketDigestEvents = []byte("digest_events") // number + seq (16 bytes BE) -> FigureEvent JSON
)

var _ playbook.FigureSource = (*DB)(nil)

// initDigest creates the digest buckets; a store written before they
// existed gets them built from its incidents and timelines, once.
func initDigest(tx *bolt.Tx) error {
	if tx.Bucket(bucketDigest) != nil && tx.Bucket(bucketDigestEvents) != nil {
		return nil
	}
	for _, name := range [][]byte{bucketDigest, bucketDigestEvents} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("store: create bucket %s: %w", name, err)
		}
	}
	timeline := tx.Bucket(bucketTimeline)
	return tx.Bucket(bucketIncidents).ForEach(func(k, v []byte) error {
		var inc playbook.Incident
		if err := json.Unmarshal(v, &inc); err != nil {
			return fmt.Errorf("store: digest of incident %x: %w", k, err)
		}
		if err := putDigest(tx, &inc); err != nil {
			return err
		}
		b := timeline.Bucket(k)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, ev []byte) error {
			var e playbook.Event
			if err := json.Unmarshal(ev, &e); err != nil {
				return fmt.Errorf("store: digest of incident %x's events: %w", k, err)
			}
			return putDigestEvent(tx, inc.Number, e)
		})
	})
}

// putDigest records inc's figure view. A store file opened by an older
// Klaxon (no digest bucket) is left alone. Most writes (a reminder fired, a
// step recorded) leave the view as it was: then nothing is written, since a
// Put of the same bytes still dirties the page and its parents, and the
// scheduler's pass would write them all out again.
func putDigest(tx *bolt.Tx, inc *playbook.Incident) error {
	b := tx.Bucket(bucketDigest)
	if b == nil {
		return nil
	}
	k, v := numKey(inc.Number), encodeDigest(playbook.FigureView(inc))
	if bytes.Equal(b.Get(k), v) {
		return nil
	}
	return b.Put(k, v)
}

// putDigestEvent records e (already numbered) if the figures read it.
func putDigestEvent(tx *bolt.Tx, n int64, e playbook.Event) error {
	b := tx.Bucket(bucketDigestEvents)
	fe, ok := playbook.FigureEvent(e)
	if b == nil || !ok {
		return nil
	}
	k := make([]byte, 16)
	copy(k, numKey(n))
	copy(k[8:], u64(e.Seq))
	return b.Put(k, encodeDigestEvent(fe))
}

// ScanFigures implements playbook.FigureSource: every incident's figure
// view, with its figure events, in number order, in one read transaction. A
// store without the digest (read-only, written by an older Klaxon) is
// scanned in full instead.
func (s *DB) ScanFigures(ctx context.Context, fn func(*playbook.Incident, []playbook.Event) error) error {
	full := false
	err := s.db.View(func(tx *bolt.Tx) error {
		digest, events := tx.Bucket(bucketDigest), tx.Bucket(bucketDigestEvents)
		if digest == nil || events == nil {
			full = true
			return nil
		}
		ec := events.Cursor()
		ek, ev := ec.First()
		var evs []playbook.Event
		return digest.ForEach(func(k, v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			inc, err := decodeDigest(v)
			if err != nil {
				return fmt.Errorf("store: decode digest %x: %w", k, err)
			}
			evs = evs[:0]
			// Both buckets are sorted by number: skip events of incidents
			// gone from the digest, take this one's.
			for ; ek != nil && string(ek[:8]) < string(k); ek, ev = ec.Next() {
			}
			for ; ek != nil && string(ek[:8]) == string(k); ek, ev = ec.Next() {
				e, err := decodeDigestEvent(ev)
				if err != nil {
					return fmt.Errorf("store: decode digest event %x: %w", ek, err)
				}
				evs = append(evs, e)
			}
			var out []playbook.Event
			if len(evs) > 0 {
				out = append(out, evs...)
			}
			return fn(&inc, out)
		})
	})
	if err != nil || !full {
		return err
	}
	return s.Scan(ctx, playbook.FigureEvents, func(inc *playbook.Incident, evs []playbook.Event) error {
		v := playbook.FigureView(inc)
		return fn(&v, evs)
	})
}
