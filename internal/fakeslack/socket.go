package fakeslack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
)

// Socket Mode, server side. The client calls apps.connections.open, dials
// the ws:// URL it got, and receives hello. The fake then plays Slack:
// Send and its helpers push envelopes to one connection (round-robin) and
// wait for the client's ack {"envelope_id": ..., "payload": ...}.

const (
	maxConnections = 10        // Slack allows 10 Socket Mode connections per app
	maxAckSize     = 20 * 1024 // Slack ignores acks of 20 KB or more
	writeTimeout   = 10 * time.Second
)

// Envelope is a Socket Mode message to send to the client.
type Envelope struct {
	ID                     string // generated when empty; reuse it to redeliver
	Type                   string // "slash_commands", "interactive" or "events_api"
	Payload                any    // marshalled to JSON; json.RawMessage and []byte are sent as they are
	RetryAttempt           int
	RetryReason            string
	AcceptsResponsePayload bool
}

// Ack is the client's acknowledgement of an envelope.
type Ack struct {
	EnvelopeID string
	Type       string // the envelope's type
	Payload    json.RawMessage
	// Latency is the time from sending the envelope to its ack, on
	// Options.Clock (so it is 0 under a ManualClock that did not move).
	Latency time.Duration
	At      time.Time // on Options.Clock
	Conn    int       // connection number, 1-based in order of opening

	// Late is set for an ack that came after its sender gave up (ErrNoAck)
	// or more than 3 s after the envelope on Options.Clock. Slack would have
	// shown the user an error.
	Late bool
	// Oversized is set for an ack of 20 KB or more, which Slack ignores.
	Oversized bool
	Unknown   bool // no envelope with this ID was sent
	Duplicate bool // the envelope had been acked already
	// Error and Messages report a payload Slack would refuse, e.g. a slash
	// command ack with invalid blocks (invalid_blocks) or a view_submission
	// response with an invalid view (invalid_arguments).
	Error    string
	Messages []string
}

// SlashCommand is a slash command typed by a user.
type SlashCommand struct {
	Command     string // default "/incident"
	Text        string
	UserID      string
	UserName    string // default: the seeded user's handle
	ChannelID   string
	ChannelName string // default: the channel's name
	TeamID      string // default TeamID
	TriggerID   string // generated when empty, valid for views.open for 3 s
	ResponseURL string // generated when empty: a response_url on this fake
}

type wsConn struct {
	n         int
	conn      *websocket.Conn
	wmu       sync.Mutex
	done      chan struct{}
	closeOnce sync.Once
}

func (c *wsConn) writeJSON(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return c.conn.WriteJSON(v)
}

// close closes the TCP connection without a close frame.
func (c *wsConn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		_ = c.conn.Close()
	})
}

// sent is what the fake remembers of an envelope to match its ack.
type sent struct {
	typ      string
	at       time.Time
	user     string
	channel  string
	viewID   string
	timedOut bool
	acked    bool
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	switch {
	case isClosed(s.closed):
		s.mu.Unlock()
		http.Error(w, "closed", http.StatusServiceUnavailable)
		return
	case !s.tickets[ticket]:
		s.mu.Unlock()
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	case len(s.allConns) >= maxConnections:
		s.mu.Unlock()
		http.Error(w, "too_many_websockets", http.StatusTooManyRequests)
		return
	}
	delete(s.tickets, ticket)
	s.mu.Unlock()

	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	if isClosed(s.closed) {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.totalConns++
	c := &wsConn{n: s.totalConns, conn: ws, done: make(chan struct{})}
	s.allConns[c] = true
	s.wg.Add(2)
	hello := map[string]any{
		"type":            "hello",
		"num_connections": len(s.conns) + 1,
		"connection_info": map[string]any{"app_id": AppID},
		"debug_info":      map[string]any{"host": "fake", "build_number": 1, "approximate_connection_time": 18060},
	}

	// List the connection and write hello while holding its write lock, so
	// that hello goes first and the client can be sent envelopes as soon as
	// it has read hello.
	c.wmu.Lock()
	s.conns = append(s.conns, c)
	s.changedLocked()
	s.mu.Unlock()
	_ = ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	err = ws.WriteJSON(hello)
	c.wmu.Unlock()
	go s.readLoop(c)
	go s.pingLoop(c)
	if err != nil {
		c.close()
		return
	}
	s.logf("socket %d connected", c.n)
}

// readLoop reads acks until the connection fails, then forgets it.
func (s *Server) readLoop(c *wsConn) {
	defer s.wg.Done()
	defer s.removeConn(c)
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		s.handleAck(c, data)
	}
}

