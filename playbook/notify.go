package playbook

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The tiers that page nobody (SEV3 and SEV4 by default) still tell the
// service's owning team, once, as a declaration step: a GitHub issue in the
// service's repo when GitHub is configured, else a mention of the team's
// Slack group in the incident channel (its members invited, since a
// mention reaches only a channel's members). Neither is a page: no
// PagerDuty, no escalation, and the declarer's acknowledgement stands.

// StepNotifyOwners is telling the owning team, run with the other setup
// steps; a failure is reported with the Retry button and retried at start.
const StepNotifyOwners Step = "notify_owners"

// OwnerIssueBody is what the owning team's GitHub issue says, for
// RenderOwnerIssue. Mentions are CODEOWNERS handles Klaxon checked
// (@org/team, @login): they stay live so GitHub notifies the team;
// everything else is text to escape.
type OwnerIssueBody struct {
	Number   int64
	Severity Severity
	Impact   string // the tier's definition, when the operator set one
	Service  string
	Title    string
	Channel  string // the channel's name, without #
	Declarer string // a name
	Declared time.Time
	Mentions []string
	Rule     OwnerRule // the CODEOWNERS rule (zero when the team came from services[].team)
	Team     string    // the team of config, when one matched
}

// ghHandleRE is a CODEOWNERS owner that is a GitHub user or team (not an
// e-mail): the only text the issue leaves as a live mention.
var ghHandleRE = regexp.MustCompile(`^@[A-Za-z0-9][A-Za-z0-9-]{0,38}(/[A-Za-z0-9_.-]{1,100})?$`)

// ownersToTell reports whether a tier that pages nobody has someone to
// tell for svc: owners in CODEOWNERS (an issue names them even without a
// team of config) or a team of config (its Slack group).
func (a *App) ownersToTell(svc Service) bool {
	return (svc.Repo != "" && a.deps.Owners != nil && (a.deps.Tickets != nil || len(a.deps.Teams) > 0)) || (svc.Team != "" && len(a.deps.Teams) > 0)
}

func ownersMarker(n int64) string { return fmt.Sprintf("klaxon:incident-%d:owners", n) }

// notifyOwners tells incident n's owning team, if that is still to do. An
// error (CODEOWNERS or GitHub unreachable, with no Slack group to fall back
// on) leaves it to do, for the Retry button and the next start; a filing
// interrupted after GitHub was asked adopts the issue filed then.
func (a *App) notifyOwners(ctx context.Context, n int64) error {
	mu := a.lockOf(&a.notifying, n)
	mu.Lock()
	defer mu.Unlock()
	inc, err := a.deps.Store.Get(ctx, n)
	if err != nil {
		return err
	}
	if inc.Paging == nil || !inc.Paging.Notify {
		return nil
	}
	svc, _ := a.Service(inc.Service)
	own, err := a.owners(ctx, svc, "")
	if err != nil && own.Team == nil {
		return fmt.Errorf("read the owners of %s: %w", svc.Name, err)
	}
	now := a.deps.Clock.Now().UTC()
	notice := PageNotice{Kind: PageOwners}
	team := ""
	var mentions []string
	if own.Found {
		for _, o := range own.Rule.Owners {
			if ghHandleRE.MatchString(o) {
				mentions = append(mentions, o)
			}
		}
	}
	if own.Team != nil {
		team = own.Team.GitHub
		if !slices.ContainsFunc(mentions, func(m string) bool { return strings.EqualFold(m, team) }) && ghHandleRE.MatchString(team) {
			mentions = append(mentions, team)
		}
	}
	notice.Team = strings.Join(mentions, ", ")
	if len(mentions) == 0 && own.Team == nil {
		// Nobody to tell: said in the channel, and done (nothing will
		// change on a retry but the config).
		notice.Problems = append(notice.Problems, own.Problems...)
		notice.Problems = append(notice.Problems, Problem{Kind: ProblemNoOwner, Severity: inc.Severity, Service: svc.Name})
		return a.finishNotify(ctx, n, notice, nil, "", now)
	}
	useGitHub := a.deps.Tickets != nil && svc.Repo != "" && !inc.Private && len(mentions) > 0
	if useGitHub {
		t, ferr := a.fileOwnerIssue(ctx, inc, svc, own, mentions)
		if ferr == nil {
			notice.Issue = &t
			ev := NewEvent(EventOwnersTold, ActorKlaxon, a.deps.Clock.Now(), "")
			ev.Payload = OwnersToldPayload{Via: "github", Team: notice.Team, URL: t.URL, Issue: fmt.Sprintf("%s#%d", t.Repo, t.Number)}
			return a.finishNotify(ctx, n, notice, []Event{ev}, "github", now)
		}
		if own.Team == nil || own.Team.SlackGroup == "" {
			return fmt.Errorf("open a GitHub issue for the owning team: %w", ferr)
		}
		// GitHub refused or is down, and the team has a Slack group: tell
		// it there rather than not at all.
		a.log().Warn("opening the owning team's GitHub issue; telling its Slack group instead", "incident", n, "err", ferr)
		notice.Problems = append(notice.Problems, Problem{Kind: ProblemIssueFailed, Err: oneLine(ferr.Error(), 300)})
	}
	if own.Team == nil || own.Team.SlackGroup == "" {
		why := WhyGitHubOff
		switch {
		case inc.Private:
			why = WhyPrivate
		case a.deps.Tickets != nil && svc.Repo == "":
			why = WhyNoRepo
		}
		notice.Problems = append(notice.Problems, Problem{Kind: ProblemTeamUntold, Severity: inc.Severity, Team: notice.Team, Why: why})
		return a.finishNotify(ctx, n, notice, nil, "", now)
	}
	group := own.Team.SlackGroup
	notice.Slack = []string{group}
	if inc.Channel.ID != "" {
		if err := a.deps.Channels.Invite(ctx, inc.Channel.ID, []string{group}); err != nil {
			notice.Problems = append(notice.Problems, Problem{Kind: ProblemTeamInviteFailed, Err: oneLine(err.Error(), 300)})
		}
	}
	ev := NewEvent(EventOwnersTold, ActorKlaxon, now, "")
	ev.Payload = OwnersToldPayload{Via: "slack", Team: own.Team.GitHub, SlackGroup: group}
	return a.finishNotify(ctx, n, notice, []Event{ev}, "slack", now)
}

