package templates

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon/playbook"
)

func TestEveryErrorReasonHasATemplate(t *testing.T) {
	s := MustDefault()
	for _, r := range playbook.ErrorReasons() {
		if !s.HasError(r) {
			t.Errorf("reason %q has no template %q in default/errors.tmpl", r, ErrorTemplate(r))
		}
	}
}

// hostileArgs fills every argument of an error with h.
func hostileArgs(h string, now time.Time) playbook.ErrorArgs {
	check := &playbook.Check{At: now.Add(-time.Minute)}
	return playbook.ErrorArgs{
		Incident: 42, Status: playbook.Status(h), To: playbook.Status(h),
		Input: h, Name: h, Prefix: h, Detail: h, Limit: 4, Length: 5000,
		Services: []string{h, "checkout"}, Repos: []string{h},
		Commander: h, Declarer: h, Time: now, Today: now,
		Act: playbook.Act(h), Subject: playbook.Subject(h), Intent: playbook.Intent(h), Unread: true,
		Gates: []playbook.GateState{
			{GateInfo: playbook.GateInfo{Gate: playbook.GateErrorRate}},
			{GateInfo: playbook.GateInfo{Gate: playbook.GateSynthetics}, Check: check, HoldsAt: now.Add(4 * time.Minute)},
		},
	}
}

// TestErrorTemplatesRenderHostileArguments renders every reason with
// arguments a person could type: each template executes, says something,
// stays valid UTF-8 and short enough for Slack, and never turns typed text
// into a mention, a broadcast or a link.
func TestErrorTemplatesRenderHostileArguments(t *testing.T) {
	s := MustDefault()
	now := time.Date(2026, 12, 5, 14, 2, 0, 0, time.UTC)
	hostile := []string{"<!channel>", "<@U123>", "*bold*", "{{.}}", strings.Repeat("x", 5000), "bad \xff\xfe utf-8", "<https://evil.example|click>", ""}
	for _, r := range playbook.ErrorReasons() {
		for _, h := range hostile {
			e := &playbook.Error{Code: playbook.CodeBadInput, Reason: r, Field: playbook.FieldText, Args: hostileArgs(h, now)}
			// Straight through the template, so a failing one is seen
			// (Error falls back to the generic sentence).
			out, err := s.Render(ErrorTemplate(r), errorView{Reason: r, Code: e.Code, Field: e.Field, Args: cleanArgs(e.Args, Escape)})
			name := fmt.Sprintf("%s/%.12q", r, h)
			switch {
			case err != nil:
				t.Errorf("%s: %v", name, err)
				continue
			case out == "":
				t.Errorf("%s: rendered nothing", name)
			case !utf8.ValidString(out):
				t.Errorf("%s: invalid UTF-8: %q", name, out)
			case len(out) > 3000:
				t.Errorf("%s: %d bytes, over a Slack text block", name, len(out))
			}
			for _, live := range []string{"<!channel>", "<@U123>", "<https://evil", "<!"} {
				if strings.Contains(out, live) {
					t.Errorf("%s: %q is live in %q", name, live, out)
				}
			}
			if got := s.Error(e); got != out {
				t.Errorf("%s: Error() = %q, template = %q", name, got, out)
			}
		}
	}
}

func TestErrorOverrideRedefinesOneReason(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "errors.tmpl"), []byte(`{{define "error.no_title"}}Titel fehlt: {{q .Args.Input}}{{end}}`), 0o600)
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := playbook.Fail(playbook.CodeBadInput, playbook.ReasonNoTitle, playbook.FieldTitle, playbook.ErrorArgs{Input: "<!here>"})
	if got := s.Error(e); got != `Titel fehlt: "&lt;!here&gt;"` {
		t.Errorf("override = %q, want it with the argument escaped", got)
	}
	other := playbook.Fail(playbook.CodeBadInput, playbook.ReasonScopeEmpty, playbook.FieldAnswers, playbook.ErrorArgs{})
	if got := s.Error(other); got != "Answer at least one of the three questions." {
		t.Errorf("a reason the override does not name = %q, want the embedded words", got)
	}
	// An override that renders nothing still leaves an answer.
	os.WriteFile(filepath.Join(dir, "errors.tmpl"), []byte(`{{define "error.no_title"}}{{" "}}{{end}}`), 0o600)
	s, _ = Load(dir)
	if got := s.Error(e); !strings.Contains(got, "Something went wrong") {
		t.Errorf("empty override = %q, want the generic sentence", got)
	}
}

