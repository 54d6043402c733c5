package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/sync/singleflight"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

// Slack limits the adapter respects.
const (
	maxTopic          = 250
	maxSectionText    = 3000
	maxHeader         = 150
	groupCacheTTL     = 5 * time.Minute
	maxInvitesPerCall = 1000
)

// Adapter implements playbook.Channels and playbook.Poster with slack-go.
// Retries of 429 (after Retry-After) and 5xx (with backoff) happen inside the
// slack-go client built by NewClient; errors reaching here are final.
type Adapter struct {
	API       *slack.Client
	Templates *templates.Set
	// BotUserID is Klaxon's own user, never invited (Slack refuses cant_invite_self).
	BotUserID string
	// AnnounceChannel receives every declaration.
	AnnounceChannel string
	Clock           playbook.Clock

	mu     sync.Mutex
	groups map[string]groupEntry // user-group ID -> members, cached: usergroups.users.list is Tier 2
	// groupCalls joins callers asking for the same group at once (the
	// expansion started beside conversations.create and the invite).
	groupCalls singleflight.Group
	names      map[string]nameEntry // user ID -> display name, cached
}

type groupEntry struct {
	members []string
	at      time.Time
}

var (
	_ playbook.Channels = (*Adapter)(nil)
	_ playbook.Poster   = (*Adapter)(nil)
	_ playbook.Triage   = (*Adapter)(nil)
)

// NewClient builds the slack-go client Klaxon uses, paced at Slack's
// documented limits (see NewPacedClient). Build one and share it: the pacing
// and the Retry-After holds live in it.
func NewClient(botToken, appToken, apiURL string, extra ...slack.Option) *slack.Client {
	return NewPacedClient(botToken, appToken, apiURL, Pace{}, extra...)
}

// NewPacedClient builds the slack-go client: the API URL from config (it
// must end with "/"), calls paced per method tier and per channel for
// chat.postMessage, and retries for rate limits, server errors and dropped
// connections. slack-go honours Retry-After and only adds jitter on top of
// it, so a retry is never early.
func NewPacedClient(botToken, appToken, apiURL string, pace Pace, extra ...slack.Option) *slack.Client {
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	cfg := slack.RetryConfig{
		MaxRetries:         8,               // persistent: at 2 a.m. Slack may be struggling too
		RetryAfterDuration: 5 * time.Second, // when a 429 comes without Retry-After
		RetryAfterJitter:   250 * time.Millisecond,
		BackoffInitial:     100 * time.Millisecond,
		BackoffMax:         3 * time.Second,
		BackoffJitter:      100 * time.Millisecond,
	}
	cfg.Handlers = []slack.RetryHandler{
		guardedRetry{slack.NewConnectionErrorRetryHandler()},
		guardedRetry{slack.NewRateLimitErrorRetryHandler(cfg)},
		guardedRetry{slack.NewServerErrorRetryHandler(cfg)},
	}
	opts := append([]slack.Option{
		// The gate paces calls at Slack's limits, holds what Slack
		// rate-limited until its Retry-After passed, and bounds every
		// call (callTimeout).
		slack.OptionHTTPClient(&http.Client{Transport: newRateGate(pace.Transport, pace)}),
		slack.OptionAPIURL(apiURL),
		slack.OptionAppLevelToken(appToken),
		slack.OptionRetryConfig(cfg),
	}, extra...)
	return slack.New(botToken, opts...)
}

// Create implements playbook.Channels.
func (a *Adapter) Create(ctx context.Context, name string, private bool) (playbook.ChannelRef, error) {
	ch, err := a.API.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: name, IsPrivate: private})
	if err != nil {
		if isSlackError(err, "name_taken") {
			return playbook.ChannelRef{}, fmt.Errorf("conversations.create %s: %w", name, playbook.ErrNameTaken)
		}
		return playbook.ChannelRef{}, fmt.Errorf("conversations.create: %w", err)
	}
	return playbook.ChannelRef{ID: ch.ID, Name: ch.Name}, nil
}

// maxListPages bounds the conversations.list scan in Find (1,000 channels a
// page). Find only runs to recover an interrupted declaration.
const maxListPages = 50

