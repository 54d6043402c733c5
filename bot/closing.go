package bot

import (
	"context"
	"fmt"
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
// files.getUploadURLExternal, the upload itself, then
// files.completeUploadExternal sharing it in the channel with a comment.
func (a *Adapter) Upload(ctx context.Context, channelID string, f playbook.PostmortemFile) (string, error) {
	if len(f.Content) == 0 {
		return "", fmt.Errorf("upload %s: the file is empty", f.Name)
	}
	if len(f.Content) > maxUploadBytes {
		return "", fmt.Errorf("upload %s: %d bytes is over Slack's 1 GB file limit", f.Name, len(f.Content))
	}
	sum, err := a.API.UploadFileContext(ctx, slack.UploadFileParameters{
		Filename:       f.Name,
		FileSize:       len(f.Content),
		Content:        string(f.Content),
		Title:          templates.Truncate(maxFileTitle, f.Title),
		InitialComment: templates.Truncate(maxComment, f.Comment),
		Channel:        channelID,
	})
	if err != nil {
		return "", fmt.Errorf("files.uploadV2: %w", err)
	}
	return sum.ID, nil
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
