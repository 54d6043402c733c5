package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/slack-go/slack"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

var actionSeq atomic.Int64

// click sends a block_actions envelope for a button.
func click(t *testing.T, f *fakeslack.Server, user, channel, msgTS, actionID, blockID, value string) fakeslack.Ack {
	t.Helper()
	seq := actionSeq.Add(1)
	cb := slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, User: slack.User{ID: user},
		Channel:   slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: channel}}},
		Container: slack.Container{Type: "message", ChannelID: channel, MessageTs: msgTS},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{ActionID: actionID, BlockID: blockID, Value: value,
			ActionTs: fmt.Sprintf("1795700000.%06d", seq)}}}}
	ack, err := f.Interactive(ctxT(t), cb)
	if err != nil {
		t.Fatal(err)
	}
	return ack
}

func events(t *testing.T, k *klaxon, typ playbook.EventType) []playbook.Event {
	t.Helper()
	evs, err := k.db.Timeline(context.Background(), 1)
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

func TestCommanderButtonCommandAndHandover(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	ch := declareOne(t, f)
	intro := messageByTS(f, ch.ID, ch.Pins[0])

	click(t, f, "U0PAY001", ch.ID, intro.TS, "klaxon_ic_take", "intro_actions", "1")
	click(t, f, "U0PAY001", ch.ID, intro.TS, "klaxon_ic_take", "intro_actions", "1") // a double click
	k.bot.Wait()
	inc, _ := k.db.Get(context.Background(), 1)
	if inc.Commander != "U0PAY001" {
		t.Fatalf("commander = %q", inc.Commander)
	}
	if _, ok := inc.At(playbook.PhaseTriageStarted); !ok {
		t.Error("the first commander did not mark triage started")
	}
	if got, _ := f.Channel(ch.ID); !strings.Contains(got.Topic, "<@U0PAY001>") {
		t.Errorf("topic %q does not name the commander", got.Topic)
	}
	if body := blocksText(messageByTS(f, ch.ID, intro.TS)); !strings.Contains(body, "*Commander:* <@U0PAY001>") || !strings.Contains(body, "Take over as commander") {
		t.Errorf("intro not updated in place:\n%s", body)
	}
	if n := len(events(t, k, playbook.EventCommanderChanged)); n != 1 {
		t.Fatalf("%d commander events after a double click, want 1", n)
	}

	// Hand over by command, with a mention as Slack sends it.
	ack := slashIn(t, f, ch.ID, declarer, "ic <@U0OTHER1|other>")
	if txt := ackText(t, ack); !strings.Contains(txt, "<@U0OTHER1> is now the commander") {
		t.Errorf("ack = %q", txt)
	}
	k.bot.Wait()
	evs := events(t, k, playbook.EventCommanderChanged)
	if len(evs) != 2 || evs[1].Payload != (playbook.CommanderPayload{From: "U0PAY001", To: "U0OTHER1"}) || evs[1].Actor != declarer {
		t.Fatalf("hand-over events %+v", evs)
	}
	if got, _ := f.Channel(ch.ID); !slices.Contains(got.Members, "U0OTHER1") {
		t.Error("the new commander was not invited to the channel")
	}
	var notice bool
	for _, m := range f.Messages(ch.ID) {
		notice = notice || strings.Contains(m.Text, "handed over from <@U0PAY001> to <@U0OTHER1>")
	}
	if !notice {
		t.Error("the channel was not told of the hand-over")
	}
	if txt := ackText(t, slashIn(t, f, ch.ID, declarer, "ic bob")); !strings.Contains(txt, "Mention the new commander") {
		t.Errorf("plain name: %q", txt)
	}
	if txt := ackText(t, slashIn(t, f, general, declarer, "ic")); !strings.Contains(txt, "incident's channel") {
		t.Errorf("ic outside an incident channel: %q", txt)
	}
}

func TestScopeCallFormSummaryAndSeverityChange(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	slash(t, f, "declare sev2 checkout Card payments failing")
	waitReady(t, f, 1)
	ch, _ := f.Channel("inc-1-sev2-card-payments-failing")
	var scopeMsg fakeslack.Message
	for _, m := range f.Messages(ch.ID) {
		if strings.Contains(blocksText(m), "Five-minute scope call") && !strings.Contains(blocksText(m), "Triage checklist") {
			scopeMsg = m
		}
	}
	if !strings.Contains(blocksText(scopeMsg), "<!date^") {
		t.Fatalf("scope call message lacks its deadline: %s", blocksText(scopeMsg))
	}
	click(t, f, declarer, ch.ID, scopeMsg.TS, "klaxon_scope_open", "scope_actions", "1")
	if err := f.WaitFor(ctxT(t), func(s *fakeslack.Snapshot) bool { return len(s.Views()) == 1 }); err != nil {
		t.Fatal("no scope form:", err)
	}
	v := f.Views()[0]
	if !strings.Contains(string(v.Blocks), `"SEV2"`) {
		t.Fatalf("severity not pre-set: %s", v.Blocks)
	}
	long := strings.Repeat("x", 2990) + " <!here>"
	state := &slack.ViewState{Values: map[string]map[string]slack.BlockAction{
		"what_broke":     {"what_broke": {Value: "payments-api 500s on /charge"}},
		"who_affected":   {"who_affected": {Value: "all EU card payers"}},
		"blast_radius":   {"blast_radius": {Value: long}},
		"scope_severity": {"scope_severity": {SelectedOption: slack.OptionBlockObject{Value: "SEV1"}}},
	}}
	sub := slack.InteractionCallback{Type: slack.InteractionTypeViewSubmission, User: slack.User{ID: declarer},
		View: slack.View{ID: v.ID, CallbackID: v.CallbackID, PrivateMetadata: v.PrivateMetadata, State: state}}
	if ack, err := f.Interactive(ctxT(t), sub); err != nil || strings.Contains(string(ack.Payload), "errors") {
		t.Fatalf("submit: %v %s", err, ack.Payload)
	}
	k.bot.Wait()

	inc, _ := k.db.Get(context.Background(), 1)
	if inc.Scope == nil || inc.Scope.WhoAffected != "all EU card payers" || inc.Scope.BlastRadius != long {
		t.Fatalf("scope stored = %+v", inc.Scope)
	}
	if _, ok := inc.Checked[playbook.ItemScope]; !ok {
		t.Error("scope item not checked")
	}
	if inc.Severity != playbook.SEV1 {
		t.Fatalf("severity = %s, want SEV1 from the scope call", inc.Severity)
	}
	renamed, ok := f.Channel(ch.ID)
	if !ok || renamed.Name != "inc-1-sev1-card-payments-failing" || !strings.Contains(renamed.Topic, "SEV1") {
		t.Fatalf("channel after the severity change: %+v", renamed)
	}
	if !slices.Contains(renamed.Members, "U0EXEC01") || !slices.Contains(renamed.Members, "U0SRE002") {
		t.Errorf("SEV1 stakeholders not invited: %v", renamed.Members)
	}
	ann := f.Messages(announce)
	if last := ann[len(ann)-1]; !strings.Contains(last.Text, "SEV2 to SEV1") || last.ThreadTS != ann[0].TS {
		t.Errorf("announce channel not told in the thread: %+v", last)
	}
	var summary fakeslack.Message
	for _, m := range f.Messages(ch.ID) {
		if strings.Contains(blocksText(m), "Scope call* answered by") {
			summary = m
		}
	}
	body := blocksText(summary)
	if !strings.Contains(body, "all EU card payers") || strings.Contains(body, "<!here>") || !strings.Contains(strings.ReplaceAll(body, "\n", ""), "&lt;!here&gt;") {
		t.Fatalf("summary:\n%.400s", body)
	}
	evs := events(t, k, playbook.EventSeverityChanged)
	if len(evs) != 1 || evs[0].Payload != (playbook.SeverityPayload{From: playbook.SEV2, To: playbook.SEV1, Reason: "scope call"}) {
		t.Fatalf("severity events %+v", evs)
	}

	// The summary's button makes it the first status update, once.
	click(t, f, declarer, ch.ID, summary.TS, "klaxon_scope_to_update", "scope_summary_actions", "1")
	click(t, f, declarer, ch.ID, summary.TS, "klaxon_scope_to_update", "scope_summary_actions", "1")
	k.bot.Wait()
	inc, _ = k.db.Get(context.Background(), 1)
	if inc.Timers.Updates != 1 {
		t.Fatalf("%d updates from the scope summary button, want 1", inc.Timers.Updates)
	}
}

// checklistMsg returns the checklist message of the incident channel.
func checklistMsg(t *testing.T, f *fakeslack.Server, channel string) fakeslack.Message {
	t.Helper()
	for _, m := range f.Messages(channel) {
		if strings.Contains(m.Text, "Triage checklist") {
			return m
		}
	}
	t.Fatal("no checklist message")
	return fakeslack.Message{}
}

func TestChecklistEveryItemToggledIdempotentAndRestart(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	path := filepath.Join(t.TempDir(), "klaxon.db")
	k := start(t, f, path)
	ch := declareOne(t, f)
	msg := checklistMsg(t, f, ch.ID)

	words := templates.MustDefault()
	for _, it := range playbook.Checklist {
		item, label := string(it), words.Label("checklist", it)
		inc, _ := k.db.Get(context.Background(), 1)
		if _, on := inc.Checked[it]; on {
			click(t, f, "U0PAY001", ch.ID, msg.TS, "klaxon_check", "check_"+item, "1:"+item+":off")
			k.bot.Wait()
		}
		// Check it, twice (a double click): one change.
		click(t, f, "U0PAY001", ch.ID, msg.TS, "klaxon_check", "check_"+item, "1:"+item+":on")
		click(t, f, "U0PAY001", ch.ID, msg.TS, "klaxon_check", "check_"+item, "1:"+item+":on")
		k.bot.Wait()
		body := blocksText(checklistMsg(t, f, ch.ID))
		if !strings.Contains(body, "~"+label+"~") || !strings.Contains(body, "checked by <@U0PAY001>") {
			t.Fatalf("%s not shown checked by U0PAY001:\n%s", item, body)
		}
		// Undo.
		click(t, f, "U0PAY001", ch.ID, msg.TS, "klaxon_check", "check_"+item, "1:"+item+":off")
		k.bot.Wait()
		if body := blocksText(checklistMsg(t, f, ch.ID)); strings.Contains(body, "~"+label+"~") {
			t.Fatalf("%s still checked after undo", item)
		}
		click(t, f, "U0PAY001", ch.ID, msg.TS, "klaxon_check", "check_"+item, "1:"+item+":on")
		k.bot.Wait()
	}
	if !checklistMsg(t, f, ch.ID).Edited {
		t.Error("the checklist was not edited in place")
	}
	// Redelivering an old "Undo" envelope (same envelope, same action_ts)
	// must not uncheck the item that was checked again since.
	unchecked := len(events(t, k, playbook.EventUnchecked))
	var undo fakeslack.SentEnvelope
	for _, e := range f.Envelopes() {
		if strings.Contains(string(e.Payload), `1:deploys:off`) {
			undo = e
		}
	}
	if undo.ID == "" {
		t.Fatal("no Undo envelope to redeliver")
	}
	f.Send(ctxT(t), fakeslack.Envelope{ID: undo.ID, Type: undo.Type, Payload: undo.Payload, RetryAttempt: 1, RetryReason: "timeout"})
	k.bot.Wait()
	if n := len(events(t, k, playbook.EventUnchecked)); n != unchecked {
		t.Fatalf("a redelivered Undo was applied again: %d → %d unchecks", unchecked, n)
	}
	if body := blocksText(checklistMsg(t, f, ch.ID)); !strings.Contains(body, "7 of 7 done") {
		t.Fatalf("not all checked:\n%s", body)
	}

	// After a restart the checklist renders from the store, identical.
	k.stop()
	k = start(t, f, path)
	inc, _ := k.db.Get(context.Background(), 1)
	want, _ := json.Marshal(bot.RenderChecklist(words, inc))
	var got, wantV any
	json.Unmarshal(checklistMsg(t, f, ch.ID).Blocks, &got)
	json.Unmarshal(want, &wantV)
	gotJ, _ := json.Marshal(got)
	wantJ, _ := json.Marshal(wantV)
	if string(gotJ) != string(wantJ) {
		t.Fatalf("checklist after restart differs from the posted one:\n%s\n%s", gotJ, wantJ)
	}
}

func TestSevStatusNoteAndShortcut(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	slash(t, f, "declare sev3 search Search is slow")
	waitReady(t, f, 1)
	ch, _ := f.Channel("inc-1-sev3-search-is-slow")

	if txt := ackText(t, slashIn(t, f, ch.ID, declarer, "sev 9")); !strings.Contains(txt, "sev1") {
		t.Errorf("sev 9: %q", txt)
	}
	if txt := ackText(t, slashIn(t, f, ch.ID, declarer, "sev 3")); !strings.Contains(txt, "already is SEV3") {
		t.Errorf("sev 3 on a SEV3: %q", txt)
	}
	if txt := ackText(t, slashIn(t, f, ch.ID, "U0OTHER1", "sev 1 not mine")); !strings.Contains(txt, "Only the declarer (<@U0DECL01>) or a responder") {
		t.Errorf("a bystander's severity change: %q", txt)
	}
	slashIn(t, f, ch.ID, declarer, "sev 1 all regions now failing")
	k.bot.Wait()
	if got, _ := f.Channel(ch.ID); got.Name != "inc-1-sev1-search-is-slow" {
		t.Fatalf("channel name %q after sev 1", got.Name)
	}
	inc, _ := k.db.Get(context.Background(), 1)
	if inc.Timers.UpdateDue.IsZero() || inc.Timers.UpdateDue.Sub(inc.DeclaredAt()) != 15*60e9 {
		t.Errorf("cadence did not follow SEV1: due %v", inc.Timers.UpdateDue)
	}
	if evs := events(t, k, playbook.EventSeverityChanged); len(evs) != 1 || evs[0].Payload.(playbook.SeverityPayload).Reason != "all regions now failing" {
		t.Errorf("events %+v", evs)
	}

	status := ackText(t, slashIn(t, f, ch.ID, declarer, "status"))
	for _, want := range []string{"Incident #1", "SEV1", "none yet", "Triage", "target 15 min", "Checklist:"} {
		if !strings.Contains(status, want) {
			t.Errorf("status lacks %q:\n%s", want, status)
		}
	}
	if txt := ackText(t, slashIn(t, f, ch.ID, declarer, "note cache flushed at 14:02 <!channel>")); !strings.Contains(txt, "timeline") {
		t.Errorf("note ack %q", txt)
	}
	notes := events(t, k, playbook.EventNote)
	if len(notes) != 1 || notes[0].Text != "cache flushed at 14:02 @channel" || notes[0].Actor != declarer {
		t.Fatalf("notes %+v", notes)
	}

	// The message shortcut adds a message with its original time, once.
	ts := f.AddMessage(ch.ID, "U0SRE001", "", "rolled back deploy 4f2a")
	shortcut := slack.InteractionCallback{Type: slack.InteractionTypeMessageAction, CallbackID: "klaxon_add_to_timeline", User: slack.User{ID: declarer},
		Channel: slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: ch.ID}}},
		Message: slack.Message{Msg: slack.Msg{Timestamp: ts, User: "U0SRE001", Text: "rolled back deploy 4f2a"}}}
	for range 2 {
		if _, err := f.Interactive(ctxT(t), shortcut); err != nil {
			t.Fatal(err)
		}
	}
	k.bot.Wait()
	notes = events(t, k, playbook.EventNote)
	if len(notes) != 2 || notes[1].Text != "rolled back deploy 4f2a" || notes[1].Actor != "U0SRE001" {
		t.Fatalf("notes after the shortcut %+v", notes)
	}
	if notes[1].At.Unix() != tsUnix(ts) {
		t.Errorf("message added at %v, want its original time %s", notes[1].At, ts)
	}
	// Outside an incident channel, the shortcut explains itself.
	shortcut.Channel.ID = general
	shortcut.Message.Timestamp = f.AddMessage(general, declarer, "", "hello")
	f.Interactive(ctxT(t), shortcut)
	k.bot.Wait()
	if posts := f.ResponseURLPosts(); !strings.Contains(posts[len(posts)-1].Text, "incident's channel") {
		t.Errorf("shortcut outside an incident channel: %+v", posts[len(posts)-1])
	}
}

