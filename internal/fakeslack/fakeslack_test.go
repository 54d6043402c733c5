package fakeslack_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
)

var epoch = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// newFake starts a fake with a manual clock and a slack-go client for it.
func newFake(t *testing.T, opts fakeslack.Options) (*fakeslack.Server, *slack.Client, *fakeslack.ManualClock) {
	t.Helper()
	clock := fakeslack.NewManualClock(epoch)
	if opts.Clock == nil {
		opts.Clock = clock.Now
	}
	fake := fakeslack.New(opts)
	t.Cleanup(fake.Close)
	api := slack.New(fakeslack.DefaultBotToken, slack.OptionAPIURL(fake.URL()), slack.OptionAppLevelToken(fakeslack.DefaultAppToken))
	return fake, api, clock
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// slackErr returns the error code of a Slack ok:false answer.
func slackErr(t *testing.T, err error) string {
	t.Helper()
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) {
		t.Fatalf("want a SlackErrorResponse, got %T %v", err, err)
	}
	return se.Err
}

func TestAuthTestAndTokens(t *testing.T) {
	fake, api, _ := newFake(t, fakeslack.Options{})
	ctx := ctxT(t)
	resp, err := api.AuthTestContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if resp.UserID != fakeslack.BotUserID || resp.TeamID != fakeslack.TeamID {
		t.Fatalf("auth.test: %+v", resp)
	}
	for tok, want := range map[string]string{
		"":                        "not_authed",
		"xoxb-wrong":              "invalid_auth",
		fakeslack.DefaultAppToken: "not_allowed_token_type",
	} {
		bad := slack.New(tok, slack.OptionAPIURL(fake.URL()))
		_, err := bad.AuthTestContext(ctx)
		if got := slackErr(t, err); got != want {
			t.Errorf("token %q: got %q, want %q", tok, got, want)
		}
		_, _, err = bad.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false))
		if got := slackErr(t, err); got != want {
			t.Errorf("chat.postMessage with token %q: got %q, want %q", tok, got, want)
		}
	}
	// slack-go sends the token in the form body for form methods.
	calls := fake.CallsTo("auth.test")
	if calls[0].Params.Get("token") != fakeslack.DefaultBotToken {
		t.Errorf("token not in form: %v", calls[0].Params)
	}
	// apps.connections.open wants the app-level token.
	botOnly := slack.New(fakeslack.DefaultBotToken, slack.OptionAPIURL(fake.URL()), slack.OptionAppLevelToken("xapp-wrong"))
	if _, _, err := botOnly.StartSocketModeContext(ctx); slackErr(t, err) != "invalid_auth" {
		t.Errorf("apps.connections.open with a wrong app token: %v", err)
	}
	info, url, err := api.StartSocketModeContext(ctx)
	if err != nil || !strings.HasPrefix(url, "ws://127.0.0.1:") || info == nil {
		t.Fatalf("apps.connections.open: %q %v", url, err)
	}
}