// pingLoop sends PINGs; slack-go reconnects when they stop.
func (s *Server) pingLoop(c *wsConn) {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			if err := c.conn.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(writeTimeout)); err != nil {
				c.close()
				return
			}
		}
	}
}

func (s *Server) removeConn(c *wsConn) {
	c.close()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.allConns, c)
	s.unlistLocked(c)
}

// unlistLocked stops sending envelopes to c.
func (s *Server) unlistLocked(c *wsConn) {
	for i, x := range s.conns {
		if x == c {
			s.conns = append(s.conns[:i:i], s.conns[i+1:]...)
			s.changedLocked()
			s.logf("socket %d gone", c.n)
			return
		}
	}
}

func (s *Server) handleAck(c *wsConn, data []byte) {
	var msg struct {
		EnvelopeID string          `json:"envelope_id"`
		Payload    json.RawMessage `json:"payload"`
	}
	err := json.Unmarshal(data, &msg)
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.changedLocked()
	ack := Ack{EnvelopeID: msg.EnvelopeID, Payload: msg.Payload, At: s.now(), Conn: c.n}
	if err != nil || msg.EnvelopeID == "" {
		ack.Unknown, ack.Error = true, "invalid_ack"
		s.acks = append(s.acks, ack)
		return
	}
	if len(data) >= maxAckSize {
		ack.Oversized = true
	}
	sn := s.sentByID[msg.EnvelopeID]
	if sn == nil {
		ack.Unknown = true
		s.acks = append(s.acks, ack)
		return
	}
	ack.Type = sn.typ
	ack.Latency = ack.At.Sub(sn.at)
	ack.Duplicate = sn.acked
	ack.Late = sn.timedOut || ack.Latency > triggerTTL
	if !ack.Oversized {
		sn.acked = true
		if !ack.Late && !ack.Duplicate {
			s.applyAckLocked(sn, &ack)
		}
		for _, ch := range s.waiters[msg.EnvelopeID] {
			ch <- ack
		}
		delete(s.waiters, msg.EnvelopeID)
	}
	s.acks = append(s.acks, ack)
	s.logf("ack %s (%s) latency=%s late=%v oversized=%v", ack.EnvelopeID, ack.Type, ack.Latency, ack.Late, ack.Oversized)
}

