package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakegithub"
	"github.com/klaxonhq/klaxon/internal/fakepagerduty"
	"github.com/klaxonhq/klaxon/internal/fakeslack"
)

// The binary with PagerDuty configured: a SEV1 pages the checkout service,
// the on-call person (found in Slack by e-mail) is invited, and a signed
// incident.acknowledged makes /incident status show who acknowledged and
// after how long. A bad signature changes nothing.
func TestPagingThroughBinary(t *testing.T) {
	t.Parallel()
	f := newWorkspace(t, fakeslack.Options{DisableRateLimits: true})
	f.AddUser("U0ALICE1", "alice")
	f.SetUserEmail("U0ALICE1", "alice@example.com")
	pd := fakepagerduty.New()
	defer pd.Close()
	pd.AddUser("PU0ALICE", "Alice Oncall", "alice@example.com")
	pd.AddUser("PU0KLAXON", "Klaxon Bot", "klaxon@example.com")
	pd.AddSchedule("PS0CHKOUT", "Checkout primary", "PU0ALICE")
	pd.AddPolicy("PE0CHKOUT", "Checkout", []string{"PS0CHKOUT"})
	pd.AddService("PSVC0CHK", "Checkout", "PE0CHKOUT")

	dir := t.TempDir()
	p, addr := serve(t, f, func(addr string) string {
		config := writeConfig(t, dir, f.URL(), addr)
		cfg, _ := os.ReadFile(config)
		cfg = []byte(strings.Replace(string(cfg), "    stakeholders: [U0PAY001]\n",
			"    stakeholders: [U0PAY001]\n    pagerduty: {service: PSVC0CHK, escalation_policy: PE0CHKOUT}\n", 1))
		cfg = append(cfg, []byte("pagerduty:\n  token: "+fakepagerduty.Token+"\n  api_url: "+pd.URL()+"\n  events_url: "+pd.EventsURL()+
			"\n  from: klaxon@example.com\n  webhook_secret: whsec-test\n")...)
		if err := os.WriteFile(config, cfg, 0o600); err != nil {
			t.Fatal(err)
		}
		return config
	})
	declare(t, f, "declare sev1 checkout Checkout returns 500s", 1)
	ch, _ := f.Channel("inc-1-sev1-checkout-returns-500s")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
		c, _ := s.Channel(ch.ID)
		return slices.Contains(c.Members, "U0ALICE1") && slices.ContainsFunc(s.Messages(ch.ID), func(m fakeslack.Message) bool {
			return strings.Contains(m.Text, "<@U0ALICE1>") && strings.Contains(m.Text, "fake.pagerduty.com/incidents/")
		})
	}); err != nil {
		t.Fatalf("the on-call was not paged and invited: %v\n%s", err, p.Logs())
	}
	incs := pd.Incidents()
	if len(incs) != 1 || incs[0].Service != "PSVC0CHK" || incs[0].Key == "" {
		t.Fatalf("PagerDuty incidents: %+v", incs)
	}
	status := func() string {
		ack, err := f.SlashCommand(ctx, fakeslack.SlashCommand{Text: "status", UserID: "U0DECL01", ChannelID: ch.ID})
		if err != nil {
			t.Fatal(err)
		}
		var m struct{ Text string }
		if err := json.Unmarshal(ack.Payload, &m); err != nil {
			t.Fatal(err)
		}
		return m.Text
	}
	if s := status(); !strings.Contains(s, "not acknowledged yet") {
		t.Fatalf("status before the acknowledgement: %s", s)
	}
	ev, err := pd.Acknowledge(incs[0].ID, "PU0ALICE")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + addr + "/webhooks/pagerduty"
	if code, err := fakepagerduty.Send(url, ev, "wrong-secret"); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("bad signature: %d %v", code, err)
	}
	if code, err := fakepagerduty.Send(url, ev); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("missing signature: %d %v", code, err)
	}
	if s := status(); !strings.Contains(s, "not acknowledged yet") {
		t.Fatalf("a refused webhook changed the incident: %s", s)
	}
	if code, err := fakepagerduty.Send(url, ev, "old-secret", "whsec-test"); err != nil || code != http.StatusAccepted {
		t.Fatalf("signed (rotation): %d %v", code, err)
	}
	s := status()
	if !regexp.MustCompile(`acknowledged by <@U0ALICE1> after [0-9]+ (s|min)`).MatchString(s) {
		t.Fatalf("status after the acknowledgement: %s", s)
	}
}

