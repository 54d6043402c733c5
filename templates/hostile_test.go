package templates

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// hostileTexts are what a person (or another service) could put in any
// field a template shows: live Slack markup, a bare @here, mrkdwn and
// Markdown that would reshape the message, a template action, an HTML tag
// closing the post-mortem's <details>, a 5,000-character title and bytes
// that are not UTF-8.
var hostileTexts = []string{
	"<!channel> <@U123> <#C999> <!here|here> <!subteam^S1>",
	"@here @channel @everyone @acme/team",
	"*x* _y_ ~z~ `code` ```block``` > quote\n# heading\n- [x] item",
	"</details> <!-- x --> <script>alert(1)</script> [link](https://evil.example) ![i](https://evil.example/i.png)",
	"{{.}} {{template \"x\"}} {{ printf \"%s\" 1 }}",
	strings.Repeat("long title <!channel> ", 250),
	"bad \xff\xfe utf-8 \xc3",
	"a|b>c&d<e",
}

// examples gives, for every template, the data it is rendered with: the
// default value of each field is hostile text h (through fill), except the
// fields whose words are Klaxon's own (help's topics). A template without an
// entry here fails TestEveryTemplateWithHostileInput, so a new template
// cannot skip it.
var examples = map[string]func(h string) []any{
	"announce.tmpl":         func(h string) []any { return []any{briefing(h)} },
	"announce_private.tmpl": func(h string) []any { return []any{briefing(h)} },
	"intro.tmpl":            func(h string) []any { return []any{briefing(h)} },
	"topic.tmpl":            func(h string) []any { return []any{briefing(h)} },
	"purpose.tmpl":          func(h string) []any { return []any{briefing(h)} },
	"update.tmpl": func(h string) []any {
		b := briefing(h)
		return []any{map[string]any{"Incident": b.Incident, "Tier": b.Tier, "Service": b.Service, "Update": filled[playbook.StatusUpdate](h)}}
	},
	"nudge.tmpl": func(h string) []any {
		b := briefing(h)
		var out []any
		for _, k := range []playbook.NudgeKind{playbook.NudgeUpdateDue, playbook.NudgeUpdateEscalated, playbook.NudgeStatusPage,
			playbook.NudgeResolutionUpdate, playbook.NudgeScope, playbook.NudgePostmortem} {
			n := filled[playbook.Nudge](h)
			n.Kind = k
			out = append(out, map[string]any{"Incident": b.Incident, "Tier": b.Tier, "Service": b.Service, "Nudge": n},
				map[string]any{"Incident": playbook.Incident{Severity: playbook.SEV2}, "Tier": b.Tier, "Nudge": playbook.Nudge{Kind: k}})
		}
		return out
	},
	"guidance.tmpl": func(h string) []any {
		var out []any
		for _, r := range []playbook.Remedy{playbook.RemedyFlag, playbook.RemedyCutover, playbook.RemedyRollback, playbook.RemedyHotfix, playbook.RemedyData} {
			g := filled[playbook.Guidance](h)
			g.Option, g.Missing = r, playbook.MissingReadFailed
			out = append(out, map[string]any{"Incident": briefing(h).Incident, "Guidance": g, "Actor": h, "Command": exampleCommand},
				map[string]any{"Incident": playbook.Incident{}, "Guidance": playbook.Guidance{Option: r}, "Actor": "U1", "Command": exampleCommand})
		}
		return out
	},
	// help: the topics and usages are Klaxon's own words; the tiers and
	// services come from the operator's config.
	"help.tmpl": func(h string) []any {
		return []any{map[string]any{"Command": exampleCommand, "DefaultSeverity": playbook.SEV3, "Tiers": []playbook.Tier{filled[playbook.Tier](h)},
			"Services": []playbook.Service{filled[playbook.Service](h)}, "MoreServices": 3,
			"Topics": []map[string]any{{"Key": "triage", "Title": "Triage", "Where": "in the channel", "Commands": []string{"ic", "sev"}}}}}
	},
	"help_topic.tmpl": func(h string) []any {
		return []any{map[string]any{"Command": exampleCommand, "Title": "Triage", "Where": "in the channel",
			"Lines": []map[string]any{{"Usage": "sev <1-4> [reason]", "Help": "changes the severity"}},
			"Tiers": []playbook.Tier{filled[playbook.Tier](h)}, "Services": []playbook.Service{filled[playbook.Service](h)}}}
	},
	// The post-mortem as the domain builds it from an incident whose
	// typed fields, scope answers, notes, action items and names are h.
	"postmortem.md.tmpl": func(h string) []any {
		inc, events := hostileIncident()
		inc.Title = h
		inc.Scope.WhatBroke, inc.Scope.WhoAffected, inc.Scope.BlastRadius = h, h, h
		inc.Actions[0].Text = h
		for i := range events {
			if events[i].Actor == "U9" {
				events[i].Text = h
			}
		}
		pm := pmApp.BuildPostmortem(inc, events, map[string]string{"U9": h}, pmNow)
		// Every event sentence (postmortem_event.tmpl), in each of its
		// cases, with every fact hostile (cut short: there are hundreds;
		// the long text is the incident's own, above).
		short := string([]rune(h)[:min(len([]rune(h)), 60)])
		for _, name := range MustDefault().Templates() {
			typ, ok := strings.CutPrefix(name, PostmortemEventTemplate+".")
			if !ok {
				continue
			}
			for _, c := range []string{"", "took", "named", "took_over", "handed", "handed_between", "changed", "deploy", "watchdog", "comma", "filed", "upload", "publish", "acknowledged", "held", "over_gates", "no_channel"} {
				e := filled[playbook.PostmortemEvent](short)
				e.Type, e.Case, e.Time = playbook.EventType(typ), c, "10:00:00" // Time is Klaxon's own format
				pm.Timeline = append(pm.Timeline, e)
			}
		}
		return []any{pm}
	},
	"ticket.md.tmpl":      func(h string) []any { return []any{filled[playbook.TicketBody](h)} },
	"owner_issue.md.tmpl": func(h string) []any { return []any{filled[playbook.OwnerIssueBody](h)} },
	"notice.commander": func(h string) []any {
		return []any{playbook.Notice{Kind: playbook.NoticeCommander, User: h}, playbook.Notice{Kind: playbook.NoticeCommander, User: h, Previous: h}}
	},
	"notice.severity": func(h string) []any {
		n := filled[playbook.Notice](h)
		n.Change.From, n.Change.To = playbook.SEV3, playbook.SEV1
		return []any{n}
	},
	"notice.page_acked": func(h string) []any {
		return []any{filled[playbook.Notice](h), playbook.Notice{Name: h, After: time.Minute}}
	},
	"notice.resolved_in_pagerduty": func(h string) []any { return []any{filled[playbook.Notice](h)} },
	"notice.setup_failed": func(h string) []any {
		return []any{playbook.Notice{Steps: []playbook.Step{playbook.StepTopic, playbook.StepPage, playbook.Step(h)}}}
	},
	"notice.deploys_failed": func(h string) []any { return []any{filled[playbook.Notice](h)} },
	"notice.undelivered": func(h string) []any {
		var out []any
		for _, m := range undeliveredMessages(h) {
			n := filled[playbook.Notice](h)
			n.Undelivered = &m
			out = append(out, n)
		}
		return out
	},
	"undelivered": func(h string) []any {
		var out []any
		for _, m := range undeliveredMessages(h) {
			out = append(out, m)
		}
		return out
	},
	"guidance.deploys_missing": func(h string) []any {
		var out []any
		for _, m := range []playbook.DeploysMissing{playbook.MissingGitHubOff, playbook.MissingNoRepo, playbook.MissingReadFailed, playbook.MissingNoNewDeploy} {
			g := filled[playbook.Guidance](h)
			g.Missing = m
			out = append(out, g)
		}
		return out
	},
	"ticket_link": func(h string) []any { return []any{filled[playbook.Ticket](h)} },
	"actions.added": func(h string) []any {
		var out []any
		for _, skip := range []playbook.TicketSkip{"", playbook.TicketsGitHubOff, playbook.TicketsPrivateNoRepo, playbook.TicketsNoRepo} {
			tk := filled[playbook.Ticket](h)
			out = append(out, map[string]any{"Item": filled[playbook.ActionItem](h), "Ticket": &tk, "Skipped": skip, "Archived": true, "Failed": true},
				map[string]any{"Item": filled[playbook.ActionItem](h), "Ticket": (*playbook.Ticket)(nil), "Skipped": skip, "Archived": false, "Failed": false})
		}
		return out
	},
	"problem": func(h string) []any {
		var out []any
		for _, k := range []playbook.ProblemKind{playbook.ProblemRoleUnmapped, playbook.ProblemNoOwner, playbook.ProblemIssueFailed, playbook.ProblemTeamUntold,
			playbook.ProblemTeamInviteFailed, playbook.ProblemInviteFailed, playbook.ProblemOnCallUnread, playbook.ProblemOnCallPagedAnyway,
			playbook.ProblemOwnersNoTeam, playbook.ProblemRespondersRefused, playbook.ProblemPagerDutyOff, playbook.ProblemTargetUnread,
			playbook.ProblemCodeownersUnread, playbook.ProblemNoRepo, playbook.ProblemGitHubOff, playbook.ProblemKind(h)} {
			p := filled[playbook.Problem](h)
			p.Kind = k
			out = append(out, p)
		}
		return out
	},
	"pagerduty.details":    func(h string) []any { return []any{filled[playbook.PageAbout](h)} },
	"pagerduty.responders": func(h string) []any { return []any{filled[playbook.PageAbout](h)} },
	"page.condition": func(h string) []any {
		return []any{playbook.CondUnacknowledged, playbook.CondNoTriage, playbook.CondUnresolved, playbook.Condition(h)}
	},
	"page.notice": func(h string) []any { return pageNotices(h) },
	"page.owners": func(h string) []any { return pageNotices(h) },
	"page.acknowledged": func(h string) []any {
		return []any{map[string]any{"User": h, "Joined": true}, map[string]any{"User": h, "Joined": false}}
	},
	"page.usage":  func(h string) []any { return []any{map[string]any{"Command": exampleCommand}} },
	"page.paging": func(h string) []any { return []any{nil} },
	"page.unknown": func(h string) []any {
		return []any{map[string]any{"Arg": h, "Services": []string{h, h}, "Command": exampleCommand}}
	},
	"owners.usage":   func(h string) []any { return []any{map[string]any{"Command": exampleCommand, "Services": []string{h}}} },
	"owners.looking": func(h string) []any { return []any{map[string]any{"What": h}} },
	"owners.answer": func(h string) []any {
		o := filled[playbook.ServiceOwnership](h)
		for i := range o.Problems {
			o.Problems[i].Kind = playbook.ProblemCodeownersUnread
		}
		o.Found, o.TeamFromService, o.PagerDutyOff = true, true, true
		type onCall struct{ User, Name string }
		return []any{map[string]any{"Ownership": o, "OnCall": []onCall{{h, h}, {"", h}}},
			map[string]any{"Ownership": playbook.ServiceOwnership{Repo: h, Policy: h}, "OnCall": []onCall(nil)}}
	},
	"page.status": func(h string) []any {
		return []any{map[string]any{"Acked": true, "User": h, "Name": h, "After": time.Minute}, map[string]any{"Acked": true, "User": "", "Name": h, "After": time.Minute},
			map[string]any{"Pending": true}, map[string]any{}}
	},
	"gates.override_needs_reason": func(string) []any { return []any{map[string]any{"Command": exampleCommand}} },
	"gates.usage":                 func(string) []any { return []any{map[string]any{"Command": exampleCommand}} },
	"gates.resolved_no_channel":   func(string) []any { return []any{map[string]any{"Incident": 4, "Command": exampleCommand}} },
	"gates.fallback":              func(h string) []any { return []any{briefing(h).Incident} },
	"gates.header":                func(h string) []any { return []any{briefing(h).Incident} },
	"gates.context":               func(string) []any { return []any{nil} },
	"gates.row": func(h string) []any {
		st := playbook.GateState{GateInfo: playbook.Gates[0], Check: &playbook.Check{By: h, At: time.Now()}, HoldsAt: time.Now()}
		held := st
		held.Holds = true
		return []any{playbook.GateState{GateInfo: playbook.Gates[1]}, st, held}
	},
	"gates.done": func(h string) []any {
		at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
		return []any{map[string]any{"Resolved": at, "Override": filled[*playbook.Override](h)}, map[string]any{"Resolved": at, "Override": (*playbook.Override)(nil)},
			map[string]any{"Resolved": at, "Override": &playbook.Override{By: h, NoChannel: true}}}
	},
	"gates.post_failed": func(h string) []any { return []any{map[string]any{"Reason": h, "Command": exampleCommand}} },
	"gates.resolved": func(h string) []any {
		inc := briefing(h).Incident
		inc.Timers.PostmortemDue = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
		return []any{map[string]any{"Incident": inc, "Command": exampleCommand}, map[string]any{"Incident": playbook.Incident{Number: 2}, "Command": exampleCommand}}
	},
	"closing.closing":          func(string) []any { return []any{map[string]any{"Incident": 4}} },
	"closing.postmortem_done":  func(string) []any { return []any{map[string]any{"Incident": 4}} },
	"closing.postmortem_usage": func(string) []any { return []any{map[string]any{"Command": exampleCommand}} },
	"closing.not_recorded":     func(string) []any { return []any{map[string]any{"Error": "Klaxon could not record the close."}} },
	"closing.failed": func(h string) []any {
		type failure struct{ Step, Err string }
		return []any{map[string]any{"Incident": 4, "Failed": []failure{{"upload", h}, {"archive", h}}}}
	},
	"closing.tagged": func(h string) []any {
		inc := briefing(h).Incident
		inc.RootCause, inc.RepeatOf = h, []int64{2, 3}
		return []any{inc}
	},
	"closing.channel_gone": func(h string) []any { return []any{map[string]any{"Incident": 4, "User": h}} },
	"closing.channel_failed": func(h string) []any {
		var out []any
		for _, code := range []string{"restricted_action", "missing_scope", "not_allowed_token_type", "invalid_name_specials", h} {
			inc := briefing(h).Incident
			out = append(out, map[string]any{"Incident": inc, "Code": code, "Attempts": 5})
			inc.Private = true
			out = append(out, map[string]any{"Incident": inc, "Code": code, "Attempts": 5})
		}
		return out
	},
	"closing.outline_title":   func(string) []any { return outlineShares() },
	"closing.outline_comment": func(string) []any { return outlineShares() },
	"closing.not_published":   func(h string) []any { return []any{playbook.CloseResult{NotPublished: h}} },
	"step":                    func(h string) []any { return []any{playbook.StepBookmark, playbook.Step(h)} },
	"cadence": func(h string) []any {
		return []any{filled[playbook.Tier](h), playbook.Tier{Updates: playbook.UpdatePolicy(h)}}
	},
}

