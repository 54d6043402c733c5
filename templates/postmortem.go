package templates

import (
	"bytes"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"text/template"
	"unicode"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon/playbook"
)

// PostmortemTemplate is the post-mortem outline's template name.
const PostmortemTemplate = "postmortem.md.tmpl"

// The Markdown functions join Funcs before any template is parsed (Load
// runs after package initialisation), so every template, embedded or
// overridden, can use them.
func init() {
	Funcs["md"] = Markdown
	Funcs["mdline"] = MarkdownLine
	Funcs["mdlink"] = MarkdownLink
	Funcs["ghmention"] = GitHubMention
}

// PostmortemEventTemplate renders one timeline sentence of an event type
// without a template of its own; PostmortemEventTemplate + "." + the type
// is that type's (all defined in postmortem_event.tmpl).
const PostmortemEventTemplate = "postmortem.event"

// RenderPostmortem renders the post-mortem outline as Markdown, ending with
// one newline.
func (s *Set) RenderPostmortem(p playbook.Postmortem) ([]byte, error) {
	if err := s.PostmortemSentences(&p); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(4096 + 160*len(p.Timeline))
	if err := s.t.ExecuteTemplate(&b, PostmortemTemplate, p); err != nil {
		return nil, fmt.Errorf("templates: render %s: %w", PostmortemTemplate, err)
	}
	out := bytes.TrimSpace(b.Bytes())
	return append(out, '\n'), nil
}

// PostmortemSentences fills each timeline event's Text with its sentence,
// plain text on one line (the outline escapes it).
func (s *Set) PostmortemSentences(p *playbook.Postmortem) error {
	tl := make([]playbook.PostmortemEvent, len(p.Timeline))
	// One template per type, looked up once per type: a chain of tests
	// over 45 types cost 20 µs an event, five times the whole outline.
	byType := map[playbook.EventType]*template.Template{}
	var b strings.Builder
	for i, e := range p.Timeline {
		t, ok := byType[e.Type]
		if !ok {
			if t = s.t.Lookup(PostmortemEventTemplate + "." + string(e.Type)); t == nil {
				t = s.t.Lookup(PostmortemEventTemplate)
			}
			byType[e.Type] = t
		}
		if t == nil {
			return fmt.Errorf("templates: no %s template", PostmortemEventTemplate)
		}
		b.Reset()
		if err := t.Execute(&b, e); err != nil {
			return fmt.Errorf("templates: render %s: %w", t.Name(), err)
		}
		e.Text = b.String()
		tl[i] = e
	}
	p.Timeline = tl
	return nil
}

// PostmortemBottleneck is the outline's line saying which phase is the
// bottleneck and by which rule (the postmortem.bottleneck template).
func (s *Set) PostmortemBottleneck(p playbook.Postmortem) (string, error) {
	var b strings.Builder
	if err := s.t.ExecuteTemplate(&b, "postmortem.bottleneck", p); err != nil {
		return "", fmt.Errorf("templates: render postmortem.bottleneck: %w", err)
	}
	return b.String(), nil
}

// TicketTemplate is the template of an action item's issue body.
const TicketTemplate = "ticket.md.tmpl"

// RenderTicket renders an action item's GitHub issue body.
func (s *Set) RenderTicket(b playbook.TicketBody) (string, error) {
	var out bytes.Buffer
	if err := s.t.ExecuteTemplate(&out, TicketTemplate, b); err != nil {
		return "", fmt.Errorf("templates: render %s: %w", TicketTemplate, err)
	}
	return strings.TrimSpace(out.String()) + "\n", nil
}

// OwnerIssueTemplate is the template of the owning team's issue body.
const OwnerIssueTemplate = "owner_issue.md.tmpl"

// RenderOwnerIssue renders the issue body a tier that pages nobody opens
// for the service's owning team.
func (s *Set) RenderOwnerIssue(b playbook.OwnerIssueBody) (string, error) {
	var out bytes.Buffer
	if err := s.t.ExecuteTemplate(&out, OwnerIssueTemplate, b); err != nil {
		return "", fmt.Errorf("templates: render %s: %w", OwnerIssueTemplate, err)
	}
	return strings.TrimSpace(out.String()) + "\n", nil
}

// Markdown makes user text inert in Markdown (GitHub's flavour) and in
// Slack: it is the one escape every piece of text a person typed goes
// through in the outline and in GitHub issue bodies (template func md).
//
//   - The text never starts a line of its own: surrounding space is
//     trimmed and line breaks become "<br>" (an inline break), so nothing
//     in it can open a heading, a list, a quote, a fence, an indented code
//     block or a table row, even inside a list item or a table cell.
//   - The characters that mean something anywhere in a line are
//     backslash-escaped: \ ` * _ [ ] | ~ $ # (emphasis, code, links and
//     images, table cells, strikethrough, math, heading closers).
//   - & < > become entities, so "<!channel>", "<@U1>" or "<!here>" show as
//     typed and are no mention in Slack or anywhere else, and no HTML (an
//     HTML comment included) or autolink in angle brackets gets through.
//   - An "@" that could start a GitHub mention (at the start or after a
//     character that is not a letter, digit, "_" or "`") is followed by a
//     zero-width space (&#8203;), so "@org/team" reads the same and pings
//     nobody; "alice@example.com" is left alone.
//   - The characters that only mean something at the start of a line
//     (- + = ! ( ) and "." or ")" after digits, as in "1.") are escaped
//     at the start of the text, for a template that puts it there;
//     elsewhere they are left alone, so "2026-12-04" stays readable.
//   - Control characters are dropped (tabs become spaces), and so are the
//     bidi overrides, which make text read differently from what it is.
//
// Bare URLs are left as they are: GitHub links them showing the very
// address it goes to, which a note pasting a dashboard wants.
func Markdown(s string) string { return escapeMarkdown(s, "<br>") }

