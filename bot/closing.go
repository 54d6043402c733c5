package bot

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/slack-go/slack"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

var (
	_ playbook.Closing = (*Adapter)(nil)
	_ playbook.People  = (*Adapter)(nil)
)

// Slack's file limits: a file is at most 1 GB; Klaxon's outline is far
// smaller, but an outline over the limit is refused here with a clear
// error rather than halfway through the three-step upload.
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
		return "", fmt.Errorf("upload %s: the file is empty", f.Name)
	}
	if len(f.Content) > maxUploadBytes {
		return "", fmt.Errorf("upload %s: %d bytes is over Slack's 1 GB file limit", f.Name, len(f.Content))
	}
	u, err := a.API.GetUploadURLExternalContext(ctx, slack.GetUploadURLExternalParameters{FileName: f.Name, FileSize: len(f.Content)})
	if err != nil {
		return "", fmt.Errorf("files.getUploadURLExternal: %w", err)
	}
	if err := a.API.UploadToURL(ctx, slack.UploadToURLParameters{UploadURL: u.UploadURL, Reader: bytes.NewReader(f.Content), Filename: f.Name}); err != nil {
		return "", fmt.Errorf("uploading the file: %w", err)
	}
	if started != nil {
		if err := started(u.FileID); err != nil {
			return "", fmt.Errorf("recording the upload: %w", err)
		}
	}
	_, err = a.API.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{
		Files:          []slack.FileSummary{{ID: u.FileID, Title: templates.Truncate(maxFileTitle, f.Title)}},
		Channel:        channelID,
		InitialComment: templates.Truncate(maxComment, f.Comment),
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
	text := fmt.Sprintf(":file_folder: Incident #%d's channel was archived by hand before the close: its post-mortem outline and reminders go to <@%s> by DM.", inc.Number, user)
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
