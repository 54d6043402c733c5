package bot_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/internal/fakepagerduty"
	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/pagerduty"
	"github.com/klaxonhq/klaxon/playbook"
)

// statusIn is "/incident status" in channel, as the declarer sees it.
func statusIn(t *testing.T, f *fakeslack.Server, channel string) string {
	t.Helper()
	ack, err := f.SlashCommand(ctxT(t), fakeslack.SlashCommand{Text: "status", UserID: declarer, ChannelID: channel})
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ Text string }
	if err := json.Unmarshal(ack.Payload, &m); err != nil {
		t.Fatal(err)
	}
	return m.Text
}

// redeliver sends envelope env again, as Slack does when it thinks the ack
// was lost.
func redeliver(t *testing.T, k *klaxon, f *fakeslack.Server, env fakeslack.SentEnvelope) {
	t.Helper()
	if _, err := f.Send(ctxT(t), fakeslack.Envelope{ID: env.ID, Type: env.Type, Payload: env.Payload, RetryAttempt: 1, RetryReason: "timeout"}); err != nil {
		t.Fatal(err)
	}
	k.bot.Wait()
}

// "/incident sev 1" on an open SEV3 pages the service's on-call through
// PagerDuty (go-pagerduty against the fake), as a SEV1 declaration does:
// the PagerDuty link and the on-call's mention in the channel, the on-call
// invited, "Page: not acknowledged yet" in status until the acknowledgement.
// The envelope redelivered and the command typed again page nobody twice.
func TestRaiseToSEV1PagesThroughPagerDuty(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	f.AddUser("U0ALICE1", "alice")
	f.SetUserEmail("U0ALICE1", "alice@example.com")
	pd := fakepagerduty.New()
	t.Cleanup(pd.Close)
	clock := &manualClock{now: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
	pd.SetClock(clock.Now)
	pd.AddUser("PU0ALICE", "Alice Oncall", "alice@example.com")
	pd.AddUser("PU0KLAXON", "Klaxon Bot", "klaxon@example.com")
	pd.AddSchedule("PS0CHKOUT", "Checkout primary", "PU0ALICE")
	pd.AddPolicy("PE0CHKOUT", "Checkout", []string{"PS0CHKOUT"})
	pd.AddService("PSVC0CHK", "Checkout", "PE0CHKOUT")
	client := pagerduty.New(pagerduty.Options{APIURL: pd.URL(), EventsURL: pd.EventsURL(), Token: fakepagerduty.Token,
		From: "klaxon@example.com", Backoff: time.Millisecond, Attempts: 3})
	svcs := slices.Clone(services)
	svcs[0].PagerDuty = playbook.ServicePagerDuty{Service: "PSVC0CHK", EscalationPolicy: "PE0CHKOUT"}
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"), func(app *playbook.Deps, ad *bot.Adapter) {
		app.Clock, ad.Clock = clock, clock
		app.Services = svcs
		app.Pager, app.OnCalls = client, client
	})

	slash(t, f, "declare sev3 checkout Card payments slow")
	waitReady(t, f, 1)
	ch, ok := f.Channel("inc-1-sev3-card-payments-slow")
	if !ok {
		t.Fatal("no incident channel")
	}
	if n := len(pd.Incidents()); n != 0 {
		t.Fatalf("a SEV3 opened %d PagerDuty incidents", n)
	}
	clock.Advance(4 * time.Minute)
	cmdIn(t, k, f, declarer, ch.ID, "sev 1 every card payment fails")
	raise := f.Envelopes()[len(f.Envelopes())-1]

	incs := pd.Incidents()
	if len(incs) != 1 || incs[0].Service != "PSVC0CHK" || !strings.HasPrefix(incs[0].Title, "#1 SEV1: ") {
		t.Fatalf("PagerDuty incidents after the raise: %+v", incs)
	}
	page := findMessage(t, f, ch.ID, "Paged on the raise to SEV1")
	if !strings.Contains(page.Text, "<@U0ALICE1>") || !strings.Contains(page.Text, "fake.pagerduty.com/incidents/"+incs[0].ID) {
		t.Fatalf("page notice %q", page.Text)
	}
	if c, _ := f.Channel(ch.ID); !slices.Contains(c.Members, "U0ALICE1") {
		t.Fatalf("the on-call was not invited: %v", c.Members)
	}
	if s := statusIn(t, f, ch.ID); !strings.Contains(s, "not acknowledged yet") {
		t.Fatalf("status before the acknowledgement: %s", s)
	}

	redeliver(t, k, f, raise)
	cmdIn(t, k, f, declarer, ch.ID, "sev 1")
	if n := len(pd.Incidents()); n != 1 {
		t.Fatalf("%d PagerDuty incidents after a redelivered and a repeated raise", n)
	}
	pages := 0
	for _, m := range f.Messages(ch.ID) {
		if strings.Contains(m.Text, "Paged on the raise") {
			pages++
		}
	}
	if pages != 1 {
		t.Fatalf("%d page notices in the channel", pages)
	}

	// Alice acknowledges in PagerDuty 3 min after the page (the webhook,
	// decoded as the route does): status shows the time from the page.
	clock.Advance(3 * time.Minute)
	ev, err := pd.Acknowledge(incs[0].ID, "PU0ALICE")
	if err != nil {
		t.Fatal(err)
	}
	dec, err := pagerduty.DecodeWebhook(ev.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.app.PagerDutyEvent(context.Background(), dec); err != nil {
		t.Fatal(err)
	}
	if s := statusIn(t, f, ch.ID); !regexp.MustCompile(`acknowledged by <@U0ALICE1> after 3 min`).MatchString(s) {
		t.Fatalf("status after the acknowledgement: %s", s)
	}
}

// Without PagerDuty the raise pages the service's team in Slack, the way
// a SEV1 declaration does: its group mentioned and its members invited,
// with the Acknowledge button.
func TestRaiseWithoutPagerDutyPagesTheTeamInSlack(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	f.AddUser("U0PAYDEV", "paydev")
	f.AddUserGroup("S0PAY", "payments", "U0PAYDEV")
	svcs := slices.Clone(services)
	svcs[0].Team = "@acme/payments"
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"), func(app *playbook.Deps, _ *bot.Adapter) {
		app.Services = svcs
		app.Teams = []playbook.Team{{GitHub: "@acme/payments", SlackGroup: "S0PAY"}}
	})
	slash(t, f, "declare sev3 checkout Card payments slow")
	waitReady(t, f, 1)
	ch, _ := f.Channel("inc-1-sev3-card-payments-slow")
	k.bot.Wait()
	cmdIn(t, k, f, declarer, ch.ID, "sev 1 every card payment fails")
	page := findMessage(t, f, ch.ID, "Paged on the raise to SEV1")
	if !strings.Contains(page.Text, "<!subteam^S0PAY>") || !strings.Contains(string(page.Blocks), "Acknowledge") {
		t.Fatalf("page notice %q %s", page.Text, page.Blocks)
	}
	if c, _ := f.Channel(ch.ID); !slices.Contains(c.Members, "U0PAYDEV") {
		t.Fatalf("the team was not invited: %v", c.Members)
	}
}
