// Package demo is `klaxon demo`: a scripted SEV1 played by the real bot
// against the in-repo fakes of Slack, GitHub and PagerDuty on 127.0.0.1, a transcript
// of what people would have seen in Slack, and the local playground page
// (`klaxon demo --play`) where a person types commands and clicks buttons
// that go through Socket Mode to the bot.
//
// The package never wires the bot: cmd/klaxon does, from the config this
// package writes, so the demo runs exactly what `klaxon run` runs.
package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakegithub"
	"github.com/klaxonhq/klaxon/internal/fakepagerduty"
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

// People are the workspace's members, in the order the playground lists
// them. Each has the same e-mail address in Slack and, for those with a
// PagerDuty user (PD), in PagerDuty: Klaxon finds the people PagerDuty
// names in Slack by e-mail, as it does in a real workspace.
var People = []struct{ ID, Name, Role, Email, PD string }{
	{Dana, "Dana Whitfield", "on-call SRE", "dana@acme.example", DanaPD},
	{Alex, "Alex Moreno", "engineering manager", "alex@acme.example", ""},
	{Priya, "Priya Raman", "payments engineer, owns checkout, on call for it in PagerDuty", "priya@acme.example", PriyaPD},
	{Sam, "Sam Okafor", "support lead", "sam@acme.example", ""},
	{Jo, "Jo Tanaka", "you, trying Klaxon", "jo@acme.example", ""},
}

// The demo's PagerDuty: checkout's service, escalating along its policy to
// the schedule Priya is on call on, then to Dana's.
const (
	PriyaPD   = "PU0PRIYA1"
	DanaPD    = "PU0DANA01"
	PDService = "PSVC0CHK1"
	PDPolicy  = "PE0CHKOUT"
	// PDWebhookSecret signs the v3 webhooks the fake PagerDuty sends to
	// Klaxon's /webhooks/pagerduty (pagerduty.webhook_secret).
	PDWebhookSecret = "demo-pagerduty-webhook-secret"
	pdFrom          = "klaxon@acme.example" // pagerduty.from
)

// Channel IDs of the seeded channels.
const (
	AnnounceChannel = "C0INCIDENTS"
	OpsChannel      = "C0OPS00001"
	AlertsChannel   = "C0ALERTS01" // alerts.triage_channel: Klaxon's offers to declare
)

// AlertsToken is the bearer token the demo's Alertmanager sends.
const AlertsToken = "demo-alertmanager-token"

// Workspace is a running fake Slack, fake GitHub and fake PagerDuty seeded
// for the demo.
type Workspace struct {
	Slack     *fakeslack.Server
	GitHub    *fakegithub.Server
	PagerDuty *fakepagerduty.Server
	Clock     *Clock
	// Dir holds the config and the store; the caller removes it (or keeps
	// it with --keep).
	Dir string
	// HTTP is the listener the bot serves its HTTP routes on (the
	// Alertmanager and PagerDuty webhooks), opened by WriteConfig; HTTPAddr
	// is its address, the config's http.listen.
	HTTP     net.Listener
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
	pd := fakepagerduty.New()
	pd.SetClock(clock.Now)
	pd.AddUser("PU0KLAXON", "Klaxon", pdFrom)
	for _, p := range People {
		f.AddUser(p.ID, p.Name)
		f.SetUserEmail(p.ID, p.Email)
		if p.PD != "" {
			pd.AddUser(p.PD, p.Name, p.Email)
		}
	}
	pd.AddSchedule("PS0CHKOUT", "Checkout primary", PriyaPD)
	pd.AddSchedule("PS0SRE001", "SRE secondary", DanaPD)
	pd.AddPolicy(PDPolicy, "Checkout", []string{"PS0CHKOUT"}, []string{"PS0SRE001"})
	pd.AddService(PDService, "Checkout", PDPolicy)
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
	return &Workspace{Slack: f, GitHub: gh, PagerDuty: pd, Clock: clock, Dir: dir}
}

