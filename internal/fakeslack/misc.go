package fakeslack

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
)

// auth.*, apps.*, users.*, usergroups.* and files.* handlers. They run with
// s.mu held, except serveUpload.

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (s *Server) authTest(*apiReq) result {
	return okr(map[string]any{
		"url": "https://" + TeamDomain + ".slack.com/", "team": "Fake Workspace", "user": "klaxon",
		"team_id": TeamID, "user_id": BotUserID, "bot_id": BotID, "is_enterprise_install": false,
	})
}

// appsConnectionsOpen hands out a single-use WebSocket URL, as Slack does on
// every (re)connect.
func (s *Server) appsConnectionsOpen(*apiReq) result {
	ticket := randHex(16)
	s.tickets[ticket] = true
	return okr(map[string]any{"url": "ws://" + strings.TrimPrefix(s.base, "http://") + "/ws?ticket=" + ticket})
}

func userJSON(u *user) map[string]any {
	profile := map[string]any{
		"real_name": u.realName, "real_name_normalized": u.realName,
		"display_name": u.realName, "display_name_normalized": u.realName,
		"avatar_hash": "", "team": TeamID, "image_24": "", "image_32": "", "image_48": "",
		"image_72": "", "image_192": "", "image_512": "",
	}
	if u.email != "" {
		profile["email"] = u.email
	}
	if u.isBot {
		profile["bot_id"] = BotID
		profile["api_app_id"] = AppID
	}
	return map[string]any{
		"id": u.id, "team_id": TeamID, "name": u.name, "deleted": false, "color": "9f69e7",
		"real_name": u.realName, "tz": "Etc/UTC", "tz_label": "Coordinated Universal Time",
		"tz_offset": 0, "profile": profile, "is_bot": u.isBot, "is_admin": false,
		"is_owner": false, "is_primary_owner": false, "is_restricted": false,
		"is_ultra_restricted": false, "is_app_user": false, "updated": 1700000000,
		"is_email_confirmed": u.email != "", "locale": "en-US",
	}
}

func (s *Server) usersInfo(r *apiReq) result {
	if list := r.args.str("users"); list != "" {
		var out []map[string]any
		for _, id := range strings.Split(list, ",") {
			u := s.users[strings.TrimSpace(id)]
			if u == nil {
				return fail("user_not_found")
			}
			out = append(out, userJSON(u))
		}
		return okr(map[string]any{"users": out})
	}
	u := s.users[r.args.str("user")]
	if u == nil {
		return fail("user_not_found")
	}
	return okr(map[string]any{"user": userJSON(u)})
}

func (s *Server) usersLookupByEmail(r *apiReq) result {
	email := r.args.str("email")
	if email == "" {
		return fail("invalid_arguments", "[ERROR] missing required field: email")
	}
	for _, id := range s.userOrder {
		if u := s.users[id]; strings.EqualFold(u.email, email) {
			return okr(map[string]any{"user": userJSON(u)})
		}
	}
	return fail("users_not_found")
}

func (s *Server) usergroupsUsersList(r *apiReq) result {
	id := r.args.str("usergroup")
	if id == "" {
		return fail("invalid_arguments", "[ERROR] missing required field: usergroup")
	}
	g := s.groups[id]
	if g == nil {
		return fail("no_such_subteam")
	}
	return okr(map[string]any{"users": append([]string{}, g.members...)})
}

func (s *Server) filesGetUploadURLExternal(r *apiReq) result {
	name := r.args.str("filename")
	if name == "" {
		return fail("invalid_arguments", "[ERROR] missing required field: filename")
	}
	length, err := strconv.Atoi(r.args.str("length"))
	if err != nil || length <= 0 {
		return fail("invalid_arguments", "[ERROR] length must be a positive integer")
	}
	f := &File{ID: s.nextID("F"), Name: name, Title: name, Length: length}
	s.files[f.ID] = f
	s.fileOrder = append(s.fileOrder, f.ID)
	// The upload URL is on this server so that slack-go agrees to send the
	// token there (it only does for https Slack hosts and the API host).
	return okr(map[string]any{"upload_url": s.base + "/upload/" + f.ID, "file_id": f.ID})
}