func TestPostMessage(t *testing.T) {
	fake, api, _ := newFake(t, fakeslack.Options{DisableRateLimits: true})
	ctx := ctxT(t)
	fake.AddUser("U1", "Ada Lovelace")
	announce := fake.AddChannel("", "announce", fakeslack.BotUserID, "U1")
	other := fake.AddChannel("C0OTHER", "random", "U1")

	ch, ts, err := api.PostMessageContext(ctx, announce, slack.MsgOptionText("hello", false),
		slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", "*hi*", false, false), nil, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if ch != announce || len(ts) != len("1709294400.000000") {
		t.Fatalf("got %q %q", ch, ts)
	}
	// Posting by name works too, and timestamps increase.
	_, ts2, err := api.PostMessageContext(ctx, "#announce", slack.MsgOptionText("again", false), slack.MsgOptionTS(ts))
	if err != nil {
		t.Fatal(err)
	}
	if ts2 <= ts {
		t.Fatalf("ts not increasing: %s then %s", ts, ts2)
	}
	msgs := fake.Messages(announce)
	if len(msgs) != 2 || msgs[0].Text != "hello" || msgs[0].User != fakeslack.BotUserID || !strings.Contains(string(msgs[0].Blocks), "*hi*") {
		t.Fatalf("messages: %+v", msgs)
	}
	if msgs[1].ThreadTS != ts {
		t.Fatalf("reply not threaded: %+v", msgs[1])
	}

	cases := []struct {
		channel string
		opts    []slack.MsgOption
		want    string
	}{
		{other, []slack.MsgOption{slack.MsgOptionText("x", false)}, "not_in_channel"},
		{"C404", []slack.MsgOption{slack.MsgOptionText("x", false)}, "channel_not_found"},
		{announce, nil, "no_text"},
		{announce, []slack.MsgOption{slack.MsgOptionText("x", false), slack.MsgOptionTS("1.000001")}, "thread_not_found"},
	}
	for _, c := range cases {
		_, _, err := api.PostMessageContext(ctx, c.channel, c.opts...)
		if got := slackErr(t, err); got != c.want {
			t.Errorf("post to %s: got %q, want %q", c.channel, got, c.want)
		}
	}

	// Updates: only existing bot messages.
	if _, _, _, err := api.UpdateMessageContext(ctx, announce, ts, slack.MsgOptionText("edited", false)); err != nil {
		t.Fatal(err)
	}
	if m := fake.Messages(announce)[0]; m.Text != "edited" || !m.Edited || m.Blocks == nil {
		t.Fatalf("update: %+v", m)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, announce, "123.456", slack.MsgOptionText("x", false)); slackErr(t, err) != "message_not_found" {
		t.Errorf("update of a missing message: %v", err)
	}
	theirs := fake.AddMessage(other, "U1", "", "someone else's")
	fake.AddMembers(other, fakeslack.BotUserID)
	if _, _, _, err := api.UpdateMessageContext(ctx, other, theirs, slack.MsgOptionText("x", false)); slackErr(t, err) != "cant_update_message" {
		t.Errorf("update of a user's message: %v", err)
	}

	// Long text is cut at 40,000 characters.
	if _, _, err := api.PostMessageContext(ctx, announce, slack.MsgOptionText(strings.Repeat("a", 40010), false)); err != nil {
		t.Fatal(err)
	}
	if m := fake.Messages(announce)[2]; len(m.Text) != 40000 {
		t.Errorf("text not cut: %d", len(m.Text))
	}

	// Ephemerals go to members only.
	if _, err := api.PostEphemeralContext(ctx, announce, "U1", slack.MsgOptionText("psst", false)); err != nil {
		t.Fatal(err)
	}
	if e := fake.Ephemerals("U1"); len(e) != 1 || e[0].Text != "psst" || !e[0].Ephemeral {
		t.Fatalf("ephemerals: %+v", e)
	}
	fake.AddUser("U2", "Grace Hopper")
	if _, err := api.PostEphemeralContext(ctx, announce, "U2", slack.MsgOptionText("psst", false)); slackErr(t, err) != "user_not_in_channel" {
		t.Errorf("ephemeral to a non-member: %v", err)
	}
	link, err := api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: announce, Ts: ts})
	if err != nil || !strings.Contains(link, "/archives/"+announce+"/p") {
		t.Errorf("permalink %q %v", link, err)
	}
	if err := api.AddPinContext(ctx, announce, slack.NewRefToMessage(announce, ts)); err != nil {
		t.Fatal(err)
	}
	if err := api.AddPinContext(ctx, announce, slack.NewRefToMessage(announce, ts)); slackErr(t, err) != "already_pinned" {
		t.Errorf("second pin: %v", err)
	}
	if err := api.AddPinContext(ctx, announce, slack.NewRefToMessage(announce, "9.9")); slackErr(t, err) != "message_not_found" {
		t.Errorf("pin of a missing message: %v", err)
	}
	if c, _ := fake.Channel(announce); len(c.Pins) != 1 || c.Pins[0] != ts {
		t.Errorf("pins: %v", c.Pins)
	}
}

