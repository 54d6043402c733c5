package fakeslack

import (
	"encoding/json"
	"fmt"
	"time"
)

// views.* handlers and trigger_ids. They run with s.mu held.
//
// A trigger_id comes with a slash command or an interaction, is good for one
// views.open (or views.push) and dies 3 s after the envelope was sent, on
// Options.Clock. Errors: invalid_trigger_id (never issued),
// exchanged_trigger_id (already used), expired_trigger_id (too late).
// Slack answers view problems, including bad blocks, with invalid_arguments.

const (
	triggerTTL         = 3 * time.Second
	maxViewTitle       = 24
	maxPrivateMetadata = 3000
)

type trigger struct {
	id, user string
	issued   time.Time
	used     bool
}

func (s *Server) newTriggerID() string {
	return fmt.Sprintf("%d.%d.%s", s.now().Unix(), 1000000+s.seqNext("trigger"), randHex(16))
}

func (s *Server) seqNext(k string) int {
	s.seq[k]++
	return s.seq[k]
}

// registerTriggerLocked makes a trigger_id usable from now for triggerTTL.
// A redelivered envelope keeps its first issue time.
func (s *Server) registerTriggerLocked(id, user string) {
	if id == "" || s.triggers[id] != nil {
		return
	}
	s.triggers[id] = &trigger{id: id, user: user, issued: s.now()}
}

func (s *Server) checkTriggerLocked(id string, now time.Time) (*trigger, string) {
	if id == "" {
		return nil, "invalid_arguments"
	}
	t := s.triggers[id]
	switch {
	case t == nil:
		return nil, "invalid_trigger_id"
	case t.used:
		return nil, "exchanged_trigger_id"
	case now.Sub(t.issued) > triggerTTL:
		return nil, "expired_trigger_id"
	}
	return t, ""
}

// checkView validates a view object; the answer is Slack's messages, none
// when the view is fine.
func checkView(v any, path string, surf surface) []string {
	c := newBlockChecker(surf)
	m, ok := v.(map[string]any)
	if !ok {
		c.errf(path, "missing required field: view")
		return c.errs
	}
	typ, _, _ := str(m, "type")
	want := "modal"
	if surf == surfaceHome {
		want = "home"
	}
	if typ != want {
		c.errf(path+"/type", "must be %s", want)
	}
	if surf == surfaceModal {
		if _, ok := m["title"]; !ok {
			c.errf(path, "missing required field: title")
		}
		c.optText(m, "title", path, maxViewTitle, true, "modal title")
		c.optText(m, "submit", path, maxViewTitle, true, "modal submit")
		c.optText(m, "close", path, maxViewTitle, true, "modal close")
	}
	switch blocks := m["blocks"].(type) {
	case nil:
		// slack-go sends "blocks":null for a ModalViewRequest without blocks.
		c.errf(path, "missing required field: blocks")
	case []any:
		c.blocks(blocks, path+"/blocks")
	default:
		c.errf(path+"/blocks", "must be an array")
	}
	if surf == surfaceModal && c.inputs > 0 && m["submit"] == nil {
		c.errf(path, "missing required field: submit (a modal with input blocks needs a submit button)")
	}
	c.maxStr(m, "private_metadata", path, maxPrivateMetadata, false, "private_metadata")
	c.maxStr(m, "callback_id", path, 255, false, "callback_id")
	c.maxStr(m, "external_id", path, 255, false, "external_id")
	return c.errs
}

// decodeView reads the "view" argument (an object in JSON, a JSON string in
// a form) and validates it.
func decodeView(a *args, surf surface) (map[string]any, json.RawMessage, result, bool) {
	raw := a.str("view")
	if raw == "" {
		return nil, nil, fail("invalid_arguments", "[ERROR] missing required field: view"), false
	}
	v, err := decodeJSON([]byte(raw))
	if err != nil {
		return nil, nil, fail("invalid_arguments", "[ERROR] view is not valid JSON"), false
	}
	if msgs := checkView(v, "/view", surf); len(msgs) > 0 {
		return nil, nil, fail("invalid_arguments", msgs...), false
	}
	return v.(map[string]any), compactJSON(raw), result{}, true
}

// setViewLocked copies a validated view object into v.
func (s *Server) setViewLocked(v *View, m map[string]any, raw json.RawMessage) {
	v.Raw = raw
	v.Type, _, _ = str(m, "type")
	v.CallbackID, _, _ = str(m, "callback_id")
	v.PrivateMetadata, _, _ = str(m, "private_metadata")
	v.ExternalID, _, _ = str(m, "external_id")
	v.Title = ""
	if t, ok := m["title"].(map[string]any); ok {
		v.Title, _, _ = str(t, "text")
	}
	b, _ := json.Marshal(m["blocks"])
	v.Blocks = b
	v.Version++
	v.Hash = fmt.Sprintf("%d.%s", s.now().Unix(), randHex(4))
}

