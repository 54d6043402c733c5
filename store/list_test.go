package store

import (
	"context"
	"fmt"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonhq/klaxon/playbook"
)

// List reads in chunks of listChunk incidents: across chunk boundaries it
// returns every kept incident once, in number order.
func TestListAcrossChunks(t *testing.T) {
	db, _ := openTemp(t)
	total := 2*listChunk + 1
	if err := db.db.Update(func(tx *bolt.Tx) error {
		for i := range total {
			inc := playbook.Incident{Number: int64(i + 1), Title: fmt.Sprint(i + 1), Status: playbook.StatusInvestigating}
			if i%3 == 0 {
				inc.Status = playbook.StatusResolved
			}
			if err := putIncident(tx, &inc, "", inc.WakeAt()); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	open, err := db.List(context.Background(), func(i *playbook.Incident) bool { return i.Status.Open() })
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for n := 1; n <= total; n++ {
		if (n-1)%3 != 0 {
			want = append(want, int64(n))
		}
	}
	if len(open) != len(want) {
		t.Fatalf("List kept %d of %d incidents, want %d", len(open), total, len(want))
	}
	for i, inc := range open {
		if inc.Number != want[i] {
			t.Fatalf("List's incident %d is #%d, want #%d (in number order, each once)", i, inc.Number, want[i])
		}
	}
	all, err := db.List(context.Background(), nil)
	if err != nil || len(all) != total {
		t.Fatalf("List(nil) returned %d incidents (%v), want all %d", len(all), err, total)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.List(ctx, nil); err == nil {
		t.Error("List went on after its context ended")
	}
}
