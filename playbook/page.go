package playbook

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// StepPage is the declaration page, run with the other setup steps; its
// failure is reported with a retry button and retried at start.
const StepPage Step = "page"

// OwnerRule is the CODEOWNERS rule that matched a path.
type OwnerRule struct {
	Repo    string
	File    string // .github/CODEOWNERS, CODEOWNERS or docs/CODEOWNERS
	Line    int
	Pattern string
	Owners  []string // "@org/team", "@login" or e-mail addresses, as written
}

// Owners reads CODEOWNERS. An empty path asks for the owners of the whole
// repository (the last rule that matches every file).
type Owners interface {
	Owner(ctx context.Context, repo, path string) (OwnerRule, bool, error)
}

func (a *App) pollEvery() time.Duration {
	if a.deps.PollEvery > 0 {
		return a.deps.PollEvery
	}
	return DefaultPollEvery
}

// onPagerDuty reports whether svc's pages go through PagerDuty.
func (a *App) onPagerDuty(svc Service) bool {
	return a.deps.Pager != nil && svc.PagerDuty.Service != ""
}

// preparePaging sets up a new incident's paging: its escalation steps are
// planned from now, and for a tier that pages, a declaration page is left
// pending (sent by SetUp). It reports whether a page is pending: if not,
// the declarer's own acknowledgement stands.
func (a *App) preparePaging(inc *Incident, now time.Time) bool {
	t := a.matrixTier(inc.Severity)
	svc, _ := a.Service(inc.Service)
	pages := t.Page && inc.Service != "" && (a.onPagerDuty(svc) || a.ownersKnowable(svc))
	notify := !t.Page && inc.Service != "" && a.ownersToTell(svc)
	if !pages && !notify && len(t.Escalate) == 0 {
		return false
	}
	inc.Paging = &Paging{Pending: pages, Notify: notify}
	inc.Paging.Key = pageKey(inc)
	inc.planSteps(t, now)
	return pages
}

// ownersKnowable reports whether svc's owning team can be found: through
// CODEOWNERS and the teams table, or named by services[].team.
func (a *App) ownersKnowable(svc Service) bool {
	return len(a.deps.Teams) > 0 && ((svc.Repo != "" && a.deps.Owners != nil) || svc.Team != "")
}

// slackOf finds a PagerDuty person in Slack by e-mail ("" when not found).
func (a *App) slackOf(ctx context.Context, p Person) string {
	if a.deps.PageChat == nil || p.Email == "" {
		return ""
	}
	id, err := a.deps.PageChat.UserByEmail(ctx, p.Email)
	if err != nil {
		a.log().Warn("looking a PagerDuty user up in Slack by e-mail", "pagerduty_user", p.ID, "err", err)
		return ""
	}
	return id
}

// pageEvent records that someone was paged. One event per person or
// target, so pager load per engineer can be counted from the timeline.
func pageEvent(actor string, now time.Time, kind PageKind, via string, target Target, slackID string, p Person) Event {
	who := cmp.Or(slackID, p.Name, p.ID, target.ID)
	ev := NewEvent(EventPage, actor, now, "paged "+cmp.Or(p.Name, who))
	ev.Payload = PagePayload{Kind: kind, Via: via, Target: target.String(), Person: who, SlackUser: slackID, PagerDutyUser: p.ID}
	return ev
}

// reach is the result of reaching some targets: who to mention and invite,
// who PagerDuty reached, what went wrong, the events to record.
type reach struct {
	slack    []string
	pdNames  []string
	problems []Problem
	events   []Event
}

func (r *reach) addSlack(id string) {
	if id != "" && !slices.Contains(r.slack, id) {
		r.slack = append(r.slack, id)
	}
}

// people reaches PagerDuty people found on call or by ID: their Slack
// accounts are mentioned and invited (those not found in Slack are named),
// and each is recorded as paged.
func (a *App) people(ctx context.Context, r *reach, ps []Person, actor string, now time.Time, kind PageKind, via string, target Target) {
	for _, p := range ps {
		sid := a.slackOf(ctx, p)
		r.addSlack(sid)
		if sid == "" {
			r.pdNames = append(r.pdNames, cmp.Or(p.Name, p.ID))
		}
		r.events = append(r.events, pageEvent(actor, now, kind, via, target, sid, p))
	}
}

