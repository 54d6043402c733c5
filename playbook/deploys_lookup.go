package playbook

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// This file holds the deploys posted at declaration: the lookup, the one
// stored suspect (shared with the rollback guidance), "This is the cause" /
// "Not this one", and /incident deploys.

// DeployQuery asks the deploy source what was deployed.
type DeployQuery struct {
	// Services are read in their repo and environment (each repo and
	// environment once).
	Services []Service
	// From and To bound the deploys read in full (created in [From, To]).
	From, To time.Time
	// Risky says whether a changed file flags a migration or DDL.
	Risky func(path string) bool
}

// DeployLookup reads deploys and what they shipped (GitHub).
type DeployLookup interface {
	// Investigate returns, for each service's repo and environment, the
	// deploys created in [q.From, q.To], newest first, with their latest
	// status and, for successful ones, the pull requests they shipped
	// (Detailed set): author, approving reviews, changed files, those
	// matching q.Risky. It adds older deploys, with their status only, back
	// to the previous successful one of another commit (at most
	// KnownGoodLookback before q.From), for the rollback hint.
	Investigate(ctx context.Context, q DeployQuery) ([]DeployRecord, error)
}

// DeployReport is what the deploys message shows.
type DeployReport struct {
	// Services names what was looked at: one service, or every service
	// with a repo.
	Services []Service
	From     time.Time
	Detected time.Time
	Until    time.Time
	Ranked   []Ranked
	// Confirmed is set when the suspect was confirmed as the cause; By is
	// who confirmed it ("klaxon" for the watchdog).
	Confirmed   bool
	ConfirmedBy string
	// Windows are the heightened windows open at Until.
	Windows []HeightenedWindow
}

// Suspect returns the suspect, if there is one.
func (r DeployReport) Suspect() (Ranked, bool) {
	if len(r.Ranked) > 0 && r.Ranked[0].Verdict == VerdictSuspect {
		return r.Ranked[0], true
	}
	return Ranked{}, false
}

// DeployPoster shows deploys in Slack.
type DeployPoster interface {
	// PostDeploys posts the deploys message in the incident's channel, or
	// edits it in place when m is not zero, and returns where it is.
	PostDeploys(ctx context.Context, b Briefing, r DeployReport, m MessageRef) (MessageRef, error)
	// PostDeploysFailure says in the channel that the lookup failed, with a
	// Retry button.
	PostDeploysFailure(ctx context.Context, b Briefing, n Notice) error
}

// DeployRef is a deploy an incident refers to: its suspect.
type DeployRef struct {
	Repo string `json:"repo"`
	Deploy
	Flags      []RiskFlag `json:"flags,omitempty"`
	KnownGood  *Deploy    `json:"known_good,omitempty"`
	CompareURL string     `json:"compare_url,omitempty"`
}

// Key is the deploy's DeployKey.
func (d DeployRef) Key() string { return DeployKey(d.Repo, d.ID) }

// DeployFinding is what an incident knows of its deploys: the one stored
// suspect (the rollback guidance uses it too), whether it was confirmed as
// the cause, the deploys rejected, and the deploys message.
type DeployFinding struct {
	From     time.Time `json:"from,omitzero"`
	Detected time.Time `json:"detected,omitzero"`
	Until    time.Time `json:"until,omitzero"`
	// Suspect is the most likely cause (nil when no deploy qualifies).
	Suspect *DeployRef `json:"suspect,omitempty"`
	// Confirmed: the suspect was linked to the incident as its cause, by
	// ConfirmedBy (the watchdog is "klaxon").
	Confirmed   bool      `json:"confirmed,omitempty"`
	ConfirmedBy string    `json:"confirmed_by,omitempty"`
	ConfirmedAt time.Time `json:"confirmed_at,omitzero"`
	// Watchdog: the incident was declared inside the suspect's heightened
	// window.
	Watchdog bool `json:"watchdog,omitempty"`
	// Rejected are DeployKeys someone said "Not this one" to.
	Rejected []string `json:"rejected,omitempty"`
	// Keys are the deploys in the window (DeployKeys), for the post-mortem.
	Keys     []string   `json:"keys,omitempty"`
	Msg      MessageRef `json:"msg"`
	Posted   time.Time  `json:"posted,omitzero"`
	Failures int        `json:"failures,omitempty"`
}