// The catalogues' labels (labels.tmpl) take no data: each is rendered
// alone here and, through label, inside the templates that show it.
func init() {
	for _, name := range MustDefault().Templates() {
		if strings.HasPrefix(name, "label.") {
			examples[name] = func(string) []any { return []any{nil} }
		}
	}
	finals := func(h string) []any {
		due := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
		return []any{&playbook.FinalUpdate{}, &playbook.FinalUpdate{OverGates: true, Reason: h, PostmortemDue: due},
			&playbook.FinalUpdate{OverGates: true, NoChannel: true}}
	}
	examples["update.final_status_line"] = finals
	examples["update.final_next_steps"] = finals
	for _, name := range []string{"update.final_status", "update.final_status_over_gates", "update.final_impact", "gates.no_channel_reason"} {
		examples[name] = func(string) []any { return []any{nil} }
	}
}

// undeliveredMessages are outbox messages of every kind, and of an unknown
// one, filled with h.
func undeliveredMessages(h string) []playbook.Message {
	var out []playbook.Message
	for _, k := range []playbook.MessageKind{playbook.MessageSeverity, playbook.MessageScope, playbook.MessageNudge, playbook.MessageUpdate,
		playbook.MessageCommander, playbook.MessageRefresh, playbook.MessageUndelivered, playbook.MessageKind(h)} {
		m := filled[playbook.Message](h)
		m.Kind, m.Undelivered = k, nil
		out = append(out, m)
	}
	return out
}