// Find implements playbook.Channels with conversations.list. It is only
// called after name_taken on a name an interrupted attempt may have created.
func (a *Adapter) Find(ctx context.Context, name string) (playbook.FoundChannel, error) {
	cursor := ""
	for range maxListPages {
		chans, next, err := a.API.GetConversationsContext(ctx, &slack.GetConversationsParameters{
			Cursor: cursor, ExcludeArchived: true, Limit: 1000, Types: []string{"public_channel", "private_channel"},
		})
		if err != nil {
			return playbook.FoundChannel{}, fmt.Errorf("conversations.list: %w", err)
		}
		for _, c := range chans {
			if c.Name == name {
				return playbook.FoundChannel{
					Ref:      playbook.ChannelRef{ID: c.ID, Name: c.Name},
					Created:  c.Created.Time(),
					ByKlaxon: c.Creator == a.BotUserID,
				}, nil
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return playbook.FoundChannel{}, playbook.ErrNotFound
}

// SetTopic implements playbook.Channels.
func (a *Adapter) SetTopic(ctx context.Context, b playbook.Briefing) error {
	topic, err := a.Templates.Render("topic.tmpl", b)
	if err != nil {
		return err
	}
	if _, err := a.API.SetTopicOfConversationContext(ctx, b.Incident.Channel.ID, templates.Truncate(maxTopic, topic)); err != nil {
		return fmt.Errorf("conversations.setTopic: %w", err)
	}
	return nil
}

// SetPurpose implements playbook.Channels.
func (a *Adapter) SetPurpose(ctx context.Context, b playbook.Briefing) error {
	purpose, err := a.Templates.Render("purpose.tmpl", b)
	if err != nil {
		return err
	}
	if _, err := a.API.SetPurposeOfConversationContext(ctx, b.Incident.Channel.ID, templates.Truncate(maxTopic, purpose)); err != nil {
		return fmt.Errorf("conversations.setPurpose: %w", err)
	}
	return nil
}

// Invite implements playbook.Channels: user groups (S…) are expanded, the bot
// itself is left out, and everyone goes in one conversations.invite with
// force, so one unknown ID does not keep the others out.
func (a *Adapter) Invite(ctx context.Context, channelID string, ids []string) error {
	users, err := a.expand(ctx, ids)
	if err != nil {
		return err
	}
	if len(users) == 0 {
		return nil
	}
	for start := 0; start < len(users); start += maxInvitesPerCall {
		batch := users[start:min(start+maxInvitesPerCall, len(users))]
		_, err := a.API.ForceInviteUsersToConversationContext(ctx, channelID, batch...)
		var serr slack.SlackErrorResponse
		if errors.As(err, &serr) && serr.Err == "already_in_channel" {
			continue
		}
		if err != nil {
			return fmt.Errorf("conversations.invite: %w", err)
		}
	}
	return nil
}

// expand turns user-group IDs into their members and drops duplicates and the bot.
func (a *Adapter) expand(ctx context.Context, ids []string) ([]string, error) {
	seen := map[string]bool{a.BotUserID: true}
	var out []string
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, id := range ids {
		if !strings.HasPrefix(id, "S") {
			add(id)
			continue
		}
		members, err := a.groupMembers(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			add(m)
		}
	}
	return out, nil
}

// GroupMembers implements playbook.Directory: the members, from the cache
// while fresh, else read from Slack (for invites).
func (a *Adapter) GroupMembers(ctx context.Context, id string) ([]string, error) {
	return a.groupMembers(ctx, id)
}

func (a *Adapter) groupMembers(ctx context.Context, id string) ([]string, error) {
	now := a.Clock.Now()
	a.mu.Lock()
	e, ok := a.groups[id]
	a.mu.Unlock()
	if ok && now.Sub(e.at) < groupCacheTTL {
		return e.members, nil
	}
	v, err, _ := a.groupCalls.Do(id, func() (any, error) {
		members, err := a.API.GetUserGroupMembersContext(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("usergroups.users.list %s: %w", id, err)
		}
		a.mu.Lock()
		if a.groups == nil {
			a.groups = map[string]groupEntry{}
		}
		a.groups[id] = groupEntry{members: members, at: now}
		a.mu.Unlock()
		return members, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]string), nil
}

// AddBookmark implements playbook.Channels.
func (a *Adapter) AddBookmark(ctx context.Context, channelID, title, link string) error {
	_, err := a.API.AddBookmarkContext(ctx, channelID, slack.AddBookmarkParameters{Title: templates.Truncate(100, title), Type: "link", Link: link, Emoji: a.say("adapter.bookmark_emoji", nil)})
	if err != nil {
		return fmt.Errorf("bookmarks.add: %w", err)
	}
	return nil
}

// Pin implements playbook.Channels.
func (a *Adapter) Pin(ctx context.Context, m playbook.MessageRef) error {
	err := a.API.AddPinContext(ctx, m.Channel, slack.NewRefToMessage(m.Channel, m.TS))
	if err != nil && !isSlackError(err, "already_pinned") {
		return fmt.Errorf("pins.add: %w", err)
	}
	return nil
}

// PostIntro implements playbook.Poster.
func (a *Adapter) PostIntro(ctx context.Context, b playbook.Briefing) (playbook.MessageRef, error) {
	blocks, fallback, err := a.introBlocks(b)
	if err != nil {
		return playbook.MessageRef{}, err
	}
	return a.post(ctx, b.Incident.Channel.ID, fallback, blocks)
}

// Announce implements playbook.Poster.
func (a *Adapter) Announce(ctx context.Context, b playbook.Briefing) (playbook.MessageRef, error) {
	blocks, fallback, err := a.announceBlocks(b)
	if err != nil {
		return playbook.MessageRef{}, err
	}
	return a.post(ctx, a.AnnounceChannel, fallback, blocks)
}

// announceBlocks renders the announcement from the incident, so an edit
// (a severity change during the setup) renders it the same way.
func (a *Adapter) announceBlocks(b playbook.Briefing) ([]slack.Block, string, error) {
	tmpl := "announce.tmpl"
	if b.Incident.Private {
		tmpl = "announce_private.tmpl"
	}
	body, err := a.Templates.Render(tmpl, b)
	if err != nil {
		return nil, "", err
	}
	blocks := []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, templates.Truncate(maxSectionText, body), false, false), nil, nil, slack.SectionBlockOptionBlockID("announce")),
	}
	return blocks, a.say("adapter.announce_fallback", b), nil
}