// CodeUnavailable: a service Klaxon depends on (GitHub) failed; trying
// again later may work.
const CodeUnavailable Code = "unavailable"

// Deploy timeline events.
const (
	EventDeploy       EventType = "deploy"        // a deploy in the window before the incident
	EventDeployLinked EventType = "deploy_linked" // a deploy was linked to the incident as its cause
	EventDeployRuled  EventType = "deploy_ruled"  // someone ruled a deploy out ("Not this one")
)

// deployServices returns the services whose deploys concern inc: its
// service, or every service with a repo when it names none.
func (a *App) deployServices(service string) []Service {
	if s, ok := a.Service(service); ok {
		if s.Repo == "" {
			return nil
		}
		return []Service{s}
	}
	if service != "" {
		return nil
	}
	var out []Service
	for _, s := range a.deps.Services {
		if s.Repo != "" {
			out = append(out, s)
		}
	}
	return out
}

func (a *App) riskyMatcher() func(string) bool {
	pats := a.deps.RiskyPaths
	if pats == nil {
		pats = DefaultRiskyPaths
	}
	return func(p string) bool { return MatchRiskyPath(pats, p) }
}

// investigate reads the deploys of services created in [from, until],
// stores them in the DeployLog (keeping what the log knew: links, windows)
// and returns every record of those targets the log holds from
// KnownGoodLookback before from, with their flags.
func (a *App) investigate(ctx context.Context, services []Service, from, until time.Time) ([]DeployRecord, error) {
	recs, err := a.deps.DeployLookup.Investigate(ctx, DeployQuery{Services: services, From: from, To: until, Risky: a.riskyMatcher()})
	if err != nil {
		return nil, err
	}
	out := make([]DeployRecord, len(recs))
	for i, r := range recs {
		if r.Detailed {
			r.Flags = RiskFlags(r.PRs, true, a.deps.LargeDiffLines)
		}
		out[i] = r
	}
	if a.deps.DeployLog == nil {
		return out, nil
	}
	// The records are saved side by side: the store can write them in one
	// transaction (bbolt batches concurrent saves) rather than one disk
	// sync each before the deploys are posted.
	var wg sync.WaitGroup
	slots := make(chan struct{}, saveInFlight)
	for i := range out {
		r := out[i]
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			stored, _, err := a.deps.DeployLog.SaveDeploy(ctx, "", r.Repo, r.ID, func(d *DeployRecord, found bool) error {
				keep := *d
				mergeDeploy(d, found, DeployEvent{Repo: r.Repo, RepoURL: r.RepoURL, Deploy: r.Deploy, StatusAt: r.StatusAt})
				if r.State != "" && r.StatusAt.IsZero() {
					d.State = r.State // the lookup's status is the latest GitHub has
				}
				if r.Detailed {
					d.PRs, d.Detailed, d.Flags = r.PRs, true, r.Flags
				}
				d.Incidents, d.WatchUntil, d.Webhook = keep.Incidents, keep.WatchUntil, keep.Webhook
				return nil
			})
			if err != nil {
				a.log().Warn("recording a deploy", "repo", r.Repo, "deploy", r.ID, "err", err)
				return
			}
			out[i] = stored
		})
	}
	wg.Wait()
	return out, nil
}

// saveInFlight bounds the deploy records saved at once after a lookup.
const saveInFlight = 16

// report ranks recs for inc's finding.
func (a *App) report(services []Service, recs []DeployRecord, f DeployFinding, now time.Time) DeployReport {
	r := DeployReport{Services: services, From: f.From, Detected: f.Detected, Until: f.Until,
		Confirmed: f.Confirmed, ConfirmedBy: f.ConfirmedBy}
	r.Ranked = RankDeploys(recs, f.From, f.Detected, f.Until, f.Rejected)
	if f.Confirmed && f.Suspect != nil {
		// The confirmed cause leads, whatever the ranking says.
		for i, rk := range r.Ranked {
			if rk.Key() == f.Suspect.Key() {
				if r.Ranked[0].Verdict == VerdictSuspect && i != 0 {
					r.Ranked[0].Verdict = VerdictCandidate
				}
				rk.Verdict = VerdictSuspect
				r.Ranked = slices.Insert(slices.Delete(r.Ranked, i, i+1), 0, rk)
				break
			}
		}
	}
	r.Windows = openWindows(recs, services, now)
	return r
}

