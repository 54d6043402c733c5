package fakeslack

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// This file holds the workspace state (users, channels, messages, views...),
// the exported read-only copies of it, and seeding. Everything here is
// guarded by Server.mu.

// Call is one Web API call as the fake saw it.
type Call struct {
	Method string
	At     time.Time // arrival, on Options.Clock
	// Params are the form fields (query and body). For a JSON body they are its
	// top-level fields: strings as they are, other values as JSON text.
	Params url.Values
	Body   json.RawMessage // the raw body of a JSON call
	Status int             // HTTP status sent back
	Error  string          // the "error" of an ok:false answer, "" when ok
	// RetryAfter is the Retry-After announced with a 429, in seconds.
	RetryAfter int
	// EarlyRetry is set when the call repeats (same method and arguments)
	// one refused with a 429 before its Retry-After had run out.
	EarlyRetry bool
	Fault      bool // Options.Fault decided the outcome
}

// OK reports whether the call succeeded.
func (c Call) OK() bool { return c.Status == 200 && c.Error == "" && !c.Fault }

// Bookmark is a channel bookmark added with bookmarks.add.
type Bookmark struct {
	ID, ChannelID, Title, Link, Type, Emoji string
	Created                                 time.Time
}

// Channel is a copy of a conversation's state.
type Channel struct {
	ID, Name, Topic, Purpose string
	Private, Archived        bool
	Members                  []string // in join order
	Bookmarks                []Bookmark
	Pins                     []string // message ts, in pin order
	Creator                  string
	Created                  time.Time
	PreviousNames            []string
}

// Message is a message as a user would see it.
type Message struct {
	Channel, TS, ThreadTS, User, Text string
	Blocks                            json.RawMessage // nil when the message has none
	Metadata                          json.RawMessage
	Edited                            bool
	Ephemeral                         bool
	EphemeralUser                     string
	ReplyBroadcast                    bool
	// Source is how the message came to be: "chat.postMessage",
	// "chat.postEphemeral", "response_url", "ack" (a slash command ack
	// payload), "files.completeUploadExternal" or "user" (AddMessage).
	Source string
	Files  []string // file IDs shared with the message
}

// ResponsePost is one POST to a response_url, accepted or not.
type ResponsePost struct {
	URL             string
	Channel, User   string // from the envelope that issued the URL
	Text            string
	Blocks          json.RawMessage
	ResponseType    string
	ReplaceOriginal bool
	DeleteOriginal  bool
	ThreadTS        string
	At              time.Time
	Status          int    // HTTP status sent back
	Error           string // e.g. "used_url", "expired_url", "invalid_blocks"
	Messages        []string
	Raw             json.RawMessage
}

// View is the current state of a modal (or Home tab) opened through views.*.
type View struct {
	ID, TriggerID, User, CallbackID, PrivateMetadata, Title string
	Blocks                                                  json.RawMessage
	Raw                                                     json.RawMessage // the view object as last sent by the app
	Type, ExternalID, Hash                                  string
	RootViewID, PreviousViewID                              string
	Version                                                 int // 1 when opened, +1 per update
}

// User is a seeded workspace member.
type User struct {
	ID, Name, RealName, Email string
	IsBot                     bool
}

// File is a file uploaded through files.getUploadURLExternal and friends.
type File struct {
	ID, Name, Title string
	Length          int // announced in files.getUploadURLExternal
	Content         []byte
	Uploaded        bool
	Completed       bool
	Channel         string
	ThreadTS        string
}

// SentEnvelope is a Socket Mode envelope the fake sent to a client.
type SentEnvelope struct {
	ID, Type     string
	Payload      json.RawMessage
	RetryAttempt int
	RetryReason  string
	At           time.Time
	Conn         int // connection number, 1-based in order of opening
}

type user struct {
	id, name, realName, email string
	isBot                     bool
}

type userGroup struct {
	id, handle string
	members    []string
}