// Notice implements playbook.Poster: the notice's words come from
// notice.tmpl.
func (a *Adapter) Notice(ctx context.Context, channelID string, n playbook.Notice) error {
	text, err := a.Templates.RenderNotice(n)
	if err != nil {
		return err
	}
	return a.postText(ctx, channelID, text)
}

// postText posts a short mrkdwn text in a channel, cut to a section's limit.
func (a *Adapter) postText(ctx context.Context, channelID, text string) error {
	_, _, err := a.postMessage(ctx, channelID, "", slack.MsgOptionText(templates.Truncate(maxSectionText, text), false))
	if isSlackError(err, "is_archived") || isSlackError(err, "channel_not_found") {
		return fmt.Errorf("chat.postMessage: %w: %w", playbook.ErrChannelGone, err)
	}
	if err != nil {
		return fmt.Errorf("chat.postMessage: %w", err)
	}
	return nil
}

func (a *Adapter) post(ctx context.Context, channel, fallback string, blocks []slack.Block) (playbook.MessageRef, error) {
	ch, ts, err := a.postMessage(ctx, channel, "", slack.MsgOptionText(fallback, false), slack.MsgOptionBlocks(blocks...))
	if err != nil {
		return playbook.MessageRef{}, fmt.Errorf("chat.postMessage: %w", err)
	}
	return playbook.MessageRef{Channel: ch, TS: ts}, nil
}

func isSlackError(err error, code string) bool {
	var serr slack.SlackErrorResponse
	return errors.As(err, &serr) && serr.Err == code
}

// mention formats user and user-group IDs for a message.
func mention(ids []string) string { return templates.Mention(ids) }

// splitText cuts s into pieces of at most max runes, at line ends where it
// can, never inside a rune or an HTML entity that Escape wrote.
func splitText(s string, max int) []string {
	var out []string
	for s != "" {
		r := []rune(s)
		if len(r) <= max {
			out = append(out, s)
			break
		}
		cut := string(r[:max])
		if i := strings.LastIndexByte(cut, '\n'); i > len(cut)/2 {
			cut = cut[:i+1]
		} else if i := strings.LastIndexByte(cut, '&'); i >= 0 && !strings.Contains(cut[i:], ";") {
			cut = cut[:i]
		}
		out = append(out, strings.TrimRight(cut, "\n"))
		s = s[len(cut):]
	}
	return out
}

// say renders template name with data for the Adapter's posts. The
// defaults are tested to render (TestEveryTemplateWithHostileInput); an
// operator's override that fails says nothing rather than half a sentence.
func (a *Adapter) say(name string, data any) string { return say(a.Templates, name, data) }

// say renders template name of words with data, for the renderers that
// are pure functions of their data (the deploys, the gates, the offers).
// The defaults are tested to render; an override that fails says nothing.
func say(words *templates.Set, name string, data any) string {
	text, _ := words.Render(name, data)
	return text
}
