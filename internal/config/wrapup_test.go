package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// The wrap-up's keys: services[].repo, deploy_environment, flag_url and
// cutover_url; github; remediation; close.

func TestWrapUpDefaults(t *testing.T) {
	d := Default()
	want := GitHub{APIURL: "https://api.github.com/", Postmortems: Postmortems{Path: "postmortems", As: PostmortemAsPullRequest}}
	if !reflect.DeepEqual(d.GitHub, want) {
		t.Errorf("Default().GitHub = %+v, want %+v", d.GitHub, want)
	}
	if d.GitHub.Enabled() || d.GitHub.Token.IsSet() {
		t.Errorf("GitHub is on by default")
	}
	if _, ok := d.GitHub.Login("U0A1"); ok {
		t.Errorf("a default login")
	}
	if d.Remediation != (Remediation{}) || d.Close != (Close{}) || d.Close.ArchiveDelay != 0 {
		t.Errorf("remediation %+v, close %+v", d.Remediation, d.Close)
	}
	// Keys left empty keep their defaults.
	c := parse(t, `
github:
  token:
  api_url:
  action_items_repo:
  postmortems:
    repo:
    path:
    as:
  logins:
remediation:
  hotfix_review_url:
close:
  archive_delay:
services:
  - name: a
    repo:
    deploy_environment:
    flag_url:
    cutover_url:
`, env())
	if !reflect.DeepEqual(c.GitHub, d.GitHub) || c.Remediation != d.Remediation || c.Close != d.Close {
		t.Errorf("null keys changed defaults: %+v %+v %+v", c.GitHub, c.Remediation, c.Close)
	}
	if got := c.Services[0]; !reflect.DeepEqual(got, playbook.Service{Name: "a"}) {
		t.Errorf("service with null keys = %+v", got)
	}
}

func TestWrapUpKeysParsed(t *testing.T) {
	c := parse(t, `
services:
  - name: checkout
    repo: acme/checkout
    deploy_environment: prod-eu
    flag_url: https://flags.example.com/checkout
    cutover_url: http://traffic.example.com/checkout
  - name: search
    repo: ' Acme-Corp/search.api_v2 '
  - name: auth
    flag_url: https://flags.example.com/auth
github:
  token: ${GH}
  api_url: https://ghe.example.com/api/v3
  action_items_repo: acme/incidents
  postmortems:
    repo: acme/postmortems
    path: docs/incidents/
    as: ISSUE
  logins:
    U0PAY001: octocat
    W0GRID01: ' Mona-Lisa '
    U0BOT001: a
remediation:
  hotfix_review_url: https://wiki.example.com/hotfix-review
close:
  archive_delay: 36h
`, env("GH", "ghp_test"))
	wantServices := []playbook.Service{
		{Name: "checkout", Repo: "acme/checkout", DeployEnvironment: "prod-eu",
			FlagURL: "https://flags.example.com/checkout", CutoverURL: "http://traffic.example.com/checkout"},
		{Name: "search", Repo: "Acme-Corp/search.api_v2", DeployEnvironment: "production"},
		{Name: "auth", FlagURL: "https://flags.example.com/auth"},
	}
	if !reflect.DeepEqual(c.Services, wantServices) {
		t.Errorf("services = %+v\nwant %+v", c.Services, wantServices)
	}
	g := c.GitHub
	if !g.Enabled() || g.Token.Reveal() != "ghp_test" {
		t.Errorf("token not set")
	}
	if g.APIURL != "https://ghe.example.com/api/v3/" || g.ActionItemsRepo != "acme/incidents" {
		t.Errorf("github = %+v", g)
	}
	if want := (Postmortems{Repo: "acme/postmortems", Path: "docs/incidents", As: PostmortemAsIssue}); g.Postmortems != want {
		t.Errorf("postmortems = %+v, want %+v", g.Postmortems, want)
	}
	if want := map[string]string{"U0PAY001": "octocat", "W0GRID01": "Mona-Lisa", "U0BOT001": "a"}; !reflect.DeepEqual(g.Logins, want) {
		t.Errorf("logins = %v", g.Logins)
	}
	if l, ok := g.Login("W0GRID01"); !ok || l != "Mona-Lisa" {
		t.Errorf("Login(W0GRID01) = %q, %v", l, ok)
	}
	if c.Remediation.HotfixReviewURL != "https://wiki.example.com/hotfix-review" {
		t.Errorf("remediation = %+v", c.Remediation)
	}
	if c.Close.ArchiveDelay != 36*time.Hour {
		t.Errorf("archive_delay = %v", c.Close.ArchiveDelay)
	}
	checkInvariants(t, c)

	// The bounds and the other spellings.
	for in, want := range map[string]time.Duration{"0s": 0, "0": 0, "720h": MaxArchiveDelay, "90s": 90 * time.Second} {
		if got := parse(t, "close: {archive_delay: "+in+"}", env()).Close.ArchiveDelay; got != want {
			t.Errorf("archive_delay %s = %v, want %v", in, got, want)
		}
	}
	if got := parse(t, "github: {postmortems: {as: ' pull_request '}}", env()).GitHub.Postmortems.As; got != PostmortemAsPullRequest {
		t.Errorf("as = %q", got)
	}
	for in, want := range map[string]string{"pm": "pm", "a/b/c": "a/b/c", "post-mortems/2024/": "post-mortems/2024", "..x/y..": "..x/y.."} {
		if got := parse(t, "github: {postmortems: {path: '"+in+"'}}", env()).GitHub.Postmortems.Path; got != want {
			t.Errorf("path %q = %q, want %q", in, got, want)
		}
	}
	// An empty repo is "no repo", not a problem, and needs no token.
	c = parse(t, "services: [{name: a, repo: ''}]\ngithub: {action_items_repo: '', postmortems: {repo: ''}}", env())
	if c.Services[0].Repo != "" || c.Services[0].DeployEnvironment != "" || c.GitHub.ActionItemsRepo != "" {
		t.Errorf("empty repos = %+v %+v", c.Services[0], c.GitHub)
	}
	// An empty logins mapping is an empty map.
	if got := parse(t, "github: {logins: {}}", env()).GitHub.Logins; got == nil || len(got) != 0 {
		t.Errorf("logins {} = %#v", got)
	}
}

