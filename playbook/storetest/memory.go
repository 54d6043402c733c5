// Package storetest holds the contract every playbook.Store must pass, and an
// in-memory Store that passes it, for tests of the domain. Only tests (of
// playbook, store, store/postgres and the adapters) import it.
package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// Memory is an in-memory playbook.Store. Values are deep-copied through JSON
// so callers cannot alias stored state, as with a real store.
type Memory struct {
	mu        sync.Mutex
	seq       int64
	incidents map[int64][]byte
	timeline  map[int64][]playbook.Event
	keys      map[string]int64
	keysAt    map[string]time.Time // when each key was recorded
	deploys   map[string][]byte    // the DeployLog, by DeployKey
	// FailNext, when set, makes the next mutation fail with this error.
	FailNext error
}

var _ playbook.Store = (*Memory)(nil)

// NewMemory returns an empty store.
func NewMemory() *Memory {
	return &Memory{incidents: map[int64][]byte{}, timeline: map[int64][]playbook.Event{}, keys: map[string]int64{}}
}

func (m *Memory) fail() error {
	err := m.FailNext
	m.FailNext = nil
	return err
}

func (m *Memory) get(n int64) (playbook.Incident, error) {
	var inc playbook.Incident
	v, ok := m.incidents[n]
	if !ok {
		return inc, playbook.ErrNotFound
	}
	err := json.Unmarshal(v, &inc)
	return inc, err
}

func (m *Memory) put(inc playbook.Incident, evs []playbook.Event) error {
	v, err := json.Marshal(inc)
	if err != nil {
		return err
	}
	m.incidents[inc.Number] = v
	for _, ev := range evs {
		ev.Seq = uint64(len(m.timeline[inc.Number]) + 1)
		m.timeline[inc.Number] = append(m.timeline[inc.Number], ev)
	}
	return nil
}

// Create implements playbook.Store.
func (m *Memory) Create(_ context.Context, key string, build func(int64) (playbook.Incident, []playbook.Event)) (playbook.Incident, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail(); err != nil {
		return playbook.Incident{}, false, err
	}
	if n, ok := m.keys[key]; ok {
		inc, err := m.get(n)
		return inc, false, err
	}
	m.keyAt(key)
	m.seq++
	inc, evs := build(m.seq)
	inc.Number = m.seq
	inc.Version = 1
	if err := m.put(inc, evs); err != nil {
		return playbook.Incident{}, false, err
	}
	m.keys[key] = inc.Number
	return inc, true, nil
}

// Get implements playbook.Store.
func (m *Memory) Get(_ context.Context, n int64) (playbook.Incident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.get(n)
}

// ByChannel implements playbook.Store.
func (m *Memory) ByChannel(_ context.Context, id string) (playbook.Incident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for n := range m.incidents {
		inc, err := m.get(n)
		if err == nil && inc.Channel.ID == id && id != "" {
			return inc, nil
		}
	}
	return playbook.Incident{}, playbook.ErrNotFound
}

// Update implements playbook.Store.
func (m *Memory) Update(_ context.Context, n int64, fn func(*playbook.Incident) ([]playbook.Event, error)) (playbook.Incident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail(); err != nil {
		return playbook.Incident{}, err
	}
	inc, err := m.get(n)
	if err != nil {
		return inc, err
	}
	evs, err := fn(&inc)
	if err != nil {
		return playbook.Incident{}, err
	}
	inc.Number = n
	inc.Version++
	return inc, m.put(inc, evs)
}

// Timeline implements playbook.Store.
func (m *Memory) Timeline(_ context.Context, n int64) ([]playbook.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.incidents[n]; !ok {
		return nil, playbook.ErrNotFound
	}
	return append([]playbook.Event(nil), m.timeline[n]...), nil
}

// List implements playbook.Store.
func (m *Memory) List(_ context.Context, keep func(*playbook.Incident) bool) ([]playbook.Incident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []playbook.Incident
	for n := int64(1); n <= m.seq; n++ {
		inc, err := m.get(n)
		if err != nil {
			continue
		}
		if keep == nil || keep(&inc) {
			out = append(out, inc)
		}
	}
	return out, nil
}

// Apply implements playbook.Store.
func (m *Memory) Apply(_ context.Context, n int64, key string, fn func(*playbook.Incident) ([]playbook.Event, error)) (playbook.Incident, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail(); err != nil {
		return playbook.Incident{}, false, err
	}
	inc, err := m.get(n)
	if err != nil {
		return inc, false, err
	}
	if _, ok := m.keys[key]; ok {
		return inc, false, nil
	}
	evs, err := fn(&inc)
	if err != nil {
		return playbook.Incident{}, false, err
	}
	inc.Number = n
	inc.Version++
	if err := m.put(inc, evs); err != nil {
		return playbook.Incident{}, false, err
	}
	m.keys[key] = n
	m.keyAt(key)
	return inc, true, nil
}

func (m *Memory) keyAt(key string) {
	if m.keysAt == nil {
		m.keysAt = map[string]time.Time{}
	}
	m.keysAt[key] = time.Now()
}

// PruneKeys implements playbook.Store.
func (m *Memory) PruneKeys(_ context.Context, before time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	pruned := 0
	for k, at := range m.keysAt {
		if at.Before(before) {
			delete(m.keys, k)
			delete(m.keysAt, k)
			pruned++
		}
	}
	return pruned, nil
}

// Due implements playbook.Store. All changes are kept only if fn succeeds
// for every due incident, like one transaction.
func (m *Memory) Due(_ context.Context, now time.Time, fn func(*playbook.Incident) ([]playbook.Event, error)) ([]playbook.Incident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail(); err != nil {
		return nil, err
	}
	type change struct {
		inc playbook.Incident
		evs []playbook.Event
	}
	var due []playbook.Incident
	for n := int64(1); n <= m.seq; n++ {
		inc, err := m.get(n)
		if err != nil {
			continue
		}
		if w := inc.WakeAt(); !w.IsZero() && !w.After(now) {
			due = append(due, inc)
		}
	}
	sort.SliceStable(due, func(i, j int) bool { return due[i].WakeAt().Before(due[j].WakeAt()) })
	var changes []change
	for _, inc := range due {
		evs, err := fn(&inc)
		if err != nil {
			return nil, err
		}
		inc.Version++
		changes = append(changes, change{inc, evs})
	}
	out := make([]playbook.Incident, 0, len(changes))
	for _, c := range changes {
		if err := m.put(c.inc, c.evs); err != nil {
			return nil, err
		}
		out = append(out, c.inc)
	}
	return out, nil
}

// NextWake implements playbook.Store.
func (m *Memory) NextWake(context.Context) (time.Time, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var w time.Time
	for n := int64(1); n <= m.seq; n++ {
		inc, err := m.get(n)
		if err != nil {
			continue
		}
		if t := inc.WakeAt(); !t.IsZero() && (w.IsZero() || t.Before(w)) {
			w = t
		}
	}
	return w, !w.IsZero(), nil
}

var _ playbook.History = (*Memory)(nil)

// Scan implements playbook.History.
func (m *Memory) Scan(ctx context.Context, types []playbook.EventType, fn func(*playbook.Incident, []playbook.Event) error) error {
	incs, err := m.List(ctx, nil)
	if err != nil {
		return err
	}
	for i := range incs {
		m.mu.Lock()
		var evs []playbook.Event
		for _, e := range m.timeline[incs[i].Number] {
			if types == nil || slices.Contains(types, e.Type) {
				evs = append(evs, e)
			}
		}
		m.mu.Unlock()
		if err := fn(&incs[i], evs); err != nil {
			return err
		}
	}
	return nil
}
