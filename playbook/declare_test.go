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

var allSteps = []playbook.Step{playbook.StepChannel, playbook.StepTopic, playbook.StepPurpose, playbook.StepInvite,
	playbook.StepBookmark, playbook.StepIntro, playbook.StepPin, playbook.StepAnnounce}

func validRequest() playbook.DeclareRequest {
	return playbook.DeclareRequest{Key: "Ev01", Title: "Checkout returns 500s", Severity: playbook.SEV2,
		Service: "checkout", Declarer: "U0DECLARER", Origin: "C0GENERAL"}
}

func TestDeclareRejectsWithAMessageAPersonCanActOn(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(*playbook.DeclareRequest)
		code     playbook.Code
		mentions []string
	}{
		{"empty title", func(r *playbook.DeclareRequest) { r.Title = "" }, playbook.CodeBadInput, []string{"title"}},
		{"blank title", func(r *playbook.DeclareRequest) { r.Title = " \t\n " }, playbook.CodeBadInput, []string{"title"}},
		{"title too long", func(r *playbook.DeclareRequest) { r.Title = strings.Repeat("x", playbook.MaxTitle+1) },
			playbook.CodeBadInput, []string{"title", fmt.Sprint(playbook.MaxTitle + 1), fmt.Sprint(playbook.MaxTitle)}},
		{"title too long in runes", func(r *playbook.DeclareRequest) { r.Title = strings.Repeat("é", playbook.MaxTitle+1) },
			playbook.CodeBadInput, []string{fmt.Sprint(playbook.MaxTitle + 1)}},
		{"no severity", func(r *playbook.DeclareRequest) { r.Severity = 0 }, playbook.CodeBadSeverity, []string{"sev1", "sev4"}},
		{"severity 5", func(r *playbook.DeclareRequest) { r.Severity = 5 }, playbook.CodeBadSeverity, []string{"sev1", "sev4"}},
		{"unknown service", func(r *playbook.DeclareRequest) { r.Service = "paymnts" }, playbook.CodeBadInput,
			[]string{`"paymnts"`, "checkout, search"}},
		{"no declarer", func(r *playbook.DeclareRequest) { r.Declarer = "" }, playbook.CodeBadInput, []string{"declarer"}},
		{"no key", func(r *playbook.DeclareRequest) { r.Key = "" }, playbook.CodeBadInput, []string{"key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			req := validRequest()
			tt.edit(&req)
			inc, created, err := h.app.Declare(context.Background(), req)
			e := asError(t, err)
			if e.Code != tt.code {
				t.Errorf("code = %q, want %q (message %q)", e.Code, tt.code, userMessage(e))
			}
			for _, m := range tt.mentions {
				if !strings.Contains(userMessage(e), m) {
					t.Errorf("message %q does not mention %q", userMessage(e), m)
				}
			}
			if len(userMessage(e)) > 300 {
				t.Errorf("message is %d bytes long; people read it in Slack", len(userMessage(e)))
			}
			if created || inc.Number != 0 {
				t.Errorf("Declare returned created=%v #%d with an error", created, inc.Number)
			}
			if all, _ := h.store.List(context.Background(), nil); len(all) != 0 {
				t.Errorf("a refused declaration stored %d incidents", len(all))
			}
		})
	}
}

func TestDeclareAcceptsTheLongestTitleAndAnyServiceCase(t *testing.T) {
	h := newHarness(t)
	req := validRequest()
	req.Title = strings.Repeat("é", playbook.MaxTitle) // MaxTitle characters, twice as many bytes
	req.Service = "CheckOut"
	inc, created, err := h.app.Declare(context.Background(), req)
	if err != nil || !created {
		t.Fatalf("Declare = %v, %v", created, err)
	}
	if inc.Service != "checkout" {
		t.Errorf("service stored as %q, want the configured name %q", inc.Service, "checkout")
	}
}

func TestDeclareUnknownServiceWithNoneConfigured(t *testing.T) {
	h := newHarness(t)
	h.app.Deps().Services = nil
	req := validRequest()
	_, _, err := h.app.Declare(context.Background(), req)
	if e := asError(t, err); e.Code != playbook.CodeBadInput || !strings.Contains(userMessage(e), "none configured") {
		t.Errorf("err = %+v, want CodeBadInput saying no service is configured", e)
	}
	req.Service = ""
	if _, created, err := h.app.Declare(context.Background(), req); err != nil || !created {
		t.Errorf("Declare without a service = %v, %v; a service is optional", created, err)
	}
}

func TestDeclareStoreFailureDoesNothing(t *testing.T) {
	h := newHarness(t)
	diskFull := errors.New("write klaxon.db: no space left on device")
	h.store.FailNext = diskFull
	_, created, err := h.app.Declare(context.Background(), validRequest())
	e := asError(t, err)
	if e.Code != playbook.CodeStore {
		t.Errorf("code = %q, want %q", e.Code, playbook.CodeStore)
	}
	if !strings.Contains(userMessage(e), "nothing was done") {
		t.Errorf("message %q does not say nothing was done", userMessage(e))
	}
	if msg := userMessage(err); strings.Contains(msg, "no space") {
		t.Errorf("the person is shown the internal cause: %q", msg)
	}
	if !errors.Is(err, diskFull) {
		t.Errorf("the cause is lost for the logs: %v", err)
	}
	if created {
		t.Error("created = true on a store failure")
	}
	if h.ch.counts()["Create"] != 0 || h.post.counts()["Announce"] != 0 {
		t.Error("Declare touched Slack")
	}
	// Nothing was done: trying again declares incident #1.
	inc, created, err := h.app.Declare(context.Background(), validRequest())
	if err != nil || !created || inc.Number != 1 {
		t.Fatalf("retry = #%d created=%v %v; want #1", inc.Number, created, err)
	}
}

