package pagerduty_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakepagerduty"
	"github.com/klaxonhq/klaxon/pagerduty"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/playbook/storetest"
)

// TestTriggeredIncidentsBecomeSignals: a PagerDuty incident Klaxon did not
// open (a monitoring integration's) arrives as incident.triggered on the
// paging webhook and becomes a signal of the service whose
// services[].pagerduty.service it is; a redelivery changes nothing, and
// incident.resolved ends the signal.
func TestTriggeredIncidentsBecomeSignals(t *testing.T) {
	f, c := world(t)
	ref, err := c.Trigger(context.Background(), playbook.PageRequest{Key: "datadog-1", Title: "Checkout p99 latency above 2s", Service: "PSVC0CHK"})
	if err != nil {
		t.Fatal(err)
	}
	signals := storetest.NewSignals()
	app := playbook.New(playbook.Deps{
		Store: storetest.NewMemory(), Signals: signals, Clock: playbook.ClockFunc(time.Now), Tiers: playbook.DefaultTiers(),
		Services: []playbook.Service{{Name: "checkout", PagerDuty: playbook.ServicePagerDuty{Service: "PSVC0CHK"}}},
	})
	srv := httptest.NewServer(pagerduty.WebhookHandler("s3cret", app, nil))
	defer srv.Close()
	trig, err := f.Triggered(ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // a redelivery
		if code, err := fakepagerduty.Send(srv.URL, trig, "s3cret"); err != nil || code != http.StatusAccepted {
			t.Fatalf("incident.triggered: %d %v", code, err)
		}
	}
	app.WaitDetection()
	gs, _ := signals.Groups(context.Background(), func(*playbook.SignalGroup) bool { return true }, 0)
	if len(gs) != 1 || gs[0].Service != "checkout" || len(gs[0].Signals) != 1 {
		t.Fatalf("groups = %+v, want one checkout group with one signal", gs)
	}
	s := gs[0].Signals[0]
	if s.Source != "pagerduty" || s.Name != "Checkout p99 latency above 2s" || !s.Firing() || s.URL == "" {
		t.Errorf("signal = %+v", s)
	}
	res, err := f.Resolve(ref.ID, "PU0ALICE")
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := fakepagerduty.Send(srv.URL, res, "s3cret"); code != http.StatusAccepted {
		t.Fatalf("incident.resolved: %d", code)
	}
	app.WaitDetection()
	g, _ := signals.Group(context.Background(), gs[0].ID)
	if g.Signals[0].Firing() {
		t.Error("incident.resolved did not end the signal")
	}
}
