package fakeslack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Block Kit validation, with Slack's documented limits. Slack rejects a
// payload that breaks any of them with invalid_blocks (messages) or
// invalid_arguments (views), listing the problems in
// response_metadata.messages as "[ERROR] <what> [json-pointer:<where>]"; the
// fake writes its messages the same way, naming the rule that was broken.

// maxMessageText is where Slack cuts a message's top-level text.
const maxMessageText = 40000

type surface int

const (
	surfaceMessage surface = iota
	surfaceModal
	surfaceHome
)

func (s surface) maxBlocks() int {
	if s == surfaceMessage {
		return 50
	}
	return 100
}

// blockChecker collects violations while walking decoded JSON.
type blockChecker struct {
	surface  surface
	errs     []string
	blockIDs map[string]bool
	inputs   int // input blocks seen (a modal with any needs a submit button)
}

func newBlockChecker(s surface) *blockChecker {
	return &blockChecker{surface: s, blockIDs: map[string]bool{}}
}

func (c *blockChecker) errf(path, format string, args ...any) {
	// Keep the answer readable when a payload is badly wrong.
	if len(c.errs) >= 20 {
		return
	}
	c.errs = append(c.errs, fmt.Sprintf("[ERROR] "+format+" [json-pointer:%s]", append(args, path)...))
}

