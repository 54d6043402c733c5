package playbook

import (
	"context"
	"slices"
)

// runPaging does the paging work the scheduler claimed: escalation steps,
// polls of unacknowledged PagerDuty incidents, PagerDuty incidents to
// resolve after the all-clear.
func (a *App) runPaging(ctx context.Context, incs map[int64]Incident, due map[int64]pagingDue) {
	for n, d := range due {
		inc := incs[n]
		for _, s := range d.Steps {
			a.fireStep(ctx, inc, s)
		}
		if d.Poll {
			a.poll(ctx, inc)
		}
		if d.ResolvePD && a.deps.Pager != nil {
			if err := a.deps.Pager.Resolve(ctx, inc.Paging.PD.ID); err != nil {
				a.log().Warn("resolving the PagerDuty incident after the all-clear", "incident", n, "pagerduty_incident", inc.Paging.PD.ID, "err", err)
			} else {
				ev := NewEvent(EventPagerDuty, ActorKlaxon, a.deps.Clock.Now(), "")
				ev.Payload = PagerDutyPayload{Event: "resolved_by_klaxon", Incident: inc.Paging.PD.ID}
				if _, err := a.deps.Store.Update(ctx, n, func(*Incident) ([]Event, error) { return []Event{ev}, nil }); err != nil {
					a.log().Error("recording the PagerDuty resolution", "incident", n, "err", err)
				}
			}
		}
	}
}

// matrixTier is tier s with its escalation matrix's roles replaced by the
// targets Roles maps them to. A step left with no target (a role of the
// default matrix nobody mapped) is dropped: Klaxon escalates to nobody the
// config does not name.
func (a *App) matrixTier(s Severity) Tier {
	t := a.deps.Tiers.Get(s)
	var steps []EscalationStep
	for _, st := range t.Escalate {
		to, _ := a.expandRoles(st.To)
		if len(to) > 0 {
			st.To = to
			steps = append(steps, st)
		}
	}
	t.Escalate = steps
	return t
}

