package playbook_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

type fakeDeploys struct {
	deploys []playbook.Deploy
	err     error
	calls   int
}

func (f *fakeDeploys) Recent(_ context.Context, s playbook.Service, limit int) ([]playbook.Deploy, error) {
	f.calls++
	return f.deploys, f.err
}

type fakeTickets struct {
	mu      sync.Mutex
	fail    int // fail this many File calls
	filed   []playbook.TicketRequest
	adopted int
	state   map[int]string
}

func (f *fakeTickets) File(_ context.Context, r playbook.TicketRequest) (playbook.Ticket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Adopt {
		for i, prev := range f.filed {
			if prev.Marker == r.Marker {
				f.adopted++
				return playbook.Ticket{Repo: r.Repo, Number: i + 1, URL: fmt.Sprintf("https://github.com/%s/issues/%d", r.Repo, i+1), State: "open"}, nil
			}
		}
	}
	if f.fail > 0 {
		f.fail--
		return playbook.Ticket{}, errors.New("github: 502 Bad Gateway")
	}
	f.filed = append(f.filed, r)
	n := len(f.filed)
	return playbook.Ticket{Repo: r.Repo, Number: n, URL: fmt.Sprintf("https://github.com/%s/issues/%d", r.Repo, n), State: "open"}, nil
}

func (f *fakeTickets) State(_ context.Context, t playbook.Ticket) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.state[t.Number]; s != "" {
		return s, nil
	}
	return "open", nil
}

type fakeClosing struct {
	mu         sync.Mutex
	uploads    []sharedFile
	shared     map[string]bool
	archived   []string
	failUpload int
	// lostShares shares the file but loses the answer, this many times.
	lostShares int
	failArch   int
}

// sharedFile is an upload with its message as the default templates word it.
type sharedFile struct {
	playbook.PostmortemFile
	Comment string
}

func (f *fakeClosing) Upload(_ context.Context, ch string, pf playbook.PostmortemFile, started func(string) error) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failUpload > 0 {
		f.failUpload--
		return "", errors.New("files.getUploadURLExternal: internal_error")
	}
	id := fmt.Sprintf("F%03d", len(f.uploads)+1)
	if err := started(id); err != nil {
		return "", err
	}
	comment, err := noticeWords.Render("closing.outline_comment", pf.Share)
	if err != nil {
		return "", err
	}
	f.uploads = append(f.uploads, sharedFile{pf, comment})
	if f.shared == nil {
		f.shared = map[string]bool{}
	}
	f.shared[id] = true
	if f.lostShares > 0 {
		f.lostShares--
		return "", errors.New("files.completeUploadExternal: context deadline exceeded")
	}
	return id, nil
}

func (f *fakeClosing) Shared(_ context.Context, ch, id string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.shared[id], nil
}

func (f *fakeClosing) Archive(_ context.Context, ch string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failArch > 0 {
		f.failArch--
		return errors.New("conversations.archive: internal_error")
	}
	f.archived = append(f.archived, ch)
	return nil
}

func (f *fakeClosing) DirectChannel(_ context.Context, user string) (string, error) {
	return "D_" + user, nil
}

func (f *fakeClosing) ChannelGone(context.Context, playbook.Briefing, string) error { return nil }

type fakePublisher struct {
	docs []playbook.PostmortemDoc
}

func (f *fakePublisher) Publish(_ context.Context, d playbook.PostmortemDoc) (string, error) {
	f.docs = append(f.docs, d)
	return "https://github.com/acme/postmortems/pull/1", nil
}

// wrapHarness is a harness with the wrap-up ports wired.
func wrapHarness(t *testing.T) (*harness, *fakeTickets, *fakeClosing) {
	h := newHarness(t)
	h.app.Deps().Services[0].Repo = "acme/checkout"
	tk := &fakeTickets{state: map[int]string{}}
	cl := &fakeClosing{}
	h.app.Deps().Tickets, h.app.Deps().Closing = tk, cl
	h.app.Deps().RenderPostmortem = func(p playbook.Postmortem) ([]byte, error) {
		return []byte(fmt.Sprintf("# Post-mortem #%d\n", p.Incident.Number)), nil
	}
	return h, tk, cl
}

func (h *harness) key() string {
	h.keys++
	return fmt.Sprintf("K%04d", h.keys)
}

func TestRemediateStartsMitigationOnce(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV1, "checkout")
	h.app.Deps().Services[0].FlagURL = "https://flags.example.com/checkout"
	first := h.clock.Now()
	after, g, applied, err := h.app.Remediate(ctx, inc.Number, playbook.RemedyFlag, "U0IC", "click-1")
	if err != nil || !applied || !g.Started {
		t.Fatalf("Remediate = applied %v started %v, %v", applied, g.Started, err)
	}
	if after.Status != playbook.StatusMitigating || g.FlagURL != "https://flags.example.com/checkout" {
		t.Fatalf("status %s, flag URL %q", after.Status, g.FlagURL)
	}
	if _, _, applied, _ := h.app.Remediate(ctx, inc.Number, playbook.RemedyFlag, "U0IC", "click-1b"); applied {
		t.Fatal("a double click (another action timestamp, a second later) was applied twice")
	}
	h.clock.Advance(3 * time.Minute)
	if _, _, applied, _ := h.app.Remediate(ctx, inc.Number, playbook.RemedyFlag, "U0IC", "click-1"); applied {
		t.Fatal("a redelivered click was applied twice")
	}
	_, g2, _, err := h.app.Remediate(ctx, inc.Number, playbook.RemedyCutover, "U0IC", "click-2")
	if err != nil || g2.Started {
		t.Fatalf("second option: started %v, %v", g2.Started, err)
	}
	got := h.get(t, inc.Number)
	if at, _ := got.At(playbook.PhaseMitigationStarted); !at.Equal(first.UTC()) {
		t.Fatalf("mitigation started at %v, want the first choice %v", at, first.UTC())
	}
	if n := countEvents(h.timeline(t, inc.Number), playbook.EventRemediation); n != 2 || len(got.Remediations) != 2 {
		t.Fatalf("%d remediation events, %d stored options; want 2", n, len(got.Remediations))
	}
	if _, _, _, err := h.app.Remediate(ctx, inc.Number, "reboot-the-world", "U0IC", "click-3"); playbook.ErrorCode(err) != playbook.CodeBadInput {
		t.Fatalf("unknown option: %v", err)
	}
}

