package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

func TestAlertsConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "am"), []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]byte(`
services:
  - name: checkout
    alerts: {match: {job: checkout-api, env: prod}}
    auto_declare: high
  - name: search
alerts:
  token_file: am
  triage_channel: C0TRIAGE
  correlation_window: 15m
  default_service: Search
  kind_label: signal
  kinds:
    latency: ['.*Slow.*']
    error_rate: ['.*Error.*', '.*5xx.*']
  confidence: {burn_rate: 10, heightened_factor: 4, deploy_within: 20m}
`), dir, env())
	if err != nil {
		t.Fatal(err)
	}
	a := c.Alerts
	if !a.Enabled() || a.Token.Reveal() != "from-a-file" || a.TriageChannel != "C0TRIAGE" || a.DefaultService != "search" {
		t.Errorf("alerts = %+v", a)
	}
	r := a.Rules()
	if r.Window != 15*time.Minute || r.KindLabel != "signal" || r.BurnRateHigh != 10 || r.HeightenedFactor != 4 || r.DeployWithin != 20*time.Minute {
		t.Errorf("rules = %+v", r)
	}
	if len(r.Kinds) != 2 || r.Kinds[0].Kind != playbook.KindLatency || len(r.Kinds[1].Patterns) != 2 {
		t.Errorf("kinds not in file order: %+v", r.Kinds)
	}
	s, _ := c.Service("checkout")
	if s.AutoDeclare != playbook.ConfidenceHigh || s.AlertMatch["job"] != "checkout-api" || s.AlertMatch["env"] != "prod" {
		t.Errorf("checkout = %+v", s)
	}
	if s, _ := c.Service("search"); s.AutoDeclare != playbook.ConfidenceNone || s.AlertMatch != nil {
		t.Errorf("search = %+v", s)
	}

	def, err := Parse(nil, "", env())
	if err != nil {
		t.Fatal(err)
	}
	if def.Alerts.Enabled() {
		t.Error("alert intake is on without a token")
	}
	if r := def.Alerts.Rules(); r.Window != 10*time.Minute || r.BurnRateHigh != 14.4 || r.HeightenedFactor != 2 || r.KindLabel != "kind" {
		t.Errorf("default rules = %+v", r)
	}

	// PostgreSQL keeps the signals too: alert intake works on several
	// replicas.
	pg, err := Parse([]byte("store: {driver: postgres, dsn: 'postgres://k@db/k'}\nhttp: {listen: ':8080'}\nalerts: {token: t0ken, triage_channel: C0TRIAGE}\n"), "", env())
	if err != nil || !pg.Alerts.Enabled() {
		t.Errorf("alerts with store.driver postgres: %v", err)
	}
}

func TestAlertsConfigProblems(t *testing.T) {
	_, err := Parse([]byte(`
services:
  - name: checkout
    alerts: {match: {}}
    auto_declare: always
  - name: search
    alerts: {match: {"1bad": x}}
alerts:
  token: ${ALERTS_TOKEN}
  correlation_window: 0s
  default_service: nowhere
  kind_label: "has space"
  kinds:
    errors: ['.*']
    latency: ['(']
  confidence: {burn_rate: fast, heightened_factor: 0.5}
  triage: C0X
`), "", env("ALERTS_TOKEN", "secret-token-value"))
	if err == nil {
		t.Fatal("no problems reported")
	}
	msg := err.Error()
	for _, want := range []string{
		"services[0].alerts.match", "services[0].auto_declare", "services[1].alerts.match.1bad",
		"alerts.correlation_window", "alerts.default_service", "alerts.kind_label", "alerts.kinds.errors",
		"alerts.kinds.latency[0]", "alerts.confidence.burn_rate", "alerts.confidence.heightened_factor",
		"alerts.triage", "alerts.triage_channel: required when alerts.token is set",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems do not mention %s:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "secret-token-value") {
		t.Error("the token leaked into a problem")
	}
}
