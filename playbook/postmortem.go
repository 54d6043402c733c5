package playbook

import (
	"context"
	"time"
)

// People resolves Slack user IDs to display names for documents read outside
// Slack (a mention does not resolve in a Markdown file).
type People interface {
	Names(ctx context.Context, ids []string) map[string]string
}

// Postmortem is everything the post-mortem outline shows, computed from an
// incident and its timeline. PLACEHOLDER: the full view and BuildPostmortem
// are being written in this file.
type Postmortem struct {
	Incident    Incident
	GeneratedAt time.Time
}

// BuildPostmortem gathers the outline's content for inc at now.
func (a *App) BuildPostmortem(inc Incident, events []Event, names map[string]string, now time.Time) Postmortem {
	return Postmortem{Incident: inc, GeneratedAt: now.UTC()}
}