// pageAtDeclaration sends incident n's declaration page if it is pending:
// a PagerDuty incident on the service (adopted if one with the key is open),
// its link in the channel, the people on call now at level 1 invited. For a
// service not on PagerDuty, its owners (CODEOWNERS → teams) are paged in
// Slack. An error means PagerDuty could not be reached: the page stays
// pending, for the retry button and the next start.
func (a *App) pageAtDeclaration(ctx context.Context, n int64) error {
	inc, err := a.deps.Store.Get(ctx, n)
	if err != nil {
		return err
	}
	if inc.Paging == nil || !inc.Paging.Pending {
		return nil
	}
	svc, _ := a.Service(inc.Service)
	now := a.deps.Clock.Now().UTC()
	kind, about := PageDeclaration, pageAbout(inc)
	if !inc.Paging.Raised.IsZero() {
		kind, about.Raised = PageRaise, true
	}
	notice := PageNotice{Kind: kind}
	var r reach
	if a.onPagerDuty(svc) {
		ref := inc.Paging.PD
		if ref.ID == "" {
			ref, err = a.deps.Pager.Trigger(ctx, PageRequest{
				Key: inc.Paging.Key, Service: svc.PagerDuty.Service,
				Title: truncate(fmt.Sprintf("#%d %s: %s", inc.Number, inc.Severity, inc.Title), 1000),
				About: about,
			})
			if err != nil {
				return fmt.Errorf("open the PagerDuty incident: %w", err)
			}
			// Stored at once: a failure below retries from here, and the
			// poll deadline starts now.
			if inc, err = a.deps.Store.Update(ctx, n, func(i *Incident) ([]Event, error) {
				i.Paging.PD = ref
				if i.pageUnacknowledged() {
					i.Paging.PollDue = now.Add(a.pollEvery())
				}
				ev := NewEvent(EventPagerDuty, ActorKlaxon, now, "")
				ev.Payload = PagerDutyPayload{Event: PagerDutyOpened, Incident: ref.ID, URL: ref.URL}
				if ref.Adopted {
					ev.Payload = PagerDutyPayload{Event: PagerDutyAdopted, Incident: ref.ID, URL: ref.URL}
				}
				return []Event{ev}, nil
			}); err != nil {
				return err
			}
			a.Wake()
		}
		notice.Link = ref.URL
		if a.deps.OnCalls != nil {
			ps, err := a.deps.OnCalls.OnCallNow(ctx, svc.PagerDuty.EscalationPolicy, svc.PagerDuty.Schedule)
			if err != nil {
				notice.Problems = append(notice.Problems, Problem{Kind: ProblemOnCallPagedAnyway, Err: oneLine(err.Error(), 300)})
			}
			target := Target{TargetPDPolicy, svc.PagerDuty.EscalationPolicy}
			if target.ID == "" {
				target = Target{TargetPDSchedule, svc.PagerDuty.Schedule}
			}
			a.people(ctx, &r, ps, ActorKlaxon, now, kind, "pagerduty", target)
		}
	} else {
		a.pageOwners(ctx, &r, svc, kind, now)
	}
	notice.Slack, notice.PagerDuty = r.slack, r.pdNames
	notice.Problems = append(notice.Problems, r.problems...)
	return a.finishPage(ctx, n, notice, r, now, true)
}

// pageOwners pages a service's owners found in CODEOWNERS, through the
// teams table: the people on call for the team (PagerDuty, when
// configured) and the team's Slack group, mentioned and invited.
func (a *App) pageOwners(ctx context.Context, r *reach, svc Service, kind PageKind, now time.Time) {
	own, _ := a.owners(ctx, svc, "")
	r.problems = append(r.problems, own.Problems...)
	if own.Team == nil {
		if own.Found {
			r.problems = append(r.problems, Problem{Kind: ProblemOwnersNoTeam, Owners: own.Rule.Owners, File: own.Rule.File, Line: own.Rule.Line})
		}
		return
	}
	a.reachTeam(ctx, r, *own.Team, kind, now)
}