func pageNotices(h string) []any {
	var out []any
	for _, k := range []playbook.PageKind{playbook.PageDeclaration, playbook.PageEscalation, playbook.PageManual, playbook.PageRaise, playbook.PageRetry, playbook.PageOwners} {
		n := filled[playbook.PageNotice](h)
		n.Kind = k
		for i := range n.Problems {
			n.Problems[i].Kind = playbook.ProblemIssueFailed
		}
		out = append(out, map[string]any{"Incident": briefing(h).Incident, "Notice": n})
		bare := playbook.PageNotice{Kind: k, Slack: []string{h}}
		out = append(out, map[string]any{"Incident": playbook.Incident{}, "Notice": bare})
	}
	return out
}

func outlineShares() []any {
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	return []any{playbook.OutlineShare{Incident: 7, Where: playbook.OutlineInChannel, ArchiveNow: true},
		playbook.OutlineShare{Incident: 7, Where: playbook.OutlineInChannel, ArchiveAt: at, PostmortemDue: at},
		playbook.OutlineShare{Incident: 7, Where: playbook.OutlineNoChannel}, playbook.OutlineShare{Incident: 7, Where: playbook.OutlineArchived, PostmortemDue: at}}
}

func briefing(h string) playbook.Briefing {
	b := filled[playbook.Briefing](h)
	b.Incident.Severity, b.Incident.Status = playbook.SEV1, playbook.StatusInvestigating
	b.Tier.Updates, b.Tier.UpdateEvery = playbook.UpdatesPeriodic, 15*time.Minute
	b.Incident.Deploys = &playbook.DeployFinding{Watchdog: true, Suspect: &playbook.DeployRef{}}
	fill(reflect.ValueOf(b.Incident.Deploys.Suspect).Elem(), h, 0)
	return b
}

