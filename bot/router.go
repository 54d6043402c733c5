package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/klaxonhq/klaxon/templates"
)

// The router: each feature file registers, in its own init, the
// subcommands, buttons (action IDs), modal callbacks and message shortcuts
// it answers (register). The parser's list of subcommands, the manifest's
// usage hint and shortcuts, `/incident help` and the dispatch of Slack's
// envelopes are all read from the registrations, so adding a command or a
// button touches the feature's file only.

// slashHandler runs a subcommand; arg is the text after its name, as typed.
// Every handler acks req itself (first, before any Web API call).
type slashHandler func(b *Bot, ctx context.Context, req socketmode.Request, sc slack.SlashCommand, arg string, received time.Time)

// actionHandler answers a click on a button (a block action).
type actionHandler func(b *Bot, ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, act *slack.BlockAction, received time.Time)

// viewHandler answers a modal's submission or a message shortcut.
type viewHandler func(b *Bot, ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, received time.Time)

// subcommand is one /incident subcommand.
type subcommand struct {
	Name    string   // what is typed after /incident, lowercase
	Aliases []string // other words for it ("severity" for "sev")
	Topic   string   // the help topic it is listed under (a key of topics)
	// Forms are its usages, each with one line of help; the first is the
	// main one.
	Forms  []form
	Handle slashHandler
}

// form is one usage of a subcommand. Usage is what follows the command
// ("sev <1-4> [reason]"), "" for the command alone: the syntax a person
// types, which the parser reads. Its line of help is the template
// "usage.<Key>" (templates/default/usage.tmpl), rendered with .Command and
// .DefaultSeverity (TestHelpDetailsCoverEveryCommand renders every one).
type form struct {
	Usage, Key string
}

// shortcutRoute is a message shortcut (a message's menu item), listed in
// the manifest with its name and description from templates
// (manifest.shortcut.<CallbackID>, manifest.shortcut_description.<CallbackID>).
type shortcutRoute struct {
	CallbackID string
	Handle     viewHandler
}

// feature is what one feature file registers.
type feature struct {
	commands  []subcommand
	actions   map[string]actionHandler // by action ID
	views     map[string]viewHandler   // modal submissions, by callback ID
	shortcuts []shortcutRoute
}

// topic groups commands in the help. Its title is the template
// "help.title.<Key>" (templates/default/help_topic.tmpl).
type topic struct {
	Key string
	// InChannel: its commands work in the incident's channel only.
	InChannel bool
}

// topics in the order the help (and the usage hint) lists them: an
// incident's life, then the reports.
var topics = []topic{
	{Key: "declare"},
	{Key: "alerts"},
	{Key: "triage", InChannel: true},
	{Key: "updates", InChannel: true},
	{Key: "paging"},
	{Key: "deploys"},
	{Key: "remediation", InChannel: true},
	{Key: "resolve", InChannel: true},
	{Key: "actions"},
	{Key: "closing"},
	{Key: "reports"},
	{Key: "help"},
}

// routes holds the registrations.
type routes struct {
	commands  []*subcommand // in registration order
	byWord    map[string]*subcommand
	actions   map[string]actionHandler
	views     map[string]viewHandler
	shortcuts []shortcutRoute
}

var router = newRoutes()

func newRoutes() *routes {
	return &routes{byWord: map[string]*subcommand{}, actions: map[string]actionHandler{}, views: map[string]viewHandler{}}
}

// register adds a feature's routes. A name, alias, action ID or callback ID
// registered twice is a programming error: it panics at start-up (and in
// every test) rather than leaving one handler silently unreachable.
func register(f feature) { router.add(f) }