type channel struct {
	id, name              string
	topic, purpose        string
	topicSet, purposeSet  time.Time
	private, archived, im bool
	imUser                string
	members               []string
	memberSet             map[string]bool
	bookmarks             []Bookmark
	pins                  []string
	creator               string
	created               time.Time
	previousNames         []string
	messages              []*message
	byTS                  map[string]*message
}

func (c *channel) isMember(id string) bool { return c.memberSet[id] }

func (c *channel) addMember(id string) {
	if c.memberSet[id] {
		return
	}
	c.memberSet[id] = true
	c.members = append(c.members, id)
}

type message struct {
	channel, ts, threadTS, user, text string
	blocks, metadata                  json.RawMessage
	edited, ephemeral                 bool
	ephemeralUser                     string
	replyBroadcast                    bool
	source                            string
	files                             []string
	editedTS                          string
}

func (m *message) export() Message {
	return Message{
		Channel: m.channel, TS: m.ts, ThreadTS: m.threadTS, User: m.user, Text: m.text,
		Blocks: slices.Clone(m.blocks), Metadata: slices.Clone(m.metadata),
		Edited: m.edited, Ephemeral: m.ephemeral, EphemeralUser: m.ephemeralUser,
		ReplyBroadcast: m.replyBroadcast, Source: m.source, Files: slices.Clone(m.files),
	}
}

func (c *channel) export() Channel {
	return Channel{
		ID: c.id, Name: c.name, Topic: c.topic, Purpose: c.purpose,
		Private: c.private, Archived: c.archived,
		Members:   slices.Clone(c.members),
		Bookmarks: slices.Clone(c.bookmarks),
		Pins:      slices.Clone(c.pins),
		Creator:   c.creator, Created: c.created,
		PreviousNames: slices.Clone(c.previousNames),
	}
}

// nextID returns a new ID with the given prefix, unique within the server.
// IDs look like Slack's: a type letter followed by upper-case alphanumerics.
func (s *Server) nextID(prefix string) string {
	s.seq[prefix]++
	return fmt.Sprintf("%s%08X", prefix, 0xF0000000+s.seq[prefix])
}

// nextTS returns a message timestamp that is unique and strictly increasing,
// taken from the clock when it moved on and bumped by one microsecond when
// it did not (a ManualClock, or two posts in the same microsecond).
func (s *Server) nextTS() string {
	us := s.now().UnixMicro()
	if us <= s.lastTS {
		us = s.lastTS + 1
	}
	s.lastTS = us
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}

func (s *Server) now() time.Time { return s.clock() }

// rateNow is the time on the rate limits' clock.
func (s *Server) rateNow() time.Time { return s.rateClock() }

// AddUser seeds a workspace member. name is the person's real (and display)
// name; the handle is derived from it.
func (s *Server) AddUser(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addUserLocked(id, name, false)
	s.changedLocked()
}

func (s *Server) addUserLocked(id, name string, bot bool) {
	handle := strings.ToLower(strings.Join(strings.Fields(name), "."))
	if handle == "" {
		handle = strings.ToLower(id)
	}
	if u, ok := s.users[id]; ok {
		u.name, u.realName = handle, name
		return
	}
	s.users[id] = &user{id: id, name: handle, realName: name, isBot: bot}
	s.userOrder = append(s.userOrder, id)
}

// SetUserEmail sets the e-mail address users.lookupByEmail finds the user by.
// The user is created (named after the address) when it does not exist.
func (s *Server) SetUserEmail(id, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[id]; !ok {
		s.addUserLocked(id, strings.Split(email, "@")[0], false)
	}
	s.users[id].email = email
	s.changedLocked()
}

// AddUserGroup seeds a user group (S... id) with the given members.
func (s *Server) AddUserGroup(id, handle string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[id] = &userGroup{id: id, handle: handle, members: slices.Clone(members)}
	s.changedLocked()
}