func TestRollbackNamesSuspectAndKnownGood(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.app.Deps().Services[0].Repo = "acme/checkout"
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV1, "checkout")
	now := h.clock.Now().UTC()
	fd := &fakeDeploys{deploys: []playbook.Deploy{
		{ID: 9, SHA: "bad0000000001", At: now.Add(-20 * time.Minute), State: "success", Creator: "alice"},
		{ID: 8, SHA: "flaky00000002", At: now.Add(-90 * time.Minute), State: "failure"},
		{ID: 7, SHA: "good000000003", At: now.Add(-3 * time.Hour), State: "success"},
		{ID: 6, SHA: "older00000004", At: now.Add(-5 * time.Hour), State: "success"},
	}}
	h.app.Deps().Deploys = fd
	_, g, _, err := h.app.Remediate(ctx, inc.Number, playbook.RemedyRollback, "U0IC", "k1")
	if err != nil {
		t.Fatal(err)
	}
	if g.Suspect == nil || g.Suspect.SHA != "bad0000000001" || g.KnownGood == nil || g.KnownGood.SHA != "good000000003" {
		t.Fatalf("suspect %+v, known good %+v", g.Suspect, g.KnownGood)
	}
	if len(g.Recent) != 2 {
		t.Fatalf("recent deploys = %d, want the 2 of the last two hours", len(g.Recent))
	}
	// A second rollback choice names the suspect again, on the timeline once.
	if _, _, _, err := h.app.Remediate(ctx, inc.Number, playbook.RemedyRollback, "U0IC", "k2"); err != nil {
		t.Fatal(err)
	}
	evs := h.timeline(t, inc.Number)
	if n := countEvents(evs, playbook.EventSuspectDeploy); n != 1 {
		t.Fatalf("%d suspect-deploy events, want 1", n)
	}
	for _, ev := range evs {
		if ev.Type == playbook.EventSuspectDeploy && (!ev.At.Equal(now.Add(-20*time.Minute)) || ev.Payload.(playbook.SuspectPayload).KnownGood != "good000000003") {
			t.Fatalf("suspect event %+v: want the deploy's own time and the known-good SHA", ev)
		}
	}

	// The suspect is stored with the incident (one source of truth, shared
	// with the deploys message): GitHub down later changes nothing.
	fd.err = errors.New("github: 503")
	_, g, _, _ = h.app.Remediate(ctx, inc.Number, playbook.RemedyRollback, "U0IC", "k3")
	if g.Suspect == nil || g.Suspect.SHA != "bad0000000001" || g.KnownGood == nil || g.KnownGood.SHA != "good000000003" {
		t.Fatalf("stored suspect not used with GitHub down: %+v %+v", g.Suspect, g.KnownGood)
	}
	// Without a stored suspect, GitHub down is said.
	other := h.declare(t, "Checkout slow", playbook.SEV2, "checkout")
	_, g, _, _ = h.app.Remediate(ctx, other.Number, playbook.RemedyRollback, "U0IC", "k5")
	if g.Suspect != nil || g.Missing != playbook.MissingReadFailed || g.DeploysErr == "" {
		t.Fatalf("GitHub down: missing %q (%q)", g.Missing, g.DeploysErr)
	}
	h.app.Deps().Deploys = nil
	_, g, _, _ = h.app.Remediate(ctx, other.Number, playbook.RemedyRollback, "U0IC", "k4")
	if g.Missing != playbook.MissingGitHubOff {
		t.Fatalf("GitHub off: missing %q", g.Missing)
	}
}

func TestDataRemediationWarnsAndAsksForAPlan(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	inc := h.declare(t, "Orders lost", playbook.SEV2, "")
	_, g, _, err := h.app.Remediate(ctx, inc.Number, playbook.RemedyData, "U0IC", "k1")
	if err != nil || !g.AskValidationPlan || g.Option != playbook.RemedyData {
		t.Fatalf("guidance %+v, %v", g, err)
	}
	if _, _, err := h.app.AddValidationPlan(ctx, inc.Number, "U0IC", "  ", "k2"); playbook.ErrorCode(err) != playbook.CodeBadInput {
		t.Fatalf("empty plan: %v", err)
	}
	if _, _, err := h.app.AddValidationPlan(ctx, inc.Number, "U0IC", "Count orders per hour vs. payments", "k3"); err != nil {
		t.Fatal(err)
	}
	if countEvents(h.timeline(t, inc.Number), playbook.EventValidationPlan) != 1 {
		t.Fatal("validation plan not on the timeline")
	}
}