func (a *App) reachTeam(ctx context.Context, r *reach, t Team, kind PageKind, now time.Time) {
	if (t.EscalationPolicy != "" || t.Schedule != "") && a.deps.OnCalls != nil {
		ps, err := a.deps.OnCalls.OnCallNow(ctx, t.EscalationPolicy, t.Schedule)
		if err != nil {
			r.problems = append(r.problems, Problem{Kind: ProblemOnCallUnread, Target: t.GitHub, Err: oneLine(err.Error(), 300)})
		}
		target := Target{TargetPDPolicy, t.EscalationPolicy}
		if target.ID == "" {
			target = Target{TargetPDSchedule, t.Schedule}
		}
		a.people(ctx, r, ps, ActorKlaxon, now, kind, "slack", target)
	}
	if t.SlackGroup != "" {
		tg, _ := ParseTarget(t.SlackGroup)
		r.addSlack(t.SlackGroup)
		r.events = append(r.events, pageEvent(ActorKlaxon, now, kind, "slack", tg, t.SlackGroup, Person{}))
	}
}

// finishPage invites and tells the channel, then records the page.
func (a *App) finishPage(ctx context.Context, n int64, notice PageNotice, r reach, now time.Time, declaration bool) error {
	inc, err := a.deps.Store.Get(ctx, n)
	if err != nil {
		return err
	}
	if inc.Channel.ID != "" && len(r.slack) > 0 {
		if err := a.deps.Channels.Invite(ctx, inc.Channel.ID, r.slack); err != nil {
			notice.Problems = append(notice.Problems, Problem{Kind: ProblemInviteFailed, Err: oneLine(err.Error(), 300)})
		}
	}
	if a.deps.PageChat != nil && inc.Channel.ID != "" {
		if err := a.deps.PageChat.PostPage(ctx, a.Briefing(inc), notice); err != nil {
			a.log().Warn("posting a page notice", "incident", n, "err", err)
		}
	}
	_, err = a.deps.Store.Update(ctx, n, func(i *Incident) ([]Event, error) {
		if i.Paging == nil {
			i.Paging = &Paging{}
		}
		if declaration {
			if !i.Paging.Pending {
				return nil, nil // another run finished it
			}
			i.Paging.Pending = false
			i.Paging.Sent = true
		}
		if len(r.events) > 0 || notice.Link != "" {
			i.check(ItemOwnerPaged, ActorKlaxon, now)
		} else if declaration && i.Paging.PD.ID == "" {
			// Nobody could be paged: the declarer's own acknowledgement
			// stands, rather than an escalation for a page never sent.
			i.mark(PhaseAcknowledged, now)
			i.Paging.AwaitingAck = false
		}
		return r.events, nil
	})
	if err == nil {
		a.Wake()
	}
	return err
}

// ManualPage is "/incident page <service|@user|PagerDuty policy>".
type ManualPage struct {
	Key   string
	Actor string
	// One of these: a configured service, a Slack user, a PagerDuty target.
	Service   string
	SlackUser string
	Target    Target
}

// PageResult says whom a page reached.
type PageResult struct {
	Slack     []string
	PagerDuty []string
	Problems  []Problem
}