func TestConversations(t *testing.T) {
	fake, api, _ := newFake(t, fakeslack.Options{})
	ctx := ctxT(t)
	fake.AddUser("U1", "Ada Lovelace")
	fake.AddUser("U2", "Grace Hopper")

	c, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-42-db-down"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Creator != fakeslack.BotUserID || !c.IsMember || c.Created.Time().IsZero() {
		t.Fatalf("created: %+v", c)
	}
	if _, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-42-db-down"}); slackErr(t, err) != "name_taken" {
		t.Errorf("same name: %v", err)
	}
	for name, want := range map[string]string{
		"":                      "invalid_name_required",
		"Inc-1":                 "invalid_name_specials",
		"inc 1":                 "invalid_name_specials",
		"inc.1":                 "invalid_name_specials",
		strings.Repeat("a", 81): "invalid_name_maxlength",
		"--":                    "invalid_name_punctuation",
	} {
		if _, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: name}); slackErr(t, err) != want {
			t.Errorf("name %q: got %v, want %s", name, err, want)
		}
	}

	if _, err := api.SetTopicOfConversationContext(ctx, c.ID, strings.Repeat("t", 251)); slackErr(t, err) != "too_long" {
		t.Errorf("long topic: %v", err)
	}
	if _, err := api.SetTopicOfConversationContext(ctx, c.ID, "SEV1: db down"); err != nil {
		t.Fatal(err)
	}
	if _, err := api.SetPurposeOfConversationContext(ctx, c.ID, "Incident 42"); err != nil {
		t.Fatal(err)
	}

	// Invites.
	if _, err := api.InviteUsersToConversationContext(ctx, c.ID, "U1", "U404"); slackErr(t, err) != "user_not_found" {
		t.Errorf("invite with an unknown user: %v", err)
	}
	if _, err := api.InviteUsersToConversationContext(ctx, c.ID, fakeslack.BotUserID); slackErr(t, err) != "cant_invite_self" {
		t.Errorf("invite self: %v", err)
	}
	if _, err := api.ForceInviteUsersToConversationContext(ctx, c.ID, "U1", "U404"); err != nil {
		t.Errorf("forced invite: %v", err)
	}
	if _, err := api.InviteUsersToConversationContext(ctx, c.ID, "U1"); slackErr(t, err) != "already_in_channel" {
		t.Errorf("invite a member: %v", err)
	}
	if _, err := api.InviteUsersToConversationContext(ctx, c.ID, "U1", "U2"); err != nil {
		t.Errorf("invite a member and a new one: %v", err)
	}
	members, _, err := api.GetUsersInConversationContext(ctx, &slack.GetUsersInConversationParameters{ChannelID: c.ID, Limit: 2})
	if err != nil || len(members) != 2 {
		t.Fatalf("members page: %v %v", members, err)
	}

	b, err := api.AddBookmarkContext(ctx, c.ID, slack.AddBookmarkParameters{Title: "Runbook", Type: "link", Link: "https://example.com/rb"})
	if err != nil || b.ID == "" || !b.Created.Time().Equal(epoch) {
		t.Fatalf("bookmark: %+v %v", b, err)
	}
	if _, err := api.AddBookmarkContext(ctx, c.ID, slack.AddBookmarkParameters{Title: "x", Type: "link"}); slackErr(t, err) != "invalid_arguments" {
		t.Errorf("bookmark without link: %v", err)
	}

	if _, err := api.RenameConversationContext(ctx, c.ID, "inc-42-db-down-resolved"); err != nil {
		t.Fatal(err)
	}
	if err := api.ArchiveConversationContext(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if err := api.ArchiveConversationContext(ctx, c.ID); slackErr(t, err) != "already_archived" {
		t.Errorf("archive twice: %v", err)
	}
	if _, err := api.InviteUsersToConversationContext(ctx, c.ID, "U2"); slackErr(t, err) != "is_archived" {
		t.Errorf("invite to archived: %v", err)
	}
	// Archived channels still hold their name.
	if _, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-42-db-down-resolved"}); slackErr(t, err) != "name_taken" {
		t.Errorf("name of an archived channel: %v", err)
	}

	got, ok := fake.Channel("inc-42-db-down-resolved")
	if !ok || got.Topic != "SEV1: db down" || got.Purpose != "Incident 42" || !got.Archived ||
		len(got.Members) != 3 || len(got.Bookmarks) != 1 || got.PreviousNames[0] != "inc-42-db-down" {
		t.Fatalf("channel state: %+v", got)
	}
	info, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: c.ID, IncludeNumMembers: true})
	if err != nil || info.NumMembers != 3 || info.Topic.Value != "SEV1: db down" {
		t.Fatalf("info: %+v %v", info, err)
	}

	fake.AddUserGroup("S1", "oncall", "U1", "U2")
	if users, err := api.GetUserGroupMembersContext(ctx, "S1"); err != nil || len(users) != 2 {
		t.Errorf("usergroup: %v %v", users, err)
	}
	if _, err := api.GetUserGroupMembersContext(ctx, "S404"); slackErr(t, err) != "no_such_subteam" {
		t.Errorf("unknown usergroup: %v", err)
	}
	fake.SetUserEmail("U1", "ada@example.com")
	if u, err := api.GetUserByEmailContext(ctx, "ada@example.com"); err != nil || u.ID != "U1" {
		t.Errorf("lookupByEmail: %v %v", u, err)
	}
	if u, err := api.GetUserInfoContext(ctx, "U2"); err != nil || u.RealName != "Grace Hopper" {
		t.Errorf("users.info: %v %v", u, err)
	}
	if _, err := api.GetUserInfoContext(ctx, "U404"); slackErr(t, err) != "user_not_found" {
		t.Errorf("users.info unknown: %v", err)
	}
}

