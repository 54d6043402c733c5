package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
)

// Script plays the demo SEV1 as the workspace's people would, through the
// Driver (every step an envelope the real bot handles), jumping the clock
// over the minutes in between. step, when set, hears each step's
// description as it starts.
type Script struct {
	D    *Driver
	Step func(at time.Time, who, what string)

	channel string // the incident's channel, once declared
}

// Title is the demo incident's title; its channel is named after it.
const Title = "Checkout returns 500s"

// Channel is the incident channel's ID, once declared.
func (s *Script) Channel() string { return s.channel }

func (s *Script) step(who, what string) {
	if s.Step != nil {
		s.Step(s.D.W.Clock.Now(), PersonName(who), what)
	}
}

func (s *Script) slash(ctx context.Context, who, channel, text string) error {
	cmd := s.D.Command
	if cmd == "" {
		cmd = "/incident"
	}
	s.step(who, cmd+" "+text)
	_, err := s.D.Slash(ctx, who, channel, text)
	return err
}

func (s *Script) click(ctx context.Context, who, label string, match func(text string, b Button) bool) error {
	s.step(who, "clicks “"+label+"”")
	return s.D.ClickWhere(ctx, who, s.channel, match)
}

func actionIs(id string, valueSuffix string) func(string, Button) bool {
	return func(_ string, b Button) bool {
		return b.ActionID == id && strings.HasSuffix(b.Value, valueSuffix)
	}
}

// form waits for the form the last click opened for who and submits it.
func (s *Script) form(ctx context.Context, who string, values map[string]string) error {
	v, ok := s.D.OpenView(who, nil)
	if !ok {
		return fmt.Errorf("no form opened for %s", PersonName(who))
	}
	s.step(who, "fills in the form “"+v.Title+"” and submits it")
	errs, err := s.D.Submit(ctx, who, v, values)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return fmt.Errorf("the form %q was refused: %v", v.Title, errs)
	}
	return nil
}

