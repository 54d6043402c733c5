package fakeslack

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// chat.* handlers. They run with s.mu held.

// content is the text and blocks of a message call, validated.
type content struct {
	text        string
	blocks      json.RawMessage // nil when absent or empty
	hasBlocks   bool            // "blocks" was sent (chat.update replaces then)
	attachments bool
}

// parsedContent is parseContent's answer, worked out before the server's
// lock is taken (serveAPI): it depends on the arguments alone, and checking
// the blocks under the lock made posts to different channels wait for each
// other, which Slack does not do.
type parsedContent struct {
	c   content
	res result
	ok  bool
}

func (s *Server) parseContent(a *args) (content, result, bool) {
	if a.content == nil {
		p := parseContent(a)
		a.content = &p
	}
	return a.content.c, a.content.res, a.content.ok
}

func parseContent(a *args) parsedContent {
	c, res, ok := parseContentArgs(a)
	return parsedContent{c, res, ok}
}

func parseContentArgs(a *args) (content, result, bool) {
	var c content
	c.text = cutText(a.str("text"))
	if a.has("blocks") {
		c.hasBlocks = true
		if raw := a.str("blocks"); raw != "" {
			code, msgs, n := checkBlocksJSON(raw, "/blocks")
			if code != "" {
				return c, fail(code, msgs...), false
			}
			if n > 0 {
				c.blocks = compactJSON(raw)
			}
		}
	}
	if att := strings.TrimSpace(a.str("attachments")); att != "" && att != "[]" && att != "null" {
		c.attachments = true
	}
	return c, result{}, true
}

func (c content) empty() bool { return c.text == "" && c.blocks == nil && !c.attachments }

// postTargetLocked resolves chat.postMessage's channel argument: an ID, a
// name or "#name", or a user ID, which means the bot's DM with that user.
func (s *Server) postTargetLocked(ref string) *channel {
	if u := s.users[ref]; u != nil && u.id != BotUserID {
		return s.imChannelLocked(u.id)
	}
	c := s.findChannelLocked(ref, true)
	if c == nil || (c.private && !c.isMember(BotUserID)) {
		return nil
	}
	return c
}

func messageJSON(m *message) map[string]any {
	out := map[string]any{"type": "message", "text": m.text, "user": m.user, "ts": m.ts, "team": TeamID}
	if m.user == BotUserID {
		out["bot_id"] = BotID
		out["app_id"] = AppID
	}
	if m.threadTS != "" {
		out["thread_ts"] = m.threadTS
	}
	if m.blocks != nil {
		out["blocks"] = m.blocks
	}
	if m.metadata != nil {
		out["metadata"] = m.metadata
	}
	if m.edited {
		out["edited"] = map[string]any{"user": BotUserID, "ts": m.editedTS}
	}
	return out
}

// threadRootLocked checks thread_ts and returns the thread's root ts.
// Replying to a reply puts the message in the same thread, as in Slack.
func threadRootLocked(c *channel, threadTS string) (string, bool) {
	if threadTS == "" {
		return "", true
	}
	parent := c.byTS[threadTS]
	if parent == nil {
		return "", false
	}
	if parent.threadTS != "" {
		return parent.threadTS, true
	}
	return parent.ts, true
}

func (s *Server) appendMessageLocked(c *channel, m *message) {
	c.messages = append(c.messages, m)
	c.byTS[m.ts] = m
}

func (s *Server) chatPostMessage(r *apiReq) result {
	ref := r.args.str("channel")
	if ref == "" {
		return fail("channel_not_found")
	}
	c := s.postTargetLocked(ref)
	switch {
	case c == nil:
		return fail("channel_not_found")
	case c.archived:
		return fail("is_archived")
	case !c.isMember(BotUserID):
		return fail("not_in_channel")
	}
	ct, res, ok := s.parseContent(r.args)
	if !ok {
		return res
	}
	if ct.empty() {
		return fail("no_text")
	}
	root, ok := threadRootLocked(c, r.args.str("thread_ts"))
	if !ok {
		return fail("thread_not_found")
	}
	m := &message{
		channel: c.id, ts: s.nextTS(), threadTS: root, user: BotUserID, text: ct.text,
		blocks: ct.blocks, replyBroadcast: r.args.boolean("reply_broadcast"), source: "chat.postMessage",
	}
	md, warn := parseMetadata(r.args)
	m.metadata = md
	s.appendMessageLocked(c, m)
	return withWarning(okr(map[string]any{"channel": c.id, "ts": m.ts, "message": messageJSON(m)}), warn)
}

