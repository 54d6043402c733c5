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