// /incident owners end to end: CODEOWNERS read from the service's repo on
// the fake GitHub, the matching rule with file and line, the team, who is
// on call now (found in Slack by e-mail) and the escalation policy.
func TestOwnersThroughBinary(t *testing.T) {
	t.Parallel()
	gh := fakegithub.New()
	t.Cleanup(gh.Close)
	gh.AddRepo("acme/checkout", "main")
	gh.PutFile("acme/checkout", "main", ".github/CODEOWNERS", []byte("# owners\n*  @acme/payments\n/db/ @acme/dba\n"))
	pd := fakepagerduty.New()
	defer pd.Close()
	pd.AddUser("PU0DBA01", "Dee Admin", "dee@example.com")
	pd.AddSchedule("PS0DBA", "DBA primary", "PU0DBA01")
	pd.AddPolicy("PE0DBA", "Databases", []string{"PS0DBA"})
	f := newWorkspace(t, fakeslack.Options{DisableRateLimits: true})
	f.AddUser("U0DEE001", "dee")
	f.SetUserEmail("U0DEE001", "dee@example.com")
	dir := t.TempDir()
	config := writeConfig(t, dir, f.URL(), "off")
	b, _ := os.ReadFile(config)
	cfg := strings.Replace(string(b), "    stakeholders: [U0PAY001]\n", "    stakeholders: [U0PAY001]\n    repo: acme/checkout\n", 1) +
		"github:\n  token: ${GITHUB_TOKEN}\n  api_url: " + gh.URL() + "\n" +
		"pagerduty:\n  token: " + fakepagerduty.Token + "\n  api_url: " + pd.URL() + "\n  from: klaxon@example.com\n" +
		"teams:\n  - github: '@acme/dba'\n    pagerduty: {escalation_policy: PE0DBA}\n    slack_group: S0DBA\n"
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	startKlaxon(t, f, config)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// With the service, and with a bare path (read in the one repo the
	// services name).
	for i, text := range []string{"owners checkout db/migrate/001.sql", "owners /db/migrate/001.sql"} {
		if _, err := f.SlashCommand(ctx, fakeslack.SlashCommand{Text: text, UserID: "U0DECL01", ChannelID: "C0GENERAL"}); err != nil {
			t.Fatal(err)
		}
		var answer string
		if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
			n := 0
			for _, p := range s.ResponseURLPosts() {
				if strings.Contains(p.Text, "Owners of") {
					if n == i {
						answer = p.Text
						return true
					}
					n++
				}
			}
			return false
		}); err != nil {
			t.Fatalf("%s: no answer: %v", text, err)
		}
		for _, want := range []string{"@acme/dba", "`/db/` (acme/checkout/.github/CODEOWNERS line 3)", "<!subteam^S0DBA>", "*On call now:* <@U0DEE001>", "Databases (PagerDuty escalation policy)"} {
			if !strings.Contains(answer, want) {
				t.Errorf("%s: answer lacks %q:\n%s", text, want, answer)
			}
		}
	}
}

// The binary with GitHub configured: a SEV3 pages nobody and opens one
// issue for the owning team (CODEOWNERS → @acme/payments) in the service's
// repo, linked in the channel.
func TestSEV3OwnerIssueThroughBinary(t *testing.T) {
	t.Parallel()
	gh := fakegithub.New()
	t.Cleanup(gh.Close)
	gh.AddRepo("acme/checkout", "main")
	gh.PutFile("acme/checkout", "main", ".github/CODEOWNERS", []byte("*  @acme/payments\n"))
	f := newWorkspace(t, fakeslack.Options{DisableRateLimits: true})
	dir := t.TempDir()
	config := writeConfig(t, dir, f.URL(), "off")
	b, _ := os.ReadFile(config)
	cfg := strings.Replace(string(b), "    stakeholders: [U0PAY001]\n", "    stakeholders: [U0PAY001]\n    repo: acme/checkout\n", 1) +
		"github:\n  token: ${GITHUB_TOKEN}\n  api_url: " + gh.URL() + "\n" +
		"teams:\n  - github: '@acme/payments'\n    slack_group: S0PAY\n"
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startKlaxon(t, f, config)
	declare(t, f, "declare sev3 checkout Receipts arrive late", 1)
	ch, _ := f.Channel("inc-1-sev3-receipts-arrive-late")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
		return slices.ContainsFunc(s.Messages(ch.ID), func(m fakeslack.Message) bool {
			return strings.Contains(m.Text, "SEV3 pages nobody") && strings.Contains(m.Text, "acme/checkout#1")
		})
	}); err != nil {
		var texts []string
		for _, c := range f.Channels() {
			for _, m := range f.Messages(c.ID) {
				texts = append(texts, c.Name+": "+m.Text)
			}
		}
		t.Fatalf("no issue linked in the channel %q: %v\n%s\n%s", ch.Name, err, strings.Join(texts, "\n"), p.Logs())
	}
	issues := gh.Issues("acme/checkout")
	if len(issues) != 1 || !slices.Contains(issues[0].Labels, "team:payments") || !strings.Contains(issues[0].Body, "@acme/payments") {
		t.Fatalf("issues: %+v", issues)
	}
}