// Page pages more people into incident n from the channel. Every page is
// recorded with its target.
func (a *App) Page(ctx context.Context, n int64, req ManualPage) (PageResult, error) {
	inc, err := a.deps.Store.Get(ctx, n)
	if err != nil {
		return PageResult{}, storeErr(err, SubjectPage)
	}
	if !inc.Status.Open() {
		return PageResult{}, Fail(CodeBadTransition, ReasonNobodyToPage, "", ErrorArgs{Incident: inc.Number, Status: inc.Status})
	}
	// A PagerDuty ID nobody has (a typo, or a word read as a policy ID) is
	// answered to the person who typed it, not paged as "nobody" in the
	// channel. When PagerDuty cannot say, the page goes on and reports
	// what failed.
	if req.Target.PagerDuty() && a.deps.OnCalls != nil {
		if known, err := a.deps.OnCalls.TargetExists(ctx, req.Target); err == nil && !known {
			return PageResult{}, Fail(CodeBadInput, ReasonUnknownPageTarget, FieldTarget, ErrorArgs{Input: truncate(req.Target.ID, 40), Services: a.serviceList()})
		}
	}
	// A repeated command (a redelivery) pages once.
	if _, applied, err := a.deps.Store.Apply(ctx, n, req.Key, func(*Incident) ([]Event, error) { return nil, nil }); err != nil {
		return PageResult{}, storeErr(err, SubjectPage)
	} else if !applied {
		return PageResult{}, nil
	}
	now := a.deps.Clock.Now().UTC()
	var r reach
	notice := PageNotice{Kind: PageManual, By: req.Actor}
	pdIncident := ""
	if inc.Paging != nil {
		pdIncident = inc.Paging.PD.ID
		notice.Link = inc.Paging.PD.URL
	}
	switch {
	case req.Service != "":
		svc, ok := a.Service(req.Service)
		if !ok {
			return PageResult{}, a.unknownService(req.Service)
		}
		if a.onPagerDuty(svc) {
			t := Target{TargetPDPolicy, svc.PagerDuty.EscalationPolicy}
			if t.ID == "" {
				t = Target{TargetPDSchedule, svc.PagerDuty.Schedule}
			}
			a.pagePD(ctx, &r, &inc, []Target{t}, req.Actor, now, PageManual)
		} else {
			a.pageOwners(ctx, &r, svc, PageManual, now)
		}
	case req.SlackUser != "":
		var p Person
		if a.deps.Pager != nil && a.deps.OnCalls != nil && a.deps.PageChat != nil && pdIncident != "" {
			if email, err := a.deps.PageChat.EmailOf(ctx, req.SlackUser); err == nil && email != "" {
				if p, err = a.deps.OnCalls.UserByEmail(ctx, email); err == nil {
					if err := a.deps.Pager.AddResponders(ctx, pdIncident, []Target{{TargetPDUser, p.ID}}, pageAbout(inc)); err != nil {
						r.problems = append(r.problems, Problem{Kind: ProblemRespondersRefused, Err: oneLine(err.Error(), 300)})
						p = Person{}
					} else {
						r.pdNames = append(r.pdNames, cmp.Or(p.Name, p.ID))
					}
				}
			}
		}
		r.addSlack(req.SlackUser)
		via := "slack"
		if p.ID != "" {
			via = "pagerduty"
		}
		r.events = append(r.events, pageEvent(req.Actor, now, PageManual, via, Target{TargetSlackUser, req.SlackUser}, req.SlackUser, p))
	case req.Target.PagerDuty():
		if a.deps.Pager == nil {
			return PageResult{}, Fail(CodeBadInput, ReasonPagerDutyOff, FieldTarget, ErrorArgs{Name: req.Target.String()})
		}
		if pdIncident == "" {
			return PageResult{}, Fail(CodeBadInput, ReasonNoPagerDutyInc, FieldTarget, ErrorArgs{Incident: inc.Number})
		}
		a.pagePD(ctx, &r, &inc, []Target{req.Target}, req.Actor, now, PageManual)
	default:
		return PageResult{}, Fail(CodeBadInput, ReasonNoPageTarget, FieldTarget, ErrorArgs{})
	}
	notice.Slack, notice.PagerDuty, notice.Problems = r.slack, r.pdNames, append(notice.Problems, r.problems...)
	if inc.Paging != nil {
		notice.Link = inc.Paging.PD.URL
	}
	if err := a.finishPage(ctx, n, notice, r, now, false); err != nil {
		return PageResult{}, storeErr(err, SubjectPage)
	}
	return PageResult{Slack: r.slack, PagerDuty: r.pdNames, Problems: notice.Problems}, nil
}

func pageAbout(inc Incident) PageAbout {
	return PageAbout{Incident: inc.Number, Severity: inc.Severity, Title: inc.Title, Channel: inc.Channel.Name}
}