// expandRoles replaces role targets with the targets config maps them to;
// a role nobody maps is reported as a Problem.
func (a *App) expandRoles(ts []Target) ([]Target, []Problem) {
	var out []Target
	var problems []Problem
	for _, t := range ts {
		if t.Kind != TargetRole {
			out = append(out, t)
			continue
		}
		mapped := a.deps.Roles[t.ID]
		if len(mapped) == 0 {
			problems = append(problems, Problem{Kind: ProblemRoleUnmapped, Target: t.ID})
			continue
		}
		for _, m := range mapped {
			if m.Kind != TargetRole && !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out, problems
}

// fireStep fires a claimed escalation step: PagerDuty targets get a
// responder request on the incident's PagerDuty incident (and the people
// they put on call are invited), Slack users and groups are mentioned and
// invited; the channel is told and the step recorded as fired.
func (a *App) fireStep(ctx context.Context, inc Incident, s PlannedStep) {
	now := a.deps.Clock.Now().UTC()
	targets, problems := a.expandRoles(s.Step.To)
	r := reach{problems: problems}
	var pd []Target
	for _, t := range targets {
		if t.PagerDuty() {
			pd = append(pd, t)
			continue
		}
		r.addSlack(t.ID)
		r.events = append(r.events, pageEvent(ActorKlaxon, now, PageEscalation, "slack", t, t.ID, Person{}))
	}
	a.pagePD(ctx, &r, &inc, pd, ActorKlaxon, now, PageEscalation)
	notice := PageNotice{Kind: PageEscalation, Step: s.Step, Index: s.Index, Slack: r.slack, PagerDuty: r.pdNames, Problems: r.problems}
	if inc.Paging != nil {
		notice.Link = inc.Paging.PD.URL
	}
	ev := NewEvent(EventEscalated, ActorKlaxon, now, "")
	ev.Payload = EscalationPayload{Step: s.Index, After: s.Step.After, If: string(s.Step.If), Severity: s.Severity}
	r.events = append([]Event{ev}, r.events...)
	if err := a.finishPage(ctx, inc.Number, notice, r, now, false); err != nil {
		a.log().Error("recording an escalation step", "incident", inc.Number, "step", s.Index, "err", err)
		return
	}
	if _, err := a.deps.Store.Update(ctx, inc.Number, func(i *Incident) ([]Event, error) {
		for k := range i.Paging.Steps {
			p := &i.Paging.Steps[k]
			if p.Index == s.Index && p.Severity == s.Severity && p.Due.Equal(s.Due) && p.State == StepFiring {
				p.State = StepFired
			}
		}
		return nil, nil
	}); err != nil {
		a.log().Error("marking an escalation step fired", "incident", inc.Number, "step", s.Index, "err", err)
	}
}

// poll reads an unacknowledged PagerDuty incident: the fallback for an
// acknowledgement or a resolution whose webhook never came.
func (a *App) poll(ctx context.Context, inc Incident) {
	if a.deps.Pager == nil || inc.Paging == nil || inc.Paging.PD.ID == "" {
		return
	}
	id := inc.Paging.PD.ID
	st, err := a.deps.Pager.Incident(ctx, id)
	if err != nil {
		a.log().Warn("polling the PagerDuty incident", "incident", inc.Number, "pagerduty_incident", id, "err", err)
		return
	}
	if st.Status == "acknowledged" || (st.Status == "resolved" && st.AckedBy.ID != "") {
		if err := a.acknowledgedInPagerDuty(ctx, inc.Number, a.ackFrom(ctx, "pagerduty-poll-ack:"+id, st.AckedBy, st.AckedAt, "poll")); err != nil {
			a.log().Error("recording a polled acknowledgement", "incident", inc.Number, "err", err)
		}
	}
	if st.Status == "resolved" {
		if err := a.pdHappened(ctx, inc, "pagerduty-poll-resolved:"+id, PDEvent{Type: "incident.resolved", IncidentID: id}); err != nil {
			a.log().Error("recording a polled resolution", "incident", inc.Number, "err", err)
		}
	}
}

// pagingLeft: an open incident with a declaration page or owners' notice
// pending, or escalation steps claimed and not finished, as Resume found it
// (its setup, resumed first, may page it).
func pagingLeft(i *Incident) bool {
	return i.Status.Open() && i.Paging != nil && (i.Paging.Pending || i.Paging.Notify || len(i.pendingSteps()) > 0)
}

// resumePaging runs at start, after the setups: among left (the incidents
// Resume found pagingLeft), declaration pages still pending (PagerDuty was
// down, Klaxon stopped) are sent, and escalation steps a stop interrupted
// after they were claimed are finished. Each is read again first, since its
// resumed setup may have paged it.
func (a *App) resumePaging(ctx context.Context, left []Incident) error {
	for _, inc := range left {
		if !pagingLeft(&inc) {
			continue
		}
		n := inc.Number
		inc, err := a.deps.Store.Get(ctx, n)
		if err != nil {
			a.log().Error("reading an incident to resume its pages", "incident", n, "err", err)
			continue
		}
		if !(inc.Status.Open() && inc.Paging != nil && ((inc.Paging.Pending && inc.Done(StepChannel) && !inc.GaveUp(StepPage)) ||
			(inc.Paging.Notify && inc.Done(StepChannel) && !inc.GaveUp(StepNotifyOwners)) || len(inc.pendingSteps()) > 0)) {
			continue
		}
		if inc.Paging.Pending {
			if err := a.pageAtDeclaration(ctx, inc.Number); err != nil {
				a.log().Warn("retrying the declaration page at start", "incident", inc.Number, "err", err)
				a.reportFailures(ctx, inc.Number, inc.Channel.ID, map[Step]error{StepPage: err})
			}
		}
		if inc.Paging.Notify {
			if err := a.notifyOwners(ctx, inc.Number); err != nil {
				a.log().Warn("telling the owning team at start", "incident", inc.Number, "err", err)
				a.reportFailures(ctx, inc.Number, inc.Channel.ID, map[Step]error{StepNotifyOwners: err})
			}
		}
		for _, s := range inc.pendingSteps() {
			a.fireStep(ctx, inc, s)
		}
	}
	return nil
}

// withPagerDutyLog merges the PagerDuty incident's log (triggered, notified
// whom, acknowledged, escalated) into the timeline, in time order, for the
// post-mortem. PagerDuty unreachable: the timeline is Klaxon's alone.
func (a *App) withPagerDutyLog(ctx context.Context, inc Incident, events []Event) []Event {
	if a.deps.Pager == nil || inc.Paging == nil || inc.Paging.PD.ID == "" {
		return events
	}
	log, err := a.deps.Pager.Log(ctx, inc.Paging.PD.ID)
	if err != nil {
		a.log().Warn("reading the PagerDuty log for the post-mortem", "incident", inc.Number, "err", err)
		return events
	}
	out := slices.Clone(events)
	for _, e := range log {
		ev := Event{Type: EventPagerDutyLog, Actor: "", At: e.At.UTC(), Recorded: e.At.UTC(), Text: e.Summary,
			Payload: PagerDutyLogPayload{Type: e.Type, Agent: e.Agent}}
		out = append(out, ev)
	}
	slices.SortStableFunc(out, func(x, y Event) int { return x.At.Compare(y.At) })
	return out
}

// RetryPage retries incident n's declaration page on a person's request.
func (a *App) RetryPage(ctx context.Context, n int64) error {
	return a.pageAtDeclaration(ctx, n)
}