// AddChannel seeds a pre-existing public channel (for example the announce
// channel) and returns its ID, generating one when id is empty. The bot is
// only a member when BotUserID is among members, as in a real workspace where
// someone has to invite it.
func (s *Server) AddChannel(id, name string, members ...string) string {
	return s.addChannel(id, name, false, members)
}

// AddPrivateChannel seeds a pre-existing private channel, as AddChannel does
// a public one.
func (s *Server) AddPrivateChannel(id, name string, members ...string) string {
	return s.addChannel(id, name, true, members)
}

func (s *Server) addChannel(id, name string, private bool, members []string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		id = s.nextID(map[bool]string{false: "C", true: "G"}[private])
	}
	c := s.newChannelLocked(id, name, private, "USLACKBOT")
	for _, m := range members {
		c.addMember(m)
	}
	s.changedLocked()
	return id
}

// AddMembers puts users in a channel, as when they join it themselves.
// It returns false when the channel does not exist.
func (s *Server) AddMembers(channelID string, userIDs ...string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[channelID]
	if c == nil {
		return false
	}
	for _, u := range userIDs {
		c.addMember(u)
	}
	s.changedLocked()
	return true
}

// ArchiveChannel archives a channel as a person does by hand: posts, edits,
// pins and file shares there then fail with is_archived. It reports whether
// the channel exists.
func (s *Server) ArchiveChannel(channelID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[channelID]
	if c == nil {
		return false
	}
	c.archived = true
	s.changedLocked()
	return true
}

// AddMessage posts a message as a user (not the bot), as when someone types
// in the channel, and returns its ts ("" when the channel does not exist).
// threadTS makes it a reply. The bot cannot edit such messages.
func (s *Server) AddMessage(channelID, userID, threadTS, text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[channelID]
	if c == nil {
		return ""
	}
	root, ok := threadRootLocked(c, threadTS)
	if !ok {
		root = threadTS
	}
	m := &message{channel: c.id, ts: s.nextTS(), threadTS: root, user: userID, text: text, source: "user"}
	s.appendMessageLocked(c, m)
	s.changedLocked()
	return m.ts
}

func (s *Server) newChannelLocked(id, name string, private bool, creator string) *channel {
	c := &channel{
		id: id, name: name, private: private, creator: creator,
		created: s.now(), memberSet: map[string]bool{}, byTS: map[string]*message{},
	}
	if _, exists := s.channels[id]; !exists {
		s.channelOrder = append(s.channelOrder, id)
	}
	s.channels[id] = c
	return c
}

// dmID is the ID of the bot's DM with a user: D and the user ID without its
// U (or W).
func dmID(userID string) string {
	if len(userID) > 1 {
		return "D" + userID[1:]
	}
	return "D" + userID
}

// imChannelLocked returns the DM channel between the bot and a user, creating
// it on first use as chat.postMessage does when given a user ID.
func (s *Server) imChannelLocked(userID string) *channel {
	id := dmID(userID)
	if c, ok := s.channels[id]; ok {
		return c
	}
	c := s.newChannelLocked(id, "", true, BotUserID)
	c.im, c.imUser = true, userID
	c.addMember(BotUserID)
	c.addMember(userID)
	return c
}

// Snapshot gives a consistent view of the server's state to a WaitFor
// condition. Its methods read the state directly (the server's lock is held
// while the condition runs), so they are cheap, but the condition must not
// call the Server's own methods, and the Snapshot must not be kept.
type Snapshot struct{ s *Server }

// Calls returns every Web API call so far, in the order they were answered.
func (n *Snapshot) Calls() []Call { return n.CallsSince(0) }

// CallsSince returns the calls answered after the first k.
func (n *Snapshot) CallsSince(k int) []Call {
	k = min(max(k, 0), len(n.s.calls))
	out := make([]Call, len(n.s.calls)-k)
	for i, c := range n.s.calls[k:] {
		c.Params = cloneValues(c.Params)
		c.Body = slices.Clone(c.Body)
		out[i] = c
	}
	return out
}

