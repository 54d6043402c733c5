package bot_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
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

// pagedSEV1 is a running bot with PagerDuty (the fake, through
// go-pagerduty) and a SEV1 on checkout declared: its PagerDuty incident is
// open and Alice, on call for checkout, is paged and invited.
type pagedSEV1 struct {
	f       *fakeslack.Server
	pd      *fakepagerduty.Server
	k       *klaxon
	clock   *manualClock
	channel string
	pdInc   fakepagerduty.Incident
}

func newPagedSEV1(t *testing.T) *pagedSEV1 {
	t.Helper()
	f := newFake(t, fakeslack.Options{})
	for _, u := range []struct{ id, name, email string }{
		{"U0ALICE1", "alice", "alice@example.com"},
		{"U0ERIN01", "erin", "erin@example.com"},
		{"U0DEE001", "dee", "dee@example.com"},
		{"U0BOB001", "bob", "bob@example.com"},
	} {
		f.AddUser(u.id, u.name)
		f.SetUserEmail(u.id, u.email)
	}
	pd := fakepagerduty.New()
	t.Cleanup(pd.Close)
	clock := &manualClock{now: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
	pd.SetClock(clock.Now)
	pd.AddUser("PU0ALICE", "Alice Oncall", "alice@example.com")
	pd.AddUser("PU0EMGR", "Erin Manager", "erin@example.com")
	pd.AddUser("PU0DEE", "Dee Admin", "dee@example.com")
	pd.AddUser("PU0BOB", "Bob Builder", "bob@example.com")
	pd.AddUser("PU0KLAXON", "Klaxon Bot", "klaxon@example.com")
	pd.AddSchedule("PS0CHKOUT", "Checkout primary", "PU0ALICE")
	pd.AddSchedule("PS0EMGR", "EM on call", "PU0EMGR")
	pd.AddSchedule("PS0DBA", "DBA primary", "PU0DEE")
	pd.AddPolicy("PE0CHKOUT", "Checkout", []string{"PS0CHKOUT"}, []string{"PS0EMGR"})
	pd.AddPolicy("PE0DBA", "Databases", []string{"PS0DBA"})
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
	slash(t, f, "declare sev1 checkout Card payments failing")
	waitReady(t, f, 1)
	ch, ok := f.Channel("inc-1-sev1-card-payments-failing")
	if !ok {
		t.Fatal("no incident channel")
	}
	incs := pd.Incidents()
	if len(incs) != 1 {
		t.Fatalf("PagerDuty incidents after the SEV1: %+v", incs)
	}
	findMessage(t, f, ch.ID, "fake.pagerduty.com/incidents/"+incs[0].ID)
	return &pagedSEV1{f: f, pd: pd, k: k, clock: clock, channel: ch.ID, pdInc: incs[0]}
}

// timeline is incident 1's events of type typ.
func (p *pagedSEV1) timeline(t *testing.T, typ playbook.EventType) []playbook.Event {
	t.Helper()
	evs, err := p.k.app.Timeline(ctxT(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	var out []playbook.Event
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// manualPages are incident 1's page events sent with /incident page.
func (p *pagedSEV1) manualPages(t *testing.T) []playbook.PagePayload {
	t.Helper()
	var out []playbook.PagePayload
	for _, e := range p.timeline(t, playbook.EventPage) {
		if pp, ok := e.Payload.(playbook.PagePayload); ok && pp.Kind == playbook.PageManual {
			out = append(out, pp)
		} else if !ok {
			t.Fatalf("page event with payload %T", e.Payload)
		}
	}
	return out
}

func (p *pagedSEV1) member(user string) bool {
	c, _ := p.f.Channel(p.channel)
	return slices.Contains(c.Members, user)
}

func (p *pagedSEV1) responders() []string {
	for _, inc := range p.pd.Incidents() {
		if inc.ID == p.pdInc.ID {
			return inc.Responders
		}
	}
	return nil
}

// "/incident page" in an incident's channel, in each of its forms: a
// PagerDuty escalation policy (a responder request on the incident's
// PagerDuty incident, the person on call invited), a @user (a responder
// request when PagerDuty knows their e-mail, invited either way) and a
// service (its escalation policy). Each is told in the channel with the
// PagerDuty link and recorded on the timeline with its target. An unknown
// word, an empty command and a command outside an incident channel get an
// ephemeral answer saying what to type, and page nobody.
func TestPageCommandFromTheIncidentChannel(t *testing.T) {
	t.Parallel()
	p := newPagedSEV1(t)
	link := "fake.pagerduty.com/incidents/" + p.pdInc.ID

	// A PagerDuty escalation policy.
	ack := cmdIn(t, p.k, p.f, declarer, p.channel, "page PE0DBA")
	if got := ackText(t, ack); !strings.Contains(got, "Paging") {
		t.Fatalf("ack of a page: %q", got)
	}
	if r := p.responders(); !slices.Equal(r, []string{"escalation_policy:PE0DBA"}) {
		t.Fatalf("responder requests after paging PE0DBA: %v", r)
	}
	m := findMessage(t, p.f, p.channel, "<@"+declarer+"> paged")
	for _, want := range []string{"<@U0DEE001>", "Databases (PagerDuty escalation policy)", link} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("page notice lacks %q: %s", want, m.Text)
		}
	}
	if !p.member("U0DEE001") {
		t.Error("Dee, on call for PE0DBA, was not invited")
	}
	pages := p.manualPages(t)
	if len(pages) != 1 || pages[0].Target != "pagerduty_policy:PE0DBA" || pages[0].SlackUser != "U0DEE001" ||
		pages[0].PagerDutyUser != "PU0DEE" || pages[0].Via != "pagerduty" {
		t.Fatalf("page events after paging PE0DBA: %+v", pages)
	}

	// A @user PagerDuty knows by e-mail: a responder request for them too.
	cmdIn(t, p.k, p.f, declarer, p.channel, "page <@U0BOB001|bob>")
	if r := p.responders(); !slices.Contains(r, "user:PU0BOB") {
		t.Fatalf("responder requests after paging @bob: %v", r)
	}
	m = findMessage(t, p.f, p.channel, "<@U0BOB001>")
	if !strings.Contains(m.Text, "<@"+declarer+"> paged") || !strings.Contains(m.Text, "Bob Builder") {
		t.Errorf("page notice for @bob: %s", m.Text)
	}
	if !p.member("U0BOB001") {
		t.Error("@bob was not invited")
	}
	pages = p.manualPages(t)
	if len(pages) != 2 || pages[1].Target != "U0BOB001" || pages[1].SlackUser != "U0BOB001" || pages[1].PagerDutyUser != "PU0BOB" || pages[1].Via != "pagerduty" {
		t.Fatalf("page events after paging @bob: %+v", pages)
	}

	// A @user unknown to PagerDuty: invited and mentioned in Slack only.
	cmdIn(t, p.k, p.f, declarer, p.channel, "page <@U0OTHER1>")
	if r := p.responders(); len(r) != 2 {
		t.Fatalf("paging someone PagerDuty does not know sent a responder request: %v", r)
	}
	findMessage(t, p.f, p.channel, "<@"+declarer+"> paged <@U0OTHER1>")
	if !p.member("U0OTHER1") {
		t.Error("@other was not invited")
	}
	pages = p.manualPages(t)
	if len(pages) != 3 || pages[2].Target != "U0OTHER1" || pages[2].Via != "slack" || pages[2].PagerDutyUser != "" {
		t.Fatalf("page events after paging @other: %+v", pages)
	}

	// A service: its escalation policy.
	cmdIn(t, p.k, p.f, declarer, p.channel, "page checkout")
	if r := p.responders(); !slices.Contains(r, "escalation_policy:PE0CHKOUT") {
		t.Fatalf("responder requests after paging checkout: %v", r)
	}
	findMessage(t, p.f, p.channel, "Checkout (PagerDuty escalation policy)")
	pages = p.manualPages(t)
	if len(pages) != 4 || pages[3].Target != "pagerduty_policy:PE0CHKOUT" || pages[3].SlackUser != "U0ALICE1" {
		t.Fatalf("page events after paging checkout: %+v", pages)
	}

	// Words that name nobody: an ephemeral answer, nobody paged.
	before, msgs := len(p.responders()), len(p.f.Messages(p.channel))
	for _, c := range []struct{ text, want string }{
		{"page nosuchthing", "is neither a service (checkout, search), a @mention, nor a PagerDuty policy ID (P…). Say whom to page: `/incident page <service>`, `/incident page @someone`"},
		{"page", "Say whom to page: `/incident page <service>`, `/incident page @someone`"},
	} {
		ack := cmdIn(t, p.k, p.f, declarer, p.channel, c.text)
		if got := ackText(t, ack); !strings.Contains(got, c.want) {
			t.Errorf("/incident %s: answer %q, want %q", c.text, got, c.want)
		}
	}
	// A word read as a PagerDuty policy ID PagerDuty does not have (a
	// typo, or a team's name): the answer comes back to the person only
	// (response_url), nobody is paged and the channel is not told.
	for _, word := range []string{"PE0NOPE", "payments", "pagerduty_schedule:PS0NOPE"} {
		posts := len(p.f.ResponseURLPosts())
		cmdIn(t, p.k, p.f, declarer, p.channel, "page "+word)
		rs := p.f.ResponseURLPosts()
		if len(rs) != posts+1 {
			t.Fatalf("/incident page %s: %d answers through the response_url", word, len(rs)-posts)
		}
		want := "PagerDuty has no escalation policy, schedule or user \"" + strings.ToUpper(strings.TrimPrefix(word, "pagerduty_schedule:")) + "\": nobody was paged. Type `/incident page <service>` (known services: checkout, search)"
		if got := rs[len(rs)-1]; !strings.Contains(got.Text, want) || got.ResponseType != "ephemeral" {
			t.Errorf("/incident page %s: answer %+v, want %q (ephemeral)", word, got, want)
		}
	}
	ack = cmdIn(t, p.k, p.f, declarer, general, "page checkout")
	if got := ackText(t, ack); !strings.Contains(got, "works in an incident's channel") {
		t.Errorf("/incident page outside an incident channel: %q", got)
	}
	if len(p.responders()) != before || len(p.f.Messages(p.channel)) != msgs || len(p.manualPages(t)) != 4 {
		t.Fatalf("a refused page paged someone: responders %v, page events %+v", p.responders(), p.manualPages(t))
	}
}

// A redelivered "/incident page" envelope pages once.
func TestPageCommandRedeliveredPagesOnce(t *testing.T) {
	t.Parallel()
	p := newPagedSEV1(t)
	cmdIn(t, p.k, p.f, declarer, p.channel, "page PE0DBA")
	env := p.f.Envelopes()[len(p.f.Envelopes())-1]
	redeliver(t, p.k, p.f, env)
	if r := p.responders(); len(r) != 1 {
		t.Fatalf("responder requests after a redelivered page: %v", r)
	}
	if n := len(p.manualPages(t)); n != 1 {
		t.Fatalf("%d page events after a redelivered page", n)
	}
	notices := 0
	for _, m := range p.f.Messages(p.channel) {
		if strings.Contains(m.Text, "<@"+declarer+"> paged") {
			notices++
		}
	}
	if notices != 1 {
		t.Fatalf("%d page notices after a redelivered page", notices)
	}
}

// PagerDuty's webhooks about the incident Klaxon opened, signed as
// PagerDuty signs them and sent to the route's handler: incident.escalated
// and incident.reassigned go on the timeline with the new assignees;
// incident.resolved goes on the timeline and the channel is told, but
// Klaxon's incident stays open (its gates decide). A redelivery changes
// nothing twice and an unsigned event nothing at all.
func TestPagerDutyChangesOnKlaxonsIncident(t *testing.T) {
	t.Parallel()
	p := newPagedSEV1(t)
	const secret = "whsec-test"
	srv := httptest.NewServer(pagerduty.WebhookHandler(secret, p.k.app, nil))
	t.Cleanup(srv.Close)
	send := func(ev fakepagerduty.WebhookEvent, secrets ...string) int {
		t.Helper()
		code, err := fakepagerduty.Send(srv.URL, ev, secrets...)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	pdEvents := func() []playbook.PagerDutyPayload {
		var out []playbook.PagerDutyPayload
		for _, e := range p.timeline(t, playbook.EventPagerDuty) {
			if pp, ok := e.Payload.(playbook.PagerDutyPayload); ok && strings.HasPrefix(pp.Event, "incident.") {
				out = append(out, pp)
			}
		}
		return out
	}

	p.clock.Advance(time.Minute)
	esc, err := p.pd.Escalate(p.pdInc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if code := send(esc, secret); code != http.StatusAccepted {
		t.Fatalf("incident.escalated: %d", code)
	}
	p.clock.Advance(time.Minute)
	re, err := p.pd.Reassign(p.pdInc.ID, "PU0EMGR", "PU0BOB")
	if err != nil {
		t.Fatal(err)
	}
	if code := send(re, secret); code != http.StatusAccepted {
		t.Fatalf("incident.reassigned: %d", code)
	}
	got := pdEvents()
	if len(got) != 2 ||
		got[0].Event != "incident.escalated" || got[0].Incident != p.pdInc.ID || got[0].Summary != "now assigned to Erin Manager" ||
		got[1].Event != "incident.reassigned" || got[1].Agent != "Erin Manager" || got[1].Summary != "now assigned to Bob Builder" {
		t.Fatalf("timeline after escalated and reassigned: %+v", got)
	}

	p.clock.Advance(time.Minute)
	res, err := p.pd.Resolve(p.pdInc.ID, "PU0ALICE")
	if err != nil {
		t.Fatal(err)
	}
	if code := send(res); code != http.StatusUnauthorized {
		t.Fatalf("unsigned incident.resolved: %d", code)
	}
	if n := len(pdEvents()); n != 2 {
		t.Fatalf("an unsigned webhook changed the timeline: %+v", pdEvents())
	}
	for range 2 { // delivered, then redelivered
		if code := send(res, secret); code != http.StatusAccepted {
			t.Fatalf("incident.resolved: %d", code)
		}
	}
	got = pdEvents()
	if len(got) != 3 || got[2].Event != "incident.resolved" || got[2].Agent != "Alice Oncall" || got[2].Incident != p.pdInc.ID {
		t.Fatalf("timeline after resolved (twice): %+v", got)
	}
	told := 0
	for _, m := range p.f.Messages(p.channel) {
		if strings.Contains(m.Text, "was resolved in PagerDuty") {
			told++
			if !strings.Contains(m.Text, p.pdInc.ID) || !strings.Contains(m.Text, "incident #1 stays investigating") {
				t.Errorf("resolved notice: %s", m.Text)
			}
		}
	}
	if told != 1 {
		t.Fatalf("the channel was told %d times that PagerDuty resolved its incident", told)
	}
	inc, err := p.k.app.IncidentIn(ctxT(t), p.channel)
	if err != nil {
		t.Fatal(err)
	}
	if !inc.Status.Open() || inc.Status != playbook.StatusInvestigating {
		t.Fatalf("PagerDuty's resolution changed Klaxon's incident to %s", inc.Status)
	}
	if s := statusIn(t, p.f, p.channel); !strings.Contains(strings.ToLower(s), "investigating") {
		t.Fatalf("status after PagerDuty resolved: %s", s)
	}
}

// Without PagerDuty, "/incident page" reaches people in Slack: a @user is
// mentioned and invited, a service pages its team's Slack group
// (services[].team → teams), each recorded with its target; a PagerDuty policy ID gets
// an ephemeral answer that PagerDuty is off and what to type instead.
func TestPageCommandWithoutPagerDuty(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	f.AddUser("U0PAYDEV", "paydev")
	f.AddUserGroup("S0PAY", "payments", "U0PAYDEV")
	f.AddUser("U0SRCHDV", "searchdev")
	f.AddUserGroup("S0SEARCH", "search", "U0SRCHDV")
	svcs := slices.Clone(services)
	svcs[0].Team, svcs[1].Team = "@acme/payments", "@acme/search"
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"), func(app *playbook.Deps, _ *bot.Adapter) {
		app.Services = svcs
		app.Teams = []playbook.Team{{GitHub: "@acme/payments", SlackGroup: "S0PAY"}, {GitHub: "@acme/search", SlackGroup: "S0SEARCH"}}
	})
	slash(t, f, "declare sev3 checkout Receipts arrive late")
	waitReady(t, f, 1)
	ch, ok := f.Channel("inc-1-sev3-receipts-arrive-late")
	if !ok {
		t.Fatal("no incident channel")
	}
	manual := func() []playbook.PagePayload {
		evs, err := k.app.Timeline(ctxT(t), 1)
		if err != nil {
			t.Fatal(err)
		}
		var out []playbook.PagePayload
		for _, e := range evs {
			if pp, ok := e.Payload.(playbook.PagePayload); ok && e.Type == playbook.EventPage && pp.Kind == playbook.PageManual {
				out = append(out, pp)
			}
		}
		return out
	}
	member := func(u string) bool {
		c, _ := f.Channel(ch.ID)
		return slices.Contains(c.Members, u)
	}

	cmdIn(t, k, f, declarer, ch.ID, "page <@U0SRE001>")
	findMessage(t, f, ch.ID, "<@"+declarer+"> paged <@U0SRE001>")
	if !member("U0SRE001") {
		t.Error("@sre was not invited")
	}
	if pages := manual(); len(pages) != 1 || pages[0].Target != "U0SRE001" || pages[0].Via != "slack" {
		t.Fatalf("page events after paging @sre: %+v", pages)
	}

	// Another service than the incident's (whose team the SEV3 told).
	if member("U0SRCHDV") {
		t.Fatal("the search group's member is in the channel before the page")
	}
	cmdIn(t, k, f, declarer, ch.ID, "page search")
	findMessage(t, f, ch.ID, "<@"+declarer+"> paged <!subteam^S0SEARCH>")
	if !member("U0SRCHDV") {
		t.Error("the search group's member was not invited")
	}
	if pages := manual(); len(pages) != 2 || pages[1].Target != "S0SEARCH" || pages[1].Via != "slack" {
		t.Fatalf("page events after paging search: %+v", pages)
	}

	msgs := len(f.Messages(ch.ID))
	cmdIn(t, k, f, declarer, ch.ID, "page PE0DBA")
	if got := lastResponse(f); !strings.Contains(got, "PagerDuty is not configured, so Klaxon cannot page pagerduty_policy:PE0DBA. Mention the people instead: `/incident page @someone`") {
		t.Errorf("/incident page PE0DBA without PagerDuty: %q", got)
	}
	if len(f.Messages(ch.ID)) != msgs || len(manual()) != 2 {
		t.Fatalf("a page PagerDuty could not send was told in the channel or recorded: %+v", manual())
	}
}
