// Package config loads Klaxon's configuration file.
//
// The rules, in the order they apply:
//
//   - Defaults first: Parse starts from Default() and the file overlays it.
//     Severities overlay field by field (a file that sets only
//     severities.SEV1.update_every keeps SEV1's default impact), every other
//     key replaces its default, and services have no defaults at all.
//   - Strict: an unknown key, a value of the wrong shape or a duplicate key is
//     a problem, so a typo never silently falls back to a default.
//   - ${VAR} and ${VAR:-default} are expanded inside scalar values (never in
//     keys) after the YAML is parsed, so a variable's value can't change the
//     structure of the file. ":-" uses the default when VAR is unset or empty,
//     as a shell does. $${ is a literal ${. An unset VAR without a default is a
//     problem that names VAR, never a value. (In YAML's flow style, [ ] and
//     { }, the braces must be quoted: '${VAR}'.)
//   - Every secret has a _file twin (bot_token / bot_token_file) that reads the
//     secret from a file, as Docker and Kubernetes secrets and systemd
//     credentials provide them; trailing newlines are trimmed. Setting both is
//     a problem.
//   - Relative paths written in the file (the _file twins, store.path,
//     templates.dir) are relative to the directory of the config file (Parse's
//     baseDir), so the same file works whatever the working directory of the
//     process. Defaults are not rewritten: the default store.path, ./klaxon.db,
//     stays relative to the working directory.
//     (github.postmortems.path is a directory in a GitHub repository, not
//     on disk, and is never rewritten.)
//   - A null value (`key:` or `key: ~`) means "not set" and keeps the default.
//   - Every problem is reported at once, each with its key path and line, as a
//     *Problems error; a Config is returned only when there are none.
//   - Secrets are Secret values, which never print, log or marshal their value.
//
// It imports playbook (severities, services, teams are its types); only
// cmd/klaxon imports it.
package config

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	// Embedded zone data, so that scheduler.timezone works in a container
	// without /usr/share/zoneinfo (distroless, scratch).
	_ "time/tzdata"

	"github.com/klaxonhq/klaxon/playbook"
)

// DefaultAPIURL is Slack's Web API base URL. GovSlack users and tests point
// slack.api_url elsewhere.
const DefaultAPIURL = "https://slack.com/api/"

// Config is Klaxon's whole configuration, defaults included.
type Config struct {
	Slack   Slack
	Store   Store
	HTTP    HTTP
	Log     Log
	Declare Declare
	Triage  Triage
	// Responders (user or user-group IDs) may change severity, resolve,
	// override a gate and close any incident, besides its commander and
	// declarer.
	Responders []string
	// Severities holds all four tiers: the playbook's defaults with the file's
	// fields laid over them.
	Severities playbook.Tiers
	// Services are the services people can name when declaring, in file order.
	Services  []playbook.Service
	Templates Templates
	Scheduler Scheduler
	Digest    Digest
	// GitHub is optional: without a token it is off, and the wrap-up skips
	// deploys, action-item issues and post-mortem pull requests.
	GitHub      GitHub
	Remediation Remediation
	Close       Close
	// PagerDuty is optional: without a token pages go to Slack only.
	PagerDuty PagerDuty
	// Teams joins CODEOWNERS owners to PagerDuty and Slack.
	Teams []playbook.Team
	// EscalationRoles maps the escalation matrix's roles (role:name) to
	// targets; the default matrix uses engineering_manager, vp_engineering
	// and ceo.
	EscalationRoles map[string][]playbook.Target
	// Deploys configures the deploys posted at declaration and the deploy
	// watchdog (deploys.go).
	Deploys Deploys
	// Alerts is alert intake; off without alerts.token.
	Alerts Alerts
}

// Slack configures the Slack app.
type Slack struct {
	// AppToken (xapp-…) opens the Socket Mode connection.
	AppToken Secret
	// BotToken (xoxb-…) calls the Web API.
	BotToken Secret
	// APIURL is the Web API base URL; it always ends with "/" after loading so
	// that method names can be appended.
	APIURL string
	// AnnounceChannel is the ID (C… or G…) of the channel where new incidents
	// are announced; `klaxon run` requires it.
	AnnounceChannel string
	// CommandName is the slash command, "/incident" by default.
	CommandName string
	// AppName is the app's display name in the generated manifest.
	AppName string
}