// The binary without PagerDuty: a SEV1 pages the service's team in Slack
// (its group mentioned and invited); the member_joined_channel that
// Klaxon's own invite causes is not an acknowledgement, a paged member
// joining by themselves is, and /incident status shows it.
func TestOwnerJoinAcknowledgesThroughBinary(t *testing.T) {
	t.Parallel()
	f := newWorkspace(t, fakeslack.Options{DisableRateLimits: true})
	f.AddUser("U0PAYDEV", "paydev")
	f.AddUserGroup("S0PAY", "payments", "U0PAYDEV")
	dir := t.TempDir()
	config := writeConfig(t, dir, f.URL(), "off")
	b, _ := os.ReadFile(config)
	cfg := strings.Replace(string(b), "    stakeholders: [U0PAY001]\n", "    stakeholders: [U0PAY001]\n    team: '@acme/payments'\n", 1) +
		"teams:\n  - github: '@acme/payments'\n    slack_group: S0PAY\n"
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startKlaxon(t, f, config)
	declare(t, f, "declare sev1 checkout Checkout returns 500s", 1)
	ch, _ := f.Channel("inc-1-sev1-checkout-returns-500s")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
		c, _ := s.Channel(ch.ID)
		return slices.Contains(c.Members, "U0PAYDEV") && slices.ContainsFunc(s.Messages(ch.ID), func(m fakeslack.Message) bool {
			return strings.Contains(m.Text, "<!subteam^S0PAY>")
		})
	}); err != nil {
		t.Fatalf("the team was not paged in Slack: %v\n%s", err, p.Logs())
	}
	status := func() string {
		ack, err := f.SlashCommand(ctx, fakeslack.SlashCommand{Text: "status", UserID: "U0DECL01", ChannelID: ch.ID})
		if err != nil {
			t.Fatal(err)
		}
		var m struct{ Text string }
		if err := json.Unmarshal(ack.Payload, &m); err != nil {
			t.Fatal(err)
		}
		return m.Text
	}
	join := func(inviter string) {
		ev := map[string]any{"type": "member_joined_channel", "user": "U0PAYDEV", "channel": ch.ID, "channel_type": "C", "team": fakeslack.TeamID, "event_ts": "1733400000.000100"}
		if inviter != "" {
			ev["inviter"] = inviter
		}
		if ack, err := f.EventsAPI(ctx, ev); err != nil || ack.Late {
			t.Fatalf("member_joined_channel not acked: %v %+v", err, ack)
		}
	}
	join(fakeslack.BotUserID) // Klaxon's own invite
	if s := status(); strings.Contains(s, "acknowledged by") {
		t.Fatalf("Klaxon's invite acknowledged the page: %s", s)
	}
	join("")
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
		return slices.ContainsFunc(s.Messages(ch.ID), func(m fakeslack.Message) bool {
			return strings.Contains(m.Text, "<@U0PAYDEV> joined: the page is acknowledged")
		})
	}); err != nil {
		t.Fatalf("the join was not an acknowledgement: %v\n%s", err, p.Logs())
	}
	if s := status(); !regexp.MustCompile(`acknowledged by <@U0PAYDEV> after [0-9]+ (s|min)`).MatchString(s) {
		t.Fatalf("status: %s", s)
	}
}