// applyAckLocked does what Slack does with an ack's payload: a slash
// command's becomes a message to the user, a view_submission's
// response_action updates or pushes a view.
func (s *Server) applyAckLocked(sn *sent, ack *Ack) {
	if len(ack.Payload) == 0 || bytes.Equal(ack.Payload, []byte("null")) {
		return
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(ack.Payload))
	d.UseNumber()
	if d.Decode(&m) != nil || m == nil {
		return
	}
	switch sn.typ {
	case "slash_commands":
		text, _ := m["text"].(string)
		var blocks json.RawMessage
		if b, ok := m["blocks"]; ok && b != nil {
			raw, _ := json.Marshal(b)
			code, msgs, n := checkBlocksJSON(string(raw), "/blocks")
			if code != "" {
				ack.Error, ack.Messages = code, msgs
				return
			}
			if n > 0 {
				blocks = raw
			}
		}
		if text == "" && blocks == nil {
			return
		}
		msg := &message{channel: sn.channel, ts: s.nextTS(), user: BotUserID, text: cutText(text), blocks: blocks, source: "ack"}
		if rt, _ := m["response_type"].(string); rt == "in_channel" {
			if c := s.channels[sn.channel]; c != nil {
				s.appendMessageLocked(c, msg)
				return
			}
		}
		msg.ephemeral, msg.ephemeralUser = true, sn.user
		s.ephemerals = append(s.ephemerals, msg)
	case "interactive":
		action, _ := m["response_action"].(string)
		if action != "update" && action != "push" {
			return
		}
		if msgs := checkView(m["view"], "/view", surfaceModal); len(msgs) > 0 {
			ack.Error, ack.Messages = "invalid_arguments", msgs
			return
		}
		raw, _ := json.Marshal(m["view"])
		vm := m["view"].(map[string]any)
		if action == "update" {
			if v := s.views[sn.viewID]; v != nil {
				s.setViewLocked(v, vm, raw)
			}
			return
		}
		v := &View{ID: s.nextID("V"), User: sn.user, PreviousViewID: sn.viewID, RootViewID: sn.viewID}
		if p := s.views[sn.viewID]; p != nil {
			v.RootViewID = p.RootViewID
		}
		s.setViewLocked(v, vm, raw)
		s.addViewLocked(v)
	}
}

// payloadJSON marshals an envelope payload. slack.InteractionCallback's
// MarshalJSON has a pointer receiver, so a value is marshalled through a
// pointer to keep its state.
func payloadJSON(p any) (json.RawMessage, error) {
	switch v := p.(type) {
	case nil:
		return json.RawMessage("{}"), nil
	case json.RawMessage:
		return v, nil
	case []byte:
		return json.RawMessage(v), nil
	case slack.InteractionCallback:
		return json.Marshal(&v)
	default:
		return json.Marshal(v)
	}
}

// Send delivers an envelope to one connection and waits for its ack, up to
// ctx and Options.AckTimeout (3 s). Without an ack in time it returns
// ErrNoAck, as Slack would show the user an error. A trigger_id in the
// payload becomes valid for views.open for 3 s on Options.Clock.
func (s *Server) Send(ctx context.Context, env Envelope) (Ack, error) {
	raw, err := payloadJSON(env.Payload)
	if err != nil {
		return Ack{}, fmt.Errorf("fakeslack: marshal payload: %w", err)
	}
	if env.ID == "" {
		env.ID = newUUID()
	}
	var head struct {
		TriggerID string `json:"trigger_id"`
		UserID    string `json:"user_id"`
		ChannelID string `json:"channel_id"`
		User      struct {
			ID string `json:"id"`
		} `json:"user"`
		Channel struct {
			ID string `json:"id"`
		} `json:"channel"`
		View struct {
			ID string `json:"id"`
		} `json:"view"`
	}
	_ = json.Unmarshal(raw, &head)
	sn := &sent{typ: env.Type, user: head.UserID, channel: head.ChannelID, viewID: head.View.ID}
	if sn.user == "" {
		sn.user = head.User.ID
	}
	if sn.channel == "" {
		sn.channel = head.Channel.ID
	}

	msg := map[string]any{
		"envelope_id":              env.ID,
		"type":                     env.Type,
		"payload":                  raw,
		"accepts_response_payload": env.AcceptsResponsePayload,
		"retry_attempt":            env.RetryAttempt,
		"retry_reason":             env.RetryReason,
	}
	ch := make(chan Ack, 1)
	s.mu.Lock()
	if isClosed(s.closed) {
		s.mu.Unlock()
		return Ack{}, ErrClosed
	}
	if len(s.conns) == 0 {
		s.mu.Unlock()
		return Ack{}, ErrNotConnected
	}
	c := s.conns[s.rr%len(s.conns)]
	s.rr++
	sn.at = s.now()
	if old := s.sentByID[env.ID]; old != nil {
		sn.acked = old.acked // a redelivery of an acked envelope
	}
	s.sentByID[env.ID] = sn
	s.waiters[env.ID] = append(s.waiters[env.ID], ch)
	s.registerTriggerLocked(head.TriggerID, sn.user)
	s.envelopes = append(s.envelopes, SentEnvelope{
		ID: env.ID, Type: env.Type, Payload: raw, RetryAttempt: env.RetryAttempt,
		RetryReason: env.RetryReason, At: sn.at, Conn: c.n,
	})
	s.changedLocked()
	s.mu.Unlock()
	s.logf("envelope %s (%s) to socket %d", env.ID, env.Type, c.n)

	if err := c.writeJSON(msg); err != nil {
		s.dropWaiter(env.ID, ch, true)
		return Ack{}, fmt.Errorf("%w: write to socket %d: %v", ErrNoAck, c.n, err)
	}
	timer := time.NewTimer(s.opts.AckTimeout)
	defer timer.Stop()
	select {
	case a := <-ch:
		if a.Late {
			return a, ErrNoAck
		}
		return a, nil
	case <-timer.C:
		s.dropWaiter(env.ID, ch, true)
		return Ack{}, ErrNoAck
	case <-ctx.Done():
		s.dropWaiter(env.ID, ch, false)
		return Ack{}, ctx.Err()
	case <-s.closed:
		return Ack{}, ErrClosed
	}
}