func TestDeclareSameKeyDeclaresOnce(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	first, created, err := h.app.Declare(ctx, validRequest())
	if err != nil || !created || first.Number != 1 {
		t.Fatalf("first Declare = #%d created=%v %v", first.Number, created, err)
	}
	h.clock.Advance(time.Minute)
	again := validRequest()
	again.Title = "Checkout returns 500s (redelivered)"
	second, created, err := h.app.Declare(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if created || second.Number != first.Number || second.Title != first.Title {
		t.Errorf("same key again = #%d %q created=%v; want #%d %q, not created", second.Number, second.Title, created, first.Number, first.Title)
	}
	if at, _ := second.At(playbook.PhaseDeclared); !at.Equal(h.clock.Now().Add(-time.Minute)) {
		t.Errorf("redelivery moved declared to %v", at)
	}
	if evs := h.timeline(t, first.Number); countEvents(evs, playbook.EventDeclared) != 1 {
		t.Errorf("timeline = %v, want one declared event", eventTypes(evs))
	}
	other := validRequest()
	other.Key = "Ev02"
	third, created, err := h.app.Declare(ctx, other)
	if err != nil || !created || third.Number != 2 {
		t.Errorf("another key = #%d created=%v %v; want #2", third.Number, created, err)
	}
}

func TestDeclareRecordsPhasesInUTC(t *testing.T) {
	h := newHarness(t)
	now := h.clock.Now() // 01:59:30 EST on the night New York springs forward
	req := validRequest()
	req.Title = "  Checkout returns 500s  "
	inc, _, err := h.app.Declare(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	stored := h.get(t, inc.Number)
	for _, got := range []playbook.Incident{inc, stored} {
		if got.Status != playbook.StatusInvestigating || got.Severity != playbook.SEV2 || got.Title != "Checkout returns 500s" ||
			got.Declarer != "U0DECLARER" || got.Service != "checkout" || got.Origin != "C0GENERAL" {
			t.Errorf("incident = %+v", got)
		}
		for _, p := range []playbook.Phase{playbook.PhaseDetected, playbook.PhaseDeclared, playbook.PhaseAcknowledged} {
			at, ok := got.At(p)
			if !ok || !at.Equal(now) || at.Location() != time.UTC {
				t.Errorf("%s = %v (reached %v), want %v in UTC", p, at, ok, now.UTC())
			}
		}
		if len(got.Times) != 3 {
			t.Errorf("phases = %v, want only detected, declared and acknowledged", got.Times)
		}
		if got.Ready() || got.Done(playbook.StepChannel) {
			t.Error("Declare did setup steps; it must not touch Slack")
		}
	}
	want := time.Date(2026, 3, 8, 6, 59, 30, 0, time.UTC)
	if at, _ := stored.At(playbook.PhaseDeclared); !at.Equal(want) {
		t.Errorf("declared = %v, want %v", at, want)
	}
	evs := h.timeline(t, inc.Number)
	if len(evs) != 1 {
		t.Fatalf("timeline = %v, want one declared event", eventTypes(evs))
	}
	ev := evs[0]
	if ev.Type != playbook.EventDeclared || ev.Actor != "U0DECLARER" || !ev.At.Equal(now) || ev.At.Location() != time.UTC ||
		!strings.Contains(ev.Text, "SEV2") || !strings.Contains(ev.Text, "Checkout returns 500s") ||
		ev.Payload != (playbook.DeclaredPayload{Severity: playbook.SEV2, Service: "checkout"}) {
		t.Errorf("declared event = %+v", ev)
	}
	if h.ch.counts()["Create"] != 0 || h.post.counts()["Announce"] != 0 {
		t.Error("Declare touched Slack")
	}
}

func TestInvitees(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		inc  playbook.Incident
		want []string
	}{
		// Declarer, then checkout's people, then SEV2's, each once.
		{playbook.Incident{Declarer: "U0DECLARER", Service: "checkout", Severity: playbook.SEV2},
			[]string{"U0DECLARER", "U0PAYLEAD", "S0SUPPORT", "U0VP"}},
		{playbook.Incident{Declarer: "U0VP", Service: "checkout", Severity: playbook.SEV2},
			[]string{"U0VP", "U0PAYLEAD", "U0DECLARER", "S0SUPPORT"}},
		{playbook.Incident{Declarer: "U0DECLARER", Service: "search", Severity: playbook.SEV1},
			[]string{"U0DECLARER"}},
		{playbook.Incident{Declarer: "U0DECLARER", Service: "gone-from-config", Severity: playbook.SEV2},
			[]string{"U0DECLARER", "S0SUPPORT", "U0VP"}},
		{playbook.Incident{Service: "checkout", Severity: playbook.SEV3},
			[]string{"U0PAYLEAD", "U0DECLARER", "S0SUPPORT"}},
	}
	for _, tt := range tests {
		if got := h.app.Invitees(tt.inc); !slices.Equal(got, tt.want) {
			t.Errorf("Invitees(declarer %q, %s, %v) = %v, want %v", tt.inc.Declarer, tt.inc.Service, tt.inc.Severity, got, tt.want)
		}
	}
}

func TestSetUpReadiesTheChannel(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV2, "checkout")
	h.clock.Advance(time.Minute) // 03:00:30 EDT: setup happens after the clocks went forward

	res, err := h.app.SetUp(ctx, inc.Number)
	if err != nil {
		t.Fatalf("SetUp: %v", err)
	}
	if len(res.Failed) != 0 {
		t.Fatalf("failed steps: %v", res.Failed)
	}

	wantName := "inc-1-sev2-checkout-returns-500s"
	if got := h.ch.creates; len(got) != 1 || got[0].Name != wantName || got[0].Private {
		t.Fatalf("Create calls = %+v, want one public #%s", got, wantName)
	}
	wantID := channelID(wantName)
	stored := h.get(t, inc.Number)
	if stored.Channel != (playbook.ChannelRef{ID: wantID, Name: wantName}) {
		t.Errorf("stored channel = %+v", stored.Channel)
	}

	for _, calls := range [][]playbook.Briefing{h.ch.topics, h.ch.purposes, h.post.intros, h.post.announces} {
		if len(calls) != 1 {
			t.Fatalf("topic/purpose/intro/announce calls = %d/%d/%d/%d, want one each",
				len(h.ch.topics), len(h.ch.purposes), len(h.post.intros), len(h.post.announces))
		}
		b := calls[0]
		if b.Incident.Channel.ID != wantID || b.Tier.Severity != playbook.SEV2 || b.Tier.UpdateEvery != 30*time.Minute ||
			b.Service.Name != "checkout" || b.Service.Runbook != runbookURL {
			t.Errorf("briefing = %+v; want the incident with its channel, the SEV2 tier and the checkout service", b)
		}
	}
	if want := []inviteCall{{wantID, []string{"U0DECLARER", "U0PAYLEAD", "S0SUPPORT", "U0VP"}}}; !slices.EqualFunc(h.ch.invites, want, func(a, b inviteCall) bool {
		return a.Channel == b.Channel && slices.Equal(a.IDs, b.IDs)
	}) {
		t.Errorf("invites = %+v, want %+v", h.ch.invites, want)
	}
	if want := []bookmarkCall{{wantID, "Runbook: checkout", runbookURL}}; !slices.Equal(h.ch.bookmarks, want) {
		t.Errorf("bookmarks = %+v, want %+v", h.ch.bookmarks, want)
	}
	if len(h.post.introRefs) != 1 || !slices.Equal(h.ch.pins, h.post.introRefs) {
		t.Errorf("pinned %+v; want exactly the intro %+v", h.ch.pins, h.post.introRefs)
	}
	if h.post.introRefs[0].Channel != wantID {
		t.Errorf("intro posted in %q, want the incident channel", h.post.introRefs[0].Channel)
	}
	if stored.Intro != h.post.introRefs[0] {
		t.Errorf("stored intro = %+v, want %+v", stored.Intro, h.post.introRefs[0])
	}
	if len(h.post.announceRefs) != 1 || stored.Announcement != h.post.announceRefs[0] {
		t.Errorf("stored announcement = %+v, want %+v", stored.Announcement, h.post.announceRefs)
	}
	if len(h.post.notices) != 0 {
		t.Errorf("notices posted after a clean setup: %+v", h.post.notices)
	}

	if !stored.Ready() || !res.Incident.Ready() {
		t.Errorf("not ready after a clean setup: %v", stored.Setup)
	}
	for _, s := range allSteps {
		at, ok := stored.Setup[s]
		if !ok || !at.Equal(h.clock.Now()) || at.Location() != time.UTC {
			t.Errorf("step %s done at %v (%v), want %v in UTC", s, at, ok, h.clock.Now().UTC())
		}
	}
	if res.Incident.Version != stored.Version || res.Incident.Announcement != stored.Announcement {
		t.Errorf("SetUp returned %+v, not the stored incident %+v", res.Incident, stored)
	}
	if stored.Status != playbook.StatusInvestigating {
		t.Errorf("status = %s after setup", stored.Status)
	}

	evs := h.timeline(t, inc.Number)
	if len(evs) < 2 || evs[0].Type != playbook.EventDeclared || evs[1].Type != playbook.EventChannelCreated {
		t.Fatalf("timeline = %v, want declared then channel_created first", eventTypes(evs))
	}
	if !strings.Contains(evs[1].Text, wantName) {
		t.Errorf("channel_created says %q, want the channel name", evs[1].Text)
	}
	for _, typ := range []playbook.EventType{playbook.EventDeclared, playbook.EventChannelCreated, playbook.EventInvited,
		playbook.EventRunbookAttached, playbook.EventAnnounced} {
		if countEvents(evs, typ) != 1 {
			t.Errorf("timeline %v has %d %s events, want 1", eventTypes(evs), countEvents(evs, typ), typ)
		}
	}
	if countEvents(evs, playbook.EventStepFailed) != 0 {
		t.Errorf("step_failed on a clean setup: %v", eventTypes(evs))
	}
	for _, ev := range evs {
		if ev.Type == playbook.EventInvited && !strings.Contains(ev.Text, "U0PAYLEAD") {
			t.Errorf("invited event %q does not say who", ev.Text)
		}
		if ev.Type == playbook.EventRunbookAttached && !strings.Contains(ev.Text, runbookURL) {
			t.Errorf("runbook_attached event %q does not give the link", ev.Text)
		}
	}
}

