package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// RunDeployLog is the contract a Store that also keeps the deploy log
// (playbook.DeployLog) must pass: records merged in place, a key recorded
// once, the time index, and (for stores that persist) a heightened watch
// window that survives a restart.
func RunDeployLog(t *testing.T, open Opener) {
	ctx := context.Background()
	deployLog := func(t *testing.T, s playbook.Store) playbook.DeployLog {
		dl, ok := s.(playbook.DeployLog)
		if !ok {
			t.Skipf("%T keeps no deploy log", s)
		}
		return dl
	}
	rec := func(state string, at time.Time) func(*playbook.DeployRecord, bool) error {
		return func(d *playbook.DeployRecord, _ bool) error {
			d.SHA, d.Environment, d.State, d.At = "abc1234def", "production", state, at
			return nil
		}
	}

	t.Run("key recorded once, records merged", func(t *testing.T) {
		s, _ := open(t)
		dl := deployLog(t, s)
		got, applied, err := dl.SaveDeploy(ctx, "gh:delivery-1", "acme/api", 7, rec("pending", t0))
		if err != nil || !applied || got.Repo != "acme/api" || got.ID != 7 || got.State != "pending" {
			t.Fatalf("first save = %+v, %v, %v", got, applied, err)
		}
		got, applied, err = dl.SaveDeploy(ctx, "gh:delivery-1", "acme/api", 7, rec("success", t0))
		if err != nil || applied || got.State != "pending" {
			t.Fatalf("replayed key = %+v, applied %v, %v; want the stored record unchanged", got, applied, err)
		}
		got, applied, err = dl.SaveDeploy(ctx, "gh:delivery-2", "acme/api", 7, func(d *playbook.DeployRecord, found bool) error {
			if !found || d.SHA != "abc1234def" {
				t.Errorf("fn saw found=%v %+v, want the stored record", found, d)
			}
			d.State = "success"
			return nil
		})
		if err != nil || !applied || got.State != "success" {
			t.Fatalf("second delivery = %+v, %v, %v", got, applied, err)
		}
		boom := errors.New("boom")
		if _, _, err := dl.SaveDeploy(ctx, "gh:delivery-3", "acme/api", 7, func(d *playbook.DeployRecord, _ bool) error {
			d.State = "failure"
			return boom
		}); !errors.Is(err, boom) {
			t.Fatalf("fn error = %v, want it returned", err)
		}
		all, err := dl.DeploysSince(ctx, time.Time{})
		if err != nil || len(all) != 1 || all[0].State != "success" {
			t.Fatalf("after a failed fn: %+v, %v; want one record, unchanged", all, err)
		}
		// The key of the failed fn was not recorded.
		if _, applied, _ := dl.SaveDeploy(ctx, "gh:delivery-3", "acme/api", 7, rec("success", t0)); !applied {
			t.Fatal("a key whose fn failed was recorded")
		}
	})

	t.Run("since, oldest first, moved in the index", func(t *testing.T) {
		s, _ := open(t)
		dl := deployLog(t, s)
		for i, at := range []time.Time{t0.Add(2 * time.Hour), t0, t0.Add(time.Hour)} {
			if _, _, err := dl.SaveDeploy(ctx, "", "acme/api", int64(i+1), rec("success", at)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := dl.DeploysSince(ctx, t0.Add(30*time.Minute))
		if err != nil || len(got) != 2 || got[0].ID != 3 || got[1].ID != 1 {
			t.Fatalf("since t0+30m = %+v, %v; want deploys 3 then 1", got, err)
		}
		// A record whose time changes moves in the index.
		if _, _, err := dl.SaveDeploy(ctx, "", "acme/api", 2, rec("success", t0.Add(3*time.Hour))); err != nil {
			t.Fatal(err)
		}
		got, _ = dl.DeploysSince(ctx, t0.Add(30*time.Minute))
		if len(got) != 3 || got[2].ID != 2 {
			t.Fatalf("after moving deploy 2: %+v", got)
		}
	})

	t.Run("saves side by side, one failing", func(t *testing.T) {
		// A lookup saves its records at once (bbolt batches them into one
		// transaction): each is stored as its own function says, and one
		// function's error costs only its own record.
		s, _ := open(t)
		dl := deployLog(t, s)
		boom := errors.New("boom")
		errs := make([]error, 20)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				got, applied, err := dl.SaveDeploy(ctx, "", "acme/api", int64(i+1), func(d *playbook.DeployRecord, found bool) error {
					if found {
						t.Errorf("deploy %d found before its first save", i+1)
					}
					d.SHA, d.State, d.At = fmt.Sprintf("%040x", i+1), "success", t0.Add(time.Duration(i)*time.Minute)
					if i == 7 {
						return boom
					}
					return nil
				})
				errs[i] = err
				if err == nil && (!applied || got.ID != int64(i+1) || got.SHA != fmt.Sprintf("%040x", i+1)) {
					t.Errorf("save %d = %+v, applied %v", i+1, got, applied)
				}
			})
		}
		wg.Wait()
		for i, err := range errs {
			if (i == 7) != errors.Is(err, boom) || i != 7 && err != nil {
				t.Errorf("save %d: %v", i+1, err)
			}
		}
		all, err := dl.DeploysSince(ctx, time.Time{})
		if err != nil || len(all) != 19 {
			t.Fatalf("%d records, %v; want 19 (the failed one not written)", len(all), err)
		}
		for i, d := range all {
			want := int64(i + 1)
			if i >= 7 {
				want++ // deploy 8 failed
			}
			if d.ID != want || d.State != "success" {
				t.Fatalf("record %d = %+v, want deploy %d, oldest first", i, d, want)
			}
		}
	})

	t.Run("watch window survives a restart", func(t *testing.T) {
		s, reopen := open(t)
		if reopen == nil {
			t.Skip("the store does not persist")
		}
		now := t0
		clock := playbook.ClockFunc(func() time.Time { return now })
		services := []playbook.Service{{Name: "api", Repo: "acme/api"}}
		app := playbook.New(playbook.Deps{Store: s, DeployLog: deployLog(t, s), Clock: clock, Services: services, WatchWindow: 5 * time.Minute})
		ev := playbook.DeployEvent{Repo: "acme/api", Deploy: playbook.Deploy{ID: 99, SHA: "f00dfacecafe", Environment: "production", State: "success", At: t0.Add(-3 * time.Minute)}, StatusAt: t0}
		if _, applied, err := app.RecordDeploy(ctx, "gh:d-99", ev); err != nil || !applied {
			t.Fatalf("RecordDeploy = %v, %v", applied, err)
		}
		s = reopen()
		app = playbook.New(playbook.Deps{Store: s, DeployLog: deployLog(t, s), Clock: clock, Services: services, WatchWindow: time.Hour})
		for _, c := range []struct {
			at   time.Duration
			open bool
		}{{-time.Second, false}, {0, true}, {4*time.Minute + 59*time.Second, true}, {5 * time.Minute, false}} {
			d, open, err := app.OpenWindow(ctx, "api", t0.Add(c.at))
			if err != nil || open != c.open || open && d.SHA != "f00dfacecafe" {
				t.Errorf("after restart, window at t0%+v: open=%v (%+v), %v; want open=%v (the stored 5 min, not today's setting)", c.at, open, d, err, c.open)
			}
		}
		// A redelivery after the restart records nothing twice.
		if _, applied, err := app.RecordDeploy(ctx, "gh:d-99", ev); err != nil || applied {
			t.Fatalf("redelivery after restart: applied=%v, %v", applied, err)
		}
	})
}
