package playbook

import (
	"context"
	"time"
)

// KeyRetention is how long an idempotency key is kept. Slack redelivers an
// envelope within minutes and a person double-clicks within seconds; a
// week is far beyond both, and keeps the keys from growing forever.
const KeyRetention = 7 * 24 * time.Hour

// PruneKeys forgets the idempotency keys older than KeyRetention at now.
// The daily sweep calls it.
func (a *App) PruneKeys(ctx context.Context, now time.Time) (int, error) {
	return a.deps.Store.PruneKeys(ctx, now.Add(-KeyRetention))
}