func TestSuspectDeploys(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	d := func(id int64, sha string, ago time.Duration, state string) playbook.Deploy {
		return playbook.Deploy{ID: id, SHA: sha, At: t0.Add(-ago), State: state}
	}
	since, until := t0.Add(-2*time.Hour), t0
	tests := []struct {
		name          string
		deploys       []playbook.Deploy
		suspect, good string
	}{
		{"none", nil, "", ""},
		{"all older", []playbook.Deploy{d(1, "a", 3*time.Hour, "success")}, "", ""},
		{"suspect, no known good", []playbook.Deploy{d(2, "b", time.Hour, "success")}, "b", ""},
		{"a redeploy of a version live before the window", []playbook.Deploy{d(4, "c", time.Hour, "success"), d(3, "c", 2*time.Hour+time.Minute, "success"), d(2, "x", 4*time.Hour, "error"), d(1, "a", 5*time.Hour, "success")}, "", ""},
		{"known good skips failed and same SHA", []playbook.Deploy{d(4, "c", time.Hour, "success"), d(3, "c", 3*time.Hour, "failure"), d(2, "x", 4*time.Hour, "error"), d(1, "a", 5*time.Hour, "success")}, "c", "a"},
		{"exactly at the window", []playbook.Deploy{d(2, "b", 2*time.Hour, "success"), d(1, "a", 3*time.Hour, "success")}, "b", "a"},
		{"a failed deploy is not the suspect", []playbook.Deploy{d(3, "c", 10*time.Minute, "failure"), d(2, "b", time.Hour, "success"), d(1, "a", 3*time.Hour, "success")}, "b", "a"},
		{"a redeploy of an earlier version is not the suspect", []playbook.Deploy{d(3, "a", 10*time.Minute, "success"), d(2, "b", time.Hour, "success"), d(1, "a", 3*time.Hour, "success")}, "b", "a"},
		{"deploys after remediation started are ignored", []playbook.Deploy{d(3, "a", -10*time.Minute, "success"), d(2, "b", time.Hour, "success"), d(1, "a", 3*time.Hour, "success")}, "b", "a"},
	}
	for _, tc := range tests {
		s, g, _ := playbook.SuspectDeploys(tc.deploys, since, until)
		gotS, gotG := "", ""
		if s != nil {
			gotS = s.SHA
		}
		if g != nil {
			gotG = g.SHA
		}
		if gotS != tc.suspect || gotG != tc.good {
			t.Errorf("%s: suspect %q good %q, want %q %q", tc.name, gotS, gotG, tc.suspect, tc.good)
		}
	}
}

func TestMitigate(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV1, "checkout")
	got, applied, err := h.app.Mitigate(ctx, inc.Number, "U0IC", "k1")
	if err != nil || !applied || got.Status != playbook.StatusMitigated {
		t.Fatalf("Mitigate = %s, %v, %v", got.Status, applied, err)
	}
	for _, p := range []playbook.Phase{playbook.PhaseMitigationStarted, playbook.PhaseMitigated} {
		if _, ok := got.At(p); !ok {
			t.Errorf("phase %s not recorded", p)
		}
	}
	if _, _, err := h.app.Mitigate(ctx, inc.Number, "U0IC", "k2"); playbook.ErrorCode(err) != playbook.CodeBadTransition {
		t.Fatalf("second mitigated: %v", err)
	}
}

func TestGatesHoldTheAllClearUntilAllFourHold(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV1, "checkout")
	if _, _, _, err := h.app.AssignCommander(ctx, inc.Number, "U0IC", "U0IC", h.key()); err != nil {
		t.Fatal(err)
	}
	opened, first, err := h.app.OpenVerification(ctx, inc.Number, "U0IC", h.key())
	if err != nil || !first || opened.Status != playbook.StatusMitigated {
		t.Fatalf("OpenVerification = %s first %v, %v", opened.Status, first, err)
	}
	if _, again, _ := h.app.OpenVerification(ctx, inc.Number, "U0IC", h.key()); again {
		t.Fatal("gates opened twice")
	}
	allClear := func(actor, reason string) (playbook.Incident, playbook.StatusUpdate, error) {
		inc, su, _, err := h.app.AllClear(ctx, inc.Number, playbook.AllClearRequest{Key: h.key(), Actor: actor, Reason: reason})
		return inc, su, err
	}
	if _, _, err := allClear("U0IC", ""); playbook.ErrorCode(err) != playbook.CodeGatesOpen || !strings.Contains(userMessage(err), "0 of 4") {
		t.Fatalf("all-clear with no gates: %v", err)
	}
	for _, g := range []playbook.Gate{playbook.GateBurnRate, playbook.GateErrorRate, playbook.GateComplaints, playbook.GateSynthetics} {
		if _, changed, err := h.app.SetGate(ctx, inc.Number, g, true, "U0SRE", h.key()); err != nil || !changed {
			t.Fatalf("SetGate(%s) = %v, %v", g, changed, err)
		}
	}
	if _, changed, _ := h.app.SetGate(ctx, inc.Number, playbook.GateSynthetics, true, "U0SRE", h.key()); changed {
		t.Fatal("a double click changed the gate twice")
	}
	// The synthetic gate counts from its check plus five minutes.
	h.clock.Advance(4*time.Minute + 59*time.Second)
	_, _, err = allClear("U0IC", "")
	if playbook.ErrorCode(err) != playbook.CodeGatesOpen || !strings.Contains(userMessage(err), "Synthetic monitors") || strings.Contains(userMessage(err), "Error rate") {
		t.Fatalf("all-clear inside the dwell: %v", err)
	}
	if w := h.get(t, inc.Number).Timers.GatesRefresh; !w.Equal(h.clock.Now().UTC().Add(time.Second)) {
		t.Fatalf("the gates are re-rendered at %v, want the end of the dwell (now+1s)", w)
	}
	// Unchecking restarts the dwell.
	h.app.SetGate(ctx, inc.Number, playbook.GateSynthetics, false, "U0SRE", h.key())
	h.app.SetGate(ctx, inc.Number, playbook.GateSynthetics, true, "U0SRE", h.key())
	h.clock.Advance(time.Second)
	if _, _, err := allClear("U0IC", ""); playbook.ErrorCode(err) != playbook.CodeGatesOpen {
		t.Fatalf("all-clear one second after re-checking: %v", err)
	}
	h.clock.Advance(5 * time.Minute)
	if _, _, err := allClear("U0RANDOM", ""); playbook.ErrorCode(err) != playbook.CodeForbidden {
		t.Fatalf("all-clear by a bystander: %v", err)
	}
	got, su, err := allClear("U0IC", "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != playbook.StatusResolved || got.Override != nil || su.Seq != 1 || su.Final == nil || su.Final.Case() != playbook.AllClearHeld || su.Status != "" {
		t.Fatalf("resolved %s override %v update %+v", got.Status, got.Override, su)
	}
	if _, ok := got.At(playbook.PhaseResolved); !ok || got.Timers.PostmortemDue.IsZero() || !got.Timers.NextNudge.IsZero() {
		t.Fatalf("resolved phase / post-mortem due / nudges: %+v", got.Timers)
	}
	if _, _, err := allClear("U0IC", ""); playbook.ErrorCode(err) != playbook.CodeBadTransition {
		t.Fatalf("second all-clear: %v", err)
	}
}

