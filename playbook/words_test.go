package playbook_test

import (
	"fmt"
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon/internal/wordscan"
)

// The domain says what happened, with which values, and never how a person
// reads it: no Slack markup and no sentences in playbook's source. The
// words live in templates (templates/default), which escape them for their
// destination.
//
// What counts, in every string literal of a non-test .go file here:
//   - Slack markup: "<@", "<#", "<!" or an :emoji: (a colon, a lower-case
//     letter, letters, digits, _ + or -, a colon);
//   - a sentence or a piece of one: three or more words, a word being a
//     space-separated token made only of letters (and ' or -) once its
//     surrounding punctuation is stripped. "Klaxon could not " counts;
//     "klaxon:incident-%d:owners", "slo_burn_rate", "15:04 UTC" do not.
//
// What does not count, by rule rather than by list:
//   - struct tags and import paths;
//   - the message of a log call (slog's Debug, Info, Warn, Error and their
//     Context forms): logs are for operators, and stay English;
//   - Go error strings (errors.New, fmt.Errorf): they travel in error
//     chains to logs; what a person reads of an error is the typed
//     *playbook.Error rendered by templates.
//
// Nor does a literal in allowedWords: text the domain matches in what a
// person typed, never writes, each with why.
//
// Everything else found must be in pendingWords, with who still owes its
// move; an entry of either list that no longer matches fails the test too,
// so the lists only shrink.
func TestNoSlackMarkupOrSentencesInPlaybook(t *testing.T) {
	found, err := wordscan.Dir(".", rules)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, f := range found {
		_, pending := pendingWords[f.Key()]
		if _, allowed := allowedWords[f.Key()]; !pending && !allowed {
			missing = append(missing, f.String())
		}
	}
	if len(missing) > 0 {
		t.Errorf("playbook writes words for people (%d literals); return data and render it in templates:\n%s",
			len(missing), strings.Join(missing, "\n"))
	}
	keys := map[string]bool{}
	for _, f := range found {
		keys[f.Key()] = true
	}
	var stale []string
	for _, list := range []map[string]string{pendingWords, allowedWords} {
		for k := range list {
			if !keys[k] {
				stale = append(stale, fmt.Sprintf("%q", k))
			}
		}
	}
	slices.Sort(stale)
	if len(stale) > 0 {
		t.Errorf("pendingWords or allowedWords list literals playbook no longer has; remove them:\n%s", strings.Join(stale, "\n"))
	}
}

// allowedWords are literals that read like words but are matched in what a
// person typed, never shown by Klaxon: keys are "file: literal", values why.
var allowedWords = map[string]string{
	// vaguePrefixes: an action item typed as "be more careful with
	// deploys" is refused as vague (ReasonActionVague). The phrase is
	// compared with the typed text, and the refusal (error.action_vague,
	// a template) quotes back only the part of that text it matched, as
	// the person typed it; Klaxon never says it in its own words.
	"actions.go: be more careful": "a phrase the action-item check matches in typed text",
}

// TestWordScanCatchesWords checks the heuristic on a hand-made file.
func TestWordScanCatchesWords(t *testing.T) {
	src := `package p
import "fmt"
type T struct{ A string ` + "`json:\"a,omitempty\" yaml:\"a b c\"`" + ` }
func f(log interface{ Warn(string, ...any) }) {
	_ = "<@" + "U1" + ">"
	_ = ":white_check_mark: done"
	_ = "Incident #%d is closed"
	_ = "could not read who is on call ("
	_ = "15:04:05 UTC"
	_ = "klaxon:incident-%d:action-%d"
	_ = "slo_burn_rate"
	_ = "a b"
	log.Warn("telling the channel about a failure", "incident", 1)
	_ = fmt.Errorf("reading the deploys of %s: %w", "x", nil)
}
`
	fs := token.NewFileSet()
	f, err := parser.ParseFile(fs, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range wordscan.File(fs, f, rules) {
		got = append(got, w.Literal)
	}
	want := []string{"<@", ":white_check_mark: done", "Incident #%d is closed", "could not read who is on call ("}
	if !slices.Equal(got, want) {
		t.Fatalf("found %q, want %q", got, want)
	}
}

// rules are this package's exemptions (see the test's comment).
var rules = wordscan.Rules{}
