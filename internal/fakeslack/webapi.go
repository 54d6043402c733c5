package fakeslack

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// This file is the Web API plumbing: argument parsing, token checks, faults,
// rate limits, call recording and the answer. The methods themselves are in
// conversations.go, chat.go, views.go and misc.go.

type apiHandler func(s *Server, r *apiReq) result

// apiMethods lists the implemented methods. Any other gets unknown_method.
var apiMethods = map[string]apiHandler{
	"auth.test":                    (*Server).authTest,
	"apps.connections.open":        (*Server).appsConnectionsOpen,
	"conversations.create":         (*Server).conversationsCreate,
	"conversations.info":           (*Server).conversationsInfo,
	"conversations.list":           (*Server).conversationsList,
	"users.conversations":          (*Server).usersConversations,
	"conversations.setTopic":       (*Server).conversationsSetTopic,
	"conversations.setPurpose":     (*Server).conversationsSetPurpose,
	"conversations.invite":         (*Server).conversationsInvite,
	"conversations.rename":         (*Server).conversationsRename,
	"conversations.archive":        (*Server).conversationsArchive,
	"conversations.members":        (*Server).conversationsMembers,
	"conversations.join":           (*Server).conversationsJoin,
	"conversations.open":           (*Server).conversationsOpen,
	"conversations.history":        (*Server).conversationsHistory,
	"conversations.replies":        (*Server).conversationsReplies,
	"bookmarks.add":                (*Server).bookmarksAdd,
	"bookmarks.list":               (*Server).bookmarksList,
	"pins.add":                     (*Server).pinsAdd,
	"chat.postMessage":             (*Server).chatPostMessage,
	"chat.update":                  (*Server).chatUpdate,
	"chat.postEphemeral":           (*Server).chatPostEphemeral,
	"chat.getPermalink":            (*Server).chatGetPermalink,
	"chat.delete":                  (*Server).chatDelete,
	"views.open":                   (*Server).viewsOpen,
	"views.update":                 (*Server).viewsUpdate,
	"views.push":                   (*Server).viewsPush,
	"views.publish":                (*Server).viewsPublish,
	"usergroups.users.list":        (*Server).usergroupsUsersList,
	"users.info":                   (*Server).usersInfo,
	"users.lookupByEmail":          (*Server).usersLookupByEmail,
	"files.getUploadURLExternal":   (*Server).filesGetUploadURLExternal,
	"files.completeUploadExternal": (*Server).filesCompleteUploadExternal,
	"files.info":                   (*Server).filesInfo,
}

// apiReq is one parsed Web API call.
type apiReq struct {
	method string
	args   *args
	now    time.Time
}

// args gives form and JSON arguments one face. slack-go sends most methods
// as a form with token= in the body, and views.* / apps.* as JSON with a
// Bearer header; Slack accepts either for most methods.
// contentMethods take a message's content (text, blocks), which serveAPI
// parses before taking the lock.
var contentMethods = map[string]bool{"chat.postMessage": true, "chat.update": true, "chat.postEphemeral": true}

type args struct {
	form   url.Values
	json   map[string]json.RawMessage
	isJSON bool
	body   []byte
	// content is the message content of the arguments, parsed ahead
	// (nil: not yet).
	content *parsedContent
}

func parseArgs(r *http.Request, body []byte) (*args, string) {
	a := &args{form: url.Values{}}
	for k, v := range r.URL.Query() {
		a.form[k] = v
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case ct == "application/json":
		a.isJSON = true
		a.body = body
		if len(bytes.TrimSpace(body)) == 0 || bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
			a.json = map[string]json.RawMessage{}
			return a, ""
		}
		if err := json.Unmarshal(body, &a.json); err != nil {
			return a, "invalid_json"
		}
		if a.json == nil {
			a.json = map[string]json.RawMessage{}
		}
	case ct == "multipart/form-data":
		// The body was read already; parse it through a copy of the request.
		req := &http.Request{Method: http.MethodPost, Header: r.Header.Clone(), Body: io.NopCloser(bytes.NewReader(body))}
		if err := req.ParseMultipartForm(32 << 20); err != nil {
			return a, "invalid_form_data"
		}
		for k, v := range req.MultipartForm.Value {
			a.form[k] = v
		}
	case len(body) > 0:
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return a, "invalid_form_data"
		}
		for k, vs := range v {
			a.form[k] = vs
		}
	}
	return a, ""
}