func TestInvalidBlocks(t *testing.T) {
	fake, api, _ := newFake(t, fakeslack.Options{DisableRateLimits: true})
	ctx := ctxT(t)
	ch := fake.AddChannel("", "announce", fakeslack.BotUserID)
	text := func(s string) *slack.TextBlockObject { return slack.NewTextBlockObject("mrkdwn", s, false, false) }
	plain := func(s string) *slack.TextBlockObject { return slack.NewTextBlockObject("plain_text", s, false, false) }
	many := make([]slack.Block, 51)
	for i := range many {
		many[i] = slack.NewDividerBlock()
	}
	btn := func(label string) slack.BlockElement { return slack.NewButtonBlockElement("a", "v", plain(label)) }
	cases := map[string]struct {
		blocks  []slack.Block
		pointer string
	}{
		"section text 3001": {[]slack.Block{slack.NewSectionBlock(text(strings.Repeat("x", 3001)), nil, nil)}, "/blocks/0/text/text"},
		"51 blocks":         {many, "/blocks"},
		"header mrkdwn":     {[]slack.Block{slack.NewHeaderBlock(text("hi"))}, "/blocks/0/text/type"},
		"header 151":        {[]slack.Block{slack.NewHeaderBlock(plain(strings.Repeat("h", 151)))}, "/blocks/0/text/text"},
		"empty text":        {[]slack.Block{slack.NewSectionBlock(text(""), nil, nil)}, "/blocks/0/text/text"},
		"button 76":         {[]slack.Block{slack.NewActionBlock("b1", btn(strings.Repeat("b", 76)))}, "/blocks/0/elements/0/text/text"},
		"duplicate block_id": {[]slack.Block{
			slack.NewSectionBlock(text("a"), nil, nil, slack.SectionBlockOptionBlockID("same")),
			slack.NewSectionBlock(text("b"), nil, nil, slack.SectionBlockOptionBlockID("same")),
		}, "/blocks/1/block_id"},
		"input in message": {[]slack.Block{slack.NewInputBlock("i", plain("Title"), nil, slack.NewPlainTextInputBlockElement(nil, "t"))}, "/blocks/0/type"},
		"11 fields": {[]slack.Block{slack.NewSectionBlock(nil, []*slack.TextBlockObject{
			text("1"), text("2"), text("3"), text("4"), text("5"), text("6"), text("7"), text("8"), text("9"), text("10"), text("11"),
		}, nil)}, "/blocks/0/fields"},
	}
	for name, c := range cases {
		_, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("fallback", false), slack.MsgOptionBlocks(c.blocks...))
		var se slack.SlackErrorResponse
		if !errors.As(err, &se) || se.Err != "invalid_blocks" {
			t.Errorf("%s: got %v, want invalid_blocks", name, err)
			continue
		}
		if len(se.ResponseMetadata.Messages) == 0 || !strings.Contains(se.ResponseMetadata.Messages[0], "[json-pointer:"+c.pointer+"]") {
			t.Errorf("%s: messages %q, want pointer %s", name, se.ResponseMetadata.Messages, c.pointer)
		}
	}
	if n := len(fake.Messages(ch)); n != 0 {
		t.Fatalf("rejected messages were stored: %d", n)
	}
	// A message at the limits goes through.
	ok := []slack.Block{
		slack.NewHeaderBlock(plain(strings.Repeat("h", 150))),
		slack.NewSectionBlock(text(strings.Repeat("x", 3000)), nil, nil),
		slack.NewActionBlock("acts", btn(strings.Repeat("b", 75))),
		slack.NewContextBlock("ctx", text("c")),
	}
	if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("fallback", false), slack.MsgOptionBlocks(ok...)); err != nil {
		t.Fatal(err)
	}
}

func TestRateLimits(t *testing.T) {
	fake, api, clock := newFake(t, fakeslack.Options{})
	ctx := ctxT(t)
	create := func(i int) error {
		_, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-" + strings.Repeat("x", i+1)})
		return err
	}
	for i := range 20 {
		if err := create(i); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	clock.Advance(20 * time.Second)
	err := create(20)
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 40*time.Second {
		t.Fatalf("21st Tier 2 call: got %v, want a RateLimitedError after 40s", err)
	}
	if fake.EarlyRetries() != 0 {
		t.Fatal("early retry counted too soon")
	}
	// Retrying before Retry-After ran out is an early retry.
	clock.Advance(10 * time.Second)
	if err := create(20); !errors.As(err, &rl) || rl.RetryAfter != 30*time.Second {
		t.Fatalf("early retry: %v", err)
	}
	if fake.EarlyRetries() != 1 {
		t.Fatalf("EarlyRetries = %d, want 1", fake.EarlyRetries())
	}
	clock.Advance(30 * time.Second)
	if err := create(20); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	calls := fake.CallsTo("conversations.create")
	if last := calls[len(calls)-1]; !last.OK() || last.EarlyRetry {
		t.Fatalf("last call: %+v", last)
	}
	if c := calls[20]; c.Status != 429 || c.Error != "ratelimited" || c.RetryAfter != 40 {
		t.Fatalf("recorded 429: %+v", c)
	}

	// chat.postMessage: a burst of 3 per channel, then 1/s.
	ch := fake.AddChannel("", "announce", fakeslack.BotUserID)
	ch2 := fake.AddChannel("", "other", fakeslack.BotUserID)
	for i := range 3 {
		if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("m", false)); err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("m", false)); !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Fatalf("4th post: %v", err)
	}
	if _, _, err := api.PostMessageContext(ctx, ch2, slack.MsgOptionText("m", false)); err != nil {
		t.Fatalf("other channel: %v", err)
	}
	clock.Advance(time.Second)
	if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("m", false)); err != nil {
		t.Fatalf("after a second: %v", err)
	}
	if fake.EarlyRetries() != 1 {
		t.Fatalf("EarlyRetries = %d, want 1", fake.EarlyRetries())
	}
}