func tsUnix(ts string) int64 {
	var s int64
	for _, c := range strings.Split(ts, ".")[0] {
		s = s*10 + int64(c-'0')
	}
	return s
}

// TestScopeFormDoesNotRevertALaterSeverityChange: the form opened at SEV2;
// meanwhile /incident sev 1; submitting with the select untouched keeps SEV1.
func TestScopeFormDoesNotRevertALaterSeverityChange(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	slash(t, f, "declare sev2 checkout Card payments failing")
	waitReady(t, f, 1)
	ch, _ := f.Channel("inc-1-sev2-card-payments-failing")
	click(t, f, declarer, ch.ID, "", "klaxon_scope_open", "scope_actions", "1")
	if err := f.WaitFor(ctxT(t), func(s *fakeslack.Snapshot) bool { return len(s.Views()) == 1 }); err != nil {
		t.Fatal(err)
	}
	v := f.Views()[0]
	slashIn(t, f, ch.ID, declarer, "sev 1 all regions")
	k.bot.Wait()
	state := &slack.ViewState{Values: map[string]map[string]slack.BlockAction{
		"what_broke":     {"what_broke": {Value: "payments-api"}},
		"scope_severity": {"scope_severity": {SelectedOption: slack.OptionBlockObject{Value: "SEV2"}}}, // as pre-set
	}}
	f.Interactive(ctxT(t), slack.InteractionCallback{Type: slack.InteractionTypeViewSubmission, User: slack.User{ID: declarer},
		View: slack.View{ID: v.ID, CallbackID: v.CallbackID, PrivateMetadata: v.PrivateMetadata, State: state}})
	k.bot.Wait()
	if inc, _ := k.db.Get(context.Background(), 1); inc.Severity != playbook.SEV1 || inc.Scope == nil {
		t.Fatalf("after the scope form: %s, scope %v; want SEV1 kept and the scope stored", inc.Severity, inc.Scope)
	}
}

// TestConcurrentClicksBothShown: two people check two items at once; the
// message ends up showing both.
func TestConcurrentClicksBothShown(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	ch := declareOne(t, f)
	msg := checklistMsg(t, f, ch.ID)
	done := make(chan struct{}, 2)
	for _, it := range []string{"deploys", "owner_paged"} {
		go func() {
			click(t, f, "U0PAY001", ch.ID, msg.TS, "klaxon_check", "check_"+it, "1:"+it+":on")
			done <- struct{}{}
		}()
	}
	<-done
	<-done
	k.bot.Wait()
	body := blocksText(checklistMsg(t, f, ch.ID))
	for _, label := range []string{"~Recent deployments identified (last 2 hours)~", "~Service owner identified and paged~"} {
		if !strings.Contains(body, label) {
			t.Errorf("after two concurrent clicks the message lacks %s", label)
		}
	}
}
