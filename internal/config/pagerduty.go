package config

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/klaxonhq/klaxon/playbook"
	"go.yaml.in/yaml/v3"
)

// DefaultPagerDutyAPIURL and DefaultPagerDutyEventsURL are PagerDuty's
// endpoints (EU accounts use api.eu.pagerduty.com and events.eu.pagerduty.com).
const (
	DefaultPagerDutyAPIURL    = "https://api.pagerduty.com"
	DefaultPagerDutyEventsURL = "https://events.pagerduty.com"
)

// PagerDuty configures paging. Without a token it is off, and pages and the
// escalation matrix go to Slack only.
type PagerDuty struct {
	// Token is a REST API key (or token_file).
	Token Secret
	// APIURL and EventsURL carry no trailing slash (go-pagerduty appends paths).
	APIURL    string
	EventsURL string
	// From is a PagerDuty user's e-mail, sent as From on writes.
	From string
	// WebhookSecret enables POST /webhooks/pagerduty (v3 signatures).
	WebhookSecret Secret
	// webhookKey is set when the file names webhook_secret, even empty.
	webhookKey  bool
	webhookLine int
	section     bool
}

// Enabled reports whether PagerDuty is configured (has a token).
func (p PagerDuty) Enabled() bool { return p.Token.IsSet() }

// WebhookEnabled reports whether POST /webhooks/pagerduty is served.
func (p PagerDuty) WebhookEnabled() bool { return p.WebhookSecret.IsSet() }

var (
	pdIDRE = regexp.MustCompile(`^P[A-Z0-9]{1,19}$`)
	// A GitHub owner in CODEOWNERS: @login, @org/team, or an e-mail.
	ghOwnerRE = regexp.MustCompile(`^@[A-Za-z0-9][A-Za-z0-9-]{0,38}(/[A-Za-z0-9_.-]+)?$`)
)

func (d *decoder) pagerduty(n *yaml.Node, path string, p *PagerDuty) {
	p.section = !isNull(d.resolve(n))
	var token, hook secretSource
	fields := map[string]field{
		"api_url":    d.pdURL(&p.APIURL, DefaultPagerDutyAPIURL),
		"events_url": d.pdURL(&p.EventsURL, DefaultPagerDutyEventsURL),
		"from": d.str(&p.From, func(v scalar) string {
			a, err := mail.ParseAddress(strings.TrimSpace(v.val))
			if err != nil || a.Name != "" || a.Address != strings.TrimSpace(v.val) {
				return fmt.Sprintf("not an e-mail address: %s (want the e-mail of a PagerDuty user, sent as From on writes, like klaxon@example.com)", v.show())
			}
			return ""
		}),
	}
	d.secretFields(fields, "token", &token)
	d.secretFields(fields, "webhook_secret", &hook)
	d.mapping(n, path, fields)
	d.secret(&p.Token, joinKey(path, "token"), token)
	d.secret(&p.WebhookSecret, joinKey(path, "webhook_secret"), hook)
	p.webhookKey = hook.hasValue || hook.hasFile
	if hook.hasValue {
		p.webhookLine = hook.value.node.Line
	}
}

// pdURL reads a PagerDuty endpoint: an http(s) URL, kept without a
// trailing slash since go-pagerduty appends "/incidents".
func (d *decoder) pdURL(dst *string, example string) field {
	return func(n *yaml.Node, p string) {
		v, ok := d.scalar(n, p)
		if !ok {
			return
		}
		if !isHTTPURL(v.val) || strings.ContainsAny(v.val, "?#") {
			d.add(v.node, p, "not an http(s) URL: %s (want a base URL such as %s without ? or #)", v.show(), example)
			return
		}
		*dst = strings.TrimRight(v.val, "/")
	}
}

// pdID reads a PagerDuty object ID (PSVC0CHK, PE0CHKOUT, PS0CHKOUT).
func (d *decoder) pdID(dst *string, what string) field {
	return d.str(dst, func(v scalar) string {
		if pdIDRE.MatchString(v.val) {
			return ""
		}
		return fmt.Sprintf("not a PagerDuty %s ID: %s (PagerDuty IDs are a P then capitals and digits, like P%s; copy it from the %s's URL)", what, v.show(), "0ABC12", what)
	})
}