func TestSetUpWithoutRunbookSkipsTheBookmark(t *testing.T) {
	for _, service := range []string{"search", ""} {
		h := newHarness(t)
		inc := h.declare(t, "Search is slow", playbook.SEV3, service)
		res, err := h.app.SetUp(context.Background(), inc.Number)
		if err != nil || len(res.Failed) != 0 {
			t.Fatalf("SetUp(service %q) = %v, %v", service, res.Failed, err)
		}
		if n := h.ch.counts()["AddBookmark"]; n != 0 {
			t.Errorf("service %q without a runbook: %d bookmarks added", service, n)
		}
		if !res.Incident.Ready() {
			t.Errorf("service %q without a runbook: not ready (%v)", service, res.Incident.Setup)
		}
		if evs := h.timeline(t, inc.Number); countEvents(evs, playbook.EventRunbookAttached) != 0 {
			t.Errorf("runbook_attached recorded with no runbook: %v", eventTypes(evs))
		}
	}
}

func TestSetUpRetriesTakenNames(t *testing.T) {
	h := newHarness(t)
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV2, "checkout")
	taken := map[string]bool{"inc-1-sev2-checkout-returns-500s": true, "inc-1-sev2-checkout-returns-500s-2": true}
	h.ch.CreateHook = func(name string) error {
		if taken[name] {
			// As an adapter reports it: wrapped, with its own context.
			return fmt.Errorf("slack: conversations.create %q: %w", name, playbook.ErrNameTaken)
		}
		return nil
	}
	res, err := h.app.SetUp(context.Background(), inc.Number)
	if err != nil || len(res.Failed) != 0 {
		t.Fatalf("SetUp = %v, %v", res.Failed, err)
	}
	want := []string{"inc-1-sev2-checkout-returns-500s", "inc-1-sev2-checkout-returns-500s-2", "inc-1-sev2-checkout-returns-500s-3"}
	if got := h.ch.createdNames(); !slices.Equal(got, want) {
		t.Errorf("names tried = %v, want %v", got, want)
	}
	if got := h.get(t, inc.Number).Channel.Name; got != want[2] {
		t.Errorf("stored channel %q, want %q", got, want[2])
	}
	if evs := h.timeline(t, inc.Number); countEvents(evs, playbook.EventStepFailed) != 0 || countEvents(evs, playbook.EventChannelCreated) != 1 {
		t.Errorf("timeline = %v; a taken name is not a failure", eventTypes(evs))
	}
}

