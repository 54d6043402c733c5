package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/slack-go/slack"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
)

// Driver acts as people in the fake workspace: it types slash commands,
// clicks buttons and submits forms, each as one Socket Mode envelope that
// the bot must ack, exactly as Slack delivers them. The script and the
// playground both act through it.
type Driver struct {
	W *Workspace
	// Settle waits until the bot has finished the work of every envelope
	// acked so far (bot.Bot.Wait); nil does not wait.
	Settle func()
	// Command is the slash command, "/incident" by default.
	Command string
	// ResolvedInPagerDuty reports whether the demo incident's timeline
	// records that Klaxon resolved its PagerDuty incident: work the
	// scheduler does on its own, which the script lets finish before it
	// moves the clock.
	ResolvedInPagerDuty func() bool

	actions atomic.Int64
}

func (d *Driver) settle() {
	if d.Settle != nil {
		d.Settle()
	}
}

// Slash types "/incident text" as user in channel and returns the ack's
// text (what Slack shows the user at once).
func (d *Driver) Slash(ctx context.Context, user, channel, text string) (string, error) {
	cmd := d.Command
	if cmd == "" {
		cmd = "/incident"
	}
	ack, err := d.W.Slack.SlashCommand(ctx, fakeslack.SlashCommand{Command: cmd, Text: text, UserID: user, ChannelID: channel})
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", cmd, text, err)
	}
	d.settle()
	return ackText(ack.Payload), nil
}

func ackText(raw json.RawMessage) string {
	var m struct {
		Text string `json:"text"`
	}
	_ = json.Unmarshal(raw, &m)
	return m.Text
}

// Click presses a button of a message, as user.
func (d *Driver) Click(ctx context.Context, user, channel, messageTS string, b Button) error {
	if b.URL != "" && b.ActionID == "" {
		return nil // a link: Slack opens it in a browser, the app hears nothing
	}
	n := d.actions.Add(1)
	cb := slack.InteractionCallback{
		Type: slack.InteractionTypeBlockActions, User: slack.User{ID: user},
		Channel:   slack.Channel{GroupConversation: slack.GroupConversation{Conversation: slack.Conversation{ID: channel}}},
		Container: slack.Container{Type: "message", ChannelID: channel, MessageTs: messageTS},
		ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{
			ActionID: b.ActionID, BlockID: b.BlockID, Value: b.Value, Type: "button",
			Text:     slack.TextBlockObject{Type: slack.PlainTextType, Text: b.Text},
			ActionTs: fmt.Sprintf("%d.%06d", d.W.Clock.Now().Unix(), n%1000000),
		}}},
	}
	if _, err := d.W.Slack.Interactive(ctx, cb); err != nil {
		return fmt.Errorf("clicking %q: %w", b.Text, err)
	}
	d.settle()
	return nil
}

// ClickWhere finds, in channel, the newest message with a button that
// match accepts, and clicks it.
func (d *Driver) ClickWhere(ctx context.Context, user, channel string, match func(text string, b Button) bool) error {
	msgs := d.W.Slack.Messages(channel)
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, bl := range ParseBlocks(msgs[i].Blocks) {
			for _, b := range bl.Buttons {
				if match(bl.Text, b) {
					return d.Click(ctx, user, channel, msgs[i].TS, b)
				}
			}
		}
	}
	return fmt.Errorf("no such button in %s", d.W.Names().Readable("<#"+channel+">"))
}

// OpenView is the newest form open for user, if any.
func (d *Driver) OpenView(user string, done func(id string) bool) (fakeslack.View, bool) {
	views := d.W.Slack.Views()
	for i := len(views) - 1; i >= 0; i-- {
		v := views[i]
		if v.User == user && v.Type == "modal" && (done == nil || !done(v.ID)) {
			return v, true
		}
	}
	return fakeslack.View{}, false
}

// Submit submits form v as user with values by block ID (an input left
// out keeps its initial value). It returns the field errors the bot
// answered with, by block ID (none when the form was accepted).
func (d *Driver) Submit(ctx context.Context, user string, v fakeslack.View, values map[string]string) (map[string]string, error) {
	state := map[string]map[string]slack.BlockAction{}
	for _, bl := range ParseBlocks(v.Blocks) {
		in := bl.Input
		if in == nil {
			continue
		}
		val, ok := values[in.BlockID]
		if !ok {
			val = in.Initial
		}
		a := slack.BlockAction{ActionID: in.ActionID, BlockID: in.BlockID, Type: slack.ActionType(in.Type)}
		switch in.Type {
		case "static_select", "external_select", "radio_buttons":
			if val != "" {
				a.SelectedOption = slack.OptionBlockObject{Value: val, Text: &slack.TextBlockObject{Type: slack.PlainTextType, Text: optionText(in, val)}}
			}
		case "users_select":
			a.SelectedUser = val
		case "conversations_select":
			a.SelectedConversation = val
		case "channels_select":
			a.SelectedChannel = val
		case "datepicker":
			a.SelectedDate = val
		case "checkboxes":
			for _, v := range strings.Split(val, ",") {
				if v != "" {
					a.SelectedOptions = append(a.SelectedOptions, slack.OptionBlockObject{Value: v, Text: &slack.TextBlockObject{Type: slack.PlainTextType, Text: optionText(in, v)}})
				}
			}
		default:
			a.Value = val
		}
		state[in.BlockID] = map[string]slack.BlockAction{in.ActionID: a}
	}
	cb := slack.InteractionCallback{Type: slack.InteractionTypeViewSubmission, User: slack.User{ID: user},
		View: slack.View{ID: v.ID, CallbackID: v.CallbackID, PrivateMetadata: v.PrivateMetadata, State: &slack.ViewState{Values: state}}}
	ack, err := d.W.Slack.Interactive(ctx, cb)
	if err != nil {
		return nil, fmt.Errorf("submitting %q: %w", v.Title, err)
	}
	d.settle()
	var answer struct {
		Action string            `json:"response_action"`
		Errors map[string]string `json:"errors"`
	}
	_ = json.Unmarshal(ack.Payload, &answer)
	if answer.Action == "errors" {
		return answer.Errors, nil
	}
	return nil, nil
}

func optionText(in *Input, value string) string {
	for _, o := range in.Options {
		if o.Value == value {
			return o.Text
		}
	}
	return value
}