// dropWaiter stops waiting for an ack; timedOut marks a later ack as late.
func (s *Server) dropWaiter(id string, ch chan Ack, timedOut bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := s.waiters[id]
	for i, w := range ws {
		if w == ch {
			ws = append(ws[:i:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(s.waiters, id)
	} else {
		s.waiters[id] = ws
	}
	if sn := s.sentByID[id]; sn != nil && timedOut && !sn.acked {
		sn.timedOut = true
	}
}

// SlashCommand sends a slash_commands envelope, as when a user types the
// command, and waits for the ack.
func (s *Server) SlashCommand(ctx context.Context, cmd SlashCommand) (Ack, error) {
	if cmd.Command == "" {
		cmd.Command = "/incident"
	}
	if cmd.TeamID == "" {
		cmd.TeamID = TeamID
	}
	s.mu.Lock()
	if cmd.UserName == "" {
		if u := s.users[cmd.UserID]; u != nil {
			cmd.UserName = u.name
		}
	}
	if cmd.ChannelName == "" {
		if c := s.channels[cmd.ChannelID]; c != nil {
			cmd.ChannelName = c.name
			if c.im {
				cmd.ChannelName = "directmessage"
			}
		}
	}
	if cmd.TriggerID == "" {
		cmd.TriggerID = s.newTriggerID()
	}
	if cmd.ResponseURL == "" {
		cmd.ResponseURL = s.newResponseURLLocked(cmd.ChannelID, cmd.UserID, "")
	}
	s.mu.Unlock()
	// The field names are slack.SlashCommand's json tags.
	payload := map[string]any{
		"token": "fake-verification-token", "team_id": cmd.TeamID, "team_domain": TeamDomain,
		"channel_id": cmd.ChannelID, "channel_name": cmd.ChannelName,
		"user_id": cmd.UserID, "user_name": cmd.UserName,
		"command": cmd.Command, "text": cmd.Text, "api_app_id": AppID,
		"response_url": cmd.ResponseURL, "trigger_id": cmd.TriggerID,
	}
	return s.Send(ctx, Envelope{Type: "slash_commands", Payload: payload, AcceptsResponsePayload: true})
}

// Interactive sends an "interactive" envelope (block_actions,
// view_submission, shortcut...) and waits for the ack. payload is typically
// a slack.InteractionCallback or a map. A missing trigger_id is generated;
// a missing response_url is generated for interactions on a message
// (replace_original and delete_original then act on that message).
func (s *Server) Interactive(ctx context.Context, payload any) (Ack, error) {
	raw, err := payloadJSON(payload)
	if err != nil {
		return Ack{}, fmt.Errorf("fakeslack: marshal payload: %w", err)
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&m); err != nil || m == nil {
		return Ack{}, fmt.Errorf("fakeslack: interactive payload must be a JSON object")
	}
	typ, _ := m["type"].(string)
	get := func(obj, key string) string {
		o, _ := m[obj].(map[string]any)
		v, _ := o[key].(string)
		return v
	}
	s.mu.Lock()
	if t, _ := m["trigger_id"].(string); t == "" && typ != "view_closed" {
		m["trigger_id"] = s.newTriggerID()
	}
	if a, _ := m["api_app_id"].(string); a == "" {
		m["api_app_id"] = AppID
	}
	if get("team", "id") == "" {
		m["team"] = map[string]any{"id": TeamID, "domain": TeamDomain}
	}
	if u, _ := m["response_url"].(string); u == "" {
		chID := get("channel", "id")
		if chID == "" {
			chID = get("container", "channel_id")
		}
		if chID != "" && (typ == "block_actions" || typ == "message_action" || typ == "interactive_message") {
			orig := get("container", "message_ts")
			if orig == "" {
				orig = get("message", "ts")
			}
			m["response_url"] = s.newResponseURLLocked(chID, get("user", "id"), orig)
		}
	}
	s.mu.Unlock()
	raw, err = json.Marshal(m)
	if err != nil {
		return Ack{}, err
	}
	return s.Send(ctx, Envelope{Type: "interactive", Payload: json.RawMessage(raw), AcceptsResponsePayload: typ == "view_submission"})
}

// EventsAPI sends an events_api envelope and waits for the ack. event is
// either a whole event_callback or just the inner event (e.g. a
// member_joined_channel object), which is then wrapped in one.
func (s *Server) EventsAPI(ctx context.Context, event any) (Ack, error) {
	raw, err := payloadJSON(event)
	if err != nil {
		return Ack{}, fmt.Errorf("fakeslack: marshal event: %w", err)
	}
	var head struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(raw, &head)
	if head.Type != "event_callback" && head.Type != "app_rate_limited" {
		raw, err = json.Marshal(map[string]any{
			"token": "fake-verification-token", "team_id": TeamID, "api_app_id": AppID,
			"event": raw, "type": "event_callback", "event_id": "Ev" + randHex(5),
			"event_time": s.now().Unix(), "event_context": randHex(8),
			"authorizations":        []map[string]any{{"team_id": TeamID, "user_id": BotUserID, "is_bot": true, "is_enterprise_install": false}},
			"is_ext_shared_channel": false,
		})
		if err != nil {
			return Ack{}, err
		}
	}
	return s.Send(ctx, Envelope{Type: "events_api", Payload: json.RawMessage(raw)})
}

// Disconnect asks every client to reconnect, as Slack does every few hours:
// a {"type":"disconnect"} message, then a close frame. reason defaults to
// "refresh_requested". The connections get no more envelopes; their sockets
// close when the clients hang up (or after 2 s).
func (s *Server) Disconnect(reason string) {
	if reason == "" {
		reason = "refresh_requested"
	}
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.changedLocked()
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.writeJSON(map[string]any{"type": "disconnect", "reason": reason, "debug_info": map[string]any{"host": "fake"}})
		c.wmu.Lock()
		_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, reason), time.Now().Add(writeTimeout))
		c.wmu.Unlock()
		// Let the reader drain until the client hangs up, so that closing
		// does not reset the connection under unread data.
		_ = c.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	}
}

// DropConnection cuts every Socket Mode connection at the TCP level, with no
// close frame, like a network failure.
func (s *Server) DropConnection() {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.changedLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}