// MarkdownLine is Markdown for single-line fields (titles, names): line
// breaks become spaces. Template func mdline.
func MarkdownLine(s string) string { return escapeMarkdown(s, " ") }

// githubHandle is a GitHub user (@login) or team (@org/team).
var githubHandle = regexp.MustCompile(`^@[A-Za-z0-9][A-Za-z0-9-]{0,38}(/[A-Za-z0-9_.-]{1,100})?$`)

// GitHubMention leaves a checked handle (@login, @org/team) live, so
// GitHub notifies it; anything else is escaped as MarkdownLine and pings
// nobody. Template func ghmention.
func GitHubMention(handle string) string {
	if githubHandle.MatchString(handle) {
		return handle
	}
	return MarkdownLine(handle)
}

// MarkdownLink is a Markdown link to rawURL labelled label (escaped as
// MarkdownLine). Only an absolute http or https URL becomes a link; its
// characters that could end the link or a table cell are percent-encoded.
// Anything else is shown as escaped text after the label. Template func
// mdlink.
func MarkdownLink(label, rawURL string) string {
	rawURL = strings.TrimSpace(rawURL)
	if label = strings.TrimSpace(label); label == "" {
		label = rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		if rawURL == "" || rawURL == label {
			return MarkdownLine(label)
		}
		return MarkdownLine(label) + " (" + MarkdownLine(rawURL) + ")"
	}
	var b strings.Builder
	b.Grow(len(label) + len(rawURL) + 8)
	b.WriteByte('[')
	b.WriteString(MarkdownLine(label))
	b.WriteString("](")
	for i := 0; i < len(rawURL); i++ {
		c := rawURL[i]
		switch {
		case c == '&':
			b.WriteString("&amp;") // an entity in a destination is decoded
		case c > ' ' && c < 0x7f && !strings.ContainsRune(`<>()[]\|"`+"`", rune(c)):
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	b.WriteByte(')')
	return b.String()
}

// markdownSpecial are the ASCII characters that are Markdown syntax
// anywhere in a line; markdownLineStart those that are only at its start.
const (
	markdownSpecial   = "\\`*_[]|~$#"
	markdownLineStart = "-+=!()"
)

func escapeMarkdown(s, newline string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	b.Grow(len(s) + len(s)/8 + 8)
	digits := true // only digits so far: a "." or ")" now would start a list
	breaks := 0    // line breaks pending
	prev := ' '    // the rune written before, for mentions
	for i, r := range s {
		switch {
		case r == '\r':
			// "\r\n" is one break, a lone "\r" is one too.
			if i+1 < len(s) && s[i+1] == '\n' {
				continue
			}
			breaks++
			continue
		case r == '\n' || r == '\u2028' || r == '\u2029':
			breaks++
			continue
		case r == '\t':
			r = ' '
		case unicode.IsControl(r) || isBidiControl(r):
			continue
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				continue // not UTF-8
			}
		}
		if breaks > 0 {
			// At most one empty line in a row; a space in a single-line field.
			if newline == " " {
				b.WriteByte(' ')
			} else {
				b.WriteString(newline)
				if breaks > 1 {
					b.WriteString(newline)
				}
			}
			breaks = 0
		}
		first := b.Len() == 0
		if first && r == ' ' {
			continue // left by a dropped control character: no indented code
		}
		switch {
		case r == '@' && mentionable(prev):
			b.WriteString("@&#8203;")
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r < utf8.RuneSelf && strings.IndexByte(markdownSpecial, byte(r)) >= 0,
			first && r < utf8.RuneSelf && strings.IndexByte(markdownLineStart, byte(r)) >= 0,
			digits && !first && (r == '.' || r == ')'):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
		digits = digits && r >= '0' && r <= '9'
		prev = r
	}
	return strings.TrimRight(b.String(), " ")
}

// mentionable reports whether an "@" after prev may start a GitHub mention.
func mentionable(prev rune) bool {
	return !(unicode.IsLetter(prev) || unicode.IsDigit(prev) || prev == '_' || prev == '`')
}

// isBidiControl reports the invisible characters that reorder text.
func isBidiControl(r rune) bool {
	return r == '\u061c' || r == '\u200e' || r == '\u200f' ||
		(r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}