func refOf(r Ranked) *DeployRef {
	return &DeployRef{Repo: r.Repo, Deploy: r.Deploy, Flags: r.Flags, KnownGood: r.KnownGood, CompareURL: r.CompareURL}
}

// PostDeploys looks up the deploys that preceded incident n and posts them
// in its channel: the suspect first with its rollback hint, the checklist
// item "recent deployments identified" checked. It runs once per incident
// (again with force, the Retry button); GitHub failing is said in the
// channel with a Retry button and the incident is otherwise untouched.
func (a *App) PostDeploys(ctx context.Context, n int64, force bool) error {
	if a.deps.DeployLookup == nil || a.deps.DeployPoster == nil {
		return nil
	}
	mu := a.lockOf(&a.deploying, n)
	mu.Lock()
	defer mu.Unlock()
	inc, err := a.deps.Store.Get(ctx, n)
	if err != nil {
		return err
	}
	services := a.deployServices(inc.Service)
	if len(services) == 0 || inc.Channel.ID == "" {
		return nil
	}
	if f := inc.Deploys; !force && f != nil && (!f.Posted.IsZero() || f.Failures >= MaxStepAttempts) {
		return nil
	}
	now := a.deps.Clock.Now().UTC()
	detected := inc.Times[PhaseDetected]
	if detected.IsZero() {
		detected = inc.DeclaredAt()
	}
	f := DeployFinding{From: detected.Add(-a.deployWindow()), Detected: detected, Until: now}
	if inc.Deploys != nil {
		f = *inc.Deploys
		f.From, f.Detected, f.Until = detected.Add(-a.deployWindow()), detected, now
	}
	recs, err := a.investigate(ctx, services, f.From, now)
	if err != nil {
		return a.deploysFailed(ctx, inc, err)
	}
	// Deploys before From serve the rollback hint only.
	recs = slices.DeleteFunc(recs, func(d DeployRecord) bool { return !targetsAny(d, services) })
	rep := a.report(services, recs, f, now)
	if s, ok := rep.Suspect(); ok && !f.Confirmed {
		f.Suspect = refOf(s)
	} else if !ok && !f.Confirmed {
		f.Suspect = nil
	}
	f.Keys = f.Keys[:0]
	for _, rk := range rep.Ranked {
		f.Keys = append(f.Keys, rk.Key())
	}
	m, err := a.deps.DeployPoster.PostDeploys(ctx, a.Briefing(inc), rep, f.Msg)
	if err != nil {
		return a.deploysFailed(ctx, inc, fmt.Errorf("posting the deploys: %w", err))
	}
	f.Msg, f.Posted, f.Failures = m, now, 0
	var refresh claim
	_, err = a.deps.Store.Update(ctx, n, func(i *Incident) ([]Event, error) {
		if i.Deploys != nil {
			// A click may have landed meanwhile: keep its verdicts.
			f.Confirmed, f.ConfirmedBy, f.ConfirmedAt, f.Rejected = i.Deploys.Confirmed, i.Deploys.ConfirmedBy, i.Deploys.ConfirmedAt, i.Deploys.Rejected
			if i.Deploys.Confirmed {
				f.Suspect = i.Deploys.Suspect
			}
		}
		first := i.Deploys == nil || i.Deploys.Posted.IsZero()
		i.Deploys = &f
		var evs []Event
		if i.check(ItemDeploys, ActorKlaxon, now) {
			evs = append(evs, checkEvent(ItemDeploys, ActorKlaxon, now, true))
		}
		if first {
			evs = append(evs, deployEvents(rep, now)...)
		}
		// The checklist shows the deploys item checked: its refresh is
		// stored with the check.
		refresh = i.queue(Message{Kind: MessageRefresh, Parts: PartChecklist}, now)
		return evs, nil
	})
	if err != nil {
		return err
	}
	if err := a.deliver(ctx, n, []claim{refresh}); err != nil {
		a.log().Warn("refreshing the checklist after the deploys", "incident", n, "err", err)
	}
	return nil
}