func TestOverrideIsTheCommandersWithAReason(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV2, "checkout")
	h.app.Deps().Responders = []string{"U0SRE"}
	h.app.SetGate(ctx, inc.Number, playbook.GateErrorRate, true, "U0SRE", h.key())
	req := playbook.AllClearRequest{Key: h.key(), Actor: "U0SRE", Reason: "Synthetics are down for maintenance"}
	if _, _, _, err := h.app.AllClear(ctx, inc.Number, req); playbook.ErrorCode(err) != playbook.CodeForbidden || !strings.Contains(userMessage(err), "there is none yet") {
		t.Fatalf("override with no commander: %v", err)
	}
	h.app.AssignCommander(ctx, inc.Number, "U0IC", "U0IC", h.key())
	if _, _, _, err := h.app.AllClear(ctx, inc.Number, req); playbook.ErrorCode(err) != playbook.CodeForbidden {
		t.Fatalf("override by a responder who is not the commander: %v", err)
	}
	req.Actor, req.Key = "U0IC", h.key()
	got, su, applied, err := h.app.AllClear(ctx, inc.Number, req)
	if err != nil || !applied {
		t.Fatal(err)
	}
	if got.Override == nil || got.Override.Reason != req.Reason || len(got.Override.Unmet) != 3 || su.Final == nil || !su.Final.OverGates || su.Final.Reason != req.Reason {
		t.Fatalf("override %+v, update %+v", got.Override, su.Final)
	}
	if countEvents(h.timeline(t, inc.Number), playbook.EventGateOverride) != 1 {
		t.Fatal("the override is not on the timeline")
	}
}

func TestValidateAction(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	ok := playbook.ActionRequest{Text: "Add a 5xx alert on checkout at 1% for 5 min", Owner: "U0ALICE", Due: "2026-12-04"}
	if err := playbook.ValidateAction(ok, now); err != nil {
		t.Fatalf("a good item refused: %v", err)
	}
	bad := []struct {
		name string
		mod  func(*playbook.ActionRequest)
		want string
	}{
		{"empty", func(r *playbook.ActionRequest) { r.Text = " " }, "needs what will change"},
		{"too short", func(r *playbook.ActionRequest) { r.Text = "fix cache" }, "too short"},
		{"vague", func(r *playbook.ActionRequest) { r.Text = "Investigate the cache issue" }, "too vague"},
		{"be careful", func(r *playbook.ActionRequest) { r.Text = "be more careful next time" }, "too vague"},
		{"no owner", func(r *playbook.ActionRequest) { r.Owner = "" }, "exactly one owner"},
		{"group owner", func(r *playbook.ActionRequest) { r.Owner = "S0ONCALL" }, "one person"},
		{"no due", func(r *playbook.ActionRequest) { r.Due = "" }, "one deadline"},
		{"bad date", func(r *playbook.ActionRequest) { r.Due = "next friday" }, "not a date"},
		{"past", func(r *playbook.ActionRequest) { r.Due = "2026-11-25" }, "has passed"},
		{"far", func(r *playbook.ActionRequest) { r.Due = "2028-01-01" }, "more than a year"},
		{"long", func(r *playbook.ActionRequest) { r.Text = strings.Repeat("word ", 200) }, "characters"},
	}
	for _, tc := range bad {
		r := ok
		tc.mod(&r)
		err := playbook.ValidateAction(r, now)
		if playbook.ErrorCode(err) != playbook.CodeBadInput || !strings.Contains(userMessage(err), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	// A vague start is fine once the item says what exactly changes.
	r := ok
	r.Text = "Investigate and then raise the checkout pool size to 200 connections"
	if err := playbook.ValidateAction(r, now); err != nil {
		t.Errorf("a concrete item starting with a vague verb: %v", err)
	}
	r.Due = "2026-11-27"
	if err := playbook.ValidateAction(r, now); err != nil {
		t.Errorf("due today: %v", err)
	}
	r.Due = "2026-11-26" // today west of UTC
	if err := playbook.ValidateAction(r, now); err != nil {
		t.Errorf("due today in San Francisco: %v", err)
	}
}

func TestActionItemsBecomeTicketsOnce(t *testing.T) {
	h, tk, _ := wrapHarness(t)
	ctx := context.Background()
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV1, "checkout")
	today := h.clock.Now().UTC().Format(playbook.DueLayout)
	add := func(text, owner string) {
		t.Helper()
		if _, _, _, err := h.app.AddAction(ctx, inc.Number, playbook.ActionRequest{Key: h.key(), Actor: "U0IC", Text: text, Owner: owner, Due: today}); err != nil {
			t.Fatal(err)
		}
	}
	add("Add a 5xx alert on checkout at 1%", "U0ALICE")
	add("Raise the payment pool to 200 connections", "U0BOB")
	tk.fail = 1
	res, err := h.app.FileTickets(ctx, inc.Number, false)
	if err != nil || len(res.Failed) != 1 || len(res.Filed) != 1 {
		t.Fatalf("first filing: filed %d failed %d, %v", len(res.Filed), len(res.Failed), err)
	}
	// The failed one was marked as being filed: the retry first looks for
	// it (GitHub may have made it before the answer was lost).
	res, err = h.app.FileTickets(ctx, inc.Number, false)
	if err != nil || len(res.Filed) != 1 || len(res.Failed) != 0 {
		t.Fatalf("retry: filed %d failed %d, %v", len(res.Filed), len(res.Failed), err)
	}
	if res, _ := h.app.FileTickets(ctx, inc.Number, false); len(res.Filed) != 0 {
		t.Fatal("a third call filed again")
	}
	got := h.get(t, inc.Number)
	if len(tk.filed) != 2 || got.Actions[0].Ticket == nil || got.Actions[1].Ticket == nil {
		t.Fatalf("%d issues filed, tickets %+v %+v", len(tk.filed), got.Actions[0].Ticket, got.Actions[1].Ticket)
	}
	// Item 1 failed first, so item 2 was filed first; the retry adopted
	// nothing (GitHub had made nothing) and filed item 1.
	if r := tk.filed[1]; r.Marker != "klaxon:incident-1:action-1" || !r.Adopt || r.Repo != "acme/checkout" || r.Owner != "U0ALICE" || !strings.Contains(r.Body, "Due:** "+today) || !strings.Contains(r.Title, "[INC-1]") {
		t.Fatalf("ticket request %+v", r)
	}
	tk.state[got.Actions[0].Ticket.Number] = "closed"
	if n, err := h.app.SyncTickets(ctx); err != nil || n != 2 {
		t.Fatalf("SyncTickets read %d, %v", n, err)
	}
	st := playbook.CountActions([]playbook.Incident{h.get(t, inc.Number)})
	if st.Total != 2 || st.Done != 1 || st.Rate() != 50 {
		t.Fatalf("stats %+v rate %d", st, st.Rate())
	}
}

func TestTicketsWithoutGitHubSaySo(t *testing.T) {
	h := newHarness(t)
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV1, "search")
	res, err := h.app.FileTickets(context.Background(), inc.Number, false)
	if err != nil || res.Skipped != playbook.TicketsGitHubOff {
		t.Fatalf("skipped %q, %v", res.Skipped, err)
	}
	h.app.Deps().Tickets = &fakeTickets{}
	res, _ = h.app.FileTickets(context.Background(), inc.Number, false)
	if res.Skipped != playbook.TicketsNoRepo {
		t.Fatalf("no repo: skipped %q", res.Skipped)
	}
}

