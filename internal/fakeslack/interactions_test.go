package fakeslack_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
)

func TestBlockActionsAndResponseURL(t *testing.T) {
	fake, api, _ := newFake(t, fakeslack.Options{})
	ctx := ctxT(t)
	fake.AddUser("U1", "Ada Lovelace")
	ch := fake.AddChannel("", "inc-1", fakeslack.BotUserID, "U1")
	_, ts, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("Ack?", false))
	if err != nil {
		t.Fatal(err)
	}
	clicks := make(chan slack.InteractionCallback, 1)
	bot(t, api, func(c *socketmode.Client, evt socketmode.Event) {
		if evt.Type == socketmode.EventTypeInteractive {
			_ = c.Ack(*evt.Request)
			clicks <- evt.Data.(slack.InteractionCallback)
		}
	})
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	cb := slack.InteractionCallback{
		Type:      slack.InteractionTypeBlockActions,
		User:      slack.User{ID: "U1"},
		Container: slack.Container{Type: "message", MessageTs: ts, ChannelID: ch},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{
			{ActionID: "ack", BlockID: "actions", Value: "inc-1"},
		}},
	}
	cb.Channel.ID = ch
	if _, err := fake.Interactive(ctx, cb); err != nil {
		t.Fatal(err)
	}
	got := <-clicks
	if got.TriggerID == "" || got.ResponseURL == "" || len(got.ActionCallback.BlockActions) != 1 ||
		got.ActionCallback.BlockActions[0].ActionID != "ack" {
		t.Fatalf("callback as the bot saw it: %+v", got)
	}
	// replace_original edits the message the button was on.
	if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionReplaceOriginal(got.ResponseURL), slack.MsgOptionText("Acked by Ada", false)); err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages(ch)
	if len(msgs) != 1 || msgs[0].Text != "Acked by Ada" || !msgs[0].Edited {
		t.Fatalf("messages: %+v", msgs)
	}
	// Invalid blocks on a response_url are refused.
	bad := slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", strings.Repeat("x", 3001), false, false), nil, nil)
	if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionResponseURL(got.ResponseURL, slack.ResponseTypeEphemeral), slack.MsgOptionBlocks(bad)); err == nil {
		t.Fatal("invalid blocks accepted on response_url")
	}
	if p := fake.ResponseURLPosts(); p[len(p)-1].Error != "invalid_blocks" || p[len(p)-1].Status != 400 {
		t.Fatalf("post: %+v", p[len(p)-1])
	}
}

func TestViewSubmissionAck(t *testing.T) {
	fake, api, _ := newFake(t, fakeslack.Options{})
	ctx := ctxT(t)
	fake.AddUser("U1", "Ada Lovelace")
	plain := func(s string) *slack.TextBlockObject { return slack.NewTextBlockObject("plain_text", s, false, false) }
	modal := func(title string) *slack.ModalViewRequest {
		return &slack.ModalViewRequest{
			Type: slack.VTModal, Title: plain(title), Submit: plain("Go"),
			Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewInputBlock("t", plain("Title"), nil, slack.NewPlainTextInputBlockElement(nil, "t"))}},
		}
	}
	bot(t, api, func(c *socketmode.Client, evt socketmode.Event) {
		switch evt.Type {
		case socketmode.EventTypeSlashCommand:
			_ = c.Ack(*evt.Request)
			_, _ = c.OpenViewContext(context.Background(), evt.Data.(slack.SlashCommand).TriggerID, *modal("Declare"))
		case socketmode.EventTypeInteractive:
			cb := evt.Data.(slack.InteractionCallback)
			if cb.View.PrivateMetadata == "errors" {
				_ = c.Ack(*evt.Request, slack.NewErrorsViewSubmissionResponse(map[string]string{"t": "too short"}))
				return
			}
			_ = c.Ack(*evt.Request, slack.NewUpdateViewSubmissionResponse(modal("Declared")))
		}
	})
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.SlashCommand(ctx, fakeslack.SlashCommand{UserID: "U1", ChannelID: "C1"}); err != nil {
		t.Fatal(err)
	}
	if err := fake.WaitFor(ctx, func(s *fakeslack.Snapshot) bool { return len(s.Views()) == 1 }); err != nil {
		t.Fatal(err)
	}
	v := fake.Views()[0]
	sub := map[string]any{
		"type": "view_submission", "user": map[string]any{"id": "U1"},
		"view": map[string]any{"id": v.ID, "callback_id": "declare", "private_metadata": "errors", "state": map[string]any{"values": map[string]any{}}},
	}
	ack, err := fake.Interactive(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	var resp slack.ViewSubmissionResponse
	if err := json.Unmarshal(ack.Payload, &resp); err != nil || resp.ResponseAction != slack.RAErrors || resp.Errors["t"] != "too short" {
		t.Fatalf("errors ack: %s %v", ack.Payload, err)
	}
	sub["view"].(map[string]any)["private_metadata"] = ""
	if _, err := fake.Interactive(ctx, sub); err != nil {
		t.Fatal(err)
	}
	if v := fake.Views()[0]; v.Title != "Declared" || v.Version != 2 {
		t.Fatalf("view after response_action update: %+v", v)
	}
}

