package config

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/robfig/cron/v3"
)

// fuzzSecret is what every environment variable and secret file holds while
// fuzzing, so that a leak into a problem message is caught.
const fuzzSecret = "xoxb-FUZZCANARY42"

// memFiles stands in for the file system while fuzzing: arbitrary input
// must not make the test open real paths (a FIFO or a device would hang it).
type memFiles struct{}

func (memFiles) readSecret(p string) ([]byte, error) {
	switch {
	case strings.Contains(p, "missing"):
		return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
	case strings.Contains(p, "empty"):
		return []byte("\n"), nil
	}
	return []byte(fuzzSecret + "\n"), nil
}

func (memFiles) statDir(p string) error {
	if strings.Contains(p, "tmpl") {
		return nil
	}
	return errNotDir
}

func fuzzEnv(name string) (string, bool) {
	if strings.HasPrefix(name, "UNSET") {
		return "", false
	}
	if strings.HasPrefix(name, "EMPTY") {
		return "", true
	}
	return fuzzSecret, true
}

var fuzzSeeds = []string{
	"",
	"{}",
	"slack: {app_token: '${APP}', bot_token_file: secrets/bot, api_url: 'http://127.0.0.1:9/api'}",
	"slack:\n  bot_token: ${UNSET_X}\n  bot_token_file: missing\n  app_token_file: empty\n",
	"severities:\n  sev1: {update_every: 1m, stakeholders: [U0A1, S0B2]}\n  3: {updates: periodic}\n  SEV9: {}\n",
	"services:\n  - &a {name: a, runbook: 'https://x/a', stakeholders: [U0A1]}\n  - {<<: *a, name: b}\n  - *a\n",
	"services: [{name: Checkout}, {name: ''}, {}, ~, [x]]",
	"log: {level: ${LEVEL:-info}, format: \"${EMPTY:-json}\"}\nhttp: {listen: 'off'}\n",
	"store: {path: ./k.db, lock_timeout: 1h}\ntemplates: {dir: tmpl}\ndeclare: {default_severity: p2}\n",
	"a: &a [*a]\n",
	"log: &l {<<: *l}\n",
	"x: $${not}${A:-b}${\n",
	"slack: 1\n---\nslack: 2\n",
	"- - - [\n",
	"? [a, b]\n: c\n",
	"\t\x00\xff",
	"severities:\n  SEV1: {overdue_update_mentions: [U0A1, '@b'], status_page_within: -1m, postmortem_within: 1h}\n  3: {update_every: 0s}\n  4: {update_every: 1ms}\n",
	"scheduler: {timezone: Europe/Paris, postmortem_reminders: '@every 2h'}\n",
	"scheduler: {timezone: '${TZ:-UTC}', postmortem_reminders: 'TZ=UTC'}\n",
	"scheduler: {timezone: Local, postmortem_reminders: '0 9 30 2 *'}\n",
	"scheduler: {postmortem_reminders: '*/5 1-2,4 ? JAN-DEC SUN'}\n",
	"services:\n  - {name: a, repo: acme/a, deploy_environment: prod-eu, flag_url: 'https://f/a', cutover_url: 'http://c/a'}\n  - {name: b, repo: 'o/..', deploy_environment: ''}\n  - {name: c, repo: acme/c}\n",
	"github:\n  token: ${GH}\n  api_url: https://ghe.example.com/api/v3\n  action_items_repo: acme/incidents\n  postmortems: {repo: acme/pm, path: docs/pm/, as: issue}\n  logins: {U0A1: octocat, W0B2: '-x', S0C3: a, '@d': e}\n",
	"github: {token: '${EMPTY:-}', postmortems: {repo: acme/pm, path: ../x, as: pr}}\nservices: [{name: a, repo: acme/a}]\n",
	"github: {token_file: secrets/gh, token: x, action_items_repo: a/b}\n",
	"github: {token_file: missing, api_url: 'https://h/?q'}\n",
	"remediation: {hotfix_review_url: 'https://wiki/hotfix'}\nclose: {archive_delay: 720h}\n",
	"remediation: {hotfix_review_url: wiki}\nclose: {archive_delay: 721h}\n",
	"close: {archive_delay: -1s}\n",
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	for _, name := range []string{"../../config.example.yaml", "testdata/broken.yaml", "testdata/example_minimal.yaml", "testdata/tiers_and_scheduler.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := newDecoder("base", fuzzEnv, memFiles{}).parse(data)
		if c == nil {
			var ps *Problems
			if !errors.As(err, &ps) || len(ps.List) == 0 {
				t.Fatalf("no config and no problems: %v", err)
			}
			for _, p := range ps.List {
				if p.Msg == "" || p.Line < 0 {
					t.Errorf("malformed problem %#v", p)
				}
			}
			if strings.Contains(err.Error(), "FUZZCANARY") && !bytes.Contains(data, []byte("FUZZCANARY")) {
				t.Errorf("a secret leaked into the problems:\n%v", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("both a config and an error: %v", err)
		}
		checkInvariants(t, c)
		if c.Slack.BotToken.String() != redacted || c.GitHub.Token.String() != redacted {
			t.Errorf("secret prints")
		}
	})
}

// checkInvariants states what every loaded Config guarantees to its users.
func checkInvariants(t *testing.T, c *Config) {
	t.Helper()
	if !strings.HasSuffix(c.Slack.APIURL, "/") || !isHTTPURL(c.Slack.APIURL) {
		t.Errorf("api_url %q", c.Slack.APIURL)
	}
	if c.Slack.AnnounceChannel != "" && !channelRE.MatchString(c.Slack.AnnounceChannel) {
		t.Errorf("announce_channel %q", c.Slack.AnnounceChannel)
	}
	if !strings.HasPrefix(c.Slack.CommandName, "/") || c.Slack.AppName == "" {
		t.Errorf("slack %+v", c.Slack)
	}
	if c.Store.Path == "" || c.Store.LockTimeout <= 0 {
		t.Errorf("store %+v", c.Store)
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) || (c.Log.Format != "text" && c.Log.Format != "json") {
		t.Errorf("log %+v", c.Log)
	}
	if !c.Declare.DefaultSeverity.Valid() {
		t.Errorf("default severity %v", c.Declare.DefaultSeverity)
	}
	if c.Templates.Dir != "" && !strings.Contains(c.Templates.Dir, "tmpl") {
		t.Errorf("templates dir %q", c.Templates.Dir)
	}
	if len(c.Severities) != 4 {
		t.Errorf("%d severities", len(c.Severities))
	}
	for _, sev := range playbook.Severities {
		tier, ok := c.Severities[sev]
		if !ok || tier.Severity != sev || !tier.Updates.Valid() || tier.ResponseWithin < 0 {
			t.Errorf("%v = %+v", sev, tier)
		}
		if tier.Updates == playbook.UpdatesPeriodic && tier.UpdateEvery < time.Second {
			t.Errorf("%v is periodic every %v", sev, tier.UpdateEvery)
		}
		if tier.UpdateEvery != 0 && tier.UpdateEvery < time.Second {
			t.Errorf("%v update_every %v", sev, tier.UpdateEvery)
		}
		if tier.StatusPageWithin < 0 || tier.PostmortemWithin < 0 {
			t.Errorf("%v status page within %v, post-mortem within %v", sev, tier.StatusPageWithin, tier.PostmortemWithin)
		}
		for _, id := range slices.Concat(tier.Stakeholders, tier.OverdueUpdateMentions) {
			if !stakeholderRE.MatchString(id) {
				t.Errorf("%v stakeholder or escalation %q", sev, id)
			}
		}
	}
	if sc := c.Scheduler; sc.Timezone == nil || sc.Timezone.String() != sc.TimezoneName || sc.TimezoneName == "Local" {
		t.Errorf("scheduler zone %v, %q", sc.Timezone, sc.TimezoneName)
	}
	if sched, err := cron.ParseStandard(c.Scheduler.PostmortemReminders); err != nil || strings.Contains(c.Scheduler.PostmortemReminders, "TZ=") {
		t.Errorf("postmortem_reminders %q: %v", c.Scheduler.PostmortemReminders, err)
	} else if d, every := sched.(cron.ConstantDelaySchedule); every && d.Delay < time.Minute {
		t.Errorf("postmortem_reminders %q every %v", c.Scheduler.PostmortemReminders, d.Delay)
	}
	g := c.GitHub
	if !strings.HasSuffix(g.APIURL, "/") || !isHTTPURL(g.APIURL) || strings.ContainsAny(g.APIURL, "?#") {
		t.Errorf("github api_url %q", g.APIURL)
	}
	repoOK := func(what, r string) {
		t.Helper()
		if r != "" && checkRepo(r, scalar{val: r}) != "" {
			t.Errorf("%s %q", what, r)
		}
	}
	repoOK("action_items_repo", g.ActionItemsRepo)
	repoOK("postmortems.repo", g.Postmortems.Repo)
	if p := g.Postmortems.Path; p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || slices.Contains(strings.Split(p, "/"), "..") {
		t.Errorf("postmortems path %q", p)
	}
	if a := g.Postmortems.As; a != PostmortemAsPullRequest && a != PostmortemAsIssue {
		t.Errorf("postmortems as %q", a)
	}
	for id, login := range g.Logins {
		if !userRE.MatchString(id) || !githubLoginRE.MatchString(login) {
			t.Errorf("login %q → %q", id, login)
		}
	}
	// A repo anywhere needs the token.
	hasRepo := g.ActionItemsRepo != "" || g.Postmortems.Repo != ""
	for _, s := range c.Services {
		hasRepo = hasRepo || s.Repo != ""
	}
	if hasRepo && !g.Enabled() {
		t.Errorf("a repo without github.token")
	}
	if c.Remediation.HotfixReviewURL != "" && !isHTTPURL(c.Remediation.HotfixReviewURL) {
		t.Errorf("hotfix_review_url %q", c.Remediation.HotfixReviewURL)
	}
	if d := c.Close.ArchiveDelay; d < 0 || d > MaxArchiveDelay {
		t.Errorf("archive_delay %v", d)
	}
	seen := map[string]bool{}
	for _, s := range c.Services {
		if !serviceNameRE.MatchString(s.Name) || seen[strings.ToLower(s.Name)] {
			t.Errorf("service name %q", s.Name)
		}
		seen[strings.ToLower(s.Name)] = true
		for _, u := range []string{s.Runbook, s.FlagURL, s.CutoverURL} {
			if u != "" && !isHTTPURL(u) {
				t.Errorf("service %s URL %q", s.Name, u)
			}
		}
		repoOK("service repo", s.Repo)
		if s.Repo != "" && (strings.TrimSpace(s.DeployEnvironment) == "" || strings.ContainsFunc(s.DeployEnvironment, unicode.IsControl)) {
			t.Errorf("service %s deploy environment %q", s.Name, s.DeployEnvironment)
		}
		for _, id := range s.Stakeholders {
			if !stakeholderRE.MatchString(id) {
				t.Errorf("service stakeholder %q", id)
			}
		}
		if got, ok := c.Service(strings.ToUpper(s.Name)); !ok || got.Name != s.Name {
			t.Errorf("Service(%q) not found", s.Name)
		}
	}
}

// The real Parse must agree with the one the fuzzer drives.
func TestParseMatchesFuzzedDecoder(t *testing.T) {
	b, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(b, "", exampleEnv)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, c)
}