// TestRateClock: with Options.RateClock the limits run on their own clock,
// which a paced client moves by sleeping on it; messages keep Clock's time.
func TestRateClock(t *testing.T) {
	rates := fakeslack.NewManualClock(epoch.Add(time.Hour))
	fake, api, clock := newFake(t, fakeslack.Options{RateClock: rates.Now})
	ctx := ctxT(t)
	ch := fake.AddChannel("", "c", fakeslack.BotUserID)
	post := func() error {
		_, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("m", false))
		return err
	}
	for i := range 3 {
		if err := post(); err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	var rl *slack.RateLimitedError
	if err := post(); !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Fatalf("4th post: %v", err)
	}
	clock.Advance(time.Minute) // Clock does not drive the limits
	if err := post(); !errors.As(err, &rl) {
		t.Fatalf("after a minute on Clock: %v", err)
	}
	if err := rates.Sleep(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := post(); err != nil {
		t.Fatalf("after a second on RateClock: %v", err)
	}
	if fake.EarlyRetries() != 1 { // the retry after a minute on Clock
		t.Fatalf("EarlyRetries = %d, want 1", fake.EarlyRetries())
	}
	ms := fake.Messages(ch)
	if last := ms[len(ms)-1]; !strings.HasPrefix(last.TS, fmt.Sprint(clock.Now().Unix())) {
		t.Errorf("message stamped %s, want Clock's %d", last.TS, clock.Now().Unix())
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	before := rates.Now()
	if err := rates.Sleep(done, time.Hour); err == nil || !rates.Now().Equal(before) {
		t.Errorf("Sleep on an ended context: %v, clock moved %v", err, rates.Now().Sub(before))
	}
}

func TestRateLimitOptions(t *testing.T) {
	fake, api, _ := newFake(t, fakeslack.Options{RateLimitScale: 2})
	ctx := ctxT(t)
	ch := fake.AddChannel("", "c", fakeslack.BotUserID)
	for i := range 6 {
		if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("m", false)); err != nil {
			t.Fatalf("post %d with scale 2: %v", i, err)
		}
	}
	fake2, api2, _ := newFake(t, fakeslack.Options{DisableRateLimits: true})
	ch2 := fake2.AddChannel("", "c", fakeslack.BotUserID)
	for i := range 30 {
		if _, _, err := api2.PostMessageContext(ctx, ch2, slack.MsgOptionText("m", false)); err != nil {
			t.Fatalf("post %d without limits: %v", i, err)
		}
	}
}

func TestFaults(t *testing.T) {
	fake, api, _ := newFake(t, fakeslack.Options{Fault: func(method string, n int) *fakeslack.Fault {
		switch {
		case method == "chat.postMessage" && n == 1:
			return &fakeslack.Fault{Status: 500}
		case method == "chat.postMessage" && n == 2:
			return &fakeslack.Fault{Error: "fatal_error"}
		case method == "chat.postMessage" && n == 3:
			return &fakeslack.Fault{Status: 429, RetryAfter: 7}
		}
		return nil
	}})
	ctx := ctxT(t)
	ch := fake.AddChannel("", "c", fakeslack.BotUserID)
	post := func() error {
		_, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("m", false))
		return err
	}
	var sce slack.StatusCodeError
	if err := post(); !errors.As(err, &sce) || sce.Code != 500 {
		t.Fatalf("1: %v", err)
	}
	if err := post(); slackErr(t, err) != "fatal_error" {
		t.Fatalf("2: %v", err)
	}
	var rl *slack.RateLimitedError
	if err := post(); !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
		t.Fatalf("3: %v", err)
	}
	if len(fake.Messages(ch)) != 0 {
		t.Fatal("a faulted call took effect")
	}
	if err := post(); err != nil {
		t.Fatal(err)
	}
	if fake.EarlyRetries() != 1 {
		t.Fatalf("retry 0 s after a 7 s Retry-After: EarlyRetries = %d", fake.EarlyRetries())
	}
}

// bot runs a socketmode client against the fake and hands every event to
// handle, until the test ends.
func bot(t *testing.T, api *slack.Client, handle func(c *socketmode.Client, evt socketmode.Event)) *socketmode.Client {
	t.Helper()
	sm := socketmode.New(api)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = sm.RunContext(ctx) })
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-sm.Events:
				handle(sm, evt)
			}
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return sm
}

