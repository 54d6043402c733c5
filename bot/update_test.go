package bot_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/playbook"
)

// declareOne declares a SEV1 on checkout and returns its channel.
func declareOne(t *testing.T, f *fakeslack.Server) fakeslack.Channel {
	t.Helper()
	slash(t, f, "declare sev1 checkout Checkout returns 500s")
	waitReady(t, f, 1)
	ch, ok := f.Channel("inc-1-sev1-checkout-returns-500s")
	if !ok {
		t.Fatal("no incident channel")
	}
	return ch
}

func slashIn(t *testing.T, f *fakeslack.Server, channel, user, text string) fakeslack.Ack {
	t.Helper()
	ack, err := f.SlashCommand(ctxT(t), fakeslack.SlashCommand{Text: text, UserID: user, ChannelID: channel})
	if err != nil || ack.Late {
		t.Fatalf("/incident %s: %v %+v", text, err, ack)
	}
	return ack
}

func TestUpdateCommandPostsInChannelAndAnnouncementThread(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	ch := declareOne(t, f)

	if txt := ackText(t, slashIn(t, f, general, declarer, "update Failing over the primary <!channel>")); !strings.Contains(txt, "incident's channel") {
		t.Errorf("update outside an incident channel acked %q", txt)
	}
	ack := slashIn(t, f, ch.ID, declarer, "update Failing over the primary <!channel>")
	if txt := ackText(t, ack); !strings.Contains(txt, "update 1") {
		t.Fatalf("ack = %q", txt)
	}
	if err := f.WaitFor(ctxT(t), func(s *fakeslack.Snapshot) bool {
		return len(s.Messages(announce)) == 2
	}); err != nil {
		t.Fatalf("update not posted in the announce channel: %v", err)
	}
	k.bot.Wait()
	before := len(f.Messages(ch.ID))
	ann := f.Messages(announce)
	if ann[1].ThreadTS != ann[0].TS {
		t.Errorf("announce-channel update not threaded under the announcement: %+v", ann[1])
	}
	msgs := f.Messages(ch.ID)
	body := blocksText(msgs[len(msgs)-1])
	if !strings.Contains(body, "Failing over the primary") || strings.Contains(body, "<!channel>") || !strings.Contains(body, "Next update by") {
		t.Errorf("update body:\n%s", body)
	}
	inc, _ := k.db.Get(context.Background(), 1)
	if inc.Timers.Updates != 1 || !inc.Timers.StatusPageMet {
		t.Errorf("stored timers %+v", inc.Timers)
	}
	// The same envelope again posts nothing more.
	env := f.Envelopes()[len(f.Envelopes())-1]
	if _, err := f.Send(ctxT(t), fakeslack.Envelope{ID: env.ID, Type: env.Type, Payload: env.Payload, RetryAttempt: 1}); err != nil {
		t.Fatal(err)
	}
	k.bot.Wait()
	if n := len(f.Messages(ch.ID)); n != before {
		t.Errorf("redelivered update posted again: %d messages, had %d", n, before)
	}
}

