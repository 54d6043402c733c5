package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// canary is in every token of these tests; it must never show up in
// anything printed, logged, marshalled or reported.
const canary = "LEAKCANARY7f3a9c"

const (
	botCanary    = "xoxb-" + canary
	appCanary    = "xapp-" + canary
	githubCanary = "ghp_" + canary
)

func TestSecretNeverPrinted(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bot"), []byte(botCanary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]byte("slack:\n  app_token: ${APP}\n  bot_token_file: bot\n  announce_channel: C0ANNOUNCE\n"+
		"github:\n  token: ${GH}\n  action_items_repo: acme/incidents\n  logins: {U0A1: octocat}\n"), dir, env("APP", appCanary, "GH", githubCanary))
	if err != nil {
		t.Fatal(err)
	}
	if c.Slack.BotToken.Reveal() != botCanary || c.Slack.AppToken.Reveal() != appCanary || c.GitHub.Token.Reveal() != githubCanary {
		t.Fatalf("Reveal does not return the tokens")
	}

	var out []string
	add := func(what, s string) { out = append(out, what+": "+s) }
	// Config holds bools and ints now (pagerduty, severities.page), which vet
	// rejects under %s with a constant format; every verb is still tried.
	add("config verbs", fmt.Sprintf(allVerbs[:11], c, c, c, c)) // "%v %+v %#v %s"
	add("config value verbs", fmt.Sprintf(allVerbs, *c, *c, *c, *c, *c, *c))
	add("slack verbs", fmt.Sprintf("%v %+v %#v %s %q %x %X", c.Slack, c.Slack, c.Slack, c.Slack, c.Slack, c.Slack, c.Slack))
	g := c.GitHub
	add("github verbs", fmt.Sprintf("%v %+v %#v %s %q %x %X", g, g, g, g, g, g, g))
	add("github pointer", fmt.Sprintf("%v %+v %#v", &g, &g, &g))
	add("github token verbs", fmt.Sprintf("%v %+v %#v %s %q %x %X %d %T", g.Token, g.Token, g.Token, g.Token, g.Token, g.Token, g.Token, g.Token, g.Token))
	s := c.Slack.BotToken
	add("secret verbs", fmt.Sprintf("%v %+v %#v %s %q %x %X %d %10.3s %T", s, s, s, s, s, s, s, s, s, s))
	add("secret pointer", fmt.Sprintf("%v %+v %s", &s, &s, &s))
	add("Sprint", fmt.Sprint(c, s)+fmt.Sprintln(c, s))
	add("String", s.String()+s.GoString())
	for _, v := range []any{c, *c, c.Slack, s, map[string]any{"t": s}, c.GitHub, &c.GitHub, c.GitHub.Token} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%T): %v", v, err)
		}
		add("json", string(b))
		y, err := yaml.Marshal(v)
		if err != nil {
			t.Fatalf("yaml.Marshal(%T): %v", v, err)
		}
		add("yaml", string(y))
	}
	b, _ := json.Marshal(map[Secret]int{s: 1})
	add("json map key", string(b))

	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		l := slog.New(h)
		l.Info("loaded", "config", c, "slack", c.Slack, "token", s, "github", c.GitHub, "github_token", c.GitHub.Token)
		l.Info("group", slog.Group("g", "token", s, "cfg", *c))
		l.With("token", s).Warn("with")
	}
	add("slog", logs.String())

	// A config with the tokens in the wrong places, for CheckRun.
	swapped, err := Parse([]byte("slack: {app_token: '${BOT}', bot_token: '${APP} ', announce_channel: C0A}\ngithub: {token: '${BOT}'}"), "", env("BOT", botCanary, "APP", appCanary))
	if err != nil {
		t.Fatal(err)
	}
	if err := swapped.CheckRun(); err == nil || !strings.Contains(err.Error(), "github.token") {
		t.Errorf("swapped tokens pass CheckRun: %v", err)
	} else {
		add("CheckRun", err.Error())
	}
	spaced, err := Parse([]byte("github: {token: '${GH}'}"), "", env("GH", githubCanary+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := spaced.CheckRun(); err == nil {
		t.Errorf("a token with a line break passes CheckRun")
	} else {
		add("CheckRun", err.Error())
	}

	for _, o := range out {
		if strings.Contains(o, canary) {
			t.Errorf("secret leaked in %s", o)
		}
	}
	if !strings.Contains(out[0], redacted) {
		t.Errorf("%%v of a config shows no %s: %s", redacted, out[0])
	}
}

// Put the token everywhere a value can go wrong: no problem may quote it.
func TestSecretNeverInProblems(t *testing.T) {
	getenv := env("TOKEN", botCanary)
	file := `
slack:
  app_token: ${TOKEN}
  bot_token: ` + botCanary + `
  bot_token_file: ${TOKEN}
  api_url: ${TOKEN}
  announce_channel: ${TOKEN}
  command: ` + botCanary + `
  app_name: ${TOKEN}${TOKEN}${TOKEN}${TOKEN}
  ` + botCanary + `: oops
store:
  lock_timeout: ${TOKEN}
  path: ${TOKEN:-x}
http:
  listen: ${TOKEN}
log:
  level: ${TOKEN}
  format: "x${TOKEN}"
declare:
  default_severity: ${TOKEN}
severities:
  ` + botCanary + `: {}
  SEV1:
    updates: ${TOKEN}
    update_every: ${TOKEN}
    response_within: ` + botCanary + `
    stakeholders: ["${TOKEN}", ` + botCanary + `]
services:
  - name: ${TOKEN}
    runbook: ${TOKEN}
  - name: ` + botCanary + `
    runbook: ` + botCanary + `
  - name: ok
    stakeholders: ${TOKEN}
templates:
  dir: ${UNSET_` + "X" + `}
github:
  token: ${TOKEN}
  token_file: ${TOKEN}
  api_url: ${TOKEN}
  action_items_repo: ${TOKEN}
  postmortems: {repo: '${TOKEN}', path: '../${TOKEN}', as: '${TOKEN}'}
  logins: {U0A1: '${TOKEN}', ` + botCanary + `: x}
  ` + githubCanary + `: oops
remediation: {hotfix_review_url: '${TOKEN}'}
close: {archive_delay: '${TOKEN}'}
`
	_, err := Parse([]byte(file), "", getenv)
	var ps *Problems
	if !errors.As(err, &ps) {
		t.Fatalf("got %v, want problems", err)
	}
	if len(ps.List) < 30 {
		t.Errorf("only %d problems:\n%v", len(ps.List), err)
	}
	if strings.Contains(err.Error(), canary) {
		t.Errorf("secret in problems:\n%v", err)
	}
	for _, p := range ps.List {
		if strings.Contains(fmt.Sprintf("%v %+v %#v", p, p, p), canary) {
			t.Errorf("secret in problem %q", p)
		}
	}
}

// allVerbs is a variable so that vet and staticcheck leave the verbs alone
// (Config holds bools and ints, which %s would flag).
var allVerbs = "%v %+v %#v %s %q %x"
