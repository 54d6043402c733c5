package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// env returns a getenv over a fixed map, so tests never depend on the
// environment they run in.
func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

var exampleEnv = env("SLACK_APP_TOKEN", "xapp-1-test", "SLACK_BOT_TOKEN", "xoxb-test")

func parse(t *testing.T, yaml string, getenv func(string) (string, bool)) *Config {
	t.Helper()
	c, err := Parse([]byte(yaml), "", getenv)
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return c
}

// problems parses a file that must have problems and returns them.
func problems(t *testing.T, yaml string, getenv func(string) (string, bool)) []Problem {
	t.Helper()
	c, err := Parse([]byte(yaml), "", getenv)
	var ps *Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Parse error = %v (%T), want *Problems", err, err)
	}
	if c != nil {
		t.Errorf("Parse returned a Config along with problems")
	}
	if len(ps.List) == 0 {
		t.Fatalf("*Problems with no problems")
	}
	return ps.List
}

// hasProblem reports whether ps has one at path whose message contains msg.
func hasProblem(ps []Problem, path, msg string) bool {
	for _, p := range ps {
		if p.Path == path && strings.Contains(p.Msg, msg) {
			return true
		}
	}
	return false
}

func TestExampleFileParsesAndPassesCheckRun(t *testing.T) {
	c, err := Load("../../config.example.yaml", exampleEnv)
	if err != nil {
		t.Fatalf("config.example.yaml has problems:\n%v", err)
	}
	if err := c.CheckRun(); err != nil {
		t.Fatalf("config.example.yaml fails CheckRun:\n%v", err)
	}
	if got := c.Slack.AppToken.Reveal(); got != "xapp-1-test" {
		t.Errorf("app token = %q", got)
	}
	if got := c.Slack.BotToken.Reveal(); got != "xoxb-test" {
		t.Errorf("bot token = %q", got)
	}
	if c.Slack.AnnounceChannel != "C0ANNOUNCE" {
		t.Errorf("announce channel = %q", c.Slack.AnnounceChannel)
	}
	// store.path is relative to the file, which is at the repo root.
	if want := filepath.Join("..", "..", "klaxon.db"); c.Store.Path != want {
		t.Errorf("store path = %q, want %q", c.Store.Path, want)
	}
	// The example spells out the defaults: it must agree with them, or one
	// of the two is lying to the reader.
	d := Default()
	if !reflect.DeepEqual(c.Severities, d.Severities) && !tiersEqualIgnoringEmpty(c.Severities, d.Severities) {
		t.Errorf("example severities differ from the defaults:\n got %+v\nwant %+v", c.Severities, d.Severities)
	}
	if c.Slack.APIURL != d.Slack.APIURL || c.Slack.CommandName != d.Slack.CommandName || c.Slack.AppName != d.Slack.AppName ||
		c.Store.LockTimeout != d.Store.LockTimeout || c.HTTP != d.HTTP || c.Log != d.Log || c.Declare != d.Declare || c.Templates != d.Templates ||
		c.Scheduler != d.Scheduler || c.GitHub.APIURL != d.GitHub.APIURL || c.GitHub.Postmortems != d.GitHub.Postmortems || c.Close != d.Close {
		t.Errorf("example settings differ from the defaults:\n got %+v\nwant %+v", c, d)
	}
	// Without GITHUB_TOKEN the example leaves GitHub off, with no repo set.
	if c.GitHub.Enabled() || c.GitHub.ActionItemsRepo != "" || c.GitHub.Postmortems.Repo != "" {
		t.Errorf("example github = %+v", c.GitHub)
	}
	if l, ok := c.GitHub.Login("U0PAY001"); !ok || l != "octocat" {
		t.Errorf("example login of U0PAY001 = %q, %v", l, ok)
	}
	if c.Remediation.HotfixReviewURL != "https://wiki.example.com/engineering/hotfix-review" {
		t.Errorf("example remediation = %+v", c.Remediation)
	}
	s, ok := c.Service("checkout")
	want := playbook.Service{Name: "checkout", Runbook: "https://runbooks.example.com/checkout", Stakeholders: []string{"U0PAY001", "U0PAY002"},
		FlagURL: "https://flags.example.com/projects/checkout", CutoverURL: "https://traffic.example.com/services/checkout",
		AlertMatch: playbook.Matcher{"service": "checkout"}}
	if !ok || !reflect.DeepEqual(s, want) {
		t.Errorf("Service(checkout) = %+v, %v; want %+v", s, ok, want)
	}
	if len(c.Services) < 2 {
		t.Errorf("example has %d services, want two or three", len(c.Services))
	}
}

// tiersEqualIgnoringEmpty compares tiers treating nil and empty stakeholder
// and escalation lists alike (the example writes `stakeholders: []`).
func tiersEqualIgnoringEmpty(a, b playbook.Tiers) bool {
	if len(a) != len(b) {
		return false
	}
	for s, ta := range a {
		tb, ok := b[s]
		if !ok {
			return false
		}
		if len(ta.Stakeholders) == 0 && len(tb.Stakeholders) == 0 {
			ta.Stakeholders, tb.Stakeholders = nil, nil
		}
		if len(ta.OverdueUpdateMentions) == 0 && len(tb.OverdueUpdateMentions) == 0 {
			ta.OverdueUpdateMentions, tb.OverdueUpdateMentions = nil, nil
		}
		if !reflect.DeepEqual(ta, tb) {
			return false
		}
	}
	return true
}

func TestEmptyFileGivesDefaults(t *testing.T) {
	for _, in := range []string{"", "\n", "# only a comment\n", "---\n", "{}", "~"} {
		c := parse(t, in, env())
		if !reflect.DeepEqual(c, Default()) {
			t.Errorf("Parse(%q) = %+v, want Default()", in, c)
		}
	}
}

func TestDefaults(t *testing.T) {
	d := Default()
	if d.Slack.APIURL != "https://slack.com/api/" || d.Slack.CommandName != "/incident" || d.Slack.AppName != "Klaxon" ||
		d.Store.Path != "./klaxon.db" || d.Store.LockTimeout != 2*time.Second || d.HTTP.Listen != "127.0.0.1:8080" ||
		d.Log.Level != "info" || d.Log.Format != "text" || d.Declare.DefaultSeverity != playbook.SEV3 {
		t.Errorf("Default() = %+v", d)
	}
	if d.Scheduler.Timezone != time.UTC || d.Scheduler.TimezoneName != "UTC" || d.Scheduler.PostmortemReminders != "0 9 * * *" {
		t.Errorf("Default().Scheduler = %+v", d.Scheduler)
	}
	if !reflect.DeepEqual(d.Severities, playbook.DefaultTiers()) {
		t.Errorf("default severities are not the playbook's")
	}
	// Callers own the result: changing one must not change the next.
	d.Severities[playbook.SEV1] = playbook.Tier{}
	if Default().Severities[playbook.SEV1].Updates == "" {
		t.Errorf("Default() shares its tiers between calls")
	}
}