func TestRootCauseFlagsRepeats(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	one := h.declare(t, "DNS broke", playbook.SEV2, "")
	two := h.declare(t, "Other thing", playbook.SEV3, "")
	three := h.declare(t, "DNS broke again", playbook.SEV1, "")
	h.app.Deps().Responders = []string{"U0IC"}
	if _, _, err := h.app.SetRootCause(ctx, three.Number, "dns", "U0NOBODY", h.key()); playbook.ErrorCode(err) != playbook.CodeForbidden {
		t.Fatalf("a bystander's tag: %v", err)
	}
	if playbook.NormaliseTag("  DNS / TTL  too_long!! ") != "dns-ttl-too-long" {
		t.Fatalf("NormaliseTag = %q", playbook.NormaliseTag("  DNS / TTL  too_long!! "))
	}
	if _, _, err := h.app.SetRootCause(ctx, three.Number, "DNS TTL too long", "U0IC", h.key()); err != nil {
		t.Fatal(err)
	}
	if len(h.get(t, three.Number).RepeatOf) != 0 {
		t.Fatal("a first tag made a repeat")
	}
	// Tagging an earlier incident later makes the later one its repeat.
	h.app.SetRootCause(ctx, one.Number, "dns-ttl-too-long", "U0IC", h.key())
	h.app.SetRootCause(ctx, two.Number, "disk full", "U0IC", h.key())
	if got := h.get(t, three.Number).RepeatOf; len(got) != 1 || got[0] != one.Number {
		t.Fatalf("#3 repeats %v, want [1]", got)
	}
	// Re-tagging #1 drops the link.
	h.app.SetRootCause(ctx, one.Number, "bad deploy", "U0IC", h.key())
	if got := h.get(t, three.Number).RepeatOf; len(got) != 0 {
		t.Fatalf("#3 still repeats %v after #1 was re-tagged", got)
	}
	if _, _, err := h.app.SetRootCause(ctx, two.Number, " !! ", "U0IC", h.key()); playbook.ErrorCode(err) != playbook.CodeBadInput {
		t.Fatalf("empty tag: %v", err)
	}
}

// resolve walks an incident to resolved with all gates held.
func (h *harness) resolve(t *testing.T, n int64) {
	t.Helper()
	ctx := context.Background()
	for _, g := range playbook.Gates {
		if _, _, err := h.app.SetGate(ctx, n, g.Gate, true, "U0DECLARER", h.key()); err != nil {
			t.Fatal(err)
		}
	}
	h.clock.Advance(playbook.SyntheticsDwell)
	if _, _, _, err := h.app.AllClear(ctx, n, playbook.AllClearRequest{Key: h.key(), Actor: "U0DECLARER"}); err != nil {
		t.Fatal(err)
	}
}

