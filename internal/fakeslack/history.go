package fakeslack

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
)

// conversations.history as Slack documents it: the channel's messages
// (thread replies only when broadcast), newest first, between oldest and
// latest (exclusive unless inclusive), limit per page (default 100, at most
// 999) with a cursor for the next; message metadata only with
// include_all_metadata.
func (s *Server) conversationsHistory(r *apiReq) result {
	c := s.visibleChannelLocked(r.args.str("channel"))
	if c == nil {
		return fail("channel_not_found")
	}
	if !c.isMember(BotUserID) {
		return fail("not_in_channel")
	}
	w, bad := readWindow(r, r.now.UnixMicro())
	if bad != "" {
		return fail(bad)
	}
	limit := 100
	if l, err := strconv.Atoi(r.args.str("limit")); err == nil && l > 0 {
		limit = min(l, 999)
	}
	// The cursor names the last ts given: the next page is older.
	if cur := r.args.str("cursor"); cur != "" {
		b, err := base64.StdEncoding.DecodeString(cur)
		before, ok := parseTSArg(strings.TrimPrefix(string(b), "before:"), 0)
		if err != nil || !strings.HasPrefix(string(b), "before:") || !ok {
			return fail("invalid_cursor")
		}
		w.latest, w.inclusive = before, false
	}
	withMetadata := r.args.boolean("include_all_metadata")
	var out []map[string]any
	more := false
	for i := len(c.messages) - 1; i >= 0; i-- {
		m := c.messages[i]
		if m.threadTS != "" && m.threadTS != m.ts && !m.replyBroadcast {
			continue
		}
		if !w.holds(m.ts) {
			continue
		}
		if len(out) == limit {
			more = true
			break
		}
		j := messageJSON(m)
		if !withMetadata {
			delete(j, "metadata")
		}
		out = append(out, j)
	}
	body := map[string]any{"messages": out, "has_more": more, "pin_count": len(c.pins)}
	if out == nil {
		body["messages"] = []any{}
	}
	if more {
		last := out[len(out)-1]["ts"].(string)
		body["response_metadata"] = map[string]any{"next_cursor": base64.StdEncoding.EncodeToString([]byte("before:" + last))}
	}
	return okr(body)
}

// tsWindow is the oldest/latest/inclusive window that conversations.history
// and conversations.replies share.
type tsWindow struct {
	oldest, latest int64
	inclusive      bool
}

// readWindow reads the window's arguments, latest defaulting to latestDefault;
// a malformed one gives Slack's error code.
func readWindow(r *apiReq, latestDefault int64) (tsWindow, string) {
	oldest, ok := parseTSArg(r.args.str("oldest"), 0)
	if !ok {
		return tsWindow{}, "invalid_ts_oldest"
	}
	latest, ok := parseTSArg(r.args.str("latest"), latestDefault)
	if !ok {
		return tsWindow{}, "invalid_ts_latest"
	}
	return tsWindow{oldest, latest, r.args.boolean("inclusive")}, ""
}

// holds reports whether the message ts lies inside the window.
func (w tsWindow) holds(ts string) bool {
	at, _ := parseTSArg(ts, 0)
	if at > w.latest || at < w.oldest {
		return false
	}
	return w.inclusive || (at != w.latest && at != w.oldest)
}

// parseTSArg reads a Slack timestamp ("1712345678.000200", or whole
// seconds) as Unix microseconds; "" gives def.
func parseTSArg(v string, def int64) (int64, bool) {
	if v == "" {
		return def, true
	}
	secs, frac, _ := strings.Cut(v, ".")
	if !digits(secs) || (frac != "" && !digits(frac)) {
		return 0, false
	}
	sec, err := strconv.ParseInt(secs, 10, 64)
	// Beyond 1e12 s (year 33658) is no timestamp, and would overflow µs.
	if err != nil || sec < 0 || sec > 1e12 || len(frac) > 6 {
		return 0, false
	}
	us := int64(0)
	if frac != "" {
		f, err := strconv.ParseInt((frac + "000000")[:6], 10, 64)
		if err != nil {
			return 0, false
		}
		us = f
	}
	return sec*1e6 + us, true
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// conversations.replies as Slack documents it: the thread's parent first,
// then its replies oldest first, between oldest and latest (exclusive
// unless inclusive), at most limit (default 1000) with has_more when more
// are left; a ts that starts no thread gives that message alone. Message
// metadata only with include_all_metadata.
func (s *Server) conversationsReplies(r *apiReq) result {
	c := s.visibleChannelLocked(r.args.str("channel"))
	if c == nil {
		return fail("channel_not_found")
	}
	if !c.isMember(BotUserID) {
		return fail("not_in_channel")
	}
	ts := r.args.str("ts")
	if ts == "" {
		return fail("invalid_arguments")
	}
	// No latest: everything up to now, a reply posted this very
	// microsecond included.
	w, bad := readWindow(r, math.MaxInt64)
	if bad != "" {
		return fail(bad)
	}
	limit := 1000
	if l, err := strconv.Atoi(r.args.str("limit")); err == nil && l > 0 {
		limit = min(l, 1000)
	}
	withMetadata := r.args.boolean("include_all_metadata")
	var parent map[string]any
	var out []map[string]any
	more := false
	for _, m := range c.messages {
		j := func() map[string]any {
			j := messageJSON(m)
			if !withMetadata {
				delete(j, "metadata")
			}
			return j
		}
		if m.ts == ts {
			parent = j()
			continue
		}
		if m.threadTS != ts {
			continue
		}
		if !w.holds(m.ts) {
			continue
		}
		if len(out) == limit {
			more = true
			break
		}
		out = append(out, j())
	}
	if parent == nil {
		return fail("thread_not_found")
	}
	return okr(map[string]any{"messages": append([]map[string]any{parent}, out...), "has_more": more})
}
