package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/pgtest"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/playbook/storetest"
)

func TestSignalContract(t *testing.T) {
	db := open(t, pgtest.DSN(t))
	defer db.Close()
	storetest.SignalContract(t, db)
}

// TestSignalsAcrossReplicas has two replicas (two pools on one database)
// record alerts of one service while both also update its group (as
// offers and assessments do): every alert and every group update is kept,
// none overwritten by a transaction that read the group before it.
func TestSignalsAcrossReplicas(t *testing.T) {
	a, b := twoReplicas(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)
	st, err := a.UpdateService(ctx, "checkout", func(st *playbook.ServiceSignals) error {
		st.Groups = append(st.Groups, playbook.SignalGroup{Service: "checkout", Start: t0})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	id := st.Groups[0].ID
	const each = 20
	var wg sync.WaitGroup
	errs := make(chan error, 4*each)
	for r, db := range []*DB{a, b} {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("r%d-%d", r, i)
				_, err := db.UpdateService(ctx, "checkout", func(st *playbook.ServiceSignals) error {
					st.Groups[0].Signals = append(st.Groups[0].Signals, playbook.Signal{Key: key, StartsAt: t0})
					st.Groups[0].Version++
					return nil
				})
				errs <- err
			}
		})
		wg.Go(func() {
			for range each {
				_, err := db.UpdateGroup(ctx, id, func(g *playbook.SignalGroup) error {
					g.Assessed++
					return nil
				})
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	g, err := b.Group(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Signals) != 2*each || g.Version != 2*each || g.Assessed != 2*each {
		t.Fatalf("group has %d signals, version %d, %d group updates; want %d, %d, %d (an update was lost)",
			len(g.Signals), g.Version, g.Assessed, 2*each, 2*each, 2*each)
	}
	if _, err := a.UpdateGroup(ctx, 999, func(*playbook.SignalGroup) error { return nil }); playbook.ErrorCode(err) != playbook.CodeNotFound {
		t.Errorf("UpdateGroup(999) = %v, want not found", err)
	}
}