func TestCloseUploadsThenArchives(t *testing.T) {
	h, _, cl := wrapHarness(t)
	ctx := context.Background()
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV1, "checkout")
	if _, err := h.app.SetUp(ctx, inc.Number); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.app.Close(ctx, inc.Number, playbook.CloseRequest{Key: h.key(), Actor: "U0DECLARER"}); playbook.ErrorCode(err) != playbook.CodeBadTransition || !strings.Contains(userMessage(err), "/incident resolve") {
		t.Fatalf("close before the all-clear: %v", err)
	}
	h.resolve(t, inc.Number)
	if _, _, err := h.app.Close(ctx, inc.Number, playbook.CloseRequest{Key: h.key(), Actor: "U0NOBODY"}); playbook.ErrorCode(err) != playbook.CodeForbidden {
		t.Fatalf("close by a bystander: %v", err)
	}
	cl.failUpload = 1
	if _, _, err := h.app.Close(ctx, inc.Number, playbook.CloseRequest{Key: h.key(), Actor: "U0DECLARER", Tag: "Pool exhaustion"}); err != nil {
		t.Fatal(err)
	}
	res, err := h.app.FinishClose(ctx, inc.Number, false)
	if err != nil || res.Failed[playbook.CloseUpload] == nil {
		t.Fatalf("failed upload: %v, %v", res.Failed, err)
	}
	if len(cl.archived) != 0 {
		t.Fatal("archived before the outline was in the channel")
	}
	res, err = h.app.FinishClose(ctx, inc.Number, true)
	if err != nil || len(res.Failed) != 0 {
		t.Fatalf("retry: %v, %v", res.Failed, err)
	}
	got := h.get(t, inc.Number)
	if len(cl.uploads) != 1 || len(cl.archived) != 1 || got.Closure.File == "" || got.Closure.Archived.IsZero() || got.RootCause != "pool-exhaustion" {
		t.Fatalf("uploads %d archived %d closure %+v tag %q", len(cl.uploads), len(cl.archived), got.Closure, got.RootCause)
	}
	if !strings.Contains(cl.uploads[0].Comment, "postmortem done #1") || cl.uploads[0].Name != "inc-1-postmortem.md" {
		t.Fatalf("upload %+v", cl.uploads[0])
	}
	if _, ok := got.At(playbook.PhaseClosed); !ok {
		t.Fatal("closed phase not recorded")
	}
	if res, _ := h.app.FinishClose(ctx, inc.Number, true); len(cl.uploads) != 1 || len(cl.archived) != 1 || len(res.Failed) != 0 {
		t.Fatal("a second FinishClose did something again")
	}
}

// TestLostShareAnswerUploadsOnce: Slack shared the outline but the answer
// was lost; the retry finds it shared and uploads nothing more.
func TestLostShareAnswerUploadsOnce(t *testing.T) {
	h, _, cl := wrapHarness(t)
	ctx := context.Background()
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV1, "checkout")
	h.app.SetUp(ctx, inc.Number)
	h.resolve(t, inc.Number)
	cl.lostShares = 1
	h.app.Close(ctx, inc.Number, playbook.CloseRequest{Key: h.key(), Actor: "U0DECLARER"})
	if res, _ := h.app.FinishClose(ctx, inc.Number, false); res.Failed[playbook.CloseUpload] == nil || len(cl.archived) != 0 {
		t.Fatalf("lost answer: failed %v, archived %d", res.Failed, len(cl.archived))
	}
	res, err := h.app.FinishClose(ctx, inc.Number, true)
	if err != nil || len(res.Failed) != 0 || len(cl.uploads) != 1 || len(cl.archived) != 1 || res.Incident.Closure.File != "F001" {
		t.Fatalf("retry: %v %v, %d uploads, %d archived, closure %+v", res.Failed, err, len(cl.uploads), len(cl.archived), res.Incident.Closure)
	}
}

// TestDelayedArchiveWaitsForTheOutline: when the upload failed, the delayed
// archive does not archive; the retried upload archives right after.
func TestDelayedArchiveWaitsForTheOutline(t *testing.T) {
	h, _, cl := wrapHarness(t)
	ctx := context.Background()
	h.app.Deps().ArchiveDelay = 10 * time.Minute
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV1, "checkout")
	h.app.SetUp(ctx, inc.Number)
	h.resolve(t, inc.Number)
	cl.failUpload = 3
	h.app.Close(ctx, inc.Number, playbook.CloseRequest{Key: h.key(), Actor: "U0DECLARER"})
	for range 3 {
		h.app.FinishClose(ctx, inc.Number, false)
	}
	h.clock.Advance(10 * time.Minute)
	h.app.Tick(ctx, h.clock.Now())
	if len(cl.archived) != 0 {
		t.Fatal("archived without the outline")
	}
	res, err := h.app.FinishClose(ctx, inc.Number, true)
	if err != nil || len(res.Failed) != 0 || len(cl.uploads) != 1 || len(cl.archived) != 1 {
		t.Fatalf("retry: %v %v, %d uploads, %d archived", res.Failed, err, len(cl.uploads), len(cl.archived))
	}
}

func TestDelayedArchiveFiresFromTheScheduler(t *testing.T) {
	h, _, cl := wrapHarness(t)
	ctx := context.Background()
	h.app.Deps().ArchiveDelay = 2 * time.Hour
	pub := &fakePublisher{}
	h.app.Deps().PostmortemRepo, h.app.Deps().PostmortemsRepo = pub, "acme/postmortems"
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV3, "checkout")
	h.app.SetUp(ctx, inc.Number)
	h.resolve(t, inc.Number)
	h.app.Close(ctx, inc.Number, playbook.CloseRequest{Key: h.key(), Actor: "U0DECLARER"})
	if res, err := h.app.FinishClose(ctx, inc.Number, false); err != nil || len(res.Failed) != 0 {
		t.Fatal(res.Failed, err)
	}
	if len(cl.archived) != 0 || len(cl.uploads) != 1 || !strings.Contains(cl.uploads[0].Comment, "will be archived at") {
		t.Fatalf("archived %d uploads %d", len(cl.archived), len(cl.uploads))
	}
	if len(pub.docs) != 1 || !strings.HasPrefix(pub.docs[0].Path, "postmortems/") || !strings.HasSuffix(pub.docs[0].Path, "-inc-1-checkout-returns-500s.md") {
		t.Fatalf("published %+v", pub.docs)
	}
	cl.failArch = 1
	h.clock.Advance(2 * time.Hour)
	h.app.Tick(ctx, h.clock.Now())
	if len(cl.archived) != 0 || h.get(t, inc.Number).Timers.ArchiveDue.IsZero() {
		t.Fatal("a failed archive was not rescheduled")
	}
	h.clock.Advance(time.Minute)
	h.app.Tick(ctx, h.clock.Now())
	got := h.get(t, inc.Number)
	if len(cl.archived) != 1 || got.Closure.Archived.IsZero() || !got.Timers.ArchiveDue.IsZero() {
		t.Fatalf("archived %d, closure %+v", len(cl.archived), got.Closure)
	}
}

