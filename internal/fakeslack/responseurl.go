package fakeslack

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// response_url: every slash command (and message interaction) comes with a
// URL the app can POST a JSON message to, at most 5 times within 30 minutes.
// Like Slack's webhooks, failures are an HTTP error status with the reason
// as a plain-text body (slack-go reports them as a StatusCodeError); the
// reason is also in ResponsePost.Error.

const (
	responseURLTTL  = 30 * time.Minute
	responseURLUses = 5
)

type responseURL struct {
	channel, user string
	originalTS    string // the message an interaction came from, if any
	issued        time.Time
	uses          int
}

// newResponseURLLocked issues a response_url for a user in a channel;
// originalTS is the message that replace_original and delete_original act on.
func (s *Server) newResponseURLLocked(channelID, userID, originalTS string) string {
	key := randHex(16)
	s.responseURLs[key] = &responseURL{channel: channelID, user: userID, originalTS: originalTS, issued: s.now()}
	return s.base + "/response_url/" + key
}

func flexBool(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return b == "true" || b == "1"
	}
	return false
}

func (s *Server) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	key := strings.TrimPrefix(r.URL.Path, "/response_url/")
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.changedLocked()

	post := ResponsePost{URL: s.base + r.URL.Path, At: s.now(), Raw: bytes.Clone(body)}
	reject := func(status int, code string, msgs ...string) {
		post.Status, post.Error, post.Messages = status, code, msgs
		s.responsePosts = append(s.responsePosts, post)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, code)
	}
	ru := s.responseURLs[key]
	if ru == nil {
		reject(http.StatusNotFound, "invalid_url")
		return
	}
	post.Channel, post.User = ru.channel, ru.user
	if post.At.Sub(ru.issued) > responseURLTTL {
		reject(http.StatusNotFound, "expired_url")
		return
	}
	if ru.uses >= responseURLUses {
		reject(http.StatusNotFound, "used_url")
		return
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&m); err != nil || m == nil {
		reject(http.StatusBadRequest, "invalid_payload")
		return
	}
	post.Text, _ = m["text"].(string)
	post.Text = cutText(post.Text)
	post.ResponseType, _ = m["response_type"].(string)
	post.ReplaceOriginal = flexBool(m["replace_original"])
	post.DeleteOriginal = flexBool(m["delete_original"])
	post.ThreadTS, _ = m["thread_ts"].(string)
	if b, ok := m["blocks"]; ok && b != nil {
		raw, _ := json.Marshal(b)
		code, msgs, n := checkBlocksJSON(string(raw), "/blocks")
		if code != "" {
			reject(http.StatusBadRequest, code, msgs...)
			return
		}
		if n > 0 {
			post.Blocks = raw
		}
	}
	if !post.DeleteOriginal && post.Text == "" && post.Blocks == nil {
		reject(http.StatusBadRequest, "no_text")
		return
	}
	ru.uses++
	post.Status = http.StatusOK
	s.responsePosts = append(s.responsePosts, post)
	s.applyResponseLocked(ru, post)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true}`)
}

// applyResponseLocked shows a response the way Slack would: delete or
// replace the original message, post in the channel for in_channel, or show
// an ephemeral message to the user otherwise.
func (s *Server) applyResponseLocked(ru *responseURL, p ResponsePost) {
	c := s.channels[ru.channel]
	if c != nil && ru.originalTS != "" && c.byTS[ru.originalTS] != nil {
		switch {
		case p.DeleteOriginal:
			s.deleteMessageLocked(c, ru.originalTS)
			return
		case p.ReplaceOriginal:
			m := c.byTS[ru.originalTS]
			m.text, m.blocks, m.edited, m.editedTS = p.Text, p.Blocks, true, s.nextTS()
			return
		}
	}
	if p.DeleteOriginal {
		return
	}
	m := &message{channel: ru.channel, ts: s.nextTS(), user: BotUserID, text: p.Text, blocks: p.Blocks, source: "response_url"}
	if p.ResponseType == "in_channel" && c != nil {
		if root, ok := threadRootLocked(c, p.ThreadTS); ok {
			m.threadTS = root
		}
		s.appendMessageLocked(c, m)
		return
	}
	m.ephemeral, m.ephemeralUser = true, ru.user
	s.ephemerals = append(s.ephemerals, m)
}