// pagePD reaches PagerDuty targets: a responder request on the incident's
// PagerDuty incident (opened on the first target's service when the
// incident has none yet is not possible without a service, so then only
// the people on call are invited in Slack), and the people those targets
// put on call now are invited in Slack.
func (a *App) pagePD(ctx context.Context, r *reach, inc *Incident, ts []Target, actor string, now time.Time, kind PageKind) {
	if len(ts) == 0 {
		return
	}
	if a.deps.OnCalls == nil {
		for _, t := range ts {
			r.problems = append(r.problems, Problem{Kind: ProblemPagerDutyOff, Target: t.String()})
		}
		return
	}
	via := "slack"
	if a.deps.Pager != nil && inc.Paging != nil && inc.Paging.PD.ID != "" {
		if err := a.deps.Pager.AddResponders(ctx, inc.Paging.PD.ID, ts, pageAbout(*inc)); err != nil {
			r.problems = append(r.problems, Problem{Kind: ProblemRespondersRefused, Err: oneLine(err.Error(), 300)})
		} else {
			via = "pagerduty"
		}
	}
	for _, t := range ts {
		var ps []Person
		var err error
		switch t.Kind {
		case TargetPDUser:
			var p Person
			p, err = a.deps.OnCalls.User(ctx, t.ID)
			ps = []Person{p}
		case TargetPDPolicy:
			ps, err = a.deps.OnCalls.OnCallNow(ctx, t.ID, "")
		case TargetPDSchedule:
			ps, err = a.deps.OnCalls.OnCallNow(ctx, "", t.ID)
		}
		name := a.deps.OnCalls.TargetName(ctx, t)
		if via == "pagerduty" {
			r.pdNames = append(r.pdNames, name)
		}
		if err != nil {
			r.problems = append(r.problems, Problem{Kind: ProblemTargetUnread, Target: name, Err: oneLine(err.Error(), 300)})
			if via == "pagerduty" {
				r.events = append(r.events, pageEvent(actor, now, kind, via, t, "", Person{Name: name}))
			}
			continue
		}
		for _, p := range ps {
			sid := a.slackOf(ctx, p)
			r.addSlack(sid)
			r.events = append(r.events, pageEvent(actor, now, kind, via, t, sid, p))
		}
	}
}

// Ack is an acknowledgement of incident n's page.
type Ack struct {
	Key string // the webhook event ID or the poll's, so it counts once
	// SlackUser is the acknowledger found in Slack; Name their PagerDuty
	// name, used when SlackUser is empty.
	SlackUser string
	Name      string
	At        time.Time
	Source    string // "webhook", "poll", "slack"
}

// Acknowledge records the first acknowledgement of incident n's page: it
// ends Detection, checks "service owner identified and paged", and stops
// the polling. Later acknowledgements change nothing.
func (a *App) Acknowledge(ctx context.Context, n int64, ack Ack) (Incident, bool, error) {
	now := a.deps.Clock.Now().UTC()
	at := ack.At.UTC()
	if at.IsZero() || at.After(now) {
		at = now
	}
	by := cmp.Or(ack.SlackUser, ack.Name, "someone")
	first := false
	inc, _, err := a.deps.Store.Apply(ctx, n, ack.Key, func(inc *Incident) ([]Event, error) {
		if inc.Paging == nil {
			inc.Paging = &Paging{}
		}
		if inc.Paging.AckedBy != "" {
			return nil, nil
		}
		if d := inc.DeclaredAt(); at.Before(d) {
			at = d
		}
		first = true
		inc.Paging.AckedBy = by
		inc.Paging.AckedAt = at
		inc.Paging.PollDue = time.Time{}
		// The declarer's acknowledgement does not count when a page went
		// out at declaration. One made before a raise page (raise.go) ended
		// Detection then, and stays.
		if t, ok := inc.At(PhaseAcknowledged); ok && inc.Paging.AwaitingAck && !inc.Paging.Raised.IsZero() && !t.After(inc.Paging.Raised) {
			inc.Paging.AckKept = true
		} else if inc.Times != nil {
			delete(inc.Times, PhaseAcknowledged)
		}
		inc.Paging.AwaitingAck = false
		inc.mark(PhaseAcknowledged, at)
		inc.check(ItemOwnerPaged, ActorKlaxon, now)
		actor := ActorKlaxon
		if ack.SlackUser != "" {
			actor = ack.SlackUser
		}
		ev := NewEvent(EventPageAcknowledged, actor, now, "acknowledged by "+by)
		ev.At = at
		ap := AckPayload{By: by, Source: ack.Source}
		if inc.Paging.AckKept {
			d := max(at.Sub(inc.Paging.Raised), 0)
			ap.AfterRaise = &d
		} else if ttk, ok := inc.TimeToAcknowledge(); ok {
			ap.TimeToAck = &ttk
		}
		ev.Payload = ap
		return []Event{ev}, nil
	})
	if err != nil {
		return Incident{}, false, storeErr(err, SubjectAcknowledgement)
	}
	return inc, first, nil
}