func TestSetUpGivesUpWhenEveryNameIsTaken(t *testing.T) {
	h := newHarness(t)
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV2, "checkout")
	h.ch.CreateHook = func(name string) error { return fmt.Errorf("name_taken: %w", playbook.ErrNameTaken) }
	_, err := h.app.SetUp(context.Background(), inc.Number)
	if !errors.Is(err, playbook.ErrNameTaken) {
		t.Fatalf("SetUp err = %v, want it to wrap ErrNameTaken", err)
	}
	names := h.ch.createdNames()
	if len(names) < 2 || len(names) > 100 {
		t.Errorf("tried %d names; want a few retries, then give up", len(names))
	}
	seen := map[string]bool{}
	for i, name := range names {
		if seen[name] {
			t.Errorf("name %q tried twice", name)
		}
		seen[name] = true
		checkChannelName(t, name, 1, playbook.SEV2, i+1)
	}
	if evs := h.timeline(t, inc.Number); countEvents(evs, playbook.EventStepFailed) != 1 {
		t.Errorf("timeline = %v, want one step_failed", eventTypes(evs))
	}
}

func TestSetUpChannelCreationFailure(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV1, "checkout")
	missingScope := errors.New("slack: missing_scope")
	h.ch.CreateHook = func(string) error { return missingScope }

	_, err := h.app.SetUp(ctx, inc.Number)
	if !errors.Is(err, missingScope) {
		t.Fatalf("SetUp err = %v, want the cause", err)
	}
	if !strings.Contains(err.Error(), "#1") {
		t.Errorf("err %q does not name the incident", err)
	}
	if n := h.ch.counts()["Create"]; n != 1 {
		t.Errorf("Create called %d times; only name_taken is worth another name", n)
	}
	stored := h.get(t, inc.Number)
	if stored.Status != playbook.StatusInvestigating || stored.Done(playbook.StepChannel) || stored.Channel.ID != "" {
		t.Errorf("after a failed channel: %+v, want it still declared, without a channel", stored)
	}
	evs := h.timeline(t, inc.Number)
	if countEvents(evs, playbook.EventStepFailed) != 1 {
		t.Fatalf("timeline = %v, want one step_failed", eventTypes(evs))
	}
	for _, ev := range evs {
		if ev.Type == playbook.EventStepFailed && (ev.Payload.(playbook.StepFailedPayload).Step != playbook.StepChannel || !strings.Contains(ev.Payload.(playbook.StepFailedPayload).Error, "missing_scope")) {
			t.Errorf("step_failed = %+v, want step channel and the reason", ev)
		}
	}
	c, p := h.ch.counts(), h.post.counts()
	if c["SetTopic"]+c["SetPurpose"]+c["Invite"]+c["AddBookmark"]+c["Pin"]+p["PostIntro"]+p["Announce"]+p["Notice"] != 0 {
		t.Errorf("without a channel, SetUp still called %v %v", c, p)
	}

	// Slack recovers: the next SetUp makes the channel and the rest.
	h.ch.CreateHook = nil
	res, err := h.app.SetUp(ctx, inc.Number)
	if err != nil || !res.Incident.Ready() {
		t.Fatalf("second SetUp = ready %v, %v", res.Incident.Ready(), err)
	}
}