func targetsAny(d DeployRecord, services []Service) bool {
	return slices.ContainsFunc(services, func(s Service) bool { return deploysTo(d, s) })
}

// deployEvents are the timeline entries of the deploys in the window, each
// at its own time, and the suspect.
func deployEvents(rep DeployReport, now time.Time) []Event {
	var evs []Event
	for i, rk := range rep.Ranked {
		if rk.At.Before(rep.From) {
			continue
		}
		ev := NewEvent(EventDeploy, ActorKlaxon, now, "")
		ev.At = rk.At.UTC()
		ev.Payload = DeployPayload{Repo: rk.Repo, SHA: rk.SHA, Environment: rk.Environment, State: rk.State, Creator: rk.Creator, Verdict: rk.Verdict, Key: rk.Key()}
		evs = append(evs, ev)
		if i == 0 && rk.Verdict == VerdictSuspect {
			sev := NewEvent(EventSuspectDeploy, ActorKlaxon, now, "")
			sev.At = rk.At.UTC()
			sp := SuspectPayload{SHA: rk.SHA, Ref: rk.Ref, Creator: rk.Creator, URL: rk.URL, State: rk.State}
			if rk.KnownGood != nil {
				sp.KnownGood = rk.KnownGood.SHA
			}
			sev.Payload = sp
			evs = append(evs, sev)
		}
	}
	return evs
}

// deploysFailed records a failed lookup and tells the channel, with Retry.
func (a *App) deploysFailed(ctx context.Context, inc Incident, cause error) error {
	a.log().Warn("looking up the deploys", "incident", inc.Number, "err", cause)
	now := a.deps.Clock.Now().UTC()
	stored, err := a.deps.Store.Update(ctx, inc.Number, func(i *Incident) ([]Event, error) {
		if i.Deploys == nil {
			i.Deploys = &DeployFinding{}
		}
		i.Deploys.Failures++
		ev := NewEvent(EventStepFailed, ActorKlaxon, now, "")
		ev.Payload = StepFailedPayload{Step: StepDeploys, Error: oneLine(cause.Error(), 300)}
		return []Event{ev}, nil
	})
	if err != nil {
		return errors.Join(cause, err)
	}
	notice := Notice{Kind: NoticeDeploysFailed, Incident: inc.Number, Cause: oneLine(cause.Error(), 300)}
	if err := a.deps.DeployPoster.PostDeploysFailure(ctx, a.Briefing(stored), notice); err != nil {
		a.log().Error("telling the channel the deploy lookup failed", "incident", inc.Number, "err", err)
	}
	return cause
}

// RetryDeploys runs the lookup again on a person's request (the Retry
// button); key makes the click idempotent.
func (a *App) RetryDeploys(ctx context.Context, n int64, actor, key string) error {
	_, applied, err := a.deps.Store.Apply(ctx, n, key, func(inc *Incident) ([]Event, error) {
		ev := NewEvent(EventNote, actor, a.deps.Clock.Now(), "")
		ev.Payload = NotePayload{Retried: RetriedDeploys}
		return []Event{ev}, nil
	})
	if err != nil {
		return storeErr(err, SubjectRetry)
	}
	if !applied {
		return nil
	}
	return a.PostDeploys(ctx, n, true)
}

// deployLookup runs PostDeploys for incident n beside the declaration's
// other steps; wait blocks until it is done.
type deployLookup struct {
	a  *App
	n  int64
	wg sync.WaitGroup
	// stale is set when the deploys were posted before the checklist
	// message was stored: the checklist may have been rendered from the
	// state before the deploys item was checked.
	stale bool
}