// viewJSON renders a view object as views.* return it.
func viewJSON(v *View) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(v.Raw, &m)
	if m == nil {
		m = map[string]any{}
	}
	for _, k := range []string{"private_metadata", "callback_id", "external_id"} {
		if _, ok := m[k]; !ok {
			m[k] = ""
		}
	}
	for _, k := range []string{"clear_on_close", "notify_on_close"} {
		if _, ok := m[k]; !ok {
			m[k] = false
		}
	}
	m["id"] = v.ID
	m["team_id"] = TeamID
	m["app_installed_team_id"] = TeamID
	m["app_id"] = AppID
	m["bot_id"] = BotID
	m["hash"] = v.Hash
	m["root_view_id"] = v.RootViewID
	m["previous_view_id"] = nil
	if v.PreviousViewID != "" {
		m["previous_view_id"] = v.PreviousViewID
	}
	m["state"] = map[string]any{"values": map[string]any{}}
	return m
}

func (s *Server) externalIDTakenLocked(id string, except *View) bool {
	if id == "" {
		return false
	}
	for _, v := range s.views {
		if v != except && v.ExternalID == id {
			return true
		}
	}
	return false
}

func (s *Server) addViewLocked(v *View) {
	s.views[v.ID] = v
	s.viewOrder = append(s.viewOrder, v.ID)
}

// openLocked is views.open and views.push: check the trigger, the view, then
// spend the trigger.
func (s *Server) openLocked(r *apiReq, push bool) result {
	t, code := s.checkTriggerLocked(r.args.str("trigger_id"), r.now)
	if code != "" {
		if code == "invalid_arguments" {
			return fail(code, "[ERROR] missing required field: trigger_id")
		}
		return fail(code)
	}
	m, raw, res, ok := decodeView(r.args, surfaceModal)
	if !ok {
		return res
	}
	if ext, _, _ := str(m, "external_id"); s.externalIDTakenLocked(ext, nil) {
		return fail("duplicate_external_id")
	}
	t.used = true
	v := &View{ID: s.nextID("V"), TriggerID: t.id, User: t.user}
	v.RootViewID = v.ID
	if push {
		// Stack on the user's latest modal.
		for i := len(s.viewOrder) - 1; i >= 0; i-- {
			if p := s.views[s.viewOrder[i]]; p.User == t.user && p.Type == "modal" {
				v.PreviousViewID, v.RootViewID = p.ID, p.RootViewID
				break
			}
		}
	}
	s.setViewLocked(v, m, raw)
	s.addViewLocked(v)
	return okr(map[string]any{"view": viewJSON(v)})
}

func (s *Server) viewsOpen(r *apiReq) result { return s.openLocked(r, false) }

func (s *Server) viewsPush(r *apiReq) result { return s.openLocked(r, true) }

func (s *Server) viewsUpdate(r *apiReq) result {
	id, ext := r.args.str("view_id"), r.args.str("external_id")
	if id == "" && ext == "" {
		return fail("invalid_arguments", "[ERROR] either view_id or external_id is required")
	}
	var v *View
	if id != "" {
		v = s.views[id]
	} else {
		for _, cand := range s.views {
			if cand.ExternalID == ext {
				v = cand
			}
		}
	}
	if v == nil {
		return fail("not_found")
	}
	if h := r.args.str("hash"); h != "" && h != v.Hash {
		return fail("hash_conflict")
	}
	surf := surfaceModal
	if v.Type == "home" {
		surf = surfaceHome
	}
	m, raw, res, ok := decodeView(r.args, surf)
	if !ok {
		return res
	}
	if e, _, _ := str(m, "external_id"); s.externalIDTakenLocked(e, v) {
		return fail("duplicate_external_id")
	}
	s.setViewLocked(v, m, raw)
	return okr(map[string]any{"view": viewJSON(v)})
}

// viewsPublish sets a user's Home tab; each user has one, updated in place.
func (s *Server) viewsPublish(r *apiReq) result {
	uid := r.args.str("user_id")
	if uid == "" {
		return fail("invalid_arguments", "[ERROR] missing required field: user_id")
	}
	if s.users[uid] == nil {
		return fail("user_not_found")
	}
	m, raw, res, ok := decodeView(r.args, surfaceHome)
	if !ok {
		return res
	}
	var v *View
	for _, cand := range s.views {
		if cand.Type == "home" && cand.User == uid {
			v = cand
		}
	}
	if v == nil {
		v = &View{ID: s.nextID("V"), User: uid}
		v.RootViewID = v.ID
		s.addViewLocked(v)
	} else if h := r.args.str("hash"); h != "" && h != v.Hash {
		return fail("hash_conflict")
	}
	s.setViewLocked(v, m, raw)
	return okr(map[string]any{"view": viewJSON(v)})
}