// The store drivers.
const (
	DriverBolt     = "bolt"     // the embedded bbolt file, one node (the default)
	DriverPostgres = "postgres" // PostgreSQL, for several replicas
)

// Store configures the database: the embedded bbolt file by default, or
// PostgreSQL.
type Store struct {
	// Driver is DriverBolt or DriverPostgres.
	Driver string
	// Path is the bbolt file (driver bolt).
	Path string
	// LockTimeout bounds the wait for the file lock, so that a second Klaxon
	// on the same file fails fast instead of hanging.
	LockTimeout time.Duration
	// DSN is the PostgreSQL connection string (driver postgres); a secret,
	// since it may hold a password.
	DSN Secret
	// LeaderLease is how long a replica's lease on the scheduler lasts
	// without renewal (driver postgres): the failover time after the leader
	// dies is at most LeaderLease plus a fifth of it.
	LeaderLease time.Duration
}

// DefaultLeaderLease gives a failover within 6 s (the issue asks for 10).
const DefaultLeaderLease = 5 * time.Second

// HTTP configures the /healthz, /readyz and /metrics listener.
type HTTP struct {
	// Listen is host:port, or "" when the listener is disabled ("off" in the
	// file is stored as "").
	Listen string
	// AdminToken guards the admin routes (GET /admin/backup); without it
	// they are off.
	AdminToken Secret
}

// Enabled reports whether the HTTP listener should run.
func (h HTTP) Enabled() bool { return h.Listen != "" }

// Log configures log/slog.
type Log struct {
	Level  string // debug, info, warn or error
	Format string // text or json
}

// SlogLevel maps Level onto slog's levels (info for anything unknown, which
// loading has already rejected).
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Declare configures declaring an incident.
type Declare struct {
	// DefaultSeverity applies when the declarer names none.
	DefaultSeverity playbook.Severity
}

// Triage configures the triage phase.
type Triage struct {
	// ScopeTimebox is the scope call's length: with no scope recorded this
	// long after the declaration, the commander (or the channel) is nudged.
	ScopeTimebox time.Duration
}

// Templates configures the text people read.
type Templates struct {
	// Dir, when set, is a directory whose files override the embedded
	// templates of the same name.
	Dir string
}

// Scheduler configures the calendar jobs.
type Scheduler struct {
	// Timezone is the zone the cron specs below are read in; never nil after
	// loading (time.UTC by default).
	Timezone *time.Location
	// TimezoneName is the IANA name Timezone was loaded from ("UTC",
	// "Europe/Paris"), for messages and logs.
	TimezoneName string
	// PostmortemReminders is a standard 5-field cron spec (or a descriptor
	// such as @daily) saying when the commanders of resolved incidents are
	// reminded of pending post-mortems. Loading has checked that
	// cron.ParseStandard accepts it and that it carries no TZ= prefix.
	PostmortemReminders string
}

// DefaultPostmortemReminders is daily at 09:00 in Scheduler.Timezone.
const DefaultPostmortemReminders = "0 9 * * *"

// DefaultGitHubAPIURL is GitHub's REST API base URL. GitHub Enterprise
// Server's is https://HOST/api/v3/.
const DefaultGitHubAPIURL = "https://api.github.com/"

// DefaultDeployEnvironment is the GitHub deployment environment read for a
// service that has a repo and names no environment.
const DefaultDeployEnvironment = "production"

// MaxArchiveDelay bounds close.archive_delay.
const MaxArchiveDelay = 30 * 24 * time.Hour

// GitHub configures the GitHub integration: deploys read for rollbacks,
// action items filed as issues, post-mortem outlines committed.
type GitHub struct {
	// Token is a personal access token or an installation token. Unset
	// means GitHub is off; loading has then checked that no repo is
	// configured (services[].repo, action_items_repo, postmortems.repo).
	Token Secret
	// APIURL is the REST API base URL; it always ends with "/" after
	// loading.
	APIURL string
	// ActionItemsRepo (owner/name, optional) receives the action items of
	// incidents whose service names no repo.
	ActionItemsRepo string
	Postmortems     Postmortems
	// Logins maps Slack user IDs (U…/W…) to GitHub logins, for assigning
	// action items. Nil when the file sets none.
	Logins map[string]string
	// WebhookSecret verifies POST /webhooks/github (X-Hub-Signature-256).
	// Unset: the route is off.
	WebhookSecret Secret
}