func TestUnknownKeysAtEveryDepth(t *testing.T) {
	tests := []struct {
		name, yaml, path string
		line             int
		hint             string
	}{
		{"top level", "slak:\n  bot_token: x\n", "slak", 1, "did you mean slack?"},
		{"section", "slack:\n  bot_tokn: x\n", "slack.bot_tokn", 2, "did you mean bot_token?"},
		{"section, no close match", "store:\n  path: x\n  colour: red\n", "store.colour", 3, "known keys: driver, dsn, dsn_file, leader_lease, lock_timeout, path"},
		{"severity tier", "severities:\n  SEV1:\n    impact: x\n    update_evry: 5m\n", "severities.SEV1.update_evry", 4, "did you mean update_every?"},
		{"service", "services:\n  - name: a\n  - name: b\n    runbok: https://x\n", "services[1].runbok", 4, "did you mean runbook?"},
		{"odd key quoted", "log:\n  \"lev el\": info\n", `log["lev el"]`, 2, "unknown key"},
		{"Go field name", "slack:\n  command_name: /x\n", "slack.command_name", 2, "did you mean command?"},
		{"scheduler", "scheduler:\n  timezone: UTC\n  tz: UTC\n", "scheduler.tz", 3, "known keys: postmortem_reminders, timezone"},
		{"scheduler typo", "scheduler:\n  postmortem_reminder: '@daily'\n", "scheduler.postmortem_reminder", 2, "did you mean postmortem_reminders?"},
		{"severity tier, new key", "severities:\n  SEV1:\n    escalations: [U0A1]\n", "severities.SEV1.escalations", 3, "did you mean escalation?"},
		{"service, new key", "services:\n  - name: a\n    repository: acme/a\n", "services[0].repository", 3, "did you mean repo?"},
		{"service, deploy env", "services:\n  - name: a\n    environment: prod\n", "services[0].environment", 3, "unknown key"},
		{"github", "github:\n  api_url: https://x\n  tokn: x\n", "github.tokn", 3, "did you mean token?"},
		{"github, Go field name", "github:\n  action_item_repo: acme/x\n", "github.action_item_repo", 2, "did you mean action_items_repo?"},
		{"github.postmortems", "github:\n  postmortems:\n    dir: pm\n", "github.postmortems.dir", 3, "known keys: as, path, repo"},
		{"remediation", "remediation:\n  hotfix_url: https://x\n", "remediation.hotfix_url", 2, "known keys: hotfix_review_url"},
		{"close", "close:\n  archive_after: 1h\n", "close.archive_after", 2, "known keys: archive_delay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := problems(t, tt.yaml, env())
			if len(ps) != 1 {
				t.Fatalf("got %d problems, want 1:\n%v", len(ps), (&Problems{ps}).Error())
			}
			p := ps[0]
			if p.Path != tt.path || p.Line != tt.line || !strings.Contains(p.Msg, "unknown key") || !strings.Contains(p.Msg, tt.hint) {
				t.Errorf("got %q, want path %s, line %d, unknown key with %q", p, tt.path, tt.line, tt.hint)
			}
		})
	}
}

func TestBrokenFileListsEveryProblem(t *testing.T) {
	_, err := Load("testdata/broken.yaml", env())
	var ps *Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Load = %v, want *Problems", err)
	}
	want := []struct {
		line      int
		path, msg string
	}{
		{4, "slack.app_token", "environment variable KLAXON_TEST_UNSET_VAR is not set"},
		{6, "slack.bot_token_file", "set either slack.bot_token or slack.bot_token_file, not both"},
		{7, "slack.api_url", "not an http(s) URL"},
		{8, "slack.announce_channel", "not a channel ID"},
		{9, "slack.comand", "unknown key (did you mean command?)"},
		{11, "store.lock_timeout", "not a duration"},
		{13, "http.listen", "not host:port"},
		{15, "log.level", "not one of debug, info, warn, error"},
		{16, "log.format", "not one of text, json"},
		{18, "declare.default_severity", "not a severity"},
		{20, "severities.SEV9", "not a severity"},
		{22, "severities.sev2.updates", "not an update policy"},
		{23, "severities.sev2.update_every", "must be at least 1s"},
		{24, "severities.sev2.stakeholders[1]", "not a Slack user or user-group ID"},
		{25, "severities.sev2.overdue_update_mentions[0]", "member ID"},
		{26, "severities.sev2.postmortem_within", "must not be negative"},
		{27, "severities.sev2.status_page_within", "not a duration"},
		{28, "severities.SEV3.update_every", "required (at least 1s) when updates is periodic"},
		{32, "services[0].runbook", "not a URL"},
		{33, "services[1].name", `duplicate service name "checkout" (also services[0].name)`},
		{34, "services[2].name", "required"},
		{35, "services[2].owner", "unknown key"},
		{37, "scheduler.timezone", `unknown time zone "Europe/Pariss"`},
		{38, "scheduler.postmortem_reminders", "not a cron spec: expected exactly 5 fields, found 4"},
		{40, "github.api_url", "not an http(s) URL"},
		{41, "github.action_items_repo", "not a GitHub repository"},
		{43, "github.postmortems.path", "must not contain .."},
		{44, "github.postmortems.as", "not one of pull_request, issue"},
		{46, "github.logins.alice", "not a Slack user ID"},
		{48, "remediation.hotfix_review_url", "not a URL"},
		{50, "close.archive_delay", "not a duration"},
	}
	if len(ps.List) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(ps.List), len(want), err)
	}
	for i, w := range want {
		if i >= len(ps.List) {
			break
		}
		p := ps.List[i]
		if p.Line != w.line || p.Path != w.path || !strings.Contains(p.Msg, w.msg) {
			t.Errorf("problem %d = %q\nwant line %d: %s: …%s…", i, p, w.line, w.path, w.msg)
		}
	}
	// The format people read: one problem a line, "line N: path: message".
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(ps.List) || lines[5] != `line 11: store.lock_timeout: not a duration: "soon" (want Go syntax such as 90s, 15m or 1h30m)` {
		t.Errorf("Error() =\n%s", err)
	}
	if strings.Contains(err.Error(), "literal-never-shown") {
		t.Errorf("a token written in the file appears in the problems:\n%s", err)
	}
}

