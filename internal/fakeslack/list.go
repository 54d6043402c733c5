package fakeslack

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// conversationsList answers conversations.list: channels in creation order,
// filtered by types and exclude_archived, paginated with an opaque cursor like
// Slack's (limit defaults to 100, at most 1000). Private channels are listed
// only when the bot is a member, as Slack does for a bot token.
func (s *Server) conversationsList(r *apiReq) result { return s.listConversations(r, nil) }

// usersConversations answers users.conversations: like conversations.list,
// only the channels the user (default: the bot) is a member of.
func (s *Server) usersConversations(r *apiReq) result {
	user := r.args.str("user")
	if user == "" {
		user = BotUserID
	}
	if s.users[user] == nil && user != BotUserID {
		return fail("user_not_found")
	}
	return s.listConversations(r, func(c *channel) bool { return c.isMember(user) })
}

func (s *Server) listConversations(r *apiReq, keep func(*channel) bool) result {
	types := map[string]bool{}
	for _, t := range strings.Split(r.args.str("types"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			types[t] = true
		}
	}
	if len(types) == 0 {
		types["public_channel"] = true
	}
	for t := range types {
		switch t {
		case "public_channel", "private_channel", "im", "mpim":
		default:
			return fail("invalid_types")
		}
	}
	limit := 100
	if v := r.args.str("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fail("invalid_limit")
		}
		limit = min(n, 1000)
	}
	start := 0
	if c := r.args.str("cursor"); c != "" {
		b, err := base64.StdEncoding.DecodeString(c)
		if err != nil || !strings.HasPrefix(string(b), "offset:") {
			return fail("invalid_cursor")
		}
		if start, err = strconv.Atoi(strings.TrimPrefix(string(b), "offset:")); err != nil || start < 0 {
			return fail("invalid_cursor")
		}
	}
	exclArchived := r.args.boolean("exclude_archived")
	var matched []*channel
	for _, id := range s.channelOrder {
		c := s.channels[id]
		switch {
		case c.im:
			if !types["im"] {
				continue
			}
		case c.private:
			if !types["private_channel"] || !c.isMember(BotUserID) {
				continue
			}
		default:
			if !types["public_channel"] {
				continue
			}
		}
		if exclArchived && c.archived {
			continue
		}
		if keep != nil && !keep(c) {
			continue
		}
		matched = append(matched, c)
	}
	out := []map[string]any{}
	end := min(start+limit, len(matched))
	for i := start; i < end; i++ {
		out = append(out, s.channelJSON(matched[i], false))
	}
	next := ""
	if end < len(matched) {
		next = base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end)))
	}
	return okr(map[string]any{"channels": out, "response_metadata": map[string]any{"next_cursor": next}})
}