// serveUpload receives the file body, multipart (as slack-go sends it) or
// raw, and answers as Slack's upload host does.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/upload/")
	var data []byte
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if strings.HasPrefix(ct, "multipart/") {
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if p.FormName() == "file" {
				data, _ = io.ReadAll(io.LimitReader(p, 1<<30))
			}
		}
	} else {
		data, _ = io.ReadAll(io.LimitReader(r.Body, 1<<30))
	}
	s.mu.Lock()
	f := s.files[id]
	if f != nil && !f.Completed {
		f.Content, f.Uploaded = data, true
		s.changedLocked()
	}
	s.mu.Unlock()
	if f == nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "OK - %d", len(data))
}

func (s *Server) filesCompleteUploadExternal(r *apiReq) result {
	var list []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(r.args.str("files")), &list); err != nil || len(list) == 0 {
		return fail("invalid_arguments", "[ERROR] missing required field: files")
	}
	for _, it := range list {
		if f := s.files[it.ID]; f == nil || !f.Uploaded {
			return fail("file_not_found")
		}
	}
	var targets []*channel
	refs := r.args.str("channels")
	if id := r.args.str("channel_id"); id != "" {
		refs = id
	}
	for _, ref := range strings.Split(refs, ",") {
		if ref = strings.TrimSpace(ref); ref == "" {
			continue
		}
		c := s.visibleChannelLocked(ref)
		switch {
		case c == nil:
			return fail("channel_not_found")
		case c.archived:
			return fail("is_archived")
		case !c.isMember(BotUserID):
			return fail("not_in_channel")
		}
		targets = append(targets, c)
	}
	ct, res, ok := s.parseContent(r.args)
	if !ok {
		return res
	}
	if ic := r.args.str("initial_comment"); ic != "" {
		ct.text = cutText(ic)
	}
	thread := r.args.str("thread_ts")
	roots := make([]string, len(targets))
	for i, c := range targets {
		root, ok := threadRootLocked(c, thread)
		if !ok {
			return fail("thread_not_found")
		}
		roots[i] = root
	}
	var ids []string
	out := []map[string]any{}
	for _, it := range list {
		f := s.files[it.ID]
		f.Completed = true
		if it.Title != "" {
			f.Title = it.Title
		}
		if len(targets) > 0 {
			f.Channel, f.ThreadTS = targets[0].id, thread
		}
		ids = append(ids, f.ID)
		out = append(out, map[string]any{"id": f.ID, "title": f.Title})
	}
	for i, c := range targets {
		s.appendMessageLocked(c, &message{
			channel: c.id, ts: s.nextTS(), threadTS: roots[i], user: BotUserID, text: ct.text,
			blocks: ct.blocks, source: "files.completeUploadExternal", files: ids,
		})
	}
	return okr(map[string]any{"files": out})
}

// filesInfo answers as Slack does for a file the bot can see: where it is
// shared (channels for public channels, groups for private ones); a file
// uploaded but not shared lists none.
func (s *Server) filesInfo(r *apiReq) result {
	id := r.args.str("file")
	if id == "" {
		return fail("invalid_arguments", "[ERROR] missing required field: file")
	}
	f := s.files[id]
	if f == nil {
		return fail("file_not_found")
	}
	channels, groups := []string{}, []string{}
	if f.Completed && f.Channel != "" {
		if c := s.channels[f.Channel]; c != nil && c.private {
			groups = append(groups, f.Channel)
		} else {
			channels = append(channels, f.Channel)
		}
	}
	return okr(map[string]any{"file": map[string]any{
		"id": f.ID, "name": f.Name, "title": f.Title, "size": len(f.Content), "created": 0, "timestamp": 0,
		"channels": channels, "groups": groups, "ims": []string{},
	}, "comments": []any{}, "paging": map[string]any{"count": 0, "total": 0, "page": 1, "pages": 1}})
}