func TestSetUpStepFailureIsReportedAndRetriedAlone(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV2, "checkout")
	h.ch.BookmarkHook = func(string, string, string) error { return errors.New("slack: invalid_link") }

	res, err := h.app.SetUp(ctx, inc.Number)
	if err != nil {
		t.Fatalf("SetUp = %v; a failed bookmark is not worth an error, the channel exists", err)
	}
	if len(res.Failed) != 1 || res.Failed[playbook.StepBookmark] == nil {
		t.Fatalf("failed = %v, want only the bookmark", res.Failed)
	}
	stored := h.get(t, inc.Number)
	if stored.Status != playbook.StatusInvestigating || stored.Ready() || stored.Done(playbook.StepBookmark) {
		t.Errorf("after a failed bookmark: status %s, ready %v, bookmark done %v", stored.Status, stored.Ready(), stored.Done(playbook.StepBookmark))
	}
	for _, s := range allSteps {
		if s != playbook.StepBookmark && !stored.Done(s) {
			t.Errorf("step %s not done; only the bookmark failed", s)
		}
	}
	evs := h.timeline(t, inc.Number)
	if countEvents(evs, playbook.EventStepFailed) != 1 {
		t.Fatalf("timeline = %v, want one step_failed", eventTypes(evs))
	}
	for _, ev := range evs {
		if ev.Type == playbook.EventStepFailed && (ev.Payload.(playbook.StepFailedPayload).Step != playbook.StepBookmark || !strings.Contains(ev.Payload.(playbook.StepFailedPayload).Error, "invalid_link")) {
			t.Errorf("step_failed = %+v, want step bookmark and the reason", ev)
		}
	}
	notices := h.post.noticesCopy()
	if len(notices) != 1 {
		t.Fatalf("notices = %+v, want one", notices)
	}
	if n := notices[0]; n.Channel != stored.Channel.ID || !strings.Contains(n.Text, "bookmark the runbook") ||
		strings.Contains(n.Text, "announce") || strings.Contains(n.Text, "invite") || strings.Contains(n.Text, "invalid_link") {
		t.Errorf("notice = %+v; want one line in the incident channel naming only the missing bookmark", n)
	}

	// The bookmark works now: a second SetUp (a redelivery, a restart) does
	// only that.
	before := map[string]int{}
	for k, v := range h.ch.counts() {
		before[k] = v
	}
	for k, v := range h.post.counts() {
		before[k] = v
	}
	h.ch.BookmarkHook = nil
	res, err = h.app.SetUp(ctx, inc.Number)
	if err != nil || len(res.Failed) != 0 || !res.Incident.Ready() {
		t.Fatalf("second SetUp = failed %v, ready %v, %v", res.Failed, res.Incident.Ready(), err)
	}
	after := map[string]int{}
	for k, v := range h.ch.counts() {
		after[k] = v
	}
	for k, v := range h.post.counts() {
		after[k] = v
	}
	for method, n := range after {
		want := before[method]
		if method == "AddBookmark" {
			want++
		}
		if n != want {
			t.Errorf("second SetUp: %s called %d more times, want %d", method, n-before[method], want-before[method])
		}
	}
	evs = h.timeline(t, inc.Number)
	for typ, want := range map[playbook.EventType]int{playbook.EventChannelCreated: 1, playbook.EventAnnounced: 1,
		playbook.EventInvited: 1, playbook.EventRunbookAttached: 1, playbook.EventStepFailed: 1} {
		if got := countEvents(evs, typ); got != want {
			t.Errorf("timeline %v has %d %s, want %d", eventTypes(evs), got, typ, want)
		}
	}
	if got := h.get(t, inc.Number).Announcement; got != h.post.announceRefs[0] {
		t.Errorf("announcement = %+v, want the first and only one %+v", got, h.post.announceRefs[0])
	}
}

func TestSetUpPinFailureDoesNotRepostTheIntro(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV2, "checkout")
	h.ch.PinHook = func(playbook.MessageRef) error { return errors.New("slack: too_many_pins") }
	res, err := h.app.SetUp(ctx, inc.Number)
	if err != nil || len(res.Failed) != 1 || res.Failed[playbook.StepIntro] == nil {
		t.Fatalf("SetUp = failed %v, %v; want the intro step (its pin) failed", res.Failed, err)
	}
	stored := h.get(t, inc.Number)
	if !stored.Done(playbook.StepIntro) || stored.Done(playbook.StepPin) || stored.Intro.Zero() {
		t.Errorf("intro done %v, pin done %v, intro %+v; want the intro kept, the pin missing",
			stored.Done(playbook.StepIntro), stored.Done(playbook.StepPin), stored.Intro)
	}
	if notices := h.post.noticesCopy(); len(notices) != 1 || !strings.Contains(notices[0].Text, "pin") {
		t.Errorf("notices = %+v, want one naming the pin", notices)
	}

	h.ch.PinHook = nil
	res, err = h.app.SetUp(ctx, inc.Number)
	if err != nil || !res.Incident.Ready() {
		t.Fatalf("second SetUp = ready %v, %v", res.Incident.Ready(), err)
	}
	if n := h.post.counts()["PostIntro"]; n != 1 {
		t.Errorf("intro posted %d times; a failed pin must not post it again", n)
	}
	if len(h.ch.pins) != 2 || h.ch.pins[0] != h.post.introRefs[0] || h.ch.pins[1] != h.post.introRefs[0] {
		t.Errorf("pins = %+v, want the one intro %+v twice", h.ch.pins, h.post.introRefs[0])
	}
	if n := h.post.counts()["Announce"]; n != 1 {
		t.Errorf("announced %d times", n)
	}
}

// signalCtx reports the first time someone waits on it: SetUp's second
// caller waits on its context while the first caller works.
type signalCtx struct {
	context.Context
	once   sync.Once
	signal chan<- string
}

