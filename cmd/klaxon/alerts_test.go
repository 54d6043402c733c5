package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/store"
)

const alertsToken = "am-bearer-token-for-tests-123"

// alertsConfig adds alert intake to a test config: checkout offers,
// payments declares by itself at high confidence.
func alertsConfig(t *testing.T, dir, apiURL, httpAddr string) string {
	t.Helper()
	config := writeConfig(t, dir, apiURL, httpAddr)
	b, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(b) + `  - name: payments
    alerts: {match: {job: payments-api}}
    auto_declare: high
alerts:
  token: ${ALERTS_TOKEN}
  triage_channel: C0TRIAGE
  correlation_window: 10m
  kinds:
    error_rate: ['.*Error.*', '.*5xx.*']
    latency: ['.*Latency.*']
`
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return config
}

// amAlert is an alert as Alertmanager's webhook sends it.
type amAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// notification builds a version 4 payload grouping alerts.
func notification(alerts ...amAlert) []byte {
	status := "resolved"
	for _, a := range alerts {
		if a.Status == "firing" {
			status = "firing"
		}
	}
	b, _ := json.Marshal(map[string]any{
		"version": "4", "groupKey": `{}:{service="checkout"}`, "truncatedAlerts": 0, "status": status,
		"receiver": "klaxon", "groupLabels": map[string]string{}, "commonLabels": map[string]string{},
		"commonAnnotations": map[string]string{}, "externalURL": "http://alertmanager:9093", "alerts": alerts,
	})
	return b
}

func postAlerts(t *testing.T, addr, token string, body []byte) (int, map[string]int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/alertmanager", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]int
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

var clickSeq atomic.Int64

func clickButton(t *testing.T, f *fakeslack.Server, user, channel string, m fakeslack.Message, actionID, value string) {
	t.Helper()
	cb := slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, User: slack.User{ID: user},
		Channel:   slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: channel}}},
		Container: slack.Container{Type: "message", ChannelID: channel, MessageTs: m.TS},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{ActionID: actionID, BlockID: "offer_actions", Value: value,
			ActionTs: fmt.Sprintf("1795800000.%06d", clickSeq.Add(1))}}}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if ack, err := f.Interactive(ctx, cb); err != nil || ack.Late {
		t.Fatalf("click %s: %v %+v", actionID, err, ack)
	}
}

var declareValue = regexp.MustCompile(`"action_id":"klaxon_declare_signals"[^}]*?"value":"(\d+)"|"value":"(\d+)"[^}]*?"action_id":"klaxon_declare_signals"`)