// filled returns a T whose every exported string, []string and
// map[string]string field, at any depth, holds h; empty slices of structs
// get one filled element and nil pointers a filled value. Named string
// types (severities, statuses, kinds: closed sets the domain checks) keep
// their zero value.
func filled[T any](h string) T {
	var v T
	fill(reflect.ValueOf(&v).Elem(), h, 0)
	return v
}

var (
	stringType = reflect.TypeFor[string]()
	timeType   = reflect.TypeFor[time.Time]()
)

func fill(v reflect.Value, h string, depth int) {
	if depth > 6 || !v.CanSet() {
		return
	}
	switch v.Kind() {
	case reflect.String:
		if v.Type() == stringType {
			v.SetString(h)
		}
	case reflect.Struct:
		if v.Type() == timeType {
			v.Set(reflect.ValueOf(time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), h, depth+1)
			}
		}
	case reflect.Pointer:
		if v.IsNil() && v.Type().Elem().Kind() == reflect.Struct {
			v.Set(reflect.New(v.Type().Elem()))
		}
		if !v.IsNil() {
			fill(v.Elem(), h, depth+1)
		}
	case reflect.Slice:
		if v.Len() == 0 {
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, h, depth+1)
			v.Set(reflect.Append(reflect.MakeSlice(v.Type(), 0, 2), e, e))
		}
	case reflect.Map:
		if v.Type().Key() == stringType && v.Type().Elem() == stringType {
			v.Set(reflect.ValueOf(map[string]string{h: h, "U9": h, "U1": h}))
		}
	}
}

