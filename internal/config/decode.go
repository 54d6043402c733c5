package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"
)

// The file is decoded by walking the yaml.Node tree by hand rather than with
// yaml's struct decoding (KnownFields(true)): that stops at the first problem
// and reports no key paths, while the walk below records every problem with
// its path and line, expands ${VAR} per scalar, and keeps secrets out of
// messages. Validation happens as each value is read, since defaults are
// valid and only what the file sets can be wrong.

var (
	// Slack IDs: users are U… (W… on Enterprise Grid), user groups S…,
	// public channels C…, private channels G… (older ones).
	stakeholderRE = regexp.MustCompile(`^[UWS][A-Z0-9]{2,}$`)
	userRE        = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	channelRE     = regexp.MustCompile(`^[CG][A-Z0-9]{2,}$`)
	// Service names are typed in slash commands and become part of channel
	// names, which Slack limits to lowercase letters, digits, - and _.
	serviceNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)
	varNameRE     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	simpleKeyRE   = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	yamlErrRE     = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	// GitHub: a repository is owner/name; a login is letters, digits and
	// hyphens, at most 39, not starting with a hyphen.
	repoPartRE    = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	githubLoginRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}$`)
)

const (
	// maxSecretSize bounds a secret file: tokens are short, and a _file that
	// points at a log or a device by mistake must not be read whole.
	maxSecretSize = 64 << 10
	// nodeBudget bounds how many nodes one parse visits. Aliases and merge
	// keys let a small file describe an exponentially large tree (the
	// "billion laughs"); real configs stay far below this.
	nodeBudget = 1 << 20
	// maxMergeDepth bounds nested merge keys, which may also be cyclic
	// (an anchor's own merge key can refer to it).
	maxMergeDepth = 8
	// maxAppName is Slack's limit on an app's display name.
	maxAppName = 35
	// maxDeployEnvironment is GitHub's limit on an environment's name.
	maxDeployEnvironment = 255
)

var (
	errNotRegular = errors.New("not a regular file")
	errTooLarge   = fmt.Errorf("larger than %d KiB, so not a token file", maxSecretSize>>10)
	errNotDir     = errors.New("not a directory")
)

// files is the file system as Parse sees it: the real one, or a map in the
// fuzz test so that arbitrary input can't make it open devices or FIFOs.
type files interface {
	readSecret(path string) ([]byte, error)
	statDir(path string) error
}

type osFiles struct{}

func (osFiles) readSecret(path string) ([]byte, error) {
	// Stat before opening: opening a FIFO (/dev/stdin, a process
	// substitution) would block until someone writes to it.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errNotRegular
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSecretSize {
		return nil, errTooLarge
	}
	return b, nil
}

func (osFiles) statDir(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return errNotDir
	}
	return nil
}

type decoder struct {
	baseDir   string
	getenv    func(string) (string, bool)
	fs        files
	problems  []Problem
	budget    int
	exhausted bool
	// repoKeys are the keys that set a GitHub repository, which needs
	// github.token; githubTokenEmpty is set when github.token was written
	// but came out empty (an empty variable).
	repoKeys         []Problem
	githubTokenEmpty bool
	// alertsNode and defaultServiceNode locate alerts.* problems found
	// after the whole file is read.
	alertsNode, defaultServiceNode *yaml.Node
	// setEscalate records the tiers whose escalate the file wrote, where a
	// role must be mapped (the defaults' unmapped roles are dropped).
	setEscalate map[playbook.Severity]bool
	// storePathLine is the line of store.path, for Check's look at the
	// file system (0 when the default is used).
	storePathLine int
}

func newDecoder(baseDir string, getenv func(string) (string, bool), fs files) *decoder {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	return &decoder{baseDir: baseDir, getenv: getenv, fs: fs, budget: nodeBudget}
}

func (d *decoder) parse(data []byte) (*Config, error) {
	cfg := Default()
	root, err := parseYAML(data)
	if err != nil {
		d.problems = append(d.problems, yamlProblem(err))
	} else if root != nil {
		d.root(root, cfg)
	}
	if len(d.problems) > 0 {
		sortProblems(d.problems)
		return nil, &Problems{List: d.problems}
	}
	return cfg, nil
}

// errMultiDoc reports a second document: Klaxon reads one, and silently
// ignoring the rest would hide settings.
type errMultiDoc struct{ line int }

func (e errMultiDoc) Error() string {
	return fmt.Sprintf("yaml: line %d: a second YAML document (after ---): put all settings in one", e.line)
}

// parseYAML returns the root node of the only document, nil for an empty
// file.
func parseYAML(data []byte) (root *yaml.Node, err error) {
	// The parser reports syntax errors as errors, but a few internal
	// assertions still panic; Parse promises not to.
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, errors.New("yaml: the YAML parser could not read this file")
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, err
	default:
		return nil, errMultiDoc{line: next.Line}
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		return doc.Content[0], nil
	}
	return &doc, nil
}

// yamlProblem turns the parser's "yaml: line 3: msg" into a Problem. Its
// messages are fixed phrases about the syntax; the one exception, an unknown
// anchor's name, is hidden like any value if it looks like a token.
func yamlProblem(err error) Problem {
	msg := err.Error()
	if looksLikeToken(msg) {
		msg = "yaml: " + quoteText(msg)
	}
	if m := yamlErrRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Problem{Line: line, Msg: "invalid YAML: " + m[2]}
	}
	return Problem{Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

func (d *decoder) add(n *yaml.Node, path, format string, args ...any) {
	if d.exhausted {
		// Past the budget the walk sees nils where values are, so what it
		// would report is noise.
		return
	}
	line := 0
	if n != nil {
		line = n.Line
	}
	d.problems = append(d.problems, Problem{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// resolve follows aliases and spends the node budget; it returns nil once the
// budget is gone, after one problem saying so.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 4; i++ {
		n = n.Alias
	}
	if n == nil || n.Kind == yaml.AliasNode {
		return nil
	}
	d.budget--
	if d.budget < 0 {
		if !d.exhausted {
			d.add(n, "", "the file expands to more than %d values through aliases and merge keys; simplify it", nodeBudget)
			d.exhausted = true
		}
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	}
	return "something else"
}

// joinKey appends a key to a path; keys that aren't plain words are quoted
// so that the path stays unambiguous.
func joinKey(path, key string) string {
	if looksLikeToken(key) {
		// A token pasted where a key goes ("xoxb-…: x") must not be echoed.
		return path + "[token-like key, not shown]"
	}
	if !simpleKeyRE.MatchString(key) {
		return path + "[" + quoteText(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// quoteText quotes a value written in the file for a message, shortened, and
// hidden when it looks like a Slack or GitHub token pasted in the wrong place.
func quoteText(s string) string {
	if looksLikeSlackToken(s) {
		return "(a value that looks like a Slack token, not shown)"
	}
	if looksLikeGitHubToken(s) {
		return "(a value that looks like a GitHub token, not shown)"
	}
	if utf8.RuneCountInString(s) > 60 {
		s = string([]rune(s)[:59]) + "…"
	}
	return strconv.Quote(s)
}

func looksLikeToken(s string) bool {
	return looksLikeSlackToken(s) || looksLikeGitHubToken(s)
}

func looksLikeSlackToken(s string) bool {
	for _, k := range tokenKinds {
		if strings.Contains(s, k.prefix) {
			return true
		}
	}
	return false
}

func looksLikeGitHubToken(s string) bool {
	for _, p := range githubTokenPrefixes {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// scalar is a value read from the file after ${VAR} expansion.
type scalar struct {
	val  string
	node *yaml.Node
	// expanded is set when the value came (partly) from the environment: it
	// is then never quoted back, since the variable may hold a secret.
	expanded bool
}

// show renders the value for a problem message.
func (s scalar) show() string {
	if s.expanded {
		return "the value from the environment"
	}
	return quoteText(s.val)
}

// scalar reads a single value. ok is false when the value is null (keep the
// default) or wrong, in which case the problem is recorded.
func (d *decoder) scalar(n *yaml.Node, path string) (s scalar, ok bool) {
	n = d.resolve(n)
	if isNull(n) {
		return scalar{}, false
	}
	if n.Kind != yaml.ScalarNode {
		d.add(n, path, "want a single value, not %s", kindName(n))
		return scalar{}, false
	}
	v, expanded, errs := expand(n.Value, d.getenv)
	for _, e := range errs {
		d.add(n, path, "%s", e)
	}
	if len(errs) > 0 {
		return scalar{}, false
	}
	return scalar{val: v, node: n, expanded: expanded}, true
}

// expand replaces ${VAR} and ${VAR:-default} in s. Errors name the variable,
// never a value.
func expand(s string, getenv func(string) (string, bool)) (out string, expanded bool, errs []string) {
	if !strings.Contains(s, "${") {
		return s, false, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		if i > 0 && s[i-1] == '$' { // $${ is a literal ${
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			errs = append(errs, "unterminated ${ (write $${ for a literal ${)")
			break
		}
		expr := s[i+2 : i+2+end]
		s = s[i+2+end+1:]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !varNameRE.MatchString(name) {
			errs = append(errs, fmt.Sprintf("${%s}: not an environment variable name (want ${NAME} or ${NAME:-default})", strings.Trim(quoteText(expr), `"`)))
			continue
		}
		v, set := getenv(name)
		switch {
		case hasDef && v == "":
			v = def
		case !set:
			errs = append(errs, fmt.Sprintf("environment variable %s is not set (write ${%s:-default} to give a default)", name, name))
			continue
		}
		b.WriteString(v)
		expanded = true
	}
	return b.String(), expanded, errs
}

