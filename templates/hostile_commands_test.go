package templates

import (
	"maps"
	"strings"

	"github.com/klaxonhq/klaxon/playbook"
)

// commandExamples are the hostile examples of the words of bot's commands
// and their forms (help, declare, triage, updates, list, the App Home),
// merged into examples so TestEveryTemplateWithHostileInput renders them.
var commandExamples = map[string]func(h string) []any{
	"help.not_a_command": func(h string) []any { return []any{map[string]any{"Command": "/incident", "Word": h}} },
	"help.no_such_topic": func(h string) []any { return []any{map[string]any{"Command": "/incident", "Word": h}} },
	"help.fallback":      func(string) []any { return []any{map[string]any{"Command": "/incident"}} },
	"help.in_channel":    noData,
	"help.services_none": noData,
}

// noData renders a template that takes no data.
func noData(string) []any { return []any{nil} }

func init() {
	// The subcommands' lines of help and the topics' titles: Klaxon's own
	// words, with the slash command and the default severity.
	for _, name := range MustDefault().Templates() {
		if strings.HasPrefix(name, "usage.") || strings.HasPrefix(name, "help.title.") {
			commandExamples[name] = func(string) []any {
				return []any{map[string]any{"Command": "/incident", "DefaultSeverity": playbook.SEV3}}
			}
		}
	}
	maps.Copy(examples, commandExamples)
}
