package bot

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

// longestHelpData is the help's data at its largest: 1,000 services with
// names of the longest length the config accepts (40), tiers with
// 1,000-character impacts.
func longestHelpData() helpData {
	d := helpData{Command: "/incident", DefaultSeverity: playbook.SEV3}
	for i := range 1000 {
		d.Services = append(d.Services, playbook.Service{Name: fmt.Sprintf("%s-%03d", strings.Repeat("s", 36), i)})
	}
	for _, s := range playbook.Severities {
		t := playbook.DefaultTiers().Get(s)
		t.Impact = strings.Repeat("<!channel> & impact ", 50)
		d.Tiers = append(d.Tiers, t)
	}
	return d
}

// TestHelpOverviewFits: the overview names every registered command, and
// stays under Slack's 3,000 characters with the longest services list and
// the longest "not a command" line above it; the services that did not fit
// are counted and sent to `help services`.
func TestHelpOverviewFits(t *testing.T) {
	t.Parallel()
	set := templates.MustDefault()
	b := &Bot{Command: "/incident"}
	for _, prefix := range []string{"", b.notACommand(strings.Repeat("&", 500))} {
		d := longestHelpData()
		text, err := renderOverview(set, d, prefix)
		if err != nil {
			t.Fatal(err)
		}
		if n := utf8.RuneCountInString(text); n > ephemeralLimit {
			t.Errorf("help is %d characters, over Slack's %d", n, ephemeralLimit)
		}
		if !strings.Contains(text, "`/incident help <topic or command>`") {
			t.Errorf("help overview does not explain help:\n%s", text)
		}
		for _, c := range router.commands {
			if c.Name != "help" && !strings.Contains(text, "`"+c.Name+"`") {
				t.Errorf("help overview does not name %q:\n%s", c.Name, text)
			}
		}
		if !strings.Contains(text, d.Services[0].Name) || !strings.Contains(text, "more: `/incident help services`") {
			t.Errorf("services not shown, or the rest not counted:\n%s", text)
		}
		if strings.Contains(text, "<!channel>") {
			t.Error("a tier's text went live")
		}
	}
	// A short list is shown whole.
	d := longestHelpData()
	d.Services = d.Services[:3]
	text, _ := renderOverview(set, d, "")
	if strings.Contains(text, "more:") || !strings.Contains(text, d.Services[2].Name) {
		t.Errorf("three services not all shown:\n%s", text)
	}
}

// TestHelpDetailsCoverEveryCommand: `help <command>` and `help <topic>`
// show every usage of every registered command, within Slack's limit;
// the overview points at every topic.
func TestHelpDetailsCoverEveryCommand(t *testing.T) {
	t.Parallel()
	set := templates.MustDefault()
	d := longestHelpData()
	overview, _ := renderOverview(set, d, "")
	for _, c := range router.commands {
		topicText, ok, err := renderDetail(set, d, c.Topic)
		if err != nil || !ok {
			t.Fatalf("help %s: %v %v", c.Topic, ok, err)
		}
		if c.Topic != "help" && !strings.Contains(overview, "`/incident help "+c.Topic+"`") {
			t.Errorf("overview does not point at topic %q", c.Topic)
		}
		for _, w := range append([]string{c.Name}, c.Aliases...) {
			text, ok, err := renderDetail(set, d, w)
			if err != nil || !ok {
				t.Fatalf("help %s: %v %v", w, ok, err)
			}
			for _, f := range c.Forms {
				usage := strings.TrimSpace("/incident " + f.Usage)
				for _, in := range []string{text, topicText} {
					if !strings.Contains(in, "`"+usage+"`") {
						t.Errorf("help %s lacks %q:\n%s", w, usage, in)
					}
				}
			}
			if strings.Contains(text, "{cmd}") || strings.Contains(text, "{default_severity}") {
				t.Errorf("help %s has a placeholder left: %s", w, text)
			}
			if n := utf8.RuneCountInString(topicText); n > ephemeralLimit {
				t.Errorf("help %s is %d characters", c.Topic, n)
			}
		}
	}
	sev, ok, _ := renderDetail(set, d, "severities")
	if !ok || !strings.Contains(sev, "SEV4") || strings.Contains(sev, "<!channel>") || utf8.RuneCountInString(sev) > ephemeralLimit {
		t.Errorf("help severities = %q", sev)
	}
	if _, ok, _ := renderDetail(set, d, "frobnicate"); ok {
		t.Error("help for an unknown word found something")
	}
}