// fileOwnerIssue opens (or, after an interrupted attempt, adopts) the
// owning team's issue in svc's repo: labelled incident, the severity and
// team:<name> per team owner, assigned to the user owners.
func (a *App) fileOwnerIssue(ctx context.Context, inc Incident, svc Service, own ServiceOwnership, mentions []string) (Ticket, error) {
	if inc.Paging.OwnerIssue != nil {
		return *inc.Paging.OwnerIssue, nil
	}
	adopt := !inc.Paging.OwnerFiling.IsZero()
	filing := a.deps.Clock.Now().UTC()
	if _, err := a.deps.Store.Update(ctx, inc.Number, func(i *Incident) ([]Event, error) {
		i.Paging.OwnerFiling = filing
		return nil, nil
	}); err != nil {
		return Ticket{}, err
	}
	labels := []string{"incident", strings.ToLower(inc.Severity.String())}
	var assignees []string
	for _, m := range mentions {
		org, name, isTeam := strings.Cut(strings.TrimPrefix(m, "@"), "/")
		if isTeam {
			labels = append(labels, truncate("team:"+name, 50))
		} else if len(assignees) < 10 {
			assignees = append(assignees, org)
		}
	}
	body := OwnerIssueBody{Number: inc.Number, Severity: inc.Severity, Impact: a.deps.Tiers.Get(inc.Severity).Impact, Service: svc.Name,
		Title: oneLine(inc.Title, 200), Channel: inc.Channel.Name, Declarer: inc.Declarer, Declared: inc.DeclaredAt(), Mentions: mentions}
	if a.deps.People != nil {
		if names := a.deps.People.Names(ctx, []string{inc.Declarer}); names[inc.Declarer] != "" {
			body.Declarer = names[inc.Declarer]
		}
	}
	if own.Found {
		body.Rule = own.Rule
	}
	if own.Team != nil {
		body.Team = own.Team.GitHub
	}
	text, err := a.ownerIssueText(body)
	if err != nil {
		return Ticket{}, err
	}
	return a.deps.Tickets.File(ctx, TicketRequest{
		Repo:  svc.Repo,
		Title: truncate(fmt.Sprintf("[INC-%d] %s: %s", inc.Number, inc.Severity, oneLine(inc.Title, 200)), 250),
		Body:  text, Labels: labels, Assignees: assignees,
		Marker: ownersMarker(inc.Number), Adopt: adopt,
	})
}

// ownerIssueText renders the issue body (RenderOwnerIssue, templates'
// owner_issue.md.tmpl, escapes what people typed). Without a renderer, or
// when it fails, the issue is not opened: the team is told through its
// Slack group instead, as when GitHub fails.
func (a *App) ownerIssueText(b OwnerIssueBody) (string, error) {
	if a.deps.RenderOwnerIssue == nil {
		return "", errors.New("no renderer for the issue body (Deps.RenderOwnerIssue)")
	}
	s, err := a.deps.RenderOwnerIssue(b)
	if err != nil {
		a.log().Error("rendering the owning team's issue body", "incident", b.Number, "err", err)
		return "", fmt.Errorf("rendering the issue body: %w", err)
	}
	return s, nil
}

// finishNotify tells the channel and records that the owning team was told
// (or why it could not be), checking "service owner identified and paged"
// when it was.
func (a *App) finishNotify(ctx context.Context, n int64, notice PageNotice, evs []Event, via string, now time.Time) error {
	done := false
	inc, err := a.deps.Store.Update(ctx, n, func(i *Incident) ([]Event, error) {
		done = false
		if i.Paging == nil || !i.Paging.Notify {
			return nil, nil // another run finished it
		}
		done = true
		i.Paging.Notify, i.Paging.Told, i.Paging.OwnerIssue = false, via, notice.Issue
		if via != "" {
			i.check(ItemOwnerPaged, ActorKlaxon, now)
		}
		return evs, nil
	})
	if err != nil || !done {
		return err
	}
	if a.deps.PageChat != nil && inc.Channel.ID != "" {
		if err := a.deps.PageChat.PostPage(ctx, a.Briefing(inc), notice); err != nil {
			a.log().Warn("posting the owning team's notice", "incident", n, "err", err)
		}
	}
	return nil
}