// CallsTo returns the calls of one method.
func (n *Snapshot) CallsTo(method string) []Call {
	var out []Call
	for _, c := range n.s.calls {
		if c.Method == method {
			c.Params = cloneValues(c.Params)
			c.Body = slices.Clone(c.Body)
			out = append(out, c)
		}
	}
	return out
}

// Channels returns all channels except DMs, in creation order.
func (n *Snapshot) Channels() []Channel {
	var out []Channel
	for _, id := range n.s.channelOrder {
		if c := n.s.channels[id]; !c.im {
			out = append(out, c.export())
		}
	}
	return out
}

// Channel finds a channel by ID, by name or by "#name".
func (n *Snapshot) Channel(idOrName string) (Channel, bool) {
	c := n.s.findChannelLocked(idOrName, true)
	if c == nil {
		return Channel{}, false
	}
	return c.export(), true
}

// Messages returns the messages everyone in the channel sees (no
// ephemerals), in posting order, thread replies included. A user ID stands
// for the bot's DM with that user.
func (n *Snapshot) Messages(channelID string) []Message {
	c := n.s.findChannelLocked(channelID, true)
	if c == nil {
		if u, ok := n.s.users[channelID]; ok {
			c = n.s.channels[dmID(u.id)]
		}
	}
	if c == nil {
		return nil
	}
	out := make([]Message, 0, len(c.messages))
	for _, m := range c.messages {
		out = append(out, m.export())
	}
	return out
}

// Ephemerals returns the ephemeral messages shown to a user: chat.postEphemeral,
// response_url posts that were not in_channel, and slash command acks that
// carried a message.
func (n *Snapshot) Ephemerals(userID string) []Message {
	var out []Message
	for _, m := range n.s.ephemerals {
		if m.ephemeralUser == userID {
			out = append(out, m.export())
		}
	}
	return out
}

// ResponseURLPostCount is len(ResponseURLPosts()) without copying them: a
// wait on it runs after every change, under the server's lock.
func (n *Snapshot) ResponseURLPostCount() int { return len(n.s.responsePosts) }

// ResponseURLPosts returns every POST to a response_url, in order.
func (n *Snapshot) ResponseURLPosts() []ResponsePost {
	out := make([]ResponsePost, len(n.s.responsePosts))
	for i, p := range n.s.responsePosts {
		p.Blocks = slices.Clone(p.Blocks)
		p.Raw = slices.Clone(p.Raw)
		p.Messages = slices.Clone(p.Messages)
		out[i] = p
	}
	return out
}

// Views returns every view opened, pushed or published, in order, each in
// its latest state.
func (n *Snapshot) Views() []View {
	out := make([]View, 0, len(n.s.viewOrder))
	for _, id := range n.s.viewOrder {
		v := *n.s.views[id]
		v.Blocks = slices.Clone(v.Blocks)
		v.Raw = slices.Clone(v.Raw)
		out = append(out, v)
	}
	return out
}

// Acks returns every Socket Mode ack received, in order, including late,
// oversized and unknown ones (see the Ack fields).
func (n *Snapshot) Acks() []Ack {
	out := make([]Ack, len(n.s.acks))
	for i, a := range n.s.acks {
		a.Payload = slices.Clone(a.Payload)
		out[i] = a
	}
	return out
}

// Envelopes returns every envelope sent to a client, in order.
func (n *Snapshot) Envelopes() []SentEnvelope {
	out := make([]SentEnvelope, len(n.s.envelopes))
	for i, e := range n.s.envelopes {
		e.Payload = slices.Clone(e.Payload)
		out[i] = e
	}
	return out
}

// Files returns the uploaded files, in order.
func (n *Snapshot) Files() []File {
	out := make([]File, 0, len(n.s.fileOrder))
	for _, id := range n.s.fileOrder {
		f := *n.s.files[id]
		f.Content = slices.Clone(f.Content)
		out = append(out, f)
	}
	return out
}

