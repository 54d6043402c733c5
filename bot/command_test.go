package bot

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

func isService(w string) bool { return strings.EqualFold(w, "checkout") || w == "login" }

func TestParseCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want Command
	}{
		{"", Command{Name: "declare"}},
		{"   ", Command{Name: "declare"}},
		{"help", Command{Name: "help"}},
		{"HELP", Command{Name: "help"}},
		{"declare", Command{Name: "declare"}},
		{"declare sev1 checkout Checkout returns 500s", Command{Name: "declare", Severity: playbook.SEV1, Service: "checkout", Title: "Checkout returns 500s"}},
		{"declare SEV2 Checkout  returns   500s", Command{Name: "declare", Severity: playbook.SEV2, Service: "Checkout", Title: "returns   500s"}},
		{"declare 3 payments slow", Command{Name: "declare", Severity: playbook.SEV3, Title: "payments slow"}},
		{"declare login page is blank", Command{Name: "declare", Service: "login", Title: "page is blank"}},
		{"declare the login page is blank", Command{Name: "declare", Title: "the login page is blank"}},
		{"declare sev1 checkout", Command{Name: "declare", Severity: playbook.SEV1, Service: "checkout"}},
		{"declare sev1", Command{Name: "declare", Severity: playbook.SEV1}},
		{"new p2 api errors", Command{Name: "declare", Severity: playbook.SEV2, Title: "api errors"}},
		{"frobnicate now", Command{Name: "frobnicate", Unknown: true}},
	}
	for _, tt := range tests {
		got := ParseCommand(tt.text, isService)
		got.SeverityErr = nil
		if got != tt.want {
			t.Errorf("ParseCommand(%q) = %+v, want %+v", tt.text, got, tt.want)
		}
	}
}

func TestParseCommandBadSeverity(t *testing.T) {
	t.Parallel()
	c := ParseCommand("declare sev9 checkout down", isService)
	if c.SeverityErr == nil || c.NeedsForm() {
		t.Fatalf("sev9 accepted: %+v", c)
	}
	msg := templates.MustDefault().Error(c.SeverityErr)
	for _, want := range []string{"sev1", "sev2", "sev3", "sev4"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not list %s", msg, want)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"", "help", "declare sev1 checkout Checkout returns 500s", "declare sev9 x", "declare \u00a0sev1\u2003checkout  t", "declare <!channel> <@U1>", "p1", "declare sev-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c := ParseCommand(text, isService)
		if c.Name == "" {
			t.Fatal("empty command name")
		}
		if c.Name == "declare" && c.SeverityErr == nil && c.Severity != 0 && !c.Severity.Valid() {
			t.Fatalf("invalid severity %d accepted", c.Severity)
		}
		if utf8.ValidString(text) && !utf8.ValidString(c.Title) {
			t.Fatalf("title %q is not valid UTF-8", c.Title)
		}
		if len(c.Title) > len(text) {
			t.Fatalf("title longer than the text")
		}
		if c.Title != strings.TrimSpace(c.Title) {
			t.Fatalf("title %q not trimmed", c.Title)
		}
	})
}

