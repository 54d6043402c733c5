package playbook_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakepagerduty"
	"github.com/klaxonhq/klaxon/pagerduty"
	"github.com/klaxonhq/klaxon/playbook"
)

// fakePageChat finds Slack users by e-mail and records the page notices.
type fakePageChat struct {
	mu      sync.Mutex
	byEmail map[string]string
	notices []playbook.PageNotice
}

func (f *fakePageChat) UserByEmail(_ context.Context, email string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byEmail[strings.ToLower(email)], nil
}

func (f *fakePageChat) EmailOf(_ context.Context, id string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for e, u := range f.byEmail {
		if u == id {
			return e, nil
		}
	}
	return "", nil
}

func (f *fakePageChat) PostPage(_ context.Context, _ playbook.Briefing, n playbook.PageNotice) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notices = append(f.notices, n)
	return nil
}

func (f *fakePageChat) sent() []playbook.PageNotice {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.notices)
}

// pagingHarness is the harness with PagerDuty (the fake, through
// go-pagerduty) and the default matrix's roles mapped.
type pagingHarness struct {
	*harness
	pd   *fakepagerduty.Server
	chat *fakePageChat
}

func newPagingHarness(t *testing.T, withPD bool) *pagingHarness {
	t.Helper()
	h := &pagingHarness{harness: newHarness(t), chat: &fakePageChat{byEmail: map[string]string{
		"alice@example.com": "U0ALICE", "erin@example.com": "U0ERIN", "victor@example.com": "U0VICTOR",
	}}}
	h.clock.Set(time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC))
	h.app.Deps().PageChat = h.chat
	h.app.Deps().Services[0].PagerDuty = playbook.ServicePagerDuty{Service: "PSVC0CHK", EscalationPolicy: "PE0CHKOUT"}
	h.app.Deps().Roles = map[string][]playbook.Target{
		playbook.RoleEngineeringManager: {{Kind: playbook.TargetPDSchedule, ID: "PS0EMGR"}},
		playbook.RoleVPEngineering:      {{Kind: playbook.TargetPDUser, ID: "PU0VPENG"}},
		playbook.RoleCEO:                {{Kind: playbook.TargetSlackUser, ID: "U0CEO001"}},
	}
	if withPD {
		f := fakepagerduty.New()
		t.Cleanup(f.Close)
		f.SetClock(h.clock.Now)
		f.AddUser("PU0ALICE", "Alice Oncall", "alice@example.com")
		f.AddUser("PU0EMGR", "Erin Manager", "erin@example.com")
		f.AddUser("PU0VPENG", "Victor VP", "victor@example.com")
		f.AddUser("PU0KLAXON", "Klaxon Bot", "klaxon@example.com")
		f.AddSchedule("PS0CHKOUT", "Checkout primary", "PU0ALICE")
		f.AddSchedule("PS0EMGR", "EM on call", "PU0EMGR")
		f.AddPolicy("PE0CHKOUT", "Checkout", []string{"PS0CHKOUT"}, []string{"PS0EMGR"})
		f.AddService("PSVC0CHK", "Checkout", "PE0CHKOUT")
		c := pagerduty.New(pagerduty.Options{APIURL: f.URL(), EventsURL: f.EventsURL(), Token: fakepagerduty.Token,
			From: "klaxon@example.com", Backoff: time.Millisecond, Attempts: 3})
		h.app.Deps().Pager, h.app.Deps().OnCalls, h.pd = c, c, f
	}
	return h
}

func (h *pagingHarness) declared(t *testing.T, sev playbook.Severity) playbook.Incident {
	t.Helper()
	inc := h.declare(t, "Card payments failing", sev, "checkout")
	if _, err := h.app.SetUp(context.Background(), inc.Number); err != nil {
		t.Fatal(err)
	}
	return h.get(t, inc.Number)
}

func (h *pagingHarness) at(t *testing.T, d time.Duration) {
	t.Helper()
	h.clock.Set(time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC).Add(d))
	if _, err := h.app.Tick(context.Background(), h.clock.Now()); err != nil {
		t.Fatal(err)
	}
}

