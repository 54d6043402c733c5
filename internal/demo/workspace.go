// Package demo is `klaxon demo`: a scripted SEV1 played by the real bot
// against the in-repo fakes of Slack and GitHub on 127.0.0.1, a transcript
// of what people would have seen in Slack, and the local playground page
// (`klaxon demo --play`) where a person types commands and clicks buttons
// that go through Socket Mode to the bot.
//
// The package never wires the bot: cmd/klaxon does, from the config this
// package writes, so the demo runs exactly what `klaxon run` runs.
package demo

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakegithub"
	"github.com/klaxonhq/klaxon/internal/fakeslack"
)

// Start is when the demo incident begins, in demo time: a fixed moment so
// that every run prints the same times.
var Start = time.Date(2026, time.March, 10, 14, 0, 0, 0, time.UTC)

// The demo workspace's people.
const (
	Dana  = "U0DANA001" // on-call SRE: declares
	Alex  = "U0ALEX001" // engineering manager: incident commander
	Priya = "U0PRIYA01" // payments engineer: checkout's owner
	Sam   = "U0SAM0001" // support lead: SEV1 stakeholder
	Jo    = "U0JO00001" // the person at the playground's keyboard
)

// People are the workspace's members, in the order the playground lists them.
var People = []struct{ ID, Name, Role string }{
	{Dana, "Dana Whitfield", "on-call SRE"},
	{Alex, "Alex Moreno", "engineering manager"},
	{Priya, "Priya Raman", "payments engineer, owns checkout"},
	{Sam, "Sam Okafor", "support lead"},
	{Jo, "Jo Tanaka", "you, trying Klaxon"},
}

// Channel IDs of the seeded channels.
const (
	AnnounceChannel = "C0INCIDENTS"
	OpsChannel      = "C0OPS00001"
	AlertsChannel   = "C0ALERTS01" // alerts.triage_channel: Klaxon's offers to declare
)

// AlertsToken is the bearer token the demo's Alertmanager sends.
const AlertsToken = "demo-alertmanager-token"

// Workspace is a running fake Slack and fake GitHub seeded for the demo.
type Workspace struct {
	Slack  *fakeslack.Server
	GitHub *fakegithub.Server
	Clock  *Clock
	// Dir holds the config and the store; the caller removes it (or keeps
	// it with --keep).
	Dir string
	// HTTPAddr is the bot's http.listen (its Alertmanager webhook), set by
	// WriteConfig.
	HTTPAddr string
}

// NewWorkspace starts the fakes on 127.0.0.1 with the demo's people,
// channels, repositories and recent deploys of checkout: a good one three
// hours ago and the suspect 25 minutes before the incident. live is for
// the playground: a clock that runs in real time and Slack's rate limits
// on; without it the clock moves only when jumped and the limits are off
// (see Clock). logf receives the fakes' debug lines (nil drops them).
func NewWorkspace(dir string, live bool, logf func(string, ...any)) *Workspace {
	clock := NewClock(Start, live)
	f := fakeslack.New(fakeslack.Options{Clock: clock.Now, Logf: logf, DisableRateLimits: !live})
	for _, p := range People {
		f.AddUser(p.ID, p.Name)
	}
	f.AddChannel(OpsChannel, "ops", Dana, Alex, Priya, Sam, Jo)
	f.AddChannel(AlertsChannel, "alerts", fakeslack.BotUserID, Dana, Alex, Priya, Sam, Jo)
	f.AddChannel(AnnounceChannel, "incidents", fakeslack.BotUserID, Dana, Alex, Priya, Sam, Jo)
	f.AddUserGroup("S0SUPPORT1", "support-leads", Sam)

	gh := fakegithub.New()
	gh.AddRepo("acme/checkout", "main", "priya")
	gh.AddRepo("acme/postmortems", "main")
	gh.AddDeploy("acme/checkout", "production", "9fceb02d0ae598e95dc970b74767f19372d61af8", "v2.41.0", "priya", Start.Add(-3*time.Hour), "in_progress", "success")
	gh.AddDeploy("acme/checkout", "production", "4b825dc642cb6eb9a060e54bf8d69288fbee4904", "v2.42.0", "priya", Start.Add(-25*time.Minute), "in_progress", "success")
	// What v2.42.0 shipped: a migration merged without an approving review.
	gh.AddMergedPull("acme/checkout", fakegithub.MergedPull{
		Title: "Charge cards through the new payments-api client", Author: "jo",
		Commits: []string{"4b825dc642cb6eb9a060e54bf8d69288fbee4904"}, MergedAt: Start.Add(-40 * time.Minute),
		Files:   []fakegithub.PullFile{{Path: "payments/client.go", Additions: 180, Deletions: 95}, {Path: "db/migrate/20261127_add_charge_idempotency.sql", Additions: 12}},
		Reviews: []fakegithub.Review{{User: "priya", State: "COMMENTED"}},
	})
	return &Workspace{Slack: f, GitHub: gh, Clock: clock, Dir: dir}
}