// TestErrorWording pins a few sentences: the words moved from Go strings
// in playbook to errors.tmpl unchanged (typed text now escaped).
func TestErrorWording(t *testing.T) {
	s := MustDefault()
	now := time.Date(2026, 12, 5, 14, 2, 0, 0, time.UTC)
	check := &playbook.Check{At: now.Add(-time.Minute)}
	tests := []struct {
		err  error
		want string
	}{
		{playbook.Fail(playbook.CodeBadSeverity, playbook.ReasonNotASeverity, playbook.FieldSeverity, playbook.ErrorArgs{Input: "sev9"}),
			`"sev9" is not a severity: use sev1, sev2, sev3 or sev4 (or 1–4)`},
		{playbook.Fail(playbook.CodeBadInput, playbook.ReasonUnknownService, playbook.FieldService, playbook.ErrorArgs{Input: "<!channel>", Services: []string{"checkout", "search"}}),
			`"&lt;!channel&gt;" is not a configured service. Known services: checkout, search.`},
		{playbook.Fail(playbook.CodeBadInput, playbook.ReasonUnknownService, playbook.FieldService, playbook.ErrorArgs{Input: "x"}),
			`"x" is not a configured service. Known services: none configured.`},
		{playbook.Fail(playbook.CodeForbidden, playbook.ReasonNotManager, "", playbook.ErrorArgs{Incident: 7, Act: playbook.ActChangeSeverity, Commander: "U0IC", Declarer: "U0D"}),
			"Only the commander (<@U0IC>), the declarer (<@U0D>) or a responder can change the severity of incident #7."},
		{playbook.Fail(playbook.CodeForbidden, playbook.ReasonNotManager, "", playbook.ErrorArgs{Incident: 7, Act: playbook.ActClose, Declarer: "U0D", Unread: true}),
			"Only the declarer (<@U0D>) or a responder can close incident #7. (Klaxon could not read the responder groups from Slack yet; if you are in one, try again in a minute.)"},
		{playbook.Fail(playbook.CodeBadInput, playbook.ReasonDueInPast, playbook.FieldDue, playbook.ErrorArgs{Input: "2026-01-02", Today: now}),
			"The deadline 2026-01-02 has passed: pick today (2026-12-05) or later."},
		{playbook.Fail(playbook.CodeGatesOpen, playbook.ReasonGatesOpen, "", playbook.ErrorArgs{Incident: 3, Limit: 4, Time: now, Gates: []playbook.GateState{
			{GateInfo: playbook.GateInfo{Gate: playbook.GateErrorRate}},
			{GateInfo: playbook.GateInfo{Gate: playbook.GateSynthetics}, Check: check, HoldsAt: now.Add(4 * time.Minute)}}}),
			"Not yet: 2 of 4 verification gates hold for incident #3.\n• Error rate below 0.1%: not checked\n• Synthetic monitors green for 5+ minutes: checked at 14:01:00 UTC, holds at 14:06:00 UTC (in 4 min)\nCheck them on the gates message once they hold. The commander can override with a written reason: `/incident resolve override <reason>`."},
		{playbook.Fail(playbook.CodeBadInput, playbook.ReasonStartInFuture, playbook.FieldStarted, playbook.ErrorArgs{Time: now}),
			"The impact cannot start in the future (2026-12-05 14:02 UTC is after now)."},
		{&playbook.PublishError{Intent: playbook.IntentSeverity, Err: errors.New("slack: channel_not_found")},
			"The severity change is recorded, but Slack did not take its announcement yet; Klaxon keeps trying for about 20 minutes. If it has not appeared by then, tell the channel by hand."},
		{errors.New("bolt: tx closed, token=secret"),
			"Something went wrong on Klaxon's side; nothing was changed. Try again, and tell the Klaxon operators if it persists."},
	}
	for _, tt := range tests {
		if got := s.Error(tt.err); got != tt.want {
			t.Errorf("Error(%v)\n got %q\nwant %q", tt.err, got, tt.want)
		}
	}
	if got := s.ErrorPlain(tests[1].err); !strings.Contains(got, `"<!channel>"`) {
		t.Errorf("ErrorPlain escaped for Slack: %q", got)
	}
}