func TestValidation(t *testing.T) {
	tests := []struct {
		yaml, path, msg string
	}{
		{"slack: {api_url: 'https://'}", "slack.api_url", "not an http(s) URL"},
		{"slack: {api_url: 'mailto:x@example.com'}", "slack.api_url", "not an http(s) URL"},
		{"slack: {api_url: 'https://slack.com/api?x=1'}", "slack.api_url", "without ? or #"},
		{"slack: {announce_channel: c0lower}", "slack.announce_channel", "not a channel ID"},
		{"slack: {announce_channel: D0DIRECT}", "slack.announce_channel", "not a channel ID"},
		{"slack: {announce_channel: '#incidents'}", "slack.announce_channel", "use its ID"},
		{"slack: {command: incident}", "slack.command", "not a slash command"},
		{"slack: {command: /Incident}", "slack.command", "not a slash command"},
		{"slack: {command: '/in cident'}", "slack.command", "not a slash command"},
		{"slack: {app_name: ''}", "slack.app_name", "must not be empty"},
		{"slack: {app_name: " + strings.Repeat("k", 36) + "}", "slack.app_name", "longer than"},
		{"slack: [x]", "slack", "want a mapping"},
		{"slack: {bot_token: [x]}", "slack.bot_token", "want a single value, not a list"},
		{"slack: {bot_token_file: ''}", "slack.bot_token_file", "empty path"},
		{"store: {path: ''}", "store.path", "must not be empty"},
		{"store: {lock_timeout: -1s}", "store.lock_timeout", "must not be negative"},
		{"store: {lock_timeout: 0}", "store.lock_timeout", "must be more than 0"},
		{"store: {lock_timeout: 5}", "store.lock_timeout", "not a duration"},
		{"store: {driver: mysql}", "store.driver", "not a store driver"},
		{"http: {admin_token: short}", "http.admin_token", "too short"},
		{"http: {admin_token: 0123456789abcdef, admin_token_file: t}", "http.admin_token_file", "not both"},
		{"store: {driver: postgres, dsn: 'postgres://k@db/k', path: ./k.db}", "store.path", "store.driver is postgres"},
		{"store: {driver: postgres}", "store.dsn", "required with driver postgres"},
		{"store: {dsn: 'postgres://k@db/k'}", "store.dsn", "is for driver postgres"},
		{"store: {driver: postgres, dsn: 'db.internal'}", "store.dsn", "not a PostgreSQL connection string"},
		{"store: {driver: postgres, dsn: 'postgres://k@db/k', leader_lease: 500ms}", "store.leader_lease", "between 1s and 1m"},
		{"http: {listen: '127.0.0.1:http'}", "http.listen", "not host:port"},
		{"http: {listen: '127.0.0.1:70000'}", "http.listen", "not host:port"},
		{"log: {level: [info]}", "log.level", "want a single value"},
		{"declare: {default_severity: 0}", "declare.default_severity", "not a severity"},
		{"severities: [SEV1]", "severities", "want a mapping of severities"},
		{"severities: {SEV1: {impact: ''}}", "severities.SEV1.impact", "must not be empty"},
		{"severities: {SEV1: {response: ' '}}", "severities.SEV1.response", "must not be empty"},
		{"severities: {SEV1: {response_within: -5m}}", "severities.SEV1.response_within", "must not be negative"},
		{"severities: {SEV1: {update_every: 15}}", "severities.SEV1.update_every", "not a duration"},
		{"severities: {SEV1: {stakeholders: U0EXEC01}}", "severities.SEV1.stakeholders", "want a list"},
		{"severities: {SEV1: {stakeholders: ['@alice']}}", "severities.SEV1.stakeholders[0]", "member ID"},
		{"severities: {SEV1: {stakeholders: [C0CHANNEL]}}", "severities.SEV1.stakeholders[0]", "not a Slack user"},
		{"severities: {SEV1: {stakeholders: [~]}}", "severities.SEV1.stakeholders[0]", "empty entry"},
		{"severities: {SEV1: {}, 1: {}}", "severities.1", "SEV1 is already set at line 1"},
		{"severities: {SEV4: {updates: periodic, update_every: ~}}", "severities.SEV4.update_every", "required"},
		{"severities: {SEV1: {update_every: 0s}}", "severities.SEV1.update_every", "must be at least 1s when updates is periodic"},
		{"severities: {SEV1: {update_every: -1m}}", "severities.SEV1.update_every", "must not be negative"},
		{"severities: {SEV3: {update_every: 500ms}}", "severities.SEV3.update_every", "must be at least 1s (or 0 for the default)"},
		{"severities: {SEV1: {overdue_update_mentions: U0EXEC01}}", "severities.SEV1.overdue_update_mentions", "want a list"},
		{"severities: {SEV1: {overdue_update_mentions: [U0A1, '@bob']}}", "severities.SEV1.overdue_update_mentions[1]", "member ID"},
		{"severities: {SEV2: {overdue_update_mentions: [C0CHANNEL]}}", "severities.SEV2.overdue_update_mentions[0]", "not a Slack user or user-group ID"},
		{"severities: {SEV2: {overdue_update_mentions: [~]}}", "severities.SEV2.overdue_update_mentions[0]", "empty entry"},
		{"severities: {SEV1: {status_page_within: -5m}}", "severities.SEV1.status_page_within", "must not be negative"},
		{"severities: {SEV1: {status_page_within: 5}}", "severities.SEV1.status_page_within", "not a duration"},
		{"severities: {SEV1: {status_page_within: [5m]}}", "severities.SEV1.status_page_within", "want a single value"},
		{"severities: {SEV2: {postmortem_within: -1h}}", "severities.SEV2.postmortem_within", "must not be negative"},
		{"severities: {SEV2: {postmortem_within: 2d}}", "severities.SEV2.postmortem_within", "not a duration"},
		{"scheduler: [UTC]", "scheduler", "want a mapping"},
		{"scheduler: {timezone: Mars/Olympus_Mons}", "scheduler.timezone", `unknown time zone "Mars/Olympus_Mons"`},
		{"scheduler: {timezone: europe/paris}", "scheduler.timezone", "case-sensitive"},
		{"scheduler: {timezone: ../../etc/passwd}", "scheduler.timezone", "unknown time zone"},
		{"scheduler: {timezone: ''}", "scheduler.timezone", "must not be empty"},
		{"scheduler: {timezone: Local}", "scheduler.timezone", "Local depends on the host"},
		{"scheduler: {timezone: '+02:00'}", "scheduler.timezone", "unknown time zone"},
		{"scheduler: {postmortem_reminders: '0 9 * *'}", "scheduler.postmortem_reminders", "not a cron spec: expected exactly 5 fields, found 4"},
		{"scheduler: {postmortem_reminders: '0 0 9 * * *'}", "scheduler.postmortem_reminders", "not a cron spec: expected exactly 5 fields, found 6"},
		{"scheduler: {postmortem_reminders: '0 25 * * *'}", "scheduler.postmortem_reminders", "not a cron spec: end of range (25) above maximum (23)"},
		{"scheduler: {postmortem_reminders: '@fortnightly'}", "scheduler.postmortem_reminders", "not a cron spec: unrecognized descriptor"},
		{"scheduler: {postmortem_reminders: '@every soon'}", "scheduler.postmortem_reminders", "not a cron spec"},
		{"scheduler: {postmortem_reminders: '@every 30s'}", "scheduler.postmortem_reminders", "@every must be at least 1m"},
		{"scheduler: {postmortem_reminders: '0 9 30 2 *'}", "scheduler.postmortem_reminders", "never fires"},
		{"scheduler: {postmortem_reminders: ''}", "scheduler.postmortem_reminders", "must not be empty"},
		{"scheduler: {postmortem_reminders: 'TZ=Europe/Paris 0 9 * * *'}", "scheduler.postmortem_reminders", "set scheduler.timezone instead"},
		{"scheduler: {postmortem_reminders: 'CRON_TZ=Europe/Paris'}", "scheduler.postmortem_reminders", "set scheduler.timezone instead"},
		{"scheduler: {postmortem_reminders: '0 9 * * xoxb-123'}", "scheduler.postmortem_reminders", "not a cron spec: (a value that looks like a Slack token, not shown)"},
		{"services: {checkout: {}}", "services", "want a list of services"},
		{"services: [checkout]", "services[0]", "want a mapping"},
		{"services: [{name: ''}]", "services[0].name", "not a service name"},
		{"services: [{name: ~}]", "services[0].name", "required"},
		{"services: [{name: -lead}]", "services[0].name", "not a service name"},
		{"services: [{name: " + strings.Repeat("a", 41) + "}]", "services[0].name", "not a service name"},
		{"services: [{name: a.b}]", "services[0].name", "not a service name"},
		{"services: [{name: a, runbook: /runbooks/a}]", "services[0].runbook", "not a URL"},
		{"services: [{name: a, runbook: 'ftp://x/a'}]", "services[0].runbook", "not a URL"},
		{"services: [{name: a}, {name: a}]", "services[1].name", "duplicate service name"},
		{"log: {level: info, level: debug}", "log.level", "duplicate key (first set at line 1)"},
		{"templates: {dir: ./does-not-exist}", "templates.dir", "no such file or directory"},
		{"templates: {dir: ./config.go}", "templates.dir", "not a directory"},
		{"[1, 2]", "", "want a mapping"},
	}
	for _, tt := range tests {
		ps := problems(t, tt.yaml, env())
		if !hasProblem(ps, tt.path, tt.msg) {
			t.Errorf("%s\n got:\n%v\nwant %s: …%s…", tt.yaml, (&Problems{ps}).Error(), tt.path, tt.msg)
		}
		for _, p := range ps {
			if p.Line == 0 {
				t.Errorf("%s: problem without a line: %q", tt.yaml, p)
			}
		}
	}
}

