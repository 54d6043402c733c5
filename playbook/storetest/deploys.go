package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

var _ playbook.DeployLog = (*Memory)(nil)

// SaveDeploy implements playbook.DeployLog.
func (m *Memory) SaveDeploy(_ context.Context, key, repo string, id int64, fn func(*playbook.DeployRecord, bool) error) (playbook.DeployRecord, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail(); err != nil {
		return playbook.DeployRecord{}, false, err
	}
	if m.deploys == nil {
		m.deploys = map[string][]byte{}
	}
	dk := playbook.DeployKey(repo, id)
	var rec playbook.DeployRecord
	v, found := m.deploys[dk]
	if found {
		if err := json.Unmarshal(v, &rec); err != nil {
			return rec, false, err
		}
	}
	if _, seen := m.keys[key]; key != "" && seen {
		return rec, false, nil
	}
	if err := fn(&rec, found); err != nil {
		return playbook.DeployRecord{}, false, err
	}
	rec.Repo, rec.ID = repo, id
	v, err := json.Marshal(rec)
	if err != nil {
		return playbook.DeployRecord{}, false, err
	}
	m.deploys[dk] = v
	if key != "" {
		m.keys[key] = 0
	}
	return rec, true, nil
}

// DeploysSince implements playbook.DeployLog.
func (m *Memory) DeploysSince(_ context.Context, since time.Time) ([]playbook.DeployRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []playbook.DeployRecord
	for _, v := range m.deploys {
		var rec playbook.DeployRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return nil, err
		}
		if !rec.At.Before(since) {
			out = append(out, rec)
		}
	}
	slices.SortStableFunc(out, func(a, b playbook.DeployRecord) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return compareStrings(a.Key(), b.Key())
	})
	return out, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