func (h *pagingHarness) ack(t *testing.T, inc playbook.Incident, user string) {
	t.Helper()
	ev, err := h.pd.Acknowledge(inc.Paging.PD.ID, user)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pagerduty.DecodeWebhook(ev.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.app.PagerDutyEvent(context.Background(), got); err != nil {
		t.Fatal(err)
	}
}

// escalations lists the escalation notices' step numbers.
func (h *pagingHarness) escalations() []int {
	var out []int
	for _, n := range h.chat.sent() {
		if n.Kind == playbook.PageEscalation {
			out = append(out, n.Index)
		}
	}
	return out
}

func pagedPeople(evs []playbook.Event) []string {
	var out []string
	for _, e := range evs {
		if e.Type == playbook.EventPage {
			out = append(out, e.Payload.(playbook.PagePayload).Person)
		}
	}
	return out
}

func TestDeclarationPagesTheOnCallAndAckEndsDetection(t *testing.T) {
	h := newPagingHarness(t, true)
	inc := h.declared(t, playbook.SEV1)
	if inc.Paging == nil || inc.Paging.PD.ID == "" || inc.Paging.Pending {
		t.Fatalf("paging after setup: %+v", inc.Paging)
	}
	if _, acked := inc.At(playbook.PhaseAcknowledged); acked {
		t.Fatal("a paged SEV1 counted as acknowledged before anyone acknowledged")
	}
	if _, ok := inc.Checked[playbook.ItemOwnerPaged]; !ok {
		t.Fatal("owner-paged item not checked")
	}
	notices := h.chat.sent()
	// Alice, found in Slack by e-mail, is mentioned, not named a second time.
	if len(notices) != 1 || notices[0].Link == "" || !slices.Equal(notices[0].Slack, []string{"U0ALICE"}) || len(notices[0].PagerDuty) != 0 {
		t.Fatalf("page notice: %+v", notices)
	}
	if !slices.ContainsFunc(h.ch.invites, func(c inviteCall) bool { return slices.Contains(c.IDs, "U0ALICE") }) {
		t.Fatalf("on-call not invited: %+v", h.ch.invites)
	}
	if got := pagedPeople(h.timeline(t, inc.Number)); !slices.Equal(got, []string{"U0ALICE"}) {
		t.Fatalf("page events for %v", got)
	}
	// Acknowledged in time, a commander at 3 min: no escalation fires.
	h.clock.Set(h.clock.Now().Add(2 * time.Minute))
	h.ack(t, inc, "PU0ALICE")
	if _, _, _, err := h.app.AssignCommander(context.Background(), inc.Number, "U0ALICE", "U0ALICE", "ic1"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Duration{5 * time.Minute, 10 * time.Minute} {
		h.at(t, d)
	}
	if e := h.escalations(); len(e) != 0 {
		t.Fatalf("escalated after an acknowledgement in time: %v", e)
	}
	inc = h.get(t, inc.Number)
	by, at, ok := inc.Acknowledged()
	ttk, _ := inc.TimeToAcknowledge()
	if !ok || by != "U0ALICE" || !at.Equal(time.Date(2026, 12, 5, 10, 2, 0, 0, time.UTC)) || ttk != 2*time.Minute {
		t.Fatalf("acknowledged by %q at %v (%v), ttk %v", by, at, ok, ttk)
	}
	// The channel is told, once.
	acked := func() (n int, text string) {
		for _, c := range h.post.noticesCopy() {
			if strings.Contains(c.Text, "acknowledged the page") {
				n, text = n+1, c.Text
			}
		}
		return n, text
	}
	if n, text := acked(); n != 1 || text != ":white_check_mark: <@U0ALICE> acknowledged the page in PagerDuty, 2 min after detection." {
		t.Fatalf("%d acknowledgement notices, the last %q", n, text)
	}
	// A redelivered webhook or a second acknowledgement changes nothing.
	h.ack(t, inc, "PU0EMGR")
	if by, _, _ := h.get(t, inc.Number).Acknowledged(); by != "U0ALICE" {
		t.Fatalf("a second acknowledgement replaced the first: %s", by)
	}
	if n, _ := acked(); n != 1 {
		t.Fatalf("a second acknowledgement told the channel again (%d notices)", n)
	}
	if n := countEvents(h.timeline(t, inc.Number), playbook.EventPageAcknowledged); n != 1 {
		t.Fatalf("%d acknowledged events", n)
	}
}

func TestUnacknowledgedPagesTheEMAtFiveMinutesAndVPAtTen(t *testing.T) {
	h := newPagingHarness(t, true)
	inc := h.declared(t, playbook.SEV1)
	h.at(t, 4*time.Minute+59*time.Second)
	if e := h.escalations(); len(e) != 0 {
		t.Fatalf("escalated early: %v", e)
	}
	h.at(t, 5*time.Minute)
	if e := h.escalations(); !slices.Equal(e, []int{1}) {
		t.Fatalf("at 5 min: %v", e)
	}
	n := h.chat.sent()[1]
	if !slices.Contains(n.PagerDuty, "EM on call (PagerDuty schedule)") || !slices.Equal(n.Slack, []string{"U0ERIN"}) {
		t.Fatalf("EM step notice: %+v", n)
	}
	if got := h.pd.Incidents()[0].Responders; !slices.Equal(got, []string{"schedule:PS0EMGR"}) {
		t.Fatalf("responder requests %v", got)
	}
	// Triage not started at 10 min: VP Engineering.
	h.at(t, 10*time.Minute)
	if e := h.escalations(); !slices.Equal(e, []int{1, 2}) {
		t.Fatalf("at 10 min: %v", e)
	}
	if got := h.pd.Incidents()[0].Responders; !slices.Equal(got, []string{"schedule:PS0EMGR", "user:PU0VPENG"}) {
		t.Fatalf("responder requests %v", got)
	}
	// The same tick again (a second replica, a restart) fires nothing more.
	h.at(t, 10*time.Minute)
	if e := h.escalations(); !slices.Equal(e, []int{1, 2}) {
		t.Fatalf("repeated: %v", e)
	}
	if got := pagedPeople(h.timeline(t, inc.Number)); !slices.Equal(got, []string{"U0ALICE", "U0ERIN", "U0VICTOR"}) {
		t.Fatalf("paged %v", got)
	}
}

func TestTriageStartedSkipsTheVPStep(t *testing.T) {
	h := newPagingHarness(t, true)
	inc := h.declared(t, playbook.SEV1)
	h.clock.Set(h.clock.Now().Add(8 * time.Minute))
	if _, _, _, err := h.app.AssignCommander(context.Background(), inc.Number, "U0ALICE", "U0ALICE", "ic"); err != nil {
		t.Fatal(err)
	}
	h.at(t, 10*time.Minute)
	if e := h.escalations(); !slices.Equal(e, []int{1}) {
		t.Fatalf("fired %v, want only the EM step (unacknowledged)", e)
	}
	if n := countEvents(h.timeline(t, inc.Number), playbook.EventEscalationSkipped); n != 1 {
		t.Fatalf("%d skipped events", n)
	}
}

func TestResolvedBeforeAStepFiresNothingAndResolvesPagerDuty(t *testing.T) {
	h := newPagingHarness(t, true)
	inc := h.declared(t, playbook.SEV1)
	h.clock.Set(h.clock.Now().Add(4 * time.Minute))
	if _, err := h.store.Update(context.Background(), inc.Number, func(i *playbook.Incident) ([]playbook.Event, error) {
		return nil, i.Resolve(h.app.Deps().Tiers.Get(i.Severity), h.clock.Now())
	}); err != nil {
		t.Fatal(err)
	}
	h.at(t, 4*time.Minute)
	if st := h.pd.Incidents()[0].Status; st != "resolved" {
		t.Fatalf("PagerDuty incident %s after the all-clear", st)
	}
	h.at(t, 30*time.Minute)
	if e := h.escalations(); len(e) != 0 {
		t.Fatalf("escalated a resolved incident: %v", e)
	}
}

func TestSeverityChangeReplansTheStepsLeft(t *testing.T) {
	h := newPagingHarness(t, true)
	inc := h.declared(t, playbook.SEV2)
	h.clock.Set(h.clock.Now().Add(10 * time.Minute))
	if _, _, _, err := h.app.ChangeSeverity(context.Background(), inc.Number, playbook.SEV1, "U0DECLARER", "wider", "sev"); err != nil {
		t.Fatal(err)
	}
	// SEV2's EM step (15 min) is gone; SEV1's count from the change.
	h.at(t, 14*time.Minute+59*time.Second)
	if e := h.escalations(); len(e) != 0 {
		t.Fatalf("fired before 10+5 min: %v", e)
	}
	h.at(t, 15*time.Minute)
	if e := h.escalations(); !slices.Equal(e, []int{1}) {
		t.Fatalf("at 15 min: %v", e)
	}
	h.at(t, 20*time.Minute)
	if e := h.escalations(); !slices.Equal(e, []int{1, 2}) {
		t.Fatalf("at 20 min: %v", e)
	}
	// Back down to SEV2: its EM step names the EM fired already: not again.
	if _, _, _, err := h.app.ChangeSeverity(context.Background(), inc.Number, playbook.SEV2, "U0DECLARER", "", "sev2"); err != nil {
		t.Fatal(err)
	}
	h.at(t, 40*time.Minute)
	if e := h.escalations(); !slices.Equal(e, []int{1, 2}) {
		t.Fatalf("after going back to SEV2: %v", e)
	}
}

func TestRestartMidWayLosesOrRepeatsNoStep(t *testing.T) {
	h := newPagingHarness(t, true)
	inc := h.declared(t, playbook.SEV1)
	// Klaxon stopped at 3 min and came back at 12: both steps due fire once.
	h.at(t, 3*time.Minute)
	h.app = playbook.New(playbook.Deps{Store: h.store, Channels: h.ch, Poster: h.post, Clock: h.clock, Tiers: h.app.Deps().Tiers,
		Services: h.app.Deps().Services, Pager: h.app.Deps().Pager, OnCalls: h.app.Deps().OnCalls, PageChat: h.chat, Roles: h.app.Deps().Roles})
	if err := h.app.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.at(t, 12*time.Minute)
	h.at(t, 12*time.Minute)
	if e := h.escalations(); !slices.Equal(e, []int{1, 2}) {
		t.Fatalf("after the restart: %v", e)
	}
	// A stop between claiming a step and paging: the restart finishes it once.
	if _, err := h.store.Update(context.Background(), inc.Number, func(i *playbook.Incident) ([]playbook.Event, error) {
		i.Paging.Steps[2].State = playbook.StepFiring
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.app.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.app.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.at(t, 25*time.Minute)
	if e := h.escalations(); !slices.Equal(e, []int{1, 2, 3}) {
		t.Fatalf("claimed step after restarts: %v", e)
	}
}

func TestRedeliveredDeclarationOpensOnePagerDutyIncident(t *testing.T) {
	h := newPagingHarness(t, true)
	req := playbook.DeclareRequest{Key: "Ev-same", Title: "Down", Severity: playbook.SEV1, Service: "checkout", Declarer: "U0DECLARER"}
	ctx := context.Background()
	for range 2 {
		inc, _, err := h.app.Declare(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.app.SetUp(ctx, inc.Number); err != nil {
			t.Fatal(err)
		}
	}
	// A crash after PagerDuty opened the incident but before Klaxon stored
	// it: the retry adopts the open incident with the same key.
	if _, err := h.store.Update(ctx, 1, func(i *playbook.Incident) ([]playbook.Event, error) {
		i.Paging.PD, i.Paging.Pending = playbook.PageRef{}, true
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.app.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(h.pd.Incidents()); n != 1 {
		t.Fatalf("%d PagerDuty incidents, want 1", n)
	}
	if got := h.get(t, 1).Paging.PD.ID; got != h.pd.Incidents()[0].ID {
		t.Fatalf("adopted %q", got)
	}
}

func TestPagerDutyDownDeclaresAndRetriesAtStart(t *testing.T) {
	h := newPagingHarness(t, true)
	h.pd.Fail(http.MethodPost, "/incidents", http.StatusServiceUnavailable, 1_000_000)
	inc := h.declare(t, "Down", playbook.SEV1, "checkout")
	res, err := h.app.SetUp(context.Background(), inc.Number)
	if err != nil {
		t.Fatalf("PagerDuty down failed the declaration: %v", err)
	}
	if _, failed := res.Failed[playbook.StepPage]; !failed || !res.Incident.Done(playbook.StepAnnounce) {
		t.Fatalf("setup: failed %v, announced %v", res.Failed, res.Incident.Done(playbook.StepAnnounce))
	}
	if notices := h.post.noticesCopy(); len(notices) != 1 || !strings.Contains(notices[0].Text, "page the on-call engineer") {
		t.Fatalf("the channel was not told: %+v", notices)
	}
	// PagerDuty is back; Klaxon restarts and pages.
	h.pd.Heal()
	if err := h.app.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := h.get(t, inc.Number)
	if got.Paging.Pending || got.Paging.PD.ID == "" || len(h.pd.Incidents()) != 1 {
		t.Fatalf("not paged at start: %+v", got.Paging)
	}
	if got := pagedPeople(h.timeline(t, inc.Number)); !slices.Equal(got, []string{"U0ALICE"}) {
		t.Fatalf("paged %v", got)
	}
}

type fakeOwners struct{ rule playbook.OwnerRule }

func (f fakeOwners) Owner(_ context.Context, repo, path string) (playbook.OwnerRule, bool, error) {
	r := f.rule
	r.Repo = repo
	return r, true, nil
}

func TestWithoutPagerDutyTheMatrixRunsInSlack(t *testing.T) {
	h := newPagingHarness(t, false)
	h.app.Deps().Services[0].Repo = "acme/checkout"
	h.app.Deps().Owners = fakeOwners{playbook.OwnerRule{File: ".github/CODEOWNERS", Line: 3, Pattern: "*", Owners: []string{"@acme/payments"}}}
	h.app.Deps().Teams = []playbook.Team{{GitHub: "@acme/payments", SlackGroup: "S0PAY"}}
	h.app.Deps().Roles[playbook.RoleEngineeringManager] = []playbook.Target{{Kind: playbook.TargetSlackUser, ID: "U0EMSLACK"}}
	inc := h.declared(t, playbook.SEV1)
	notices := h.chat.sent()
	if len(notices) != 1 || notices[0].Link != "" || !slices.Equal(notices[0].Slack, []string{"S0PAY"}) {
		t.Fatalf("declaration page in Slack: %+v", notices)
	}
	if _, ok := h.get(t, inc.Number).Checked[playbook.ItemOwnerPaged]; !ok {
		t.Fatal("owner-paged item not checked when the owners joined")
	}
	h.at(t, 5*time.Minute)
	if e := h.escalations(); !slices.Equal(e, []int{1}) {
		t.Fatalf("at 5 min: %v", e)
	}
	if n := h.chat.sent()[1]; !slices.Equal(n.Slack, []string{"U0EMSLACK"}) {
		t.Fatalf("EM step: %+v", n)
	}
	if !slices.ContainsFunc(h.ch.invites, func(c inviteCall) bool { return slices.Contains(c.IDs, "U0EMSLACK") }) {
		t.Fatal("EM not invited")
	}
	// Acknowledged from Slack at 6 min; VP at 10 min names PagerDuty,
	// which is not configured: said in words, nobody silently skipped.
	h.clock.Set(h.clock.Now().Add(time.Minute))
	if _, first, err := h.app.Acknowledge(context.Background(), inc.Number, playbook.Ack{Key: "click1", SlackUser: "U0EMSLACK", Source: "slack"}); err != nil || !first {
		t.Fatalf("ack: %v %v", first, err)
	}
	h.at(t, 10*time.Minute)
	n := h.chat.sent()[2]
	if n.Index != 2 || len(n.Problems) == 0 || n.Problems[0].Kind != playbook.ProblemPagerDutyOff {
		t.Fatalf("VP step without PagerDuty: %+v", n)
	}
}

// Without webhooks, an unacknowledged PagerDuty incident is read every 30 s
// (a stored deadline); the acknowledgement is found that way.
func TestPollingFindsTheAcknowledgement(t *testing.T) {
	h := newPagingHarness(t, true)
	inc := h.declared(t, playbook.SEV1)
	if due := inc.Paging.PollDue; !due.Equal(h.clock.Now().Add(30 * time.Second)) {
		t.Fatalf("poll due %v", due)
	}
	h.clock.Set(h.clock.Now().Add(40 * time.Second))
	if _, err := h.pd.Acknowledge(inc.Paging.PD.ID, "PU0ALICE"); err != nil {
		t.Fatal(err)
	}
	h.at(t, 29*time.Second)
	if _, _, ok := h.get(t, inc.Number).Acknowledged(); ok {
		t.Fatal("read before the poll was due")
	}
	h.at(t, time.Minute)
	got := h.get(t, inc.Number)
	if by, _, ok := got.Acknowledged(); !ok || by != "U0ALICE" || !got.Paging.PollDue.IsZero() {
		t.Fatalf("after the poll: %q %v, next poll %v", by, ok, got.Paging.PollDue)
	}
	h.at(t, 5*time.Minute)
	if e := h.escalations(); len(e) != 0 {
		t.Fatalf("escalated after a polled acknowledgement: %v", e)
	}
}

// pathOwners answers from a CODEOWNERS table per repository.
type pathOwners map[string][]playbook.OwnerRule

func (f pathOwners) Owner(_ context.Context, repo, path string) (playbook.OwnerRule, bool, error) {
	for _, r := range f[repo] {
		if strings.HasPrefix(path, r.Pattern) {
			r.Repo = repo
			return r, true, nil
		}
	}
	return playbook.OwnerRule{}, false, nil
}

// "/incident owners <path>" without a service: the repo the path starts
// with, else the services' one repo; with several repos and none named, a
// clear answer asking for the service. A service without CODEOWNERS
// owners falls back to services[].team.
func TestPathOwners(t *testing.T) {
	h := newPagingHarness(t, true)
	h.pd.AddSchedule("PS0DBA", "DBA primary", "PU0EMGR")
	h.app.Deps().Services[0].Repo = "acme/checkout"
	h.app.Deps().Owners = pathOwners{
		"acme/checkout": {{File: ".github/CODEOWNERS", Line: 3, Pattern: "db/", Owners: []string{"@acme/dba"}}},
		"acme/search":   {{File: "CODEOWNERS", Line: 1, Pattern: "", Owners: []string{"@nobody-mapped"}}},
	}
	h.app.Deps().Teams = []playbook.Team{{GitHub: "@acme/dba", Schedule: "PS0DBA", SlackGroup: "S0DBA"}, {GitHub: "@acme/search", SlackGroup: "S0SEARCH"}}
	ctx := context.Background()

	// One repo among the services: a bare path is read there, with the
	// service living in it.
	o, err := h.app.PathOwners(ctx, "/db/migrate/001.sql")
	if err != nil || o.Service != "checkout" || o.Path != "db/migrate/001.sql" || !o.Found || o.Team == nil || o.Team.GitHub != "@acme/dba" {
		t.Fatalf("one repo: %+v %v", o, err)
	}
	// The service's own PagerDuty policy says who is on call (Alice), not the team's.
	if len(o.OnCall) != 1 || o.OnCall[0].ID != "PU0ALICE" {
		t.Fatalf("on call %+v", o.OnCall)
	}

	// Two repos: the path must name one, or a service must be said.
	h.app.Deps().Services[1].Repo = "acme/search"
	if _, err := h.app.PathOwners(ctx, "db/x.sql"); err == nil || !strings.Contains(userMessage(err), "acme/checkout, acme/search") {
		t.Fatalf("ambiguous path: %v", err)
	}
	o, err = h.app.PathOwners(ctx, "ACME/checkout/db/x.sql")
	if err != nil || o.Repo != "acme/checkout" || o.Path != "db/x.sql" || o.Team == nil || o.Team.GitHub != "@acme/dba" {
		t.Fatalf("repo-prefixed path: %+v %v", o, err)
	}
	// search's CODEOWNERS names nobody of config: services[].team says.
	h.app.Deps().Services[1].Team = "@acme/search"
	o, err = h.app.ServiceOwners(ctx, "search", "")
	if err != nil || !o.Found || o.Team == nil || o.Team.SlackGroup != "S0SEARCH" || !o.TeamFromService {
		t.Fatalf("services[].team fallback: %+v %v", o, err)
	}
	// A monorepo of two services: no single service, the team's schedule.
	h.app.Deps().Services[1].Repo = "acme/checkout"
	o, err = h.app.PathOwners(ctx, "db/x.sql")
	if err != nil || o.Service != "" || o.Repo != "acme/checkout" || len(o.OnCall) != 1 || o.OnCall[0].ID != "PU0EMGR" {
		t.Fatalf("monorepo: %+v %v", o, err)
	}
}

// The post-mortem timeline gains the PagerDuty incident's log (triggered,
// notified whom, escalated, acknowledged), read at close through
// go-pagerduty and merged in time order with Klaxon's own events; with
// PagerDuty unreachable the outline is still written, from Klaxon's alone.
func TestPostmortemMergesThePagerDutyLog(t *testing.T) {
	h := newPagingHarness(t, true)
	var pm playbook.Postmortem
	h.app.Deps().RenderPostmortem = func(p playbook.Postmortem) ([]byte, error) { pm = withSentences(p); return []byte("outline"), nil }
	inc := h.declared(t, playbook.SEV1)
	h.clock.Set(h.clock.Now().Add(time.Minute))
	if _, err := h.pd.Escalate(inc.Paging.PD.ID); err != nil { // seen only in PagerDuty's log
		t.Fatal(err)
	}
	h.clock.Set(h.clock.Now().Add(2 * time.Minute))
	h.ack(t, inc, "PU0ALICE")
	ctx := context.Background()
	if _, n, err := h.app.RenderOutline(ctx, h.get(t, inc.Number)); err != nil || n == 0 {
		t.Fatalf("outline: %d events, %v", n, err)
	}
	index := func(sub string) int {
		return slices.IndexFunc(pm.Timeline, func(e playbook.PostmortemEvent) bool { return strings.Contains(e.Text, sub) })
	}
	for _, want := range []string{"Triggered through the API", "Notified Alice Oncall by phone and push", "Escalated to level 2", "Acknowledged by Alice Oncall"} {
		i := index(want)
		if i < 0 {
			t.Fatalf("the timeline lacks PagerDuty's %q:\n%+v", want, pm.Timeline)
		}
		if e := pm.Timeline[i]; e.Type != playbook.EventPagerDutyLog || !strings.HasPrefix(e.Text, "PagerDuty") {
			t.Errorf("%q is not a PagerDuty log entry: %+v", want, e)
		}
	}
	// In time order with Klaxon's events: the escalation PagerDuty did at
	// 10:01 sits between the declaration (10:00) and the acknowledgement
	// Klaxon recorded from the webhook (10:03).
	declared, escalated, acked := index("declared"), index("Escalated to level 2"), index("acknowledged the page")
	if declared < 0 || acked < 0 || !(declared < escalated && escalated < acked) {
		t.Fatalf("not in time order (declared %d, escalated %d, acknowledged %d):\n%+v", declared, escalated, acked, pm.Timeline)
	}
	if !slices.IsSortedFunc(pm.Timeline, func(x, y playbook.PostmortemEvent) int { return strings.Compare(x.Time, y.Time) }) {
		t.Fatalf("timeline out of order:\n%+v", pm.Timeline)
	}

	// PagerDuty down at close: the outline is Klaxon's timeline alone.
	h.pd.Fail("GET", "/incidents/", http.StatusInternalServerError, 1000)
	if _, _, err := h.app.RenderOutline(ctx, h.get(t, inc.Number)); err != nil {
		t.Fatalf("outline with PagerDuty down: %v", err)
	}
	if i := index("Triggered through the API"); i >= 0 || index("acknowledged the page") < 0 {
		t.Fatalf("with PagerDuty down: %+v", pm.Timeline)
	}
}