func TestSocketModeSlashCommand(t *testing.T) {
	fake, api, _ := newFake(t, fakeslack.Options{})
	ctx := ctxT(t)
	fake.AddUser("U1", "Ada Lovelace")
	ch := fake.AddChannel("C1", "general", "U1")
	got := make(chan slack.SlashCommand, 4)
	bot(t, api, func(c *socketmode.Client, evt socketmode.Event) {
		if evt.Type != socketmode.EventTypeSlashCommand {
			return
		}
		cmd := evt.Data.(slack.SlashCommand)
		got <- cmd
		_ = c.Ack(*evt.Request, map[string]any{"text": "Declaring incident…"})
	})
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	ack, err := fake.SlashCommand(ctx, fakeslack.SlashCommand{Text: "declare db down", UserID: "U1", ChannelID: ch})
	if err != nil {
		t.Fatal(err)
	}
	cmd := <-got
	if cmd.Command != "/incident" || cmd.Text != "declare db down" || cmd.UserName != "ada.lovelace" ||
		cmd.ChannelName != "general" || cmd.TriggerID == "" || !strings.HasPrefix(cmd.ResponseURL, "http://127.0.0.1:") {
		t.Fatalf("command as the bot saw it: %+v", cmd)
	}
	if ack.EnvelopeID == "" || ack.Type != "slash_commands" || ack.Late || !strings.Contains(string(ack.Payload), "Declaring") {
		t.Fatalf("ack: %+v", ack)
	}
	if acks := fake.Acks(); len(acks) != 1 || acks[0].EnvelopeID != ack.EnvelopeID {
		t.Fatalf("recorded acks: %+v", acks)
	}
	// The ack's message is what the user sees.
	if e := fake.Ephemerals("U1"); len(e) != 1 || e[0].Source != "ack" || e[0].Text != "Declaring incident…" {
		t.Fatalf("ephemerals: %+v", e)
	}

	// The bot answers on the response_url.
	if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionResponseURL(cmd.ResponseURL, slack.ResponseTypeInChannel), slack.MsgOptionText("Incident declared", false)); err != nil {
		t.Fatal(err)
	}
	if posts := fake.ResponseURLPosts(); len(posts) != 1 || posts[0].Text != "Incident declared" || posts[0].ResponseType != "in_channel" {
		t.Fatalf("response posts: %+v", posts)
	}
	if msgs := fake.Messages(ch); len(msgs) != 1 || msgs[0].Source != "response_url" {
		t.Fatalf("in_channel response: %+v", msgs)
	}
}

func TestNoAck(t *testing.T) {
	fake, api, _ := newFake(t, fakeslack.Options{AckTimeout: 200 * time.Millisecond})
	ctx := ctxT(t)
	bot(t, api, func(*socketmode.Client, socketmode.Event) {}) // never acks
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	// The user sees an error.
	if _, err := fake.SlashCommand(ctx, fakeslack.SlashCommand{UserID: "U1", ChannelID: "C1"}); !errors.Is(err, fakeslack.ErrNoAck) {
		t.Fatalf("unacked command: %v", err)
	}
	if _, err := fake.SlashCommand(context.Background(), fakeslack.SlashCommand{}); !errors.Is(err, fakeslack.ErrNoAck) {
		t.Fatalf("unacked command: %v", err)
	}
	fake.DropConnection()
	if err := fake.WaitFor(ctx, func(s *fakeslack.Snapshot) bool { return s.TotalConnections() == 2 && s.Connections() == 1 }); err != nil {
		t.Fatal(err)
	}
}

func TestNotConnected(t *testing.T) {
	fake, _, _ := newFake(t, fakeslack.Options{})
	if _, err := fake.SlashCommand(ctxT(t), fakeslack.SlashCommand{}); !errors.Is(err, fakeslack.ErrNotConnected) {
		t.Fatalf("got %v", err)
	}
}

