package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

// Closing: /incident close shares the post-mortem outline and archives the
// channel (with a retry button for the steps that failed); /incident tag
// and /incident postmortem done. The Adapter's side of it (the upload, the
// archive) follows.

func init() {
	register(feature{
		commands: []subcommand{
			{Name: "close", Topic: "closing", Handle: (*Bot).onClose, Forms: []form{
				{Usage: "close [root cause]", Key: "close"}}},
			{Name: "tag", Topic: "closing", Handle: (*Bot).onTag, Forms: []form{
				{Usage: "tag <root cause>", Key: "tag"}}},
			{Name: "postmortem", Topic: "closing", Handle: (*Bot).onPostmortem, Forms: []form{
				{Usage: "postmortem done <link>", Key: "postmortem"}}},
		},
		actions: map[string]actionHandler{actionRetryClose: (*Bot).onRetryClose},
	})
}

const actionRetryClose = "klaxon_retry_close"

// onClose handles "/incident close [root cause tag]".
func (b *Bot) onClose(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) {
	inc, rest, ok := b.incidentFor(ctx, req, sc, arg, received)
	if !ok {
		return
	}
	// The close is recorded before the ack, like every change, so an acked
	// close is never lost to a crash; the Slack and GitHub steps follow.
	reply := b.replyFor(ctx, req, received, sc.ResponseURL, sc.UserID)
	inc, applied, err := b.App.Close(ctx, inc.Number, playbook.CloseRequest{Key: "env:" + req.EnvelopeID, Actor: sc.UserID, Tag: Plain(rest)})
	if err != nil {
		reply(b.errText(err))
		b.logDomainError("close", sc.UserID, err)
		return
	}
	if !applied {
		reply("")
		return
	}
	reply(b.words("closing.closing", map[string]any{"Incident": inc.Number}))
	b.finishClose(ctx, inc.Number, false, sc.ResponseURL)
}

func (b *Bot) finishClose(ctx context.Context, n int64, force bool, responseURL string) {
	res, err := b.App.FinishClose(ctx, n, force)
	if err != nil {
		b.log().Error("closing", "incident", n, "err", err)
		b.tellUser(ctx, responseURL, b.words("closing.not_recorded", map[string]any{"Error": b.errText(err)}))
		return
	}
	inc := res.Incident
	if res.NotPublished != "" {
		if note, err := b.Templates.Render("closing.not_published", res); err == nil {
			b.tellUser(ctx, responseURL, note)
		}
	}
	if len(res.Failed) == 0 {
		return
	}
	type failure struct{ Step, Err string }
	var failed []failure
	for step, err := range res.Failed {
		failed = append(failed, failure{step, oneLine(err.Error(), 150)})
	}
	text := b.words("closing.failed", map[string]any{"Incident": n, "Failed": failed})
	if inc.Closure != nil && !inc.Closure.Archived.IsZero() {
		b.tellUser(ctx, responseURL, text)
		return
	}
	btn := slack.NewButtonBlockElement(actionRetryClose, fmt.Sprint(n), plainText(b.words("closing.button_retry", nil)))
	if _, _, err := b.API.PostMessageContext(ctx, inc.Channel.ID, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(
		slack.NewSectionBlock(mrkdwn(text), nil, nil, slack.SectionBlockOptionBlockID("close_failed")),
		slack.NewActionBlock("close_retry", btn),
	)); err != nil {
		b.tellUser(ctx, responseURL, text)
	}
}

func (b *Bot) onRetryClose(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time) {
	b.ack(req, nil, received)
	n, _, ok := numberValue(act.Value)
	if !ok {
		return
	}
	inc, err := b.App.IncidentFor(ctx, n, playbook.Viewer{User: cb.User.ID, Channel: cb.Channel.ID})
	if err != nil {
		return
	}
	b.readGroups(ctx, cb.User.ID, nil) // acked above
	if err := b.App.MayManage(ctx, inc, cb.User.ID, playbook.ActClose); err != nil {
		b.tellUser(ctx, cb.ResponseURL, b.errText(err))
		return
	}
	b.finishClose(ctx, n, true, cb.ResponseURL)
}

