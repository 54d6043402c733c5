package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonhq/klaxon/playbook"
)

// Detection's buckets. They are created by the first write, so a store file
// written before alert intake existed needs no migration.
var (
	bucketSignalGroups   = []byte("signal_groups")   // group ID (8 bytes BE) -> SignalGroup JSON
	bucketSignalServices = []byte("signal_services") // "svc:" + service name ("svc:" for unrouted) -> serviceIndex JSON
)

// serviceIndex is a service's detection state without its groups' content.
type serviceIndex struct {
	Live     []int64 `json:"live"`
	Incident int64   `json:"incident,omitempty"`
}

var _ playbook.SignalStore = (*DB)(nil)

// serviceKey prefixes the name: bbolt refuses an empty key, and unrouted
// alerts are service "".
func serviceKey(service string) []byte { return []byte("svc:" + service) }

// signalBuckets returns detection's buckets, creating them on first use.
func signalBuckets(tx *bolt.Tx) (groups, services *bolt.Bucket, err error) {
	if groups, err = tx.CreateBucketIfNotExists(bucketSignalGroups); err != nil {
		return nil, nil, err
	}
	services, err = tx.CreateBucketIfNotExists(bucketSignalServices)
	return groups, services, err
}

func getGroup(b *bolt.Bucket, id int64) (playbook.SignalGroup, error) {
	var g playbook.SignalGroup
	if b == nil {
		return g, playbook.ErrNotFound
	}
	v := b.Get(numKey(id))
	if v == nil {
		return g, playbook.ErrNotFound
	}
	if err := json.Unmarshal(v, &g); err != nil {
		return g, fmt.Errorf("store: signal group %d: %w", id, err)
	}
	return g, nil
}

func putGroup(b *bolt.Bucket, g *playbook.SignalGroup) error {
	if g.ID == 0 {
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		g.ID = int64(seq)
	}
	v, err := json.Marshal(g)
	if err != nil {
		return err
	}
	return b.Put(numKey(g.ID), v)
}

// UpdateService implements playbook.SignalStore. An error from fn (the
// playbook uses one to only read) aborts the transaction: nothing is
// written. Errors before the first Put refuse (commit.go): the two signal
// buckets, created empty, are all they may leave behind.
func (s *DB) UpdateService(ctx context.Context, service string, fn func(*playbook.ServiceSignals) error) (playbook.ServiceSignals, error) {
	if err := ctx.Err(); err != nil {
		return playbook.ServiceSignals{}, err
	}
	var st playbook.ServiceSignals
	err := s.update(func(tx *bolt.Tx) error {
		groups, services, err := signalBuckets(tx)
		if err != nil {
			return err
		}
		var idx serviceIndex
		if v := services.Get(serviceKey(service)); v != nil {
			if err := json.Unmarshal(v, &idx); err != nil {
				return refuse(fmt.Errorf("store: signal state of %q: %w", service, err))
			}
		}
		st = playbook.ServiceSignals{Service: service, Incident: idx.Incident}
		for _, id := range idx.Live {
			g, err := getGroup(groups, id)
			if errors.Is(err, playbook.ErrNotFound) {
				continue
			}
			if err != nil {
				return refuse(err)
			}
			st.Groups = append(st.Groups, g)
		}
		if err := fn(&st); err != nil {
			return refuse(err)
		}
		idx = serviceIndex{Incident: st.Incident, Live: []int64{}}
		for i := range st.Groups {
			if err := putGroup(groups, &st.Groups[i]); err != nil {
				return err
			}
			idx.Live = append(idx.Live, st.Groups[i].ID)
		}
		for i := range st.Retired {
			if err := putGroup(groups, &st.Retired[i]); err != nil {
				return err
			}
		}
		v, err := json.Marshal(idx)
		if err != nil {
			return err
		}
		return services.Put(serviceKey(service), v)
	})
	return st, err
}

// Group implements playbook.SignalStore.
func (s *DB) Group(ctx context.Context, id int64) (playbook.SignalGroup, error) {
	if err := ctx.Err(); err != nil {
		return playbook.SignalGroup{}, err
	}
	var g playbook.SignalGroup
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		g, err = getGroup(tx.Bucket(bucketSignalGroups), id)
		return err
	})
	return g, err
}

// UpdateGroup implements playbook.SignalStore.
func (s *DB) UpdateGroup(ctx context.Context, id int64, fn func(*playbook.SignalGroup) error) (playbook.SignalGroup, error) {
	if err := ctx.Err(); err != nil {
		return playbook.SignalGroup{}, err
	}
	var g playbook.SignalGroup
	err := s.update(func(tx *bolt.Tx) error {
		groups, _, err := signalBuckets(tx)
		if err != nil {
			return err
		}
		if g, err = getGroup(groups, id); err != nil {
			return refuse(err)
		}
		if err := fn(&g); err != nil {
			return refuse(err)
		}
		g.ID = id
		return putGroup(groups, &g)
	})
	return g, err
}

// Groups implements playbook.SignalStore: newest (highest ID) first.
func (s *DB) Groups(ctx context.Context, keep func(*playbook.SignalGroup) bool, limit int) ([]playbook.SignalGroup, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []playbook.SignalGroup
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSignalGroups)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var g playbook.SignalGroup
			if err := json.Unmarshal(v, &g); err != nil {
				return fmt.Errorf("store: signal group %x: %w", k, err)
			}
			if keep(&g) {
				out = append(out, g)
				if limit > 0 && len(out) >= limit {
					return nil
				}
			}
		}
		return nil
	})
	return out, err
}

// SignalGroups calls fn with each stored signal group, as encoded, in ID
// order (for klaxon migrate).
func (s *DB) SignalGroups(fn func(id int64, data []byte) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSignalGroups)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error { return fn(int64(binary.BigEndian.Uint64(k)), v) })
	})
}

// SignalServices calls fn with each service's detection state: its live
// groups and the incident its alerts go to (for klaxon migrate).
func (s *DB) SignalServices(fn func(service string, live []int64, incident int64) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSignalServices)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var idx serviceIndex
			if err := json.Unmarshal(v, &idx); err != nil {
				return fmt.Errorf("store: signal state of %q: %w", k, err)
			}
			return fn(strings.TrimPrefix(string(k), "svc:"), idx.Live, idx.Incident)
		})
	})
}