// decodeJSON decodes with UseNumber so numbers survive untouched.
func decodeJSON(raw []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// checkBlocksJSON validates a JSON array of blocks sent to a message
// surface. It returns Slack's error code and messages, or "" when the blocks
// are fine. An empty array is fine (the caller decides about no_text).
func checkBlocksJSON(raw string, path string) (code string, msgs []string, count int) {
	v, err := decodeJSON([]byte(raw))
	if err != nil {
		return "invalid_blocks_format", []string{"[ERROR] blocks is not valid JSON: " + err.Error()}, 0
	}
	arr, ok := v.([]any)
	if !ok {
		if v == nil {
			return "", nil, 0
		}
		return "invalid_blocks_format", []string{"[ERROR] blocks must be an array [json-pointer:" + path + "]"}, 0
	}
	c := newBlockChecker(surfaceMessage)
	c.blocks(arr, path)
	if len(c.errs) > 0 {
		return "invalid_blocks", c.errs, len(arr)
	}
	return "", nil, len(arr)
}

func runes(s string) int { return utf8.RuneCountInString(s) }

// cutText cuts a message text at Slack's 40,000 characters.
func cutText(s string) string {
	if runes(s) <= maxMessageText {
		return s
	}
	r := []rune(s)
	return string(r[:maxMessageText])
}

func (c *blockChecker) blocks(arr []any, path string) {
	if max := c.surface.maxBlocks(); len(arr) > max {
		c.errf(path, "no more than %d items allowed (at most %d blocks)", max, max)
	}
	for i, b := range arr {
		c.block(b, fmt.Sprintf("%s/%d", path, i))
	}
}

// str returns m[k] as a string and whether it was present.
func str(m map[string]any, k string) (string, bool, bool) {
	v, present := m[k]
	if !present {
		return "", false, true
	}
	s, ok := v.(string)
	return s, true, ok
}

// maxStr checks an optional string field's type and length.
func (c *blockChecker) maxStr(m map[string]any, k, path string, max int, required bool, rule string) {
	s, present, ok := str(m, k)
	switch {
	case !present:
		if required {
			c.errf(path, "missing required field: %s", k)
		}
	case !ok:
		c.errf(path+"/"+k, "must be a string")
	case s == "" && required:
		c.errf(path+"/"+k, "must be more than 0 characters")
	case runes(s) > max:
		c.errf(path+"/"+k, "must be less than %d characters (%s max %d)", max+1, rule, max)
	}
}

// text checks a composition text object.
func (c *blockChecker) text(v any, path string, max int, plainOnly bool, rule string) {
	m, ok := v.(map[string]any)
	if !ok {
		c.errf(path, "must be a text object (%s)", rule)
		return
	}
	t, _, _ := str(m, "type")
	switch t {
	case "plain_text":
	case "mrkdwn":
		if plainOnly {
			c.errf(path+"/type", "must be plain_text (%s)", rule)
		}
	default:
		c.errf(path+"/type", "must be one of plain_text, mrkdwn (%s)", rule)
	}
	s, present, isStr := str(m, "text")
	switch {
	case !present:
		c.errf(path, "missing required field: text")
	case !isStr:
		c.errf(path+"/text", "must be a string")
	case s == "":
		c.errf(path+"/text", "must be more than 0 characters (%s)", rule)
	case runes(s) > max:
		c.errf(path+"/text", "must be less than %d characters (%s max %d)", max+1, rule, max)
	}
}

// optText checks an optional text object field.
func (c *blockChecker) optText(m map[string]any, k, path string, max int, plainOnly bool, rule string) {
	if v, ok := m[k]; ok && v != nil {
		c.text(v, path+"/"+k, max, plainOnly, rule)
	}
}

func (c *blockChecker) list(m map[string]any, k, path string, min, max int, required bool, rule string) []any {
	v, present := m[k]
	if !present || v == nil {
		if required {
			c.errf(path, "missing required field: %s", k)
		}
		return nil
	}
	arr, ok := v.([]any)
	if !ok {
		c.errf(path+"/"+k, "must be an array")
		return nil
	}
	if len(arr) < min {
		c.errf(path+"/"+k, "must provide at least %d items (%s)", min, rule)
	}
	if len(arr) > max {
		c.errf(path+"/"+k, "no more than %d items allowed (%s max %d)", max, rule, max)
	}
	return arr
}

// blockTypesUnchecked are block types Slack (and slack-go) know whose
// contents the fake does not inspect.
var blockTypesUnchecked = map[string]bool{
	"file": true, "video": true, "call": true, "table": true, "context_actions": true,
	"rich_text_input": true, "data_table": true, "data_visualization": true,
	"task_card": true, "alert": true, "auth_provider": true, "plan": true, "card": true,
	"carousel": true, "container": true, "layout": true,
}

func (c *blockChecker) block(v any, p string) {
	m, ok := v.(map[string]any)
	if !ok {
		c.errf(p, "must be an object")
		return
	}
	if bid, present, isStr := str(m, "block_id"); present {
		switch {
		case !isStr:
			c.errf(p+"/block_id", "must be a string")
		case bid == "":
			c.errf(p+"/block_id", "must be more than 0 characters")
		case runes(bid) > 255:
			c.errf(p+"/block_id", "must be less than 256 characters (block_id max 255)")
		case c.blockIDs[bid]:
			c.errf(p+"/block_id", "duplicate block_id %q (block_ids must be unique)", bid)
		default:
			c.blockIDs[bid] = true
		}
	}
	t, _, _ := str(m, "type")
	switch t {
	case "section":
		_, hasText := m["text"]
		_, hasFields := m["fields"]
		if !hasText && !hasFields {
			c.errf(p, "must provide either text or fields (section)")
		}
		c.optText(m, "text", p, 3000, false, "section text")
		for i, f := range c.list(m, "fields", p, 1, 10, false, "section fields") {
			c.text(f, fmt.Sprintf("%s/fields/%d", p, i), 2000, false, "section field")
		}
		if acc, ok := m["accessory"]; ok {
			c.element(acc, p+"/accessory", map[string]bool{}, false)
		}
	case "header":
		if _, ok := m["text"]; !ok {
			c.errf(p, "missing required field: text")
		}
		c.optText(m, "text", p, 150, true, "header text")
	case "divider":
	case "context":
		for i, e := range c.list(m, "elements", p, 1, 10, true, "context elements") {
			ep := fmt.Sprintf("%s/elements/%d", p, i)
			em, _ := e.(map[string]any)
			if et, _, _ := str(em, "type"); et == "image" {
				c.element(e, ep, map[string]bool{}, false)
			} else {
				c.text(e, ep, 3000, false, "context text")
			}
		}
	case "actions":
		ids := map[string]bool{}
		for i, e := range c.list(m, "elements", p, 1, 25, true, "actions elements") {
			c.element(e, fmt.Sprintf("%s/elements/%d", p, i), ids, false)
		}
	case "input":
		c.inputs++
		if c.surface == surfaceMessage {
			c.errf(p+"/type", "input blocks are only allowed in modals and Home tabs")
		}
		if _, ok := m["label"]; !ok {
			c.errf(p, "missing required field: label")
		}
		c.optText(m, "label", p, 2000, true, "input label")
		c.optText(m, "hint", p, 2000, true, "input hint")
		if el, ok := m["element"]; ok {
			c.element(el, p+"/element", map[string]bool{}, true)
		} else {
			c.errf(p, "missing required field: element")
		}
	case "image":
		c.image(m, p)
		c.optText(m, "title", p, 2000, true, "image title")
	case "rich_text":
		c.list(m, "elements", p, 0, 1<<30, true, "rich_text elements")
	case "markdown":
		c.maxStr(m, "text", p, 12000, true, "markdown text")
	case "":
		c.errf(p, "missing required field: type")
	default:
		if !blockTypesUnchecked[t] {
			c.errf(p+"/type", "unsupported block type %q", t)
		}
	}
}

func (c *blockChecker) image(m map[string]any, p string) {
	_, hasURL := m["image_url"]
	_, hasFile := m["slack_file"]
	if !hasURL && !hasFile {
		c.errf(p, "missing required field: image_url")
	}
	if hasURL {
		c.maxStr(m, "image_url", p, 3000, true, "image_url")
	}
	c.maxStr(m, "alt_text", p, 2000, true, "image alt_text")
}

// inputOnly are elements that only go in input blocks.
var inputOnly = map[string]bool{
	"plain_text_input": true, "email_text_input": true, "url_text_input": true,
	"number_input": true, "file_input": true, "rich_text_input": true,
}

var selectTypes = map[string]bool{
	"external_select": true, "multi_external_select": true,
	"users_select": true, "multi_users_select": true,
	"conversations_select": true, "multi_conversations_select": true,
	"channels_select": true, "multi_channels_select": true,
}

var otherElements = map[string]bool{
	"workflow_button": true, "feedback_buttons": true, "icon_button": true,
}

// element checks an interactive element. actionIDs collects the action_ids
// of the containing block, which must be unique there.
func (c *blockChecker) element(v any, p string, actionIDs map[string]bool, inInput bool) {
	m, ok := v.(map[string]any)
	if !ok {
		c.errf(p, "must be an object")
		return
	}
	if aid, present, isStr := str(m, "action_id"); present {
		switch {
		case !isStr:
			c.errf(p+"/action_id", "must be a string")
		case aid == "":
			c.errf(p+"/action_id", "must be more than 0 characters")
		case runes(aid) > 255:
			c.errf(p+"/action_id", "must be less than 256 characters (action_id max 255)")
		case actionIDs[aid]:
			c.errf(p+"/action_id", "duplicate action_id %q in block", aid)
		default:
			actionIDs[aid] = true
		}
	}
	t, _, _ := str(m, "type")
	if inputOnly[t] && !inInput {
		c.errf(p+"/type", "%s is only allowed in input blocks", t)
	}
	if cf, ok := m["confirm"].(map[string]any); ok {
		c.confirm(cf, p+"/confirm")
	}
	switch t {
	case "button":
		if _, ok := m["text"]; !ok {
			c.errf(p, "missing required field: text")
		}
		c.optText(m, "text", p, 75, true, "button text")
		c.maxStr(m, "value", p, 2000, false, "button value")
		c.maxStr(m, "url", p, 3000, false, "button url")
		if st, present, _ := str(m, "style"); present && st != "primary" && st != "danger" {
			c.errf(p+"/style", "must be one of primary, danger")
		}
	case "static_select", "multi_static_select":
		c.optText(m, "placeholder", p, 150, true, "select placeholder")
		_, hasOpts := m["options"]
		_, hasGroups := m["option_groups"]
		if !hasOpts && !hasGroups {
			c.errf(p, "missing required field: options")
		}
		for i, o := range c.list(m, "options", p, 1, 100, false, "static_select options") {
			c.option(o, fmt.Sprintf("%s/options/%d", p, i), true)
		}
		for i, g := range c.list(m, "option_groups", p, 1, 100, false, "static_select option_groups") {
			gp := fmt.Sprintf("%s/option_groups/%d", p, i)
			gm, ok := g.(map[string]any)
			if !ok {
				c.errf(gp, "must be an object")
				continue
			}
			c.optText(gm, "label", gp, 75, true, "option group label")
			for j, o := range c.list(gm, "options", gp, 1, 100, true, "option group options") {
				c.option(o, fmt.Sprintf("%s/options/%d", gp, j), true)
			}
		}
	case "overflow":
		for i, o := range c.list(m, "options", p, 1, 5, true, "overflow options") {
			c.option(o, fmt.Sprintf("%s/options/%d", p, i), true)
		}
	case "checkboxes":
		for i, o := range c.list(m, "options", p, 1, 10, true, "checkboxes options") {
			c.option(o, fmt.Sprintf("%s/options/%d", p, i), false)
		}
	case "radio_buttons":
		for i, o := range c.list(m, "options", p, 1, 10, true, "radio_buttons options") {
			c.option(o, fmt.Sprintf("%s/options/%d", p, i), false)
		}
	case "datepicker", "timepicker", "datetimepicker":
		c.optText(m, "placeholder", p, 150, true, "placeholder")
	case "plain_text_input":
		c.optText(m, "placeholder", p, 150, true, "placeholder")
		if n, ok := m["max_length"].(json.Number); ok {
			if k, err := n.Int64(); err != nil || k < 1 || k > 3000 {
				c.errf(p+"/max_length", "must be between 1 and 3000")
			}
		}
		c.maxStr(m, "initial_value", p, 3000, false, "initial_value")
	case "image":
		c.image(m, p)
	case "":
		c.errf(p, "missing required field: type")
	default:
		if selectTypes[t] || inputOnly[t] {
			c.optText(m, "placeholder", p, 150, true, "placeholder")
		} else if !otherElements[t] {
			c.errf(p+"/type", "unsupported element type %q", t)
		}
	}
}

// option checks an option object; select options must be plain_text.
func (c *blockChecker) option(v any, p string, plainOnly bool) {
	m, ok := v.(map[string]any)
	if !ok {
		c.errf(p, "must be an object")
		return
	}
	if _, ok := m["text"]; !ok {
		c.errf(p, "missing required field: text")
	}
	c.optText(m, "text", p, 75, plainOnly, "option text")
	c.maxStr(m, "value", p, 150, true, "option value")
	c.optText(m, "description", p, 75, true, "option description")
}

func (c *blockChecker) confirm(m map[string]any, p string) {
	for _, f := range []struct {
		k     string
		max   int
		plain bool
	}{{"title", 100, true}, {"text", 300, false}, {"confirm", 30, true}, {"deny", 30, true}} {
		if _, ok := m[f.k]; !ok && f.k != "deny" {
			c.errf(p, "missing required field: %s", f.k)
		}
		c.optText(m, f.k, p, f.max, f.plain, "confirm "+f.k)
	}
}
