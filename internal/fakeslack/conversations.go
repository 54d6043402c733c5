package fakeslack

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// conversations.*, bookmarks.* and pins.* handlers. They run with s.mu held.

// Slack's limits on channel names, topics and purposes.
const (
	maxChannelName = 80
	maxTopic       = 250
	maxPurpose     = 250
	maxInviteUsers = 1000
)

// checkChannelName applies Slack's naming rules: at most 80 characters,
// lower-case letters, digits, hyphens and underscores, not only punctuation.
func checkChannelName(name string) string {
	if name == "" {
		return "invalid_name_required"
	}
	if runes(name) > maxChannelName {
		return "invalid_name_maxlength"
	}
	letters := 0
	for _, r := range name {
		switch {
		case r == '-' || r == '_':
		case unicode.IsDigit(r), unicode.IsLetter(r) && !unicode.IsUpper(r):
			letters++
		default:
			return "invalid_name_specials"
		}
	}
	if letters == 0 {
		return "invalid_name_punctuation"
	}
	return ""
}

// channelJSON renders a conversation object. created and last_set are
// integers, as slack-go's JSONTime needs.
func (s *Server) channelJSON(c *channel, numMembers bool) map[string]any {
	if c.im {
		return map[string]any{
			"id": c.id, "created": c.created.Unix(), "is_im": true, "is_org_shared": false,
			"user": c.imUser, "is_user_deleted": false, "priority": 0, "is_open": true,
		}
	}
	topicSet, purposeSet := int64(0), int64(0)
	if !c.topicSet.IsZero() {
		topicSet = c.topicSet.Unix()
	}
	if !c.purposeSet.IsZero() {
		purposeSet = c.purposeSet.Unix()
	}
	creatorOf := func(v string) string {
		if v == "" {
			return ""
		}
		return BotUserID
	}
	prev := c.previousNames
	if prev == nil {
		prev = []string{}
	}
	m := map[string]any{
		"id": c.id, "name": c.name, "name_normalized": c.name,
		"is_channel": true, "is_group": false, "is_im": false, "is_mpim": false,
		"is_private": c.private, "created": c.created.Unix(), "creator": c.creator,
		"is_archived": c.archived, "is_general": false, "unlinked": 0,
		"is_shared": false, "is_ext_shared": false, "is_org_shared": false,
		"is_pending_ext_shared": false, "is_member": c.isMember(BotUserID),
		"context_team_id": TeamID, "previous_names": prev,
		"topic":   map[string]any{"value": c.topic, "creator": creatorOf(c.topic), "last_set": topicSet},
		"purpose": map[string]any{"value": c.purpose, "creator": creatorOf(c.purpose), "last_set": purposeSet},
	}
	if numMembers {
		m["num_members"] = len(c.members)
	}
	return m
}

// visibleChannelLocked finds a channel by ID as the bot sees it: private
// channels the bot is not in do not exist for it.
func (s *Server) visibleChannelLocked(id string) *channel {
	c := s.channels[id]
	if c == nil || (c.private && !c.isMember(BotUserID)) {
		return nil
	}
	return c
}

// memberChannel finds a channel the bot must be a member of to change.
func (s *Server) memberChannel(a *args, field string) (*channel, result, bool) {
	c := s.visibleChannelLocked(a.str(field))
	if c == nil {
		return nil, fail("channel_not_found"), false
	}
	if c.archived {
		return nil, fail("is_archived"), false
	}
	if !c.isMember(BotUserID) {
		return nil, fail("not_in_channel"), false
	}
	return c, result{}, true
}

func (s *Server) nameTakenLocked(name string, except *channel) bool {
	for _, c := range s.channels {
		if c != except && !c.im && c.name == name {
			return true
		}
	}
	return false
}

func (s *Server) conversationsCreate(r *apiReq) result {
	name := r.args.str("name")
	if code := checkChannelName(name); code != "" {
		return fail(code)
	}
	if s.nameTakenLocked(name, nil) {
		return fail("name_taken")
	}
	c := s.newChannelLocked(s.nextID("C"), name, r.args.boolean("is_private"), BotUserID)
	c.addMember(BotUserID)
	return okr(map[string]any{"channel": s.channelJSON(c, false)})
}

func (s *Server) conversationsInfo(r *apiReq) result {
	c := s.visibleChannelLocked(r.args.str("channel"))
	if c == nil {
		return fail("channel_not_found")
	}
	return okr(map[string]any{"channel": s.channelJSON(c, r.args.boolean("include_num_members"))})
}

