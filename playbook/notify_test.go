package playbook_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/github"
	"github.com/klaxonhq/klaxon/internal/fakegithub"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

// withGitHub gives the harness the real GitHub adapter (go-github) against
// the fake: CODEOWNERS of acme/checkout name @acme/payments and the user
// @octo (a collaborator, so assignable).
func (h *pagingHarness) withGitHub(t *testing.T) *fakegithub.Server {
	t.Helper()
	f := fakegithub.New()
	t.Cleanup(f.Close)
	f.AddRepo("acme/checkout", "main", "octo")
	f.PutFile("acme/checkout", "main", ".github/CODEOWNERS", []byte("# owners\n*  @acme/payments @octo\n/db/ @acme/dba\n"))
	c, err := github.New(github.Options{APIURL: f.URL(), Token: fakegithub.Token})
	if err != nil {
		t.Fatal(err)
	}
	h.app.Deps().Services[0].Repo = "acme/checkout"
	h.app.Deps().Tickets, h.app.Deps().Owners = c, c.Owners(0)
	h.app.Deps().RenderOwnerIssue = templates.MustDefault().RenderOwnerIssue
	return f
}

func (h *pagingHarness) ownerNotices() []playbook.PageNotice {
	var out []playbook.PageNotice
	for _, n := range h.chat.sent() {
		if n.Kind == playbook.PageOwners {
			out = append(out, n)
		}
	}
	return out
}