func (r *routes) add(f feature) {
	for i := range f.commands {
		c := &f.commands[i]
		if c.Handle == nil || len(c.Forms) == 0 || !slices.ContainsFunc(topics, func(t topic) bool { return t.Key == c.Topic }) {
			panic(fmt.Sprintf("bot: subcommand %q needs a handler, a form and a known topic (got %q)", c.Name, c.Topic))
		}
		for _, w := range append([]string{c.Name}, c.Aliases...) {
			if w != strings.ToLower(w) || strings.ContainsFunc(w, isSpace) || w == "" {
				panic(fmt.Sprintf("bot: subcommand word %q must be one lowercase word", w))
			}
			if _, dup := r.byWord[w]; dup {
				panic(fmt.Sprintf("bot: subcommand %q registered twice", w))
			}
			r.byWord[w] = c
		}
		r.commands = append(r.commands, c)
	}
	for id, h := range f.actions {
		if _, dup := r.actions[id]; dup {
			panic(fmt.Sprintf("bot: action ID %q registered twice", id))
		}
		r.actions[id] = h
	}
	for id, h := range f.views {
		if _, dup := r.views[id]; dup || r.shortcut(id) != nil {
			panic(fmt.Sprintf("bot: view callback ID %q registered twice", id))
		}
		r.views[id] = h
	}
	for _, s := range f.shortcuts {
		if _, dup := r.views[s.CallbackID]; dup || r.shortcut(s.CallbackID) != nil {
			panic(fmt.Sprintf("bot: shortcut callback ID %q registered twice", s.CallbackID))
		}
		r.shortcuts = append(r.shortcuts, s)
	}
}

func (r *routes) shortcut(id string) *shortcutRoute {
	for i := range r.shortcuts {
		if r.shortcuts[i].CallbackID == id {
			return &r.shortcuts[i]
		}
	}
	return nil
}

// lookup finds a subcommand by its name or an alias (lowercase).
func (r *routes) lookup(word string) (*subcommand, bool) {
	c, ok := r.byWord[word]
	return c, ok
}

// ordered returns the subcommands by topic (in topics' order), each topic's
// in registration order.
func (r *routes) ordered() []*subcommand {
	out := make([]*subcommand, 0, len(r.commands))
	for _, t := range topics {
		for _, c := range r.commands {
			if c.Topic == t.Key {
				out = append(out, c)
			}
		}
	}
	return out
}

// Subcommands are the /incident subcommands that take the rest of the text
// as their argument (declare and help aside), in the help's order. The
// parser accepts exactly the registered ones, and the manifest's usage hint
// lists them, so none can be missing from either.
func Subcommands() []string {
	var names []string
	for _, c := range router.ordered() {
		if c.Name != "declare" && c.Name != "help" {
			names = append(names, c.Name)
		}
	}
	return names
}

// onSlash parses the command and hands it to its subcommand's handler.
func (b *Bot) onSlash(ctx context.Context, req socketmode.Request, sc slack.SlashCommand, received time.Time) {
	name, arg := splitSubcommand(sc.Text)
	c, ok := router.lookup(name)
	if !ok {
		b.ack(req, ephemeral(b.helpOverview(b.notACommand(strings.Fields(sc.Text)[0]))), received)
		return
	}
	c.Handle(b, ctx, req, sc, arg, received)
}

// splitSubcommand returns the subcommand's word (lowercase; "declare" when
// the text is empty) and the text after it, as typed.
func splitSubcommand(text string) (name, arg string) {
	words := strings.Fields(text)
	if len(words) == 0 {
		return "declare", ""
	}
	return strings.ToLower(words[0]), tail(text, 1)
}

// notACommand is the line above the help when the word typed is no
// subcommand (as typed, cut and escaped: it is the person's text).
func (b *Bot) notACommand(word string) string {
	return b.words("help.not_a_command", map[string]any{"Command": b.Command, "Word": templates.Truncate(40, word)})
}

// onInteractive hands a button click, a modal's submission or a message
// shortcut to the feature that registered its ID; anything else is acked
// and dropped.
func (b *Bot) onInteractive(ctx context.Context, req socketmode.Request, cb slack.InteractionCallback, received time.Time) {
	switch cb.Type {
	case slack.InteractionTypeViewSubmission:
		if h, ok := router.views[cb.View.CallbackID]; ok {
			h(b, ctx, req, cb, received)
			return
		}
	case slack.InteractionTypeMessageAction:
		if s := router.shortcut(cb.CallbackID); s != nil {
			s.Handle(b, ctx, req, cb, received)
			return
		}
	case slack.InteractionTypeBlockActions:
		for _, act := range cb.ActionCallback.BlockActions {
			if h, ok := router.actions[act.ActionID]; ok {
				h(b, ctx, req, cb, act, received)
				return
			}
		}
	}
	b.ack(req, nil, received)
}
