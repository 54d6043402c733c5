package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakegithub"
	"github.com/klaxonhq/klaxon/internal/fakeslack"
)

// TestWrapUpThroughBinary runs the wrap-up in the built binary, configured
// as an operator would (github.* pointing at the fake GitHub, the token from
// the environment): all-clear over open gates, an action item filed as an
// assigned issue, close with the outline uploaded and committed as a pull
// request, the channel archived; the GitHub token never logged.
func TestWrapUpThroughBinary(t *testing.T) {
	t.Parallel()
	gh := fakegithub.New()
	t.Cleanup(gh.Close)
	gh.AddRepo("acme/checkout", "main", "alice")
	gh.AddRepo("acme/postmortems", "main")
	f := newWorkspace(t, fakeslack.Options{})
	dir := t.TempDir()
	config := writeConfig(t, dir, f.URL(), "off")
	extra := `github:
  token: ${GITHUB_TOKEN}
  api_url: ` + gh.URL() + `
  logins: {U0PAY001: alice}
  postmortems:
    repo: acme/postmortems
`
	b, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), "    stakeholders: [U0PAY001]\n", "    stakeholders: [U0PAY001]\n    repo: acme/checkout\n", 1) + extra
	if err := os.WriteFile(config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startKlaxon(t, f, config)

	declare(t, f, "declare sev2 checkout Card payments failing", 1)
	ch, ok := f.Channel("inc-1-sev2-card-payments-failing")
	if !ok {
		t.Fatal("no incident channel")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	in := func(text string) {
		t.Helper()
		ack, err := f.SlashCommand(ctx, fakeslack.SlashCommand{Text: text, UserID: "U0DECL01", ChannelID: ch.ID})
		if err != nil || ack.Late {
			t.Fatalf("/incident %s: %v %+v", text, err, ack)
		}
	}
	waitMsg := func(what string, cond func(fakeslack.Message) bool) {
		t.Helper()
		if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
			for _, m := range s.Messages(ch.ID) {
				if cond(m) {
					return true
				}
			}
			return false
		}); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, p.Logs())
		}
	}
	has := func(s string) func(fakeslack.Message) bool {
		return func(m fakeslack.Message) bool { return strings.Contains(m.Text+string(m.Blocks), s) }
	}

	in("ic")
	in("resolve")
	waitMsg("gates posted", has("Verification gates"))
	in("resolve override errors back to baseline for 20 min; synthetics being rebuilt")
	waitMsg("resolved", has("is resolved"))
	due := time.Now().UTC().Add(72 * time.Hour).Format("2006-01-02")
	in("action Add a 5xx alert on checkout at 1% for 5 min <@U0PAY001|pay> due:" + due)
	waitMsg("action item filed", has("github.com/acme/checkout/issues/1"))
	issues := gh.Issues("acme/checkout")
	if len(issues) != 1 || len(issues[0].Assignees) != 1 || issues[0].Assignees[0] != "alice" || !strings.Contains(issues[0].Body, due) {
		t.Fatalf("issues: %+v", issues)
	}
	in("close Gateway pool exhaustion")
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
		c, _ := s.Channel(ch.ID)
		return c.Archived
	}); err != nil {
		t.Fatalf("channel not archived: %v\n%s", err, p.Logs())
	}
	files := f.Files()
	if len(files) != 1 || !strings.Contains(string(files[0].Content), "Card payments failing") || !strings.Contains(string(files[0].Content), "synthetics being rebuilt") {
		t.Fatalf("outline: %+v", files)
	}
	if pulls := gh.Pulls("acme/postmortems"); len(pulls) != 1 {
		t.Fatalf("post-mortem pull requests: %+v", pulls)
	}
	if logs := p.Logs(); strings.Contains(logs, fakegithub.Token) {
		t.Fatal("the GitHub token is in the logs")
	}
}
