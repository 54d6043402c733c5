package playbook

import (
	"strconv"
	"strings"
	"unicode"
)

// MaxChannelName is Slack's limit on channel names.
const MaxChannelName = 80

// ChannelName returns the name of incident n's channel: inc-<n>-sev<k>-<slug>,
// lowercase, only [a-z0-9-], at most 80 characters. attempt > 1 adds a
// "-<attempt>" suffix for when Slack answers name_taken; the slug is shortened
// to make room so the number, the severity and the suffix always survive.
func ChannelName(n int64, sev Severity, title string, attempt int) string {
	prefix := "inc-" + strconv.FormatInt(n, 10) + "-sev" + strconv.Itoa(int(sev))
	suffix := ""
	if attempt > 1 {
		suffix = "-" + strconv.Itoa(attempt)
	}
	room := MaxChannelName - len(prefix) - len(suffix) - 1 // 1 for the dash before the slug
	slug := Slug(title, room)
	if slug == "" {
		return prefix + suffix
	}
	return prefix + "-" + slug + suffix
}

// Slug turns free text into at most max characters of [a-z0-9-]: letters are
// lowercased, accents dropped where the letter has a plain ASCII form, every
// other run of characters becomes one dash, and a word is not cut in half when
// the text is too long (unless a single word is longer than max).
func Slug(s string, max int) string {
	if max <= 0 {
		return ""
	}
	var b strings.Builder
	dash := false
	for _, r := range s {
		r = unicode.ToLower(foldASCII(r))
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
		// Stop reading early: a 5,000-character title needs only its start.
		if b.Len() > max+1 {
			break
		}
	}
	out := b.String()
	if len(out) <= max {
		return out
	}
	cut := out[:max]
	// Prefer ending on a word boundary when one is reasonably close.
	if i := strings.LastIndexByte(cut, '-'); i >= max/2 {
		cut = cut[:i]
	}
	return strings.Trim(cut, "-")
}

// foldASCII maps common accented Latin letters to their ASCII base so that
// "Café down" becomes "cafe-down" rather than "caf-down".
func foldASCII(r rune) rune {
	if r < 0x80 {
		return r
	}
	const from = "àáâãäåçèéêëìíîïñòóôõöøùúûüýÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝ"
	const to = "aaaaaaceeeeiiiinoooooouuuuyyAAAAAACEEEEIIIINOOOOOOUUUUY"
	fromR := []rune(from)
	for i, f := range fromR {
		if f == r {
			return rune(to[i])
		}
	}
	return r
}