// servicePagerDuty reads services[].pagerduty.
func (d *decoder) servicePagerDuty(n *yaml.Node, path string, s *playbook.ServicePagerDuty) {
	d.mapping(n, path, map[string]field{
		"service":           d.pdID(&s.Service, "service"),
		"escalation_policy": d.pdID(&s.EscalationPolicy, "escalation policy"),
		"schedule":          d.pdID(&s.Schedule, "schedule"),
	})
}

// targets reads a list of page targets.
func (d *decoder) targets(n *yaml.Node, path string, dst *[]playbook.Target) bool {
	n = d.resolve(n)
	if isNull(n) {
		return true
	}
	if n.Kind != yaml.SequenceNode {
		d.add(n, path, "want a list of targets, like [pagerduty_schedule:PS0EMGR, U0CEO001], not %s", kindName(n))
		return false
	}
	var out []playbook.Target
	ok := true
	for i, item := range n.Content {
		ip := path + "[" + strconv.Itoa(i) + "]"
		v, good := d.scalar(item, ip)
		if !good {
			ok = false
			continue
		}
		t, err := playbook.ParseTarget(v.val)
		if err != nil {
			d.add(v.node, ip, "%s", err.Error())
			ok = false
			continue
		}
		out = append(out, t)
	}
	if ok {
		*dst = out
	}
	return ok
}

// escalate reads severities.SEVn.escalate: a list of {after, if, to}.
func (d *decoder) escalate(n *yaml.Node, path string, dst *[]playbook.EscalationStep) {
	n = d.resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.add(n, path, "want a list of steps, like - {after: 5m, if: unacknowledged, to: [pagerduty_schedule:PS0EMGR]}, not %s", kindName(n))
		return
	}
	out := []playbook.EscalationStep{}
	for i, item := range n.Content {
		ip := path + "[" + strconv.Itoa(i) + "]"
		var s playbook.EscalationStep
		var seen struct{ after, to bool }
		good := d.mapping(item, ip, map[string]field{
			"after": func(n *yaml.Node, p string) {
				if v, _, ok := d.duration(n, p, 1e9); ok {
					s.After, seen.after = v, true
				}
			},
			"if": func(n *yaml.Node, p string) {
				v, ok := d.scalar(n, p)
				if !ok {
					return
				}
				c := playbook.Condition(strings.TrimSpace(v.val))
				if !c.Valid() {
					d.add(v.node, p, "not a condition: %s (want unacknowledged, no_triage or unresolved)", v.show())
					return
				}
				s.If = c
			},
			"to": func(n *yaml.Node, p string) {
				if d.targets(n, p, &s.To) && len(s.To) > 0 {
					seen.to = true
				} else if isNull(d.resolve(n)) || len(s.To) == 0 {
					d.add(n, p, "required: who this step pages")
				}
			},
		})
		if !good {
			continue
		}
		if !seen.after {
			d.add(item, ip+".after", "required: a Go duration of at least 1s, counted from the declaration")
		}
		if s.If == "" {
			s.If = playbook.CondUnresolved
		}
		if seen.after && seen.to {
			out = append(out, s)
		}
	}
	*dst = out
}

// teams reads the teams table: GitHub team or user → PagerDuty → Slack.
func (d *decoder) teams(n *yaml.Node, path string, dst *[]playbook.Team) {
	n = d.resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.add(n, path, "want a list of teams (lines starting with - github: '@org/team'), not %s", kindName(n))
		return
	}
	var out []playbook.Team
	for i, item := range n.Content {
		ip := path + "[" + strconv.Itoa(i) + "]"
		var t playbook.Team
		good := d.mapping(item, ip, map[string]field{
			"github": d.str(&t.GitHub, func(v scalar) string {
				if ghOwnerRE.MatchString(v.val) {
					return ""
				}
				return fmt.Sprintf("not a CODEOWNERS owner: %s (want @org/team or @login, as written in CODEOWNERS)", v.show())
			}),
			"pagerduty": func(n *yaml.Node, p string) {
				d.mapping(n, p, map[string]field{
					"escalation_policy": d.pdID(&t.EscalationPolicy, "escalation policy"),
					"schedule":          d.pdID(&t.Schedule, "schedule"),
				})
			},
			"slack_group": d.str(&t.SlackGroup, func(v scalar) string {
				if stakeholderRE.MatchString(v.val) {
					return ""
				}
				return fmt.Sprintf("not a Slack user-group ID: %s (want S…, or a user U…)", v.show())
			}),
		})
		if !good {
			continue
		}
		if t.GitHub == "" {
			d.add(item, ip+".github", "required: the team or user as CODEOWNERS names it (@org/team)")
			continue
		}
		out = append(out, t)
	}
	*dst = out
}

