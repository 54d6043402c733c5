package templates

import "github.com/klaxonhq/klaxon/playbook"

// RenderNotice renders a notice the domain posts in a channel, through its
// kind's define in notice.tmpl ("notice.<kind>"), as Slack mrkdwn.
func (s *Set) RenderNotice(n playbook.Notice) (string, error) {
	return s.Render("notice."+string(n.Kind), n)
}

// Cadence says a tier's update expectation in words (the "cadence" define).
func (s *Set) Cadence(t playbook.Tier) string {
	out, err := s.Render("cadence", t)
	if err != nil {
		// An override that fails here fails every intro too; say nothing
		// rather than half a sentence.
		return ""
	}
	return out
}

// Problem says in one line (escaped for Slack) what could not be done.
func (s *Set) Problem(p playbook.Problem) string {
	out, err := s.Render("problem", p)
	if err != nil {
		return Escape(string(p.Kind))
	}
	return out
}