func TestValidValues(t *testing.T) {
	c := parse(t, `
slack:
  announce_channel: G0PRIVATE
  command: /sev
  app_name: Incident Bot
http: {listen: ":0"}
log: {level: DEBUG, format: json}
declare: {default_severity: sev-2}
services:
  - name: checkout_v2
    stakeholders: [S0ONCALL, W0GRID, U0ONE, U0ONE]
  - name: 9lives
`, env())
	if c.Slack.AnnounceChannel != "G0PRIVATE" || c.Slack.CommandName != "/sev" || c.Slack.AppName != "Incident Bot" {
		t.Errorf("slack = %+v", c.Slack)
	}
	if c.HTTP.Listen != ":0" || !c.HTTP.Enabled() {
		t.Errorf("http = %+v", c.HTTP)
	}
	if c.Log.Level != "debug" || c.Log.Format != "json" || c.Log.SlogLevel().String() != "DEBUG" {
		t.Errorf("log = %+v", c.Log)
	}
	if c.Declare.DefaultSeverity != playbook.SEV2 {
		t.Errorf("default severity = %v", c.Declare.DefaultSeverity)
	}
	if got := c.Services[0].Stakeholders; !reflect.DeepEqual(got, []string{"S0ONCALL", "W0GRID", "U0ONE"}) {
		t.Errorf("stakeholders = %v (duplicates are dropped)", got)
	}
	for _, off := range []string{"off", "OFF", "''"} {
		if c := parse(t, "http: {listen: "+off+"}", env()); c.HTTP.Listen != "" || c.HTTP.Enabled() {
			t.Errorf("listen %s = %q, want disabled", off, c.HTTP.Listen)
		}
	}
}

func TestEnvExpansion(t *testing.T) {
	getenv := env("CHAN", "C0FROMENV", "EMPTY", "", "HOST", "runbooks.example.com", "TIMEOUT", "5s")
	c := parse(t, `
slack:
  announce_channel: ${CHAN}
  app_name: ${UNSET:-Klaxon Staging}
  command: ${EMPTY:-/staging}
store:
  lock_timeout: ${TIMEOUT}
  path: ${UNSET_PATH:-./data}/klaxon.db
services:
  - name: checkout
    runbook: https://${HOST}/checkout?q=$${literal}&cost=$5
`, getenv)
	if c.Slack.AnnounceChannel != "C0FROMENV" {
		t.Errorf("${CHAN} = %q", c.Slack.AnnounceChannel)
	}
	if c.Slack.AppName != "Klaxon Staging" {
		t.Errorf("${UNSET:-…} = %q", c.Slack.AppName)
	}
	if c.Slack.CommandName != "/staging" {
		t.Errorf("${EMPTY:-…} = %q (a set but empty variable takes the default, as in sh)", c.Slack.CommandName)
	}
	if c.Store.LockTimeout != 5*time.Second || c.Store.Path != "./data/klaxon.db" {
		t.Errorf("store = %+v", c.Store)
	}
	if got := c.Services[0].Runbook; got != "https://runbooks.example.com/checkout?q=${literal}&cost=$5" {
		t.Errorf("runbook = %q", got)
	}

	// An empty variable without a default is an empty value, not a problem:
	// an unset secret is for CheckRun to report.
	if c := parse(t, "slack: {bot_token: '${EMPTY}'}", getenv); c.Slack.BotToken.IsSet() {
		t.Errorf("empty variable gave a set token")
	}

	ps := problems(t, `
slack:
  bot_token: ${MISSING_TOKEN}
  app_name: "${CHAN} ${ALSO_MISSING} ${AND_THIS}"
  command: ${not a name}
  announce_channel: ${CHAN
`, getenv)
	for _, w := range []struct{ path, msg string }{
		{"slack.bot_token", "environment variable MISSING_TOKEN is not set"},
		{"slack.app_name", "environment variable ALSO_MISSING is not set"},
		{"slack.app_name", "environment variable AND_THIS is not set"},
		{"slack.command", "not an environment variable name"},
		{"slack.announce_channel", "unterminated ${"},
	} {
		if !hasProblem(ps, w.path, w.msg) {
			t.Errorf("missing %s: %s in\n%v", w.path, w.msg, (&Problems{ps}).Error())
		}
	}
	if strings.Contains((&Problems{ps}).Error(), "C0FROMENV") {
		t.Errorf("a variable's value appears in the problems")
	}

	// A value from the environment is never quoted back, even when wrong:
	// the variable may hold a secret.
	ps = problems(t, "slack: {api_url: '${CHAN}'}", getenv)
	if text := (&Problems{ps}).Error(); strings.Contains(text, "C0FROMENV") || !strings.Contains(text, "the value from the environment") {
		t.Errorf("got %s", text)
	}

	// Keys are not expanded: a variable can't add structure.
	ps = problems(t, "slack: {'${KEY}': x}", env("KEY", "bot_token"))
	if !hasProblem(ps, `slack["${KEY}"]`, "unknown key") {
		t.Errorf("got %v", (&Problems{ps}).Error())
	}
	// Nor can a value: YAML in a variable stays a string.
	c = parse(t, "slack: {app_name: '${V}'}", env("V", "x\nstore: {path: /etc/passwd}"))
	if c.Store.Path != "./klaxon.db" {
		t.Errorf("a variable's value changed another key")
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("bot", "xoxb-from-file\n")
	write("app", "xapp-from-file\r\n")
	write("empty", "\n")
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o700); err != nil {
		t.Fatal(err)
	}

	// Relative paths are relative to baseDir, absolute ones are not.
	c, err := Parse([]byte("slack:\n  bot_token_file: bot\n  app_token_file: "+filepath.Join(dir, "app")+"\n"), dir, env())
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Slack.BotToken.Reveal(); got != "xoxb-from-file" {
		t.Errorf("bot token = %q (want the trailing newline trimmed)", got)
	}
	if got := c.Slack.AppToken.Reveal(); got != "xapp-from-file" {
		t.Errorf("app token = %q", got)
	}

	// The _file path is expanded like any value.
	c, err = Parse([]byte("slack: {bot_token_file: '${SECRETS}/bot'}"), "", env("SECRETS", dir))
	if err != nil || c.Slack.BotToken.Reveal() != "xoxb-from-file" {
		t.Errorf("expanded _file path: %v", err)
	}

	// Load resolves against the config file's directory.
	write("klaxon.yaml", "slack: {bot_token_file: bot}\n")
	c, err = Load(filepath.Join(dir, "klaxon.yaml"), env())
	if err != nil || c.Slack.BotToken.Reveal() != "xoxb-from-file" {
		t.Errorf("Load with a relative _file: %v", err)
	}

	missing := filepath.Join(dir, "missing")
	_, err = Parse([]byte(`
slack:
  bot_token: xoxb-inline
  bot_token_file: bot
  app_token_file: missing
store:
  path: sub/klaxon.db
`), dir, env())
	var ps *Problems
	if !errors.As(err, &ps) {
		t.Fatalf("got %v, want *Problems", err)
	}
	if !hasProblem(ps.List, "slack.bot_token_file", "set either slack.bot_token or slack.bot_token_file, not both") {
		t.Errorf("both set: got\n%v", err)
	}
	if !hasProblem(ps.List, "slack.app_token_file", `cannot read "`+missing+`": no such file or directory`) {
		t.Errorf("missing file: got\n%v", err)
	}

	for _, tt := range []struct{ file, msg string }{
		{"empty", "is empty"},
		{"adir", "not a regular file"},
	} {
		_, err := Parse([]byte("slack: {bot_token_file: "+tt.file+"}"), dir, env())
		if !errors.As(err, &ps) || !hasProblem(ps.List, "slack.bot_token_file", tt.msg) {
			t.Errorf("%s: got %v, want …%s…", tt.file, err, tt.msg)
		}
	}

	// A null value is "not set", so it doesn't conflict with its twin.
	if _, err := Parse([]byte("slack: {bot_token: ~, bot_token_file: bot}"), dir, env()); err != nil {
		t.Errorf("null value and _file: %v", err)
	}
}

func TestRelativePathsFollowTheFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "tmpl"), 0o700); err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]byte("store: {path: data/k.db}\ntemplates: {dir: tmpl}\n"), dir, env())
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Path != filepath.Join(dir, "data/k.db") || c.Templates.Dir != filepath.Join(dir, "tmpl") {
		t.Errorf("paths = %q, %q", c.Store.Path, c.Templates.Dir)
	}
	c, err = Parse([]byte("store: {path: /var/lib/klaxon/k.db}\n"), dir, env())
	if err != nil || c.Store.Path != "/var/lib/klaxon/k.db" {
		t.Errorf("absolute path: %v, %q", err, c.Store.Path)
	}
	// Defaults are not rewritten.
	if c := parse(t, "log: {level: info}", env()); c.Store.Path != "./klaxon.db" {
		t.Errorf("default store path = %q", c.Store.Path)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), env())
	var ps *Problems
	if !errors.Is(err, fs.ErrNotExist) || errors.As(err, &ps) {
		t.Errorf("Load(missing) = %v, want a wrapped fs.ErrNotExist", err)
	}
}

func TestSeveritiesOverlayFieldByField(t *testing.T) {
	c := parse(t, `
severities:
  SEV1:
    update_every: 10m
  sev2:
    stakeholders: [U0EXEC01]
  3:
    updates: periodic
    update_every: 1h
  P4:
    impact: Typos
`, env())
	def := playbook.DefaultTiers()

	want := def[playbook.SEV1]
	want.UpdateEvery = 10 * time.Minute
	if got := c.Severities[playbook.SEV1]; !reflect.DeepEqual(got, want) {
		t.Errorf("SEV1 = %+v\nwant %+v", got, want)
	}
	want = def[playbook.SEV2]
	want.Stakeholders = []string{"U0EXEC01"}
	if got := c.Severities[playbook.SEV2]; !reflect.DeepEqual(got, want) {
		t.Errorf("SEV2 = %+v\nwant %+v", got, want)
	}
	want = def[playbook.SEV3]
	want.Updates, want.UpdateEvery = playbook.UpdatesPeriodic, time.Hour
	if got := c.Severities[playbook.SEV3]; !reflect.DeepEqual(got, want) {
		t.Errorf("SEV3 = %+v\nwant %+v", got, want)
	}
	want = def[playbook.SEV4]
	want.Impact = "Typos"
	if got := c.Severities[playbook.SEV4]; !reflect.DeepEqual(got, want) {
		t.Errorf("SEV4 = %+v\nwant %+v", got, want)
	}

	// An empty list clears the stakeholders; a null keeps them.
	c = parse(t, "severities: {SEV1: {stakeholders: [U0A1]}}", env())
	if got := c.Severities[playbook.SEV1].Stakeholders; !reflect.DeepEqual(got, []string{"U0A1"}) {
		t.Errorf("stakeholders = %v", got)
	}
	if got := parse(t, "severities: {SEV1: {stakeholders: []}}", env()).Severities[playbook.SEV1].Stakeholders; len(got) != 0 {
		t.Errorf("[] stakeholders = %v", got)
	}
	if got := parse(t, "severities: {SEV1: }", env()).Severities; !reflect.DeepEqual(got, def) {
		t.Errorf("null tier changed the defaults: %+v", got)
	}
	// Overlaying doesn't change the playbook's defaults for the next load.
	if !reflect.DeepEqual(playbook.DefaultTiers(), def) || !reflect.DeepEqual(Default().Severities, def) {
		t.Errorf("overlay leaked into the defaults")
	}
}

