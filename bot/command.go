package bot

import (
	"regexp"
	"strings"
	"unicode"

	"github.com/klaxonhq/klaxon/playbook"
)

// Command is a parsed /incident invocation.
type Command struct {
	// Name is the subcommand: "help", "declare", or what the person typed
	// when it is unknown (Unknown is then true). Bare "/incident" is "declare"
	// with nothing else, which opens the form.
	Name    string
	Unknown bool

	Severity    playbook.Severity // 0 when not given
	Service     string            // "" when not given
	Title       string            // "" when not given
	SeverityErr error             // a word that looked like a severity but was not one
	// Private asks for a private channel and an announcement without the title.
	Private bool
	// Started is --started's argument ("14:02"), "" when not given.
	Started string
}

// NeedsForm reports whether the declaration lacks a title and so opens the modal.
func (c Command) NeedsForm() bool {
	return c.Name == "declare" && c.Title == "" && c.SeverityErr == nil
}

// ParseCommand reads the text after /incident. isService says whether a word
// names a configured service; only then is the word after the severity taken
// as the service, so "declare sev2 login page slow" keeps "login" in the
// title unless "login" is a service.
func ParseCommand(text string, isService func(string) bool) Command {
	name, arg := splitSubcommand(text)
	c, ok := router.lookup(name)
	switch {
	case !ok:
		return Command{Name: strings.Fields(text)[0], Unknown: true}
	case c.Name == "declare":
		return parseDeclare(arg, isService)
	}
	// The rest, as typed, is the argument.
	return Command{Name: c.Name, Title: arg}
}

// parseDeclare reads a declaration's arguments (the text after "declare").
func parseDeclare(text string, isService func(string) bool) Command {
	c := Command{Name: "declare"}
	words := strings.Fields(text)
	rest := words
	// --private and --started HH:MM may come first or right after the
	// severity or service.
	private := func() {
		for len(rest) > 0 {
			switch {
			case strings.EqualFold(rest[0], "--private"):
				c.Private = true
				rest = rest[1:]
			case strings.EqualFold(rest[0], "--started") && len(rest) > 1:
				c.Started = rest[1]
				rest = rest[2:]
			case len(rest[0]) > len("--started=") && strings.EqualFold(rest[0][:len("--started=")], "--started="):
				c.Started = rest[0][len("--started="):]
				rest = rest[1:]
			default:
				return
			}
		}
	}
	private()
	if len(rest) > 0 && playbook.LooksLikeSeverity(rest[0]) {
		sev, err := playbook.ParseSeverity(rest[0])
		if err != nil {
			c.SeverityErr = err
		}
		c.Severity = sev
		rest = rest[1:]
	}
	private()
	if len(rest) > 0 && isService != nil && isService(rest[0]) {
		c.Service = rest[0]
		rest = rest[1:]
	}
	private()
	// Keep the title as typed (inner spacing included) by slicing the
	// original text after the words consumed.
	c.Title = tail(text, len(words)-len(rest))
	return c
}

// tail returns text after its first n whitespace-separated words, trimmed.
func tail(text string, n int) string {
	s := strings.TrimLeftFunc(text, isSpace)
	for range n {
		i := strings.IndexFunc(s, isSpace)
		if i < 0 {
			return ""
		}
		s = strings.TrimLeftFunc(s[i:], isSpace)
	}
	return strings.TrimSpace(s)
}

func isSpace(r rune) bool { return unicode.IsSpace(r) }

var (
	// slackLink matches Slack's escaped references in command text:
	// <@U123|name>, <#C123|name>, <!subteam^S123|@team>, <!here>, <https://…|label>.
	slackLink   = regexp.MustCompile(`<([@#!][^<>|]*|[a-z]+:[^<>|]*)(?:\|([^<>]*))?>`)
	userMention = regexp.MustCompile(`^<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>$`)
)

// Plain turns slash-command text as Slack sends it (should_escape on:
// mentions as <@U…|name>, & < > as entities) into what the person typed, so
// titles read naturally and are escaped once, by Klaxon, when shown.
func Plain(text string) string {
	text = slackLink.ReplaceAllStringFunc(text, func(m string) string {
		sub := slackLink.FindStringSubmatch(m)
		ref, label := sub[1], sub[2]
		switch {
		case !strings.ContainsAny(ref[:1], "@#!"):
			return ref // a link: the URL as typed (Slack adds a label only for display)
		case label != "" && strings.HasPrefix(ref, "#"):
			return "#" + label
		case label != "" && strings.HasPrefix(ref, "@"):
			return "@" + strings.TrimPrefix(label, "@")
		case label != "":
			return label
		case strings.HasPrefix(ref, "!"):
			return "@" + strings.TrimPrefix(ref, "!")
		}
		return ref
	})
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(text)
}

// MentionedUser returns the user ID of a mention token (<@U123|name>).
func MentionedUser(word string) (string, bool) {
	m := userMention.FindStringSubmatch(strings.TrimSpace(word))
	if m == nil {
		return "", false
	}
	return m[1], true
}

var (
	incidentRef = regexp.MustCompile(`^#([0-9]{1,12})$`)
	groupToken  = regexp.MustCompile(`^<!subteam\^[A-Z0-9]+(?:\|[^<>]*)?>$`)
)

// IncidentRef reads a leading "#12" (an incident named by number, for
// commands typed outside its channel, e.g. after it was archived) and
// returns the number and the text after it; 0 when there is none.
func IncidentRef(text string) (int64, string) {
	f := strings.Fields(text)
	if len(f) == 0 {
		return 0, text
	}
	m := incidentRef.FindStringSubmatch(f[0])
	if m == nil {
		return 0, text
	}
	var n int64
	for _, c := range m[1] {
		n = n*10 + int64(c-'0')
	}
	return n, tail(text, 1)
}

// ActionArgs is "/incident action <text> @owner due:YYYY-MM-DD" taken apart.
type ActionArgs struct {
	Text   string
	Owners []string // user IDs mentioned; exactly one is wanted
	Groups int      // user groups mentioned (an owner must be a person)
	Due    string
}

// ParseAction reads an action item from escaped command text: the mentions
// are its owners, due:… its deadline, the other words its text, in order.
func ParseAction(text string) ActionArgs {
	var a ActionArgs
	var words []string
	for _, w := range strings.Fields(text) {
		switch {
		case strings.HasPrefix(strings.ToLower(w), "due:"):
			a.Due = strings.TrimSpace(w[len("due:"):])
		case groupToken.MatchString(w):
			a.Groups++
		default:
			if id, ok := MentionedUser(w); ok {
				a.Owners = append(a.Owners, id)
				continue
			}
			words = append(words, w)
		}
	}
	a.Text = Plain(strings.Join(words, " "))
	return a
}
