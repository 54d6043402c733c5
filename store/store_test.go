package store

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/playbook/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (playbook.Store, func() playbook.Store) {
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

// TestLockedByAnotherProcess opens the file from a child process (bbolt's
// flock is per open file description, so a second Open in this process
// would also block, but a real second Klaxon is another process).
func TestLockedByAnotherProcess(t *testing.T) {
	if os.Getenv("KLAXON_STORE_HOLDER") != "" {
		db, err := Open(os.Getenv("KLAXON_STORE_HOLDER"), time.Second)
		if err != nil {
			os.Exit(3)
		}
		defer db.Close()
		os.Stdout.WriteString("holding\n")
		// Hold the lock until the parent closes our stdin.
		buf := make([]byte, 1)
		os.Stdin.Read(buf)
		return
	}
	path := filepath.Join(t.TempDir(), "klaxon.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockedByAnotherProcess$")
	cmd.Env = append(os.Environ(), "KLAXON_STORE_HOLDER="+path)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	buf := make([]byte, 8)
	if _, err := stdout.Read(buf); err != nil || !strings.HasPrefix(string(buf), "holding") {
		t.Fatalf("holder did not start: %q %v", buf, err)
	}
	_, err := Open(path, 200*time.Millisecond)
	if err == nil {
		t.Fatal("opened a file another process holds")
	}
	if !strings.Contains(err.Error(), "another Klaxon is using klaxon.db") {
		t.Fatalf("error %q does not say another Klaxon holds the file", err)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "klaxon.db")
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	db.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, u64(SchemaVersion+1)) })
	db.Close()
	if _, err := Open(path, time.Second); err == nil || !strings.Contains(err.Error(), "upgrade Klaxon") {
		t.Fatalf("Open of a newer schema = %v, want a refusal", err)
	}
}

// TestMigratesVersion1 opens a store written before the wake index existed:
// the index is built from the incidents, so no deadline is lost on upgrade.
func TestMigratesVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "klaxon.db")
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	due := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	db.Create(context.Background(), "k", func(n int64) (playbook.Incident, []playbook.Event) {
		return playbook.Incident{Title: "t", Severity: playbook.SEV1, Status: playbook.StatusInvestigating,
			Timers: playbook.Timers{NextNudge: due}}, nil
	})
	// Make it look like version 1: no wake index, schema 1.
	db.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketWake); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySchema, u64(1))
	})
	db.Close()

	db, err = Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	next, ok, err := db.NextWake(context.Background())
	if err != nil || !ok || !next.Equal(due) {
		t.Fatalf("after migration NextWake = %v, %v, %v; want %v", next, ok, err, due)
	}
}

// TestDueDropsStaleIndexEntries: an index entry whose incident is gone must
// not block the others (or make the scheduler spin on it).
func TestDueDropsStaleIndexEntries(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "klaxon.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	inc, _, _ := db.Create(ctx, "k", func(int64) (playbook.Incident, []playbook.Event) {
		return playbook.Incident{Title: "t", Status: playbook.StatusInvestigating, Timers: playbook.Timers{NextNudge: at}}, nil
	})
	db.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketWake).Put(wakeKey(at.Add(-time.Minute), 999), nil) })
	got, err := db.Due(ctx, at, func(i *playbook.Incident) ([]playbook.Event, error) {
		i.Timers.NextNudge = time.Time{}
		return nil, nil
	})
	if err != nil || len(got) != 1 || got[0].Number != inc.Number {
		t.Fatalf("Due = %v, %v; want the real incident despite the stale entry", got, err)
	}
	if _, ok, _ := db.NextWake(ctx); ok {
		t.Fatal("the stale entry is still indexed")
	}
}

func TestSignalContract(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "k.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.SignalContract(t, db)
}
