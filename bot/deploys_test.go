package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/github"
	"github.com/klaxonhq/klaxon/internal/fakegithub"
	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

// TestDeploysPostWithinBlockKitLimits posts the deploys message of 20
// deploys with 50 pull requests each (long titles, hostile text) through the
// real adapter to the fake Slack, which refuses blocks over Block Kit's
// limits; then edits it in place.
func TestDeploysPostWithinBlockKitLimits(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	f.AddChannel("C0INC0001", "inc-1-sev1-x", fakeslack.BotUserID)
	api := bot.NewPacedClient(fakeslack.DefaultBotToken, fakeslack.DefaultAppToken, f.URL(), bot.Pace{Clock: paceClock(f)})
	ad := &bot.Adapter{API: api, Templates: templates.MustDefault(), AnnounceChannel: announce, Clock: playbook.ClockFunc(time.Now)}
	now := time.Now().UTC()
	var recs []playbook.DeployRecord
	for i := range 25 {
		d := playbook.DeployRecord{Repo: "acme/api", RepoURL: "https://github.com/acme/api", Detailed: true,
			Deploy: playbook.Deploy{ID: int64(i + 1), SHA: fmt.Sprintf("%040x", i+1), Ref: strings.Repeat("r", 300), Creator: "<!channel>",
				Environment: "production", State: "success", At: now.Add(-time.Duration(i+1) * 4 * time.Minute), URL: "https://example.com/d"},
			Flags: []playbook.RiskFlag{playbook.FlagMigration, playbook.FlagLargeDiff, playbook.FlagNoApproval}}
		for j := range 50 {
			d.PRs = append(d.PRs, playbook.PullRequest{Number: 1000 + j, Title: strings.Repeat("a very long title <@U1> ", 20), Author: "bob",
				URL: "https://github.com/acme/api/pull/1", Files: 100, FilesMore: true, Additions: 5000, Risky: []string{strings.Repeat("db/migrate/", 30) + "x.sql"}})
		}
		recs = append(recs, d)
	}
	rep := playbook.DeployReport{Services: []playbook.Service{{Name: "api", Repo: "acme/api"}}, From: now.Add(-2 * time.Hour), Detected: now, Until: now,
		Ranked:  playbook.RankDeploys(recs, now.Add(-2*time.Hour), now, now, nil),
		Windows: []playbook.HeightenedWindow{{Service: "api", Deploy: recs[0], Until: now.Add(time.Minute)}}}
	b := playbook.Briefing{Incident: playbook.Incident{Number: 1, Channel: playbook.ChannelRef{ID: "C0INC0001"}}}
	m, err := ad.PostDeploys(context.Background(), b, rep, playbook.MessageRef{})
	if err != nil {
		t.Fatalf("Slack refused the deploys message: %v", err)
	}
	blocks := bot.DeployBlocks(templates.MustDefault(), rep, 1, nil)
	if len(blocks) > 50 {
		t.Fatalf("%d blocks", len(blocks))
	}
	msg := f.Messages("C0INC0001")[0]
	text := blocksText(msg)
	for _, want := range []string{"Most likely", "Roll back to", "and 5 older or less likely deploys not shown", "more pull requests", "Watch window open for api"} {
		if !strings.Contains(text, want) {
			t.Errorf("message lacks %q", want)
		}
	}
	if strings.Contains(string(msg.Blocks), "<!channel>") || strings.Contains(string(msg.Blocks), "<@U1>") {
		t.Error("a creator or title became a live mention")
	}
	rep.Confirmed, rep.ConfirmedBy = true, "U0PAY001"
	if _, err := ad.PostDeploys(context.Background(), b, rep, m); err != nil {
		t.Fatalf("edit refused: %v", err)
	}
	if got := f.Messages("C0INC0001"); len(got) != 1 || !strings.Contains(blocksText(got[0]), "Confirmed cause") {
		t.Fatalf("edit: %d messages", len(got))
	}
}