func TestPrivateOutlineIsNotPublished(t *testing.T) {
	h, _, _ := wrapHarness(t)
	ctx := context.Background()
	pub := &fakePublisher{}
	h.app.Deps().PostmortemRepo, h.app.Deps().PostmortemsRepo = pub, "acme/postmortems"
	inc, _, _ := h.app.Declare(ctx, playbook.DeclareRequest{Key: h.key(), Title: "Payroll leak", Severity: playbook.SEV2, Declarer: "U0DECLARER", Private: true})
	h.app.SetUp(ctx, inc.Number)
	h.resolve(t, inc.Number)
	h.app.Close(ctx, inc.Number, playbook.CloseRequest{Key: h.key(), Actor: "U0DECLARER"})
	res, _ := h.app.FinishClose(ctx, inc.Number, false)
	if len(pub.docs) != 0 || res.NotPublished == "" {
		t.Fatalf("private outline published: %+v, not published to %q", pub.docs, res.NotPublished)
	}
}

func TestPostmortemDoneStopsReminders(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV1, "checkout")
	h.app.Deps().Responders = []string{"U0IC"}
	if _, _, err := h.app.PostmortemDone(ctx, inc.Number, "https://docs.example.com/pm", "U0IC", h.key()); playbook.ErrorCode(err) != playbook.CodeBadTransition {
		t.Fatalf("done before resolution: %v", err)
	}
	h.resolve(t, inc.Number)
	// Marking it written silences the reminders: not for bystanders.
	if _, _, err := h.app.PostmortemDone(ctx, inc.Number, "https://docs.example.com/pm", "U0NOBODY", h.key()); playbook.ErrorCode(err) != playbook.CodeForbidden {
		t.Fatalf("done by a bystander: %v", err)
	}
	if _, _, err := h.app.PostmortemDone(ctx, inc.Number, "not a link", "U0IC", h.key()); playbook.ErrorCode(err) != playbook.CodeBadInput {
		t.Fatalf("bad link: %v", err)
	}
	got, _, err := h.app.PostmortemDone(ctx, inc.Number, "<https://docs.example.com/pm>", "U0IC", h.key())
	if err != nil || !got.Timers.PostmortemDone || got.Timers.PostmortemLink != "https://docs.example.com/pm" {
		t.Fatalf("done: %+v, %v", got.Timers, err)
	}
	h.clock.Advance(48 * time.Hour)
	if ns, _ := h.app.RemindPostmortems(ctx, h.clock.Now()); len(ns) != 0 {
		t.Fatalf("reminded after done: %v", ns)
	}
}

// TestResumeFinishesAnInterruptedClose: a stop after the close was recorded
// but before the outline was shared (or an item filed) is finished by the
// next start, once.
func TestResumeFinishesAnInterruptedClose(t *testing.T) {
	h, tk, cl := wrapHarness(t)
	ctx := context.Background()
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV1, "checkout")
	h.app.SetUp(ctx, inc.Number)
	h.resolve(t, inc.Number)
	today := h.clock.Now().UTC().Format(playbook.DueLayout)
	if _, _, _, err := h.app.AddAction(ctx, inc.Number, playbook.ActionRequest{Key: h.key(), Actor: "U0IC", Text: "Add a 5xx alert on checkout", Owner: "U0ALICE", Due: today}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.app.Close(ctx, inc.Number, playbook.CloseRequest{Key: h.key(), Actor: "U0DECLARER"}); err != nil {
		t.Fatal(err)
	}
	// The process stops here. The next one resumes.
	if err := h.app.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.app.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	got := h.get(t, inc.Number)
	if len(cl.uploads) != 1 || len(cl.archived) != 1 || len(tk.filed) != 1 || got.Actions[0].Ticket == nil || got.Closure.Archived.IsZero() {
		t.Fatalf("after resume: %d uploads, %d archives, %d tickets, closure %+v", len(cl.uploads), len(cl.archived), len(tk.filed), got.Closure)
	}
}

func FuzzValidateAction(f *testing.F) {
	for _, s := range []string{"Add a 5xx alert on checkout", "investigate", "", "be more careful", "look into it ok"} {
		f.Add(s, "U0ALICE", "2026-12-04")
	}
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, text, owner, due string) {
		err := playbook.ValidateAction(playbook.ActionRequest{Text: text, Owner: owner, Due: due}, now)
		if err != nil && (playbook.ErrorCode(err) != playbook.CodeBadInput || userMessage(err) == "") {
			t.Fatalf("refusal without a message for a person: %v", err)
		}
		if err == nil && (strings.TrimSpace(text) == "" || owner == "" || due == "") {
			t.Fatalf("accepted %q %q %q", text, owner, due)
		}
		tag := playbook.NormaliseTag(text)
		if tag != playbook.NormaliseTag(tag) || strings.HasPrefix(tag, "-") || strings.HasSuffix(tag, "-") || len([]rune(tag)) > playbook.MaxTag {
			t.Fatalf("NormaliseTag(%q) = %q is not stable", text, tag)
		}
		playbook.ParseRemedy(text)
	})
}

