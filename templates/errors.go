package templates

import (
	"strings"

	"github.com/klaxonhq/klaxon/playbook"
)

// ErrorTemplate names the template that renders reason r (in errors.tmpl).
func ErrorTemplate(r playbook.ErrorReason) string { return "error." + string(r) }

// errorView is what an error template sees.
type errorView struct {
	Reason playbook.ErrorReason
	Code   playbook.Code
	Field  playbook.Field
	Args   playbook.ErrorArgs
}

// How long an argument may be when shown: what a person typed is echoed
// back, not reprinted whole.
const (
	maxArg    = 200
	maxDetail = 300
	maxList   = 50
)

// Error renders what to tell a person in Slack about err (a domain
// *playbook.Error, a *playbook.PublishError, or anything else, which gets
// the generic sentence and keeps its details for the logs). Every string
// argument is made valid UTF-8, cut short and escaped for Slack mrkdwn
// before the template sees it, so neither the embedded words nor an
// operator's override can turn typed text into a mention or a link.
func (s *Set) Error(err error) string { return s.renderError(playbook.AsError(err), Escape) }

// ErrorPlain renders err for a terminal or a plain-text HTTP answer: the
// same words, arguments cut short but not escaped for Slack.
func (s *Set) ErrorPlain(err error) string {
	return s.renderError(playbook.AsError(err), func(s string) string { return s })
}

// HasError reports whether the set renders reason r, for tests.
func (s *Set) HasError(r playbook.ErrorReason) bool {
	return s.t.Lookup(ErrorTemplate(r)) != nil
}

func (s *Set) renderError(e *playbook.Error, esc func(string) string) string {
	v := errorView{Reason: e.Reason, Code: e.Code, Field: e.Field, Args: cleanArgs(e.Args, esc)}
	if e.Reason == "" {
		v.Reason = playbook.ReasonInternal
	}
	if out, err := s.Render(ErrorTemplate(v.Reason), v); err == nil && out != "" {
		return out
	}
	// A template that fails or says nothing (a broken override) must
	// still leave the person with an answer.
	if out, err := s.Render(ErrorTemplate(playbook.ReasonInternal), v); err == nil && out != "" {
		return out
	}
	return "Klaxon: " + string(v.Reason)
}

// cleanArgs returns a's strings as valid UTF-8, cut, and escaped by esc;
// user IDs keep only the characters Slack IDs have.
func cleanArgs(a playbook.ErrorArgs, esc func(string) string) playbook.ErrorArgs {
	str := func(s string, n int) string {
		return esc(Truncate(n, strings.ToValidUTF8(s, "\uFFFD")))
	}
	list := func(in []string) []string {
		if len(in) == 0 {
			return nil
		}
		out := make([]string, 0, min(len(in), maxList))
		for i, s := range in {
			if i == maxList {
				out = append(out, "…")
				break
			}
			out = append(out, str(s, 80))
		}
		return out
	}
	a.Input = str(a.Input, maxArg)
	a.Name = str(a.Name, maxArg)
	a.Prefix = str(a.Prefix, 40)
	a.Detail = str(a.Detail, maxDetail)
	a.Services = list(a.Services)
	a.Repos = list(a.Repos)
	a.Commander = slackID(a.Commander)
	a.Declarer = slackID(a.Declarer)
	a.Status = playbook.Status(str(string(a.Status), 40))
	a.To = playbook.Status(str(string(a.To), 40))
	return a
}

// slackID passes a Slack ID (U…, W…) and nothing else, so an argument
// rendered as a mention (<@ID>) cannot close it early or name a broadcast.
func slackID(s string) string {
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return ""
		}
	}
	return s
}
