package github

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/klaxonhq/klaxon/playbook"
)

// CodeownersFiles are where GitHub looks for CODEOWNERS, in its order: the
// first one found is the one used.
var CodeownersFiles = []string{".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"}

// Rule is one CODEOWNERS line.
type Rule struct {
	Line    int
	Pattern string
	Owners  []string
	re      *regexp.Regexp
}

// Codeowners is a parsed CODEOWNERS file.
type Codeowners struct {
	File  string
	Rules []Rule
}

// ParseCodeowners reads a CODEOWNERS file the way GitHub does: one pattern
// and its owners per line, # comments (at the start of a line or after
// white space), "\ " for a space inside a pattern. Lines GitHub ignores
// (negation with !, character ranges with [ ]) are skipped, as are
// patterns that do not compile; a pattern without owners is kept (it
// leaves its files without an owner).
func ParseCodeowners(file string, content []byte) Codeowners {
	co := Codeowners{File: file}
	for i, line := range strings.Split(string(content), "\n") {
		fields := splitFields(line)
		if len(fields) == 0 {
			continue
		}
		pat := fields[0]
		if strings.HasPrefix(pat, "!") || strings.ContainsAny(pat, "[]") || pat == "" {
			continue
		}
		re, err := regexp.Compile(patternRegexp(pat))
		if err != nil {
			continue
		}
		co.Rules = append(co.Rules, Rule{Line: i + 1, Pattern: pat, Owners: fields[1:], re: re})
	}
	return co
}

// splitFields splits a line on unescaped white space and drops a comment.
func splitFields(line string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	line = strings.TrimRight(line, "\r")
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case c == '#' && cur.Len() == 0:
			flush()
			return out
		case c == ' ' || c == '\t':
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return out
}

// patternRegexp turns a gitignore-style pattern into a regexp matching
// paths (no leading slash): a pattern with a slash at its start or middle
// is anchored at the root, else it matches at any depth; a trailing slash
// matches a directory's contents; a pattern matching a directory matches
// everything in it; * is any run within one segment, ** any run of
// segments, ? one character.
func patternRegexp(p string) string {
	dirOnly := strings.HasSuffix(p, "/")
	p = strings.TrimSuffix(p, "/")
	anchored := strings.Contains(p, "/")
	p = strings.TrimPrefix(p, "/")
	var b strings.Builder
	b.WriteString("^")
	if !anchored {
		b.WriteString("(?:.*/)?")
	}
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		last := i == len(segs)-1
		if seg == "**" {
			if last {
				b.WriteString(".*")
			} else {
				b.WriteString("(?:.*/)?")
			}
			continue
		}
		for _, r := range seg {
			switch r {
			case '*':
				b.WriteString("[^/]*")
			case '?':
				b.WriteString("[^/]")
			default:
				b.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		if !last {
			b.WriteString("/")
		}
	}
	if dirOnly {
		b.WriteString("/.*$")
	} else {
		b.WriteString("(?:/.*)?$")
	}
	return b.String()
}

// anyFile stands for "every file" when the owners of a whole repository
// are asked for: only patterns matching all files (*, **) match it.
const anyFile = "\x00every file"

// Match returns the rule that decides path's owners: the last matching one.
// An empty path asks for the rule covering every file.
func (co Codeowners) Match(path string) (Rule, bool) {
	path = strings.TrimPrefix(path, "/")
	if path == "" {
		path = anyFile
	}
	for i := len(co.Rules) - 1; i >= 0; i-- {
		if co.Rules[i].re.MatchString(path) {
			return co.Rules[i], true
		}
	}
	return Rule{}, false
}

// Owners reads CODEOWNERS through the GitHub API and caches each repo's
// file for a TTL. It implements playbook.Owners.
type Owners struct {
	c   *Client
	ttl time.Duration

	mu    sync.Mutex
	cache map[string]ownersEntry
}

type ownersEntry struct {
	co    Codeowners
	found bool
	at    time.Time
}

var _ playbook.Owners = (*Owners)(nil)

// Owners returns the CODEOWNERS reader (ttl 0: 10 minutes).
func (c *Client) Owners(ttl time.Duration) *Owners {
	if ttl <= 0 {
		ttl = 10 * time.Minute
	}
	return &Owners{c: c, ttl: ttl, cache: map[string]ownersEntry{}}
}

// Owner implements playbook.Owners.
func (o *Owners) Owner(ctx context.Context, repo, path string) (playbook.OwnerRule, bool, error) {
	co, found, err := o.file(ctx, repo)
	if err != nil || !found {
		return playbook.OwnerRule{}, false, err
	}
	r, ok := co.Match(path)
	if !ok {
		return playbook.OwnerRule{}, false, nil
	}
	return playbook.OwnerRule{Repo: repo, File: co.File, Line: r.Line, Pattern: r.Pattern, Owners: r.Owners}, true, nil
}

func (o *Owners) file(ctx context.Context, repo string) (Codeowners, bool, error) {
	now := o.c.now()
	o.mu.Lock()
	e, ok := o.cache[repo]
	o.mu.Unlock()
	if ok && now.Sub(e.at) < o.ttl {
		return e.co, e.found, nil
	}
	owner, name, err := splitRepo(repo)
	if err != nil {
		return Codeowners{}, false, err
	}
	e = ownersEntry{at: now}
	for _, f := range CodeownersFiles {
		fc, _, _, err := o.c.api.Repositories.GetContents(ctx, owner, name, f, nil)
		var er *gh.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusNotFound {
			continue
		}
		if err != nil {
			return Codeowners{}, false, o.c.fail("read "+f+" in "+repo, err)
		}
		if fc == nil {
			continue // a directory
		}
		content, err := fc.GetContent()
		if err != nil {
			return Codeowners{}, false, o.c.fail("decode "+f+" in "+repo, err)
		}
		e.co, e.found = ParseCodeowners(f, []byte(content)), true
		break
	}
	o.mu.Lock()
	o.cache[repo] = e
	o.mu.Unlock()
	return e.co, e.found, nil
}
