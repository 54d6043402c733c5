package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

func TestPagerDutyKeys(t *testing.T) {
	yaml := `
http: {listen: "127.0.0.1:0"}
pagerduty:
  token: ${PAGERDUTY_TOKEN}
  api_url: https://api.eu.pagerduty.com/
  events_url: https://events.eu.pagerduty.com
  from: klaxon@example.com
  webhook_secret: ${PAGERDUTY_WEBHOOK_SECRET}
services:
  - name: checkout
    repo: acme/checkout
    pagerduty: {service: PSVC0CHK, escalation_policy: PE0CHKOUT, schedule: PS0CHKOUT}
    team: '@acme/payments'
github: {token: ghp_x}
severities:
  SEV1:
    page: true
    overdue_update_mentions: [U0CTO001]
    escalate:
      - {after: 5m,  if: unacknowledged, to: [pagerduty_schedule:PS0EMGR]}
      - {after: 10m, if: no_triage,      to: [pagerduty_user:PU0VPENG]}
      - {after: 20s, if: unresolved,     to: [U0CEO001, S0EXECS, role:ceo]}
  SEV3: {page: false}
teams:
  - github: "@acme/payments"
    pagerduty: {escalation_policy: PE0PAY}
    slack_group: S0PAY
escalation_roles:
  ceo: [U0CEO001]
`
	getenv := func(k string) (string, bool) {
		return map[string]string{"PAGERDUTY_TOKEN": "pdtok", "PAGERDUTY_WEBHOOK_SECRET": "whsec"}[k], true
	}
	c, err := Parse([]byte(yaml), "", getenv)
	if err != nil {
		t.Fatal(err)
	}
	p := c.PagerDuty
	if p.Token.Reveal() != "pdtok" || p.WebhookSecret.Reveal() != "whsec" || p.APIURL != "https://api.eu.pagerduty.com" || p.EventsURL != "https://events.eu.pagerduty.com" || p.From != "klaxon@example.com" {
		t.Fatalf("pagerduty: %+v", p)
	}
	if got := c.Services[0].PagerDuty; got != (playbook.ServicePagerDuty{Service: "PSVC0CHK", EscalationPolicy: "PE0CHKOUT", Schedule: "PS0CHKOUT"}) {
		t.Fatalf("service: %+v", got)
	}
	if c.Services[0].Team != "@acme/payments" {
		t.Fatalf("services[0].team %q", c.Services[0].Team)
	}
	sev1 := c.Severities[playbook.SEV1]
	want := []playbook.EscalationStep{
		{After: 5 * time.Minute, If: playbook.CondUnacknowledged, To: []playbook.Target{{Kind: playbook.TargetPDSchedule, ID: "PS0EMGR"}}},
		{After: 10 * time.Minute, If: playbook.CondNoTriage, To: []playbook.Target{{Kind: playbook.TargetPDUser, ID: "PU0VPENG"}}},
		{After: 20 * time.Second, If: playbook.CondUnresolved, To: []playbook.Target{{Kind: playbook.TargetSlackUser, ID: "U0CEO001"}, {Kind: playbook.TargetSlackGroup, ID: "S0EXECS"}, {Kind: playbook.TargetRole, ID: "ceo"}}},
	}
	if !sev1.Page || !reflect.DeepEqual(sev1.Escalate, want) {
		t.Fatalf("SEV1: page %v escalate %+v", sev1.Page, sev1.Escalate)
	}
	if c.Severities[playbook.SEV3].Page || !c.Severities[playbook.SEV2].Page || len(c.Severities[playbook.SEV2].Escalate) != 1 {
		t.Fatal("tier defaults lost")
	}
	if len(c.Teams) != 1 || c.Teams[0] != (playbook.Team{GitHub: "@acme/payments", EscalationPolicy: "PE0PAY", SlackGroup: "S0PAY"}) {
		t.Fatalf("teams %+v", c.Teams)
	}
	if got := c.EscalationRoles["ceo"]; len(got) != 1 || got[0].ID != "U0CEO001" {
		t.Fatalf("roles %+v", c.EscalationRoles)
	}
}

func TestPagerDutyProblems(t *testing.T) {
	for _, tt := range []struct{ yaml, want string }{
		{"severities: {SEV1: {escalate: [{after: 500ms, to: [U0A1]}]}}", "severities.SEV1.escalate[0].after: must be at least 1s"},
		{"severities: {SEV1: {escalate: [{after: 5m, if: sometimes, to: [U0A1]}]}}", "not a condition"},
		{"severities: {SEV1: {escalate: [{after: 5m, to: [pagerduty_team:P1]}]}}", "unknown target kind"},
		{"severities: {SEV1: {escalate: [{after: 5m, to: [pagerduty_user:bob]}]}}", "not a PagerDuty ID"},
		{"severities: {SEV1: {escalate: [{if: unresolved, to: [U0A1]}]}}", "escalate[0].after: required"},
		{"severities: {SEV1: {page: maybe}}", "want true or false"},
		{"services: [{name: a, pagerduty: {service: checkout}}]", "not a PagerDuty service ID"},
		{"pagerduty: {from: 'Klaxon <k@example.com>'}", "not an e-mail address"},
		{"pagerduty: {api_url: 'ftp://x'}", "not an http(s) URL"},
		{"teams: [{github: payments}]", "not a CODEOWNERS owner"},
		{"escalation_roles: {ceo: [role:cto]}", "not to another role"},
		{"services: [{name: a, team: payments}]", "services[0].team: not a team"},
		{"services: [{name: a, team: '@acme/payments'}]", "services[0].team: @acme/payments is not in teams"},
		{"severities: {SEV1: {escalate: [{after: 5m, to: [role:cto]}]}}", "role:cto is not in escalation_roles"},
	} {
		_, err := Parse([]byte(tt.yaml), "", func(string) (string, bool) { return "", true })
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s:\n got %v\nwant …%s…", tt.yaml, err, tt.want)
		}
	}
	// What run needs: a token and from with the section; a webhook secret
	// set but empty keeps Klaxon from starting.
	c, err := Parse([]byte("pagerduty:\n  webhook_secret: ${EMPTY}\n"), "", func(string) (string, bool) { return "", true })
	if err != nil {
		t.Fatal(err)
	}
	ps := c.checkPaging()
	var msgs []string
	for _, p := range ps {
		msgs = append(msgs, p.Path+": "+p.Msg)
	}
	all := strings.Join(msgs, "\n")
	for _, w := range []string{"pagerduty.webhook_secret: set but empty", "pagerduty.token: required"} {
		if !strings.Contains(all, w) {
			t.Errorf("missing %q in:\n%s", w, all)
		}
	}
}
