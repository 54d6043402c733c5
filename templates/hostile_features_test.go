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
	"deploys.cause_usage":     func(string) []any { return []any{map[string]any{"Command": "/incident"}} },
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
		return []any{map[string]any{"User": h, "SHA": h, "Repo": h, "Incident": int64(4), "Command": "/incident"},
			map[string]any{"User": h, "SHA": h, "Repo": h, "Incident": int64(4), "Command": ""}}
	},
	"deploys.bad_args": func(h string) []any {
		return []any{map[string]any{"Word": h, "NotWindow": true, "Command": "/incident"}, map[string]any{"Word": h, "NotWindow": false, "Command": "/incident"}}
	},
}

// exampleAt is a fixed time for the examples.
var exampleAt = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)

// spans are deploys.span's cases (bot's span: one unit set).
func spans() []any {
	type span struct{ Days, Hours, Minutes int64 }
	return []any{span{Days: 3}, span{Hours: 1}, span{Hours: 4}, span{Minutes: 90}, span{}}
}

func init() { maps.Copy(examples, featureExamples) }