// wait waits for the lookup, then re-renders the checklist if its first
// rendering may have missed the deploys item. SetUp calls it after posting
// the checklist.
func (l *deployLookup) wait(ctx context.Context) {
	if l == nil {
		return
	}
	l.wg.Wait()
	if l.stale {
		if err := l.a.refresh(ctx, l.n, PartChecklist); err != nil {
			l.a.log().Warn("refreshing the checklist after the deploys", "incident", l.n, "err", err)
		}
	}
}

// startDeploys starts the deploy lookup for inc once its channel exists,
// so it never delays the ack or the channel.
func (a *App) startDeploys(ctx context.Context, inc Incident) *deployLookup {
	if a.deps.DeployLookup == nil || a.deps.DeployPoster == nil || inc.Channel.ID == "" {
		return nil
	}
	if f := inc.Deploys; f != nil && (!f.Posted.IsZero() || f.Failures >= MaxStepAttempts) {
		return nil
	}
	l := &deployLookup{a: a, n: inc.Number}
	l.wg.Go(func() {
		if err := a.PostDeploys(ctx, inc.Number, false); err != nil {
			a.log().Warn("deploys at declaration", "incident", inc.Number, "err", err)
			return
		}
		if cur, err := a.deps.Store.Get(ctx, inc.Number); err == nil && cur.ChecklistMsg.Zero() {
			l.stale = true
		}
	})
	return l
}

// ---- the cause

// SetDeployVerdict records a person's verdict on deploy key (a DeployKey)
// of incident n: cause=true links it as the cause ("This is the cause"),
// which makes it the suspect and counts it as a failed change; cause=false
// rules it out ("Not this one"), and the next in the ranking becomes the
// suspect. The deploys message is re-rendered. key makes the click
// idempotent.
func (a *App) SetDeployVerdict(ctx context.Context, n int64, deployKey string, cause bool, actor, key string) (Incident, bool, error) {
	inc, err := a.deps.Store.Get(ctx, n)
	if err != nil {
		return Incident{}, false, storeErr(err, SubjectVerdict)
	}
	rec, ok, err := a.findDeploy(ctx, inc, func(d DeployRecord) bool { return d.Key() == deployKey })
	if err != nil {
		return Incident{}, false, err
	}
	if !ok {
		return Incident{}, false, Fail(CodeNotFound, ReasonDeployForgotten, "", ErrorArgs{})
	}
	return a.setVerdict(ctx, inc, rec, cause, actor, key)
}

// LinkCauseBySHA links the deploy of commit sha (at least 7 characters) to
// incident n as its cause: `/incident cause deploy <sha>`.
func (a *App) LinkCauseBySHA(ctx context.Context, n int64, sha, actor, key string) (Incident, DeployRecord, bool, error) {
	sha = strings.ToLower(strings.TrimSpace(sha))
	if len(sha) < 7 || len(sha) > 40 || strings.Trim(sha, "0123456789abcdef") != "" {
		return Incident{}, DeployRecord{}, false, Fail(CodeBadInput, ReasonBadSHA, FieldDeploy, ErrorArgs{})
	}
	inc, err := a.deps.Store.Get(ctx, n)
	if err != nil {
		return Incident{}, DeployRecord{}, false, storeErr(err, SubjectCause)
	}
	rec, ok, err := a.findDeploy(ctx, inc, func(d DeployRecord) bool { return strings.HasPrefix(strings.ToLower(d.SHA), sha) && d.Succeeded() })
	if err != nil {
		return Incident{}, DeployRecord{}, false, err
	}
	if !ok {
		return Incident{}, DeployRecord{}, false, Fail(CodeNotFound, ReasonNoSuchDeploy, FieldDeploy, ErrorArgs{Name: sha})
	}
	inc, applied, err := a.setVerdict(ctx, inc, rec, true, actor, key)
	return inc, rec, applied, err
}