// PDEvent is a PagerDuty webhook event, decoded.
type PDEvent struct {
	ID         string // the event's ID (a redelivery repeats it)
	Type       string // incident.acknowledged, incident.escalated, ...
	IncidentID string
	At         time.Time
	Agent      Person // who did it (ID and name)
	Summary    string // e.g. the new assignee or the policy escalated to
	// Title, URL, ServiceID and Created describe the incident (for
	// incidents Klaxon did not open, which become signals: signals_app.go).
	Title, URL, ServiceID string
	Created               time.Time
}

// ErrUnknownIncident is returned for a PagerDuty event about an incident
// Klaxon did not open.
var ErrUnknownIncident = errors.New("no Klaxon incident has this PagerDuty incident")

// PagerDutyEvent applies a PagerDuty event to the Klaxon incident it
// concerns, once per event ID.
func (a *App) PagerDutyEvent(ctx context.Context, ev PDEvent) error {
	incs, err := a.deps.Store.List(ctx, func(i *Incident) bool {
		return ev.IncidentID != "" && i.Paging != nil && i.Paging.PD.ID == ev.IncidentID
	})
	if err != nil {
		return err
	}
	if len(incs) == 0 {
		// A PagerDuty incident Klaxon did not open is a monitoring signal.
		if handled, err := a.pagerDutySignal(ctx, ev); handled || err != nil {
			return err
		}
		return ErrUnknownIncident
	}
	inc := incs[len(incs)-1]
	key := "pagerduty:" + ev.ID
	switch ev.Type {
	case "incident.acknowledged":
		return a.acknowledgedInPagerDuty(ctx, inc.Number, a.ackFrom(ctx, key, ev.Agent, ev.At, "webhook"))
	case "incident.escalated", "incident.reassigned", "incident.resolved":
		return a.pdHappened(ctx, inc, key, ev)
	}
	return nil
}

// acknowledgedInPagerDuty records an acknowledgement PagerDuty reported
// (its webhook or the poll) and, the first time, tells the incident's
// channel, as a click on Slack's own Acknowledge button does: the people
// in the channel see that the on-call has it.
func (a *App) acknowledgedInPagerDuty(ctx context.Context, n int64, ack Ack) error {
	inc, first, err := a.Acknowledge(ctx, n, ack)
	if err != nil || !first || inc.Channel.ID == "" || a.deps.Poster == nil {
		return err
	}
	notice := Notice{Kind: NoticePageAcked, Incident: n, User: ack.SlackUser, Name: ack.Name}
	if d, ok := inc.PageAckDelay(); ok && inc.Paging.AckKept {
		notice.After, notice.AfterPage = d, true
	} else if ttk, ok := inc.TimeToAcknowledge(); ok {
		notice.After = ttk
	}
	if err := a.deps.Poster.Notice(ctx, inc.Channel.ID, notice); err != nil {
		a.log().Warn("telling the channel the page was acknowledged", "incident", n, "err", err)
	}
	return nil
}