// has reports whether the argument was sent at all (even empty).
func (a *args) has(k string) bool {
	if _, ok := a.json[k]; ok {
		return true
	}
	_, ok := a.form[k]
	return ok
}

// str returns a string argument. A JSON non-string comes back as its JSON
// text, so that "blocks" reads the same from a form and from JSON.
func (a *args) str(k string) string {
	if a.isJSON {
		raw, ok := a.json[k]
		if !ok {
			return a.form.Get(k)
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		if string(raw) == "null" {
			return ""
		}
		return string(raw)
	}
	return a.form.Get(k)
}

func (a *args) boolean(k string) bool {
	switch strings.ToLower(a.str(k)) {
	case "true", "1", "yes":
		return true
	}
	return false
}

// params flattens the arguments for Call.Params.
func (a *args) params() url.Values {
	out := cloneValues(a.form)
	if out == nil {
		out = url.Values{}
	}
	for k := range a.json {
		out.Set(k, a.str(k))
	}
	return out
}

// result is a method's answer.
type result struct {
	status     int            // 0 means 200
	body       map[string]any // fields of an ok answer
	err        string         // error code of an ok:false answer
	msgs       []string       // response_metadata.messages
	extra      map[string]any // more fields for an ok:false answer
	retryAfter int
	// okFalse answers {"ok":false} without an error code, which slack-go's
	// SlackResponse.Err() takes for success: a fault worth testing.
	okFalse bool
}

func okr(body map[string]any) result {
	if body == nil {
		body = map[string]any{}
	}
	return result{body: body}
}

func fail(code string, msgs ...string) result { return result{err: code, msgs: msgs} }

// faultFor is the fault Options.Fault or Options.FaultOn injects in a call.
func (s *Server) faultFor(method string, n int, c Call) *Fault {
	if s.opts.Fault != nil {
		if f := s.opts.Fault(method, n); f != nil {
			return f
		}
	}
	if s.opts.FaultOn != nil {
		return s.opts.FaultOn(c)
	}
	return nil
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	// The latency runs from the request's arrival: reading and checking
	// it is the fake's own work, which Slack does on its own machines
	// within the round trip, not after it on the caller's CPU.
	entered := time.Now()
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	a, perr := parseArgs(r, body)
	params := a.params()
	if contentMethods[method] && perr == "" {
		p := parseContent(a)
		a.content = &p
	}
	ctx := r.Context()
	if !s.sleep(ctx, s.opts.Latency-time.Since(entered)) {
		return
	}

	s.mu.Lock()
	s.methodCount[method]++
	n := s.methodCount[method]
	arrived, rateAt := s.now(), s.rateNow()
	key := s.rateKeyLocked(method, a)
	// The retry key (every argument, encoded) is only needed once Slack
	// answered a 429; until then it is not built under the lock that
	// every call takes.
	var rkey string
	early := false
	if len(s.retryUntil) > 0 {
		rkey = retryKey(key, params)
		early = rateAt.Before(s.retryUntil[rkey])
	}
	if early {
		s.earlyRetries++
	}
	// A call to a limited method more than heldGrace after the 429 was
	// answered, and before its Retry-After ran out, is one the client
	// could have held back (calls already in flight are not counted).
	if l, ok := s.limited[key]; ok && rateAt.After(l[0].Add(heldGrace)) && rateAt.Before(l[1]) {
		s.earlyCalls++
	}
	s.mu.Unlock()

	call := Call{Method: method, At: arrived, Params: params, EarlyRetry: early}
	if a.isJSON {
		call.Body = json.RawMessage(bytes.Clone(a.body))
	}
	var (
		res     result
		applied *Fault // fail after applying
	)
	if f := s.faultFor(method, n, call); f != nil {
		// The call has reached Slack: it completes even if the client
		// hangs up meanwhile (a killed bot), as on the real service.
		if !s.sleep(context.WithoutCancel(ctx), f.Delay) {
			return
		}
		if f.Until != nil {
			select {
			case <-f.Until:
			case <-s.closed:
				return
			}
		}
		if f.Status != 0 || f.Error != "" {
			call.Fault = true
			res = faultResult(f)
			if f.Applied {
				applied = f
			}
		}
	}

	s.mu.Lock()
	if !call.Fault || applied != nil {
		res = s.dispatchLocked(method, r, a, perr, key)
	}
	if applied != nil {
		res = faultResult(applied)
	}
	call.Status = res.status
	if call.Status == 0 {
		call.Status = http.StatusOK
	}
	call.Error = res.err
	call.RetryAfter = res.retryAfter
	if call.Status == http.StatusTooManyRequests {
		// Remember the announcement so that a retry of this call (same
		// method, same arguments) arriving before it runs out counts as an
		// early retry. Other calls sent before the client could have seen
		// this 429 are not retries.
		until := rateAt.Add(time.Duration(res.retryAfter) * time.Second)
		if rkey == "" {
			rkey = retryKey(key, params)
		}
		if until.After(s.retryUntil[rkey]) {
			s.retryUntil[rkey] = until
		}
		s.limited[key] = [2]time.Time{s.rateNow(), until}
	}
	s.calls = append(s.calls, call)
	s.changedLocked()
	s.mu.Unlock()

	s.logf("%s -> %d %s", method, call.Status, call.Error)
	writeResult(w, res)
}

func faultResult(f *Fault) result {
	switch {
	case f.Status == http.StatusTooManyRequests:
		ra := f.RetryAfter
		if ra <= 0 {
			ra = 1
		}
		return result{status: f.Status, err: "ratelimited", retryAfter: ra}
	case f.Status != 0 && f.Status != http.StatusOK:
		return result{status: f.Status, err: f.Error}
	case f.Error == "":
		return result{okFalse: true}
	default:
		return fail(f.Error)
	}
}

// dispatchLocked checks the method, the token and the rate limit, then runs
// the method. Callers hold s.mu.
func (s *Server) dispatchLocked(method string, r *http.Request, a *args, perr, key string) result {
	h, ok := apiMethods[method]
	if !ok {
		return fail("unknown_method")
	}
	if perr != "" {
		return fail(perr)
	}
	if code := s.checkToken(method, r, a); code != "" {
		return fail(code)
	}
	if ra, limited := s.rateLimitLocked(method, key); limited {
		return result{status: http.StatusTooManyRequests, err: "ratelimited", retryAfter: ra}
	}
	return h(s, &apiReq{method: method, args: a, now: s.now()})
}

// checkToken returns "" when the call carries the right kind of token.
// apps.connections.open wants the app-level token in the Authorization
// header; every other method wants the bot token, in the header or, for
// forms, as token= (which is where slack-go puts it).
func (s *Server) checkToken(method string, r *http.Request, a *args) string {
	tok := trimBearer(r.Header.Get("Authorization"))
	if method == "apps.connections.open" {
		switch tok {
		case "":
			return "not_authed"
		case s.opts.AppToken:
			return ""
		case s.opts.BotToken:
			return "not_allowed_token_type"
		default:
			return "invalid_auth"
		}
	}
	if tok == "" && !a.isJSON {
		tok = a.form.Get("token")
	}
	switch tok {
	case "":
		return "not_authed"
	case s.opts.BotToken:
		return ""
	case s.opts.AppToken:
		return "not_allowed_token_type"
	default:
		return "invalid_auth"
	}
}

func writeResult(w http.ResponseWriter, res result) {
	status := res.status
	if status == 0 {
		status = http.StatusOK
	}
	var out map[string]any
	if res.err != "" || res.okFalse || status != http.StatusOK {
		out = map[string]any{"ok": false}
		if res.err != "" {
			out["error"] = res.err
		}
		for k, v := range res.extra {
			out[k] = v
		}
		if len(res.msgs) > 0 {
			out["response_metadata"] = map[string]any{"messages": res.msgs}
		}
	} else {
		out = res.body
		if out == nil {
			out = map[string]any{}
		}
		out["ok"] = true
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(res.retryAfter))
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

// retryKey identifies a call and its retries: the rate-limit key plus the
// arguments, without the token.
func retryKey(key string, params url.Values) string {
	p := make(url.Values, len(params))
	for k, v := range params {
		if k != "token" {
			p[k] = v
		}
	}
	return key + "|" + p.Encode()
}

// heldGrace is how long after a 429 is answered calls already in flight
// may still arrive without counting as early (EarlyCalls).
const heldGrace = 100 * time.Millisecond

// EarlyCalls counts calls to a rate-limited method (per channel for
// chat.postMessage) that arrived after a 429 was answered (plus a grace for
// calls already in flight) and before its Retry-After ran out: calls a
// client that honours Retry-After for every caller would have held back.
func (s *Server) EarlyCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.earlyCalls
}