// TestNudgeButtonOpensFormAndResetsCadence: a due update brings a reminder
// with a "Post update" button; the button opens the form; submitting it
// posts the update and moves the next deadline.
func TestNudgeButtonOpensFormAndResetsCadence(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	ch := declareOne(t, f)
	inc, _ := k.db.Get(context.Background(), 1)

	ns, err := k.app.Tick(context.Background(), inc.Timers.UpdateDue)
	if err != nil || len(ns) != 3 { // the 5-minute status-page rule and scope call, the 15-minute update
		t.Fatalf("tick = %v, %v", ns, err)
	}
	msgs := f.Messages(ch.ID)
	var nudge fakeslack.Message
	for _, m := range msgs {
		if strings.Contains(blocksText(m), "no commander") && strings.Contains(string(m.Blocks), "klaxon_post_update") {
			nudge = m
		}
	}
	if nudge.TS == "" {
		t.Fatalf("no reminder with a Post update button asking for a commander in %d messages", len(msgs))
	}

	cb := slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, User: slack.User{ID: declarer},
		Channel:        slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: ch.ID}}},
		Container:      slack.Container{Type: "message", ChannelID: ch.ID, MessageTs: nudge.TS},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{ActionID: "klaxon_post_update", BlockID: "nudge_actions", Value: "1", ActionTs: "1.1"}}}}
	if _, err := f.Interactive(ctxT(t), cb); err != nil {
		t.Fatal(err)
	}
	if err := f.WaitFor(ctxT(t), func(s *fakeslack.Snapshot) bool { return len(s.Views()) == 1 }); err != nil {
		t.Fatal("the button opened no form:", err)
	}
	v := f.Views()[0]
	state := &slack.ViewState{Values: map[string]map[string]slack.BlockAction{
		"status":      {"status": {Value: "Primary failed over; errors falling"}},
		"impact":      {"impact": {Value: "Checkout degraded in EU"}},
		"next_steps":  {"next_steps": {Value: "Watch error rate"}},
		"next_update": {"next_update": {SelectedOption: slack.OptionBlockObject{Value: "600"}}},
	}}
	before := time.Now()
	sub := slack.InteractionCallback{Type: slack.InteractionTypeViewSubmission, User: slack.User{ID: declarer},
		View: slack.View{ID: v.ID, CallbackID: v.CallbackID, PrivateMetadata: v.PrivateMetadata, State: state}}
	if _, err := f.Interactive(ctxT(t), sub); err != nil {
		t.Fatal(err)
	}
	k.bot.Wait()
	last := f.Messages(ch.ID)[len(f.Messages(ch.ID))-1]
	if body := blocksText(last); !strings.Contains(body, "Primary failed over") || !strings.Contains(body, "Checkout degraded in EU") {
		t.Fatalf("posted update:\n%s", body)
	}
	inc, _ = k.db.Get(context.Background(), 1)
	if due := inc.Timers.UpdateDue; due.Before(before.Add(10*time.Minute-time.Second)) || due.After(time.Now().Add(10*time.Minute)) || inc.Timers.Nudges != 0 {
		t.Fatalf("after the update: due %v (want in 10 min), nudges %d", due, inc.Timers.Nudges)
	}
	if ns, _ := k.app.Tick(context.Background(), time.Now()); len(ns) != 0 {
		t.Fatalf("reminders still firing after the update: %v", ns)
	}
}

func TestUpdateFormFromCommand(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	ch := declareOne(t, f)
	slashIn(t, f, ch.ID, declarer, "update")
	if err := f.WaitFor(ctxT(t), func(s *fakeslack.Snapshot) bool { return len(s.Views()) == 1 }); err != nil {
		t.Fatal("no form:", err)
	}
	if v := f.Views()[0]; v.CallbackID != "klaxon_update" || !strings.Contains(string(v.Blocks), "in 15 min") {
		t.Fatalf("form = %s", v.Raw)
	}
}

// TestLongUpdateIsNotCut: four fields of 3,000 characters (with characters
// that escaping lengthens) are posted whole, within Block Kit's limits.
func TestLongUpdateIsNotCut(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	ch := declareOne(t, f)
	field := func(c string) string { return strings.Repeat(c+"<&> ", 600) } // 3,000 characters
	inc, _ := k.db.Get(context.Background(), 1)
	_, _, err := k.app.PostUpdate(context.Background(), inc.Number, playbook.UpdateRequest{Key: "long", Author: declarer,
		Status: field("s"), Impact: field("i"), NextSteps: field("n"), Text: field("t")})
	if err != nil {
		t.Fatal(err)
	}
	msgs := f.Messages(ch.ID)
	// The sections, joined back in order, are the whole update.
	var blocks []struct {
		BlockID string `json:"block_id"`
		Text    struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	json.Unmarshal(msgs[len(msgs)-1].Blocks, &blocks)
	var body string
	for _, b := range blocks {
		if strings.HasPrefix(b.BlockID, "update_") {
			body += b.Text.Text
		}
	}
	for _, c := range []string{"s", "i", "n", "t"} {
		if got := strings.Count(body, c+"&lt;&amp;&gt; "); got != 600 {
			t.Errorf("field %s: %d of 600 pieces posted", c, got)
		}
	}
	if !strings.Contains(body, "Next update by") {
		t.Error("the footer was cut")
	}
}