func TestNewTierKeysOverlayFieldByField(t *testing.T) {
	def := playbook.DefaultTiers()
	for _, tt := range []struct {
		yaml string
		sev  playbook.Severity
		set  func(*playbook.Tier)
	}{
		{"severities: {SEV1: {overdue_update_mentions: [U0CTO001, S0LEADS, U0CTO001]}}", playbook.SEV1,
			func(t *playbook.Tier) { t.OverdueUpdateMentions = []string{"U0CTO001", "S0LEADS"} }},
		{"severities: {SEV4: {overdue_update_mentions: [W0GRID1]}}", playbook.SEV4,
			func(t *playbook.Tier) { t.OverdueUpdateMentions = []string{"W0GRID1"} }},
		{"severities: {SEV1: {status_page_within: 10m}}", playbook.SEV1,
			func(t *playbook.Tier) { t.StatusPageWithin = 10 * time.Minute }},
		{"severities: {SEV1: {status_page_within: 0s}}", playbook.SEV1,
			func(t *playbook.Tier) { t.StatusPageWithin = 0 }},
		{"severities: {sev3: {status_page_within: 1h}}", playbook.SEV3,
			func(t *playbook.Tier) { t.StatusPageWithin = time.Hour }},
		{"severities: {SEV1: {postmortem_within: 72h}}", playbook.SEV1,
			func(t *playbook.Tier) { t.PostmortemWithin = 72 * time.Hour }},
		{"severities: {2: {postmortem_within: 0}}", playbook.SEV2,
			func(t *playbook.Tier) { t.PostmortemWithin = 0 }},
		{"severities: {P4: {postmortem_within: 168h}}", playbook.SEV4,
			func(t *playbook.Tier) { t.PostmortemWithin = 168 * time.Hour }},
		// Null keeps the default.
		{"severities: {SEV1: {overdue_update_mentions: ~, status_page_within: ~, postmortem_within: ~}}", playbook.SEV1,
			func(*playbook.Tier) {}},
	} {
		c := parse(t, tt.yaml, env())
		for _, sev := range playbook.Severities {
			want := def[sev]
			if sev == tt.sev {
				tt.set(&want)
			}
			if got := c.Severities[sev]; !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %v = %+v\nwant %+v", tt.yaml, sev, got, want)
			}
		}
	}
	// An empty list clears the escalation a merge or an alias gave.
	c := parse(t, "severities:\n  SEV1: &one {overdue_update_mentions: [U0A1]}\n  SEV2: {<<: *one, overdue_update_mentions: []}\n", env())
	if got := c.Severities[playbook.SEV1].OverdueUpdateMentions; !reflect.DeepEqual(got, []string{"U0A1"}) {
		t.Errorf("SEV1 escalation = %v", got)
	}
	if got := c.Severities[playbook.SEV2].OverdueUpdateMentions; got == nil || len(got) != 0 {
		t.Errorf("SEV2 escalation = %#v, want empty", got)
	}
	if !reflect.DeepEqual(playbook.DefaultTiers(), def) {
		t.Errorf("overlay leaked into the defaults")
	}
}

func TestUpdateEveryByPolicy(t *testing.T) {
	// open_and_resolution: optional, the opening update's deadline; 0 is
	// "unset" and left for the reminder code to default.
	c := parse(t, "severities: {SEV3: {update_every: 10m}}", env())
	if got := c.Severities[playbook.SEV3]; got.Updates != playbook.UpdatesOpenAndResolution || got.UpdateEvery != 10*time.Minute {
		t.Errorf("SEV3 = %+v", got)
	}
	if got := parse(t, "severities: {SEV3: {update_every: 0s}}", env()).Severities[playbook.SEV3].UpdateEvery; got != 0 {
		t.Errorf("SEV3 update_every 0s = %v", got)
	}
	// Switching a periodic tier keeps its cadence as the opening deadline,
	// or takes 0 to mean the default.
	c = parse(t, "severities: {SEV1: {updates: open_and_resolution}, SEV2: {updates: open_and_resolution, update_every: 0s}}", env())
	if got := c.Severities[playbook.SEV1].UpdateEvery; got != 15*time.Minute {
		t.Errorf("SEV1 switched to open_and_resolution: update_every = %v", got)
	}
	if got := c.Severities[playbook.SEV2].UpdateEvery; got != 0 {
		t.Errorf("SEV2 switched with 0s: update_every = %v", got)
	}
	// ticket_only: allowed and ignored.
	if got := parse(t, "severities: {SEV4: {update_every: 2h}}", env()).Severities[playbook.SEV4].UpdateEvery; got != 2*time.Hour {
		t.Errorf("SEV4 update_every = %v", got)
	}
	// periodic: required and at least 1s, whichever order the keys come in.
	for _, in := range []string{
		"severities: {SEV3: {update_every: 0s, updates: periodic}}",
		"severities: {SEV3: {updates: periodic, update_every: 0s}}",
		"severities: {SEV1: {update_every: 0s}}",
	} {
		ps := problems(t, in, env())
		if len(ps) != 1 || !hasProblem(ps, ps[0].Path, "must be at least 1s when updates is periodic") || !strings.HasSuffix(ps[0].Path, ".update_every") || ps[0].Line != 1 {
			t.Errorf("%s: got %v", in, (&Problems{ps}).Error())
		}
	}
	ps := problems(t, "severities:\n  SEV3:\n    updates: periodic\n", env())
	if len(ps) != 1 || ps[0].Path != "severities.SEV3.update_every" || ps[0].Line != 2 || !strings.Contains(ps[0].Msg, "required") {
		t.Errorf("got %v", (&Problems{ps}).Error())
	}
}

func TestScheduler(t *testing.T) {
	c := parse(t, "scheduler:\n  timezone: ' America/New_York '\n  postmortem_reminders: ' 30 8 * * 1-5 '\n", env())
	if c.Scheduler.Timezone == nil || c.Scheduler.Timezone.String() != "America/New_York" || c.Scheduler.TimezoneName != "America/New_York" {
		t.Errorf("timezone = %v, %q", c.Scheduler.Timezone, c.Scheduler.TimezoneName)
	}
	if c.Scheduler.PostmortemReminders != "30 8 * * 1-5" {
		t.Errorf("postmortem_reminders = %q", c.Scheduler.PostmortemReminders)
	}
	// Setting one key keeps the other's default.
	c = parse(t, "scheduler: {timezone: Asia/Kolkata}", env())
	if c.Scheduler.PostmortemReminders != DefaultPostmortemReminders || c.Scheduler.TimezoneName != "Asia/Kolkata" {
		t.Errorf("scheduler = %+v", c.Scheduler)
	}
	c = parse(t, "scheduler: {postmortem_reminders: '@weekly'}", env())
	if c.Scheduler.Timezone != time.UTC || c.Scheduler.TimezoneName != "UTC" || c.Scheduler.PostmortemReminders != "@weekly" {
		t.Errorf("scheduler = %+v", c.Scheduler)
	}
	if got := parse(t, "scheduler: {timezone: ~, postmortem_reminders: ~}", env()).Scheduler; got != Default().Scheduler {
		t.Errorf("null scheduler keys = %+v", got)
	}
	for _, spec := range []string{"@daily", "@midnight", "@hourly", "@monthly", "@yearly", "@annually", "@every 12h", "@every 1m",
		"0 9 * * *", "*/15 9-17 * * MON-FRI", "0 9 1,15 * *", "0 9 * JAN,JUL ?"} {
		if got := parse(t, "scheduler: {postmortem_reminders: '"+spec+"'}", env()).Scheduler.PostmortemReminders; got != spec {
			t.Errorf("%q → %q", spec, got)
		}
	}
	for _, zone := range []string{"UTC", "Etc/UTC", "Europe/Paris", "Australia/Lord_Howe", "Pacific/Chatham"} {
		if got := parse(t, "scheduler: {timezone: "+zone+"}", env()).Scheduler; got.Timezone.String() != zone || got.TimezoneName != zone {
			t.Errorf("%s → %+v", zone, got)
		}
	}
	// Variables expand as anywhere else; a bad value from the environment
	// is not quoted back.
	c = parse(t, "scheduler: {timezone: '${TZ_NAME:-UTC}', postmortem_reminders: '${REMIND}'}", env("TZ_NAME", "Europe/Berlin", "REMIND", "@daily"))
	if c.Scheduler.TimezoneName != "Europe/Berlin" || c.Scheduler.PostmortemReminders != "@daily" {
		t.Errorf("scheduler from env = %+v", c.Scheduler)
	}
	ps := problems(t, "scheduler: {timezone: '${Z}', postmortem_reminders: '${R}'}", env("Z", "Not/AZone-secret", "R", "0 9 * secret"))
	text := (&Problems{ps}).Error()
	if len(ps) != 2 || strings.Contains(text, "secret") || strings.Count(text, "the value from the environment") != 2 {
		t.Errorf("got %s", text)
	}
}

