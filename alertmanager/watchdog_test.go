package alertmanager

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/playbook/storetest"
)

// TestHeightenedWindowFromTheWatchdog: a burn rate of 8x is medium on its
// own, but inside the heightened window the deploy watchdog opened for the
// service (a successful deploy reported by GitHub's webhook), the threshold
// is 14.4 / 2 = 7.2 and the group is high (SEV1), naming the deploy.
func TestHeightenedWindowFromTheWatchdog(t *testing.T) {
	now := time.Date(2026, 3, 29, 14, 10, 0, 0, time.UTC)
	burn := func(fp string, at time.Time) []byte {
		b, _ := json.Marshal(Message{Version: "4", Status: "firing", Alerts: []Alert{{Status: "firing",
			Labels:   map[string]string{"alertname": "CheckoutBudgetBurn", "service": "checkout", "kind": "slo_burn_rate", "burn_rate": "8"},
			StartsAt: at, Fingerprint: fp}}})
		return b
	}
	for _, tc := range []struct {
		name     string
		deployed bool
		want     playbook.Confidence
	}{{"no deploy", false, playbook.ConfidenceMedium}, {"inside the watch window", true, playbook.ConfidenceHigh}} {
		t.Run(tc.name, func(t *testing.T) {
			mem := storetest.NewMemory()
			signals := storetest.NewSignals()
			app, _ := newApp(t, signals, func() time.Time { return now }, func(d *playbook.Deps) {
				d.Store, d.DeployLog = mem, mem
				d.Services = []playbook.Service{{Name: "checkout", Repo: "acme/checkout", DeployEnvironment: "production"}}
			})
			if tc.deployed {
				if _, _, err := app.RecordDeploy(context.Background(), "delivery-1", playbook.DeployEvent{Repo: "acme/checkout",
					Deploy:   playbook.Deploy{ID: 41, SHA: "4b825dc642cb", Environment: "production", State: "success", At: now.Add(-3 * time.Minute)},
					StatusAt: now.Add(-2 * time.Minute)}); err != nil {
					t.Fatal(err)
				}
			}
			h, _ := NewHandler(token, app, nil)
			if rec := post(t, h, "Bearer "+token, burn("f1", now.Add(-time.Minute))); rec.Code != http.StatusOK {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			app.WaitDetection()
			gs, _ := signals.Groups(context.Background(), func(*playbook.SignalGroup) bool { return true }, 0)
			if len(gs) != 1 || gs[0].Assessment.Confidence != tc.want {
				t.Fatalf("groups = %+v, want one %s", gs, tc.want)
			}
			if tc.deployed && (gs[0].Assessment.Deploy == nil || gs[0].Assessment.Deploy.ID != 41 || !gs[0].Assessment.Has(playbook.ReasonHeightened)) {
				t.Errorf("the watched deploy is not named: %+v", gs[0].Assessment)
			}
		})
	}
}