func deploysKlaxon(t *testing.T, f *fakeslack.Server) (*klaxon, *fakegithub.Server) {
	t.Helper()
	gh := fakegithub.New()
	t.Cleanup(gh.Close)
	gh.AddRepo("acme/checkout", "main")
	client, err := github.New(github.Options{APIURL: gh.URL(), Token: fakegithub.Token})
	if err != nil {
		t.Fatal(err)
	}
	k := start(t, f, filepath.Join(t.TempDir(), "k.db"), func(app *playbook.Deps, ad *bot.Adapter) {
		app.Services = []playbook.Service{{Name: "checkout", Repo: "acme/checkout"}, {Name: "search"}}
		app.Deploys, app.DeployLookup, app.DeployPoster = client, client, ad
		app.DeployLog = app.Store.(playbook.DeployLog)
	})
	return k, gh
}

// TestDeploysGitHubDownThenRetryAndVerdicts: GitHub answers 5xx at the
// declaration: the declaration completes, the channel says the lookup
// failed with a Retry button; Retry posts the deploys (item checked);
// "Not this one" moves the suspect; "This is the cause" confirms one.
func TestDeploysGitHubDownThenRetryAndVerdicts(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	k, gh := deploysKlaxon(t, f)
	now := time.Now().UTC()
	gh.AddDeploy("acme/checkout", "production", fmt.Sprintf("%040x", 1), "v1", "alice", now.Add(-5*time.Hour), "success")
	gh.AddDeploy("acme/checkout", "production", fmt.Sprintf("%040x", 2), "v2", "alice", now.Add(-60*time.Minute), "success")
	gh.AddDeploy("acme/checkout", "production", fmt.Sprintf("%040x", 3), "v3", "bob", now.Add(-10*time.Minute), "success")
	gh.Fail("GET", "/repos/acme/checkout/deployments", fakegithub.Fault{Status: 503})

	slash(t, f, "declare sev1 checkout Checkout down")
	waitReady(t, f, 1)
	k.bot.Wait()
	inc, _ := k.db.Get(context.Background(), 1)
	if !inc.Ready() {
		t.Fatalf("declaration incomplete with GitHub down: %+v", inc.Setup)
	}
	ch := inc.Channel.ID
	fail := findMessage(t, f, ch, "could not read the recent deploys")
	if _, ok := inc.Checked[playbook.ItemDeploys]; ok {
		t.Fatal("deploys item checked although the lookup failed")
	}
	clickAndWait(t, k, f, declarer, ch, fail.TS, "klaxon_retry_deploys", "deploys_failure_actions", "1")
	msg := findMessage(t, f, ch, "Deploys before incident #1")
	if !strings.Contains(blocksText(msg), "Most likely") {
		t.Fatalf("deploys message:\n%s", blocksText(msg))
	}
	inc, _ = k.db.Get(context.Background(), 1)
	if _, ok := inc.Checked[playbook.ItemDeploys]; !ok || inc.Deploys.Suspect == nil || inc.Deploys.Suspect.Ref != "v3" {
		t.Fatalf("after retry: %+v", inc.Deploys)
	}
	key3 := playbook.DeployKey("acme/checkout", inc.Deploys.Suspect.ID)
	clickAndWait(t, k, f, declarer, ch, msg.TS, "klaxon_deploy_not", "deploy_actions_0", "1:"+key3)
	inc, _ = k.db.Get(context.Background(), 1)
	if inc.Deploys.Suspect == nil || inc.Deploys.Suspect.Ref != "v2" {
		t.Fatalf("after Not this one: %+v", inc.Deploys.Suspect)
	}
	clickAndWait(t, k, f, declarer, ch, msg.TS, "klaxon_deploy_cause", "deploy_actions_0", "1:"+key3)
	inc, _ = k.db.Get(context.Background(), 1)
	if !inc.Deploys.Confirmed || inc.Deploys.Suspect.Ref != "v3" {
		t.Fatalf("after This is the cause: %+v", inc.Deploys)
	}
	if got := blocksText(findMessage(t, f, ch, "Deploys before incident #1")); !strings.Contains(got, "Confirmed cause") {
		t.Fatalf("message not re-rendered:\n%s", got)
	}
	findMessage(t, f, ch, "linked deploy")
	// The rollback names the same deploy.
	cmdIn(t, k, f, declarer, ch, "remediate rollback")
	if g := blocksText(findMessage(t, f, ch, "chose *Roll back*")); !strings.Contains(g, "Cause deploy") || !strings.Contains(g, "(v3)") {
		t.Fatalf("rollback guidance:\n%s", g)
	}
}