// TestPrivateIncidentsStayOutOfPublicPlaces: a private incident's items are
// not filed in its service's repo, and a public incident is never flagged as
// a repeat of a private one.
func TestPrivateIncidentsStayOutOfPublicPlaces(t *testing.T) {
	h, tk, _ := wrapHarness(t)
	ctx := context.Background()
	priv, _, _ := h.app.Declare(ctx, playbook.DeclareRequest{Key: h.key(), Title: "Payroll leak", Severity: playbook.SEV2, Service: "checkout", Declarer: "U0DECLARER", Private: true})
	today := h.clock.Now().UTC().Format(playbook.DueLayout)
	h.app.AddAction(ctx, priv.Number, playbook.ActionRequest{Key: h.key(), Actor: "U0IC", Text: "Rotate the payroll export keys", Owner: "U0ALICE", Due: today})
	res, err := h.app.FileTickets(ctx, priv.Number, false)
	if err != nil || len(tk.filed) != 0 || res.Skipped != playbook.TicketsPrivateNoRepo {
		t.Fatalf("private item filed: %d, skipped %q, %v", len(tk.filed), res.Skipped, err)
	}
	h.app.Deps().ActionItemRepo = "acme/private-actions"
	h.app.FileTickets(ctx, priv.Number, false)
	if len(tk.filed) != 1 || tk.filed[0].Repo != "acme/private-actions" || strings.Contains(tk.filed[0].Body, "Payroll leak") || strings.Contains(tk.filed[0].Body, "checkout") {
		t.Fatalf("private item: %+v", tk.filed)
	}
	pub := h.declare(t, "Checkout returns 500s", playbook.SEV1, "checkout")
	h.app.SetRootCause(ctx, priv.Number, "leaky export", "U0IC", h.key())
	got, _, _ := h.app.SetRootCause(ctx, pub.Number, "leaky export", "U0IC", h.key())
	if len(got.RepeatOf) != 0 {
		t.Fatalf("public incident names private ones: %v", got.RepeatOf)
	}
}

// TestTopicFollowsTheStatus: the channel topic shows the status, so every
// status change sets it again, once (conversations.setTopic is Tier 2): by
// the scheduler's next tick, retried a minute later when Slack refuses, and
// for the close by FinishClose before the channel is archived.
func TestTopicFollowsTheStatus(t *testing.T) {
	h, _, cl := wrapHarness(t)
	ctx := context.Background()
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV1, "checkout")
	if _, err := h.app.SetUp(ctx, inc.Number); err != nil {
		t.Fatal(err)
	}
	statuses := func() []playbook.Status {
		h.ch.mu.Lock()
		defer h.ch.mu.Unlock()
		var s []playbook.Status
		for _, b := range h.ch.topics {
			s = append(s, b.Incident.Status)
		}
		return s
	}
	tick := func() {
		t.Helper()
		if _, err := h.app.Tick(ctx, h.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	want := []playbook.Status{playbook.StatusInvestigating}
	check := func(when string) {
		t.Helper()
		if got := statuses(); !slices.Equal(got, want) {
			t.Fatalf("%s: topics set with %v, want %v", when, got, want)
		}
	}
	check("after setup")
	if _, _, _, err := h.app.Remediate(ctx, inc.Number, playbook.RemedyRollback, "U0DECLARER", h.key()); err != nil {
		t.Fatal(err)
	}
	tick()
	tick() // nothing more
	want = append(want, playbook.StatusMitigating)
	check("after the remediation")
	// Two changes before the scheduler runs: one call, with the newest.
	if _, _, err := h.app.Mitigate(ctx, inc.Number, "U0DECLARER", h.key()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.app.OpenVerification(ctx, inc.Number, "U0DECLARER", h.key()); err != nil {
		t.Fatal(err)
	}
	tick()
	want = append(want, playbook.StatusMitigated)
	check("after mitigated")
	// Slack refuses once (rate-limited): tried again a minute later, once.
	refused := 0
	h.ch.TopicHook = func(b playbook.Briefing) error {
		if refused == 0 {
			refused++
			return errors.New("conversations.setTopic: slack rate limit exceeded, retry after 30s")
		}
		return nil
	}
	h.resolve(t, inc.Number)
	tick()
	tick()
	want = append(want, playbook.StatusResolved)
	check("after the refused all-clear topic")
	h.clock.Advance(time.Minute)
	tick()
	tick()
	want = append(want, playbook.StatusResolved)
	check("a minute later")
	// The close: set before the archive, and by nobody else.
	h.ch.TopicHook = func(b playbook.Briefing) error {
		if len(cl.archived) != 0 {
			t.Error("the topic was set after the channel was archived")
		}
		return nil
	}
	if _, _, err := h.app.Close(ctx, inc.Number, playbook.CloseRequest{Key: h.key(), Actor: "U0DECLARER"}); err != nil {
		t.Fatal(err)
	}
	if res, err := h.app.FinishClose(ctx, inc.Number, false); err != nil || len(res.Failed) != 0 || len(cl.archived) != 1 {
		t.Fatalf("close: %v %v, archived %v", res.Failed, err, cl.archived)
	}
	h.clock.Advance(time.Hour)
	tick()
	want = append(want, playbook.StatusClosed)
	check("after the close")
	if got := h.get(t, inc.Number); !got.Timers.TopicDue.IsZero() || !got.WakeAt().IsZero() {
		t.Fatalf("a closed incident still wakes the scheduler: topic due %v, wake %v", got.Timers.TopicDue, got.WakeAt())
	}
}
