package demo

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Names tells a person's and a channel's display names from their IDs.
type Names struct {
	User    func(id string) string // "" when unknown
	Channel func(id string) string
}

var angle = regexp.MustCompile(`<([^<>]*)>`)

// Readable turns Slack mrkdwn into what a reader sees: mentions as @Name,
// channel links as #name, dates in UTC, links as "text (url)", entities
// unescaped. Bold and italics markers stay, as Slack's plain-text
// notifications show them.
func (n Names) Readable(s string) string {
	s = angle.ReplaceAllStringFunc(s, func(m string) string {
		inner := m[1 : len(m)-1]
		target, label, hasLabel := strings.Cut(inner, "|")
		switch {
		case strings.HasPrefix(target, "@"):
			id := target[1:]
			if name := n.user(id); name != "" {
				return "@" + name
			}
			if hasLabel {
				return "@" + label
			}
			return "@" + id
		case strings.HasPrefix(target, "#"):
			id := target[1:]
			if name := n.channel(id); name != "" {
				return "#" + name
			}
			if hasLabel {
				return "#" + label
			}
			return "#" + id
		case strings.HasPrefix(target, "!date^"):
			return readableDate(target, label)
		case strings.HasPrefix(target, "!subteam^"):
			if hasLabel {
				return label
			}
			return "@" + strings.TrimPrefix(target, "!subteam^")
		case strings.HasPrefix(target, "!"):
			return "@" + target[1:]
		case hasLabel:
			return label + " (" + target + ")"
		default:
			return target
		}
	})
	return emoji.Replace(unescape(s))
}

// emojiPairs maps the shortcodes Klaxon's messages use (every one in
// templates/default: TestEveryTemplateEmojiIsShown) to the characters Slack
// shows for them.
var emojiPairs = []string{
	":white_check_mark:", "✅", ":white_large_square:", "⬜", ":warning:", "⚠️",
	":rotating_light:", "🚨", ":lock:", "🔒", ":pushpin:", "📌", ":memo:", "📝",
	":tada:", "🎉", ":repeat:", "🔁", ":large_green_circle:", "🟢", ":large_blue_circle:", "🔵", ":label:", "🏷️",
	":hourglass_flowing_sand:", "⏳", ":hourglass:", "⌛", ":hammer_and_wrench:", "🛠️",
	":green_heart:", "💚", ":clipboard:", "📋", ":book:", "📖",
	":arrows_counterclockwise:", "🔄", ":pager:", "📟", ":bell:", "🔔",
	":busts_in_silhouette:", "👥", ":dart:", "🎯", ":eyes:", "👀", ":file_folder:", "📁",
	":heavy_multiplication_x:", "✖️", ":link:", "🔗", ":mag:", "🔍", ":red_circle:", "🔴",
	":rewind:", "⏪",
}

var emoji = strings.NewReplacer(emojiPairs...)

func (n Names) user(id string) string {
	if n.User == nil {
		return ""
	}
	return n.User(id)
}

func (n Names) channel(id string) string {
	if n.Channel == nil {
		return ""
	}
	return n.Channel(id)
}

// readableDate renders <!date^UNIX^format|fallback> in UTC, the zone the
// demo's reader is told about.
func readableDate(target, fallback string) string {
	parts := strings.SplitN(target, "^", 4)
	if len(parts) < 3 {
		return fallback
	}
	sec, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return fallback
	}
	t := time.Unix(sec, 0).UTC()
	out := parts[2]
	r := strings.NewReplacer(
		"{date_num}", t.Format("2006-01-02"),
		"{date_short}", t.Format("Jan 2"),
		"{date_short_pretty}", t.Format("Jan 2"),
		"{date}", t.Format("January 2, 2006"),
		"{date_pretty}", t.Format("January 2, 2006"),
		"{date_long}", t.Format("Monday, January 2, 2006"),
		"{date_long_pretty}", t.Format("Monday, January 2, 2006"),
		"{time}", t.Format("15:04"),
		"{time_secs}", t.Format("15:04:05"),
	)
	return r.Replace(out) + " UTC"
}

func unescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}
