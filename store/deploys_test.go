package store

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/playbook/storetest"
)

func TestDeployLogContract(t *testing.T) {
	storetest.RunDeployLog(t, func(t *testing.T) (playbook.Store, func() playbook.Store) {
		path := filepath.Join(t.TempDir(), "klaxon.db")
		db, err := Open(path, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		cur := db
		t.Cleanup(func() { cur.Close() })
		return db, func() playbook.Store {
			if err := cur.Close(); err != nil {
				t.Fatal(err)
			}
			next, err := Open(path, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			cur = next
			return next
		}
	})
}