func TestViewsTriggers(t *testing.T) {
	fake, api, clock := newFake(t, fakeslack.Options{})
	ctx := ctxT(t)
	fake.AddUser("U1", "Ada Lovelace")
	triggers := make(chan string, 4)
	bot(t, api, func(c *socketmode.Client, evt socketmode.Event) {
		if evt.Type == socketmode.EventTypeSlashCommand {
			_ = c.Ack(*evt.Request)
			triggers <- evt.Data.(slack.SlashCommand).TriggerID
		}
	})
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	modal := slack.ModalViewRequest{
		Type:       slack.VTModal,
		Title:      slack.NewTextBlockObject("plain_text", "Declare incident", false, false),
		Submit:     slack.NewTextBlockObject("plain_text", "Declare", false, false),
		CallbackID: "declare",
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock("title", slack.NewTextBlockObject("plain_text", "Title", false, false), nil,
				slack.NewPlainTextInputBlockElement(nil, "title")),
		}},
	}
	command := func() string {
		if _, err := fake.SlashCommand(ctx, fakeslack.SlashCommand{UserID: "U1", ChannelID: "C1"}); err != nil {
			t.Fatal(err)
		}
		return <-triggers
	}

	trig := command()
	resp, err := api.OpenViewContext(ctx, trig, modal)
	if err != nil {
		t.Fatal(err)
	}
	if resp.View.ID == "" || resp.View.CallbackID != "declare" || resp.View.Hash == "" {
		t.Fatalf("view: %+v", resp.View)
	}
	if _, err := api.OpenViewContext(ctx, trig, modal); slackErr(t, err) != "exchanged_trigger_id" {
		t.Errorf("reused trigger: %v", err)
	}
	if _, err := api.OpenViewContext(ctx, "123.456.abc", modal); slackErr(t, err) != "invalid_trigger_id" {
		t.Errorf("unknown trigger: %v", err)
	}

	trig = command()
	clock.Advance(3*time.Second + time.Millisecond)
	if _, err := api.OpenViewContext(ctx, trig, modal); slackErr(t, err) != "expired_trigger_id" {
		t.Errorf("expired trigger: %v", err)
	}

	trig = command()
	noBlocks := modal
	noBlocks.Blocks = slack.Blocks{}
	if _, err := api.OpenViewContext(ctx, trig, noBlocks); slackErr(t, err) != "invalid_arguments" {
		t.Errorf(`"blocks":null: %v`, err)
	}
	long := modal
	long.Title = slack.NewTextBlockObject("plain_text", strings.Repeat("t", 25), false, false)
	_, err = api.OpenViewContext(ctx, trig, long)
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "invalid_arguments" || !strings.Contains(strings.Join(se.ResponseMetadata.Messages, " "), "/view/title/text") {
		t.Errorf("long title: %v %+v", err, se.ResponseMetadata)
	}
	// An invalid view does not spend the trigger.
	if _, err := api.OpenViewContext(ctx, trig, modal); err != nil {
		t.Errorf("valid view after invalid ones: %v", err)
	}

	views := fake.Views()
	if len(views) != 2 || views[0].User != "U1" || views[0].Title != "Declare incident" {
		t.Fatalf("views: %+v", views)
	}
	upd := modal
	upd.Title = slack.NewTextBlockObject("plain_text", "Updated", false, false)
	if _, err := api.UpdateViewContext(ctx, upd, "", "stale-hash", views[0].ID); slackErr(t, err) != "hash_conflict" {
		t.Errorf("stale hash: %v", err)
	}
	if _, err := api.UpdateViewContext(ctx, upd, "", views[0].Hash, views[0].ID); err != nil {
		t.Fatal(err)
	}
	if v := fake.Views()[0]; v.Title != "Updated" || v.Version != 2 {
		t.Fatalf("updated view: %+v", v)
	}
}

func TestResponseURLLimits(t *testing.T) {
	fake, api, clock := newFake(t, fakeslack.Options{})
	ctx := ctxT(t)
	fake.AddUser("U1", "Ada Lovelace")
	urls := make(chan string, 2)
	bot(t, api, func(c *socketmode.Client, evt socketmode.Event) {
		if evt.Type == socketmode.EventTypeSlashCommand {
			_ = c.Ack(*evt.Request)
			urls <- evt.Data.(slack.SlashCommand).ResponseURL
		}
	})
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	respond := func(u string) error {
		_, _, err := api.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(u, slack.ResponseTypeEphemeral), slack.MsgOptionText("ok", false))
		return err
	}
	if _, err := fake.SlashCommand(ctx, fakeslack.SlashCommand{UserID: "U1", ChannelID: "C1"}); err != nil {
		t.Fatal(err)
	}
	u := <-urls
	for i := range 5 {
		if err := respond(u); err != nil {
			t.Fatalf("use %d: %v", i+1, err)
		}
	}
	if err := respond(u); err == nil {
		t.Fatal("6th use accepted")
	}
	if posts := fake.ResponseURLPosts(); posts[5].Error != "used_url" || len(fake.Ephemerals("U1")) != 5 {
		t.Fatalf("posts: %+v", posts[5])
	}

	if _, err := fake.SlashCommand(ctx, fakeslack.SlashCommand{UserID: "U1", ChannelID: "C1"}); err != nil {
		t.Fatal(err)
	}
	u = <-urls
	clock.Advance(31 * time.Minute)
	if err := respond(u); err == nil {
		t.Fatal("expired response_url accepted")
	}
	if posts := fake.ResponseURLPosts(); posts[len(posts)-1].Error != "expired_url" {
		t.Fatalf("posts: %+v", posts[len(posts)-1])
	}
}

