package playbook_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/klaxonhq/klaxon/playbook"
)

// TestIntentsAnswerBeforeTellingSlackAndReportWhatFailed: each intent
// records, then answers the person (before any Slack call), then tells
// Slack; what Slack refused comes back as a *PublishError naming the
// intent, the change standing.
func TestIntentsAnswerBeforeTellingSlackAndReportWhatFailed(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	inc := h.declare(t, "checkout down", playbook.SEV3, "checkout")
	if _, err := h.app.SetUp(ctx, inc.Number); err != nil {
		t.Fatal(err)
	}
	down := errors.New("slack is down")
	var mu sync.Mutex // the publishing steps run side by side
	var calls []string
	record := func(c string) { mu.Lock(); calls = append(calls, c); mu.Unlock() }
	h.post.NoticeHook = func(string, string) error { record("notice"); return down }
	h.post.UpdateHook = func(playbook.StatusUpdate) error { record("update"); return down }

	// The severity.
	o, err := h.app.SetSeverity(ctx, playbook.SeverityRequest{N: inc.Number, To: playbook.SEV2, Actor: "U0DECLARER", Reason: "wider", Key: "sev"}, func(o playbook.Outcome) {
		if len(calls) != 0 || !o.Applied || o.Change.To != playbook.SEV2 {
			t.Errorf("answered after %v with %+v", calls, o.Change)
		}
		record("answer")
	})
	var pe *playbook.PublishError
	if err != nil || !errors.As(o.Unpublished, &pe) || pe.Intent != playbook.IntentSeverity || !errors.Is(o.Unpublished, down) {
		t.Fatalf("SetSeverity = %+v, %v", o, err)
	}
	if h.get(t, inc.Number).Severity != playbook.SEV2 || calls[0] != "answer" || len(calls) < 2 {
		t.Fatalf("severity %v, calls %v", h.get(t, inc.Number).Severity, calls)
	}
	// Again: nothing changes, nothing is published.
	calls = nil
	if o, err := h.app.SetSeverity(ctx, playbook.SeverityRequest{N: inc.Number, To: playbook.SEV2, Actor: "U0DECLARER", Key: "sev-again"}, nil); err != nil || o.Applied || o.Unpublished != nil || len(calls) != 0 {
		t.Fatalf("the same severity again: %+v, %v, calls %v", o, err, calls)
	}
	// A refusal is an error, and no answer.
	if _, err := h.app.SetSeverity(ctx, playbook.SeverityRequest{N: inc.Number, To: playbook.SEV1, Actor: "U0RANDOM", Key: "sev-r"}, func(playbook.Outcome) { t.Error("answered a refusal") }); playbook.ErrorCode(err) != playbook.CodeForbidden {
		t.Fatalf("a bystander's change: %v", err)
	}

	// An update.
	calls = nil
	o, err = h.app.SendUpdate(ctx, inc.Number, playbook.UpdateRequest{Key: "u1", Author: "U0DECLARER", Text: "rolling back"}, func(o playbook.Outcome) {
		if len(calls) != 0 || o.Update.Seq == 0 {
			t.Errorf("answered after %v: %+v", calls, o.Update)
		}
		record("answer")
	})
	if err != nil || !errors.As(o.Unpublished, &pe) || pe.Intent != playbook.IntentUpdate || !o.Applied {
		t.Fatalf("SendUpdate = %+v, %v", o, err)
	}
	if got := h.get(t, inc.Number); got.Timers.Updates != o.Update.Seq || calls[0] != "answer" {
		t.Fatalf("update %d recorded (want %d), calls %v", got.Timers.Updates, o.Update.Seq, calls)
	}

	// The scope call, its severity refused for the one who filled it in.
	h.post.UpdateHook = nil
	so, err := h.app.SubmitScope(ctx, inc.Number, playbook.ScopeRequest{Key: "scope", By: "U0RANDOM", WhatBroke: "payments"}, playbook.SEV1, "scope-sev", nil)
	if err != nil || !so.Applied || playbook.ErrorCode(so.SeverityErr) != playbook.CodeForbidden || so.Severity.Applied {
		t.Fatalf("SubmitScope = %+v, %v", so, err)
	}
	if got := h.get(t, inc.Number); got.Scope == nil || got.Severity != playbook.SEV2 {
		t.Fatalf("after the scope call: scope %+v, severity %v", got.Scope, got.Severity)
	}

	// The all-clear, over open gates with the commander's reason.
	if _, _, _, err := h.app.AssignCommander(ctx, inc.Number, "U0DECLARER", "U0DECLARER", "ic"); err != nil {
		t.Fatal(err)
	}
	h.post.UpdateHook = func(playbook.StatusUpdate) error { return down }
	o, err = h.app.GiveAllClear(ctx, inc.Number, playbook.AllClearRequest{Key: "clear", Actor: "U0DECLARER", Reason: "false alarm"}, nil)
	if err != nil || !o.Applied || !errors.As(o.Unpublished, &pe) || pe.Intent != playbook.IntentAllClear {
		t.Fatalf("GiveAllClear = %+v, %v", o, err)
	}
	if got := h.get(t, inc.Number); got.Status != playbook.StatusResolved {
		t.Fatalf("status %v after the all-clear", got.Status)
	}
}