func (c *signalCtx) Done() <-chan struct{} {
	c.once.Do(func() { c.signal <- "second SetUp is waiting" })
	return c.Context.Done()
}

func TestSetUpSingleFlight(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV2, "checkout")

	started := make(chan string, 4)
	release := make(chan struct{})
	h.ch.CreateHook = func(name string) error {
		started <- "Create " + name
		<-release
		return nil
	}
	type result struct {
		res playbook.SetupResult
		err error
	}
	results := make(chan result, 2)
	go func() {
		res, err := h.app.SetUp(ctx, inc.Number)
		results <- result{res, err}
	}()
	recv(t, started, "the first SetUp to reach Create")
	// The second call either waits for the first (and says so through its
	// context) or, if single flight were broken, reaches Create too.
	go func() {
		res, err := h.app.SetUp(&signalCtx{Context: ctx, signal: started}, inc.Number)
		results <- result{res, err}
	}()
	recv(t, started, "the second SetUp to start")
	close(release)
	a := recv(t, results, "a SetUp to finish")
	b := recv(t, results, "the other SetUp to finish")

	if n := h.ch.counts()["Create"]; n != 1 {
		t.Fatalf("two concurrent SetUps created %d channels (%v)", n, h.ch.createdNames())
	}
	if n := h.post.counts()["Announce"]; n != 1 {
		t.Errorf("announced %d times", n)
	}
	for _, r := range []result{a, b} {
		if r.err != nil {
			t.Errorf("SetUp = %v", r.err)
		}
		if r.res.Incident.Channel.ID != channelID("inc-1-sev2-checkout-returns-500s") || !r.res.Incident.Ready() {
			t.Errorf("a caller got %+v; both callers see the finished setup", r.res.Incident)
		}
	}

	// Once the first is done, a new SetUp runs again (nothing stays locked).
	res, err := h.app.SetUp(ctx, inc.Number)
	if err != nil || !res.Incident.Ready() || h.ch.counts()["Create"] != 1 {
		t.Errorf("later SetUp = ready %v, %v, %d creates", res.Incident.Ready(), err, h.ch.counts()["Create"])
	}
}

func TestSetUpWaiterGivesUpWithItsContext(t *testing.T) {
	h := newHarness(t)
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV2, "checkout")
	started := make(chan string, 2)
	release := make(chan struct{})
	h.ch.CreateHook = func(string) error {
		started <- "create"
		<-release
		return nil
	}
	first := make(chan error, 1)
	go func() {
		_, err := h.app.SetUp(context.Background(), inc.Number)
		first <- err
	}()
	recv(t, started, "the first SetUp to reach Create")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	second := make(chan error, 1)
	go func() {
		_, err := h.app.SetUp(ctx, inc.Number)
		second <- err
	}()
	if err := recv(t, second, "the waiting SetUp to give up"); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting SetUp with a cancelled context = %v, want context.Canceled", err)
	}
	close(release)
	if err := recv(t, first, "the first SetUp to finish"); err != nil {
		t.Errorf("first SetUp = %v", err)
	}
	if n := h.ch.counts()["Create"]; n != 1 {
		t.Errorf("%d channels created", n)
	}
}

func TestSetUpUnknownIncident(t *testing.T) {
	h := newHarness(t)
	if _, err := h.app.SetUp(context.Background(), 99); playbook.ErrorCode(err) != playbook.CodeNotFound {
		t.Errorf("SetUp(99) = %v, want CodeNotFound", err)
	}
	if n := h.ch.counts()["Create"]; n != 0 {
		t.Errorf("created %d channels for no incident", n)
	}
}

