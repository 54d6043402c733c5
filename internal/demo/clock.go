package demo

import (
	"sync"
	"time"
)

// Clock is the demo's fast clock, from a fixed start; it is jumped forward
// (Advance) over the minutes an incident spends waiting, so a whole SEV1
// plays in seconds.
//
// The script's clock is frozen between jumps, so every run records the
// same times and phase durations whatever the machine's speed (the fake
// Slack's rate limits, which count real seconds, are off for it). The
// playground's clock runs at the wall clock's pace between jumps, like
// Slack's, with the limits on.
type Clock struct {
	mu      sync.Mutex
	start   time.Time // the demo time at real0
	real0   time.Time
	offset  time.Duration
	running bool
	onJump  []func()
}

// NewClock returns a clock that reads start now; running makes it move on
// from there in real time.
func NewClock(start time.Time, running bool) *Clock {
	return &Clock{start: start, real0: time.Now(), running: running}
}

// Now is the demo time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.start.Add(c.offset)
	if c.running {
		t = t.Add(time.Since(c.real0))
	}
	return t
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