func eventsOf(evs []playbook.Event, typ playbook.EventType) []playbook.Event {
	var out []playbook.Event
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// SEV3 pages nobody: with GitHub configured, the owning team found in the
// service's CODEOWNERS gets one issue in the service's repo (labelled for
// the team, assigned to its user owners, mentioning the team), posted in
// the channel and on the timeline. A redelivered declaration, a second
// setup and a restart open no second issue; PagerDuty is never called.
func TestSEV3OpensOneGitHubIssueForTheOwningTeam(t *testing.T) {
	h := newPagingHarness(t, true)
	gh := h.withGitHub(t)
	h.app.Deps().Teams = []playbook.Team{{GitHub: "@acme/payments", SlackGroup: "S0PAY"}}
	inc := h.declared(t, playbook.SEV3)

	issues := gh.Issues("acme/checkout")
	if len(issues) != 1 {
		t.Fatalf("%d issues, want 1", len(issues))
	}
	it := issues[0]
	if !strings.HasPrefix(it.Title, "[INC-1] SEV3: Card payments failing") || !strings.Contains(it.Body, "tells the owning team here: @acme/payments, @octo.") {
		t.Errorf("issue: %q\n%s", it.Title, it.Body)
	}
	for _, l := range []string{"klaxon", "incident", "sev3", "team:payments"} {
		if !slices.Contains(it.Labels, l) {
			t.Errorf("labels %v lack %q", it.Labels, l)
		}
	}
	if !slices.Equal(it.Assignees, []string{"octo"}) {
		t.Errorf("assignees %v", it.Assignees)
	}
	got := h.get(t, inc.Number)
	if got.Paging.Notify || got.Paging.Told != "github" || got.Paging.OwnerIssue == nil || got.Paging.OwnerIssue.Number != it.Number {
		t.Fatalf("paging state %+v", got.Paging)
	}
	if _, ok := got.Checked[playbook.ItemOwnerPaged]; !ok {
		t.Error("owner item not checked once the team was told")
	}
	if _, ok := got.At(playbook.PhaseAcknowledged); !ok {
		t.Error("no page went out, so the declarer's acknowledgement should stand")
	}
	told := eventsOf(h.timeline(t, inc.Number), playbook.EventOwnersTold)
	if len(told) != 1 || told[0].Payload.(playbook.OwnersToldPayload).Via != "github" || told[0].Payload.(playbook.OwnersToldPayload).URL != it.HTMLURL {
		t.Fatalf("timeline: %+v", told)
	}
	var pm playbook.Postmortem
	h.app.Deps().RenderPostmortem = func(p playbook.Postmortem) ([]byte, error) { pm = withSentences(p); return nil, nil }
	if _, _, err := h.app.RenderOutline(context.Background(), got); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(pm.Timeline, func(e playbook.PostmortemEvent) bool {
		return e.Text == "Klaxon told the owning team @acme/payments, @octo: GitHub issue acme/checkout#1" && e.Link == it.HTMLURL
	}) {
		t.Errorf("the post-mortem timeline lacks the issue: %+v", pm.Timeline)
	}
	if n := h.ownerNotices(); len(n) != 1 || n[0].Issue == nil || n[0].Issue.URL != it.HTMLURL || n[0].Team != "@acme/payments, @octo" {
		t.Fatalf("channel notice: %+v", n)
	}
	if len(h.pd.Incidents()) != 0 || len(eventsOf(h.timeline(t, inc.Number), playbook.EventPage)) != 0 {
		t.Fatal("a tier that pages nobody paged")
	}

	// The declaration redelivered, the setup run again: nothing twice.
	if _, created, err := h.app.Declare(context.Background(), playbook.DeclareRequest{Key: "Ev0001", Title: "Card payments failing",
		Severity: playbook.SEV3, Service: "checkout", Declarer: "U0DECLARER", Origin: "C0GENERAL"}); err != nil || created {
		t.Fatalf("redelivery: created %v, %v", created, err)
	}
	if _, err := h.app.SetUp(context.Background(), inc.Number); err != nil {
		t.Fatal(err)
	}
	// A stop after GitHub filed the issue but before Klaxon recorded it:
	// the start adopts that issue.
	if _, err := h.store.Update(context.Background(), inc.Number, func(i *playbook.Incident) ([]playbook.Event, error) {
		i.Paging.Notify, i.Paging.OwnerIssue, i.Paging.Told = true, nil, ""
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.app.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(gh.Issues("acme/checkout")); n != 1 {
		t.Fatalf("%d issues after a redelivery and a restart, want 1", n)
	}
	if got := h.get(t, inc.Number); got.Paging.Notify || got.Paging.OwnerIssue == nil || got.Paging.OwnerIssue.Number != it.Number {
		t.Fatalf("after the restart: %+v", got.Paging)
	}
}

// Without GitHub, the team named by services[].team is told through its
// Slack group: mentioned in the channel and its members invited.
func TestSEV4WithoutGitHubTellsTheTeamsSlackGroup(t *testing.T) {
	h := newPagingHarness(t, false)
	h.app.Deps().Services[0].Team = "@acme/payments"
	h.app.Deps().Teams = []playbook.Team{{GitHub: "@acme/payments", SlackGroup: "S0PAY"}}
	inc := h.declared(t, playbook.SEV4)
	n := h.ownerNotices()
	if len(n) != 1 || n[0].Issue != nil || !slices.Equal(n[0].Slack, []string{"S0PAY"}) || n[0].Team != "@acme/payments" {
		t.Fatalf("notice: %+v", n)
	}
	if !slices.ContainsFunc(h.ch.invites, func(c inviteCall) bool { return slices.Contains(c.IDs, "S0PAY") }) {
		t.Fatal("the team's group was not invited")
	}
	got := h.get(t, inc.Number)
	told := eventsOf(h.timeline(t, inc.Number), playbook.EventOwnersTold)
	if got.Paging.Told != "slack" || len(told) != 1 || told[0].Payload.(playbook.OwnersToldPayload).SlackGroup != "S0PAY" {
		t.Fatalf("told %q, timeline %+v", got.Paging.Told, told)
	}
}

// GitHub down: with a Slack group, the team is told there (and the channel
// says why); without one, the step fails with the Retry button and the
// issue is opened at the next start.
func TestSEV3GitHubDown(t *testing.T) {
	h := newPagingHarness(t, false)
	gh := h.withGitHub(t)
	h.app.Deps().Teams = []playbook.Team{{GitHub: "@acme/payments", SlackGroup: "S0PAY"}}
	gh.Fail("POST", "/repos/acme/checkout/issues", fakegithub.Fault{Status: http.StatusBadGateway, Times: 1})
	inc := h.declared(t, playbook.SEV3)
	n := h.ownerNotices()
	if len(n) != 1 || !slices.Equal(n[0].Slack, []string{"S0PAY"}) || len(n[0].Problems) == 0 || n[0].Problems[0].Kind != playbook.ProblemIssueFailed {
		t.Fatalf("fallback notice: %+v", n)
	}
	if got := h.get(t, inc.Number); got.Paging.Told != "slack" {
		t.Fatalf("told %q", got.Paging.Told)
	}

	h.app.Deps().Teams = nil // no Slack group to fall back on
	gh.Fail("POST", "/repos/acme/checkout/issues", fakegithub.Fault{Status: http.StatusBadGateway, Times: 1})
	inc = h.declared(t, playbook.SEV3)
	got := h.get(t, inc.Number)
	if !got.Paging.Notify || got.Failures[playbook.StepNotifyOwners] != 1 {
		t.Fatalf("GitHub down without a group: %+v, failures %v", got.Paging, got.Failures)
	}
	if err := h.app.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	got = h.get(t, inc.Number)
	if got.Paging.Notify || got.Paging.OwnerIssue == nil || len(gh.Issues("acme/checkout")) != 1 {
		t.Fatalf("not filed at start: %+v", got.Paging)
	}
}

// groups is a Directory of fixed Slack groups.
type groups map[string][]string

func (g groups) GroupMembers(_ context.Context, id string) ([]string, error) { return g[id], nil }
func (g groups) Member(group, user string) (bool, bool) {
	m, ok := g[group]
	return slices.Contains(m, user), ok
}

// Without PagerDuty, a paged person arriving in the channel acknowledges
// the page (once): a member of the paged group joining by themselves, or
// brought in by a person. Klaxon's own invite (the page itself), someone
// never paged, and anyone while a PagerDuty incident is open do not.
func TestOwnerJoiningAcknowledgesASlackPage(t *testing.T) {
	h := newPagingHarness(t, false)
	h.app.Deps().Services[0].Team = "@acme/payments"
	h.app.Deps().Teams = []playbook.Team{{GitHub: "@acme/payments", SlackGroup: "S0PAY"}}
	h.app.Deps().Directory = groups{"S0PAY": {"U0PAYDEV", "U0PAYLEAD"}}
	h.app.Deps().Roles[playbook.RoleEngineeringManager] = []playbook.Target{{Kind: playbook.TargetSlackUser, ID: "U0EMSLACK"}}
	inc := h.declared(t, playbook.SEV1)
	if _, _, ok := h.get(t, inc.Number).Acknowledged(); ok {
		t.Fatal("acknowledged at declaration")
	}
	ctx := context.Background()
	join := func(key, user string, byKlaxon bool) bool {
		t.Helper()
		first, err := h.app.Joined(ctx, playbook.Join{Key: key, Channel: h.get(t, inc.Number).Channel.ID, User: user, ByKlaxon: byKlaxon, At: h.clock.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return first
	}
	if join("j1", "U0PAYDEV", true) {
		t.Fatal("Klaxon's own invite counted as an acknowledgement")
	}
	if join("j2", "U0STRANGER", false) {
		t.Fatal("someone never paged acknowledged")
	}
	h.clock.Set(h.clock.Now().Add(2 * time.Minute))
	if !join("j3", "U0PAYDEV", false) {
		t.Fatal("a paged group's member joining did not acknowledge")
	}
	if join("j3", "U0PAYDEV", false) || join("j4", "U0PAYLEAD", false) {
		t.Fatal("a second acknowledgement was recorded")
	}
	got := h.get(t, inc.Number)
	by, at, ok := got.Acknowledged()
	if !ok || by != "U0PAYDEV" || !at.Equal(h.clock.Now()) {
		t.Fatalf("acknowledged by %q at %v (%v)", by, at, ok)
	}
	if ttk, _ := got.TimeToAcknowledge(); ttk != 2*time.Minute {
		t.Fatalf("time to acknowledge %v", ttk)
	}
	if _, ok := got.Checked[playbook.ItemOwnerPaged]; !ok {
		t.Fatal("owner item not checked")
	}
	acks := eventsOf(h.timeline(t, inc.Number), playbook.EventPageAcknowledged)
	if len(acks) != 1 || acks[0].Payload.(playbook.AckPayload).Source != "join" {
		t.Fatalf("acknowledgements: %+v", acks)
	}
	// Acknowledged: the EM step (if unacknowledged) does not fire.
	h.at(t, 5*time.Minute)
	if e := h.escalations(); len(e) != 0 {
		t.Fatalf("escalated after the owner joined: %v", e)
	}

	// With a PagerDuty incident open, PagerDuty says who acknowledged.
	hp := newPagingHarness(t, true)
	pinc := hp.declared(t, playbook.SEV1)
	if first, err := hp.app.Joined(ctx, playbook.Join{Key: "p1", Channel: pinc.Channel.ID, User: "U0ALICE"}); err != nil || first {
		t.Fatalf("a join acknowledged a PagerDuty page: %v %v", first, err)
	}
}
