package store_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/playbook/storetest"
	"github.com/klaxonhq/klaxon/store"
)

var updateV1 = flag.Bool("update-v1", false, "rewrite testdata/v1's goldens from the current code")

// OpenV1 opens a copy of testdata/v1/klaxon.db, a store written by the
// version before timeline events were typed (see testdata/v1/gen.go): the
// demo's SEV1 as `klaxon demo --keep` stored it, a private incident with
// every other event type and hostile text, and a quiet open SEV3.
func openV1(t *testing.T) *store.DB {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "v1", "klaxon.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "klaxon.db")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A store written before timeline events were typed still renders every
// incident's post-mortem outline, and the figures, as that version did.
func TestStoreWrittenByV1RendersTheSame(t *testing.T) {
	db := openV1(t)
	storetest.CompareV1(t, filepath.Join("testdata", "v1"), storetest.RenderV1(t, db, db), *updateV1)
}

// Every event of the v1 store decodes to a typed payload (but the one of a
// type this version does not know), and writing it in the current form and
// reading it back gives the same event, with no string map left.
func TestV1EventsRoundTripTyped(t *testing.T) {
	db := openV1(t)
	types := map[playbook.EventType]bool{}
	err := db.Incidents(func(n int64, _ []byte, events [][]byte) error {
		for _, raw := range events {
			var e playbook.Event
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatalf("incident %d: %v", n, err)
			}
			types[e.Type] = true
			if _, unknown := e.Payload.(playbook.UnknownPayload); unknown != (e.Type == "from_the_future") {
				t.Errorf("incident %d: %s decoded as %#v", n, e.Type, e.Payload)
			}
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			var back playbook.Event
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if !reflect.DeepEqual(back, e) {
				t.Errorf("round trip of %s:\n got %#v\nwant %#v", raw, back, e)
			}
			if e.Payload != nil && e.Type != "from_the_future" && (!json.Valid(b) || containsKey(b, "data")) {
				t.Errorf("%s is written with its old string map", b)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(types) < 40 {
		t.Errorf("the fixture has %d event types, want every stored one", len(types))
	}
}

func containsKey(b []byte, key string) bool {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	_, ok := m[key]
	return ok
}
