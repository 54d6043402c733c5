package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// Signals is an in-memory playbook.SignalStore; values are deep-copied
// through JSON, as with a real store.
type Signals struct {
	mu       sync.Mutex
	seq      int64
	groups   map[int64][]byte
	services map[string][]byte
}

var _ playbook.SignalStore = (*Signals)(nil)

// NewSignals returns an empty signal store.
func NewSignals() *Signals {
	return &Signals{groups: map[int64][]byte{}, services: map[string][]byte{}}
}

type memIndex struct {
	Live     []int64 `json:"live"`
	Incident int64   `json:"incident,omitempty"`
}

func (m *Signals) get(id int64) (playbook.SignalGroup, error) {
	var g playbook.SignalGroup
	v, ok := m.groups[id]
	if !ok {
		return g, playbook.ErrNotFound
	}
	err := json.Unmarshal(v, &g)
	return g, err
}

func (m *Signals) put(g *playbook.SignalGroup) error {
	if g.ID == 0 {
		m.seq++
		g.ID = m.seq
	}
	v, err := json.Marshal(g)
	if err == nil {
		m.groups[g.ID] = v
	}
	return err
}

// UpdateService implements playbook.SignalStore.
func (m *Signals) UpdateService(_ context.Context, service string, fn func(*playbook.ServiceSignals) error) (playbook.ServiceSignals, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var idx memIndex
	if v, ok := m.services[service]; ok {
		if err := json.Unmarshal(v, &idx); err != nil {
			return playbook.ServiceSignals{}, err
		}
	}
	st := playbook.ServiceSignals{Service: service, Incident: idx.Incident}
	for _, id := range idx.Live {
		g, err := m.get(id)
		if err != nil {
			return playbook.ServiceSignals{}, err
		}
		st.Groups = append(st.Groups, g)
	}
	if err := fn(&st); err != nil {
		return st, err
	}
	// Like a transaction: build everything, then commit.
	saved := make(map[int64][]byte, len(m.groups))
	for k, v := range m.groups {
		saved[k] = v
	}
	seq := m.seq
	idx = memIndex{Incident: st.Incident, Live: []int64{}}
	for _, gs := range [][]playbook.SignalGroup{st.Groups, st.Retired} {
		for i := range gs {
			if err := m.put(&gs[i]); err != nil {
				m.groups, m.seq = saved, seq
				return st, err
			}
		}
	}
	for _, g := range st.Groups {
		idx.Live = append(idx.Live, g.ID)
	}
	v, _ := json.Marshal(idx)
	m.services[service] = v
	return st, nil
}

// Group implements playbook.SignalStore.
func (m *Signals) Group(_ context.Context, id int64) (playbook.SignalGroup, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.get(id)
}

// UpdateGroup implements playbook.SignalStore.
func (m *Signals) UpdateGroup(_ context.Context, id int64, fn func(*playbook.SignalGroup) error) (playbook.SignalGroup, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, err := m.get(id)
	if err != nil {
		return g, err
	}
	if err := fn(&g); err != nil {
		return g, err
	}
	g.ID = id
	return g, m.put(&g)
}

// Groups implements playbook.SignalStore.
func (m *Signals) Groups(_ context.Context, keep func(*playbook.SignalGroup) bool, limit int) ([]playbook.SignalGroup, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]int64, 0, len(m.groups))
	for id := range m.groups {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	slices.Reverse(ids)
	var out []playbook.SignalGroup
	for _, id := range ids {
		g, err := m.get(id)
		if err != nil {
			return nil, err
		}
		if keep(&g) {
			out = append(out, g)
			if limit > 0 && len(out) >= limit {
				break
			}
		}
	}
	return out, nil
}

// SignalContract checks a playbook.SignalStore: IDs are given to new
// groups, live groups come back loaded, retired ones are kept but not
// loaded, an error from fn writes nothing, and Groups lists newest first.
func SignalContract(t *testing.T, s playbook.SignalStore) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)
	sig := func(key string) playbook.Signal {
		return playbook.Signal{Key: key, Name: key, Kind: playbook.KindErrorRate, StartsAt: t0, Received: t0}
	}
	st, err := s.UpdateService(ctx, "checkout", func(st *playbook.ServiceSignals) error {
		if len(st.Groups) != 0 || st.Incident != 0 {
			t.Errorf("fresh service state = %+v, want empty", st)
		}
		st.Groups = append(st.Groups, playbook.SignalGroup{Service: "checkout", Start: t0, Signals: []playbook.Signal{sig("a")}})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Groups) != 1 || st.Groups[0].ID == 0 {
		t.Fatalf("stored groups = %+v, want one with an ID", st.Groups)
	}
	id := st.Groups[0].ID
	if _, err := s.UpdateService(ctx, "checkout", func(st *playbook.ServiceSignals) error {
		st.Incident = 7
		return playbook.ErrNotFound // any error: nothing written
	}); err == nil {
		t.Fatal("an error from fn was not returned")
	}
	st, err = s.UpdateService(ctx, "checkout", func(st *playbook.ServiceSignals) error {
		if st.Incident != 0 {
			t.Errorf("a failed update was written: incident %d", st.Incident)
		}
		if len(st.Groups) != 1 || st.Groups[0].ID != id || st.Groups[0].Signals[0].Key != "a" {
			t.Errorf("live groups = %+v, want group %d with signal a", st.Groups, id)
		}
		st.Retired, st.Groups = st.Groups, nil
		st.Groups = append(st.Groups, playbook.SignalGroup{Service: "checkout", Start: t0, Signals: []playbook.Signal{sig("b")}})
		st.Incident = 3
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	second := st.Groups[0].ID
	if second == id {
		t.Fatalf("a new group reused ID %d", id)
	}
	st, _ = s.UpdateService(ctx, "checkout", func(st *playbook.ServiceSignals) error { return nil })
	if len(st.Groups) != 1 || st.Groups[0].ID != second || st.Incident != 3 {
		t.Errorf("after retiring: %+v, want only group %d and incident 3", st, second)
	}
	g, err := s.UpdateGroup(ctx, id, func(g *playbook.SignalGroup) error { g.Incident = 9; return nil })
	if err != nil || g.Incident != 9 {
		t.Fatalf("UpdateGroup = %+v, %v", g, err)
	}
	if g, err := s.Group(ctx, id); err != nil || g.Incident != 9 || len(g.Signals) != 1 {
		t.Errorf("Group(%d) = %+v, %v", id, g, err)
	}
	if _, err := s.Group(ctx, 999); playbook.ErrorCode(err) != playbook.CodeNotFound {
		t.Errorf("Group(999) error = %v, want not found", err)
	}
	other, err := s.UpdateService(ctx, "", func(st *playbook.ServiceSignals) error {
		st.Groups = append(st.Groups, playbook.SignalGroup{Start: t0, Signals: []playbook.Signal{sig("c")}})
		return nil
	})
	if err != nil {
		t.Fatalf("unrouted alerts (service \"\"): %v", err)
	}
	all, err := s.Groups(ctx, func(*playbook.SignalGroup) bool { return true }, 0)
	if err != nil || len(all) != 3 || all[0].ID != other.Groups[0].ID || all[2].ID != id {
		t.Errorf("Groups = %d groups (%v), want 3, newest first", len(all), err)
	}
	two, _ := s.Groups(ctx, func(*playbook.SignalGroup) bool { return true }, 2)
	if len(two) != 2 {
		t.Errorf("Groups with limit 2 = %d groups", len(two))
	}
}