func TestTiersAndSchedulerFile(t *testing.T) {
	c, err := Load("testdata/tiers_and_scheduler.yaml", env())
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, c)
	def := playbook.DefaultTiers()
	want := def.Get(playbook.SEV1)
	want.OverdueUpdateMentions, want.StatusPageWithin, want.PostmortemWithin = []string{"U0CTO001", "S0LEADS"}, 10*time.Minute, 72*time.Hour
	if got := c.Severities[playbook.SEV1]; !reflect.DeepEqual(got, want) {
		t.Errorf("SEV1 = %+v\nwant %+v", got, want)
	}
	want = def.Get(playbook.SEV2)
	want.OverdueUpdateMentions, want.StatusPageWithin, want.PostmortemWithin = []string{"W0VPENG1"}, 15*time.Minute, 0
	if got := c.Severities[playbook.SEV2]; !reflect.DeepEqual(got, want) {
		t.Errorf("SEV2 = %+v\nwant %+v", got, want)
	}
	want = def.Get(playbook.SEV3)
	want.UpdateEvery, want.PostmortemWithin = time.Hour, 168*time.Hour
	if got := c.Severities[playbook.SEV3]; !reflect.DeepEqual(got, want) {
		t.Errorf("SEV3 = %+v\nwant %+v", got, want)
	}
	want = def.Get(playbook.SEV4)
	want.UpdateEvery, want.OverdueUpdateMentions = 5*time.Minute, []string{}
	if got := c.Severities[playbook.SEV4]; !reflect.DeepEqual(got, want) {
		t.Errorf("SEV4 = %+v\nwant %+v", got, want)
	}
	if s := c.Scheduler; s.TimezoneName != "Europe/Paris" || s.Timezone.String() != "Europe/Paris" || s.PostmortemReminders != "30 8 * * 1-5" {
		t.Errorf("scheduler = %+v", s)
	}
}

func TestAPIURLGetsTrailingSlash(t *testing.T) {
	for in, want := range map[string]string{
		"https://slack-gov.com/api":  "https://slack-gov.com/api/",
		"https://slack-gov.com/api/": "https://slack-gov.com/api/",
		"http://127.0.0.1:4390":      "http://127.0.0.1:4390/",
		"HTTP://127.0.0.1:4390/api":  "HTTP://127.0.0.1:4390/api/",
	} {
		c := parse(t, "slack: {api_url: '"+in+"'}", env())
		if c.Slack.APIURL != want {
			t.Errorf("api_url %q → %q, want %q", in, c.Slack.APIURL, want)
		}
	}
	if got := Default().Slack.APIURL; !strings.HasSuffix(got, "/") {
		t.Errorf("default api_url %q has no trailing slash", got)
	}
}

func TestCheckRun(t *testing.T) {
	if err := parse(t, "slack: {app_token: xapp-1, bot_token: xoxb-1, announce_channel: C01}", env()).CheckRun(); err != nil {
		t.Errorf("complete config: %v", err)
	}

	err := Default().CheckRun()
	var ps *Problems
	if !errors.As(err, &ps) || len(ps.List) != 3 {
		t.Fatalf("Default().CheckRun() = %v, want 3 problems", err)
	}
	for _, path := range []string{"slack.app_token", "slack.bot_token", "slack.announce_channel"} {
		if !hasProblem(ps.List, path, "required to run") {
			t.Errorf("no 'required' problem for %s in\n%v", path, err)
		}
	}

	c := parse(t, "slack:\n  app_token: xoxb-swapped-secret\n  bot_token: \"xoxb-has space\"\n  announce_channel: C01\n", env())
	err = c.CheckRun()
	if !errors.As(err, &ps) {
		t.Fatalf("CheckRun = %v", err)
	}
	if !hasProblem(ps.List, "slack.app_token", "this is a bot token (xoxb-…); want an app-level token") {
		t.Errorf("swapped token: %v", err)
	}
	if !hasProblem(ps.List, "slack.bot_token", "contains whitespace") {
		t.Errorf("whitespace: %v", err)
	}
	if ps.List[0].Line != 2 {
		t.Errorf("CheckRun problem has line %d, want 2 (where the file sets it)", ps.List[0].Line)
	}
	if strings.Contains(err.Error(), "swapped-secret") || strings.Contains(err.Error(), "has space") {
		t.Errorf("CheckRun shows a token: %v", err)
	}
	c = parse(t, "slack: {app_token: nonsense, bot_token: xoxb-1, announce_channel: C01}", env())
	if err := c.CheckRun(); err == nil || !strings.Contains(err.Error(), "starts with xapp-") {
		t.Errorf("unknown token kind: %v", err)
	}
}

func TestServiceLookupIgnoresCase(t *testing.T) {
	c := parse(t, "services: [{name: checkout, stakeholders: [U0A1]}, {name: search}]", env())
	for _, name := range []string{"checkout", "Checkout", "CHECKOUT", " checkout "} {
		if s, ok := c.Service(name); !ok || s.Name != "checkout" {
			t.Errorf("Service(%q) = %+v, %v", name, s, ok)
		}
	}
	if _, ok := c.Service("payments"); ok {
		t.Errorf("Service(payments) found")
	}
	s, _ := c.Service("checkout")
	s.Stakeholders[0] = "U0CHANGED"
	if c.Services[0].Stakeholders[0] != "U0A1" {
		t.Errorf("Service returned the config's own slice")
	}
}

