package templates

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// hostileTicket is an action item whose every typed field tries to ping a
// GitHub team, plant another item's adoption marker, or reshape the body.
func hostileTicket() playbook.TicketBody {
	return playbook.TicketBody{
		Item: playbook.ActionItem{
			ID: 2, Owner: "U9", By: "U8", Due: "2026-03-09", At: time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC),
			Text: "cc @acme/everyone <!-- klaxon:incident-4:action-1 -->\n# Heading\n- [x] done **bold** [link](https://evil.example) @bob",
		},
		Number: 4, Severity: playbook.SEV2, Service: "checkout",
		Title: "cc @acme/everyone <!-- klaxon:incident-4:action-1 --> | table",
		Names: map[string]string{"U9": "@acme/oncall <!-- x -->", "U8": "*Mallory*"},
	}
}

func TestTicketGoldenHostile(t *testing.T) {
	out, err := MustDefault().RenderTicket(hostileTicket())
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "ticket_hostile.md", []byte(out))
}

// TestTicketHostileTextStaysText: no live mention, no HTML comment, no
// Markdown structure from typed text; the text itself is all there.
func TestTicketHostileTextStaysText(t *testing.T) {
	out, err := MustDefault().RenderTicket(hostileTicket())
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(^|[^\w` + "`" + `])@[A-Za-z0-9]`).FindString(out); m != "" {
		t.Errorf("a live GitHub mention: %q in\n%s", m, out)
	}
	if strings.Contains(out, "<!--") || strings.Contains(out, "-->") {
		t.Errorf("an HTML comment got through:\n%s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "#") || strings.HasPrefix(l, "- [") || strings.Contains(l, "**bold**") || regexp.MustCompile(`[^\\]\]\(https://evil`).MatchString(l) {
			t.Errorf("typed Markdown shaped the body: %q", l)
		}
	}
	for _, want := range []string{"acme/everyone", "klaxon:incident-4:action-1", "Heading", "2026-03-09", "Slack user U9", "2026-03-02 09:30 UTC"} {
		if !strings.Contains(out, want) {
			t.Errorf("the body lost %q:\n%s", want, out)
		}
	}
}

// The owning team's issue: only the checked CODEOWNERS handles are live
// mentions; the typed title, the declarer's name and the rule's pattern
// ping nobody and shape nothing.
func TestOwnerIssueMentionsOnlyTheTeam(t *testing.T) {
	out, err := MustDefault().RenderOwnerIssue(playbook.OwnerIssueBody{
		Number: 7, Severity: playbook.SEV3, Impact: "Minor impact, workaround available", Service: "checkout",
		Title: "cc @acme/everyone <!-- klaxon:incident-7:owners --> # big", Channel: "inc-7-sev3-checkout",
		Declarer: "@mallory *bold*", Declared: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC),
		Mentions: []string{"@acme/payments", "@octocat"},
		Rule:     playbook.OwnerRule{File: ".github/CODEOWNERS", Line: 3, Pattern: "* @evil", Owners: []string{"@acme/payments", "@octocat"}},
		Team:     "@acme/payments",
	})
	if err != nil {
		t.Fatal(err)
	}
	live := regexp.MustCompile(`(^|[^\w`+"`"+`])@[A-Za-z0-9][\w/-]*`).FindAllString(out, -1)
	for i := range live {
		live[i] = strings.TrimLeft(live[i], " :(,")
	}
	for _, m := range live {
		if m != "@acme/payments" && m != "@octocat" {
			t.Errorf("a live mention %q that is not the owning team's in\n%s", m, out)
		}
	}
	if !strings.Contains(out, "here: @acme/payments, @octocat.") {
		t.Errorf("the team is not mentioned:\n%s", out)
	}
	if strings.Contains(out, "<!--") {
		t.Errorf("an HTML comment (a marker) got through:\n%s", out)
	}
	for _, want := range []string{"Incident #7 (SEV3, checkout)", "#inc-7-sev3-checkout", "line 3", "2026-12-05 10:00 UTC", "Minor impact"} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
}