// Enabled reports whether GitHub is configured (has a token).
func (g GitHub) Enabled() bool { return g.Token.IsSet() }

// Login returns the GitHub login of a Slack user, if the file maps one.
func (g GitHub) Login(slackUserID string) (string, bool) {
	l, ok := g.Logins[slackUserID]
	return l, ok
}

// Postmortems configures where post-mortem outlines go on GitHub.
type Postmortems struct {
	// Repo (owner/name, optional) receives each outline; empty: outlines
	// are only uploaded to Slack.
	Repo string
	// Path is the directory in Repo, a relative slash path without "..",
	// "." or empty segments, and without a leading or trailing slash.
	Path string
	// As says how an outline is proposed: a pull request adding
	// Path/<file>.md, or an issue.
	As PostmortemAs
}

// PostmortemAs is how a post-mortem outline is proposed on GitHub.
type PostmortemAs string

// The values of github.postmortems.as.
const (
	PostmortemAsPullRequest PostmortemAs = "pull_request"
	PostmortemAsIssue       PostmortemAs = "issue"
)

// Remediation configures the remediation options offered in an incident.
type Remediation struct {
	// HotfixReviewURL (optional, absolute http(s)) documents the expedited
	// review process, linked when someone picks "hotfix".
	HotfixReviewURL string
}

// Close configures closing an incident.
type Close struct {
	// ArchiveDelay is how long after /incident close the channel is
	// archived: 0 (the default) archives at once; at most MaxArchiveDelay.
	ArchiveDelay time.Duration
}

// Default returns the configuration used when the file sets nothing. Callers
// own the result.
func Default() *Config {
	return &Config{
		Slack: Slack{
			APIURL:      DefaultAPIURL,
			CommandName: "/incident",
			AppName:     "Klaxon",
		},
		Store:      Store{Driver: DriverBolt, Path: "./klaxon.db", LockTimeout: 2 * time.Second, LeaderLease: DefaultLeaderLease},
		HTTP:       HTTP{Listen: "127.0.0.1:8080"},
		Log:        Log{Level: "info", Format: "text"},
		Declare:    Declare{DefaultSeverity: playbook.SEV3},
		Triage:     Triage{ScopeTimebox: 5 * time.Minute},
		Severities: playbook.DefaultTiers(),
		Digest:     Digest{Schedule: DefaultDigestSchedule, Timezone: time.UTC, TimezoneName: "UTC"},
		Scheduler: Scheduler{
			Timezone:            time.UTC,
			TimezoneName:        "UTC",
			PostmortemReminders: DefaultPostmortemReminders,
		},
		Deploys: defaultDeploys(),
		GitHub: GitHub{
			APIURL:      DefaultGitHubAPIURL,
			Postmortems: Postmortems{Path: "postmortems", As: PostmortemAsPullRequest},
		},
		PagerDuty:       PagerDuty{APIURL: DefaultPagerDutyAPIURL, EventsURL: DefaultPagerDutyEventsURL},
		EscalationRoles: map[string][]playbook.Target{},
	}
}

// Load reads and parses the file at path; relative paths inside it are
// resolved against the file's directory. getenv looks up ${VAR} references
// (nil means os.LookupEnv). A file that cannot be read is a plain wrapped
// error (errors.Is(err, fs.ErrNotExist) works); a file with problems is a
// *Problems listing all of them.
func Load(path string, getenv func(string) (string, bool)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, filepath.Dir(path), getenv)
}

// Parse parses a config file's content. baseDir is the directory relative
// paths in the file are resolved against (the _file twins, store.path,
// templates.dir); "" leaves them relative to the working directory. getenv
// looks up ${VAR} references (nil means os.LookupEnv). Parse reads the _file
// secrets and checks that templates.dir is a directory. It returns either a
// valid Config or a *Problems, never both.
func Parse(data []byte, baseDir string, getenv func(string) (string, bool)) (*Config, error) {
	return newDecoder(baseDir, getenv, osFiles{}).parse(data)
}

