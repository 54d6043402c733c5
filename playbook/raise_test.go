package playbook_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// raise changes incident n's severity as "/incident sev" does (SetSeverity:
// recorded, published, then the page a raise owes), with key as the
// envelope.
func (h *pagingHarness) raise(t *testing.T, n int64, to playbook.Severity, key string) playbook.Outcome {
	t.Helper()
	o, err := h.app.SetSeverity(context.Background(), playbook.SeverityRequest{N: n, To: to, Actor: "U0DECLARER", Reason: "wider than thought", Key: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// pageEvents are the page events of incident n's timeline.
func (h *pagingHarness) pageEvents(t *testing.T, n int64) []playbook.Event {
	t.Helper()
	var out []playbook.Event
	for _, e := range h.timeline(t, n) {
		if e.Type == playbook.EventPage {
			out = append(out, e)
		}
	}
	return out
}

func noticesOf(ns []playbook.PageNotice, kind playbook.PageKind) []playbook.PageNotice {
	var out []playbook.PageNotice
	for _, n := range ns {
		if n.Kind == kind {
			out = append(out, n)
		}
	}
	return out
}

// A SEV3 that turns out to be a SEV1 pages the on-call as a SEV1
// declaration would: one PagerDuty incident with the incident's key, its
// link, the on-call invited, the page on the timeline with its target. The
// declarer's acknowledgement ended Detection and stays; the page's
// acknowledgement is recorded beside it with the time from the page.
func TestRaisingToAPagingTierPagesTheOnCall(t *testing.T) {
	h := newPagingHarness(t, true)
	inc := h.declared(t, playbook.SEV3)
	declaredAt := h.clock.Now().UTC()
	if len(h.pd.Incidents()) != 0 || len(h.chat.sent()) != 0 {
		t.Fatalf("a SEV3 paged: %+v %+v", h.pd.Incidents(), h.chat.sent())
	}
	h.clock.Set(declaredAt.Add(7 * time.Minute))
	if o := h.raise(t, inc.Number, playbook.SEV1, "env-raise-1"); !o.Applied || !o.Change.Pages {
		t.Fatalf("raise: applied %v, pages %v", o.Applied, o.Change.Pages)
	}
	pd := h.pd.Incidents()
	if len(pd) != 1 || !strings.HasPrefix(pd[0].Key, "klaxon-1-") || pd[0].Service != "PSVC0CHK" || !strings.HasPrefix(pd[0].Title, "#1 SEV1: ") {
		t.Fatalf("PagerDuty incidents after the raise: %+v", pd)
	}
	got := h.get(t, inc.Number)
	if got.Paging.PD.ID != pd[0].ID || got.Paging.Pending || !got.Paging.Sent || got.Paging.Key != pd[0].Key {
		t.Fatalf("paging after the raise: %+v", got.Paging)
	}
	notices := noticesOf(h.chat.sent(), playbook.PageRaise)
	if len(notices) != 1 || notices[0].Link == "" || !slices.Equal(notices[0].Slack, []string{"U0ALICE"}) {
		t.Fatalf("raise notices: %+v", h.chat.sent())
	}
	if !slices.ContainsFunc(h.ch.invites, func(c inviteCall) bool { return slices.Contains(c.IDs, "U0ALICE") }) {
		t.Fatalf("on-call not invited: %+v", h.ch.invites)
	}
	evs := h.pageEvents(t, inc.Number)
	if len(evs) != 1 || pagePayload(evs[0]).Kind != "raise" || pagePayload(evs[0]).Target != "pagerduty_policy:PE0CHKOUT" || pagePayload(evs[0]).SlackUser != "U0ALICE" || pagePayload(evs[0]).PagerDutyUser != "PU0ALICE" {
		t.Fatalf("page events: %+v", evs)
	}
	if _, ok := got.Checked[playbook.ItemOwnerPaged]; !ok {
		t.Fatal("owner-paged item not checked")
	}
	// The page waits for its acknowledgement: status says so, and the
	// poll runs (the webhook may be off).
	if _, _, ok := got.Acknowledged(); ok || got.Paging.PollDue.IsZero() {
		t.Fatalf("before the acknowledgement: acknowledged %v, poll due %v", ok, got.Paging.PollDue)
	}
	// Alice acknowledges 2 min after the page: the EM (5 min, if
	// unacknowledged) is not paged.
	h.clock.Set(h.clock.Now().Add(2 * time.Minute))
	h.ack(t, got, "PU0ALICE")
	h.at(t, 7*time.Minute+9*time.Minute)
	if e := h.escalations(); len(e) != 0 {
		t.Fatalf("escalated after an acknowledgement in time: %v", e)
	}
	got = h.get(t, inc.Number)
	by, at, ok := got.Acknowledged()
	ttk, _ := got.TimeToAcknowledge()
	delay, _ := got.PageAckDelay()
	if !ok || by != "U0ALICE" || !at.Equal(declaredAt) || ttk != 0 || delay != 2*time.Minute {
		t.Fatalf("acknowledged by %q at %v (%v): Detection %v, the page's %v", by, at, ok, ttk, delay)
	}
	var text string
	for _, c := range h.post.noticesCopy() {
		if strings.Contains(c.Text, "acknowledged the page") {
			text = c.Text
		}
	}
	if text != ":white_check_mark: <@U0ALICE> acknowledged the page in PagerDuty, 2 min after the page." {
		t.Fatalf("acknowledgement notice %q", text)
	}
}

// Nobody acknowledges the raise page: the SEV1 matrix, re-planned from the
// change, reaches the EM at 5 min, though the declarer's acknowledgement
// ended Detection before the raise.
func TestUnacknowledgedRaisePageEscalates(t *testing.T) {
	h := newPagingHarness(t, true)
	inc := h.declared(t, playbook.SEV3)
	h.clock.Set(h.clock.Now().Add(10 * time.Minute))
	h.raise(t, inc.Number, playbook.SEV1, "env-raise")
	h.at(t, 14*time.Minute+59*time.Second)
	if e := h.escalations(); len(e) != 0 {
		t.Fatalf("escalated before 5 min after the raise: %v", e)
	}
	h.at(t, 15*time.Minute)
	if e := h.escalations(); !slices.Equal(e, []int{1}) {
		t.Fatalf("5 min after an unacknowledged raise page: %v", e)
	}
}

// A redelivered or repeated raise, a raise back after lowering, and a raise
// between two paging tiers page nobody again; lowering un-pages nobody.
func TestRaisePagesOnce(t *testing.T) {
	h := newPagingHarness(t, true)
	inc := h.declared(t, playbook.SEV4)
	h.clock.Set(h.clock.Now().Add(time.Minute))
	h.raise(t, inc.Number, playbook.SEV2, "env-1")
	h.raise(t, inc.Number, playbook.SEV2, "env-1") // Slack redelivers the envelope
	h.raise(t, inc.Number, playbook.SEV2, "env-2") // someone types it again
	if n, pages := len(h.pd.Incidents()), len(h.pageEvents(t, inc.Number)); n != 1 || pages != 1 {
		t.Fatalf("%d PagerDuty incidents and %d pages after one raise, repeated", n, pages)
	}
	// SEV2 → SEV1, both paging: no second page, SEV1's steps from now.
	h.clock.Set(h.clock.Now().Add(time.Minute))
	if o := h.raise(t, inc.Number, playbook.SEV1, "env-3"); !o.Applied || o.Change.Pages {
		t.Fatalf("SEV2 → SEV1: applied %v, pages %v", o.Applied, o.Change.Pages)
	}
	steps := h.get(t, inc.Number).Paging.Steps
	if len(steps) != 3 || steps[0].Severity != playbook.SEV1 || !steps[0].Due.Equal(h.clock.Now().UTC().Add(5*time.Minute)) {
		t.Fatalf("steps after SEV2 → SEV1: %+v", steps)
	}
	// Lowered and raised again: the PagerDuty incident stays open, and the
	// raise pages nobody twice.
	h.raise(t, inc.Number, playbook.SEV3, "env-4")
	if st := h.pd.Incidents()[0].Status; st != "triggered" {
		t.Fatalf("lowering the severity left the PagerDuty incident %s", st)
	}
	h.raise(t, inc.Number, playbook.SEV1, "env-5")
	if n, pages := len(h.pd.Incidents()), len(h.pageEvents(t, inc.Number)); n != 1 || pages != 1 {
		t.Fatalf("%d PagerDuty incidents and %d pages after a raise back", n, pages)
	}
	if n := len(noticesOf(h.chat.sent(), playbook.PageRaise)); n != 1 {
		t.Fatalf("%d raise notices", n)
	}
	// A SEV1 declared (and paged) then lowered and raised: no second page.
	inc2 := h.declared(t, playbook.SEV1)
	h.raise(t, inc2.Number, playbook.SEV3, "env-6")
	if o := h.raise(t, inc2.Number, playbook.SEV1, "env-7"); o.Change.Pages {
		t.Fatal("a SEV1 paged at declaration was paged again when raised back")
	}
	if n := len(h.pd.Incidents()); n != 2 {
		t.Fatalf("%d PagerDuty incidents for two incidents", n)
	}
}

// Klaxon stops after recording the raise and before paging (or PagerDuty
// opened the incident and Klaxon stopped before storing it): the next start
// sends the page once, adopting PagerDuty's incident by its key.
func TestRestartBetweenTheRaiseAndThePage(t *testing.T) {
	h := newPagingHarness(t, true)
	inc := h.declared(t, playbook.SEV3)
	ctx := context.Background()
	h.clock.Set(h.clock.Now().Add(3 * time.Minute))
	// ChangeSeverity alone is what a stop right after the change's
	// transaction leaves: the page pending.
	if _, ch, changed, err := h.app.ChangeSeverity(ctx, inc.Number, playbook.SEV1, "U0DECLARER", "", "env-1"); err != nil || !changed || !ch.Pages {
		t.Fatalf("change: %v %v %v", ch, changed, err)
	}
	if p := h.get(t, inc.Number).Paging; !p.Pending || len(h.pd.Incidents()) != 0 {
		t.Fatalf("paging before the page: %+v", p)
	}
	restart := func() {
		t.Helper()
		h.app = playbook.New(playbook.Deps{Store: h.store, Channels: h.ch, Poster: h.post, Clock: h.clock, Tiers: h.app.Deps().Tiers,
			Services: h.app.Deps().Services, Pager: h.app.Deps().Pager, OnCalls: h.app.Deps().OnCalls, PageChat: h.chat, Roles: h.app.Deps().Roles})
		if err := h.app.Resume(ctx); err != nil {
			t.Fatal(err)
		}
	}
	restart()
	// The envelope redelivered after the restart changes nothing more.
	h.raise(t, inc.Number, playbook.SEV1, "env-1")
	restart()
	if n, pages := len(h.pd.Incidents()), len(h.pageEvents(t, inc.Number)); n != 1 || pages != 1 {
		t.Fatalf("%d PagerDuty incidents and %d pages after restarts", n, pages)
	}
	// PagerDuty opened the incident, Klaxon stopped before storing it.
	if _, err := h.store.Update(ctx, inc.Number, func(i *playbook.Incident) ([]playbook.Event, error) {
		i.Paging.PD, i.Paging.Pending, i.Paging.Sent = playbook.PageRef{}, true, false
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	restart()
	if got := h.get(t, inc.Number).Paging.PD.ID; len(h.pd.Incidents()) != 1 || got != h.pd.Incidents()[0].ID {
		t.Fatalf("%d PagerDuty incidents, adopted %q", len(h.pd.Incidents()), got)
	}
}

// PagerDuty down at the raise: the change stands, the channel gets the
// retry, and the next start pages.
func TestRaiseWithPagerDutyDown(t *testing.T) {
	h := newPagingHarness(t, true)
	inc := h.declared(t, playbook.SEV3)
	h.pd.Fail(http.MethodPost, "/incidents", http.StatusServiceUnavailable, 1_000_000)
	if o := h.raise(t, inc.Number, playbook.SEV1, "env-1"); !o.Applied || h.get(t, inc.Number).Severity != playbook.SEV1 {
		t.Fatalf("PagerDuty down failed the raise: %+v", o)
	}
	if !slices.ContainsFunc(h.post.noticesCopy(), func(c noticeCall) bool { return strings.Contains(c.Text, "page the on-call engineer") }) {
		t.Fatalf("the channel was not told: %+v", h.post.noticesCopy())
	}
	h.pd.Heal()
	if err := h.app.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := h.get(t, inc.Number); got.Paging.Pending || got.Paging.PD.ID == "" || len(h.pd.Incidents()) != 1 {
		t.Fatalf("not paged at start: %+v", got.Paging)
	}
}

// Without PagerDuty the raise pages the owning team in Slack, as a SEV1
// declaration does; a paged member joining acknowledges it.
func TestRaiseWithoutPagerDutyPagesInSlack(t *testing.T) {
	h := newPagingHarness(t, false)
	h.app.Deps().Services[0].Repo = "acme/checkout"
	h.app.Deps().Owners = fakeOwners{playbook.OwnerRule{File: ".github/CODEOWNERS", Line: 3, Pattern: "*", Owners: []string{"@acme/payments"}}}
	h.app.Deps().Teams = []playbook.Team{{GitHub: "@acme/payments", SlackGroup: "S0PAY"}}
	h.app.Deps().Directory = groups{"S0PAY": {"U0PAYDEV"}}
	inc := h.declared(t, playbook.SEV3)
	before := len(h.chat.sent()) // the SEV3's notice to the owning team
	h.clock.Set(h.clock.Now().Add(time.Minute))
	h.raise(t, inc.Number, playbook.SEV1, "env-1")
	h.raise(t, inc.Number, playbook.SEV1, "env-1")
	notices := noticesOf(h.chat.sent()[before:], playbook.PageRaise)
	if len(notices) != 1 || notices[0].Link != "" || !slices.Equal(notices[0].Slack, []string{"S0PAY"}) {
		t.Fatalf("raise notices in Slack: %+v", h.chat.sent())
	}
	if !slices.ContainsFunc(h.ch.invites, func(c inviteCall) bool { return slices.Contains(c.IDs, "S0PAY") }) {
		t.Fatalf("the team not invited: %+v", h.ch.invites)
	}
	evs := h.pageEvents(t, inc.Number)
	if len(evs) != 1 || pagePayload(evs[0]).Kind != "raise" || pagePayload(evs[0]).Via != "slack" || pagePayload(evs[0]).Target != "S0PAY" {
		t.Fatalf("page events: %+v", evs)
	}
	h.clock.Set(h.clock.Now().Add(90 * time.Second))
	if first, err := h.app.Joined(context.Background(), playbook.Join{Key: "j1", Channel: inc.Channel.ID, User: "U0PAYDEV", At: h.clock.Now()}); err != nil || !first {
		t.Fatalf("a paged member's join: %v %v", first, err)
	}
	if d, _ := h.get(t, inc.Number).PageAckDelay(); d != 90*time.Second {
		t.Fatalf("page acknowledged after %v", d)
	}
}

func pagePayload(e playbook.Event) playbook.PagePayload {
	p, _ := playbook.PayloadOf[playbook.PagePayload](e)
	return p
}

// A raise before the incident has its channel (its setup still running):
// the page waits for the setup, which sends it with the channel's other
// steps, once.
func TestRaiseBeforeTheChannelPagesAtSetUp(t *testing.T) {
	h := newPagingHarness(t, true)
	inc := h.declare(t, "Card payments slow", playbook.SEV3, "checkout")
	if o := h.raise(t, inc.Number, playbook.SEV1, "env-1"); !o.Change.Pages || len(h.pd.Incidents()) != 0 {
		t.Fatalf("paged before the channel existed: pages %v, %d PagerDuty incidents", o.Change.Pages, len(h.pd.Incidents()))
	}
	if _, err := h.app.SetUp(context.Background(), inc.Number); err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.SetUp(context.Background(), inc.Number); err != nil {
		t.Fatal(err)
	}
	if n, notices := len(h.pd.Incidents()), noticesOf(h.chat.sent(), playbook.PageRaise); n != 1 || len(notices) != 1 || notices[0].Link == "" {
		t.Fatalf("%d PagerDuty incidents, raise notices %+v", n, notices)
	}
}