func (s *Server) conversationsSetTopic(r *apiReq) result {
	c, res, ok := s.memberChannel(r.args, "channel")
	if !ok {
		return res
	}
	topic := r.args.str("topic")
	if runes(topic) > maxTopic {
		return fail("too_long", fmt.Sprintf("[ERROR] topic must be at most %d characters", maxTopic))
	}
	c.topic, c.topicSet = topic, r.now
	return okr(map[string]any{"channel": s.channelJSON(c, false)})
}

func (s *Server) conversationsSetPurpose(r *apiReq) result {
	c, res, ok := s.memberChannel(r.args, "channel")
	if !ok {
		return res
	}
	purpose := r.args.str("purpose")
	if runes(purpose) > maxPurpose {
		return fail("too_long", fmt.Sprintf("[ERROR] purpose must be at most %d characters", maxPurpose))
	}
	c.purpose, c.purposeSet = purpose, r.now
	return okr(map[string]any{"channel": s.channelJSON(c, false)})
}

// conversationsInvite invites users. Without force, one bad user fails the
// whole call; with force the valid users are invited and the bad ones listed
// in "errors". Each error object carries user, ok and error, the shape
// slack-go's SlackResponseErrors can decode.
func (s *Server) conversationsInvite(r *apiReq) result {
	c, res, ok := s.memberChannel(r.args, "channel")
	if !ok {
		return res
	}
	var ids []string
	for _, u := range strings.Split(r.args.str("users"), ",") {
		if u = strings.TrimSpace(u); u != "" {
			ids = append(ids, u)
		}
	}
	if len(ids) == 0 {
		return fail("no_user")
	}
	if len(ids) > maxInviteUsers {
		return fail("too_many_users")
	}
	force := r.args.boolean("force")
	var errs []map[string]any
	var invite []string
	already := 0
	for _, id := range ids {
		code := ""
		switch {
		case id == BotUserID:
			code = "cant_invite_self"
		case s.users[id] == nil:
			code = "user_not_found"
		case c.isMember(id):
			already++
			continue
		}
		if code != "" {
			errs = append(errs, map[string]any{"user": id, "ok": false, "error": code})
			continue
		}
		invite = append(invite, id)
	}
	if len(errs) > 0 && (!force || len(invite) == 0) {
		return result{err: errs[0]["error"].(string), extra: map[string]any{"errors": errs}}
	}
	if len(invite) == 0 && already > 0 {
		return fail("already_in_channel")
	}
	for _, id := range invite {
		c.addMember(id)
	}
	body := map[string]any{"channel": s.channelJSON(c, false)}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	return okr(body)
}

func (s *Server) conversationsRename(r *apiReq) result {
	c, res, ok := s.memberChannel(r.args, "channel")
	if !ok {
		return res
	}
	name := r.args.str("name")
	if code := checkChannelName(name); code != "" {
		return fail(code)
	}
	if s.nameTakenLocked(name, c) {
		return fail("name_taken")
	}
	if name != c.name {
		c.previousNames = append([]string{c.name}, c.previousNames...)
		c.name = name
	}
	return okr(map[string]any{"channel": s.channelJSON(c, false)})
}

func (s *Server) conversationsArchive(r *apiReq) result {
	c := s.visibleChannelLocked(r.args.str("channel"))
	switch {
	case c == nil:
		return fail("channel_not_found")
	case c.archived:
		return fail("already_archived")
	case c.im:
		return fail("method_not_supported_for_channel_type")
	case !c.isMember(BotUserID):
		return fail("not_in_channel")
	}
	c.archived = true
	return okr(nil)
}

// conversationsMembers pages through the members with an opaque cursor, as
// Slack does (limit defaults to 100, at most 1000).
func (s *Server) conversationsMembers(r *apiReq) result {
	c := s.visibleChannelLocked(r.args.str("channel"))
	if c == nil {
		return fail("channel_not_found")
	}
	limit := 100
	if l, err := strconv.Atoi(r.args.str("limit")); err == nil && l > 0 {
		limit = min(l, 1000)
	}
	start := 0
	if cur := r.args.str("cursor"); cur != "" {
		b, err := base64.StdEncoding.DecodeString(cur)
		if err != nil || !strings.HasPrefix(string(b), "offset:") {
			return fail("invalid_cursor")
		}
		start, _ = strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
		start = min(max(start, 0), len(c.members))
	}
	end := min(start+limit, len(c.members))
	next := ""
	if end < len(c.members) {
		next = base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end)))
	}
	return okr(map[string]any{
		"members":           append([]string{}, c.members[start:end]...),
		"response_metadata": map[string]any{"next_cursor": next},
	})
}