func TestPlain(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"<!channel> down":                           "@channel down",
		"<@U0ABC|bob> broke it":                     "@bob broke it",
		"<@U0ABC> broke it":                         "@U0ABC broke it",
		"see <https://status.example.com|status>":   "see https://status.example.com",
		"see <https://status.example.com>":          "see https://status.example.com",
		"<#C0123|ops> &lt;b&gt; &amp; co":           "#ops <b> & co",
		"<!subteam^S0ONCALL|@oncall> please":        "@oncall please",
		"mail <mailto:a@example.com|a@example.com>": "mail mailto:a@example.com",
	} {
		if got := Plain(in); got != want {
			t.Errorf("Plain(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzPlain(f *testing.F) {
	f.Add("<!channel> <@U1|x> <https://a.b|c> &lt;&amp;&gt;")
	f.Fuzz(func(t *testing.T, s string) {
		out := Plain(s)
		// Plain gives back what was typed; Klaxon escapes it when showing
		// it, so nothing in it can be live then.
		if shown := templates.Escape(out); strings.ContainsAny(shown, "<>") {
			t.Fatalf("Escape(Plain(%q)) = %q", s, shown)
		}
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("Plain(%q) = %q is not valid UTF-8", s, out)
		}
	})
}

// FuzzDeclareSubmission feeds arbitrary view_submission payloads to the
// declaration form's decoder: it answers every one, and what it accepts is a
// declarable request.
func FuzzDeclareSubmission(f *testing.F) {
	f.Add([]byte(`{"type":"view_submission","user":{"id":"U1"},"view":{"id":"V1","callback_id":"klaxon_declare","private_metadata":"{\"o\":\"C1\"}","state":{"values":{"title":{"title":{"type":"plain_text_input","value":"db down"}},"severity":{"severity":{"type":"static_select","selected_option":{"value":"SEV1"}}},"service":{"service":{"type":"static_select","selected_option":{"value":"checkout"}}}}}}}`))
	f.Add([]byte(`{"view":{"state":{"values":{"title":{"title":{"value":""}}}}}}`))
	f.Add([]byte(`{"view":{"private_metadata":"not json","state":null}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var cb slack.InteractionCallback
		if json.Unmarshal(data, &cb) != nil {
			return
		}
		d, errs := decodeDeclareSubmission(cb, isService)
		if len(errs) == 0 {
			if d.Title == "" || !d.Severity.Valid() || (d.Service != "" && !isService(d.Service)) {
				t.Fatalf("accepted an undeclarable form: %+v", d)
			}
		}
		for block, err := range errs {
			if msg := templates.Default().Error(err); msg == "" || strings.Contains(msg, "Something went wrong") || (block != blockTitle && block != blockSeverity && block != blockService) {
				t.Fatalf("error %q on block %q", msg, block)
			}
		}
	})
}

func TestParseAction(t *testing.T) {
	t.Parallel()
	a := ParseAction("Add a 5xx alert on &lt;checkout&gt; <@U0ALICE|alice> due:2026-12-04")
	if a.Text != "Add a 5xx alert on <checkout>" || len(a.Owners) != 1 || a.Owners[0] != "U0ALICE" || a.Due != "2026-12-04" || a.Groups != 0 {
		t.Fatalf("ParseAction = %+v", a)
	}
	a = ParseAction("Fix the pool <@U1|a> <@U2|b> <!subteam^S1|@oncall> DUE:tomorrow")
	if len(a.Owners) != 2 || a.Groups != 1 || a.Due != "tomorrow" || a.Text != "Fix the pool" {
		t.Fatalf("ParseAction = %+v", a)
	}
	if n, rest := IncidentRef("#12 postmortem done x"); n != 12 || rest != "postmortem done x" {
		t.Fatalf("IncidentRef = %d %q", n, rest)
	}
	if n, rest := IncidentRef("#x y"); n != 0 || rest != "#x y" {
		t.Fatalf("IncidentRef(#x) = %d %q", n, rest)
	}
}

func FuzzParseAction(f *testing.F) {
	for _, s := range []string{"", "Add alert <@U1|a> due:2026-01-01", "#12 x <!subteam^S1> due:", "due:due:due", "<@U1> <@W2|x>", "#999999999999 a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a := ParseAction(s)
		for _, id := range a.Owners {
			if !strings.HasPrefix(id, "U") && !strings.HasPrefix(id, "W") {
				t.Fatalf("owner %q is not a user", id)
			}
		}
		if strings.Contains(a.Due, " ") {
			t.Fatalf("due %q has a space", a.Due)
		}
		if n, _ := IncidentRef(s); n < 0 {
			t.Fatalf("negative incident %d", n)
		}
	})
}

// TestUsageHintListsEverySubcommand: the manifest's usage hint is built
// from the subcommands the parser accepts, so none is missing from it.
func TestUsageHintListsEverySubcommand(t *testing.T) {
	t.Parallel()
	hint := UsageHint()
	for _, sub := range Subcommands() {
		if c := ParseCommand(sub+" x", nil); c.Unknown || c.Name != sub {
			t.Errorf("%q parses as %+v", sub, c)
		}
		if !strings.Contains(hint, "| "+sub+" |") {
			t.Errorf("usage hint lacks %q: %s", sub, hint)
		}
	}
	for _, want := range []string{"remediate", "resolve", "close", "action", "mitigated"} {
		if !strings.Contains(hint, want) {
			t.Errorf("usage hint lacks %q", want)
		}
	}
	if c := ParseCommand("severity 2", nil); c.Name != "sev" {
		t.Errorf("severity alias: %+v", c)
	}
	out, err := Manifest("Klaxon", "/incident")
	if err != nil || !strings.Contains(string(out), "remediate | mitigated | resolve") {
		t.Errorf("manifest: %v\n%s", err, out)
	}
}
