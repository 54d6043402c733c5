// Package wordscan finds, in a package's Go source, string literals that
// hold Slack markup or words meant for people: the scan behind playbook's
// and bot's tests that every word a person reads lives in templates. Only
// those tests import it.
//
// What counts, in every string literal of a non-test .go file:
//   - Slack markup: "<@", "<#", "<!" or an :emoji: (a colon, a lower-case
//     letter, letters, digits, _ + or -, a colon);
//   - a sentence or a piece of one: three or more words, a word being a
//     space-separated token made only of letters (and ' or -) once its
//     surrounding punctuation is stripped. "Klaxon could not " counts;
//     "klaxon:incident-%d:owners", "slo_burn_rate", "15:04 UTC" do not.
//
// What never counts: struct tags, import paths and the message of a log
// call (slog's Debug, Info, Warn, Error and their Context forms: logs are
// for operators). Rules says what else does not, per package.
package wordscan

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Rules are the exemptions a package's scan grants beyond the fixed ones.
type Rules struct {
	// WrappingErrorsOnly exempts only error messages that wrap (fmt.Errorf
	// with %w); otherwise every errors.New and fmt.Errorf message is
	// exempt.
	WrappingErrorsOnly bool
	// Panics exempts every literal inside a panic call.
	Panics bool
	// Usage exempts the value of a Usage: field (a subcommand's syntax).
	Usage bool
	// PrometheusHelp exempts a metric's HELP text: the Help of a
	// prometheus.*Opts and the second argument of prometheus.NewDesc.
	PrometheusHelp bool
}

// Found is one literal for people.
type Found struct {
	File, Literal string
	Line          int
}

// Key is "file: literal", as the tests' pending and allowed lists name it.
func (w Found) Key() string { return w.File + ": " + w.Literal }

// String is the line to paste into a pending list.
func (w Found) String() string { return fmt.Sprintf("\t%q: \"\", // line %d", w.Key(), w.Line) }

// Dir scans the non-test .go files of dir.
func Dir(dir string, r Rules) ([]Found, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	fs := token.NewFileSet()
	var out []Found
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fs, name, nil, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, File(fs, f, r)...)
	}
	return out, nil
}

var (
	emoji    = regexp.MustCompile(`:[a-z][a-z0-9_+-]*:`)
	wordLike = regexp.MustCompile(`^[A-Za-z][A-Za-z'’-]*$`)
	logCalls = map[string]bool{"Debug": true, "Info": true, "Warn": true, "Error": true,
		"DebugContext": true, "InfoContext": true, "WarnContext": true, "ErrorContext": true}
)

// File lists the literals of f that hold markup or words for people.
func File(fs *token.FileSet, f *ast.File, r Rules) []Found {
	skip := map[*ast.BasicLit]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.ImportSpec:
			skip[x.Path] = true
		case *ast.Field:
			if x.Tag != nil {
				skip[x.Tag] = true
			}
		case *ast.CompositeLit:
			if !r.PrometheusHelp {
				return true
			}
			if sel, ok := x.Type.(*ast.SelectorExpr); ok && isIdent(sel.X, "prometheus") && strings.HasSuffix(sel.Sel.Name, "Opts") {
				for _, e := range x.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok && isIdent(kv.Key, "Help") {
						if lit, ok := kv.Value.(*ast.BasicLit); ok {
							skip[lit] = true
						}
					}
				}
			}
		case *ast.KeyValueExpr:
			if k, ok := x.Key.(*ast.Ident); ok && r.Usage && k.Name == "Usage" {
				if lit, ok := x.Value.(*ast.BasicLit); ok {
					skip[lit] = true
				}
			}
		case *ast.CallExpr:
			if sel, ok := x.Fun.(*ast.SelectorExpr); ok && r.PrometheusHelp && isIdent(sel.X, "prometheus") && sel.Sel.Name == "NewDesc" && len(x.Args) > 1 {
				if lit, ok := x.Args[1].(*ast.BasicLit); ok {
					skip[lit] = true
				}
			}
			if r.Panics && isIdent(x.Fun, "panic") {
				ast.Inspect(x, func(n ast.Node) bool {
					if lit, ok := n.(*ast.BasicLit); ok {
						skip[lit] = true
					}
					return true
				})
				return false
			}
			sel, ok := x.Fun.(*ast.SelectorExpr)
			if !ok || len(x.Args) == 0 {
				return true
			}
			goErr := isIdent(sel.X, "fmt") && sel.Sel.Name == "Errorf" || isIdent(sel.X, "errors") && sel.Sel.Name == "New"
			logMsg := logCalls[sel.Sel.Name]
			if !goErr && !logMsg {
				return true
			}
			// The message is the first argument, or the second after a
			// context (InfoContext(ctx, "msg", ...)).
			for _, a := range x.Args[:min(2, len(x.Args))] {
				lit, ok := a.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				if logMsg || !r.WrappingErrorsOnly || strings.Contains(lit.Value, "%w") {
					skip[lit] = true
				}
				break
			}
		}
		return true
	})
	var out []Found
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING || skip[lit] {
			return true
		}
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			return true
		}
		if ForPeople(s) {
			pos := fs.Position(lit.Pos())
			out = append(out, Found{File: filepath.Base(pos.Filename), Literal: s, Line: pos.Line})
		}
		return true
	})
	return out
}

// ForPeople reports whether s is Slack markup or (part of) a sentence.
func ForPeople(s string) bool {
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

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}
