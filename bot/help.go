package bot

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

// `/incident help` is built from the registrations: an overview naming
// every command by topic, which always fits Slack's 3,000 characters (the
// services list is cut to what fits, the rest behind `help services`), and
// `/incident help <topic|command>` with each command's usages.

// ephemeralLimit is Slack's limit for a slash command's ephemeral answer.
const ephemeralLimit = 3000

func init() {
	register(feature{commands: []subcommand{{
		Name: "help", Aliases: []string{"-h", "--help", "?"}, Topic: "help",
		Forms: []form{
			{Usage: "help", Key: "help"},
			{Usage: "help <topic or command>", Key: "help.topic"},
		},
		Handle: (*Bot).onHelp,
	}}})
}

func (b *Bot) onHelp(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time) {
	b.ack(req, ephemeral(b.helpFor(arg)), received)
}

// helpData is what help.tmpl and help_topic.tmpl are rendered with.
type helpData struct {
	Command         string
	DefaultSeverity playbook.Severity
	Tiers           []playbook.Tier
	// Services are those shown; MoreServices how many more there are.
	Services     []playbook.Service
	MoreServices int
	// The overview's topics, or the one topic's title and usages.
	Topics       []helpTopic
	Title, Where string
	Lines        []helpLine
}

type helpTopic struct {
	Key, Title, Where string
	Commands          []string
}

func (b *Bot) helpData() helpData {
	tiers := make([]playbook.Tier, 0, len(playbook.Severities))
	for _, s := range playbook.Severities {
		tiers = append(tiers, b.App.Tier(s))
	}
	return helpData{Command: b.Command, DefaultSeverity: b.defaultSeverity(), Tiers: tiers, Services: b.App.Services()}
}

// helpOverview is the help, with prefix (a line saying what was wrong) above it.
func (b *Bot) helpOverview(prefix string) string {
	text, err := renderOverview(b.Templates, b.helpData(), prefix)
	if err != nil {
		b.log().Error("rendering help", "err", err)
		// An operator's override that fails: the usage, from the
		// embedded templates.
		usage, _ := templates.Default().Render("help.fallback", b.helpData())
		text = strings.TrimSpace(prefix + "\n" + usage)
	}
	return text
}

// helpFor answers `/incident help [topic|command]`.
func (b *Bot) helpFor(arg string) string {
	words := strings.Fields(arg)
	if len(words) == 0 {
		return b.helpOverview("")
	}
	word := strings.ToLower(words[0])
	text, ok, err := renderDetail(b.Templates, b.helpData(), word)
	if err != nil {
		b.log().Error("rendering help", "topic", word, "err", err)
		return b.helpOverview("")
	}
	if !ok {
		return b.helpOverview(b.words("help.no_such_topic", map[string]any{"Command": b.Command, "Word": templates.Truncate(40, words[0])}))
	}
	return text
}

// overviewTopics lists every registered command's name under its topic
// (help aside: help.tmpl ends with it).
func overviewTopics(set *templates.Set) ([]helpTopic, error) {
	var out []helpTopic
	for _, t := range topics {
		title, where, err := topicWords(set, t)
		if err != nil {
			return nil, err
		}
		ht := helpTopic{Key: t.Key, Title: title, Where: where}
		for _, c := range router.ordered() {
			if c.Topic == t.Key {
				ht.Commands = append(ht.Commands, c.Name)
			}
		}
		if len(ht.Commands) > 0 && t.Key != "help" { // help has the last line to itself
			out = append(out, ht)
		}
	}
	return out, nil
}

// topicWords renders a topic's title and where its commands work.
func topicWords(set *templates.Set, t topic) (title, where string, err error) {
	if title, err = set.Render("help.title."+t.Key, nil); err != nil || !t.InChannel {
		return title, "", err
	}
	where, err = set.Render("help.in_channel", nil)
	return title, where, err
}

// helpLine is a usage with its line of help, rendered.
type helpLine struct {
	Usage, Help string
}

// formLines renders the usages of cs with their line of help.
func formLines(set *templates.Set, d helpData, cs []*subcommand) ([]helpLine, error) {
	var out []helpLine
	for _, c := range cs {
		for _, f := range c.Forms {
			help, err := set.Render("usage."+f.Key, d)
			if err != nil {
				return nil, err
			}
			out = append(out, helpLine{Usage: f.Usage, Help: help})
		}
	}
	return out, nil
}

// renderOverview renders help.tmpl with as many services as fit, with
// prefix, in ephemeralLimit characters: the list of services is the only
// part that grows with the config (tiers' texts are cut in the template).
func renderOverview(set *templates.Set, d helpData, prefix string) (string, error) {
	all := d.Services
	var err error
	if d.Topics, err = overviewTopics(set); err != nil {
		return "", err
	}
	render := func(n int) (string, error) {
		d.Services, d.MoreServices = all[:n], len(all)-n
		text, err := set.Render("help.tmpl", d)
		if prefix != "" {
			text = prefix + "\n" + text
		}
		return text, err
	}
	text, err := render(len(all))
	if err != nil || utf8.RuneCountInString(text) <= ephemeralLimit {
		return text, err
	}
	// The most services that fit: fits(n) is monotonic in n.
	lo, hi := 0, len(all)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		t, err := render(mid)
		if err != nil {
			return "", err
		}
		if utf8.RuneCountInString(t) <= ephemeralLimit {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return render(lo)
}

// renderDetail renders help_topic.tmpl for a topic (all its commands'
// usages) or a command (its usages), or the full severities or services.
// ok is false when word names none of them.
func renderDetail(set *templates.Set, d helpData, word string) (text string, ok bool, err error) {
	services, tiers := d.Services, d.Tiers
	d.Services, d.Tiers = nil, nil
	var cs []*subcommand
	t := topic{Key: word}
	switch i := slices.IndexFunc(topics, func(t topic) bool { return t.Key == word }); {
	case word == "severities":
		d.Tiers = tiers
	case word == "services":
		d.Services = services
	case i >= 0:
		t = topics[i]
		for _, c := range router.ordered() {
			if c.Topic == t.Key {
				cs = append(cs, c)
			}
		}
	default:
		c, found := router.lookup(word)
		if !found {
			return "", false, nil
		}
		t = topics[slices.IndexFunc(topics, func(t topic) bool { return t.Key == c.Topic })]
		cs = []*subcommand{c}
	}
	if d.Title, d.Where, err = topicWords(set, t); err != nil {
		return "", true, err
	}
	if word == "services" && len(services) == 0 {
		if d.Where, err = set.Render("help.services_none", nil); err != nil {
			return "", true, err
		}
	}
	if d.Lines, err = formLines(set, d, cs); err != nil {
		return "", true, err
	}
	text, err = set.Render("help_topic.tmpl", d)
	return text, true, err
}
