package bot_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon/playbook"
)

// TestBotGoesThroughTheApp scans bot's source: it calls App methods and
// never reaches the App's ports (App.Store, App.Poster, …, every field of
// playbook.Deps), never wires an App (playbook.Deps, playbook.New: that is
// cmd/klaxon's job) and never imports the store. The compiler already
// refuses unexported fields; this keeps the rule if someone exports one
// again, and names the rule when it fails.
func TestBotGoesThroughTheApp(t *testing.T) {
	ports := map[string]bool{}
	app := reflect.TypeFor[*playbook.App]()
	for f := range reflect.TypeFor[playbook.Deps]().Fields() {
		if _, isMethod := app.MethodByName(f.Name); !isMethod { // App.Services() is a query
			ports[f.Name] = true
		}
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue // tests wire an App, as cmd/klaxon does
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); strings.HasPrefix(p, "github.com/klaxonhq/klaxon/store") {
				t.Errorf("%s imports %s: bot reads incidents through App queries", fset.Position(imp.Pos()), p)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.SelectorExpr); ok && x.Sel.Name == "App" && ports[sel.Sel.Name] {
				t.Errorf("%s: App.%s reaches a port of the App; call an App method instead", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "playbook" && (sel.Sel.Name == "Deps" || sel.Sel.Name == "New") {
				t.Errorf("%s: playbook.%s: only cmd/klaxon wires the App", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
	}
}