// TestAlertsThroughBinary runs detection in the built binary: a grouped
// Alertmanager notification becomes one offer in the triage channel; a
// redelivery changes nothing; Declare makes an incident detected at the
// first startsAt with the signals on its timeline; a later alert goes to
// that timeline; an auto_declare service declares by itself; a missing or
// wrong token is refused and records nothing.
func TestAlertsThroughBinary(t *testing.T) {
	t.Parallel()
	f := newWorkspace(t, fakeslack.Options{})
	f.AddChannel("C0TRIAGE", "triage", fakeslack.BotUserID, "U0DECL01")
	dir := t.TempDir()
	p, addr := serve(t, f, func(addr string) string { return alertsConfig(t, dir, f.URL(), addr) })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	first := time.Now().UTC().Add(-7 * time.Minute).Truncate(time.Second)
	errs := amAlert{Status: "firing", Labels: map[string]string{"alertname": "CheckoutHighErrorRate", "service": "checkout"},
		Annotations: map[string]string{"summary": "Checkout 5xx above 5%"}, StartsAt: first,
		GeneratorURL: "http://prometheus:9090/graph?g0.expr=x", Fingerprint: "aaaa000000000001"}
	lat := amAlert{Status: "firing", Labels: map[string]string{"alertname": "CheckoutLatencyP99", "service": "checkout"},
		Annotations: map[string]string{"summary": "p99 above 2s"}, StartsAt: first.Add(2 * time.Minute), Fingerprint: "aaaa000000000002"}
	grouped := notification(errs, lat)

	for _, tok := range []string{"", "wrong"} {
		if code, _ := postAlerts(t, addr, tok, grouped); code != http.StatusUnauthorized {
			t.Fatalf("token %q: %d, want 401", tok, code)
		}
	}
	code, got := postAlerts(t, addr, alertsToken, grouped)
	if code != 200 || got["new"] != 2 {
		t.Fatalf("grouped notification: %d %v (a refused one must have recorded nothing)", code, got)
	}
	var offer fakeslack.Message
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
		ms := s.Messages("C0TRIAGE")
		if len(ms) == 1 && strings.Contains(string(ms[0].Blocks), "Declare SEV3") {
			offer = ms[0]
			return true
		}
		return false
	}); err != nil {
		t.Fatalf("no offer in the triage channel: %v\n%v\n%s", err, f.Messages("C0TRIAGE"), p.Logs())
	}
	if code, got := postAlerts(t, addr, alertsToken, grouped); code != 200 || got["new"] != 0 || got["repeats"] != 2 {
		t.Fatalf("redelivery: %d %v", code, got)
	}
	m := declareValue.FindStringSubmatch(string(offer.Blocks))
	if m == nil {
		t.Fatalf("no Declare button in %s", offer.Blocks)
	}
	clickButton(t, f, "U0DECL01", "C0TRIAGE", offer, "klaxon_declare_signals", m[1]+m[2])
	declared := func(n int, prefix string) fakeslack.Channel {
		t.Helper()
		var ch fakeslack.Channel
		if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
			for _, c := range s.Channels() {
				if strings.HasPrefix(c.Name, prefix) {
					ch = c
				}
			}
			return ch.ID != "" && len(s.Messages("C0ANNOUNCE")) >= n
		}); err != nil {
			t.Fatalf("no channel %s…: %v\n%s", prefix, err, p.Logs())
		}
		return ch
	}
	ch := declared(1, "inc-1-sev3-checkout-5xx-above-5")
	// The clicker is told the incident is ready beside the offer, not in
	// its place: the triage channel keeps reading the offer.
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
		for _, r := range s.ResponseURLPosts() {
			if r.Channel == "C0TRIAGE" && strings.Contains(r.Text, "is ready") {
				if r.ReplaceOriginal {
					t.Errorf("the ready message replaced the offer: %+v", r)
				}
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("the clicker was not told the incident is ready: %v\n%v", err, f.ResponseURLPosts())
	}
	// A second click, or a late one, declares nothing twice.
	clickButton(t, f, "U0PAY001", "C0TRIAGE", offer, "klaxon_declare_signals", m[1]+m[2])
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
		ms := s.Messages("C0TRIAGE")
		return len(ms) == 1 && strings.Contains(string(ms[0].Blocks), "Declared as SEV3 incident #1")
	}); err != nil {
		t.Fatalf("the offer was not edited in place to name the incident: %v\n%v", err, f.Messages("C0TRIAGE"))
	}
	ack, err := f.SlashCommand(ctx, fakeslack.SlashCommand{Text: "status", UserID: "U0DECL01", ChannelID: ch.ID})
	if err != nil || !strings.Contains(string(ack.Payload), "first anomaly "+first.Format("15:04")) {
		t.Fatalf("/incident status: %s %v", ack.Payload, err)
	}

	// A later alert of checkout goes to incident #1's timeline, not to a new offer.
	later := amAlert{Status: "firing", Labels: map[string]string{"alertname": "CheckoutSaturation", "service": "checkout", "kind": "saturation"},
		StartsAt: time.Now().UTC().Truncate(time.Second), Fingerprint: "aaaa000000000003"}
	if code, got := postAlerts(t, addr, alertsToken, notification(later)); code != 200 || got["to_incident"] != 1 {
		t.Fatalf("later alert: %d %v", code, got)
	}

	// payments declares by itself: a burn rate of 20x is high confidence.
	burn := amAlert{Status: "firing", Labels: map[string]string{"alertname": "PaymentsBudgetBurn", "job": "payments-api", "kind": "slo_burn_rate", "burn_rate": "20"},
		Annotations: map[string]string{"summary": "Payments error budget burning at 20x"}, StartsAt: first, Fingerprint: "bbbb000000000001"}
	if code, _ := postAlerts(t, addr, alertsToken, notification(burn)); code != 200 {
		t.Fatalf("burn alert: %d", code)
	}
	declared(2, "inc-2-sev1-payments-error-budget-burning")

	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p.done; err != nil {
		t.Fatalf("exit: %v\n%s", err, p.Logs())
	}
	p.done <- nil
	if strings.Contains(p.Logs(), alertsToken) {
		t.Error("the alerts token reached the logs")
	}
	db, err := store.Open(filepath.Join(dir, "klaxon.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inc, _ := db.Get(ctx, 1)
	if d, _ := inc.At(playbook.PhaseDetected); !d.Equal(first) {
		t.Errorf("incident #1 detected at %v, want the first startsAt %v", d, first)
	}
	if a, ok := inc.At(playbook.PhaseAlerted); !ok || a.Before(first) {
		t.Errorf("incident #1 alerted = %v, %v", a, ok)
	}
	evs, _ := db.Timeline(ctx, 1)
	var signals []string
	for _, e := range evs {
		if e.Type == playbook.EventSignal {
			signals = append(signals, e.Payload.(playbook.SignalPayload).Name)
		}
	}
	if strings.Join(signals, ",") != "CheckoutHighErrorRate,CheckoutLatencyP99,CheckoutSaturation" {
		t.Errorf("signals on #1's timeline = %v", signals)
	}
	auto, _ := db.Get(ctx, 2)
	if auto.Declarer != playbook.ActorKlaxon || auto.Severity != playbook.SEV1 {
		t.Errorf("auto-declared incident = %s by %s", auto.Severity, auto.Declarer)
	}
	if _, acked := auto.At(playbook.PhaseAcknowledged); acked {
		t.Error("an incident Klaxon declared by itself is acknowledged before anyone took it")
	}
}