// Slack markup that only Klaxon may write: a typed or imported text must
// never produce it.
var liveSlack = regexp.MustCompile(`<!channel|<!here|<!subteam\^S1|<@U123|<#C999|<script|<https://evil`)

// GitHub: a live mention is an @ after a start, a space or punctuation
// other than a backtick; HTML and structure must not come from the text.
var liveMarkdownLink = regexp.MustCompile(`(^|[^\\])\]\(https://evil|(^|[^\\])!\[i`)

var liveGitHubMention = regexp.MustCompile("(^|[^\\w`\\\\])@(here|channel|everyone|acme)")

// TestEveryTemplateWithHostileInput renders every template Klaxon has
// (files and the defines inside them) with hostile text in every field a
// person or another service fills, for each destination's rules: no error,
// no panic, no live Slack markup in a Slack text, no live mention, HTML or
// heading in GitHub Markdown.
func TestEveryTemplateWithHostileInput(t *testing.T) {
	s := MustDefault()
	names := s.Templates()
	for name := range examples {
		if !slices.Contains(names, name) {
			t.Errorf("examples names %s, which is not a template", name)
		}
	}
	reasons := map[string]playbook.ErrorReason{}
	for _, r := range playbook.ErrorReasons() {
		reasons[ErrorTemplate(r)] = r
	}
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	for _, name := range names {
		ex, ok := examples[name]
		if r, reason := reasons[name]; !ok && reason {
			// An error's words, through the path every error takes
			// (Set.Error cleans the arguments before the template).
			for _, h := range hostileTexts {
				out := s.Error(&playbook.Error{Code: playbook.CodeBadInput, Reason: r, Args: hostileArgs(h, now)})
				checkDestination(t, name, h, out)
			}
			continue
		}
		if !ok && (strings.HasPrefix(name, "error.") || strings.HasPrefix(name, "postmortem.")) {
			// A part of the error templates or of the post-mortem
			// (an event's sentence, plain text the outline escapes),
			// rendered through them.
			continue
		}
		if !ok && strings.HasPrefix(name, "postmortem.") {
			// A part of the outline (a timeline sentence, a label): plain
			// text the outline escapes, checked inside the outline.
			for _, h := range hostileTexts {
				for i, p := range outlineParts(name, h) {
					out, err := s.RenderPostmortem(p)
					if err != nil {
						t.Errorf("%s #%d with %.40q: %v", name, i, h, err)
						continue
					}
					checkDestination(t, PostmortemTemplate, h, string(out))
				}
			}
			continue
		}
		if !ok {
			t.Errorf("template %s has no hostile example in examples: add one", name)
			continue
		}
		for _, h := range hostileTexts {
			for i, data := range ex(h) {
				out, err := s.Render(name, data)
				if pm, ok := data.(playbook.Postmortem); ok {
					var b []byte
					b, err = s.RenderPostmortem(pm)
					out = string(b)
				}
				if err != nil {
					t.Errorf("%s #%d with %.40q: %v", name, i, h, err)
					continue
				}
				if strings.Contains(out, "{{") && !strings.Contains(h, "{{") {
					t.Errorf("%s left a template action: %.200s", name, out)
				}
				checkDestination(t, name, h, out)
			}
		}
	}
}