// findDeploy returns the newest recorded deploy of inc's services matching
// keep, created within the lookback before its detection or since.
func (a *App) findDeploy(ctx context.Context, inc Incident, keep func(DeployRecord) bool) (DeployRecord, bool, error) {
	if a.deps.DeployLog == nil {
		return DeployRecord{}, false, Fail(CodeBadInput, ReasonDeploysOff, "", ErrorArgs{})
	}
	detected := inc.Times[PhaseDetected]
	recs, err := a.deps.DeployLog.DeploysSince(ctx, detected.Add(-a.deployWindow()-KnownGoodLookback))
	if err != nil {
		return DeployRecord{}, false, storeErr(err, SubjectDeploy)
	}
	services := a.deployServices(inc.Service)
	for i := len(recs) - 1; i >= 0; i-- {
		if targetsAny(recs[i], services) && keep(recs[i]) {
			return recs[i], true, nil
		}
	}
	return DeployRecord{}, false, nil
}

func (a *App) setVerdict(ctx context.Context, inc Incident, rec DeployRecord, cause bool, actor, key string) (Incident, bool, error) {
	now := a.deps.Clock.Now().UTC()
	n := inc.Number
	dk := rec.Key()
	var unlink string // a cause linked before, now replaced or ruled out
	changed := false
	inc, applied, err := a.deps.Store.Apply(ctx, n, key, func(i *Incident) ([]Event, error) {
		if i.Status == StatusClosed {
			return nil, Fail(CodeBadTransition, ReasonCauseFinal, "", ErrorArgs{Incident: i.Number, Status: i.Status})
		}
		if i.Deploys == nil {
			i.Deploys = &DeployFinding{}
		}
		f := i.Deploys
		wasCause := f.Confirmed && f.Suspect != nil && f.Suspect.Key() == dk
		if cause == wasCause && (cause || slices.Contains(f.Rejected, dk)) {
			return nil, nil
		}
		changed = true
		if f.Confirmed && f.Suspect != nil && (f.Suspect.Key() != dk || !cause) {
			unlink = f.Suspect.Key()
		}
		if cause {
			f.Rejected = slices.DeleteFunc(f.Rejected, func(k string) bool { return k == dk })
			ref := &DeployRef{Repo: rec.Repo, Deploy: rec.Deploy, Flags: rec.Flags}
			if f.Suspect != nil && f.Suspect.Key() == dk {
				ref.KnownGood, ref.CompareURL = f.Suspect.KnownGood, f.Suspect.CompareURL
			}
			f.Suspect, f.Confirmed, f.ConfirmedBy, f.ConfirmedAt = ref, true, actor, now
			ev := NewEvent(EventDeployLinked, actor, now, "")
			ev.Payload = DeployRefPayload{Repo: rec.Repo, SHA: rec.SHA, Key: dk}
			evs := []Event{ev}
			if i.check(ItemDeploys, actor, now) {
				evs = append(evs, checkEvent(ItemDeploys, actor, now, true))
			}
			return evs, nil
		}
		f.Rejected = append(f.Rejected, dk)
		if wasCause {
			f.Confirmed, f.ConfirmedBy, f.ConfirmedAt = false, "", time.Time{}
		}
		ev := NewEvent(EventDeployRuled, actor, now, "")
		ev.Payload = DeployRefPayload{Repo: rec.Repo, SHA: rec.SHA, Key: dk}
		return []Event{ev}, nil
	})
	if err != nil {
		return Incident{}, false, storeErr(err, SubjectVerdict)
	}
	if !applied || !changed {
		return inc, false, nil
	}
	if unlink != "" {
		a.linkIncident(ctx, unlink, n, false)
	}
	if cause {
		a.linkIncident(ctx, dk, n, true)
	}
	// Re-rank from the log (the ruled-out deploy drops, the next leads)
	// and re-render the message.
	if inc.Deploys.Msg.Zero() {
		return inc, true, nil
	}
	inc, err = a.rerank(ctx, inc)
	if err != nil {
		a.log().Warn("re-rendering the deploys", "incident", n, "err", err)
	}
	return inc, true, nil
}