func TestResume(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	half := h.declare(t, "Checkout returns 500s", playbook.SEV2, "checkout") // #1: stops after its channel
	ready := h.declare(t, "Search is slow", playbook.SEV3, "search")         // #2: fully set up
	closed := h.declare(t, "Typo on pricing page", playbook.SEV4, "")        // #3: resolved before setup
	fresh := h.declare(t, "Login fails", playbook.SEV1, "")                  // #4: crashed before SetUp

	if res, err := h.app.SetUp(ctx, ready.Number); err != nil || !res.Incident.Ready() {
		t.Fatalf("SetUp(#2) = ready %v, %v", res.Incident.Ready(), err)
	}
	readyBefore := h.get(t, ready.Number)

	// Slack breaks right after the channel is made.
	down := errors.New("slack: service_unavailable")
	h.ch.TopicHook = func(playbook.Briefing) error { return down }
	h.ch.PurposeHook = func(playbook.Briefing) error { return down }
	h.ch.InviteHook = func(string, []string) error { return down }
	h.ch.BookmarkHook = func(string, string, string) error { return down }
	h.post.IntroHook = func(playbook.Briefing) error { return down }
	h.post.AnnounceHook = func(playbook.Briefing) error { return down }
	h.post.NoticeHook = func(string, string) error { return down }
	res, err := h.app.SetUp(ctx, half.Number)
	if err != nil || len(res.Failed) != 6 {
		t.Fatalf("SetUp(#1) with Slack down = failed %v, %v; want six failed steps", res.Failed, err)
	}
	halfInc := h.get(t, half.Number)
	halfChannel := halfInc.Channel
	if halfChannel.ID == "" || halfInc.Ready() {
		t.Fatalf("#1 = %+v; want a channel and nothing else", halfInc)
	}

	if _, err := h.store.Update(ctx, closed.Number, func(i *playbook.Incident) ([]playbook.Event, error) {
		return nil, i.Transition(playbook.StatusResolved, h.clock.Now())
	}); err != nil {
		t.Fatal(err)
	}

	// A restart, with Slack working again.
	h.swapFakes()
	h.clock.Advance(10 * time.Minute)
	if err := h.app.Resume(ctx); err != nil {
		t.Fatalf("Resume: %v", err)
	}

	for _, n := range []int64{half.Number, fresh.Number} {
		if inc := h.get(t, n); !inc.Ready() || inc.Announcement.Zero() {
			t.Errorf("#%d after Resume: ready %v, announcement %+v", n, inc.Ready(), inc.Announcement)
		}
	}
	if got := h.get(t, half.Number).Channel; got != halfChannel {
		t.Errorf("#1 channel changed from %+v to %+v", halfChannel, got)
	}
	if names := h.ch.createdNames(); len(names) != 1 || !strings.HasPrefix(names[0], "inc-4-sev1-") {
		t.Errorf("Resume created channels %v, want only #4's", names)
	}
	var announced []int64
	for _, b := range h.post.announces {
		announced = append(announced, b.Incident.Number)
	}
	slices.Sort(announced)
	if !slices.Equal(announced, []int64{half.Number, fresh.Number}) {
		t.Errorf("Resume announced %v, want #1 and #4 once each", announced)
	}
	for _, calls := range [][]playbook.Briefing{h.ch.topics, h.ch.purposes, h.post.intros} {
		for _, b := range calls {
			if b.Incident.Number == ready.Number || b.Incident.Number == closed.Number {
				t.Errorf("Resume touched #%d", b.Incident.Number)
			}
		}
	}
	if after := h.get(t, ready.Number); after.Version != readyBefore.Version {
		t.Errorf("the ready incident #2 was changed by Resume (version %d → %d)", readyBefore.Version, after.Version)
	}
	if c := h.get(t, closed.Number); c.Done(playbook.StepChannel) || c.Channel.ID != "" {
		t.Error("Resume set up a resolved incident")
	}
	if evs := h.timeline(t, half.Number); countEvents(evs, playbook.EventChannelCreated) != 1 || countEvents(evs, playbook.EventAnnounced) != 1 {
		t.Errorf("#1 timeline = %v, want one channel_created and one announced", eventTypes(evs))
	}

	// Nothing left to do: a second Resume does nothing.
	c, p := h.ch.counts(), h.post.counts()
	if err := h.app.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if c2, p2 := h.ch.counts(), h.post.counts(); fmt.Sprint(c2, p2) != fmt.Sprint(c, p) {
		t.Errorf("second Resume called Slack: %v %v → %v %v", c, p, c2, p2)
	}
}

// TestSetUpStoreFailureAfterCreateDoesNotMakeASecondChannel: Slack does not
// de-duplicate conversations.create, so when the store cannot record a channel
// Slack has just made, the retry must not leave people with two channels
// (#inc-1-… and #inc-1-…-2) for one incident.
func TestSetUpStoreFailureAfterCreateDoesNotMakeASecondChannel(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV2, "checkout")
	// A fake Slack that, like the real one, refuses a name in use, and
	// remembers who made each channel and when.
	made := map[string]time.Time{}
	h.ch.CreateHook = func(name string) error {
		if _, ok := made[name]; ok {
			return fmt.Errorf("slack: name_taken: %w", playbook.ErrNameTaken)
		}
		made[name] = h.clock.Now()
		// Slack made the channel; the store write that follows fails
		// (a crash at that moment has the same effect).
		h.store.FailNext = errors.New("bolt: timeout")
		return nil
	}
	h.ch.FindHook = func(name string) (playbook.FoundChannel, error) {
		at, ok := made[name]
		if !ok {
			return playbook.FoundChannel{}, playbook.ErrNotFound
		}
		return playbook.FoundChannel{Ref: playbook.ChannelRef{ID: channelID(name), Name: name}, Created: at, ByKlaxon: true}, nil
	}
	if _, err := h.app.SetUp(ctx, inc.Number); err == nil {
		t.Fatal("SetUp succeeded although the channel could not be recorded")
	}
	h.clock.Advance(time.Minute)
	h.ch.CreateHook = func(name string) error {
		if _, ok := made[name]; ok {
			return fmt.Errorf("slack: name_taken: %w", playbook.ErrNameTaken)
		}
		made[name] = h.clock.Now()
		return nil
	}
	res, err := h.app.SetUp(ctx, inc.Number)
	if err != nil {
		t.Fatalf("retry SetUp: %v", err)
	}
	if len(made) != 1 {
		t.Errorf("one incident now has %d channels in Slack: %v", len(made), h.ch.createdNames())
	}
	if want := playbook.ChannelName(inc.Number, inc.Severity, inc.Title, 1); res.Incident.Channel.Name != want || !res.Incident.Ready() {
		t.Errorf("after the retry the incident has channel %q (ready %v), want the adopted %q", res.Incident.Channel.Name, res.Incident.Ready(), want)
	}
}