// TestDeploysRateLimitedAtDeclaration: GitHub's primary rate limit on the
// lookup (403 with X-RateLimit-Remaining: 0): the declaration completes,
// and the channel says the limit was reached and when it resets, with a
// Retry button; the checklist item stays unchecked.
func TestDeploysRateLimitedAtDeclaration(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	k, gh := deploysKlaxon(t, f)
	gh.AddDeploy("acme/checkout", "production", fmt.Sprintf("%040x", 3), "v3", "bob", time.Now().Add(-10*time.Minute), "success")
	gh.Fail("GET", "/repos/acme/checkout/deployments", fakegithub.Fault{RateLimited: true, RetryAfter: 600})

	slash(t, f, "declare sev1 checkout Checkout down")
	waitReady(t, f, 1)
	k.bot.Wait()
	inc, _ := k.db.Get(context.Background(), 1)
	if !inc.Ready() {
		t.Fatalf("declaration incomplete with GitHub rate-limited: %+v", inc.Setup)
	}
	fail := findMessage(t, f, inc.Channel.ID, "could not read the recent deploys")
	if text := blocksText(fail); !strings.Contains(text, "rate limit reached") || !strings.Contains(text, "resets at") {
		t.Errorf("failure message does not say the limit and its reset:\n%s", text)
	}
	if !strings.Contains(string(fail.Blocks), `"action_id":"klaxon_retry_deploys"`) {
		t.Errorf("no Retry button: %s", fail.Blocks)
	}
	if _, ok := inc.Checked[playbook.ItemDeploys]; ok {
		t.Error("deploys item checked although the lookup was refused")
	}
}

