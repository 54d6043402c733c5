package fakeslack_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
)

// TestMessageMetadataAndHistory: metadata posted with a message comes back
// from conversations.history only with include_all_metadata, as Slack
// documents; an invalid event_type is dropped with a warning; the history
// is newest first, bounded by oldest/latest, paged with a cursor, and
// refused outside the bot's channels.
func TestMessageMetadataAndHistory(t *testing.T) {
	fake, api, clock := newFake(t, fakeslack.Options{})
	ctx := ctxT(t)
	ch := fake.AddChannel("C0TRIAGE", "triage", fakeslack.BotUserID)
	fake.AddChannel("C0OTHER", "other")
	md := slack.SlackMetadata{EventType: "klaxon_offer", EventPayload: map[string]any{"key": "group-1-42"}}
	var tss []string
	for i := range 5 {
		opts := []slack.MsgOption{slack.MsgOptionText(fmt.Sprintf("m%d", i), false)}
		if i == 2 {
			opts = append(opts, slack.MsgOptionMetadata(md))
		}
		_, ts, err := api.PostMessageContext(ctx, ch, opts...)
		if err != nil {
			t.Fatal(err)
		}
		tss = append(tss, ts)
		clock.Advance(time.Second)
	}
	if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("reply", false), slack.MsgOptionTS(tss[0])); err != nil {
		t.Fatal(err)
	}

	all, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch, IncludeAllMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Messages) != 5 || all.Messages[0].Timestamp != tss[4] || all.HasMore {
		t.Fatalf("history = %d messages, first %s, has_more %v; want the 5 top-level ones newest first", len(all.Messages), all.Messages[0].Timestamp, all.HasMore)
	}
	got := all.Messages[2].Metadata
	if got.EventType != "klaxon_offer" || got.EventPayload["key"] != "group-1-42" {
		t.Errorf("metadata = %+v, want the one posted", got)
	}
	plain, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Messages[2].Metadata.EventType != "" {
		t.Error("metadata came back without include_all_metadata")
	}

	// A window: oldest and latest exclusive, or inclusive.
	win, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch, Oldest: tss[1], Latest: tss[3]})
	if err != nil || len(win.Messages) != 1 || win.Messages[0].Timestamp != tss[2] {
		t.Errorf("exclusive window = %+v, %v; want only %s", win, err, tss[2])
	}
	win, err = api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch, Oldest: tss[1], Latest: tss[3], Inclusive: true})
	if err != nil || len(win.Messages) != 3 {
		t.Errorf("inclusive window = %d messages, %v; want 3", len(win.Messages), err)
	}

	// Pages of two.
	var paged []string
	cursor := ""
	for range 5 {
		p, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch, Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range p.Messages {
			paged = append(paged, m.Timestamp)
		}
		if !p.HasMore {
			break
		}
		cursor = p.ResponseMetaData.NextCursor
	}
	if len(paged) != 5 || paged[0] != tss[4] || paged[4] != tss[0] {
		t.Errorf("paged = %v", paged)
	}

	// An invalid event_type: the message is posted, its metadata dropped.
	bad := slack.SlackMetadata{EventType: "klaxon.offer", EventPayload: map[string]any{"key": "x"}}
	_, ts, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("bad", false), slack.MsgOptionMetadata(bad))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range fake.Messages(ch) {
		if m.TS == ts && m.Metadata != nil {
			t.Errorf("invalid metadata kept: %s", m.Metadata)
		}
	}

	for id, want := range map[string]string{"C0OTHER": "not_in_channel", "C0NOPE": "channel_not_found"} {
		_, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: id})
		if got := slackErr(t, err); got != want {
			t.Errorf("history of %s: %q, want %q", id, got, want)
		}
	}
	_, err = api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch, Cursor: "bm9wZQ=="})
	if got := slackErr(t, err); got != "invalid_cursor" {
		t.Errorf("bad cursor: %q", got)
	}
}

// FaultOn aims a fault at one message by its arguments: the post whose
// metadata carries a key is made (Applied) and answered with a 500, and
// the other posts go through.
func TestFaultOnAimsAtOneMessage(t *testing.T) {
	fake, api, _ := newFake(t, fakeslack.Options{FaultOn: func(c fakeslack.Call) *fakeslack.Fault {
		if c.Method == "chat.postMessage" && strings.Contains(c.Params.Get("metadata"), `"k-1"`) {
			return &fakeslack.Fault{Status: 500, Applied: true}
		}
		return nil
	}})
	ctx := ctxT(t)
	ch := fake.AddChannel("C0TRIAGE", "triage", fakeslack.BotUserID)
	if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("plain", false)); err != nil {
		t.Fatal(err)
	}
	md := slack.SlackMetadata{EventType: "klaxon_intent", EventPayload: map[string]any{"key": "k-1"}}
	if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("aimed", false), slack.MsgOptionMetadata(md)); err == nil {
		t.Fatal("the aimed post did not fail")
	}
	ms := fake.Messages(ch)
	if len(ms) != 2 || ms[1].Text != "aimed" || !strings.Contains(string(ms[1].Metadata), "k-1") {
		t.Fatalf("messages %+v: the aimed post should be made despite its 500", ms)
	}
}

// conversations.replies gives a thread's parent first, then its replies
// oldest first (those history leaves out), metadata only when asked.
func TestConversationsReplies(t *testing.T) {
	fake, api, clock := newFake(t, fakeslack.Options{})
	ctx := ctxT(t)
	ch := fake.AddChannel("C0ANN", "incidents", fakeslack.BotUserID)
	_, parent, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("parent", false))
	if err != nil {
		t.Fatal(err)
	}
	md := slack.SlackMetadata{EventType: "klaxon_intent", EventPayload: map[string]any{"key": "k-2"}}
	for i := range 3 {
		clock.Advance(time.Second)
		opts := []slack.MsgOption{slack.MsgOptionText(fmt.Sprintf("r%d", i), false), slack.MsgOptionTS(parent)}
		if i == 1 {
			opts = append(opts, slack.MsgOptionMetadata(md))
		}
		if _, _, err := api.PostMessageContext(ctx, ch, opts...); err != nil {
			t.Fatal(err)
		}
	}
	msgs, more, _, err := api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: ch, Timestamp: parent, IncludeAllMetadata: true})
	if err != nil || more || len(msgs) != 4 || msgs[0].Text != "parent" || msgs[1].Text != "r0" || msgs[3].Text != "r2" {
		t.Fatalf("replies %+v, %v, %v", msgs, more, err)
	}
	if msgs[2].Metadata.EventPayload["key"] != "k-2" {
		t.Fatalf("metadata %+v", msgs[2].Metadata)
	}
	plain, _, _, _ := api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: ch, Timestamp: parent, Limit: 1})
	if len(plain) != 2 || plain[1].Metadata.EventType != "" {
		t.Fatalf("without include_all_metadata, limit 1: %+v", plain)
	}
	if _, _, _, err := api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: ch, Timestamp: "1.000001"}); err == nil || !strings.Contains(err.Error(), "thread_not_found") {
		t.Fatalf("an unknown thread: %v", err)
	}
}