// Close stops the fakes.
func (w *Workspace) Close() {
	w.Slack.Close()
	w.GitHub.Close()
}

// StorePath is where the demo's bbolt store lives.
func (w *Workspace) StorePath() string { return filepath.Join(w.Dir, "klaxon.db") }

// WriteConfig writes the klaxon.yaml the bot is started from: an ordinary
// config, pointing at the fakes, that `klaxon check-config` accepts.
func (w *Workspace) WriteConfig() (string, error) {
	// A free port for the bot's HTTP server, where the script's
	// Alertmanager posts.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	w.HTTPAddr = ln.Addr().String()
	ln.Close()
	cfg := fmt.Sprintf(`# Written by klaxon demo: the fakes on 127.0.0.1 stand in for Slack and GitHub.
slack:
  app_token: %s
  bot_token: %s
  api_url: %s
  announce_channel: %s
store:
  path: klaxon.db
http:
  listen: %s
alerts:
  token: %s
  triage_channel: %s
log:
  level: warn
severities:
  SEV1:
    stakeholders: [S0SUPPORT1]
responders: [%s]
services:
  - name: checkout
    runbook: https://runbooks.example.com/checkout
    stakeholders: [%s]
    repo: acme/checkout
    flag_url: https://flags.example.com/projects/checkout
    cutover_url: https://traffic.example.com/services/checkout
  - name: search
    runbook: https://runbooks.example.com/search
github:
  token: %s
  api_url: %s
  logins: {%s: priya}
  postmortems:
    repo: acme/postmortems
remediation:
  hotfix_review_url: https://wiki.example.com/engineering/hotfix-review
`, fakeslack.DefaultAppToken, fakeslack.DefaultBotToken, w.Slack.URL(), AnnounceChannel,
		w.HTTPAddr, AlertsToken, AlertsChannel, Dana, Priya, fakegithub.Token, w.GitHub.URL(), Priya)
	path := filepath.Join(w.Dir, "klaxon.yaml")
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

// Names resolves the workspace's user and channel IDs.
func (w *Workspace) Names() Names {
	users := map[string]string{fakeslack.BotUserID: "Klaxon", "USLACKBOT": "Slackbot"}
	for _, p := range People {
		users[p.ID] = p.Name
	}
	return Names{
		User: func(id string) string { return users[id] },
		Channel: func(id string) string {
			if c, ok := w.Slack.Channel(id); ok {
				return c.Name
			}
			return ""
		},
	}
}

// PersonName is a person's name, or the ID when unknown.
func PersonName(id string) string {
	for _, p := range People {
		if p.ID == id {
			return p.Name
		}
	}
	if id == fakeslack.BotUserID {
		return "Klaxon"
	}
	return id
}

// ChannelIDs lists the workspace's channels in creation order, the bot's DMs
// last, sorted by person.
func (w *Workspace) ChannelIDs() []string {
	var ids []string
	for _, c := range w.Slack.Channels() {
		ids = append(ids, c.ID)
	}
	var dms []string
	for _, p := range People {
		if len(w.Slack.Messages(p.ID)) > 0 {
			dms = append(dms, p.ID)
		}
	}
	sort.Strings(dms)
	return append(ids, dms...)
}

func isDM(id string) bool { return strings.HasPrefix(id, "U") }