// waitText waits until a message of the incident channel contains text:
// for work the scheduler, not an envelope, starts.
func (s *Script) waitText(ctx context.Context, text string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := s.D.W.Slack.WaitFor(ctx, func(n *fakeslack.Snapshot) bool {
		for _, m := range n.Messages(s.channel) {
			if strings.Contains(m.Text, text) || strings.Contains(string(m.Blocks), text) {
				return true
			}
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("waiting for %q in the incident channel: %w", text, err)
	}
	return nil
}

func (s *Script) advance(d time.Duration) { s.D.W.Clock.Advance(d) }

// Play runs the whole incident, from the declaration to the close.
func (s *Script) Play(ctx context.Context) error {
	steps := []func(context.Context) error{
		s.alert, s.page, s.triage, s.firstUpdate, s.rollback, s.nudgeAndUpdate, s.verify, s.wrapUp,
	}
	for _, f := range steps {
		if err := f(ctx); err != nil {
			return err
		}
	}
	return nil
}

// alert is Alertmanager's notification: checkout's error budget burning at
// 16x since 13:59. Klaxon offers to declare in #alerts; Dana, on call,
// declares from the offer.
func (s *Script) alert(ctx context.Context) error {
	started := Start.Add(-time.Minute)
	body := map[string]any{
		"version": "4", "groupKey": `{}:{alertname="CheckoutErrorBudgetBurn"}`, "status": "firing", "receiver": "klaxon",
		"groupLabels": map[string]string{"alertname": "CheckoutErrorBudgetBurn"}, "commonLabels": map[string]string{"service": "checkout"},
		"commonAnnotations": map[string]string{}, "externalURL": "http://alertmanager.example", "truncatedAlerts": 0,
		"alerts": []map[string]any{{
			"status": "firing", "fingerprint": "3f2a9c1d4b5e6f70",
			"labels":      map[string]string{"alertname": "CheckoutErrorBudgetBurn", "service": "checkout", "kind": "slo_burn_rate", "severity": "page"},
			"annotations": map[string]string{"summary": Title, "burn_rate": "16"},
			"startsAt":    started.Format(time.RFC3339), "endsAt": "0001-01-01T00:00:00Z",
			"generatorURL": "http://prometheus.example/graph",
		}},
	}
	s.step("", "Alertmanager: CheckoutErrorBudgetBurn firing for checkout since "+started.Format("15:04")+" (burn rate 16x) → POST /webhooks/alertmanager")
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.D.W.HTTPAddr+"/webhooks/alertmanager", bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+AlertsToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("the alert: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the alert: Klaxon answered %s", resp.Status)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.D.W.Slack.WaitFor(wctx, func(n *fakeslack.Snapshot) bool {
		for _, m := range n.Messages(AlertsChannel) {
			if strings.Contains(string(m.Blocks), "klaxon_declare_signals") {
				return true
			}
		}
		return false
	}); err != nil {
		return fmt.Errorf("no offer to declare in #alerts: %w", err)
	}
	s.advance(2 * time.Minute)
	s.step(Dana, "clicks “Declare SEV1” in #alerts")
	if err := s.D.ClickWhere(ctx, Dana, AlertsChannel, actionIs("klaxon_declare_signals", "")); err != nil {
		return err
	}
	return s.found(ctx)
}

// found finds the incident's channel and waits for its checklist.
func (s *Script) found(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_ = s.D.W.Slack.WaitFor(wctx, func(n *fakeslack.Snapshot) bool {
		for _, c := range n.Channels() {
			if strings.HasPrefix(c.Name, "inc-") {
				return true
			}
		}
		return false
	})
	for _, c := range s.D.W.Slack.Channels() {
		if strings.HasPrefix(c.Name, "inc-") {
			s.channel = c.ID
		}
	}
	if s.channel == "" {
		return fmt.Errorf("the declaration made no channel")
	}
	return s.waitText(ctx, "Triage checklist")
}

// page waits for Klaxon's page (a PagerDuty incident on checkout's service,
// the on-call invited); a minute later Priya, on call, acknowledges it in
// PagerDuty, which tells Klaxon through its signed v3 webhook.
func (s *Script) page(ctx context.Context) error {
	if err := s.waitText(ctx, "Paged"); err != nil {
		return err
	}
	s.advance(time.Minute)
	s.step(Priya, "acknowledges the page in the PagerDuty app → PagerDuty's signed webhook (incident.acknowledged) → POST /webhooks/pagerduty")
	return s.D.W.AcknowledgePage("", PriyaPD)
}

func (s *Script) triage(ctx context.Context) error {
	if err := s.click(ctx, Alex, "I'll be incident commander", actionIs("klaxon_ic_take", "")); err != nil {
		return err
	}
	s.advance(time.Minute)
	if err := s.click(ctx, Alex, "Answer the scope call", actionIs("klaxon_scope_open", "")); err != nil {
		return err
	}
	return s.form(ctx, Alex, map[string]string{
		"what_broke":     "checkout's payments-api answers 500 on POST /charge (card payments)",
		"who_affected":   "every customer paying by card, all regions",
		"blast_radius":   "about 60% of orders fail: roughly $40k revenue an hour; the 99.9% checkout SLO is burning",
		"scope_severity": "SEV1",
	})
}

func (s *Script) firstUpdate(ctx context.Context) error {
	s.advance(2 * time.Minute)
	return s.slash(ctx, Alex, s.channel, "update Card payments fail with 500s for all customers since 13:59 UTC. Suspect: the 13:35 deploy of checkout. Rolling it back.")
}

func (s *Script) rollback(ctx context.Context) error {
	s.advance(time.Minute)
	// Klaxon posted the deploys at declaration and checked "recent
	// deployments identified"; Priya confirms its suspect, and the rollback
	// names the same one.
	if err := s.click(ctx, Priya, "This is the cause (deploy v2.42.0)", actionIs("klaxon_deploy_cause", "")); err != nil {
		return err
	}
	if err := s.slash(ctx, Priya, s.channel, "remediate rollback"); err != nil {
		return err
	}
	s.advance(10 * time.Minute)
	s.step(Priya, "(has rolled checkout back to v2.41.0 in the deploy tool)")
	return s.slash(ctx, Priya, s.channel, "mitigated")
}

// nudgeAndUpdate lets the 15-minute update cadence run out: the scheduler
// nudges the commander, who answers with the form.
func (s *Script) nudgeAndUpdate(ctx context.Context) error {
	s.step("", "(no status update for 15 minutes)")
	s.advance(5 * time.Minute)
	if err := s.waitText(ctx, "klaxon_post_update"); err != nil {
		return err
	}
	if err := s.click(ctx, Alex, "Post update", actionIs("klaxon_post_update", "")); err != nil {
		return err
	}
	return s.form(ctx, Alex, map[string]string{
		"status":     "Rolled back to v2.41.0 at 14:17 UTC. Card payments succeed again; error rate back to baseline.",
		"impact":     "Card payments failed from 13:59 to 14:17 UTC; about 1,900 orders affected.",
		"next_steps": "Watching the gates for 10 minutes, then the all-clear.",
	})
}

func (s *Script) verify(ctx context.Context) error {
	s.advance(2 * time.Minute)
	if err := s.slash(ctx, Alex, s.channel, "resolve"); err != nil {
		return err
	}
	gates := []struct{ who, gate, label string }{
		{Dana, "burn_rate", "SLO burn rate"},
		{Dana, "error_rate", "error rate"},
		{Sam, "complaints", "user complaints"},
		{Priya, "synthetics", "synthetic monitors"},
	}
	for _, g := range gates {
		if err := s.click(ctx, g.who, "Holds: "+g.label, actionIs("klaxon_gate", ":"+g.gate+":on")); err != nil {
			return err
		}
	}
	s.step("", "(the synthetic monitors stay green for 5 minutes)")
	s.advance(6 * time.Minute)
	if err := s.click(ctx, Alex, "All clear", actionIs("klaxon_all_clear", "")); err != nil {
		return err
	}
	if err := s.waitText(ctx, "Resolved"); err != nil {
		return err
	}
	// The scheduler resolves the PagerDuty incident after the all-clear
	// and records it: let it, before the clock moves on.
	return poll(ctx, "Klaxon to resolve the PagerDuty incident", func() bool {
		return s.D.ResolvedInPagerDuty == nil || s.D.ResolvedInPagerDuty()
	})
}

func (s *Script) wrapUp(ctx context.Context) error {
	s.advance(5 * time.Minute)
	now := s.D.W.Clock.Now()
	first := now.AddDate(0, 0, 7).Format("2006-01-02")
	second := now.AddDate(0, 0, 14).Format("2006-01-02")
	if err := s.slash(ctx, Dana, s.channel, "action Alert on checkout's 5xx rate above 1% for 5 minutes <@"+Priya+"|priya> due:"+first); err != nil {
		return err
	}
	if err := s.slash(ctx, Priya, s.channel, "action Add a canary stage that holds a checkout deploy at 5% of traffic for 10 minutes <@"+Dana+"|dana> due:"+second); err != nil {
		return err
	}
	s.advance(10 * time.Minute)
	if err := s.slash(ctx, Alex, s.channel, "close db-connection-pool-exhaustion"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return s.D.W.Slack.WaitFor(ctx, func(n *fakeslack.Snapshot) bool {
		c, _ := n.Channel(s.channel)
		return c.Archived
	})
}
