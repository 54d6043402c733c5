package templates

import (
	"maps"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// commandExamples are the hostile examples of the words of bot's commands
// and their forms (help, declare, triage, updates, list, the App Home),
// merged into examples so TestEveryTemplateWithHostileInput renders them.
var commandExamples = map[string]func(h string) []any{
	"help.not_a_command": func(h string) []any { return []any{map[string]any{"Command": exampleCommand, "Word": h}} },
	"help.no_such_topic": func(h string) []any { return []any{map[string]any{"Command": exampleCommand, "Word": h}} },
	"help.fallback":      func(string) []any { return []any{map[string]any{"Command": exampleCommand}} },
	"help.in_channel":    noData,
	"help.services_none": noData,
	"form.cancel":        noData,

	"manifest.description":                                 noData,
	"manifest.command_description":                         noData,
	"manifest.shortcut.klaxon_add_to_timeline":             noData,
	"manifest.shortcut_description.klaxon_add_to_timeline": noData,

	"triage.intro_header":   func(h string) []any { return []any{briefing(h).Incident} },
	"triage.intro_fallback": func(h string) []any { return []any{briefing(h).Incident} },
	"triage.take_ic":        func(h string) []any { return []any{briefing(h).Incident, playbook.Incident{}} },
	"triage.checklist_head": func(string) []any { return []any{int64(4)} },
	"triage.checklist_item": func(h string) []any {
		item := playbook.Item(h)
		return []any{map[string]any{"Item": item, "Label": h, "On": true, "Klaxon": false, "By": h, "At": exampleAt},
			map[string]any{"Item": item, "Label": h, "On": true, "Klaxon": true, "By": playbook.ActorKlaxon, "At": exampleAt},
			map[string]any{"Item": item, "Label": h, "On": false}}
	},
	"triage.checklist_button":   func(string) []any { return []any{map[string]any{"On": true}, map[string]any{"On": false}} },
	"triage.checklist_progress": func(string) []any { return []any{map[string]any{"Done": 3, "Total": 7}} },
	"triage.checklist_fallback": func(string) []any { return []any{int64(4)} },
	"triage.scope_call": func(h string) []any {
		open := briefing(h).Incident
		open.Timers.ScopeDue = exampleAt
		answered := briefing(h).Incident
		answered.Scope = filled[*playbook.Scope](h)
		return []any{open, playbook.Incident{}, answered}
	},
	"triage.scope_button":           noData,
	"triage.scope_fallback":         noData,
	"triage.scope_refresh_fallback": noData,
	"triage.scope_summary_head":     func(h string) []any { return []any{filled[*playbook.Scope](h)} },
	"triage.scope_answer": func(h string) []any {
		var out []any
		for _, q := range []string{"what", "who", "radius"} {
			out = append(out, map[string]any{"Question": q, "Answer": h, "Answered": true}, map[string]any{"Question": q, "Answer": "", "Answered": false})
		}
		return out
	},
	"triage.scope_to_update_button":   noData,
	"triage.scope_summary_fallback":   func(h string) []any { return []any{filled[*playbook.Scope](h)} },
	"triage.scope_update_status":      noData,
	"triage.scope_form_submit":        noData,
	"triage.scope_form_what":          noData,
	"triage.scope_form_what_hint":     noData,
	"triage.scope_form_who":           noData,
	"triage.scope_form_who_hint":      noData,
	"triage.scope_form_radius":        noData,
	"triage.scope_form_radius_hint":   noData,
	"triage.scope_form_severity":      noData,
	"triage.scope_form_severity_hint": noData,
	"triage.scope_form_title":         func(h string) []any { return []any{briefing(h).Incident} },
	"triage.scope_open_failed":        func(h string) []any { return []any{map[string]any{"Reason": h}} },
	"triage.scope_severity_refused": func(h string) []any {
		return []any{map[string]any{"User": h, "Severity": playbook.SEV2, "Error": "Klaxon's own words"}}
	},
	"triage.severity_announce": func(h string) []any {
		inc := briefing(h).Incident
		priv := inc
		priv.Private = true
		ch := playbook.SeverityChange{From: playbook.SEV3, To: playbook.SEV1}
		return []any{map[string]any{"Incident": inc, "Change": ch}, map[string]any{"Incident": priv, "Change": ch}}
	},
	"triage.setup_failure": func(string) []any { return []any{"Klaxon's own words"} },
	"triage.retry_button":  noData,
	"triage.retry_failed":  func(string) []any { return []any{map[string]any{"Error": "Klaxon's own words"}} },
	"triage.set_up":        func(string) []any { return []any{int64(4)} },
	"triage.ic_usage":      func(string) []any { return []any{map[string]any{"Command": exampleCommand}} },
	"triage.ic_same":       func(h string) []any { return []any{map[string]any{"User": h, "Incident": int64(4)}} },
	"triage.ic_now":        func(h string) []any { return []any{map[string]any{"User": h, "Incident": int64(4)}} },
	"triage.sev_usage": func(h string) []any {
		return []any{map[string]any{"Incident": briefing(h).Incident, "Command": exampleCommand}}
	},
	"triage.sev_same": func(h string) []any { return []any{briefing(h).Incident} },
	"triage.sev_changed": func(h string) []any {
		return []any{playbook.Outcome{Incident: briefing(h).Incident, Change: playbook.SeverityChange{From: playbook.SEV3, To: playbook.SEV1}}}
	},
	"triage.sev_unpublished": func(h string) []any {
		return []any{map[string]any{"Change": playbook.SeverityChange{From: playbook.SEV3, To: playbook.SEV1}, "Reason": h}}
	},
	"triage.status": func(h string) []any {
		inc := briefing(h).Incident
		inc.Timers.UpdateDue = exampleAt
		phases := []playbook.PhaseTarget{{Name: "Detection", Target: 5 * time.Minute},
			{Name: "Triage", Started: true, Elapsed: 20 * time.Minute, Target: 15 * time.Minute},
			{Name: "Remediation", Started: true, Ended: true, Elapsed: 10 * time.Minute, Target: 30 * time.Minute}}
		d := map[string]any{"Incident": inc, "Command": exampleCommand, "Ack": "Klaxon's own words\n", "Phase": "triage", "Cadence": "every 15 min",
			"Phases": phases, "Detection": h, "Done": 2, "Total": 7}
		bare := maps.Clone(d)
		bare["Incident"] = playbook.Incident{}
		return []any{d, bare}
	},
	"triage.note_added": func(string) []any {
		return []any{map[string]any{"Incident": int64(4)}, map[string]any{"Incident": int64(4), "Original": true}}
	},
	"triage.note_duplicate":        noData,
	"triage.timeline_duplicate":    noData,
	"triage.timeline_not_incident": noData,
	"triage.timeline_no_text":      noData,

	"declare.example": func(string) []any {
		return []any{map[string]any{"Command": exampleCommand}, map[string]any{"Command": exampleCommand, "Started": true}}
	},
	"declare.again":    func(h string) []any { return []any{briefing(h).Incident} },
	"declare.declared": func(h string) []any { return []any{briefing(h).Incident} },
	"declare.set_up": func(h string) []any {
		inc := briefing(h).Incident
		return []any{map[string]any{"Incident": inc, "Failed": false, "Reason": h}, map[string]any{"Incident": inc, "Failed": true, "Reason": ""},
			map[string]any{"Incident": inc, "Failed": false, "Reason": ""}}
	},
	"declare.form_failed": func(h string) []any { return []any{map[string]any{"Reason": h, "Command": exampleCommand}} },

	"update.posting": func(h string) []any {
		inc := briefing(h).Incident
		priv := inc
		priv.Private = true
		u := filled[playbook.StatusUpdate](h)
		return []any{playbook.Outcome{Incident: inc, Update: u}, playbook.Outcome{Incident: priv, Update: u}}
	},
	"update.duplicate":   noData,
	"update.form_failed": func(h string) []any { return []any{map[string]any{"Reason": h, "Command": exampleCommand}} },
	"update.header": func(h string) []any {
		return []any{map[string]any{"Incident": briefing(h).Incident, "Update": filled[playbook.StatusUpdate](h)}}
	},
	"update.form_title": func(h string) []any { return []any{briefing(h).Incident} },
	"update.form_next_update_hint": func(h string) []any {
		return []any{map[string]any{"Severity": playbook.SEV2, "Cadence": "every 15 min"}}
	},
	"update.form_next_update_choice": func(string) []any { return []any{map[string]any{"Every": 15 * time.Minute}} },

	"list.where":     func(h string) []any { return []any{briefing(h).Incident, playbook.Incident{}} },
	"list.commander": func(h string) []any { return []any{briefing(h).Incident, playbook.Incident{}} },
	"list.looking":   noData,
	"list.head":      noData,
	"list.line": func(h string) []any {
		inc := briefing(h).Incident
		priv := inc
		priv.Private = true
		return []any{inc, priv, playbook.Incident{}}
	},
	"list.more":   func(string) []any { return []any{3} },
	"list.none":   noData,
	"home.header": func(string) []any { return []any{999} },
	"home.none":   noData,
	"home.line": func(h string) []any {
		inc := briefing(h).Incident
		inc.Timers.UpdateDue = exampleAt
		return []any{map[string]any{"Incident": inc, "Now": exampleAt.Add(time.Hour), "Aged": true, "Age": time.Hour},
			map[string]any{"Incident": inc, "Now": exampleAt.Add(-time.Hour)}, map[string]any{"Incident": playbook.Incident{}, "Now": exampleAt}}
	},
	"home.more":          func(string) []any { return []any{899} },
	"home.figures_title": noData,
	"home.chart_alt":     noData,
	"home.chart_title":   noData,
	"home.updated":       func(string) []any { return []any{map[string]any{"Now": exampleAt}} },

	"incident.not_here":    func(h string) []any { return []any{map[string]any{"Command": exampleCommand, "Word": h}} },
	"incident.unreachable": func(string) []any { return []any{map[string]any{"Number": int64(4), "Command": exampleCommand}} },
	"incident.form_failed": func(h string) []any {
		return []any{map[string]any{"Reason": h, "Instead": "`" + exampleCommand + " action <what will change> @owner`"}}
	},
	"incident.github_reasons": func(h string) []any {
		type failure struct {
			ID  int
			Err string
		}
		return []any{map[string]any{"Failed": []failure{{1, h}, {2, h}}}}
	},
	"incident.github_failed": func(string) []any { return []any{map[string]any{"Count": 2, "Reasons": "item 1: Klaxon's own words"}} },
	"slack_reason":           func(h string) []any { return []any{"ratelimited", "no_answer", "klaxon", h} },
	"bot.restarting":         func(string) []any { return []any{map[string]any{"Slash": true}, map[string]any{"Slash": false}} },
	"permissions.checking":   noData,
}

// constantWords are the defines that take no data (labels, buttons, a
// form's fields): rendered with nil.
var constantWords = []string{
	"declare.form_private",
	"declare.form_private_hint",
	"declare.form_service",
	"declare.form_service_hint",
	"declare.form_severity",
	"declare.form_started",
	"declare.form_started_hint",
	"declare.form_started_placeholder",
	"declare.form_submit",
	"declare.form_title",
	"declare.form_title_hint",
	"declare.form_title_label",
	"declare.form_visibility",
	"update.form_impact",
	"update.form_impact_hint",
	"update.form_next_steps",
	"update.form_next_steps_hint",
	"update.form_next_update",
	"update.form_status",
	"update.form_status_hint",
	"update.form_submit",
	"update.post_button",
}

// noData renders a template that takes no data.
func noData(string) []any { return []any{nil} }

func init() {
	// The subcommands' lines of help and the topics' titles: Klaxon's own
	// words, with the slash command and the default severity.
	for _, name := range MustDefault().Templates() {
		if strings.HasPrefix(name, "usage.") || strings.HasPrefix(name, "help.title.") {
			commandExamples[name] = func(string) []any {
				return []any{map[string]any{"Command": exampleCommand, "DefaultSeverity": playbook.SEV3}}
			}
		}
	}
	for _, name := range constantWords {
		commandExamples[name] = noData
	}
	maps.Copy(examples, commandExamples)
}