// eventTypeRe is what Slack takes as a metadata event_type: letters,
// digits, underscores and hyphens.
var eventTypeRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// parseMetadata reads the metadata argument ({event_type, event_payload},
// as JSON) the way Slack does: metadata with an invalid event_type or a
// payload that is not an object is dropped with the invalid_metadata_schema
// warning (the message is still posted); nil when none was sent.
func parseMetadata(a *args) (json.RawMessage, string) {
	raw := a.str("metadata")
	if raw == "" {
		return nil, ""
	}
	var md struct {
		EventType    string          `json:"event_type"`
		EventPayload json.RawMessage `json:"event_payload"`
	}
	if err := json.Unmarshal([]byte(raw), &md); err != nil {
		return nil, "invalid_metadata_format"
	}
	var payload map[string]json.RawMessage
	if !eventTypeRe.MatchString(md.EventType) || json.Unmarshal(md.EventPayload, &payload) != nil || payload == nil {
		return nil, "invalid_metadata_schema"
	}
	out, _ := json.Marshal(map[string]any{"event_type": md.EventType, "event_payload": payload})
	return out, ""
}

// withWarning adds a warning to an ok answer, as Slack does (warning and
// response_metadata.warnings).
func withWarning(res result, warn string) result {
	if warn != "" && res.body != nil {
		res.body["warning"] = warn
		res.body["response_metadata"] = map[string]any{"warnings": []string{warn}}
	}
	return res
}

func (s *Server) chatUpdate(r *apiReq) result {
	c := s.visibleChannelLocked(r.args.str("channel"))
	if c == nil {
		return fail("channel_not_found")
	}
	ts := r.args.str("ts")
	if ts == "" {
		return fail("invalid_arguments", "[ERROR] missing required field: ts")
	}
	m := c.byTS[ts]
	switch {
	case m == nil:
		return fail("message_not_found")
	case m.user != BotUserID:
		return fail("cant_update_message")
	case c.archived:
		return fail("is_archived")
	}
	ct, res, ok := s.parseContent(r.args)
	if !ok {
		return res
	}
	// Slack keeps the blocks when the update does not send any, and the text
	// when it sends none.
	text, blocks := m.text, m.blocks
	if r.args.has("text") {
		text = ct.text
	}
	if ct.hasBlocks {
		blocks = ct.blocks
	}
	if text == "" && blocks == nil && !ct.attachments {
		return fail("no_text")
	}
	m.text, m.blocks, m.edited, m.editedTS = text, blocks, true, s.nextTS()
	// Metadata sent with an update replaces the message's; none keeps it.
	md, warn := parseMetadata(r.args)
	if md != nil {
		m.metadata = md
	}
	return withWarning(okr(map[string]any{"channel": c.id, "ts": m.ts, "text": m.text, "message": messageJSON(m)}), warn)
}

func (s *Server) chatPostEphemeral(r *apiReq) result {
	ref := r.args.str("channel")
	c := s.postTargetLocked(ref)
	if ref == "" || c == nil {
		return fail("channel_not_found")
	}
	uid := r.args.str("user")
	switch {
	case uid == "" || s.users[uid] == nil:
		return fail("user_not_found")
	case c.archived:
		return fail("is_archived")
	case !c.isMember(uid):
		return fail("user_not_in_channel")
	}
	ct, res, ok := s.parseContent(r.args)
	if !ok {
		return res
	}
	if ct.empty() {
		return fail("no_text")
	}
	m := &message{
		channel: c.id, ts: s.nextTS(), threadTS: r.args.str("thread_ts"), user: BotUserID,
		text: ct.text, blocks: ct.blocks, ephemeral: true, ephemeralUser: uid, source: "chat.postEphemeral",
	}
	s.ephemerals = append(s.ephemerals, m)
	return okr(map[string]any{"message_ts": m.ts})
}

// permalink builds a message link the way Slack does: the ts without its
// dot, and the thread for a reply.
func permalink(channelID string, m *message) string {
	u := fmt.Sprintf("https://%s.slack.com/archives/%s/p%s", TeamDomain, channelID, strings.ReplaceAll(m.ts, ".", ""))
	if m.threadTS != "" && m.threadTS != m.ts {
		u += fmt.Sprintf("?thread_ts=%s&cid=%s", m.threadTS, channelID)
	}
	return u
}

func (s *Server) chatGetPermalink(r *apiReq) result {
	c := s.visibleChannelLocked(r.args.str("channel"))
	if c == nil {
		return fail("channel_not_found")
	}
	m := c.byTS[r.args.str("message_ts")]
	if m == nil {
		return fail("message_not_found")
	}
	return okr(map[string]any{"channel": c.id, "permalink": permalink(c.id, m)})
}

func (s *Server) chatDelete(r *apiReq) result {
	c := s.visibleChannelLocked(r.args.str("channel"))
	if c == nil {
		return fail("channel_not_found")
	}
	ts := r.args.str("ts")
	m := c.byTS[ts]
	switch {
	case m == nil:
		return fail("message_not_found")
	case m.user != BotUserID:
		return fail("cant_delete_message")
	}
	s.deleteMessageLocked(c, ts)
	return okr(map[string]any{"channel": c.id, "ts": ts})
}

func (s *Server) deleteMessageLocked(c *channel, ts string) {
	delete(c.byTS, ts)
	for i, m := range c.messages {
		if m.ts == ts {
			c.messages = append(c.messages[:i], c.messages[i+1:]...)
			break
		}
	}
	for i, p := range c.pins {
		if p == ts {
			c.pins = append(c.pins[:i], c.pins[i+1:]...)
			break
		}
	}
}