// TestRoutesRefuseDuplicates: a subcommand, alias, action ID or callback ID
// registered twice stops the program at start-up.
func TestRoutesRefuseDuplicates(t *testing.T) {
	t.Parallel()
	cmd := subcommand{Name: "x", Topic: "triage", Forms: []form{{Usage: "x"}}, Handle: (*Bot).onHelp}
	for name, f := range map[string][2]feature{
		"name":     {{commands: []subcommand{cmd}}, {commands: []subcommand{cmd}}},
		"alias":    {{commands: []subcommand{cmd}}, {commands: []subcommand{{Name: "y", Aliases: []string{"x"}, Topic: "triage", Forms: cmd.Forms, Handle: cmd.Handle}}}},
		"action":   {{actions: map[string]actionHandler{"a": (*Bot).onCheck}}, {actions: map[string]actionHandler{"a": (*Bot).onCheck}}},
		"view":     {{views: map[string]viewHandler{"v": (*Bot).onScopeSubmit}}, {shortcuts: []shortcutRoute{{CallbackID: "v", Handle: (*Bot).onScopeSubmit}}}},
		"no topic": {{}, {commands: []subcommand{{Name: "z", Topic: "nowhere", Forms: cmd.Forms, Handle: cmd.Handle}}}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: registered twice without a panic", name)
				}
			}()
			r := newRoutes()
			r.add(f[0])
			r.add(f[1])
		}()
	}
}

// TestEveryButtonHasAHandler: every action ID constant (action…), modal
// callback ID (…CallbackID) and shortcut (shortcut…) declared in the
// package is registered, so no button Klaxon posts goes unanswered.
func TestEveryButtonHasAHandler(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	files, _ := filepath.Glob("*.go")
	n := 0
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					id, _ := strconv.Unquote(lit.Value)
					switch nm := name.Name; {
					case strings.HasSuffix(nm, "CallbackID"):
						n++
						if router.views[id] == nil {
							t.Errorf("%s: no handler for form %s = %q", path, nm, id)
						}
					case strings.HasPrefix(nm, "shortcut"):
						n++
						if router.shortcut(id) == nil {
							t.Errorf("%s: no handler for shortcut %s = %q", path, nm, id)
						}
					case strings.HasPrefix(nm, "action") && len(nm) > 6 && unicode.IsUpper(rune(nm[6])):
						n++
						if router.actions[id] == nil {
							t.Errorf("%s: no handler for button %s = %q", path, nm, id)
						}
					}
				}
			}
		}
	}
	if n < 25 {
		t.Fatalf("found only %d IDs; the scan is broken", n)
	}
}

// FuzzHelpWord: whatever follows "help" (or is typed instead of a
// command), the answer fits Slack's limit and never echoes live markup.
func FuzzHelpWord(f *testing.F) {
	for _, s := range []string{"triage", "SEV", "severity", "<!channel>", "&&&&", "services", "help", "", "\u00a0", "résumé"} {
		f.Add(s)
	}
	set := templates.MustDefault()
	d := longestHelpData()
	d.Services = d.Services[:150] // over the limit still, and faster to render
	b := &Bot{Command: "/incident"}
	f.Fuzz(func(t *testing.T, word string) {
		if text, ok, err := renderDetail(set, d, strings.ToLower(word)); err != nil || (ok && strings.Contains(text, "<!")) {
			t.Fatalf("help %q: %v %q", word, err, text)
		}
		if word == "" {
			return
		}
		text, err := renderOverview(set, d, b.notACommand(word))
		if err != nil || utf8.RuneCountInString(text) > ephemeralLimit || strings.Contains(text, "<!") || strings.Contains(text, "<@") {
			t.Fatalf("not-a-command %q: %v (%d characters) %q", word, err, utf8.RuneCountInString(text), text)
		}
	})
}

// TestREADMEListsEveryCommand: the README's command reference names every
// registered subcommand, so a new one is documented where operators look.
func TestREADMEListsEveryCommand(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range router.commands {
		if !strings.Contains(string(readme), "`/incident "+c.Name) {
			t.Errorf("README does not document /incident %s", c.Name)
		}
	}
}