// EarlyRetries counts retries (same method and arguments) of a call refused
// with a 429 that came before its Retry-After ran out.
func (n *Snapshot) EarlyRetries() int { return n.s.earlyRetries }

// Connections is the number of open Socket Mode connections that got hello.
func (n *Snapshot) Connections() int { return len(n.s.conns) }

// TotalConnections counts every Socket Mode connection ever opened, so a
// test can wait for a reconnect.
func (n *Snapshot) TotalConnections() int { return n.s.totalConns }

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// findChannelLocked looks a channel up by ID, or by name when byName is set
// (chat.postMessage accepts names; the conversations.* methods do not).
func (s *Server) findChannelLocked(ref string, byName bool) *channel {
	if c, ok := s.channels[ref]; ok {
		return c
	}
	if !byName {
		return nil
	}
	name := strings.TrimPrefix(ref, "#")
	for _, id := range s.channelOrder {
		if c := s.channels[id]; !c.im && c.name == name {
			return c
		}
	}
	return nil
}

// The inspection methods below take the lock and return copies.

func (s *Server) snapshot(f func(n *Snapshot)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&Snapshot{s: s})
}

// Calls returns every Web API call so far, in the order they were answered.
func (s *Server) Calls() (out []Call) { s.snapshot(func(n *Snapshot) { out = n.Calls() }); return }

// CallsSince returns the calls answered after the first n, in the order
// they were answered: what happened since an earlier len(Calls()).
func (s *Server) CallsSince(n int) (out []Call) {
	s.snapshot(func(sn *Snapshot) { out = sn.CallsSince(n) })
	return
}

// CallsTo returns the calls of one method.
func (s *Server) CallsTo(method string) (out []Call) {
	s.snapshot(func(n *Snapshot) { out = n.CallsTo(method) })
	return
}

// Channels returns all channels except DMs, in creation order.
func (s *Server) Channels() (out []Channel) {
	s.snapshot(func(n *Snapshot) { out = n.Channels() })
	return
}

// Channel finds a channel by ID, name or "#name".
func (s *Server) Channel(idOrName string) (c Channel, ok bool) {
	s.snapshot(func(n *Snapshot) { c, ok = n.Channel(idOrName) })
	return
}

// Messages returns the non-ephemeral messages of a channel (or of the bot's
// DM with a user, given the user's ID).
func (s *Server) Messages(channelID string) (out []Message) {
	s.snapshot(func(n *Snapshot) { out = n.Messages(channelID) })
	return
}

// Ephemerals returns the ephemeral messages shown to a user.
func (s *Server) Ephemerals(userID string) (out []Message) {
	s.snapshot(func(n *Snapshot) { out = n.Ephemerals(userID) })
	return
}

// ResponseURLPosts returns every POST to a response_url.
func (s *Server) ResponseURLPosts() (out []ResponsePost) {
	s.snapshot(func(n *Snapshot) { out = n.ResponseURLPosts() })
	return
}

// Views returns every view opened, pushed or published, in its latest state.
func (s *Server) Views() (out []View) { s.snapshot(func(n *Snapshot) { out = n.Views() }); return }

// Acks returns every Socket Mode ack received.
func (s *Server) Acks() (out []Ack) { s.snapshot(func(n *Snapshot) { out = n.Acks() }); return }

// Envelopes returns every envelope sent to a client.
func (s *Server) Envelopes() (out []SentEnvelope) {
	s.snapshot(func(n *Snapshot) { out = n.Envelopes() })
	return
}

// Files returns the uploaded files.
func (s *Server) Files() (out []File) { s.snapshot(func(n *Snapshot) { out = n.Files() }); return }

// EarlyRetries counts retries (same method and arguments) of a call refused
// with a 429 that came before its Retry-After ran out. A well-behaved client
// keeps it at 0.
func (s *Server) EarlyRetries() (k int) {
	s.snapshot(func(n *Snapshot) { k = n.EarlyRetries() })
	return
}
