package fakeslack

import (
	"math"
	"time"
)

// Slack's rate limits are per method and per workspace, counted in
// one-minute windows ("tiers"), except chat.postMessage, which allows about
// one message per second per channel with short bursts. Over the limit
// Slack answers HTTP 429 with Retry-After in seconds, and slack-go turns
// that into *slack.RateLimitedError without retrying.

const (
	tier2 = 20  // per minute
	tier3 = 50  // per minute
	tier4 = 100 // per minute

	// postMessageBurst is how many chat.postMessage calls a channel takes at
	// once before the one-per-second rate applies.
	postMessageBurst = 3
)

// methodTiers maps a method to its per-minute limit. Methods not listed
// are not limited (apps.connections.open is Tier 1 on Slack, but limiting it
// would only slow down reconnect tests).
var methodTiers = map[string]int{
	"conversations.create":     tier2,
	"conversations.setTopic":   tier2,
	"conversations.setPurpose": tier2,
	"conversations.archive":    tier2,
	"conversations.rename":     tier2,
	"bookmarks.add":            tier2,
	"bookmarks.list":           tier2,
	"conversations.list":       tier2,
	"pins.add":                 tier2,
	"usergroups.users.list":    tier2,
	"conversations.invite":     tier3,
	"conversations.info":       tier3,
	"conversations.members":    tier3,
	"users.conversations":      tier3,
	"conversations.join":       tier3,
	"conversations.open":       tier3,
	// Tier 3 for Marketplace apps; Slack gives other apps created since
	// May 2025 Tier 1 (1 a minute, 15 messages a page).
	"conversations.history":        tier3,
	"conversations.replies":        tier3,
	"chat.update":                  tier3,
	"chat.delete":                  tier3,
	"users.lookupByEmail":          tier3,
	"views.open":                   tier4,
	"views.update":                 tier4,
	"views.push":                   tier4,
	"views.publish":                tier4,
	"users.info":                   tier4,
	"chat.postEphemeral":           tier4,
	"chat.getPermalink":            tier4,
	"files.getUploadURLExternal":   tier4,
	"files.completeUploadExternal": tier4,
	"files.info":                   tier4,
}

// window is a fixed one-minute window opened by the first call after the
// previous one ended.
type window struct {
	start time.Time
	count int
}

// bucket is a token bucket for chat.postMessage on one channel.
type bucket struct {
	tokens float64
	last   time.Time
}

// rateKey names what a limit (and an announced Retry-After) applies to: the
// method, plus the channel for chat.postMessage.
// Callers hold s.mu.
func (s *Server) rateKeyLocked(method string, a *args) string {
	if method == "chat.postMessage" {
		ref := a.str("channel")
		if c := s.findChannelLocked(ref, true); c != nil {
			ref = c.id
		}
		return method + "#" + ref
	}
	return method
}

func (s *Server) scaled(limit float64) float64 {
	return math.Max(1, math.Round(limit*s.opts.RateLimitScale))
}

// rateLimitLocked counts the call and reports whether it is over the limit,
// with the Retry-After to announce.
func (s *Server) rateLimitLocked(method, key string) (retryAfter int, limited bool) {
	if s.opts.DisableRateLimits {
		return 0, false
	}
	now := s.rateNow()
	if method == "chat.postMessage" {
		capacity := s.scaled(postMessageBurst)
		rate := s.scaled(1) // tokens per second
		b := s.buckets[key]
		if b == nil {
			b = &bucket{tokens: capacity, last: now}
			s.buckets[key] = b
		}
		if el := now.Sub(b.last).Seconds(); el > 0 {
			b.tokens = math.Min(capacity, b.tokens+el*rate)
			b.last = now
		}
		if b.tokens >= 1 {
			b.tokens--
			return 0, false
		}
		return max(1, int(math.Ceil((1-b.tokens)/rate))), true
	}
	limit, ok := methodTiers[method]
	if !ok {
		return 0, false
	}
	w := s.windows[key]
	if w == nil || !now.Before(w.start.Add(time.Minute)) {
		w = &window{start: now}
		s.windows[key] = w
	}
	if float64(w.count) < s.scaled(float64(limit)) {
		w.count++
		return 0, false
	}
	left := w.start.Add(time.Minute).Sub(now)
	return max(1, int(math.Ceil(left.Seconds()))), true
}

// TierLimit is the per-minute limit the fake enforces on method (before
// RateLimitScale), and whether it limits method at all (chat.postMessage is
// limited per channel: see PostMessageLimit).
func TierLimit(method string) (perMinute int, ok bool) {
	perMinute, ok = methodTiers[method]
	return perMinute, ok
}

// PostMessageLimit is the fake's chat.postMessage limit on one channel
// (before RateLimitScale): a burst, then so many a second.
func PostMessageLimit() (burst, perSecond float64) { return postMessageBurst, 1 }