func checkDestination(t *testing.T, name, h, out string) {
	t.Helper()
	if strings.HasPrefix(name, "pagerduty.") {
		// Plain text: PagerDuty shows it as typed (its web page and its
		// own notifications escape it); no markup to defuse.
		return
	}
	if !strings.HasSuffix(name, ".md.tmpl") {
		if m := liveSlack.FindString(out); m != "" {
			t.Errorf("%s with %.40q: live Slack markup %q in\n%.600s", name, h, m, out)
		}
		return
	}
	if m := liveGitHubMention.FindString(out); m != "" {
		t.Errorf("%s with %.40q: a live GitHub mention %q in\n%.600s", name, h, m, out)
	}
	for _, bad := range []string{"</details> ", "<!--", "<script"} {
		if strings.Contains(out, bad) {
			t.Errorf("%s with %.40q: %q got through", name, h, bad)
		}
	}
	if m := liveMarkdownLink.FindString(out); m != "" {
		t.Errorf("%s with %.40q: a typed link or image got through: %q", name, h, m)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "# heading") || strings.HasPrefix(l, "- [x] item") {
			t.Errorf("%s with %.40q: typed text shaped the Markdown: %q", name, h, l)
		}
	}
}

// TestTemplatesListsEveryDefine: Templates names the files and their
// defines, not the files that only hold defines.
func TestTemplatesListsEveryDefine(t *testing.T) {
	got := MustDefault().Templates()
	for _, want := range []string{"intro.tmpl", "notice.severity", "step", "postmortem.md.tmpl"} {
		if !slices.Contains(got, want) {
			t.Errorf("Templates() = %v lacks %s", got, want)
		}
	}
	if slices.Contains(got, "notice.tmpl") {
		t.Errorf("Templates() lists notice.tmpl, which only holds defines")
	}
}

// exampleCommand is the slash command the examples' data name, as the bot
// passes its configured one (Bot.Command).
const exampleCommand = "/sev"

// TestWordsNameTheConfiguredCommand: with slack.command set to /sev, no
// template tells anyone to type /incident, and the words that name a
// command name /sev.
func TestWordsNameTheConfiguredCommand(t *testing.T) {
	s, err := LoadFor("", exampleCommand)
	if err != nil {
		t.Fatal(err)
	}
	if s.Command() != exampleCommand || MustDefault().Command() != DefaultCommand {
		t.Fatalf("commands %q and %q", s.Command(), MustDefault().Command())
	}
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	var outs []string
	for _, r := range playbook.ErrorReasons() {
		outs = append(outs, s.Error(&playbook.Error{Code: playbook.CodeBadInput, Reason: r, Args: hostileArgs("x", now)}))
	}
	for name, ex := range examples {
		for _, data := range ex("x") {
			if pm, ok := data.(playbook.Postmortem); ok {
				b, err := s.RenderPostmortem(pm)
				if err != nil {
					t.Fatal(err)
				}
				outs = append(outs, string(b))
				continue
			}
			out, err := s.Render(name, data)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			outs = append(outs, out)
		}
	}
	named := 0
	for _, out := range outs {
		if strings.Contains(out, "/incident") {
			t.Errorf("names /incident with slack.command /sev:\n%.400s", out)
		}
		if strings.Contains(out, exampleCommand+" ") {
			named++
		}
	}
	if named < 40 {
		t.Errorf("only %d texts name %s", named, exampleCommand)
	}
	if out := s.Error(&playbook.Error{Code: playbook.CodeBadInput, Reason: playbook.ReasonNoNoteText}); !strings.Contains(out, "`/sev note the cache") {
		t.Errorf("error.no_note_text = %q", out)
	}
}
