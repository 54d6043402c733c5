package github_test

import (
	"context"
	"strings"
	"testing"

	"github.com/klaxonhq/klaxon/github"
	"github.com/klaxonhq/klaxon/internal/fakegithub"
)

// docsExample is the example CODEOWNERS of GitHub's documentation
// ("About code owners"), with the owners shortened.
const docsExample = `# This is a comment.
# Each line is a file pattern followed by one or more owners.

# These owners will be the default owners for everything in
# the repo.
*       @global-owner1 @global-owner2

# Order is important; the last matching pattern takes the most
# precedence.
*.js    @js-owner #This is an inline comment.

*.go docs@example.com

*.txt @octo-org/octocats

/build/logs/ @doctocat

docs/*  docs@example.com

apps/ @octocat

/docs/ @doctocat

/scripts/ @doctocat @octocat

**/logs @octocat

/apps/ @octocat
/apps/github

/my\ dir/ @spaced
!negated @nobody
[ab].md @nobody
`

func TestCodeownersGitHubExamples(t *testing.T) {
	co := github.ParseCodeowners("CODEOWNERS", []byte(docsExample))
	for _, tt := range []struct {
		path, want string // want: owners joined by space, "-" for no owner, "" for no rule
		line       int
	}{
		{"README.md", "@global-owner1 @global-owner2", 6},
		{"src/app.js", "@js-owner", 10},
		{"main.go", "docs@example.com", 12},
		{"notes/a.txt", "@octo-org/octocats", 14},
		{"build/logs/x.log", "@octocat", 26},         // **/logs comes later and also matches
		{"build/logs/sub/y.md", "@octocat", 26},      // a directory's contents at any depth
		{"docs/getting-started.md", "@doctocat", 22}, // /docs/ after docs/*
		{"docs/build-app/troubleshooting.md", "@doctocat", 22},
		{"scripts/deploy.sh", "@doctocat @octocat", 24},
		{"deep/logs/app.md", "@octocat", 26},
		{"src/apps/x.md", "@octocat", 20}, // apps/ anywhere
		{"apps/github/main.rb", "-", 29},  // a pattern without owners: none
		{"apps/web/index.html", "@octocat", 28},
		{"my dir/f.md", "@spaced", 31},
		{"negated", "@global-owner1 @global-owner2", 6}, // ! lines are skipped
		{"", "@global-owner1 @global-owner2", 6},        // the whole repo: the * rule
	} {
		r, ok := co.Match(tt.path)
		got := strings.Join(r.Owners, " ")
		if ok && got == "" {
			got = "-"
		}
		if !ok || got != tt.want || r.Line != tt.line {
			t.Errorf("%q: %q line %d (%v), want %q line %d", tt.path, got, r.Line, ok, tt.want, tt.line)
		}
	}
	// Without a * rule, a repo-wide question has no answer.
	if _, ok := github.ParseCodeowners("x", []byte("*.js @a\n/docs/ @b\n")).Match(""); ok {
		t.Fatal("a partial rule answered for the whole repo")
	}
}

func TestCodeownersThroughTheAPI(t *testing.T) {
	f := fakegithub.New()
	defer f.Close()
	f.AddRepo("acme/checkout", "main")
	f.PutFile("acme/checkout", "main", "docs/CODEOWNERS", []byte("* @acme/docs\n"))
	f.PutFile("acme/checkout", "main", ".github/CODEOWNERS", []byte("# owners\n*       @acme/payments\n/db/ @acme/dba\n"))
	c, err := github.New(github.Options{APIURL: f.URL(), Token: fakegithub.Token})
	if err != nil {
		t.Fatal(err)
	}
	o := c.Owners(0)
	r, ok, err := o.Owner(context.Background(), "acme/checkout", "db/migrate/001.sql")
	if err != nil || !ok || r.File != ".github/CODEOWNERS" || r.Line != 3 || r.Owners[0] != "@acme/dba" {
		t.Fatalf("%+v %v %v", r, ok, err)
	}
	before := f.Requests()
	if _, _, err := o.Owner(context.Background(), "acme/checkout", ""); err != nil {
		t.Fatal(err)
	}
	if after := f.Requests(); len(after) != len(before) || sum(after) != sum(before) {
		t.Fatalf("the cached file was read again: %v → %v", before, after)
	}
	f.AddRepo("acme/none", "main")
	if _, ok, err := o.Owner(context.Background(), "acme/none", "x"); ok || err != nil {
		t.Fatalf("no CODEOWNERS: %v %v", ok, err)
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func FuzzParseCodeowners(f *testing.F) {
	f.Add([]byte(docsExample), "src/app.js")
	f.Add([]byte("**/** @a\n/**/x/** @b\n\\ @c\n"), "x/y")
	f.Add([]byte("a\\"), "")
	f.Fuzz(func(t *testing.T, content []byte, path string) {
		co := github.ParseCodeowners("CODEOWNERS", content)
		r, ok := co.Match(path)
		if ok && (r.Line < 1 || r.Pattern == "") {
			t.Fatalf("matched a rule without a line or pattern: %+v", r)
		}
	})
}