func TestReconnects(t *testing.T) {
	fake, api, _ := newFake(t, fakeslack.Options{PingInterval: 50 * time.Millisecond})
	ctx := ctxT(t)
	connected := make(chan struct{}, 8)
	bot(t, api, func(c *socketmode.Client, evt socketmode.Event) {
		switch evt.Type {
		case socketmode.EventTypeConnected:
			connected <- struct{}{}
		case socketmode.EventTypeEventsAPI:
			_ = c.Ack(*evt.Request)
		}
	})
	reconnected := func(total int) {
		t.Helper()
		err := fake.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
			return s.TotalConnections() == total && s.Connections() == 1
		})
		if err != nil {
			t.Fatalf("waiting for connection %d: %v", total, err)
		}
	}
	reconnected(1)
	fake.Disconnect("")
	reconnected(2)
	fake.DropConnection()
	reconnected(3)
	// Events flow on the new connection, and can be redelivered.
	ev := map[string]any{"type": "member_joined_channel", "user": "U1", "channel": "C1", "event_ts": "1.2"}
	ack, err := fake.EventsAPI(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if ack.Conn != 3 {
		t.Errorf("ack on connection %d", ack.Conn)
	}
	env := fake.Envelopes()[0]
	if _, err := fake.Send(ctx, fakeslack.Envelope{ID: env.ID, Type: env.Type, Payload: env.Payload, RetryAttempt: 1, RetryReason: "timeout"}); err != nil {
		t.Fatal(err)
	}
	if acks := fake.Acks(); len(acks) != 2 || acks[1].EnvelopeID != env.ID || !acks[1].Duplicate {
		t.Fatalf("acks: %+v", acks)
	}
	if n := len(connected); n < 3 {
		t.Errorf("client saw %d connections", n)
	}
}

func TestCloseWithClient(t *testing.T) {
	fake, api, _ := newFake(t, fakeslack.Options{})
	ctx := ctxT(t)
	bot(t, api, func(*socketmode.Client, socketmode.Event) {})
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	fake.Close() // must not hang with a live socket
	// Close waited for the fake's goroutines: none is left. A goroutine
	// that has signalled its WaitGroup can still be on its way out (seen
	// runnable at its deferred Done): it gets a moment to be gone, where a
	// leaked one stays.
	buf := make([]byte, 1<<20)
	leftover := func() string {
		stacks := string(buf[:runtime.Stack(buf, true)])
		if strings.Contains(stacks, "internal/fakeslack.(*Server)") || strings.Contains(stacks, "internal/fakeslack.New") {
			return stacks
		}
		return ""
	}
	for deadline := time.Now().Add(2 * time.Second); leftover() != "" && time.Now().Before(deadline); {
		runtime.Gosched()
	}
	if stacks := leftover(); stacks != "" {
		t.Fatalf("goroutines left after Close:\n%s", stacks)
	}
	if err := fake.WaitFor(ctx, func(*fakeslack.Snapshot) bool { return false }); !errors.Is(err, fakeslack.ErrClosed) {
		t.Fatalf("WaitFor after Close: %v", err)
	}
	if _, err := fake.SlashCommand(ctx, fakeslack.SlashCommand{UserID: "U1"}); !errors.Is(err, fakeslack.ErrClosed) {
		t.Fatalf("SlashCommand after Close: %v", err)
	}
}

// TestPermanentFaultAndHeldMethod: a method can fail every time with a given
// error (a workspace restricting channel creation), and another be held
// until the test releases it, with no real-time wait.
func TestPermanentFaultAndHeldMethod(t *testing.T) {
	release := make(chan struct{})
	fake, api, _ := newFake(t, fakeslack.Options{Fault: func(method string, n int) *fakeslack.Fault {
		switch method {
		case "conversations.create":
			return &fakeslack.Fault{Error: "restricted_action"}
		case "usergroups.users.list":
			return &fakeslack.Fault{Until: release}
		}
		return nil
	}})
	fake.AddUserGroup("S1", "oncall", "U1")
	ctx := ctxT(t)
	for i := range 3 {
		if _, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: fmt.Sprintf("c%d", i)}); slackErr(t, err) != "restricted_action" {
			t.Fatalf("create %d: %v", i+1, err)
		}
	}
	done := make(chan error, 1)
	go func() { _, err := api.GetUserGroupMembersContext(ctx, "S1"); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("the held call answered before its release: %v", err)
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ch := fake.AddChannel("", "arch", fakeslack.BotUserID)
	fake.ArchiveChannel(ch)
	if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("m", false)); slackErr(t, err) != "is_archived" {
		t.Fatalf("post in a channel archived by hand: %v", err)
	}
}