// Close stops the fakes.
func (w *Workspace) Close() {
	w.Slack.Close()
	w.GitHub.Close()
	w.PagerDuty.Close()
	if w.HTTP != nil {
		w.HTTP.Close() // closed already when the bot served on it
	}
}

// StorePath is where the demo's bbolt store lives.
func (w *Workspace) StorePath() string { return filepath.Join(w.Dir, "klaxon.db") }

// WriteConfig writes the klaxon.yaml the bot is started from: an ordinary
// config, pointing at the fakes, that `klaxon check-config` accepts. It
// also opens the bot's HTTP listener (HTTP) on a free port of 127.0.0.1,
// named in http.listen: the bot serves on this listener, so no other
// process can take the port between its choice and its use.
func (w *Workspace) WriteConfig() (string, error) {
	if w.HTTP == nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		w.HTTP, w.HTTPAddr = ln, ln.Addr().String()
	}
	cfg := fmt.Sprintf(`# Written by klaxon demo: the fakes on 127.0.0.1 stand in for Slack, GitHub and PagerDuty.
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
    pagerduty: {service: %s, escalation_policy: %s}
  - name: search
    runbook: https://runbooks.example.com/search
github:
  token: %s
  api_url: %s
  logins: {%s: priya}
  postmortems:
    repo: acme/postmortems
pagerduty:
  token: %s
  api_url: %s
  events_url: %s
  from: %s
  webhook_secret: %s
remediation:
  hotfix_review_url: https://wiki.example.com/engineering/hotfix-review
`, fakeslack.DefaultAppToken, fakeslack.DefaultBotToken, w.Slack.URL(), AnnounceChannel,
		w.HTTPAddr, AlertsToken, AlertsChannel, Dana, Priya, PDService, PDPolicy,
		fakegithub.Token, w.GitHub.URL(), Priya,
		fakepagerduty.Token, w.PagerDuty.URL(), w.PagerDuty.EventsURL(), pdFrom, PDWebhookSecret)
	path := filepath.Join(w.Dir, "klaxon.yaml")
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

// AcknowledgePage acknowledges PagerDuty incident id (the newest one
// still triggered when id is "") as the PagerDuty user pdUser (its first
// assignee when ""), as the on-call would in the PagerDuty app, and sends
// PagerDuty's v3 webhook (incident.acknowledged, signed with the webhook
// secret) to Klaxon's /webhooks/pagerduty.
func (w *Workspace) AcknowledgePage(id, pdUser string) error {
	incs := w.PagerDuty.Incidents()
	for i := len(incs) - 1; i >= 0; i-- {
		inc := incs[i]
		if (id == "" && inc.Status != "triggered") || (id != "" && inc.ID != id) {
			continue
		}
		if inc.Status != "triggered" {
			return fmt.Errorf("PagerDuty incident %s is %s", inc.ID, inc.Status)
		}
		if pdUser == "" && len(inc.Assignees) > 0 {
			pdUser = inc.Assignees[0]
		}
		ev, err := w.PagerDuty.Acknowledge(inc.ID, pdUser)
		if err != nil {
			return err
		}
		code, err := fakepagerduty.Send("http://"+w.HTTPAddr+"/webhooks/pagerduty", ev, PDWebhookSecret)
		if err != nil {
			return fmt.Errorf("PagerDuty's webhook: %w", err)
		}
		if code/100 != 2 {
			return fmt.Errorf("PagerDuty's webhook: Klaxon answered %d", code)
		}
		return nil
	}
	if id != "" {
		return fmt.Errorf("no PagerDuty incident %s", id)
	}
	return errors.New("no PagerDuty incident is waiting for an acknowledgement")
}

// poll waits until cond holds, reading it every few milliseconds: for
// state with no change feed (the fake PagerDuty, Klaxon's timeline).
func poll(ctx context.Context, what string, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// PDPersonName is the name of a PagerDuty user of the demo (the ID when
// unknown).
func PDPersonName(pdUser string) string {
	for _, p := range People {
		if p.PD != "" && p.PD == pdUser {
			return p.Name
		}
	}
	return pdUser
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