// rawClient connects to the fake with a bare WebSocket, to do what slack-go
// refuses to (send oversized acks).
func rawClient(t *testing.T, fake *fakeslack.Server, api *slack.Client) *websocket.Conn {
	t.Helper()
	_, url, err := api.StartSocketModeContext(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	hdr := map[string][]string{"Origin": {"https://api.slack.com"}}
	conn, _, err := websocket.DefaultDialer.Dial(url, hdr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	var hello map[string]any
	if err := conn.ReadJSON(&hello); err != nil || hello["type"] != "hello" {
		t.Fatalf("hello: %v %v", hello, err)
	}
	// A ticket is good once.
	if _, _, err := websocket.DefaultDialer.Dial(url, hdr); err == nil {
		t.Fatal("ticket reused")
	}
	return conn
}

func TestOversizedAckAndPings(t *testing.T) {
	fake, api, _ := newFake(t, fakeslack.Options{AckTimeout: 300 * time.Millisecond, PingInterval: 20 * time.Millisecond})
	ctx := ctxT(t)
	conn := rawClient(t, fake, api)
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	pinged := make(chan struct{}, 1)
	conn.SetPingHandler(func(string) error {
		select {
		case pinged <- struct{}{}:
		default:
		}
		return nil
	})
	type result struct {
		ack fakeslack.Ack
		err error
	}
	done := make(chan result, 1)
	go func() {
		a, err := fake.EventsAPI(ctx, map[string]any{"type": "app_mention", "text": "hi"})
		done <- result{a, err}
	}()
	var env struct {
		EnvelopeID string          `json:"envelope_id"`
		Type       string          `json:"type"`
		Payload    json.RawMessage `json:"payload"`
	}
	if err := conn.ReadJSON(&env); err != nil {
		t.Fatal(err)
	}
	if env.Type != "events_api" {
		t.Fatalf("envelope: %+v", env)
	}
	if _, err := slackevents.ParseEvent(env.Payload, slackevents.OptionNoVerifyToken()); err != nil {
		t.Fatalf("slack-go cannot parse the event: %v", err)
	}
	big, _ := json.Marshal(map[string]any{"envelope_id": env.EnvelopeID, "payload": map[string]any{"text": strings.Repeat("x", 20*1024)}})
	if err := conn.WriteMessage(websocket.TextMessage, big); err != nil {
		t.Fatal(err)
	}
	if r := <-done; !errors.Is(r.err, fakeslack.ErrNoAck) {
		t.Fatalf("oversized ack accepted: %+v %v", r.ack, r.err)
	}
	// An oversized ack does not answer the envelope: the sender gives up
	// after AckTimeout whether or not the fake's reader has taken the ack
	// in yet (300 ms is short on a loaded machine), so wait for it.
	if err := fake.WaitFor(ctx, func(s *fakeslack.Snapshot) bool { return len(s.Acks()) > 0 }); err != nil {
		t.Fatalf("the oversized ack was never recorded: %v", err)
	}
	if acks := fake.Acks(); len(acks) != 1 || !acks[0].Oversized {
		t.Fatalf("acks: %+v", acks)
	}
	// Pings arrive (the reader must run for the handler to fire).
	go func() {
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	select {
	case <-pinged:
	case <-ctx.Done():
		t.Fatal("no ping")
	}
}

func TestRoundRobinAndDM(t *testing.T) {
	fake, api, _ := newFake(t, fakeslack.Options{})
	ctx := ctxT(t)
	fake.AddUser("U1", "Ada Lovelace")
	for range 2 {
		bot(t, api, func(c *socketmode.Client, evt socketmode.Event) {
			if evt.Request != nil && evt.Type == socketmode.EventTypeEventsAPI {
				_ = c.Ack(*evt.Request)
			}
		})
	}
	if err := fake.WaitFor(ctx, func(s *fakeslack.Snapshot) bool { return s.Connections() == 2 }); err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for range 4 {
		ack, err := fake.EventsAPI(ctx, map[string]any{"type": "member_joined_channel", "user": "U1", "channel": "C1"})
		if err != nil {
			t.Fatal(err)
		}
		seen[ack.Conn] = true
	}
	if len(seen) != 2 {
		t.Fatalf("envelopes went to connections %v", seen)
	}
	// Posting to a user ID writes in the bot's DM with them.
	ch, _, err := api.PostMessageContext(ctx, "U1", slack.MsgOptionText("you are on call", false))
	if err != nil || !strings.HasPrefix(ch, "D") {
		t.Fatalf("DM: %q %v", ch, err)
	}
	if msgs := fake.Messages("U1"); len(msgs) != 1 || msgs[0].Channel != ch {
		t.Fatalf("DM messages: %+v", msgs)
	}
}

func TestLatencyAndOkFalseFault(t *testing.T) {
	fake, api, _ := newFake(t, fakeslack.Options{
		Latency: 20 * time.Millisecond,
		Fault: func(method string, n int) *fakeslack.Fault {
			if method == "conversations.create" && n == 1 {
				return &fakeslack.Fault{Status: 200}
			}
			return nil
		},
	})
	ctx := ctxT(t)
	start := time.Now()
	c, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-1"})
	if time.Since(start) < 20*time.Millisecond {
		t.Error("no latency")
	}
	// slack-go takes {"ok":false} without an error for success.
	if err != nil || c.ID != "" {
		t.Fatalf("got %+v %v", c, err)
	}
	if len(fake.Channels()) != 0 {
		t.Fatal("faulted create took effect")
	}
	if calls := fake.Calls(); len(calls) != 1 || calls[0].OK() || !calls[0].Fault {
		t.Fatalf("calls: %+v", calls)
	}
}

func TestFileUpload(t *testing.T) {
	fake, api, _ := newFake(t, fakeslack.Options{})
	ctx := ctxT(t)
	ch := fake.AddChannel("", "inc-1", fakeslack.BotUserID)
	f, err := api.UploadFileContext(ctx, slack.UploadFileParameters{
		Filename: "timeline.md", FileSize: 5, Content: "hello", Channel: ch, Title: "Timeline", InitialComment: "Postmortem draft",
	})
	if err != nil {
		t.Fatal(err)
	}
	files := fake.Files()
	if len(files) != 1 || files[0].ID != f.ID || string(files[0].Content) != "hello" || !files[0].Completed || files[0].Title != "Timeline" {
		t.Fatalf("files: %+v", files)
	}
	if msgs := fake.Messages(ch); len(msgs) != 1 || msgs[0].Files[0] != f.ID || msgs[0].Text != "Postmortem draft" {
		t.Fatalf("messages: %+v", msgs)
	}
}