// TestSetUpDoesNotAdoptSomeoneElsesChannel: a name taken by a channel Klaxon
// did not make (or made long before the intent) gets a suffix instead.
func TestSetUpDoesNotAdoptSomeoneElsesChannel(t *testing.T) {
	for _, found := range []playbook.FoundChannel{
		{Ref: playbook.ChannelRef{ID: "CHUMAN", Name: "x"}, ByKlaxon: false},
		{Ref: playbook.ChannelRef{ID: "COLD", Name: "x"}, ByKlaxon: true, Created: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		h := newHarness(t)
		ctx := context.Background()
		inc := h.declare(t, "Checkout returns 500s", playbook.SEV2, "checkout")
		first := playbook.ChannelName(inc.Number, inc.Severity, inc.Title, 1)
		// The first attempt fails before Slack acts, leaving the intent stored.
		h.ch.CreateHook = func(string) error { return errors.New("slack: ratelimited") }
		if _, err := h.app.SetUp(ctx, inc.Number); err == nil {
			t.Fatal("SetUp succeeded with a failing create")
		}
		// Meanwhile the name was taken by another channel.
		h.ch.CreateHook = func(name string) error {
			if name == first {
				return fmt.Errorf("name_taken: %w", playbook.ErrNameTaken)
			}
			return nil
		}
		h.ch.FindHook = func(string) (playbook.FoundChannel, error) { return found, nil }
		res, err := h.app.SetUp(ctx, inc.Number)
		if err != nil {
			t.Fatal(err)
		}
		if want := playbook.ChannelName(inc.Number, inc.Severity, inc.Title, 2); res.Incident.Channel.Name != want {
			t.Errorf("channel %q adopted or misnamed; want %q (found %+v)", res.Incident.Channel.Name, want, found)
		}
	}
}

// TestSetUpRunsIndependentStepsConcurrently: once the channel exists,
// invite, bookmark, intro and announcement are all in flight at the same
// time. Each fake blocks until all four have started, so a sequential SetUp
// would never finish (the watchdog in recv fails the test instead). Topic
// and purpose follow the intro: none has started while it is in flight.
func TestSetUpRunsIndependentStepsConcurrently(t *testing.T) {
	h := newHarness(t)
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV2, "checkout")
	started := make(chan string, 4)
	followers := make(chan string, 2)
	all := make(chan struct{})
	barrier := func(step string) error {
		started <- step
		<-all
		return nil
	}
	h.ch.TopicHook = func(playbook.Briefing) error { followers <- "topic"; return nil }
	h.ch.PurposeHook = func(playbook.Briefing) error { followers <- "purpose"; return nil }
	h.ch.InviteHook = func(string, []string) error { return barrier("invite") }
	h.ch.BookmarkHook = func(string, string, string) error { return barrier("bookmark") }
	h.post.IntroHook = func(playbook.Briefing) error { return barrier("intro") }
	h.post.AnnounceHook = func(playbook.Briefing) error { return barrier("announce") }

	done := make(chan error, 1)
	go func() {
		_, err := h.app.SetUp(context.Background(), inc.Number)
		done <- err
	}()
	seen := map[string]bool{}
	for range 4 {
		seen[recv(t, started, "the four steps that make the incident ready to be in flight together")] = true
	}
	if len(followers) != 0 {
		t.Fatalf("%s started before the intro was posted", <-followers)
	}
	close(all)
	if err := recv(t, done, "SetUp to finish"); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 4 || len(followers) != 2 {
		t.Fatalf("steps in flight together: %v; topic and purpose set afterwards: %d of 2", seen, len(followers))
	}
	if got := h.get(t, inc.Number); !got.Ready() {
		t.Fatalf("not ready: %v", got.Setup)
	}
}

// TestSetUpGivesUpOnAStepAndTellsTheChannelOnce: a step Slack keeps refusing
// is reported in the channel once, retried on later SetUp calls (restarts)
// up to MaxStepAttempts times, then left alone.
func TestSetUpGivesUpOnAStepAndTellsTheChannelOnce(t *testing.T) {
	h := newHarness(t)
	inc := h.declare(t, "Checkout returns 500s", playbook.SEV2, "checkout")
	h.ch.BookmarkHook = func(string, string, string) error { return errors.New("restricted_action") }
	for range playbook.MaxStepAttempts + 2 {
		if _, err := h.app.SetUp(context.Background(), inc.Number); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.ch.counts()["AddBookmark"]; n != playbook.MaxStepAttempts {
		t.Errorf("bookmark tried %d times, want %d", n, playbook.MaxStepAttempts)
	}
	h.post.mu.Lock()
	notices := len(h.post.notices)
	h.post.mu.Unlock()
	if notices != 1 {
		t.Errorf("%d notices in the channel for one failing step, want 1", notices)
	}
	if got := h.get(t, inc.Number); !got.GaveUp(playbook.StepBookmark) || got.Ready() {
		t.Errorf("failures %v, ready %v", got.Failures, got.Ready())
	}
}

// TestResumeRunsAFewSetupsAtOnce: after a restart with many interrupted
// declarations, Resume finishes them a few at a time (never more than four
// in flight), so their store writes cannot crowd out the scheduler's.
func TestResumeRunsAFewSetupsAtOnce(t *testing.T) {
	h := newHarness(t)
	for i := range 10 {
		h.declare(t, fmt.Sprintf("Checkout returns 500s %d", i), playbook.SEV2, "checkout")
	}
	var mu sync.Mutex
	inFlight, most := 0, 0
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	h.ch.TopicHook = func(playbook.Briefing) error {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		started <- struct{}{}
		<-release
		mu.Lock()
		inFlight--
		mu.Unlock()
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- h.app.Resume(context.Background()) }()
	for range 4 {
		recv(t, started, "a resumed setup")
	}
	close(release)
	if err := recv(t, done, "Resume"); err != nil {
		t.Fatal(err)
	}
	if most > 4 {
		t.Errorf("%d setups in flight at once, want at most 4", most)
	}
	for n := int64(1); n <= 10; n++ {
		if inc := h.get(t, n); !inc.Ready() {
			t.Errorf("#%d not ready after Resume", n)
		}
	}
}