type pair struct{ key, val *yaml.Node }

// pairs lists a mapping's entries, merge keys (<<) applied: keys written in
// the mapping win over merged ones, and earlier merge sources win over later
// ones, as YAML's merge key type specifies. A key written twice is a problem
// (yaml's own struct decoding rejects it too).
func (d *decoder) pairs(n *yaml.Node, path string, depth int) []pair {
	var out []pair
	seen := map[string]int{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.resolve(n.Content[i]), n.Content[i+1]
		if k == nil {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.add(k, path, "a key must be a single value, not %s", kindName(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.add(k, joinKey(path, k.Value), "duplicate key (first set at line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, pair{k, v})
	}
	for _, m := range merges {
		m = d.resolve(m)
		if m == nil {
			continue
		}
		var sources []*yaml.Node
		switch m.Kind {
		case yaml.MappingNode:
			sources = []*yaml.Node{m}
		case yaml.SequenceNode:
			for _, s := range m.Content {
				if s = d.resolve(s); s != nil {
					sources = append(sources, s)
				}
			}
		}
		for _, s := range sources {
			if s.Kind != yaml.MappingNode {
				d.add(s, joinKey(path, "<<"), "a merge key takes a mapping or a list of mappings, not %s", kindName(s))
				continue
			}
			if depth >= maxMergeDepth {
				d.add(s, joinKey(path, "<<"), "merge keys nested more than %d deep (or merging into themselves)", maxMergeDepth)
				continue
			}
			for _, p := range d.pairs(s, path, depth+1) {
				if _, dup := seen[p.key.Value]; !dup {
					seen[p.key.Value] = p.key.Line
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// field handles one known key of a mapping.
type field func(n *yaml.Node, path string)

// mapping walks a mapping with a fixed set of keys; an unknown key is a
// problem with a suggestion. It returns false when n is neither a mapping nor
// null (the problem is recorded).
func (d *decoder) mapping(n *yaml.Node, path string, fields map[string]field) bool {
	n = d.resolve(n)
	if isNull(n) {
		return true
	}
	if n.Kind != yaml.MappingNode {
		d.add(n, path, "want a mapping (key: value lines), not %s", kindName(n))
		return false
	}
	for _, p := range d.pairs(n, path, 0) {
		key := p.key.Value
		kp := joinKey(path, key)
		f, ok := fields[key]
		if !ok {
			d.add(p.key, kp, "unknown key%s", suggest(key, fields))
			continue
		}
		f(p.val, kp)
	}
	return true
}

// suggest names the known key closest to a mistyped one, or lists them all.
func suggest(key string, fields map[string]field) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	best, bestDist := "", 3
	lk := strings.ToLower(key)
	for _, n := range names {
		dist := editDistance(lk, n)
		if len(lk) >= 4 && (strings.HasPrefix(n, lk) || strings.HasPrefix(lk, n)) {
			dist = min(dist, 1)
		}
		if dist < bestDist {
			best, bestDist = n, dist
		}
	}
	if best != "" {
		return " (did you mean " + best + "?)"
	}
	return "; known keys: " + strings.Join(names, ", ")
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64 // no key is that long; don't spend time on garbage
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// str sets *dst from a single value, checked by check (which returns "" when
// the value is fine, else the problem).
func (d *decoder) str(dst *string, check func(scalar) string) field {
	return func(n *yaml.Node, path string) {
		s, ok := d.scalar(n, path)
		if !ok {
			return
		}
		if check != nil {
			if msg := check(s); msg != "" {
				d.add(s.node, path, "%s", msg)
				return
			}
		}
		*dst = s.val
	}
}

// duration reads a Go duration of at least lo.
func (d *decoder) duration(n *yaml.Node, path string, lo time.Duration) (time.Duration, *yaml.Node, bool) {
	s, ok := d.scalar(n, path)
	if !ok {
		return 0, nil, false
	}
	v, err := time.ParseDuration(strings.TrimSpace(s.val))
	if err != nil {
		d.add(s.node, path, "not a duration: %s (want Go syntax such as 90s, 15m or 1h30m)", s.show())
		return 0, nil, false
	}
	if v < lo {
		if lo == 0 {
			d.add(s.node, path, "must not be negative")
		} else {
			d.add(s.node, path, "must be at least %s", lo)
		}
		return 0, nil, false
	}
	return v, s.node, true
}

func (d *decoder) durationField(dst *time.Duration, lo time.Duration) field {
	return func(n *yaml.Node, path string) {
		if v, _, ok := d.duration(n, path, lo); ok {
			*dst = v
		}
	}
}

// ids reads a list of Slack user or user-group IDs; duplicates are dropped,
// since inviting someone twice means nothing more.
func (d *decoder) ids(dst *[]string) field {
	return func(n *yaml.Node, path string) {
		n = d.resolve(n)
		if isNull(n) {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.add(n, path, "want a list of Slack user or user-group IDs, like [U0EXEC01, S0ONCALL], not %s", kindName(n))
			return
		}
		out := []string{}
		ok := true
		for i, item := range n.Content {
			ip := path + "[" + strconv.Itoa(i) + "]"
			s, good := d.scalar(item, ip)
			if !good {
				if s.node == nil && isNull(d.resolve(item)) {
					d.add(item, ip, "empty entry")
				}
				ok = false
				continue
			}
			if !stakeholderRE.MatchString(s.val) {
				hint := ""
				if strings.HasPrefix(s.val, "@") {
					hint = "; @names change, so copy the member ID from the profile"
				}
				d.add(s.node, ip, "not a Slack user or user-group ID: %s (want U… or W… for a person, S… for a user group%s)", s.show(), hint)
				ok = false
				continue
			}
			if !slices.Contains(out, s.val) {
				out = append(out, s.val)
			}
		}
		if ok {
			*dst = out
		}
	}
}

// secretSource collects a secret and its _file twin from one mapping.
type secretSource struct {
	value, file scalar
	hasValue    bool
	hasFile     bool
}

func (d *decoder) secretFields(fields map[string]field, key string, src *secretSource) {
	fields[key] = func(n *yaml.Node, path string) { src.value, src.hasValue = d.scalar(n, path) }
	fields[key+"_file"] = func(n *yaml.Node, path string) { src.file, src.hasFile = d.scalar(n, path) }
}

// secret resolves a secret from its value or its _file twin.
func (d *decoder) secret(dst *Secret, path string, src secretSource) {
	switch {
	case src.hasValue && src.hasFile:
		d.add(src.file.node, path+"_file", "set either %s or %s_file, not both", path, path)
	case src.hasFile:
		p := src.file.val
		if p == "" {
			d.add(src.file.node, path+"_file", "empty path")
			return
		}
		p = d.abs(p)
		b, err := d.fs.readSecret(p)
		if err != nil {
			d.add(src.file.node, path+"_file", "cannot read %q: %s", p, describe(err))
			return
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			d.add(src.file.node, path+"_file", "%q is empty", p)
			return
		}
		*dst = Secret{v: v, line: src.file.node.Line}
	case src.hasValue:
		// An empty value (an empty variable) leaves the secret unset, for
		// CheckRun to report if the subcommand needs it.
		*dst = Secret{v: src.value.val, line: src.value.node.Line}
	}
}

// describe drops the path that *fs.PathError repeats, since the message
// already names the file.
func describe(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return err.Error()
}

func (d *decoder) abs(p string) string {
	if d.baseDir == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(d.baseDir, p)
}

func (d *decoder) root(n *yaml.Node, c *Config) {
	d.mapping(n, "", map[string]field{
		"slack":   func(n *yaml.Node, p string) { d.slack(n, p, &c.Slack) },
		"store":   func(n *yaml.Node, p string) { d.store(n, p, &c.Store) },
		"http":    func(n *yaml.Node, p string) { d.http(n, p, &c.HTTP) },
		"log":     func(n *yaml.Node, p string) { d.log(n, p, &c.Log) },
		"declare": func(n *yaml.Node, p string) { d.declare(n, p, &c.Declare) },
		"triage": func(n *yaml.Node, p string) {
			d.mapping(n, p, map[string]field{"scope_timebox": d.durationField(&c.Triage.ScopeTimebox, time.Second)})
		},
		"templates":  func(n *yaml.Node, p string) { d.templates(n, p, &c.Templates) },
		"severities": func(n *yaml.Node, p string) { d.severities(n, p, c.Severities) },
		"services":   func(n *yaml.Node, p string) { d.services(n, p, &c.Services) },
		"scheduler":  func(n *yaml.Node, p string) { d.scheduler(n, p, &c.Scheduler) },
		"digest":     func(n *yaml.Node, p string) { d.digest(n, p, &c.Digest) },
		"responders": d.ids(&c.Responders),
		"github":     func(n *yaml.Node, p string) { d.github(n, p, &c.GitHub) },
		"pagerduty":  func(n *yaml.Node, p string) { d.pagerduty(n, p, &c.PagerDuty) },
		"teams":      func(n *yaml.Node, p string) { d.teams(n, p, &c.Teams) },
		"escalation_roles": func(n *yaml.Node, p string) {
			d.roles(n, p, c.EscalationRoles)
		},
		"deploys": func(n *yaml.Node, p string) { d.deploys(n, p, &c.Deploys) },
		"alerts":  func(n *yaml.Node, p string) { d.alerts(n, p, &c.Alerts) },
		"remediation": func(n *yaml.Node, p string) {
			d.mapping(n, p, map[string]field{
				"hotfix_review_url": d.str(&c.Remediation.HotfixReviewURL, urlCheck("https://wiki.example.com/hotfix-review")),
			})
		},
		"close": func(n *yaml.Node, p string) {
			d.mapping(n, p, map[string]field{
				"archive_delay": func(n *yaml.Node, p string) {
					if v, node, ok := d.duration(n, p, 0); ok {
						if v > MaxArchiveDelay {
							d.add(node, p, "must be at most 720h (30 days)")
							return
						}
						c.Close.ArchiveDelay = v
					}
				},
			})
		},
	})
	d.needGitHubToken(c)
	applyDigestZone(c)
	d.checkAlerts(c)
	d.applyRoles(c)
	d.checkServiceTeams(c)
}

// needGitHubToken reports a repository configured without github.token, at
// the first key that sets one. A token with its own problem (an unset
// variable, an unreadable file) has been reported already.
func (d *decoder) needGitHubToken(c *Config) {
	if len(d.repoKeys) == 0 || c.GitHub.Token.IsSet() {
		return
	}
	for _, p := range d.problems {
		if p.Path == "github.token" || p.Path == "github.token_file" {
			return
		}
	}
	first := d.repoKeys[0]
	for _, k := range d.repoKeys[1:] {
		if k.Line < first.Line {
			first = k
		}
	}
	hint := ""
	if d.githubTokenEmpty {
		hint = "; github.token is set but empty (is its environment variable empty?)"
	}
	first.Msg = "GitHub needs github.token (or github.token_file) for this repository: without a token GitHub is off" + hint
	d.problems = append(d.problems, first)
}

// urlCheck accepts an absolute http(s) URL, or "" for none.
func urlCheck(example string) func(scalar) string {
	return func(v scalar) string {
		if v.val == "" || isHTTPURL(v.val) {
			return ""
		}
		return fmt.Sprintf("not a URL: %s (want an absolute http(s) URL, like %s)", v.show(), example)
	}
}

// repoField reads a GitHub repository, owner/name, or "" for none; a
// repository set is remembered for needGitHubToken.
func (d *decoder) repoField(dst *string) field {
	return func(n *yaml.Node, path string) {
		v, ok := d.scalar(n, path)
		if !ok {
			return
		}
		r := strings.TrimSpace(v.val)
		if r == "" {
			*dst = ""
			return
		}
		if msg := checkRepo(r, v); msg != "" {
			d.add(v.node, path, "%s", msg)
			return
		}
		*dst = r
		d.repoKeys = append(d.repoKeys, Problem{Path: path, Line: v.node.Line})
	}
}

// checkRepo returns the problem with a GitHub repository name, or "".
func checkRepo(r string, v scalar) string {
	owner, name, ok := strings.Cut(r, "/")
	if ok && repoPartRE.MatchString(owner) && repoPartRE.MatchString(name) &&
		owner != "." && owner != ".." && name != "." && name != ".." {
		return ""
	}
	hint := ""
	if strings.Contains(r, "://") || strings.HasPrefix(r, "github.com/") || strings.HasPrefix(r, "git@") {
		hint = ", not a URL"
	}
	return fmt.Sprintf("not a GitHub repository: %s (want owner/name, like acme/checkout%s)", v.show(), hint)
}

func (d *decoder) slack(n *yaml.Node, path string, s *Slack) {
	var app, bot secretSource
	fields := map[string]field{
		"api_url": d.baseURL(&s.APIURL, DefaultAPIURL),
		"announce_channel": d.str(&s.AnnounceChannel, func(v scalar) string {
			if v.val == "" || channelRE.MatchString(v.val) {
				return ""
			}
			hint := ""
			if strings.HasPrefix(v.val, "#") {
				hint = "; a name like #incidents changes when the channel is renamed, so use its ID (channel details → About)"
			}
			return fmt.Sprintf("not a channel ID: %s (want C… or G…, like C0ANNOUNCE%s)", v.show(), hint)
		}),
		"command": d.str(&s.CommandName, func(v scalar) string {
			c := v.val
			if strings.HasPrefix(c, "/") && utf8.RuneCountInString(c) >= 2 && utf8.RuneCountInString(c) <= 32 &&
				strings.ToLower(c) == c && !strings.ContainsFunc(c, unicode.IsSpace) && !strings.Contains(c[1:], "/") {
				return ""
			}
			return fmt.Sprintf("not a slash command: %s (want / and a lowercase name without spaces, at most 32 characters in all, like /incident)", v.show())
		}),
		"app_name": d.str(&s.AppName, func(v scalar) string {
			switch {
			case strings.TrimSpace(v.val) == "":
				return "must not be empty"
			case utf8.RuneCountInString(v.val) > maxAppName:
				return fmt.Sprintf("longer than Slack's limit of %d characters", maxAppName)
			}
			return ""
		}),
	}
	d.secretFields(fields, "app_token", &app)
	d.secretFields(fields, "bot_token", &bot)
	d.mapping(n, path, fields)
	d.secret(&s.AppToken, joinKey(path, "app_token"), app)
	d.secret(&s.BotToken, joinKey(path, "bot_token"), bot)
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	return (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Opaque == ""
}

func (d *decoder) store(n *yaml.Node, path string, s *Store) {
	var dsn secretSource
	var pathNode, driverNode *yaml.Node
	fields := map[string]field{
		"driver": func(n *yaml.Node, p string) {
			v, ok := d.scalar(n, p)
			if !ok {
				return
			}
			switch drv := strings.ToLower(strings.TrimSpace(v.val)); drv {
			case DriverBolt, DriverPostgres:
				s.Driver, driverNode = drv, v.node
			default:
				d.add(v.node, p, "not a store driver: %s (want bolt, the embedded file, or postgres)", v.show())
			}
		},
		"path": func(n *yaml.Node, p string) {
			v, ok := d.scalar(n, p)
			if !ok {
				return
			}
			if v.val == "" {
				d.add(v.node, p, "must not be empty")
				return
			}
			s.Path, pathNode, d.storePathLine = d.abs(v.val), v.node, v.node.Line
		},
		// 0 would make bbolt wait for the lock forever.
		"lock_timeout": func(n *yaml.Node, p string) {
			if v, node, ok := d.duration(n, p, 0); ok {
				if v == 0 {
					d.add(node, p, "must be more than 0 (0 would wait for the lock forever)")
					return
				}
				s.LockTimeout = v
			}
		},
		"leader_lease": func(n *yaml.Node, p string) {
			if v, node, ok := d.duration(n, p, 0); ok {
				if v < time.Second || v > time.Minute {
					d.add(node, p, "must be between 1s and 1m (the failover time after the leader dies is about this long)")
					return
				}
				s.LeaderLease = v
			}
		},
	}
	d.secretFields(fields, "dsn", &dsn)
	d.mapping(n, path, fields)
	dp := joinKey(path, "dsn")
	d.secret(&s.DSN, dp, dsn)
	dsnNode := dsn.value.node
	if dsn.hasFile {
		dsnNode, dp = dsn.file.node, dp+"_file"
	}
	if s.Driver == DriverPostgres && pathNode != nil {
		d.add(pathNode, joinKey(path, "path"), "is the bbolt file, but store.driver is postgres: the incidents are in the database at store.dsn; remove store.path (or set driver: bolt)")
	}
	switch {
	case s.Driver == DriverPostgres && !s.DSN.IsSet() && !dsn.hasFile:
		d.add(driverNode, dp, "required with driver postgres: set store.dsn or store.dsn_file to a connection string such as postgres://klaxon@db.internal:5432/klaxon")
	case s.Driver == DriverBolt && (dsn.hasValue || dsn.hasFile):
		d.add(dsnNode, dp, "is for driver postgres, but store.driver is bolt (the default): set driver: postgres, or remove it")
	case s.DSN.IsSet() && !looksLikeDSN(s.DSN.Reveal()):
		d.add(dsnNode, dp, "not a PostgreSQL connection string (want postgres://user@host:5432/db or host=… dbname=…)")
	}
}

// looksLikeDSN accepts the two forms libpq (and pgx) take: a URL or
// key=value pairs. The value is never quoted back: it may hold a password.
func looksLikeDSN(v string) bool {
	return strings.HasPrefix(v, "postgres://") || strings.HasPrefix(v, "postgresql://") || strings.Contains(v, "=")
}

func (d *decoder) http(n *yaml.Node, path string, h *HTTP) {
	var token secretSource
	fields := map[string]field{
		"listen": func(n *yaml.Node, p string) {
			v, ok := d.scalar(n, p)
			if !ok {
				return
			}
			if v.val == "" || strings.EqualFold(v.val, "off") {
				h.Listen = ""
				return
			}
			host, port, err := net.SplitHostPort(v.val)
			if err == nil {
				_, err = strconv.ParseUint(port, 10, 16)
				if strings.ContainsFunc(host, unicode.IsSpace) {
					err = errors.New("space in host")
				}
			}
			if err != nil {
				d.add(v.node, p, "not host:port: %s (want an address such as 127.0.0.1:8080 or :8080, or off)", v.show())
				return
			}
			h.Listen = v.val
		},
	}
	d.secretFields(fields, "admin_token", &token)
	d.mapping(n, path, fields)
	tp := joinKey(path, "admin_token")
	d.secret(&h.AdminToken, tp, token)
	// The token guards a copy of every incident, private ones included.
	if v := h.AdminToken.Reveal(); v != "" && len(v) < 16 {
		node := token.value.node
		if token.hasFile {
			node, tp = token.file.node, tp+"_file"
		}
		d.add(node, tp, "too short: use at least 16 random characters (e.g. openssl rand -hex 16)")
	}
}

func (d *decoder) log(n *yaml.Node, path string, l *Log) {
	oneOf := func(dst *string, allowed ...string) field {
		return func(n *yaml.Node, p string) {
			v, ok := d.scalar(n, p)
			if !ok {
				return
			}
			lv := strings.ToLower(strings.TrimSpace(v.val))
			if !slices.Contains(allowed, lv) {
				d.add(v.node, p, "not one of %s: %s", strings.Join(allowed, ", "), v.show())
				return
			}
			*dst = lv
		}
	}
	d.mapping(n, path, map[string]field{
		"level":  oneOf(&l.Level, "debug", "info", "warn", "error"),
		"format": oneOf(&l.Format, "text", "json"),
	})
}

func (d *decoder) severity(n *yaml.Node, path string) (playbook.Severity, bool) {
	v, ok := d.scalar(n, path)
	if !ok {
		return 0, false
	}
	sev, err := playbook.ParseSeverity(v.val)
	if err != nil {
		d.add(v.node, path, "not a severity: %s (want SEV1, SEV2, SEV3 or SEV4)", v.show())
		return 0, false
	}
	return sev, true
}

func (d *decoder) declare(n *yaml.Node, path string, c *Declare) {
	d.mapping(n, path, map[string]field{
		"default_severity": func(n *yaml.Node, p string) {
			if sev, ok := d.severity(n, p); ok {
				c.DefaultSeverity = sev
			}
		},
	})
}

func (d *decoder) templates(n *yaml.Node, path string, t *Templates) {
	d.mapping(n, path, map[string]field{
		"dir": func(n *yaml.Node, p string) {
			v, ok := d.scalar(n, p)
			if !ok {
				return
			}
			if v.val == "" {
				t.Dir = ""
				return
			}
			dir := d.abs(v.val)
			// Checked now so that check-config catches a typo, rather than
			// the first incident falling back to the embedded templates.
			if err := d.fs.statDir(dir); err != nil {
				d.add(v.node, p, "cannot use %q: %s", dir, describe(err))
				return
			}
			t.Dir = dir
		},
	})
}

// severities overlays the file's tiers on the defaults, field by field.
func (d *decoder) severities(n *yaml.Node, path string, tiers playbook.Tiers) {
	n = d.resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.add(n, path, "want a mapping of severities (SEV1: …), not %s", kindName(n))
		return
	}
	seen := map[playbook.Severity]int{}
	for _, p := range d.pairs(n, path, 0) {
		kp := joinKey(path, p.key.Value)
		sev, err := playbook.ParseSeverity(p.key.Value)
		if err != nil {
			d.add(p.key, kp, "not a severity (want SEV1, SEV2, SEV3 or SEV4)")
			continue
		}
		if line, dup := seen[sev]; dup {
			d.add(p.key, kp, "%s is already set at line %d", sev, line)
			continue
		}
		seen[sev] = p.key.Line
		t := tiers[sev]
		d.tier(p.key, p.val, kp, &t)
		tiers[sev] = t
	}
}

func (d *decoder) tier(key, n *yaml.Node, path string, t *playbook.Tier) {
	nonEmpty := func(v scalar) string {
		if strings.TrimSpace(v.val) == "" {
			return "must not be empty: it is shown in every incident of this severity"
		}
		return ""
	}
	everySet := false
	var everyNode *yaml.Node // set when the file gave update_every a valid duration
	ok := d.mapping(n, path, map[string]field{
		"impact":          d.str(&t.Impact, nonEmpty),
		"response":        d.str(&t.Response, nonEmpty),
		"response_within": d.durationField(&t.ResponseWithin, 0),
		"updates": func(n *yaml.Node, p string) {
			v, ok := d.scalar(n, p)
			if !ok {
				return
			}
			u := playbook.UpdatePolicy(strings.TrimSpace(v.val))
			if !u.Valid() {
				d.add(v.node, p, "not an update policy: %s (want periodic, open_and_resolution or ticket_only)", v.show())
				return
			}
			t.Updates = u
		},
		// Its lower bound depends on the policy, which may come later in
		// the mapping or from the defaults, so it is checked after the walk.
		"update_every": func(n *yaml.Node, p string) {
			// Set but wrong is its own problem; don't also call it missing.
			everySet = !isNull(d.resolve(n))
			if v, node, ok := d.duration(n, p, 0); ok {
				t.UpdateEvery, everyNode = v, node
			}
		},
		"stakeholders":            d.ids(&t.Stakeholders),
		"overdue_update_mentions": d.ids(&t.OverdueUpdateMentions),
		// Renamed so it cannot be confused with the escalation matrix.
		"escalation": func(n *yaml.Node, p string) {
			d.add(n, p, "renamed overdue_update_mentions (whom an overdue status update is escalated to), so it is not confused with escalate, the paging matrix: rename the key")
		},
		"page": d.boolField(&t.Page),
		"escalate": func(n *yaml.Node, p string) {
			d.escalate(n, p, &t.Escalate)
			if d.setEscalate == nil {
				d.setEscalate = map[playbook.Severity]bool{}
			}
			d.setEscalate[t.Severity] = true
		},
		"status_page_within": d.durationField(&t.StatusPageWithin, 0),
		"postmortem_within":  d.durationField(&t.PostmortemWithin, 0),
	})
	if !ok {
		return
	}
	// update_every is the cadence of a periodic tier, so at least 1s there;
	// the defaults only give one to the tiers that are periodic by default.
	// For open_and_resolution it is the deadline of the opening update and
	// optional (0 leaves the default to the reminder code); ticket_only
	// ignores it. A sub-second value is a typo whatever the policy.
	switch periodic := t.Updates == playbook.UpdatesPeriodic; {
	case everyNode != nil && t.UpdateEvery < time.Second && (periodic || t.UpdateEvery > 0):
		if periodic {
			d.add(everyNode, path+".update_every", "must be at least 1s when updates is periodic")
		} else {
			d.add(everyNode, path+".update_every", "must be at least 1s (or 0 for the default)")
		}
	case periodic && t.UpdateEvery < time.Second && !everySet:
		d.add(key, path+".update_every", "required (at least 1s) when updates is periodic")
	}
}

func (d *decoder) services(n *yaml.Node, path string, dst *[]playbook.Service) {
	n = d.resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.add(n, path, "want a list of services (lines starting with - name: …), not %s", kindName(n))
		return
	}
	var out []playbook.Service
	names := map[string]string{} // lowercased name → path of its first use
	for i, item := range n.Content {
		p := path + "[" + strconv.Itoa(i) + "]"
		var s playbook.Service
		var nameNode *yaml.Node
		ok := d.mapping(item, p, map[string]field{
			"name": func(n *yaml.Node, p string) {
				nameNode = n // present, so a problem below replaces "required"
				v, ok := d.scalar(n, p)
				if !ok {
					if isNull(d.resolve(n)) {
						d.add(n, p, "required")
					}
					return
				}
				if !serviceNameRE.MatchString(v.val) {
					d.add(v.node, p, "not a service name: %s (want lowercase letters, digits, - and _, starting with a letter or digit, at most 40; it is typed in commands and used in channel names)", v.show())
					return
				}
				key := strings.ToLower(v.val)
				if first, dup := names[key]; dup {
					d.add(v.node, p, "duplicate service name %s (also %s)", quoteText(v.val), first)
					return
				}
				names[key] = p
				s.Name = v.val
			},
			"runbook":      d.str(&s.Runbook, urlCheck("https://runbooks.example.com/checkout")),
			"stakeholders": d.ids(&s.Stakeholders),
			"repo":         d.repoField(&s.Repo),
			"deploy_environment": d.str(&s.DeployEnvironment, func(v scalar) string {
				switch {
				case strings.TrimSpace(v.val) == "":
					return "must not be empty (leave the key out for " + DefaultDeployEnvironment + ")"
				case strings.ContainsFunc(v.val, unicode.IsControl):
					return "must not contain control characters such as tabs or line breaks"
				case utf8.RuneCountInString(v.val) > maxDeployEnvironment:
					return fmt.Sprintf("longer than GitHub's limit of %d characters", maxDeployEnvironment)
				}
				return ""
			}),
			"flag_url":    d.str(&s.FlagURL, urlCheck("https://flags.example.com/checkout")),
			"cutover_url": d.str(&s.CutoverURL, urlCheck("https://traffic.example.com/checkout")),
			"pagerduty": func(n *yaml.Node, p string) {
				d.servicePagerDuty(n, p, &s.PagerDuty)
			},
			"team": d.str(&s.Team, func(v scalar) string {
				if ghOwnerRE.MatchString(v.val) {
					return ""
				}
				return fmt.Sprintf("not a team: %s (want the github name of an entry of teams, like '@acme/payments')", v.show())
			}),
			"alerts":       func(n *yaml.Node, p string) { d.serviceAlerts(n, p, &s.AlertMatch) },
			"auto_declare": d.autoDeclare(&s.AutoDeclare),
		})
		if !ok {
			continue
		}
		if nameNode == nil {
			d.add(item, p+".name", "required")
			continue
		}
		if s.Repo != "" && s.DeployEnvironment == "" {
			s.DeployEnvironment = DefaultDeployEnvironment
		}
		if s.Name != "" {
			out = append(out, s)
		}
	}
	*dst = out
}

// scheduler reads the calendar jobs' settings.
func (d *decoder) scheduler(n *yaml.Node, path string, s *Scheduler) {
	d.mapping(n, path, map[string]field{
		"timezone":             d.zoneField(func(loc *time.Location, name string) { s.Timezone, s.TimezoneName = loc, name }),
		"postmortem_reminders": d.cronField(&s.PostmortemReminders),
	})
}

// baseURL reads an API base URL that endpoint names are appended to: an
// http(s) URL without a query or fragment (they would end up in the wrong
// place), given a trailing slash when it lacks one, as people often do.
func (d *decoder) baseURL(dst *string, example string) field {
	return func(n *yaml.Node, p string) {
		v, ok := d.scalar(n, p)
		if !ok {
			return
		}
		if !isHTTPURL(v.val) || strings.ContainsAny(v.val, "?#") {
			d.add(v.node, p, "not an http(s) URL: %s (want a base URL such as %s without ? or #)", v.show(), example)
			return
		}
		if !strings.HasSuffix(v.val, "/") {
			v.val += "/"
		}
		*dst = v.val
	}
}

// github reads the GitHub integration's settings.
func (d *decoder) github(n *yaml.Node, path string, g *GitHub) {
	var token, hook secretSource
	fields := map[string]field{
		"api_url":           d.baseURL(&g.APIURL, DefaultGitHubAPIURL+", or https://HOST/api/v3/ for GitHub Enterprise Server,"),
		"action_items_repo": d.repoField(&g.ActionItemsRepo),
		"postmortems":       func(n *yaml.Node, p string) { d.postmortems(n, p, &g.Postmortems) },
		"logins":            func(n *yaml.Node, p string) { d.logins(n, p, &g.Logins) },
	}
	d.secretFields(fields, "token", &token)
	d.secretFields(fields, "webhook_secret", &hook)
	d.mapping(n, path, fields)
	tp := joinKey(path, "token")
	d.secret(&g.Token, tp, token)
	d.secret(&g.WebhookSecret, joinKey(path, "webhook_secret"), hook)
	d.githubTokenEmpty = token.hasValue && !token.hasFile && token.value.val == ""
}

func (d *decoder) postmortems(n *yaml.Node, path string, pm *Postmortems) {
	d.mapping(n, path, map[string]field{
		"repo": d.repoField(&pm.Repo),
		"path": func(n *yaml.Node, p string) {
			v, ok := d.scalar(n, p)
			if !ok {
				return
			}
			dir, msg := repoDir(v)
			if msg != "" {
				d.add(v.node, p, "%s", msg)
				return
			}
			pm.Path = dir
		},
		"as": func(n *yaml.Node, p string) {
			v, ok := d.scalar(n, p)
			if !ok {
				return
			}
			switch as := PostmortemAs(strings.ToLower(strings.TrimSpace(v.val))); as {
			case PostmortemAsPullRequest, PostmortemAsIssue:
				pm.As = as
			default:
				d.add(v.node, p, "not one of pull_request, issue: %s", v.show())
			}
		},
	})
}

// repoDir checks a directory inside a repository: relative, with slashes,
// no "..", "." or empty segments; a trailing slash is dropped.
func repoDir(v scalar) (string, string) {
	const want = "want a directory in the repository such as postmortems or docs/incidents"
	p := strings.TrimSuffix(strings.TrimSpace(v.val), "/")
	switch {
	case p == "":
		return "", "must not be empty (" + want + ")"
	case strings.HasPrefix(p, "/"):
		return "", "must be relative to the repository's root, without a leading / (" + want + ")"
	case strings.Contains(p, `\`):
		return "", "use / between directories, not \\ (" + want + ")"
	case strings.ContainsFunc(p, unicode.IsControl):
		return "", "must not contain control characters (" + want + ")"
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "..":
			return "", "must not contain .. (" + want + ")"
		case ".", "":
			return "", "must not contain . or empty segments such as a//b (" + want + ")"
		}
	}
	return p, ""
}

// logins reads a mapping of Slack user IDs to GitHub logins.
func (d *decoder) logins(n *yaml.Node, path string, dst *map[string]string) {
	n = d.resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.add(n, path, "want a mapping of Slack user IDs to GitHub logins (U0A1B2C3: octocat), not %s", kindName(n))
		return
	}
	out := map[string]string{}
	for _, p := range d.pairs(n, path, 0) {
		id := p.key.Value
		kp := joinKey(path, id)
		if !userRE.MatchString(id) {
			hint := ""
			if strings.HasPrefix(id, "@") {
				hint = "; @names change, so copy the member ID from the profile"
			}
			d.add(p.key, kp, "not a Slack user ID (want U… or W…, like U0A1B2C3%s)", hint)
			continue
		}
		v, ok := d.scalar(p.val, kp)
		if !ok {
			if isNull(d.resolve(p.val)) {
				d.add(p.key, kp, "empty: want the person's GitHub login")
			}
			continue
		}
		login := strings.TrimSpace(v.val)
		if !githubLoginRE.MatchString(login) {
			hint := ""
			if strings.HasPrefix(login, "@") {
				hint = "; without the @"
			}
			d.add(v.node, kp, "not a GitHub login: %s (want letters, digits and -, at most 39, not starting with -, like octocat%s)", v.show(), hint)
			continue
		}
		out[id] = login
	}
	*dst = out
}

// loadZone loads an IANA zone, or says what is wrong with the name; v is
// the value as written, for quoting.
func loadZone(name string, v scalar) (*time.Location, string) {
	const want = "want an IANA name such as UTC, Europe/Paris or America/New_York"
	switch name {
	case "":
		return nil, "must not be empty (" + want + "; UTC is the default)"
	case "Local":
		// time.LoadLocation accepts it, but it is whatever zone the host
		// happens to have (UTC in most containers).
		return nil, "Local depends on the host; name the zone (" + want + ")"
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Sprintf("unknown time zone %s (%s; names are case-sensitive)", v.show(), want)
	}
	return loc, ""
}

// cronHelp ends the problems that say a cron spec is malformed.
const cronHelp = `want 5 fields, minute hour day-of-month month day-of-week, like "0 9 * * *", or a descriptor such as @daily`

// checkCron checks a cron spec the way the scheduler will read it, and
// returns the problem, or "" when the spec is fine. v is the value as
// written, for quoting.
func checkCron(spec string, v scalar) string {
	if spec == "" {
		return "must not be empty (" + cronHelp + ")"
	}
	// The scheduler reads specs in scheduler.timezone; a zone in the spec
	// would silently override it (and cron panics on "TZ=x" without a
	// schedule after it).
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return "a TZ= or CRON_TZ= prefix is not supported: set scheduler.timezone instead"
	}
	sched, err := parseCron(spec)
	if err != nil {
		detail := err.Error()
		// cron's messages repeat parts of the spec, which may come from the
		// environment or be a token pasted in the wrong place.
		if v.expanded || looksLikeToken(spec) || looksLikeToken(detail) {
			detail = v.show()
		} else if r := []rune(detail); len(r) > 80 {
			detail = string(r[:79]) + "…"
		}
		return "not a cron spec: " + detail + " (" + cronHelp + ")"
	}
	switch sc := sched.(type) {
	case cron.ConstantDelaySchedule:
		// Every rounds anything under a second up to one: a typo such as
		// "@every 5s" would remind every commander every few seconds.
		if sc.Delay < time.Minute {
			return "@every must be at least 1m: reminders are sent to people"
		}
	default:
		// A date that doesn't exist ("0 9 30 2 *") is a valid spec that
		// never fires; cron gives up looking after five years.
		if sched.Next(time.Now()).IsZero() {
			return "never fires: no day in the next five years matches (a date that doesn't exist, such as 30 February?)"
		}
	}
	return ""
}

// parseCron is cron.ParseStandard, recovering from the panics its parser
// still has on some malformed input.
func parseCron(spec string) (sched cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, errors.New("cannot be read")
		}
	}()
	return cron.ParseStandard(spec)
}
