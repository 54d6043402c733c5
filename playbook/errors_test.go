package playbook_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"testing"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

// userMessage is what a person reads about err in Slack: the domain's
// error rendered through the embedded templates.
func userMessage(err error) string { return templates.Default().Error(err) }

// TestErrorReasonsListed reads errors.go: every ErrorReason constant
// declared there is in ErrorReasons (which the templates' tests walk), once.
func TestErrorReasonsListed(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	listed := playbook.ErrorReasons()
	seen := map[playbook.ErrorReason]bool{}
	for _, r := range listed {
		if seen[r] {
			t.Errorf("reason %q listed twice", r)
		}
		seen[r] = true
	}
	declared := 0
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "ErrorReason" {
				continue
			}
			for i, name := range vs.Names {
				declared++
				lit := vs.Values[i].(*ast.BasicLit).Value
				r := playbook.ErrorReason(lit[1 : len(lit)-1])
				if !slices.Contains(listed, r) {
					t.Errorf("%s (%s) is declared but not in ErrorReasons()", name.Name, r)
				}
			}
		}
	}
	if declared != len(listed) {
		t.Errorf("%d reasons declared, %d listed", declared, len(listed))
	}
}
