package playbook

import (
	"context"
	"slices"
)

// PostmortemDeploys is the post-mortem's deploys section: the deploys of the
// window before detection and the one linked as the cause, with what it
// shipped.
type PostmortemDeploys struct {
	// Looked is false when Klaxon never looked up the deploys (no GitHub,
	// no repo): the section then says so.
	Looked bool
	// From is the window's start ("2006-01-02 15:04 UTC").
	From string
	List []PostmortemDeploy
	// Cause is the deploy linked to the incident, nil when none was; CauseBy
	// is who linked it, or CauseByWatchdog when the deploy watchdog did
	// (declared inside the deploy's watch window).
	Cause           *PostmortemDeploy
	CauseBy         string
	CauseByWatchdog bool
}

// PostmortemDeploy is one deploy in the post-mortem.
type PostmortemDeploy struct {
	Repo, SHA, Short, Ref, Creator, State, At, URL string
	Verdict                                        Verdict
	Flags                                          []RiskFlag
	PRs                                            []PullRequest
}

func (b *postmortemBuilder) deploy(d DeployRecord, v Verdict) PostmortemDeploy {
	pd := PostmortemDeploy{Repo: d.Repo, SHA: d.SHA, Short: d.Short(), Ref: d.Ref, Creator: d.Creator, State: d.State,
		At: b.clock(d.At), URL: d.URL, Verdict: v, PRs: d.PRs, Flags: d.Flags}
	return pd
}

// addPostmortemDeploys fills p.Deploys from inc's finding and the deploy
// log (which keeps the pull requests each deploy shipped).
func (a *App) addPostmortemDeploys(ctx context.Context, inc Incident, p *Postmortem, names map[string]string) {
	f := inc.Deploys
	if f == nil {
		return
	}
	b := &postmortemBuilder{inc: &inc, names: names, day: inc.DeclaredAt().UTC()}
	var recs []DeployRecord
	if a.deps.DeployLog != nil && !f.From.IsZero() {
		var err error
		if recs, err = a.deps.DeployLog.DeploysSince(ctx, f.From.Add(-KnownGoodLookback)); err != nil {
			a.log().Warn("reading the deploys for the post-mortem", "incident", inc.Number, "err", err)
		}
	}
	byKey := map[string]DeployRecord{}
	for _, r := range recs {
		byKey[r.Key()] = r
	}
	p.Deploys.Looked = !f.Posted.IsZero()
	if p.Deploys.Looked {
		p.Deploys.From = b.clock(f.From)
		services := a.deployServices(inc.Service)
		inWindow := slices.DeleteFunc(slices.Clone(recs), func(d DeployRecord) bool { return !targetsAny(d, services) })
		for _, rk := range a.report(services, inWindow, *f, f.Until).Ranked {
			p.Deploys.List = append(p.Deploys.List, b.deploy(rk.DeployRecord, rk.Verdict))
		}
	}
	if s := f.Suspect; f.Confirmed && s != nil {
		rec, ok := byKey[s.Key()]
		if !ok {
			rec = DeployRecord{Repo: s.Repo, Deploy: s.Deploy, Flags: s.Flags}
		}
		c := b.deploy(rec, VerdictSuspect)
		p.Deploys.Cause = &c
		p.Deploys.CauseBy, p.Deploys.CauseByWatchdog = b.name(f.ConfirmedBy), f.ConfirmedBy == ActorKlaxon
	}
}
