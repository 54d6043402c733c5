package templates

import (
	"maps"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// featureExamples are the hostile examples of the words of bot's feature
// files (deploys, signals, stats, remediation, actions, gates, closing),
// merged into examples so TestEveryTemplateWithHostileInput renders them.
var featureExamples = map[string]func(h string) []any{
	"deploys.fallback": func(h string) []any {
		s := filled[playbook.Ranked](h)
		return []any{map[string]any{"Incident": int64(4), "Suspect": &s}, map[string]any{"Incident": int64(4), "Suspect": (*playbook.Ranked)(nil)}}
	},
	"deploys.title": func(string) []any {
		return []any{map[string]any{"Incident": int64(4)}, map[string]any{"Incident": 0}}
	},
	"deploys.span": func(string) []any { return spans() },
	"deploys.context": func(h string) []any {
		var out []any
		for _, s := range spans() {
			svcs := []playbook.Service{filled[playbook.Service](h), {Name: h, Repo: h}}
			out = append(out, map[string]any{"Services": svcs, "From": exampleAt, "Span": s, "Detection": true},
				map[string]any{"Services": svcs[1:], "From": exampleAt, "Span": s, "Detection": false})
		}
		return out
	},
	"deploys.none":            func(string) []any { return []any{nil} },
	"deploys.pushed_directly": func(string) []any { return []any{nil} },
	"deploys.more_prs":        func(string) []any { return []any{3} },
	"deploys.more":            func(string) []any { return []any{3} },
	"deploys.button_cause":    func(string) []any { return []any{nil} },
	"deploys.button_not":      func(string) []any { return []any{nil} },
	"deploys.button_retry":    func(string) []any { return []any{nil} },
	"deploys.reading":         func(string) []any { return []any{nil} },
	"deploys.cause_usage":     func(string) []any { return []any{map[string]any{"Command": exampleCommand}} },
	"deploys.verdict": func(h string) []any {
		return []any{playbook.VerdictSuspect, playbook.VerdictCandidate, playbook.VerdictRejected, playbook.VerdictRedeploy,
			playbook.VerdictNotLive, playbook.VerdictAfterDetection, playbook.Verdict(h)}
	},
	"deploys.flag": func(h string) []any {
		return []any{playbook.FlagMigration, playbook.FlagLargeDiff, playbook.FlagNoApproval, playbook.RiskFlag(h)}
	},
	"deploys.deploy": func(h string) []any {
		var out []any
		for _, v := range []playbook.Verdict{playbook.VerdictSuspect, playbook.VerdictCandidate, playbook.VerdictRejected, playbook.Verdict(h)} {
			rk := filled[playbook.Ranked](h)
			rk.Verdict, rk.Flags = v, []playbook.RiskFlag{playbook.FlagMigration, playbook.FlagLargeDiff, playbook.FlagNoApproval, playbook.RiskFlag(h)}
			bare := playbook.Ranked{Verdict: v, DeployRecord: playbook.DeployRecord{Repo: h, Deploy: playbook.Deploy{SHA: h, State: "success"}}}
			out = append(out,
				map[string]any{"Deploy": rk, "ShowRepo": true, "Risky": h, "Changed": 12, "GoodSHA": h, "Confirmed": true, "ConfirmedBy": h, "ByKlaxon": false},
				map[string]any{"Deploy": rk, "ShowRepo": false, "Risky": "", "Changed": 0, "GoodSHA": h, "Confirmed": true, "ConfirmedBy": playbook.ActorKlaxon, "ByKlaxon": true},
				map[string]any{"Deploy": bare, "ShowRepo": false, "Risky": "", "Changed": 0})
		}
		return out
	},
	"deploys.pr": func(h string) []any {
		many := filled[playbook.PullRequest](h)
		many.Approvers, many.FilesMore = []string{h, h, h, h, h}, true
		return []any{filled[playbook.PullRequest](h), many, playbook.PullRequest{Number: 4, Title: h}}
	},
	"deploys.window": func(h string) []any { return []any{filled[playbook.HeightenedWindow](h)} },
	"deploys.failed": func(h string) []any {
		text, err := MustDefault().RenderNotice(playbook.Notice{Kind: playbook.NoticeDeploysFailed, Cause: h})
		if err != nil {
			panic(err)
		}
		return []any{map[string]any{"Notice": text}}
	},
	"deploys.windows": func(h string) []any {
		ws := []playbook.HeightenedWindow{filled[playbook.HeightenedWindow](h), {Service: h, Deploy: playbook.DeployRecord{Repo: h, Deploy: playbook.Deploy{SHA: h}}}}
		return []any{map[string]any{"Total": 12, "Windows": ws, "More": 10}, map[string]any{"Total": 2, "Windows": ws, "More": 0}}
	},
	"deploys.linked_cause": func(h string) []any {
		return []any{map[string]any{"User": h, "SHA": h, "Repo": h, "Incident": int64(4), "Command": exampleCommand},
			map[string]any{"User": h, "SHA": h, "Repo": h, "Incident": int64(4), "Command": ""}}
	},
	"deploys.bad_args": func(h string) []any {
		return []any{map[string]any{"Word": h, "NotWindow": true, "Command": exampleCommand}, map[string]any{"Word": h, "NotWindow": false, "Command": exampleCommand}}
	},
	"signals.reason": func(h string) []any {
		return []any{playbook.ReasonBurnRate, playbook.ReasonSynthetic, playbook.ReasonErrLatDeploy, playbook.ReasonTwoKinds, playbook.ReasonBurnLow,
			playbook.ReasonSingle, playbook.ReasonHeightened, playbook.ReasonAllResolved, playbook.ReasonUnroutedSignal, playbook.Reason(h)}
	},
	"signals.offer": func(h string) []any {
		g := hostileGroup(h)
		return []any{map[string]any{"Group": g, "Firing": 1, "Why": []string{"signals of two kinds or more", "a single kind of signal"}, "BurnRate": "14.4", "Threshold": "10", "DeploySHA": h},
			map[string]any{"Group": &playbook.SignalGroup{Service: h}, "Firing": 0, "Why": []string(nil), "BurnRate": "", "Threshold": ""}}
	},
	"signals.signal": func(h string) []any {
		s := filled[playbook.Signal](h)
		ended := s
		ended.EndsAt, s.EndsAt = exampleAt, time.Time{}
		return []any{s, ended, playbook.Signal{Name: h}}
	},
	"signals.more": func(string) []any { return []any{488} },
	"signals.offer_text": func(h string) []any {
		return []any{map[string]any{"Group": hostileGroup(h), "Declared": int64(4)}, map[string]any{"Group": hostileGroup(h), "Declared": 0}}
	},
	"signals.declared": func(h string) []any {
		inc := briefing(h).Incident
		return []any{map[string]any{"Incident": &inc, "ByKlaxon": false, "Service": h}, map[string]any{"Incident": &playbook.Incident{Number: 4}, "ByKlaxon": true, "Service": h}}
	},
	"signals.declare_button":   func(string) []any { return []any{playbook.SEV2} },
	"signals.already_declared": func(string) []any { return []any{int64(4)} },
	"signals.group": func(h string) []any {
		ended := hostileGroup(h)
		ended.Ended, ended.Incident = exampleAt, 0
		live := hostileGroup(h)
		live.Incident = 0
		return []any{hostileGroup(h), ended, live, &playbook.SignalGroup{}}
	},
	"signals.list": func(h string) []any {
		line, err := MustDefault().Render("signals.group", hostileGroup(h))
		if err != nil {
			panic(err)
		}
		return []any{map[string]any{"Lines": []string{line, line}, "Cut": true}, map[string]any{"Lines": []string{line}, "Cut": false}, map[string]any{"Lines": []string(nil)}}
	},
	// stats: the rows (severities, phases, durations worded by report)
	// are Klaxon's own words; the bottleneck and the lines name services.
	"stats.empty": func(string) []any { return []any{nil} },
	"stats.counts": func(string) []any {
		return []any{map[string]any{"Total": 5, "Open": 1, "Severities": playbook.Severities, "BySeverity": map[playbook.Severity]int{playbook.SEV1: 2}}}
	},
	"stats.bottleneck": func(h string) []any { return []any{h} },
	"stats.durations": func(string) []any {
		r := map[string]string{"Name": "SEV1", "Text": "mean 1 h", "Target": "< 1 h"}
		return []any{map[string]any{"Total": 5, "MTTDCount": 2, "MTTD": r, "MTTA": r, "MTTR": []map[string]string{r, r}}}
	},
	"stats.phases": func(string) []any {
		return []any{[]map[string]string{{"Name": "Detection", "Text": "mean 1 h", "Target": "< 1 h"}}}
	},
	"stats.lines":       func(h string) []any { return []any{[]string{h, h}, []string(nil)} },
	"stats.digest_text": func(h string) []any { return []any{h} },
	"stats.digest_title": func(string) []any {
		return []any{map[string]any{"From": exampleAt.Add(-7 * 24 * time.Hour), "To": exampleAt}}
	},
	"stats.digest_compare": func(string) []any {
		type row struct {
			Name, Week, Prev string
			Down, Up         bool
		}
		return []any{map[string]any{"Week": 3, "Prev": 4, "Rows": []row{{"SEV1", "1 h", "2 h", true, false}, {"SEV2", "2 h", "1 h", false, true}, {"SEV3", "no sample", "1 h", false, false}}}}
	},
	"stats.digest_trend":  func(h string) []any { return []any{map[string]any{"Bottleneck": h, "PerWeek": 1.25}} },
	"stats.chart_comment": func(string) []any { return []any{nil} },
	"stats.chart_alt":     func(string) []any { return []any{nil} },
	"stats.chart_title":   func(string) []any { return []any{nil} },
	"stats.overdue_postmortems": func(h string) []any {
		p := filled[playbook.OverduePostmortem](h)
		return overdues(p, playbook.OverduePostmortem{Incident: 2, Due: exampleAt})
	},
	"stats.overdue_actions": func(h string) []any {
		return overdues(filled[playbook.OverdueAction](h), playbook.OverdueAction{Incident: 2})
	},
	"stats.overdue_rest": func(string) []any {
		return []any{map[string]any{"More": 2, "Hidden": 1}, map[string]any{"More": 0, "Hidden": 0}}
	},
	"actions.filed": func(h string) []any {
		it := filled[playbook.ActionItem](h)
		return []any{[]playbook.ActionItem{it, it}}
	},
	"actions.list": func(h string) []any {
		it := filled[playbook.ActionItem](h)
		bare := playbook.ActionItem{ID: 2, Text: h, Owner: h, Due: h}
		return []any{map[string]any{"Incident": int64(4), "Stats": playbook.ActionStats{Total: 3, Done: 1}, "Items": []playbook.ActionItem{it, bare}, "More": 2},
			map[string]any{"Incident": int64(4), "Stats": playbook.ActionStats{}, "Items": []playbook.ActionItem{bare}, "More": 0}}
	},
	"actions.none":          func(string) []any { return []any{map[string]any{"Incident": int64(4), "Command": exampleCommand}} },
	"actions.owners_many":   func(string) []any { return []any{2} },
	"actions.recorded":      func(string) []any { return []any{map[string]any{"Item": 2, "Incident": int64(4)}} },
	"actions.retry_failed":  func(string) []any { return []any{map[string]any{"Error": "Klaxon could not do it."}} },
	"actions.still_refused": func(string) []any { return []any{2} },
	"adapter.announce_fallback": func(h string) []any {
		b := briefing(h)
		priv := b
		priv.Incident.Private = true
		return []any{b, priv}
	},
	"remediation.chose": func(h string) []any { return []any{map[string]any{"Actor": h, "Label": "Roll back"}} },
	"remediation.guidance_failed": func(h string) []any {
		return []any{map[string]any{"Label": "Roll back", "Reason": h}}
	},
	"remediation.header": func(string) []any { return []any{map[string]any{"Incident": int64(4)}} },
	"remediation.mitigated": func(h string) []any {
		return []any{map[string]any{"User": h, "Incident": int64(4), "Command": exampleCommand}}
	},
	"remediation.nothing_left": func(string) []any {
		return []any{map[string]any{"Incident": int64(4), "Status": playbook.StatusResolved}}
	},
	// The options' words are the playbook's catalogue; the service and its
	// links come from the operator's config.
	"remediation.option": func(h string) []any {
		return []any{map[string]any{"Index": 1, "Label": "Flag off", "Typical": "1 min", "Blurb": "Turn it off.", "Service": h, "FlagURL": h, "CutoverURL": ""},
			map[string]any{"Index": 2, "Label": "Cut over", "Typical": "5 min", "Blurb": "Move traffic.", "Service": h, "FlagURL": "", "CutoverURL": h},
			map[string]any{"Index": 3, "Label": "Roll back", "Typical": "10 min", "Blurb": "Go back.", "Service": h, "FlagURL": "", "CutoverURL": ""}}
	},
	"remediation.options_failed": func(h string) []any { return []any{map[string]any{"Reason": h, "Command": exampleCommand}} },
	"remediation.options_text":   func(string) []any { return []any{map[string]any{"Incident": int64(4)}} },
	"remediation.plan_recorded":  func(h string) []any { return []any{map[string]any{"User": h}} },
	"remediation.unknown":        func(h string) []any { return []any{map[string]any{"Arg": h, "Command": exampleCommand}} },
}

// fixedWords are the feature defines whose words are all Klaxon's own
// (a button, a form's label, a usage with .Command).
var fixedWords = []string{"actions.form_due_label", "actions.form_instead", "actions.form_owner_label", "actions.form_owner_placeholder",
	"actions.form_submit", "actions.form_text_label", "actions.form_text_placeholder", "actions.form_title", "actions.owner_group",
	"actions.retry_filing", "adapter.bookmark_emoji", "closing.button_retry", "gates.button_add_action", "gates.button_all_clear",
	"gates.button_holds", "gates.button_override", "gates.button_undo", "gates.override_explain", "gates.override_instead",
	"gates.override_label", "gates.override_placeholder", "gates.override_submit", "gates.override_title", "page.ack_button",
	"remediation.choose", "remediation.context", "remediation.plan_button", "remediation.plan_instead", "remediation.plan_label",
	"remediation.plan_placeholder", "remediation.plan_submit", "remediation.plan_title"}

// overdues are an overdue list's cases: none, some named with more and
// hidden ones, only hidden ones.
func overdues[T any](a, b T) []any {
	return []any{map[string]any{"Total": 0, "Listed": []T(nil), "More": 0, "Hidden": 0},
		map[string]any{"Total": 6, "Listed": []T{a, b}, "More": 3, "Hidden": 1},
		map[string]any{"Total": 2, "Listed": []T(nil), "More": 0, "Hidden": 2}}
}

// hostileGroup is an alert group whose every text is h.
func hostileGroup(h string) *playbook.SignalGroup {
	g := filled[playbook.SignalGroup](h)
	g.Assessment.Confidence, g.Assessment.Kinds = playbook.ConfidenceHigh, []playbook.SignalKind{playbook.SignalKind(h)}
	g.Incident = 4
	return &g
}

// exampleAt is a fixed time for the examples.
var exampleAt = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)

// spans are deploys.span's cases (bot's span: one unit set).
func spans() []any {
	type span struct{ Days, Hours, Minutes int64 }
	return []any{span{Days: 3}, span{Hours: 1}, span{Hours: 4}, span{Minutes: 90}, span{}}
}

func init() {
	for _, name := range fixedWords {
		featureExamples[name] = func(string) []any { return []any{map[string]any{"Command": exampleCommand}} }
	}
	maps.Copy(examples, featureExamples)
}