// roles reads escalation_roles: role name → targets.
func (d *decoder) roles(n *yaml.Node, path string, dst map[string][]playbook.Target) {
	n = d.resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.add(n, path, "want a mapping of roles to targets (engineering_manager: [pagerduty_schedule:PS0EMGR]), not %s", kindName(n))
		return
	}
	for _, p := range d.pairs(n, path, 0) {
		kp := joinKey(path, p.key.Value)
		if _, err := playbook.ParseTarget("role:" + p.key.Value); err != nil {
			d.add(p.key, kp, "not a role name (want lowercase letters, digits and _, like engineering_manager)")
			continue
		}
		var ts []playbook.Target
		if d.targets(p.val, kp, &ts) {
			for _, t := range ts {
				if t.Kind == playbook.TargetRole {
					d.add(p.val, kp, "a role maps to people, schedules or policies, not to another role")
				}
			}
			dst[p.key.Value] = ts
		}
	}
}

// checkPaging reports what needs PagerDuty or the HTTP listener.
func (c *Config) checkPaging() []Problem {
	var ps []Problem
	p := c.PagerDuty
	if p.webhookKey && !p.WebhookSecret.IsSet() {
		ps = append(ps, Problem{Path: "pagerduty.webhook_secret", Line: p.webhookLine,
			Msg: "set but empty (is its environment variable empty?): POST /webhooks/pagerduty stays off without a secret, since it would accept anyone; set the secret PagerDuty shows for the webhook subscription, or remove the key"})
	}
	if p.WebhookSecret.IsSet() && !c.HTTP.Enabled() {
		ps = append(ps, Problem{Path: "pagerduty.webhook_secret", Line: p.webhookLine,
			Msg: "POST /webhooks/pagerduty is served on http.listen, which is off: set http.listen"})
	}
	if p.section && !p.Token.IsSet() {
		ps = append(ps, Problem{Path: "pagerduty.token", Msg: "required when the pagerduty section is present: a REST API key (or token_file); remove the section to page through Slack only"})
	}
	if p.Token.IsSet() && p.From == "" {
		ps = append(ps, Problem{Path: "pagerduty.from", Msg: "required with a token: the e-mail of a PagerDuty user, sent as From when Klaxon opens, resolves or adds responders to incidents"})
	}
	return ps
}

// boolField reads true or false.
func (d *decoder) boolField(dst *bool) field {
	return func(n *yaml.Node, p string) {
		v, ok := d.scalar(n, p)
		if !ok {
			return
		}
		switch strings.ToLower(strings.TrimSpace(v.val)) {
		case "true":
			*dst = true
		case "false":
			*dst = false
		default:
			d.add(v.node, p, "want true or false, not %s", v.show())
		}
	}
}

// checkServiceTeams checks that every services[].team is in teams.
func (d *decoder) checkServiceTeams(c *Config) {
	for i, s := range c.Services {
		if s.Team != "" && !slices.ContainsFunc(c.Teams, func(t playbook.Team) bool { return strings.EqualFold(t.GitHub, s.Team) }) {
			d.problems = append(d.problems, Problem{Path: fmt.Sprintf("services[%d].team", i),
				Msg: fmt.Sprintf("%s is not in teams: add - {github: '%s', slack_group: S…} to teams (its Slack group and PagerDuty on-call)", s.Team, s.Team)})
		}
	}
}

// applyRoles checks that every role an escalate the file wrote names is in
// escalation_roles. (The default matrix's roles may stay unmapped: the App
// then drops those steps, escalating nobody the config does not name.)
func (d *decoder) applyRoles(c *Config) {
	for _, sev := range playbook.Severities {
		if !d.setEscalate[sev] {
			continue
		}
		for i, s := range c.Severities[sev].Escalate {
			for _, tg := range s.To {
				if _, ok := c.EscalationRoles[tg.ID]; tg.Kind == playbook.TargetRole && !ok {
					d.problems = append(d.problems, Problem{Path: fmt.Sprintf("severities.%s.escalate[%d].to", sev, i),
						Msg: fmt.Sprintf("role:%s is not in escalation_roles: map it to people, schedules or policies", tg.ID)})
				}
			}
		}
	}
}
