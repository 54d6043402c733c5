// Package templates holds the words people read, as text/template files
// embedded in the binary (default/): Slack texts (the intro, announcements,
// updates, reminders, notices, problems, errors, help, guidance, the
// deploys, the alert offers, the figures and the weekly digest, the
// remediation options, action items, the gates, the closing, triage, the
// declaration, the update form, the lists and the App Home, the command
// answers, the manifest's descriptions), the
// post-mortem outline and its timeline sentences, the GitHub
// issue bodies, what Klaxon tells PagerDuty, and the catalogues' labels
// (labels.tmpl: checklist items, gates, remediation options, the default
// tiers' impact and response, by ID; see Label). The domain (playbook)
// returns data (what happened, who, which values); adapters render it here.
//
// Each destination has its escaping, applied here: Slack mrkdwn through esc
// (and user, channel, mention and link, which trust only Slack IDs and
// escape URLs), GitHub Markdown through md, mdline, mdlink and ghmention
// (no typed mention, link, HTML or line structure gets through); PagerDuty
// is plain text. Every template is rendered with hostile input in
// TestEveryTemplateWithHostileInput.
//
// An operator can override any file, or any define inside one, by putting
// a file of the same name in templates.dir; a misspelt name is an error.
//
// Who may import it: the adapters that render words (bot, github,
// pagerduty), cmd/klaxon, which loads the operator's set, and tests. It
// imports only playbook (for the data it renders) and the standard
// library; playbook never imports it.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
	"time"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon/playbook"
)

//go:embed default/*.tmpl
var defaults embed.FS

// Set is a parsed set of templates.
type Set struct {
	t *template.Template
	// command is the slash command the words tell people to type
	// (slack.command); templates write it as {{cmd}}.
	command string
}

// DefaultCommand is the slash command of a set loaded without one.
const DefaultCommand = "/incident"

// Names lists the templates Klaxon uses; an override directory may hold any of them.
func Names() []string {
	entries, _ := fs.ReadDir(defaults, "default")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// Load parses the embedded templates, then the same-named files in dir (when
// dir is not empty), which replace the embedded ones. A file in dir that does
// not match a known name is an error, so a typo does not silently do nothing.
// The words name the slash command DefaultCommand.
func Load(dir string) (*Set, error) { return LoadFor(dir, DefaultCommand) }

// LoadFor is Load for a workspace whose slash command is command
// (slack.command): every "type this" in the words names it.
func LoadFor(dir, command string) (*Set, error) {
	if command == "" {
		command = DefaultCommand
	}
	root := template.New("klaxon").Funcs(Funcs)
	set := &Set{t: root, command: command}
	root.Funcs(template.FuncMap{"label": set.Label, "impact": set.Impact, "response": set.Response, "cmd": set.Command})
	known := map[string]bool{}
	for _, name := range Names() {
		b, err := defaults.ReadFile("default/" + name)
		if err != nil {
			return nil, err
		}
		if _, err := root.New(name).Parse(string(b)); err != nil {
			return nil, fmt.Errorf("templates: embedded %s: %w", name, err)
		}
		known[name] = true
	}
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("templates: read override directory: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".tmpl") {
				continue
			}
			if !known[e.Name()] {
				return nil, fmt.Errorf("templates: %s is not a Klaxon template (known: %s)", filepath.Join(dir, e.Name()), strings.Join(Names(), ", "))
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil, fmt.Errorf("templates: %w", err)
			}
			if _, err := root.New(e.Name()).Parse(string(b)); err != nil {
				return nil, fmt.Errorf("templates: %s: %w", filepath.Join(dir, e.Name()), err)
			}
		}
	}
	return set, nil
}

// Default returns the embedded templates, parsed once, for the places that
// have no operator's set at hand (a command-line error, a webhook answer).
var Default = sync.OnceValue(func() *Set {
	s, err := Load("")
	if err != nil {
		panic(err)
	}
	return s
})

// Command is the slash command the set's words name ({{cmd}}).
func (s *Set) Command() string { return s.command }

// Templates names every template of the set a caller may render: each file
// and each define inside one, sorted. A file that holds only defines
// (notice.tmpl) renders nothing and is not listed.
func (s *Set) Templates() []string {
	var out []string
	for _, t := range s.t.Templates() {
		if t.Tree == nil || t.Tree.Root == nil || onlySpace(t.Tree.Root) {
			continue
		}
		out = append(out, t.Name())
	}
	sort.Strings(out)
	return out
}

func onlySpace(l *parse.ListNode) bool {
	for _, n := range l.Nodes {
		txt, ok := n.(*parse.TextNode)
		if !ok || strings.TrimSpace(string(txt.Text)) != "" {
			return false
		}
	}
	return true
}

