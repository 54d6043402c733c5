package demo

import (
	"sync"
	"time"
)

// Clock is the demo's fast clock: it runs at the wall clock's pace from a
// fixed start, and the script jumps it forward (Advance) over the minutes an
// incident spends waiting, so a whole SEV1 plays in seconds. Running in real
// time between jumps keeps what Slack times in real seconds (a trigger_id's
// 3 s, a Retry-After) working as it does on Slack.
type Clock struct {
	mu      sync.Mutex
	start   time.Time // the demo time at realStart
	real0   time.Time
	offset  time.Duration
	onJump  []func()
	realNow func() time.Time
}

// NewClock returns a clock that reads start now and runs on from there.
func NewClock(start time.Time) *Clock {
	return &Clock{start: start, real0: time.Now(), realNow: time.Now}
}

// Now is the demo time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.start.Add(c.realNow().Sub(c.real0) + c.offset)
}

// Advance jumps the clock forward by d and calls the OnJump functions (the
// scheduler's wake-up), so deadlines that fell due in the jump fire now.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	fns := append([]func(){}, c.onJump...)
	c.mu.Unlock()
	for _, f := range fns {
		f()
	}
}

// OnJump registers f to run after every Advance.
func (c *Clock) OnJump(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onJump = append(c.onJump, f)
}
