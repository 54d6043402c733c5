package demo

import (
	"html"
	"html/template"
	"regexp"
	"strconv"
	"strings"
)

var (
	boldRe   = regexp.MustCompile(`(^|[\s(>])\*([^*\n]+)\*`)
	italRe   = regexp.MustCompile(`(^|[\s(>])_([^_\n]+)_`)
	strikeRe = regexp.MustCompile(`(^|[\s(>])~([^~\n]+)~`)
	codeRe   = regexp.MustCompile("`([^`\n]+)`")
	holeRe   = regexp.MustCompile("\x00([0-9]+)\x00")
)

// HTML renders Slack mrkdwn as a browser shows it, for the playground:
// entities and tags of the text escaped, mentions and channel links as
// spans and links (a channel link opens that channel in the playground),
// *bold*, _italic_, ~strike~ and `code`.
func (n Names) HTML(s string, channelHref func(id string) string) template.HTML {
	// Links and mentions become numbered holes first, so that the
	// formatting below never reaches inside a URL.
	var holes []string
	s = angle.ReplaceAllStringFunc(s, func(m string) string {
		inner := m[1 : len(m)-1]
		target, label, hasLabel := strings.Cut(inner, "|")
		var h string
		switch {
		case strings.HasPrefix(target, "#"):
			id := target[1:]
			name := n.channel(id)
			if name == "" {
				name = label
			}
			if name == "" {
				name = id
			}
			h = `<a class="chan" href="` + html.EscapeString(channelHref(id)) + `">#` + html.EscapeString(name) + `</a>`
		case strings.HasPrefix(target, "@") || strings.HasPrefix(target, "!"):
			h = `<span class="mention">` + html.EscapeString(n.Readable(m)) + `</span>`
			if strings.HasPrefix(target, "!date^") {
				h = `<time>` + html.EscapeString(n.Readable(m)) + `</time>`
			}
		default:
			text := target
			if hasLabel {
				text = label
			}
			if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") && !strings.HasPrefix(target, "mailto:") {
				h = html.EscapeString(unescape(text))
				break
			}
			h = `<a href="` + html.EscapeString(unescape(target)) + `" target="_blank" rel="noopener">` + html.EscapeString(unescape(text)) + `</a>`
		}
		holes = append(holes, h)
		return "\x00" + strconv.Itoa(len(holes)-1) + "\x00"
	})
	s = html.EscapeString(emoji.Replace(unescape(s)))
	s = codeRe.ReplaceAllString(s, "<code>$1</code>")
	s = boldRe.ReplaceAllString(s, "$1<b>$2</b>")
	s = italRe.ReplaceAllString(s, "$1<i>$2</i>")
	s = strikeRe.ReplaceAllString(s, "$1<s>$2</s>")
	s = strings.ReplaceAll(s, "\n", "<br>")
	s = holeRe.ReplaceAllStringFunc(s, func(m string) string {
		i, err := strconv.Atoi(strings.Trim(m, "\x00"))
		if err != nil || i >= len(holes) {
			return ""
		}
		return holes[i]
	})
	return template.HTML(s) // #nosec: every piece above is escaped
}