func (s *Server) conversationsJoin(r *apiReq) result {
	c := s.visibleChannelLocked(r.args.str("channel"))
	switch {
	case c == nil:
		return fail("channel_not_found")
	case c.archived:
		return fail("is_archived")
	case c.im || c.private:
		return fail("method_not_supported_for_channel_type")
	}
	body := map[string]any{}
	if c.isMember(BotUserID) {
		body["warning"] = "already_in_channel"
		body["response_metadata"] = map[string]any{"warnings": []string{"already_in_channel"}}
	}
	c.addMember(BotUserID)
	body["channel"] = s.channelJSON(c, false)
	return okr(body)
}

// conversationsOpen opens (or finds) the bot's DM with one user.
func (s *Server) conversationsOpen(r *apiReq) result {
	if id := r.args.str("channel"); id != "" {
		c := s.visibleChannelLocked(id)
		if c == nil {
			return fail("channel_not_found")
		}
		return okr(map[string]any{"channel": s.channelJSON(c, false), "no_op": true, "already_open": true})
	}
	users := strings.Split(r.args.str("users"), ",")
	if len(users) != 1 || users[0] == "" {
		return fail("users_list_not_supplied")
	}
	if s.users[users[0]] == nil {
		return fail("user_not_found")
	}
	_, existed := s.channels[dmID(users[0])]
	c := s.imChannelLocked(users[0])
	return okr(map[string]any{"channel": s.channelJSON(c, false), "no_op": existed, "already_open": existed})
}

func bookmarkJSON(b Bookmark) map[string]any {
	return map[string]any{
		"id": b.ID, "channel_id": b.ChannelID, "title": b.Title, "link": b.Link,
		"emoji": b.Emoji, "icon_url": "", "type": b.Type,
		"date_created": b.Created.Unix(), "date_updated": 0, "rank": "U",
		"last_updated_by_user_id": BotUserID, "last_updated_by_team_id": TeamID,
		"shortcut_id": "", "entity_id": "", "app_id": AppID,
	}
}

func (s *Server) bookmarksAdd(r *apiReq) result {
	c, res, ok := s.memberChannel(r.args, "channel_id")
	if !ok {
		return res
	}
	title, typ, link := r.args.str("title"), r.args.str("type"), r.args.str("link")
	switch {
	case title == "":
		return fail("invalid_arguments", "[ERROR] missing required field: title")
	case typ == "":
		return fail("invalid_arguments", "[ERROR] missing required field: type")
	case typ != "link":
		return fail("invalid_bookmark_type")
	case link == "":
		return fail("invalid_arguments", "[ERROR] missing required field: link")
	}
	if u, err := url.Parse(link); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fail("invalid_link")
	}
	b := Bookmark{
		ID: s.nextID("Bk"), ChannelID: c.id, Title: title, Link: link, Type: typ,
		Emoji: r.args.str("emoji"), Created: r.now,
	}
	c.bookmarks = append(c.bookmarks, b)
	return okr(map[string]any{"bookmark": bookmarkJSON(b)})
}

func (s *Server) bookmarksList(r *apiReq) result {
	c := s.visibleChannelLocked(r.args.str("channel_id"))
	if c == nil {
		return fail("channel_not_found")
	}
	out := []map[string]any{}
	for _, b := range c.bookmarks {
		out = append(out, bookmarkJSON(b))
	}
	return okr(map[string]any{"bookmarks": out})
}

func (s *Server) pinsAdd(r *apiReq) result {
	c, res, ok := s.memberChannel(r.args, "channel")
	if !ok {
		return res
	}
	ts := r.args.str("timestamp")
	if ts == "" {
		return fail("no_item_specified")
	}
	if c.byTS[ts] == nil {
		return fail("message_not_found")
	}
	for _, p := range c.pins {
		if p == ts {
			return fail("already_pinned")
		}
	}
	c.pins = append(c.pins, ts)
	return okr(nil)
}

// compactJSON returns raw without insignificant spaces, or raw itself when
// it is not JSON.
func compactJSON(raw string) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(raw)); err != nil {
		return json.RawMessage(raw)
	}
	return json.RawMessage(b.Bytes())
}