// ackFrom builds an Ack from a PagerDuty user, finding them in Slack.
func (a *App) ackFrom(ctx context.Context, key string, agent Person, at time.Time, source string) Ack {
	if agent.Email == "" && agent.ID != "" && a.deps.OnCalls != nil {
		if p, err := a.deps.OnCalls.User(ctx, agent.ID); err == nil {
			agent.Email, agent.Name = p.Email, cmp.Or(agent.Name, p.Name)
		} else {
			a.log().Warn("reading the acknowledging PagerDuty user", "pagerduty_user", agent.ID, "err", err)
		}
	}
	return Ack{Key: key, SlackUser: a.slackOf(ctx, agent), Name: cmp.Or(agent.Name, agent.ID), At: at, Source: source}
}

// pdHappened records an escalation, a reassignment or a resolution done in
// PagerDuty. A resolution there does not resolve Klaxon's incident (the
// gates decide); the channel is told.
func (a *App) pdHappened(ctx context.Context, inc Incident, key string, ev PDEvent) error {
	now := a.deps.Clock.Now().UTC()
	verb := strings.TrimPrefix(ev.Type, "incident.")
	resolvedHere := false
	stored, applied, err := a.deps.Store.Apply(ctx, inc.Number, key, func(i *Incident) ([]Event, error) {
		if verb == "resolved" {
			if i.Paging.ResolvedInPD {
				return nil, nil
			}
			i.Paging.ResolvedInPD = true
			i.Paging.PollDue = time.Time{}
			resolvedHere = i.Status.Open()
		}
		e := NewEvent(EventPagerDuty, ActorKlaxon, now, "")
		if !ev.At.IsZero() && !ev.At.After(now) {
			e.At = ev.At.UTC()
		}
		e.Payload = PagerDutyPayload{Event: ev.Type, Agent: ev.Agent.Name, Incident: ev.IncidentID, Summary: ev.Summary}
		return []Event{e}, nil
	})
	if err != nil || !applied {
		return err
	}
	if resolvedHere && stored.Channel.ID != "" {
		notice := Notice{Kind: NoticeResolvedInPagerDuty, Incident: stored.Number, PagerDutyIncident: ev.IncidentID, Status: stored.Status}
		if err := a.deps.Poster.Notice(ctx, stored.Channel.ID, notice); err != nil {
			a.log().Warn("telling the channel PagerDuty resolved its incident", "incident", stored.Number, "err", err)
		}
	}
	return nil
}

// ServiceOwnership is the answer to "/incident owners".
type ServiceOwnership struct {
	// Service is empty when a bare path was asked about in a repository
	// several services share (a monorepo): the owners come from
	// CODEOWNERS and who is on call from their team.
	Service string
	Repo    string
	Path    string
	Found   bool      // a CODEOWNERS rule matched
	Rule    OwnerRule // the rule that matched
	Team    *Team     // the team of config the owners map to, if any
	// TeamFromService is set when Team comes from services[].team (no
	// CODEOWNERS rule named a team of config).
	TeamFromService bool
	OnCall          []Person // who is on call now for it
	// Policy is the PagerDuty escalation policy (or schedule) by name, or
	// by ID when PagerDutyOff (PagerDuty is not configured).
	Policy       string
	PagerDutyOff bool
	// Problems say what could not be read.
	Problems []Problem
}

// ServiceOwners answers who owns a service (or a path in its repository):
// the CODEOWNERS rule that matched, the team it maps to, who is on call now
// and the escalation policy.
func (a *App) ServiceOwners(ctx context.Context, service, path string) (ServiceOwnership, error) {
	svc, ok := a.Service(service)
	if !ok {
		return ServiceOwnership{}, a.unknownService(service)
	}
	o, _ := a.owners(ctx, svc, path)
	return o, nil
}