func TestYAMLSyntax(t *testing.T) {
	ps := problems(t, "slack:\n  bot_token: x\n    app_token: y\n", env())
	if len(ps) != 1 || ps[0].Line != 3 || !strings.HasPrefix(ps[0].Msg, "invalid YAML: ") {
		t.Errorf("syntax error = %q", ps)
	}
	ps = problems(t, "slack: {bot_token: xoxb-in-doc-one}\n---\nlog: {level: info}\n", env())
	if len(ps) != 1 || ps[0].Line != 2 || !strings.Contains(ps[0].Msg, "second YAML document") {
		t.Errorf("two documents = %q", ps)
	}
	ps = problems(t, "log: *nowhere\n", env())
	if len(ps) != 1 || !strings.Contains(ps[0].Msg, "unknown anchor") {
		t.Errorf("unknown anchor = %q", ps)
	}
}

func TestAliasesAndMergeKeys(t *testing.T) {
	c := parse(t, `
severities:
  SEV1:
    stakeholders: &execs [U0EXEC01, U0EXEC02]
  SEV2: &sev2
    stakeholders: *execs
    update_every: 20m
  SEV3:
    <<: *sev2
    updates: periodic
services:
  - &svc {name: checkout, runbook: "https://runbooks.example.com/checkout", stakeholders: *execs}
  - <<: *svc
    name: checkout-v2
`, env())
	execs := []string{"U0EXEC01", "U0EXEC02"}
	if got := c.Severities[playbook.SEV2].Stakeholders; !reflect.DeepEqual(got, execs) {
		t.Errorf("alias: SEV2 stakeholders = %v", got)
	}
	if got := c.Severities[playbook.SEV3]; got.UpdateEvery != 20*time.Minute || !reflect.DeepEqual(got.Stakeholders, execs) || got.Updates != playbook.UpdatesPeriodic {
		t.Errorf("merge: SEV3 = %+v", got)
	}
	if len(c.Services) != 2 || c.Services[1].Name != "checkout-v2" || c.Services[1].Runbook != "https://runbooks.example.com/checkout" {
		t.Errorf("merge: services = %+v", c.Services)
	}

	// Problems inside merged content still get paths; explicit keys win
	// without counting as duplicates.
	ps := problems(t, "services:\n  - &a {name: a, colour: red}\n  - {<<: *a, name: b}\n", env())
	if len(ps) != 2 || !hasProblem(ps, "services[0].colour", "unknown key") || !hasProblem(ps, "services[1].colour", "unknown key") {
		t.Errorf("got %v", (&Problems{ps}).Error())
	}
	ps = problems(t, "log: {<<: [x]}\n", env())
	if !hasProblem(ps, "log[\"<<\"]", "a merge key takes a mapping") {
		t.Errorf("got %v", (&Problems{ps}).Error())
	}
}

// A few lines of aliases can describe billions of values; the walk must stop
// with a problem instead of running out of time or memory.
func TestAliasBombIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("severities:\n  SEV1:\n    stakeholders: &l0 [U0A1, U0A2, U0A3, U0A4, U0A5, U0A6, U0A7, U0A8, U0A9, U0B1]\n")
	b.WriteString("services:\n")
	prev := "l0"
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "  - &m%d {name: s%d, <<: [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			if i == 1 {
				b.WriteString("{stakeholders: *l0}")
			} else {
				fmt.Fprintf(&b, "*%s", prev)
			}
		}
		b.WriteString("]}\n")
		prev = fmt.Sprintf("m%d", i)
	}
	ps := problems(t, b.String(), env())
	if len(ps) != 1 || !hasProblem(ps, "", "expands to more than") {
		t.Errorf("got %v", (&Problems{ps}).Error())
	}
	// Self-merging anchors can't loop forever either.
	problems(t, "services:\n  - &a {name: a, <<: *a}\n", env())
}

// The smallest file that runs: everything else has a default.
func TestMinimalFileRuns(t *testing.T) {
	c, err := Load("testdata/example_minimal.yaml", exampleEnv)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckRun(); err != nil {
		t.Fatal(err)
	}
	d := Default()
	if !reflect.DeepEqual(c.Severities, d.Severities) || c.Store != d.Store || c.Services != nil {
		t.Errorf("minimal file changed defaults: %+v", c)
	}
}

func TestTriageScopeTimebox(t *testing.T) {
	cfg, err := Parse([]byte("triage:\n  scope_timebox: 3s\n"), "", func(string) (string, bool) { return "", false })
	if err != nil || cfg.Triage.ScopeTimebox != 3*time.Second {
		t.Fatalf("scope_timebox = %v, %v", cfg.Triage.ScopeTimebox, err)
	}
	if Default().Triage.ScopeTimebox != 5*time.Minute {
		t.Fatal("default scope timebox is not 5m")
	}
	_, err = Parse([]byte("triage:\n  scope_timebox: 0s\n  timebox: 1m\n"), "", func(string) (string, bool) { return "", false })
	if err == nil || !strings.Contains(err.Error(), "triage.scope_timebox: must be at least 1s") || !strings.Contains(err.Error(), "triage.timebox: unknown key") {
		t.Fatalf("bad triage section: %v", err)
	}
}

func TestResponders(t *testing.T) {
	env := func(string) (string, bool) { return "", false }
	cfg, err := Parse([]byte("responders: [U0SRE001, S0ONCALL]\n"), "", env)
	if err != nil || len(cfg.Responders) != 2 || cfg.Responders[1] != "S0ONCALL" {
		t.Fatalf("responders = %v, %v", cfg.Responders, err)
	}
	if _, err := Parse([]byte("responders: [alice]\n"), "", env); err == nil || !strings.Contains(err.Error(), "responders[0]") {
		t.Fatalf("bad responder ID: %v", err)
	}
}

// TestStorePostgres: the PostgreSQL store's keys, with dsn_file working as
// every _file twin (the DSN may hold a password), and the DSN never quoted
// in a problem.
func TestStorePostgres(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dsn"), []byte("postgres://klaxon:s3cret@db.internal/klaxon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]byte("store:\n  driver: postgres\n  dsn_file: dsn\n  leader_lease: 3s\n"), dir, env())
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Driver != DriverPostgres || c.Store.DSN.Reveal() != "postgres://klaxon:s3cret@db.internal/klaxon" || c.Store.LeaderLease != 3*time.Second {
		t.Fatalf("store = %+v", c.Store)
	}
	if d := Default().Store; d.Driver != DriverBolt || d.LeaderLease != DefaultLeaderLease {
		t.Fatalf("default store = %+v", d)
	}
	_, err = Parse([]byte("store:\n  driver: postgres\n  dsn: '${DSN}'\n  path: k.db\n"), dir, env("DSN", "s3cret-no-scheme"))
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "store.path") || !strings.Contains(err.Error(), "store.dsn") {
		t.Fatalf("err = %v; want both problems, without the DSN", err)
	}
}

// The old name of overdue_update_mentions gets a message naming the new one.
func TestEscalationKeyRenamed(t *testing.T) {
	_, err := Parse([]byte("severities:\n  SEV1:\n    escalation: [U0CTO001]\n"), "", env())
	if err == nil || !strings.Contains(err.Error(), "severities.SEV1.escalation: renamed overdue_update_mentions") {
		t.Fatalf("got %v", err)
	}
}
