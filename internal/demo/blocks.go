package demo

import (
	"encoding/json"
	"strings"
)

// Block is one Block Kit block reduced to what a person sees and can do:
// its text, its fields, its buttons, or the input it asks for. The
// transcript prints it, the playground renders it, and the script clicks
// its buttons and fills its inputs, all from what the bot really sent.
type Block struct {
	Type    string // section, header, context, actions, divider, input, image, …
	BlockID string
	Text    string   // Slack mrkdwn or plain text, as sent
	Fields  []string // a section's fields
	Buttons []Button // a section's accessory or an actions block's buttons
	Input   *Input   // an input block (forms)
}

// Button is a clickable element: a button, or a link button (URL set).
type Button struct {
	Text, ActionID, BlockID, Value, Style, URL string
}

// Input is one question of a form.
type Input struct {
	Label, BlockID, ActionID string
	// Type is the element's: plain_text_input, static_select,
	// users_select, datepicker, checkboxes, …
	Type        string
	Multiline   bool
	Optional    bool
	Placeholder string
	Initial     string // initial value or initial option's value
	Options     []Option
}

// Option is a choice of a select or checkbox group.
type Option struct{ Text, Value string }

type rawText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type rawOption struct {
	Text  rawText `json:"text"`
	Value string  `json:"value"`
}

type rawElement struct {
	Type          string      `json:"type"`
	Text          *rawText    `json:"text"`
	ActionID      string      `json:"action_id"`
	Value         string      `json:"value"`
	Style         string      `json:"style"`
	URL           string      `json:"url"`
	Placeholder   *rawText    `json:"placeholder"`
	Multiline     bool        `json:"multiline"`
	InitialValue  string      `json:"initial_value"`
	InitialDate   string      `json:"initial_date"`
	InitialUser   string      `json:"initial_user"`
	InitialOption *rawOption  `json:"initial_option"`
	Options       []rawOption `json:"options"`
	// context elements are text objects or images
	AltText string `json:"alt_text"`
}

type rawBlock struct {
	Type      string            `json:"type"`
	BlockID   string            `json:"block_id"`
	Text      *rawText          `json:"text"`
	Fields    []rawText         `json:"fields"`
	Accessory *rawElement       `json:"accessory"`
	Elements  []json.RawMessage `json:"elements"`
	Label     *rawText          `json:"label"`
	Element   *rawElement       `json:"element"`
	Optional  bool              `json:"optional"`
	Title     *rawText          `json:"title"`
	AltText   string            `json:"alt_text"`
}

// ParseBlocks reads a blocks array as Slack stores it. Blocks it cannot read
// are skipped: the fake Slack has already validated them.
func ParseBlocks(raw json.RawMessage) []Block {
	if len(raw) == 0 {
		return nil
	}
	var rbs []rawBlock
	if err := json.Unmarshal(raw, &rbs); err != nil {
		return nil
	}
	out := make([]Block, 0, len(rbs))
	for _, rb := range rbs {
		b := Block{Type: rb.Type, BlockID: rb.BlockID}
		if rb.Text != nil {
			b.Text = rb.Text.Text
		}
		for _, f := range rb.Fields {
			b.Fields = append(b.Fields, f.Text)
		}
		if rb.Accessory != nil && isButton(rb.Accessory) {
			b.Buttons = append(b.Buttons, button(rb.Accessory, rb.BlockID))
		}
		switch rb.Type {
		case "context":
			var parts []string
			for _, e := range rb.Elements {
				if t := textOf(e); t != "" {
					parts = append(parts, t)
					continue
				}
				var el rawElement
				if json.Unmarshal(e, &el) == nil && el.Type == "image" {
					parts = append(parts, el.AltText)
				}
			}
			b.Text = strings.Join(parts, "  ·  ")
		case "actions":
			for _, e := range rb.Elements {
				var el rawElement
				if json.Unmarshal(e, &el) == nil && isButton(&el) {
					b.Buttons = append(b.Buttons, button(&el, rb.BlockID))
				}
			}
		case "input":
			if rb.Element != nil {
				b.Input = input(rb)
			}
		case "image":
			if rb.Title != nil {
				b.Text = rb.Title.Text
			} else {
				b.Text = rb.AltText
			}
		case "rich_text":
			b.Text = richText(rb.Elements)
		}
		out = append(out, b)
	}
	return out
}

func isButton(e *rawElement) bool { return e.Type == "button" }

func button(e *rawElement, blockID string) Button {
	b := Button{ActionID: e.ActionID, BlockID: blockID, Value: e.Value, Style: e.Style, URL: e.URL}
	if e.Text != nil {
		b.Text = e.Text.Text
	}
	return b
}

func input(rb rawBlock) *Input {
	e := rb.Element
	in := &Input{BlockID: rb.BlockID, ActionID: e.ActionID, Type: e.Type, Multiline: e.Multiline, Optional: rb.Optional}
	if rb.Label != nil {
		in.Label = rb.Label.Text
	}
	if e.Placeholder != nil {
		in.Placeholder = e.Placeholder.Text
	}
	switch {
	case e.InitialValue != "":
		in.Initial = e.InitialValue
	case e.InitialDate != "":
		in.Initial = e.InitialDate
	case e.InitialUser != "":
		in.Initial = e.InitialUser
	case e.InitialOption != nil:
		in.Initial = e.InitialOption.Value
	}
	for _, o := range e.Options {
		in.Options = append(in.Options, Option{Text: o.Text.Text, Value: o.Value})
	}
	return in
}

func textOf(raw json.RawMessage) string {
	var t rawText
	if json.Unmarshal(raw, &t) == nil && (t.Type == "mrkdwn" || t.Type == "plain_text") {
		return t.Text
	}
	return ""
}

// richText flattens a rich_text block's text runs (Slack sends these for
// messages people type in its client).
func richText(elems []json.RawMessage) string {
	var sb strings.Builder
	var walk func(raw json.RawMessage)
	walk = func(raw json.RawMessage) {
		var n struct {
			Type     string            `json:"type"`
			Text     string            `json:"text"`
			UserID   string            `json:"user_id"`
			Elements []json.RawMessage `json:"elements"`
		}
		if json.Unmarshal(raw, &n) != nil {
			return
		}
		switch n.Type {
		case "text":
			sb.WriteString(n.Text)
		case "user":
			sb.WriteString("<@" + n.UserID + ">")
		}
		for _, e := range n.Elements {
			walk(e)
		}
	}
	for _, e := range elems {
		walk(e)
	}
	return sb.String()
}
