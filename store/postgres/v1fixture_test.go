package postgres

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/pgtest"
	"github.com/klaxonhq/klaxon/playbook/storetest"
	"github.com/klaxonhq/klaxon/store"
)

// A bbolt store written before timeline events were typed, copied into
// PostgreSQL as `klaxon migrate` copies it (the records as they are),
// renders every post-mortem outline and the figures as that version did.
func TestStoreWrittenByV1RendersTheSame(t *testing.T) {
	dsn := pgtest.DSN(t)
	dir := filepath.Join("..", "testdata", "v1")
	raw, err := os.ReadFile(filepath.Join(dir, "klaxon.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "klaxon.db")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := store.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst := open(t, dsn)
	defer dst.Close()
	ctx := context.Background()
	if err := src.Incidents(func(n int64, inc []byte, events [][]byte) error {
		_, err := dst.ImportIncident(ctx, n, inc, events)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := src.Deploys(func(rec []byte) error { return dst.ImportDeploy(ctx, rec) }); err != nil {
		t.Fatal(err)
	}
	storetest.CompareV1(t, dir, storetest.RenderV1(t, dst, dst), false)
}
