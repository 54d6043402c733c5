package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakegithub"
	"github.com/klaxonhq/klaxon/internal/fakeslack"
)

// TestTemplateOverridesThroughBinary: an operator's templates.dir reaches
// every kind of words, end to end in the built binary. One template of each
// kind is overridden: a Slack text Klaxon writes (the intro), a notice the
// domain decides (a new commander, one define of notice.tmpl), an error
// answer (one define of errors.tmpl), a GitHub issue body (the action
// item's), a catalogue's label (one checklist item of labels.tmpl) and the
// post-mortem outline; each override is seen where people
// read it, and the words not overridden stay the built-in ones.
func TestTemplateOverridesThroughBinary(t *testing.T) {
	t.Parallel()
	gh := fakegithub.New()
	t.Cleanup(gh.Close)
	gh.AddRepo("acme/checkout", "main", "alice")
	f := newWorkspace(t, fakeslack.Options{})
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "templates")
	overrides := map[string]string{
		"intro.tmpl":         `OVERRIDDEN-INTRO {{esc .Incident.Title}}`,
		"notice.tmpl":        `{{define "notice.commander"}}OVERRIDDEN-NOTICE {{user .User}} leads{{end}}`,
		"errors.tmpl":        `{{define "error.not_a_severity"}}OVERRIDDEN-ERROR {{.Args.Input}}{{end}}{{define "error.severity_needed"}}OVERRIDDEN-ERROR{{end}}`,
		"ticket.md.tmpl":     `OVERRIDDEN-TICKET item {{.Item.ID}}: {{md .Item.Text}}`,
		"postmortem.md.tmpl": `OVERRIDDEN-OUTLINE incident #{{.Number}}`,
		"labels.tmpl":        `{{define "label.checklist.scope"}}OVERRIDDEN-LABEL scope agreed{{end}}`,
	}
	if err := os.Mkdir(tmpl, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, body := range overrides {
		if err := os.WriteFile(filepath.Join(tmpl, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	config := writeConfig(t, dir, f.URL(), "off")
	b, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), "    stakeholders: [U0PAY001]\n", "    stakeholders: [U0PAY001]\n    repo: acme/checkout\n", 1) +
		"github:\n  token: ${GITHUB_TOKEN}\n  api_url: " + gh.URL() + "\ntemplates:\n  dir: " + tmpl + "\n"
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
	in := func(text string) fakeslack.Ack {
		t.Helper()
		ack, err := f.SlashCommand(ctx, fakeslack.SlashCommand{Text: text, UserID: "U0DECL01", ChannelID: ch.ID})
		if err != nil || ack.Late {
			t.Fatalf("/incident %s: %v %+v", text, err, ack)
		}
		return ack
	}
	waitMsg := func(what, s string) {
		t.Helper()
		if err := f.WaitFor(ctx, func(snap *fakeslack.Snapshot) bool {
			for _, m := range snap.Messages(ch.ID) {
				if strings.Contains(m.Text+string(m.Blocks), s) {
					return true
				}
			}
			return false
		}); err != nil {
			t.Fatalf("%s: no message with %q: %v\n%s", what, s, err, p.Logs())
		}
	}

	waitMsg("the intro", "OVERRIDDEN-INTRO Card payments failing")
	waitMsg("the checklist's overridden item", "OVERRIDDEN-LABEL scope agreed")
	waitMsg("the checklist's other items", "Runbook link posted in the channel")
	in("ic")
	waitMsg("the commander notice", "OVERRIDDEN-NOTICE <@U0DECL01> leads")
	if ack := in("sev 9"); !strings.Contains(string(ack.Payload), "OVERRIDDEN-ERROR") {
		t.Errorf("the refused severity was answered %s, not with the override", ack.Payload)
	}
	in("resolve override errors back to baseline for 20 min")
	// Not overridden: the built-in words of the same file's other defines.
	waitMsg("a built-in notice", "is resolved")
	due := time.Now().UTC().Add(72 * time.Hour).Format("2006-01-02")
	in("action Add a 5xx alert on checkout at 1% for 5 min <@U0PAY001|pay> due:" + due)
	waitMsg("action item filed", "github.com/acme/checkout/issues/1")
	if issues := gh.Issues("acme/checkout"); len(issues) != 1 || !strings.HasPrefix(issues[0].Body, "OVERRIDDEN-TICKET item 1: Add a 5xx alert") {
		t.Fatalf("issue bodies: %+v", issues)
	}
	in("close Gateway pool exhaustion")
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool { fs := s.Files(); return len(fs) == 1 && fs[0].Completed }); err != nil {
		t.Fatalf("no outline: %v\n%s", err, p.Logs())
	}
	if files := f.Files(); len(files) != 1 || strings.TrimSpace(string(files[0].Content)) != "OVERRIDDEN-OUTLINE incident #1" {
		t.Fatalf("outline: %+v", files)
	}
}
