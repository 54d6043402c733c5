package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonhq/klaxon/playbook"
)

// The deploy log: one record per deployment, and an index by creation time.
// The buckets are made on first write, so older files need no migration.
var (
	bucketDeploys   = []byte("deploys")    // playbook.DeployKey -> DeployRecord JSON
	bucketDeploysAt = []byte("deploys_at") // created (unix ns, 8 bytes BE) + DeployKey -> nothing
)

var _ playbook.DeployLog = (*DB)(nil)

func deployAtKey(at time.Time, key string) []byte {
	b := make([]byte, 8, 8+len(key))
	binary.BigEndian.PutUint64(b, uint64(at.UnixNano()))
	return append(b, key...)
}

// SaveDeploy implements playbook.DeployLog.
func (s *DB) SaveDeploy(ctx context.Context, key, repo string, id int64, fn func(*playbook.DeployRecord, bool) error) (playbook.DeployRecord, bool, error) {
	if err := ctx.Err(); err != nil {
		return playbook.DeployRecord{}, false, err
	}
	dk := []byte(playbook.DeployKey(repo, id))
	var (
		rec     playbook.DeployRecord
		applied bool
	)
	// A save without a key comes from a lookup, which saves its records
	// side by side: bbolt's Batch writes them in one transaction (one disk
	// sync instead of one each). Batch may run the function again, so it
	// starts from nothing each time. Other saves are group-committed
	// (commit.go); an error before the first Put refuses: the two buckets,
	// created empty, are all it may leave behind.
	update := s.update
	if key == "" {
		update = s.db.Batch
	}
	err := update(func(tx *bolt.Tx) error {
		rec, applied = playbook.DeployRecord{}, false
		b, err := tx.CreateBucketIfNotExists(bucketDeploys)
		if err != nil {
			return err
		}
		idx, err := tx.CreateBucketIfNotExists(bucketDeploysAt)
		if err != nil {
			return err
		}
		var found bool
		var old time.Time
		if v := b.Get(dk); v != nil {
			if err := json.Unmarshal(v, &rec); err != nil {
				return refuse(fmt.Errorf("store: decode deploy %s: %w", dk, err))
			}
			found, old = true, rec.At
		}
		keys := tx.Bucket(bucketKeys)
		if key != "" && keys.Get([]byte(key)) != nil {
			return nil
		}
		if err := fn(&rec, found); err != nil {
			return refuse(err)
		}
		rec.Repo, rec.ID = repo, id
		v, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if err := b.Put(dk, v); err != nil {
			return err
		}
		if found && !old.Equal(rec.At) {
			if err := idx.Delete(deployAtKey(old, string(dk))); err != nil {
				return err
			}
		}
		if err := idx.Put(deployAtKey(rec.At, string(dk)), nil); err != nil {
			return err
		}
		applied = true
		if key == "" {
			return nil
		}
		kr, _ := json.Marshal(keyRecord{At: time.Now().UTC()})
		return keys.Put([]byte(key), kr)
	})
	if r, ok := errors.AsType[refused](err); ok {
		err = r.err // from Batch, which returns the refusal as it is
	}
	if err != nil {
		return playbook.DeployRecord{}, false, err
	}
	return rec, applied, nil
}

// DeploysSince implements playbook.DeployLog.
func (s *DB) DeploysSince(ctx context.Context, since time.Time) ([]playbook.DeployRecord, error) {
	var out []playbook.DeployRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		b, idx := tx.Bucket(bucketDeploys), tx.Bucket(bucketDeploysAt)
		if b == nil || idx == nil {
			return nil
		}
		c := idx.Cursor()
		start := deployAtKey(since, "")
		if since.UnixNano() < 0 || since.IsZero() {
			start = nil
		}
		var k []byte
		if start == nil {
			k, _ = c.First()
		} else {
			k, _ = c.Seek(start)
		}
		for ; k != nil; k, _ = c.Next() {
			if len(k) < 8 {
				continue
			}
			v := b.Get(bytes.Clone(k[8:]))
			if v == nil {
				continue
			}
			var rec playbook.DeployRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("store: decode deploy %s: %w", k[8:], err)
			}
			out = append(out, rec)
		}
		return nil
	})
	return out, err
}
