package playbook_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
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
	found := scanWords(t, ".")
	var missing []string
	for _, f := range found {
		_, pending := pendingWords[f.key()]
		if _, allowed := allowedWords[f.key()]; !pending && !allowed {
			missing = append(missing, f.String())
		}
	}
	if len(missing) > 0 {
		t.Errorf("playbook writes words for people (%d literals); return data and render it in templates:\n%s",
			len(missing), strings.Join(missing, "\n"))
	}
	keys := map[string]bool{}
	for _, f := range found {
		keys[f.key()] = true
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
	for _, w := range wordsIn(fs, f) {
		got = append(got, w.Literal)
	}
	want := []string{"<@", ":white_check_mark: done", "Incident #%d is closed", "could not read who is on call ("}
	if !slices.Equal(got, want) {
		t.Fatalf("found %q, want %q", got, want)
	}
}

type wordsFound struct {
	File, Literal string
	Line          int
}

func (w wordsFound) key() string { return w.File + ": " + w.Literal }

func (w wordsFound) String() string { return fmt.Sprintf("\t%q: \"\", // line %d", w.key(), w.Line) }

func scanWords(t *testing.T, dir string) []wordsFound {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fs := token.NewFileSet()
	var out []wordsFound
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fs, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, wordsIn(fs, f)...)
	}
	return out
}

var (
	emoji    = regexp.MustCompile(`:[a-z][a-z0-9_+-]*:`)
	wordLike = regexp.MustCompile(`^[A-Za-z][A-Za-z'’-]*$`)
	logCalls = map[string]bool{"Debug": true, "Info": true, "Warn": true, "Error": true,
		"DebugContext": true, "InfoContext": true, "WarnContext": true, "ErrorContext": true}
)

// wordsIn lists the literals of f that hold markup or words for people.
func wordsIn(fs *token.FileSet, f *ast.File) []wordsFound {
	skip := map[*ast.BasicLit]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.ImportSpec:
			skip[x.Path] = true
		case *ast.Field:
			if x.Tag != nil {
				skip[x.Tag] = true
			}
		case *ast.CallExpr:
			sel, ok := x.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, _ := sel.X.(*ast.Ident)
			goErr := pkg != nil && (pkg.Name == "fmt" && sel.Sel.Name == "Errorf" || pkg.Name == "errors" && sel.Sel.Name == "New")
			if goErr || logCalls[sel.Sel.Name] && len(x.Args) > 0 {
				if lit, ok := x.Args[0].(*ast.BasicLit); ok {
					skip[lit] = true
				}
			}
		}
		return true
	})
	var out []wordsFound
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING || skip[lit] {
			return true
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			return true
		}
		if forPeople(s) {
			pos := fs.Position(lit.Pos())
			out = append(out, wordsFound{File: filepath.Base(pos.Filename), Literal: s, Line: pos.Line})
		}
		return true
	})
	return out
}

// forPeople reports whether s is Slack markup or (part of) a sentence.
func forPeople(s string) bool {
	if strings.Contains(s, "<@") || strings.Contains(s, "<#") || strings.Contains(s, "<!") || emoji.MatchString(s) {
		return true
	}
	words := 0
	for _, tok := range strings.Fields(s) {
		if wordLike.MatchString(strings.Trim(tok, ".,;:!?()[]\"'`…")) {
			words++
		}
	}
	return words >= 3
}