// linkIncident adds (or removes) incident n to the deploy's incidents: a
// deploy linked to an incident is a failed change.
func (a *App) linkIncident(ctx context.Context, deployKey string, n int64, on bool) {
	repo, id, ok := splitDeployKey(deployKey)
	if !ok || a.deps.DeployLog == nil {
		return
	}
	_, _, err := a.deps.DeployLog.SaveDeploy(ctx, "", repo, id, func(d *DeployRecord, found bool) error {
		if !found {
			return errNoDeploy
		}
		d.Incidents = slices.DeleteFunc(d.Incidents, func(x int64) bool { return x == n })
		if on {
			d.Incidents = append(d.Incidents, n)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNoDeploy) {
		a.log().Warn("linking a deploy to an incident", "deploy", deployKey, "incident", n, "err", err)
	}
}

var errNoDeploy = errors.New("no such deploy")

func splitDeployKey(k string) (string, int64, bool) {
	i := strings.LastIndexByte(k, '#')
	if i <= 0 {
		return "", 0, false
	}
	var id int64
	if _, err := fmt.Sscan(k[i+1:], &id); err != nil {
		return "", 0, false
	}
	return k[:i], id, true
}

// rerank ranks the recorded deploys again for inc, stores the suspect and
// edits the deploys message.
func (a *App) rerank(ctx context.Context, inc Incident) (Incident, error) {
	mu := a.lockOf(&a.deploying, inc.Number)
	mu.Lock()
	defer mu.Unlock()
	services := a.deployServices(inc.Service)
	f := *inc.Deploys
	recs, err := a.deps.DeployLog.DeploysSince(ctx, f.From.Add(-KnownGoodLookback))
	if err != nil {
		return inc, err
	}
	recs = slices.DeleteFunc(recs, func(d DeployRecord) bool { return !targetsAny(d, services) })
	rep := a.report(services, recs, f, a.deps.Clock.Now().UTC())
	inc, err = a.deps.Store.Update(ctx, inc.Number, func(i *Incident) ([]Event, error) {
		if i.Deploys == nil || i.Deploys.Confirmed {
			return nil, nil
		}
		if s, ok := rep.Suspect(); ok {
			i.Deploys.Suspect = refOf(s)
		} else {
			i.Deploys.Suspect = nil
		}
		return nil, nil
	})
	if err != nil {
		return inc, err
	}
	_, err = a.deps.DeployPoster.PostDeploys(ctx, a.Briefing(inc), rep, inc.Deploys.Msg)
	return inc, err
}

// ---- on demand

// RecentDeploys reads the deploys of service (every service with a repo
// when empty) created in the window before now, ranked as if an incident
// had been detected now, with the open heightened windows.
func (a *App) RecentDeploys(ctx context.Context, service string, window time.Duration) (DeployReport, error) {
	if window <= 0 {
		window = a.deployWindow()
	}
	if window > KnownGoodLookback {
		return DeployReport{}, Fail(CodeBadInput, ReasonDeployWindowTooLong, FieldWindow, ErrorArgs{})
	}
	services := a.deployServices(service)
	if service != "" {
		s, ok := a.Service(service)
		if !ok {
			return DeployReport{}, a.unknownService(service)
		}
		if s.Repo == "" {
			return DeployReport{}, Fail(CodeBadInput, ReasonServiceNoRepo, FieldService, ErrorArgs{Name: s.Name})
		}
	}
	if len(services) == 0 {
		return DeployReport{}, Fail(CodeBadInput, ReasonNoRepos, "", ErrorArgs{})
	}
	if a.deps.DeployLookup == nil {
		return DeployReport{}, Fail(CodeBadInput, ReasonGitHubOff, "", ErrorArgs{})
	}
	now := a.deps.Clock.Now().UTC()
	from := now.Add(-window)
	recs, err := a.investigate(ctx, services, from, now)
	if err != nil {
		return DeployReport{}, &Error{Code: CodeUnavailable, Reason: ReasonGitHubUnavailable, Args: ErrorArgs{Detail: oneLine(err.Error(), 300)}, Err: err}
	}
	rep := a.report(services, recs, DeployFinding{From: from, Detected: now, Until: now}, now)
	if ws, err := a.OpenWindows(ctx, now); err == nil {
		rep.Windows = ws
	}
	return rep, nil
}

// Short is the deploy's 7-character SHA.
func (d DeployRef) Short() string { return shortSHA(d.SHA) }
