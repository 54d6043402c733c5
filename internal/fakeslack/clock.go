package fakeslack

import (
	"context"
	"sync"
	"time"
)

// ManualClock is a clock that only moves when told to. Pass its Now method as
// Options.Clock so that tests can expire trigger_ids, response_urls and
// rate-limit windows deterministically instead of sleeping.
//
// As Options.RateClock shared with the client's pacing (bot.Pace.Clock), it
// is moved by the waits themselves: Sleep advances it and returns at once,
// so a call paced at Slack's limits reaches the fake at the time it would
// have, without the test waiting.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a clock stopped at start.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start}
}

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Sleep is a wait of d on this clock: it moves the clock forward by d and
// returns at once (or ctx's error if it has ended). Sleepers waiting at the
// same time each move it, so it may run ahead of the latest of them: a
// paced client then finds its limits refilled more than it expected, never
// less.
func (c *ManualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d > 0 {
		c.Advance(d)
	}
	return nil
}