// Service returns the configured service called name, ignoring case (people
// type "Checkout" as often as "checkout").
func (c *Config) Service(name string) (playbook.Service, bool) {
	name = strings.TrimSpace(name)
	for _, s := range c.Services {
		if strings.EqualFold(s.Name, name) {
			// Clone so a caller appending to the list can't change the config.
			s.Stakeholders = slices.Clone(s.Stakeholders)
			return s, true
		}
	}
	return playbook.Service{}, false
}

// CheckRun reports what `klaxon run` needs beyond a valid file: both tokens,
// of the right kinds, and the announce channel. Other subcommands (manifest,
// check-config without --run) work without them, which is why Parse does not
// require them. The error, if any, is a *Problems.
func (c *Config) CheckRun() error {
	var ps []Problem
	checkToken(&ps, "slack.app_token", c.Slack.AppToken, "xapp-",
		"an app-level token with the connections:write scope (Basic Information → App-Level Tokens)")
	checkToken(&ps, "slack.bot_token", c.Slack.BotToken, "xoxb-",
		"the Bot User OAuth Token (OAuth & Permissions)")
	if c.Slack.AnnounceChannel == "" {
		ps = append(ps, Problem{Path: "slack.announce_channel",
			Msg: "required to run: the ID (C…) of the channel where new incidents are announced"})
	}
	// GitHub is optional, but a token that is set must be usable.
	if g := c.GitHub.Token; g.IsSet() {
		add := func(msg string) { ps = append(ps, Problem{Path: "github.token", Line: g.line, Msg: msg}) }
		v := g.Reveal()
		if strings.ContainsAny(v, " \t\r\n") {
			add("contains whitespace: check the environment variable or file for a stray space or line break")
		} else if k := slackTokenKind(v); k != "" {
			add("this is a Slack token (" + k + "), not a GitHub token: want a personal access token or an installation token")
		}
	}
	ps = append(ps, c.checkPaging()...)
	if len(ps) > 0 {
		return &Problems{List: ps}
	}
	return nil
}

// tokenKinds names Slack's token prefixes so that a swapped token gets a
// precise message. A prefix is not secret; the rest of the token is.
var tokenKinds = []struct{ prefix, kind string }{
	{"xapp-", "an app-level token"},
	{"xoxb-", "a bot token"},
	{"xoxp-", "a user token"},
	{"xoxe", "a refresh or configuration token"},
	{"xoxa-", "a workspace token"},
	{"xoxs-", "a session token"},
}

// slackTokenKind names the kind of Slack token v starts with, or "".
func slackTokenKind(v string) string {
	for _, k := range tokenKinds {
		if strings.HasPrefix(v, k.prefix) {
			return fmt.Sprintf("%s, %s…", k.kind, k.prefix)
		}
	}
	return ""
}

// githubTokenPrefixes are the prefixes of GitHub's token formats (personal
// access tokens classic and fine-grained, OAuth, user-to-server,
// installation and refresh tokens), so that such a token pasted where a
// value or a key goes is never echoed in a problem.
var githubTokenPrefixes = []string{"ghp_", "github_pat_", "gho_", "ghu_", "ghs_", "ghr_"}

func checkToken(ps *[]Problem, path string, s Secret, prefix, want string) {
	add := func(msg string) { *ps = append(*ps, Problem{Path: path, Line: s.line, Msg: msg}) }
	v := s.Reveal()
	switch {
	case v == "":
		add(fmt.Sprintf("required to run: set %s or %s_file to %s", path, path, want))
	case strings.ContainsAny(v, " \t\r\n"):
		add("contains whitespace: check the environment variable or file for a stray space or line break")
	case !strings.HasPrefix(v, prefix):
		for _, k := range tokenKinds {
			if strings.HasPrefix(v, k.prefix) {
				add(fmt.Sprintf("this is %s (%s…); want %s, which starts with %s", k.kind, k.prefix, want, prefix))
				return
			}
		}
		add(fmt.Sprintf("not a Slack token of the right kind: want %s, which starts with %s", want, prefix))
	}
}