// onTag handles "/incident tag [#N] <root cause>".
func (b *Bot) onTag(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) {
	inc, rest, ok := b.incidentFor(ctx, req, sc, arg, received)
	if !ok {
		return
	}
	reply := b.replyFor(ctx, req, received, sc.ResponseURL, sc.UserID)
	inc, _, err := b.App.SetRootCause(ctx, inc.Number, Plain(rest), sc.UserID, "env:"+req.EnvelopeID)
	if err != nil {
		reply(b.errText(err))
		b.logDomainError("tag", sc.UserID, err)
		return
	}
	reply(b.words("closing.tagged", inc))
}

// onPostmortem handles "/incident postmortem done [#N] <link>".
func (b *Bot) onPostmortem(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) {
	words := strings.Fields(arg)
	if len(words) == 0 || !strings.EqualFold(words[0], "done") {
		b.ack(req, ephemeral(b.words("closing.postmortem_usage", map[string]any{"Command": b.Command})), received)
		return
	}
	inc, rest, ok := b.incidentFor(ctx, req, sc, tail(arg, 1), received)
	if !ok {
		return
	}
	link := strings.TrimSpace(rest)
	if m := slackLink.FindStringSubmatch(link); m != nil {
		link = m[1] // Slack sends links as <https://…>
	}
	reply := b.replyFor(ctx, req, received, sc.ResponseURL, sc.UserID)
	_, applied, err := b.App.PostmortemDone(ctx, inc.Number, link, sc.UserID, "env:"+req.EnvelopeID)
	switch {
	case err != nil:
		reply(b.errText(err))
		b.logDomainError("post-mortem done", sc.UserID, err)
	case !applied:
		reply("")
	default:
		reply(b.words("closing.postmortem_done", map[string]any{"Incident": inc.Number}))
	}
}

var (
	_ playbook.Closing = (*Adapter)(nil)
	_ playbook.People  = (*Adapter)(nil)
)

// Slack's file limits: a file is at most 1 GB; Klaxon's outline is far
// smaller, but an outline over the limit is refused here with a clear
// error rather than halfway through the three-step upload.
var (
	errEmptyFile    = errors.New("empty file")
	errFileTooLarge = errors.New("over 1 GB")
)

const (
	maxUploadBytes = 1 << 30
	maxFileTitle   = 255
	maxComment     = 4000
)

// Upload implements playbook.Closing with the files.uploadV2 flow:
// files.getUploadURLExternal, the upload itself, then (after started has
// recorded the file ID) files.completeUploadExternal sharing it in the
// channel with a comment.
func (a *Adapter) Upload(ctx context.Context, channelID string, f playbook.PostmortemFile, started func(fileID string) error) (string, error) {
	if len(f.Content) == 0 {
		return "", fmt.Errorf("upload %s: %w", f.Name, errEmptyFile)
	}
	if len(f.Content) > maxUploadBytes {
		return "", fmt.Errorf("upload %s (%d bytes): %w", f.Name, len(f.Content), errFileTooLarge)
	}
	u, err := a.API.GetUploadURLExternalContext(ctx, slack.GetUploadURLExternalParameters{FileName: f.Name, FileSize: len(f.Content)})
	if err != nil {
		return "", fmt.Errorf("files.getUploadURLExternal: %w", err)
	}
	if err := a.API.UploadToURL(ctx, slack.UploadToURLParameters{UploadURL: u.UploadURL, Reader: bytes.NewReader(f.Content), Filename: f.Name}); err != nil {
		return "", fmt.Errorf("uploading the file: %w", err)
	}
	title, err := a.Templates.Render("closing.outline_title", f.Share)
	if err != nil {
		return "", err
	}
	comment, err := a.Templates.Render("closing.outline_comment", f.Share)
	if err != nil {
		return "", err
	}
	if started != nil {
		if err := started(u.FileID); err != nil {
			return "", fmt.Errorf("recording the upload: %w", err)
		}
	}
	_, err = a.API.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{
		Files:          []slack.FileSummary{{ID: u.FileID, Title: templates.Truncate(maxFileTitle, title)}},
		Channel:        channelID,
		InitialComment: templates.Truncate(maxComment, comment),
	})
	if isSlackError(err, "is_archived") || isSlackError(err, "channel_not_found") {
		return "", fmt.Errorf("files.completeUploadExternal: %w: %w", playbook.ErrChannelGone, err)
	}
	if err != nil {
		return "", fmt.Errorf("files.completeUploadExternal: %w", err)
	}
	return u.FileID, nil
}