func TestGitHubAPIURLGetsTrailingSlash(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.github.com":          "https://api.github.com/",
		"https://api.github.com/":         "https://api.github.com/",
		"https://ghe.example.com/api/v3":  "https://ghe.example.com/api/v3/",
		"http://127.0.0.1:4391":           "http://127.0.0.1:4391/",
		"https://ghe.example.com/api/v3/": "https://ghe.example.com/api/v3/",
	} {
		if got := parse(t, "github: {api_url: '"+in+"'}", env()).GitHub.APIURL; got != want {
			t.Errorf("api_url %q → %q, want %q", in, got, want)
		}
	}
}

// Each invalid value is reported at its key path and line.
func TestWrapUpValidation(t *testing.T) {
	tests := []struct {
		yaml, path string
		line       int
		msg        string
	}{
		{"services:\n  - name: a\n    repo: checkout\n", "services[0].repo", 3, `not a GitHub repository: "checkout" (want owner/name`},
		{"services:\n  - name: a\n    repo: acme/\n", "services[0].repo", 3, "not a GitHub repository"},
		{"services:\n  - name: a\n    repo: /checkout\n", "services[0].repo", 3, "not a GitHub repository"},
		{"services:\n  - name: a\n    repo: acme/check/out\n", "services[0].repo", 3, "not a GitHub repository"},
		{"services:\n  - name: a\n    repo: acme/..\n", "services[0].repo", 3, "not a GitHub repository"},
		{"services:\n  - name: a\n    repo: acme/.\n", "services[0].repo", 3, "not a GitHub repository"},
		{"services:\n  - name: a\n    repo: ../x\n", "services[0].repo", 3, "not a GitHub repository"},
		{"services:\n  - name: a\n    repo: 'acme/check out'\n", "services[0].repo", 3, "not a GitHub repository"},
		{"services:\n  - name: a\n    repo: https://github.com/acme/checkout\n", "services[0].repo", 3, "not a URL"},
		{"services:\n  - name: a\n    repo: [acme/checkout]\n", "services[0].repo", 3, "want a single value"},
		{"services:\n  - name: a\n    deploy_environment: ''\n", "services[0].deploy_environment", 3, "must not be empty"},
		{"services:\n  - name: a\n    deploy_environment: '  '\n", "services[0].deploy_environment", 3, "must not be empty"},
		{"services:\n  - name: a\n    deploy_environment: \"prod\\tuction\"\n", "services[0].deploy_environment", 3, "control characters"},
		{"services:\n  - name: a\n    deploy_environment: " + strings.Repeat("e", 256) + "\n", "services[0].deploy_environment", 3, "longer than GitHub's limit of 255"},
		{"services:\n  - name: a\n    flag_url: flags.example.com/a\n", "services[0].flag_url", 3, "not a URL"},
		{"services:\n  - name: a\n    cutover_url: 'ftp://traffic/a'\n", "services[0].cutover_url", 3, "not a URL"},
		{"services:\n  - name: a\n  - name: b\n    cutover_url: /relative\n", "services[1].cutover_url", 4, "want an absolute http(s) URL"},
		{"github: [x]\n", "github", 1, "want a mapping"},
		{"github:\n  api_url: api.github.com\n", "github.api_url", 2, "not an http(s) URL"},
		{"github:\n  api_url: 'https://api.github.com/?x=1'\n", "github.api_url", 2, "without ? or #"},
		{"github:\n  api_url: 'ftp://api.github.com/'\n", "github.api_url", 2, "not an http(s) URL"},
		{"github:\n  action_items_repo: incidents\n", "github.action_items_repo", 2, "not a GitHub repository"},
		{"github:\n  token_file: ''\n", "github.token_file", 2, "empty path"},
		{"github:\n  token: [x]\n", "github.token", 2, "want a single value"},
		{"github:\n  postmortems: pm\n", "github.postmortems", 2, "want a mapping"},
		{"github:\n  postmortems:\n    repo: acme\n", "github.postmortems.repo", 3, "not a GitHub repository"},
		{"github:\n  postmortems:\n    path: ../secrets\n", "github.postmortems.path", 3, "must not contain .."},
		{"github:\n  postmortems:\n    path: docs/../..\n", "github.postmortems.path", 3, "must not contain .."},
		{"github:\n  postmortems:\n    path: /postmortems\n", "github.postmortems.path", 3, "without a leading /"},
		{"github:\n  postmortems:\n    path: ''\n", "github.postmortems.path", 3, "must not be empty"},
		{"github:\n  postmortems:\n    path: /\n", "github.postmortems.path", 3, "must not be empty"},
		{"github:\n  postmortems:\n    path: a//b\n", "github.postmortems.path", 3, "empty segments"},
		{"github:\n  postmortems:\n    path: ./pm\n", "github.postmortems.path", 3, "must not contain ."},
		{"github:\n  postmortems:\n    path: 'docs\\pm'\n", "github.postmortems.path", 3, "use / between directories"},
		{"github:\n  postmortems:\n    path: \"p\\tm\"\n", "github.postmortems.path", 3, "control characters"},
		{"github:\n  postmortems:\n    as: wiki\n", "github.postmortems.as", 3, `not one of pull_request, issue: "wiki"`},
		{"github:\n  postmortems:\n    as: pr\n", "github.postmortems.as", 3, "not one of pull_request, issue"},
		{"github:\n  logins: [octocat]\n", "github.logins", 2, "want a mapping of Slack user IDs to GitHub logins"},
		{"github:\n  logins:\n    U0A1: -octocat\n", "github.logins.U0A1", 3, `not a GitHub login: "-octocat"`},
		{"github:\n  logins:\n    U0A1: octo_cat\n", "github.logins.U0A1", 3, "not a GitHub login"},
		{"github:\n  logins:\n    U0A1: " + strings.Repeat("o", 40) + "\n", "github.logins.U0A1", 3, "at most 39"},
		{"github:\n  logins:\n    U0A1: '@octocat'\n", "github.logins.U0A1", 3, "without the @"},
		{"github:\n  logins:\n    U0A1: ''\n", "github.logins.U0A1", 3, "not a GitHub login"},
		{"github:\n  logins:\n    U0A1:\n", "github.logins.U0A1", 3, "empty: want the person's GitHub login"},
		{"github:\n  logins:\n    U0A1: [octocat]\n", "github.logins.U0A1", 3, "want a single value"},
		{"github:\n  logins:\n    S0GROUP1: octocat\n", "github.logins.S0GROUP1", 3, "not a Slack user ID"},
		{"github:\n  logins:\n    C0CHAN01: octocat\n", "github.logins.C0CHAN01", 3, "not a Slack user ID"},
		{"github:\n  logins:\n    u0lower1: octocat\n", "github.logins.u0lower1", 3, "not a Slack user ID"},
		{"github:\n  logins:\n    octocat: U0A1\n", "github.logins.octocat", 3, "not a Slack user ID"},
		{"github:\n  logins:\n    '@alice': alice\n", `github.logins["@alice"]`, 3, "copy the member ID"},
		{"github:\n  logins:\n    U0A1: a\n    U0A1: b\n", "github.logins.U0A1", 4, "duplicate key (first set at line 3)"},
		{"remediation: x\n", "remediation", 1, "want a mapping"},
		{"remediation:\n  hotfix_review_url: wiki/hotfix\n", "remediation.hotfix_review_url", 2, "not a URL"},
		{"remediation:\n  hotfix_review_url: 'mailto:oncall@example.com'\n", "remediation.hotfix_review_url", 2, "not a URL"},
		{"close: 1h\n", "close", 1, "want a mapping"},
		{"close:\n  archive_delay: -1s\n", "close.archive_delay", 2, "must not be negative"},
		{"close:\n  archive_delay: 721h\n", "close.archive_delay", 2, "must be at most 720h (30 days)"},
		{"close:\n  archive_delay: 31d\n", "close.archive_delay", 2, "not a duration"},
		{"close:\n  archive_delay: 60\n", "close.archive_delay", 2, "not a duration"},
	}
	for _, tt := range tests {
		ps := problems(t, tt.yaml, env())
		found := false
		for _, p := range ps {
			if p.Path == tt.path && p.Line == tt.line && strings.Contains(p.Msg, tt.msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s\n got:\n%v\nwant line %d: %s: …%s…", tt.yaml, (&Problems{ps}).Error(), tt.line, tt.path, tt.msg)
		}
		// A bad repo is only that problem: it doesn't also need a token.
		if len(ps) != 1 {
			t.Errorf("%s: got %d problems, want 1:\n%v", tt.yaml, len(ps), (&Problems{ps}).Error())
		}
	}

	// Every problem at once, in file order.
	ps := problems(t, `services:
  - name: a
    repo: nope
    flag_url: nope
github:
  api_url: nope
  postmortems:
    path: ../x
    as: wiki
  logins:
    alice: alice
    U0A1: -a
remediation:
  hotfix_review_url: nope
close:
  archive_delay: -1h
`, env())
	wantPaths := []string{"services[0].repo", "services[0].flag_url", "github.api_url", "github.postmortems.path", "github.postmortems.as",
		"github.logins.alice", "github.logins.U0A1", "remediation.hotfix_review_url", "close.archive_delay"}
	var got []string
	for _, p := range ps {
		got = append(got, p.Path)
	}
	if !reflect.DeepEqual(got, wantPaths) {
		t.Errorf("got\n%v\nwant paths %v", (&Problems{ps}).Error(), wantPaths)
	}
}

// A repository set without github.token is reported once, at the first key
// in the file that sets one.
func TestReposNeedGitHubToken(t *testing.T) {
	const msg = "GitHub needs github.token (or github.token_file) for this repository"
	tests := []struct {
		name, yaml, path string
		line             int
	}{
		{"service", "services:\n  - name: a\n  - name: b\n    repo: acme/b\n", "services[1].repo", 4},
		{"action items", "github:\n  action_items_repo: acme/incidents\n", "github.action_items_repo", 2},
		{"post-mortems", "github:\n  postmortems:\n    repo: acme/postmortems\n", "github.postmortems.repo", 3},
		{"first in the file", "github:\n  postmortems: {repo: acme/pm}\n  action_items_repo: acme/ai\nservices: [{name: a, repo: acme/a}]\n", "github.postmortems.repo", 2},
		{"first in the file, services first", "services: [{name: a, repo: acme/a}, {name: b, repo: acme/b}]\ngithub: {action_items_repo: acme/ai}\n", "services[0].repo", 1},
		{"other github keys don't count as a token", "github:\n  api_url: https://ghe.example.com/api/v3\n  logins: {U0A1: octocat}\nservices: [{name: a, repo: acme/a}]\n", "services[0].repo", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := problems(t, tt.yaml, env())
			if len(ps) != 1 || ps[0].Path != tt.path || ps[0].Line != tt.line || !strings.Contains(ps[0].Msg, msg) {
				t.Errorf("got\n%v\nwant line %d: %s: %s", (&Problems{ps}).Error(), tt.line, tt.path, msg)
			}
		})
	}

	// An empty variable, as in the example, turns GitHub off: say so.
	ps := problems(t, "github:\n  token: ${GITHUB_TOKEN:-}\n  action_items_repo: acme/ai\n", env())
	if len(ps) != 1 || !hasProblem(ps, "github.action_items_repo", "set but empty") {
		t.Errorf("empty token: got %v", (&Problems{ps}).Error())
	}
	// A token with its own problem is reported once, not twice.
	ps = problems(t, "github:\n  token: ${GITHUB_TOKEN}\n  action_items_repo: acme/ai\n", env())
	if len(ps) != 1 || !hasProblem(ps, "github.token", "GITHUB_TOKEN is not set") {
		t.Errorf("unset token variable: got %v", (&Problems{ps}).Error())
	}
	ps = problems(t, "github:\n  token_file: /nonexistent/klaxon/gh\n  action_items_repo: acme/ai\n", env())
	if len(ps) != 1 || !hasProblem(ps, "github.token_file", "cannot read") {
		t.Errorf("unreadable token file: got %v", (&Problems{ps}).Error())
	}

	// With a token nothing else is required, and without repos no token is.
	c := parse(t, "github: {token: '${GH}', postmortems: {repo: acme/pm}}\nservices: [{name: a, repo: acme/a}]\n", env("GH", "ghs_installation"))
	if !c.GitHub.Enabled() || c.GitHub.Postmortems.Repo != "acme/pm" || c.Services[0].Repo != "acme/a" {
		t.Errorf("with a token: %+v %+v", c.GitHub, c.Services)
	}
	if c := parse(t, "github: {token: '${GH}'}", env("GH", "ghp_x")); !c.GitHub.Enabled() {
		t.Errorf("token alone: GitHub off")
	}
	if c := parse(t, "github: {logins: {U0A1: octocat}, postmortems: {path: pm, as: issue}}\nservices: [{name: a, flag_url: 'https://f/a'}]", env()); c.GitHub.Enabled() {
		t.Errorf("no token: GitHub on")
	}
}

func TestGitHubTokenFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gh"), []byte("ghp_fromfile\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]byte("github:\n  token_file: gh\n  action_items_repo: acme/ai\n"), dir, env())
	if err != nil {
		t.Fatal(err)
	}
	if got := c.GitHub.Token.Reveal(); got != "ghp_fromfile" || !c.GitHub.Enabled() {
		t.Errorf("token from file = %q (want the trailing newline trimmed)", got)
	}
	// Load resolves it against the config file's directory.
	if err := os.WriteFile(filepath.Join(dir, "klaxon.yaml"), []byte("github: {token_file: gh}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := Load(filepath.Join(dir, "klaxon.yaml"), env()); err != nil || c.GitHub.Token.Reveal() != "ghp_fromfile" {
		t.Errorf("Load with a relative token_file: %v", err)
	}
	_, err = Parse([]byte("github:\n  token: ghp_inline\n  token_file: gh\n"), dir, env())
	var ps *Problems
	if !errors.As(err, &ps) || len(ps.List) != 1 || ps.List[0].Line != 3 ||
		!hasProblem(ps.List, "github.token_file", "set either github.token or github.token_file, not both") {
		t.Errorf("both set: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty"), []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Parse([]byte("github: {token_file: empty}"), dir, env())
	if !errors.As(err, &ps) || !hasProblem(ps.List, "github.token_file", "is empty") {
		t.Errorf("empty file: %v", err)
	}
}

func TestCheckRunGitHubToken(t *testing.T) {
	base := "slack: {app_token: xapp-1, bot_token: xoxb-1, announce_channel: C01}\n"
	for _, ok := range []string{"", "github: {token: ghp_abc}\n", "github: {token: '${E:-}'}\n"} {
		if err := parse(t, base+ok, env()).CheckRun(); err != nil {
			t.Errorf("%q: CheckRun = %v", ok, err)
		}
	}
	for in, msg := range map[string]string{
		"github:\n  token: '${GH}'\n":                 "contains whitespace",
		"github:\n  token: xoxb-wrong-place-secret\n": "this is a Slack token (a bot token, xoxb-…), not a GitHub token",
	} {
		err := parse(t, base+in, env("GH", "ghp_x \n")).CheckRun()
		var ps *Problems
		if !errors.As(err, &ps) || len(ps.List) != 1 || ps.List[0].Path != "github.token" || ps.List[0].Line != 3 || !strings.Contains(ps.List[0].Msg, msg) {
			t.Errorf("%q: CheckRun = %v, want line 3: github.token: …%s…", in, err, msg)
		}
		if err != nil && strings.Contains(err.Error(), "wrong-place-secret") {
			t.Errorf("CheckRun shows the token: %v", err)
		}
	}
}

// The example's commented-out repo lines are valid once uncommented, with a
// token, and need it without.
func TestExampleGitHubLinesUncommented(t *testing.T) {
	b, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	uncommented := 0
	for _, l := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimLeft(l, " ")
		for _, key := range []string{"repo:", "deploy_environment:", "action_items_repo:"} {
			if strings.HasPrefix(trimmed, "# "+key) {
				l = l[:len(l)-len(trimmed)] + strings.TrimPrefix(trimmed, "# ")
				uncommented++
			}
		}
		lines = append(lines, l)
	}
	if uncommented < 5 {
		t.Fatalf("only %d repo lines to uncomment in the example", uncommented)
	}
	file := []byte(strings.Join(lines, "\n"))

	c, err := Parse(file, "", env("SLACK_APP_TOKEN", "xapp-1-test", "SLACK_BOT_TOKEN", "xoxb-test", "GITHUB_TOKEN", "ghp_example"))
	if err != nil {
		t.Fatalf("uncommented example:\n%v", err)
	}
	if err := c.CheckRun(); err != nil {
		t.Fatal(err)
	}
	s, _ := c.Service("checkout")
	if s.Repo != "acme/checkout" || s.DeployEnvironment != "production" {
		t.Errorf("checkout = %+v", s)
	}
	if s, _ := c.Service("search"); s.Repo != "acme/search" || s.DeployEnvironment != "prod-eu" {
		t.Errorf("search = %+v", s)
	}
	if c.GitHub.ActionItemsRepo != "acme/incidents" || c.GitHub.Postmortems.Repo != "acme/postmortems" || !c.GitHub.Enabled() {
		t.Errorf("github = %+v", c.GitHub)
	}
	checkInvariants(t, c)

	_, err = Parse(file, "", exampleEnv)
	var ps *Problems
	if !errors.As(err, &ps) || len(ps.List) != 1 || !hasProblem(ps.List, "services[0].repo", "set but empty") {
		t.Errorf("uncommented example without GITHUB_TOKEN: %v", err)
	}
}

// Values that look like GitHub tokens, pasted in the wrong place, are never
// quoted back (Slack's were already hidden).
func TestGitHubTokenNeverInProblems(t *testing.T) {
	const tok = "ghp_" + canary
	ps := problems(t, `
github:
  api_url: `+tok+`
  action_items_repo: `+tok+`
  postmortems: {repo: x/`+tok+`/y, path: ../`+tok+`, as: `+tok+`}
  logins: {U0A1: `+tok+`!, `+tok+`: x}
  `+tok+`: oops
services:
  - name: a
    repo: `+tok+`
    deploy_environment: "`+tok+`\t"
    flag_url: `+tok+`
remediation: {hotfix_review_url: `+tok+`}
close: {archive_delay: `+tok+`}
`, env())
	text := (&Problems{ps}).Error()
	if len(ps) < 12 || strings.Contains(text, canary) || !strings.Contains(text, "looks like a GitHub token") {
		t.Errorf("%d problems:\n%s", len(ps), text)
	}
}