// TestAppHomeShowsOpenWatchWindows: the App Home (views.publish) lists the
// deploy watch windows open now: service, deploy, until when; a window that
// has closed is not shown.
func TestAppHomeShowsOpenWatchWindows(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	k, _ := deploysKlaxon(t, f)
	now := time.Now().UTC()
	ev := func(id int64, sha, ref string, at time.Time) playbook.DeployEvent {
		return playbook.DeployEvent{Repo: "acme/checkout", RepoURL: "https://github.com/acme/checkout", StatusAt: at,
			Deploy: playbook.Deploy{ID: id, SHA: sha, Ref: ref, Environment: "production", Creator: "alice <!here>", State: "success", At: at,
				URL: "https://ci.example.com/run/" + ref}}
	}
	// Its window (5 minutes) closed 5 minutes ago.
	if _, _, err := k.app.RecordDeploy(ctxT(t), "delivery-1", ev(1, "0123456789abcdef0123456789abcdef01234567", "v1", now.Add(-10*time.Minute))); err != nil {
		t.Fatal(err)
	}
	openHome(t, f, declarer)
	k.bot.Wait()
	if text := blocksText(fakeslack.Message{Blocks: f.Views()[0].Blocks}); strings.Contains(text, "watch window") {
		t.Fatalf("a closed window on the Home tab:\n%s", text)
	}
	if _, _, err := k.app.RecordDeploy(ctxT(t), "delivery-2", ev(2, "5eed5eed0123456789abcdef0123456789abcdef", "v2", now.Add(-time.Minute))); err != nil {
		t.Fatal(err)
	}
	openHome(t, f, declarer)
	k.bot.Wait()
	views := f.Views() // one Home view per person, published again
	if len(views) != 1 || views[0].Type != "home" || views[0].User != declarer || len(f.CallsTo("views.publish")) != 2 {
		t.Fatalf("%d views, %d views.publish calls", len(views), len(f.CallsTo("views.publish")))
	}
	text := blocksText(fakeslack.Message{Blocks: views[0].Blocks})
	until := now.Add(-time.Minute).Add(playbook.DefaultWatchWindow)
	for _, want := range []string{"Deploy watch windows open: 1", "*checkout*", "`5eed5ee`", "(v2)", "`acme/checkout`",
		fmt.Sprintf("until <!date^%d^", until.Unix()), "https://ci.example.com/run/v2"} {
		if !strings.Contains(text, want) {
			t.Errorf("Home lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "0123456") || strings.Contains(text, "<!here>") {
		t.Errorf("Home shows the closed window's deploy, or a live mention:\n%s", text)
	}
	// The windows sit with the open incidents, before the figures.
	if strings.Index(text, "watch windows") > strings.Index(text, "The last 12 weeks") {
		t.Errorf("windows after the figures:\n%s", text)
	}
}

// TestDeploysCommand: /incident deploys outside an incident answers only
// the person; a bad window is refused with an example.
func TestDeploysCommand(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	_, gh := deploysKlaxon(t, f)
	gh.AddDeploy("acme/checkout", "production", fmt.Sprintf("%040x", 7), "v7", "alice", time.Now().Add(-3*time.Hour), "success")
	if ack := slash(t, f, "deploys checkout fortnight"); !strings.Contains(ackText(t, ack), "neither a service nor a window") {
		t.Fatalf("bad window: %s", ackText(t, ack))
	}
	if ack := slash(t, f, "deploys search"); !strings.Contains(ackText(t, ack), "Reading") {
		t.Fatalf("ack %s", ackText(t, ack))
	}
	slash(t, f, "deploys checkout 4h")
	if err := f.WaitFor(ctxT(t), func(s *fakeslack.Snapshot) bool {
		for _, p := range s.ResponseURLPosts() {
			if strings.Contains(string(p.Blocks), "v7") && p.ResponseType == "ephemeral" {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("no ephemeral deploys answer: %v", err)
	}
	if n := len(f.Messages(general)); n != 0 {
		t.Fatalf("%d messages posted in #general", n)
	}
}

func TestParseDeploysArgs(t *testing.T) {
	t.Parallel()
	isSvc := func(w string) bool { return w == "checkout" }
	for in, want := range map[string]string{
		"":               " 0s",
		"checkout":       "checkout 0s",
		"4h checkout":    "checkout 4h0m0s",
		"checkout 3d":    "checkout 72h0m0s",
		"90m":            " 1h30m0s",
		"checkout 45d":   "error",
		"payments":       "error",
		"checkout 0h":    "error",
		"2h 3h":          "error",
		"checkout -1h":   "error",
		"checkout 1h 1h": "error",
	} {
		s, w, err := bot.ParseDeploysArgs(in, isSvc)
		got := s + " " + w.String()
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("ParseDeploysArgs(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDeployBlocksSpeakTheOperatorsWords: an operator's deploys.tmpl that
// redefines two defines changes those words in the deploys message and
// leaves the others to the built-in file.
func TestDeployBlocksSpeakTheOperatorsWords(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	override := `{{define "deploys.title"}}Déploiements avant l'incident #{{.Incident}}{{end}}` +
		`{{define "deploys.none"}}Aucun déploiement dans cette fenêtre.{{end}}`
	if err := os.WriteFile(filepath.Join(dir, "deploys.tmpl"), []byte(override), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := templates.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	rep := playbook.DeployReport{Services: []playbook.Service{{Name: "api", Repo: "acme/api"}}, From: now.Add(-2 * time.Hour), Detected: now}
	blocks := bot.DeployBlocks(set, rep, 7, nil)
	b, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{"Déploiements avant l'incident #7", "Aucun déploiement dans cette fenêtre.", "Deploys of api (`acme/api` to production)", "(2 hours before detection)"} {
		if !strings.Contains(text, want) {
			t.Errorf("deploys message lacks %q:\n%s", want, text)
		}
	}
}