// DirectChannel implements playbook.Closing with conversations.open.
func (a *Adapter) DirectChannel(ctx context.Context, user string) (string, error) {
	dm, _, _, err := a.API.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
	if err != nil {
		return "", fmt.Errorf("conversations.open: %w", err)
	}
	return dm.ID, nil
}

// ChannelGone implements playbook.Closing: a line under the announcement
// (in the announce channel when there is none).
func (a *Adapter) ChannelGone(ctx context.Context, b playbook.Briefing, user string) error {
	inc := b.Incident
	text := a.say("closing.channel_gone", map[string]any{"Incident": inc.Number, "User": user})
	opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
	if !inc.Announcement.Zero() {
		opts = append(opts, slack.MsgOptionTS(inc.Announcement.TS))
	}
	if _, _, err := a.API.PostMessageContext(ctx, a.AnnounceChannel, opts...); err != nil {
		return fmt.Errorf("chat.postMessage (channel archived by hand): %w", err)
	}
	return nil
}

// Shared implements playbook.Closing with files.info: whether the file is
// shared in the channel (public channels list it in channels, private ones
// in groups).
func (a *Adapter) Shared(ctx context.Context, channelID, fileID string) (bool, error) {
	file, _, _, err := a.API.GetFileInfoContext(ctx, fileID, 0, 0)
	if isSlackError(err, "file_not_found") || isSlackError(err, "file_deleted") {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("files.info: %w", err)
	}
	return slices.Contains(file.Channels, channelID) || slices.Contains(file.Groups, channelID), nil
}

// Archive implements playbook.Closing; an already archived channel is done.
func (a *Adapter) Archive(ctx context.Context, channelID string) error {
	err := a.API.ArchiveConversationContext(ctx, channelID)
	if err != nil && !isSlackError(err, "already_archived") {
		return fmt.Errorf("conversations.archive: %w", err)
	}
	return nil
}

// namesTTL bounds how long a display name is trusted.
const namesTTL = time.Hour

// Names implements playbook.People with users.info, cached: people's names
// go in documents read outside Slack, where a mention does not resolve.
// Unknown users keep their ID.
func (a *Adapter) Names(ctx context.Context, ids []string) map[string]string {
	out := make(map[string]string, len(ids))
	now := time.Now()
	for _, id := range ids {
		a.mu.Lock()
		e, ok := a.names[id]
		a.mu.Unlock()
		if ok && now.Sub(e.at) < namesTTL {
			out[id] = e.name
			continue
		}
		u, err := a.API.GetUserInfoContext(ctx, id)
		if err != nil {
			continue
		}
		name := u.Profile.DisplayName
		if name == "" {
			name = u.RealName
		}
		if name == "" {
			name = u.Name
		}
		a.mu.Lock()
		if a.names == nil {
			a.names = map[string]nameEntry{}
		}
		a.names[id] = nameEntry{name: name, at: now}
		a.mu.Unlock()
		out[id] = name
	}
	return out
}

type nameEntry struct {
	name string
	at   time.Time
}