// MustDefault returns the embedded templates; they are tested to parse.
// A Set is never changed once loaded (text/template executes concurrently),
// so every caller shares Default's one parse: tests start hundreds of bots.
func MustDefault() *Set { return Default() }

// Render executes template name with data and trims surrounding space.
func (s *Set) Render(name string, data any) (string, error) {
	var b bytes.Buffer
	if err := s.t.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("templates: render %s: %w", name, err)
	}
	return strings.TrimSpace(b.String()), nil
}

// Label is the words of catalogue entry id of kind, for every destination:
// label.<kind>.<id> of labels.tmpl (kind "checklist", "gate", "remedy",
// "remedy_typical", "remedy_blurb", "impact", "response"), so an operator's
// labels.tmpl reaches them all. It is plain text without markup, Klaxon's
// (or the operator's) words like the rest of a template. An id without a define is shown as it is
// (a record of an item Klaxon no longer has), and an empty one as "";
// a severity without a default impact or response has none.
// Templates call it as label.
func (s *Set) Label(kind string, id any) string {
	name := fmt.Sprint(id)
	if name == "" {
		return ""
	}
	t := s.t.Lookup("label." + kind + "." + name)
	if t == nil && (kind == "impact" || kind == "response") {
		return "" // a severity without a default tier
	}
	if t == nil {
		return name
	}
	var b strings.Builder
	if err := t.Execute(&b, nil); err != nil {
		return name
	}
	return strings.TrimSpace(b.String())
}

// Impact is a tier's impact: the operator's (severities.*.impact), or the
// default of its severity (label.impact.SEV1, ...). Templates call it as
// impact.
func (s *Set) Impact(t playbook.Tier) string {
	if t.Impact != "" {
		return t.Impact
	}
	return s.Label("impact", t.Severity)
}

// Response is a tier's response target, the operator's or the default of
// its severity (label.response.SEV1, ...). Templates call it as response.
func (s *Set) Response(t playbook.Tier) string {
	if t.Response != "" {
		return t.Response
	}
	return s.Label("response", t.Severity)
}

// Funcs are available in every template.
var Funcs = template.FuncMap{
	"esc":      Escape,
	"trunc":    Truncate,
	"user":     User,
	"channel":  Channel,
	"mention":  Mention,
	"date":     SlackDate,
	"link":     Link,
	"upper":    strings.ToUpper,
	"lower":    strings.ToLower,
	"list":     func(s ...string) []string { return s },
	"duration": playbook.HumanDuration,
	// q quotes what a person typed, as Go's %q does.
	"q":    strconv.Quote,
	"join": func(s []string) string { return strings.Join(s, ", ") },
	"sub":  func(a, b int) int { return a - b },
}

// Escape makes user text inert in Slack mrkdwn: "<!channel>" or "<@U1>"
// typed into a title must never become a live mention.
func Escape(s string) string { return mrkdwnEscaper.Replace(s) }

// mrkdwnEscaper is built once: building a Replacer allocates its 256-entry
// table, and a declaration escapes dozens of strings.
var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackIDShape is the shape of a Slack user, bot, channel or group ID.
var slackIDShape = regexp.MustCompile(`^[A-Z0-9]{2,30}$`)

// User mentions Slack user id. Anything that is not an ID (it never came
// from Slack) is shown as escaped text rather than trusted as markup.
func User(id string) string {
	if !slackIDShape.MatchString(id) {
		return Escape(id)
	}
	return "<@" + id + ">"
}

// Channel links Slack channel id; a non-ID is shown as escaped text.
func Channel(id string) string {
	if !slackIDShape.MatchString(id) {
		return Escape(id)
	}
	return "<#" + id + ">"
}

// Mention mentions Slack users and user groups (S…), space-separated.
func Mention(ids []string) string {
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		switch {
		case !slackIDShape.MatchString(id):
			parts = append(parts, Escape(id))
		case strings.HasPrefix(id, "S"):
			parts = append(parts, "<!subteam^"+id+">")
		default:
			parts = append(parts, "<@"+id+">")
		}
	}
	return strings.Join(parts, " ")
}

// Link is a Slack link to url labelled label. The URL is escaped too, and
// its "|" encoded, so neither can end the link early or open markup.
func Link(url, label string) string {
	return "<" + strings.ReplaceAll(Escape(url), "|", "%7C") + "|" + Escape(label) + ">"
}

// Truncate cuts s to at most n runes, ending with "…" when it cut. It never
// splits a rune, and never leaves a half HTML entity from Escape behind.
func Truncate(n int, s string) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n-1]
	out := string(r)
	if i := strings.LastIndexByte(out, '&'); i >= 0 && !strings.Contains(out[i:], ";") {
		out = out[:i]
	}
	return out + "…"
}

// SlackDate renders t so each reader sees it in their own time zone, with a
// UTC fallback for clients that cannot.
func SlackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}