// PathOwners answers "/incident owners <path>" asked without a service:
// the path is read in the repository it names ("acme/checkout/db/x.sql",
// a configured service's repo), else in the one repository the services
// name. With several repositories and none named, it asks for a service.
func (a *App) PathOwners(ctx context.Context, path string) (ServiceOwnership, error) {
	path = strings.TrimPrefix(strings.TrimSpace(path), "/")
	var repos []string
	for _, s := range a.deps.Services {
		if s.Repo != "" && !slices.ContainsFunc(repos, func(r string) bool { return strings.EqualFold(r, s.Repo) }) {
			repos = append(repos, s.Repo)
		}
	}
	repo := ""
	for _, r := range repos {
		if rest, ok := cutPrefixFold(path, r+"/"); ok {
			repo, path = r, rest
			break
		}
	}
	switch {
	case repo != "":
	case len(repos) == 1:
		repo = repos[0]
	case len(repos) == 0:
		return ServiceOwnership{}, Fail(CodeBadInput, ReasonNoReposForOwners, "", ErrorArgs{})
	default:
		return ServiceOwnership{}, Fail(CodeBadInput, ReasonWhichRepo, FieldPath, ErrorArgs{Input: truncate(path, 80), Repos: repos, Services: a.serviceList()})
	}
	// The service whose repo it is, when only one service lives there
	// (its PagerDuty config says who is on call).
	var in []Service
	for _, s := range a.deps.Services {
		if strings.EqualFold(s.Repo, repo) {
			in = append(in, s)
		}
	}
	if len(in) == 1 {
		o, _ := a.owners(ctx, in[0], path)
		return o, nil
	}
	o, _ := a.owners(ctx, Service{Repo: repo}, path)
	return o, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// teamNamed is the team of config whose GitHub name is owner.
func (a *App) teamNamed(owner string) *Team {
	if i := slices.IndexFunc(a.deps.Teams, func(t Team) bool { return strings.EqualFold(t.GitHub, owner) }); i >= 0 {
		t := a.deps.Teams[i]
		return &t
	}
	return nil
}

// owners is the ownership of path in svc's repository: CODEOWNERS first,
// then services[].team; who is on call from the service's PagerDuty
// config, else from the team's.
//
// The error is CODEOWNERS that could not be read (also in Problems).
func (a *App) owners(ctx context.Context, svc Service, path string) (ServiceOwnership, error) {
	o := ServiceOwnership{Service: svc.Name, Repo: svc.Repo, Path: path}
	var readErr error
	if svc.Repo != "" && a.deps.Owners != nil {
		rule, found, err := a.deps.Owners.Owner(ctx, svc.Repo, path)
		if readErr = err; err != nil {
			o.Problems = append(o.Problems, Problem{Kind: ProblemCodeownersUnread, Repo: svc.Repo, Err: oneLine(err.Error(), 300)})
		}
		o.Found, o.Rule = found, rule
		if found {
			for _, owner := range rule.Owners {
				if o.Team = a.teamNamed(owner); o.Team != nil {
					break
				}
			}
		}
	} else if svc.Repo == "" && svc.Team == "" {
		o.Problems = append(o.Problems, Problem{Kind: ProblemNoRepo})
	} else if svc.Repo != "" && svc.Team == "" {
		o.Problems = append(o.Problems, Problem{Kind: ProblemGitHubOff})
	}
	if o.Team == nil && svc.Team != "" {
		if o.Team = a.teamNamed(svc.Team); o.Team != nil {
			o.TeamFromService = true
		}
	}
	policy, schedule := svc.PagerDuty.EscalationPolicy, svc.PagerDuty.Schedule
	if policy == "" && schedule == "" && o.Team != nil {
		policy, schedule = o.Team.EscalationPolicy, o.Team.Schedule
	}
	if (policy != "" || schedule != "") && a.deps.OnCalls != nil {
		ps, err := a.deps.OnCalls.OnCallNow(ctx, policy, schedule)
		if err != nil {
			o.Problems = append(o.Problems, Problem{Kind: ProblemOnCallUnread, Err: oneLine(err.Error(), 300)})
		}
		o.OnCall = ps
		if policy != "" {
			o.Policy = a.deps.OnCalls.TargetName(ctx, Target{TargetPDPolicy, policy})
		} else {
			o.Policy = a.deps.OnCalls.TargetName(ctx, Target{TargetPDSchedule, schedule})
		}
	} else if policy != "" || schedule != "" {
		o.Policy, o.PagerDutyOff = cmp.Or(policy, schedule), true
	}
	return o, readErr
}

// SlackFor finds a PagerDuty person's Slack user ("" when not found).
func (a *App) SlackFor(ctx context.Context, p Person) string { return a.slackOf(ctx, p) }
