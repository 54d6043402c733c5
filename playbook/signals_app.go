package playbook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"
)

// SignalStore persists detection: each service's live signal groups and the
// open incident its alerts go to, and every group ever made (for
// /incident signals). Each method is one transaction.
type SignalStore interface {
	// UpdateService applies fn to the detection state of service ("" for
	// unrouted alerts): its live groups, loaded, and its incident. Groups
	// fn adds with ID 0 get an ID; groups fn moves to Retired are stored
	// but no longer loaded. If fn returns an error nothing is written.
	UpdateService(ctx context.Context, service string, fn func(*ServiceSignals) error) (ServiceSignals, error)
	// Group returns group id, or an error whose code is CodeNotFound.
	Group(ctx context.Context, id int64) (SignalGroup, error)
	// UpdateGroup applies fn to group id and stores it.
	UpdateGroup(ctx context.Context, id int64, fn func(*SignalGroup) error) (SignalGroup, error)
	// Groups returns up to limit groups for which keep is true, newest first.
	Groups(ctx context.Context, keep func(*SignalGroup) bool, limit int) ([]SignalGroup, error)
}

// Offer is what the triage channel shows of a group: the signals, the
// deploy, the confidence and a button to declare.
type Offer struct {
	Group   SignalGroup
	Service Service
	// Incident is set once the group became an incident (the offer then
	// says so instead of offering).
	Incident *Incident
	// Key is the group's OfferKey: PostOffer attaches it to the message so
	// that FindOffer finds it.
	Key string
}

// Offers posts and edits the offer in the triage channel: one message per
// group, edited in place.
type Offers interface {
	PostOffer(ctx context.Context, channel string, o Offer) (MessageRef, error)
	UpdateOffer(ctx context.Context, m MessageRef, o Offer) error
	// FindOffer looks among the channel's messages posted around since for
	// the offer PostOffer posted with key: found is false when there is
	// none (a post that failed for good).
	FindOffer(ctx context.Context, channel, key string, since time.Time) (m MessageRef, found bool, err error)
}

// Detection configures alert intake (alerts.* in the config).
type Detection struct {
	Rules DetectionRules
	// TriageChannel is where offers are posted ("" : none are posted; low
	// and medium groups are only listed).
	TriageChannel string
	// DefaultService takes unmatched alerts; "" records them as unrouted.
	DefaultService string
	// SharedStore says that other processes may use the store at the same
	// time (PostgreSQL replicas): a group's assessment another process holds
	// is left to it until its lease runs out (a dead holder's work is then
	// taken by the leader's next ResumeDetection). Otherwise (bbolt, locked to one
	// process) a hold left by another process is a dead one's, taken over
	// at once.
	SharedStore bool
}

// SignalEvent is the timeline event of a signal firing, at its start.
func SignalEvent(s Signal) Event {
	ev := NewEvent(EventSignal, ActorKlaxon, s.Received, fmt.Sprintf("alert %s fired (%s)", s.Name, s.Kind))
	ev.At = s.StartsAt.UTC()
	ev.Payload = SignalPayload{Name: s.Name, Kind: s.Kind, Key: s.Key, Summary: truncate(s.Summary, 300), URL: s.URL, BurnRate: max(s.BurnRate, 0)}
	return ev
}

func signalResolvedEvent(s Signal) Event {
	ev := NewEvent(EventSignalResolved, ActorKlaxon, s.EndsAt, "alert "+s.Name+" resolved")
	ev.Payload = SignalPayload{Name: s.Name, Kind: s.Kind, Key: s.Key}
	return ev
}

// IngestResult counts what a batch of alerts did.
type IngestResult struct {
	Alerts   int // alerts in the batch
	New      int // new signals
	Resolved int // signals ended
	Repeats  int // alerts already recorded as they are (redeliveries, repeats)
	Dropped  int // resolutions of signals never seen firing
	Unrouted int // alerts matching no service (and no default service)
	// ToIncident counts the signals sent to an open incident's timeline.
	ToIncident int
}

// IngestAlerts records a batch of alerts (one Alertmanager notification)
// and returns at once: each alert joins its service's group, or its open
// incident's timeline; the groups that changed are then assessed in the
// background (AssessGroup), so the sender gets its answer fast. A batch
// received twice changes nothing the second time.
func (a *App) IngestAlerts(ctx context.Context, alerts []Alert) (IngestResult, error) {
	res := IngestResult{Alerts: len(alerts)}
	if a.deps.Signals == nil {
		return res, Fail(CodeBadInput, ReasonAlertsOff, "", ErrorArgs{})
	}
	routes := Routes(a.deps.Services)
	bySvc := map[string][]Alert{}
	for _, al := range alerts {
		svc := Route(routes, al.Labels, a.deps.Detection.DefaultService)
		if svc == "" {
			res.Unrouted++
		}
		bySvc[svc] = append(bySvc[svc], al)
	}
	return a.ingestRouted(ctx, bySvc, res)
}

// ingestRouted records alerts already routed to their service.
func (a *App) ingestRouted(ctx context.Context, bySvc map[string][]Alert, res IngestResult) (IngestResult, error) {
	now := a.deps.Clock.Now().UTC()
	rules := a.deps.Detection.Rules
	for _, svc := range slices.Sorted(maps.Keys(bySvc)) {
		if err := a.releaseResolvedIncident(ctx, svc, now); err != nil {
			return res, err
		}
		var outs []Ingested
		st, err := a.deps.Signals.UpdateService(ctx, svc, func(st *ServiceSignals) error {
			outs = outs[:0]
			for _, al := range bySvc[svc] {
				outs = append(outs, rules.Ingest(st, al, now))
			}
			rules.Retire(st, now)
			return nil
		})
		if err != nil {
			return res, &Error{Code: CodeStore, Reason: ReasonNotRecorded, Args: ErrorArgs{Subject: SubjectAlerts}, Err: err}
		}
		changed := map[int64]bool{}
		for _, o := range outs {
			switch {
			case o.Dropped:
				res.Dropped++
				continue
			case !o.Changed:
				res.Repeats++
				continue
			case o.Signal.Firing():
				res.New++
			default:
				res.Resolved++
			}
			g := groupWith(st.Groups, o.Signal.Key)
			if g == nil {
				continue // retired in this very change (its last signal resolved)
			}
			if g.Incident != 0 {
				if err := a.signalToIncident(ctx, g.Incident, o.Signal); err != nil {
					a.log().Error("adding a signal to an incident's timeline", "incident", g.Incident, "err", err)
				} else {
					res.ToIncident++
				}
				continue
			}
			changed[g.ID] = true
		}
		for _, id := range slices.Sorted(maps.Keys(changed)) {
			a.assessSoon(ctx, id)
		}
	}
	return res, nil
}

func groupWith(groups []SignalGroup, key string) *SignalGroup {
	for i := range groups {
		for _, s := range groups[i].Signals {
			if s.Key == key {
				return &groups[i]
			}
		}
	}
	return nil
}

// releaseResolvedIncident unlinks svc from its incident once that incident
// is resolved, so the next alert opens a new group instead of going to the
// timeline of an outage that is over.
func (a *App) releaseResolvedIncident(ctx context.Context, svc string, now time.Time) error {
	var linked int64
	if _, err := a.deps.Signals.UpdateService(ctx, svc, func(st *ServiceSignals) error {
		linked = st.Incident
		return errNoChange
	}); err != nil && !errors.Is(err, errNoChange) {
		return &Error{Code: CodeStore, Reason: ReasonNotRead, Args: ErrorArgs{Subject: SubjectAlertState}, Err: err}
	}
	if linked == 0 {
		return nil
	}
	inc, err := a.deps.Store.Get(ctx, linked)
	if err == nil && inc.Status.Open() {
		return nil
	}
	if err != nil && ErrorCode(err) != CodeNotFound {
		return &Error{Code: CodeStore, Reason: ReasonNotRead, Args: ErrorArgs{Subject: SubjectIncident}, Err: err}
	}
	_, err = a.deps.Signals.UpdateService(ctx, svc, func(st *ServiceSignals) error {
		RetireIncident(st, linked, now)
		return nil
	})
	return err
}

// errNoChange makes an update a read: fn returns it and nothing is written.
var errNoChange = errors.New("no change")

// signalToIncident puts a signal on incident n's timeline, once per firing
// and once per resolution.
func (a *App) signalToIncident(ctx context.Context, n int64, s Signal) error {
	ev, key := SignalEvent(s), "signal:"+s.Key
	if !s.Firing() {
		ev, key = signalResolvedEvent(s), key+":resolved"
	}
	_, _, err := a.deps.Store.Apply(ctx, n, key, func(*Incident) ([]Event, error) { return []Event{ev}, nil })
	return err
}

// detectionState is the background assessment's bookkeeping.
type detectionState struct {
	mu      sync.Mutex
	running map[int64]bool // groups being assessed
	again   map[int64]bool // groups that changed while being assessed
	wg      sync.WaitGroup
	deploys map[string]cachedDeploys
	owner   string // this process's ID in SignalGroup.Assessor
}

// assessLease is how long a process holds a group's assessment without
// renewing it: longer than a pass may take (assessPassTimeout), so a live
// holder never loses it; a dead one's runs out after this.
const (
	assessPassTimeout = 2 * time.Minute
	assessLease       = assessPassTimeout + time.Minute
)

// assessor returns this process's ID, made on first use.
func (a *App) assessor() string {
	d := &a.detection
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.owner == "" {
		b := make([]byte, 8)
		rand.Read(b)
		d.owner = hex.EncodeToString(b)
	}
	return d.owner
}

// claimAssessment takes group id's assessment for this process, in the
// store's transaction. ok is false when another live process holds it: that
// one assesses the change when it ends its pass (releaseAssessment).
func (a *App) claimAssessment(ctx context.Context, id int64) (ok bool, err error) {
	me, now := a.assessor(), a.deps.Clock.Now().UTC()
	_, err = a.deps.Signals.UpdateGroup(ctx, id, func(g *SignalGroup) error {
		held := g.Assessor != "" && g.Assessor != me && now.Before(g.AssessorUntil)
		if held && a.deps.Detection.SharedStore {
			return errNoChange
		}
		g.Assessor, g.AssessorUntil = me, now.Add(assessLease)
		ok = true
		return nil
	})
	if errors.Is(err, errNoChange) {
		err = nil
	}
	return ok, err
}

// releaseAssessment ends this process's hold on group id, or keeps it (more
// true) when the group changed during the pass, on this replica or another
// one whose own claim was refused meanwhile: that change is assessed by
// one more pass here.
func (a *App) releaseAssessment(ctx context.Context, id int64, failed bool) (more bool, err error) {
	me, now := a.assessor(), a.deps.Clock.Now().UTC()
	_, err = a.deps.Signals.UpdateGroup(ctx, id, func(g *SignalGroup) error {
		if g.Assessor != me {
			return errNoChange // taken over after our lease ran out
		}
		if !failed && g.Assessed < g.Version {
			g.AssessorUntil = now.Add(assessLease)
			more = true
			return nil
		}
		g.Assessor, g.AssessorUntil = "", time.Time{}
		return nil
	})
	if errors.Is(err, errNoChange) {
		err = nil
	}
	return more, err
}

type cachedDeploys struct {
	at      time.Time
	deploys []Deploy
}

// deployCacheFor bounds how often an alert storm reads a service's deploys.
const deployCacheFor = 30 * time.Second

// assessSoon assesses group id in the background. Assessments of one group
// never overlap, not even across replicas (the hold is claimed in the
// store), and changes arriving meanwhile coalesce into one more assessment:
// a storm of 500 alerts makes a handful of Slack edits, not 500.
func (a *App) assessSoon(ctx context.Context, id int64) {
	d := &a.detection
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running == nil {
		d.running, d.again = map[int64]bool{}, map[int64]bool{}
	}
	if d.running[id] {
		d.again[id] = true
		return
	}
	d.running[id] = true
	bg := context.WithoutCancel(ctx)
	d.wg.Go(func() {
		for {
			a.assessHeld(bg, id)
			d.mu.Lock()
			if !d.again[id] {
				delete(d.running, id)
				d.mu.Unlock()
				return
			}
			delete(d.again, id)
			d.mu.Unlock()
		}
	})
}

// assessHeld claims group id's assessment and assesses it, as many passes
// as changes keep coming, or leaves it to the live process holding it.
func (a *App) assessHeld(ctx context.Context, id int64) {
	ok, err := a.claimAssessment(ctx, id)
	if err != nil {
		a.log().Error("claiming an alert group's assessment", "group", id, "err", err)
		return
	}
	if !ok {
		return
	}
	for {
		actx, cancel := context.WithTimeout(ctx, assessPassTimeout)
		err := a.AssessGroup(actx, id)
		cancel()
		if err != nil {
			a.log().Error("assessing an alert group", "group", id, "err", err)
		}
		more, rerr := a.releaseAssessment(ctx, id, err != nil)
		if rerr != nil {
			a.log().Error("releasing an alert group's assessment", "group", id, "err", rerr)
			return
		}
		if !more {
			return
		}
	}
}

// WaitDetection waits for the background assessments started so far.
func (a *App) WaitDetection() { a.detection.wg.Wait() }

// recentDeploys returns the service's recent deploys, read at most every
// deployCacheFor (nil when GitHub is off or the service names no repo).
func (a *App) recentDeploys(ctx context.Context, svc Service, now time.Time) []Deploy {
	if a.deps.Deploys == nil || svc.Repo == "" {
		return nil
	}
	d := &a.detection
	d.mu.Lock()
	c, ok := d.deploys[svc.Name]
	d.mu.Unlock()
	if ok && now.Sub(c.at) < deployCacheFor && !now.Before(c.at) {
		return c.deploys
	}
	deploys, err := a.deps.Deploys.Recent(ctx, svc, deployLimit)
	if err != nil {
		a.log().Warn("reading deploys for alert confidence", "service", svc.Name, "err", err)
		return c.deploys
	}
	d.mu.Lock()
	if d.deploys == nil {
		d.deploys = map[string]cachedDeploys{}
	}
	d.deploys[svc.Name] = cachedDeploys{at: now, deploys: deploys}
	d.mu.Unlock()
	return deploys
}

// detectionDeploys returns the service's deploys the confidence rules read:
// those the deploy watchdog recorded (webhooks, and those read at
// declarations) since DeployWithin before start, and GitHub's recent ones
// when GitHub is on; and the deploy whose heightened window the watchdog
// has open for the service at start or now (nil when none, or without a
// deploy log).
func (a *App) detectionDeploys(ctx context.Context, svc Service, start, now time.Time) ([]Deploy, *Deploy) {
	deploys := a.recentDeploys(ctx, svc, now)
	if a.deps.DeployLog == nil || svc.Name == "" {
		return deploys, nil
	}
	rules := a.deps.Detection.Rules.WithDefaults()
	recs, err := a.deps.DeployLog.DeploysSince(ctx, start.Add(-rules.DeployWithin))
	if err != nil {
		a.log().Warn("reading the deploy log for alert confidence", "service", svc.Name, "err", err)
	}
	for _, r := range recs {
		if deploysTo(r, svc) {
			deploys = append(deploys, r.Deploy)
		}
	}
	for _, t := range []time.Time{start, now} {
		rec, ok, err := a.OpenWindow(ctx, svc.Name, t)
		if err != nil {
			a.log().Warn("reading the heightened window for alert confidence", "service", svc.Name, "err", err)
			break
		}
		if ok {
			d := rec.Deploy
			return deploys, &d
		}
	}
	return deploys, nil
}

// AssessGroup computes group id's confidence and acts on it: a service with
// auto_declare at or below it declares; medium or more posts the offer in
// the triage channel (or edits it in place); low is only recorded.
func (a *App) AssessGroup(ctx context.Context, id int64) error {
	g, err := a.deps.Signals.Group(ctx, id)
	if err != nil {
		return err
	}
	now := a.deps.Clock.Now().UTC()
	svc, _ := a.Service(g.Service)
	deploys, watched := a.detectionDeploys(ctx, svc, g.Start, now)
	as := a.deps.Detection.Rules.Assess(&g, deploys, watched, now)
	version := g.Version
	g, err = a.deps.Signals.UpdateGroup(ctx, id, func(g *SignalGroup) error {
		g.Assessment = as
		g.Assessed = version
		return nil
	})
	if err != nil {
		return err
	}
	if g.Incident != 0 {
		return a.refreshOffer(ctx, g)
	}
	if g.Service != "" && svc.AutoDeclare != ConfidenceNone && as.Confidence >= svc.AutoDeclare && g.Live() {
		inc, created, err := a.DeclareFromGroup(ctx, id, ActorKlaxon, true)
		if err != nil {
			return err
		}
		if created {
			a.log().Info("declared from alerts", "incident", inc.Number, "service", g.Service, "confidence", as.Confidence.String())
			if _, err := a.SetUp(ctx, inc.Number); err != nil {
				a.log().Error("setting up an incident declared from alerts", "incident", inc.Number, "err", err)
			}
		}
		return nil
	}
	if as.Confidence >= ConfidenceMedium || !g.Offer.Zero() {
		return a.refreshOffer(ctx, g)
	}
	return nil
}

// refreshOffer posts g's offer, or edits it in place. A group has at most
// one offer: only the process holding the group's assessment posts (one
// pass at a time, across replicas), the intent is stored before the post
// with a key the post carries, and an intent whose message was never
// recorded (a lost answer, a crash) is looked for in the channel before
// posting again.
func (a *App) refreshOffer(ctx context.Context, g SignalGroup) error {
	if a.deps.Offers == nil || a.deps.Detection.TriageChannel == "" || g.Service == "" {
		return nil
	}
	o, err := a.offer(ctx, g)
	if err != nil {
		return err
	}
	if !g.Offer.Zero() {
		return a.deps.Offers.UpdateOffer(ctx, g.Offer, o)
	}
	if g.Incident != 0 && g.OfferIntent.IsZero() {
		return nil // declared before any offer (auto_declare): nothing to edit
	}
	channel := a.deps.Detection.TriageChannel
	if g.OfferPending() {
		m, found, err := a.deps.Offers.FindOffer(ctx, channel, o.Key, g.OfferIntent)
		switch {
		case err != nil:
			// Without the channel's history (a missing scope, Slack down)
			// a second offer is possible; no offer at all would be worse.
			a.log().Warn("looking for an offer posted before; posting it again", "group", g.ID, "err", err)
		case found:
			a.log().Info("found the offer posted before (its answer was lost)", "group", g.ID, "ts", m.TS)
			if err := a.recordOffer(ctx, g.ID, m); err != nil {
				return err
			}
			return a.deps.Offers.UpdateOffer(ctx, m, o)
		}
	}
	intent := a.deps.Clock.Now().UTC()
	if _, err := a.deps.Signals.UpdateGroup(ctx, g.ID, func(g *SignalGroup) error {
		g.OfferIntent = intent
		return nil
	}); err != nil {
		return err
	}
	m, err := a.deps.Offers.PostOffer(ctx, channel, o)
	if err != nil {
		// Slack may have posted it and the answer got lost on the way.
		found := false
		if fm, ok, ferr := a.deps.Offers.FindOffer(ctx, channel, o.Key, intent); ferr == nil && ok {
			m, found = fm, true
		}
		if !found {
			return fmt.Errorf("posting the offer: %w", err)
		}
		a.log().Info("the offer was posted though its answer was lost", "group", g.ID, "ts", m.TS, "err", err)
	}
	return a.recordOffer(ctx, g.ID, m)
}

// offer is what the offer of g shows.
func (a *App) offer(ctx context.Context, g SignalGroup) (Offer, error) {
	svc, _ := a.Service(g.Service)
	o := Offer{Group: g, Service: svc, Key: g.OfferKey()}
	if g.Incident != 0 {
		inc, err := a.deps.Store.Get(ctx, g.Incident)
		if err != nil {
			return o, err
		}
		o.Incident = &inc
	}
	return o, nil
}

// recordOffer records the offer's message.
func (a *App) recordOffer(ctx context.Context, id int64, m MessageRef) error {
	_, err := a.deps.Signals.UpdateGroup(ctx, id, func(g *SignalGroup) error {
		g.Offer = m
		return nil
	})
	return err
}

// DeclareFromGroup declares group id as an incident: its service, a title
// from its first signal, the severity its assessment gives, detected at the
// first anomaly, alerted when the first alert arrived, and its signals on
// the timeline. auto is set when Klaxon declares on its own (nobody has
// acknowledged it yet). A group declares once: a second click returns the
// incident the first made (created false).
func (a *App) DeclareFromGroup(ctx context.Context, id int64, declarer string, auto bool) (Incident, bool, error) {
	if a.deps.Signals == nil {
		return Incident{}, false, Fail(CodeBadInput, ReasonAlertsOff, "", ErrorArgs{})
	}
	g, err := a.deps.Signals.Group(ctx, id)
	if err != nil {
		if ErrorCode(err) == CodeNotFound {
			return Incident{}, false, Fail(CodeNotFound, ReasonNoSuchAlerts, "", ErrorArgs{})
		}
		return Incident{}, false, storeErr(err, SubjectDeclaration)
	}
	if g.Incident != 0 {
		inc, err := a.deps.Store.Get(ctx, g.Incident)
		return inc, false, err
	}
	if g.Service == "" {
		return Incident{}, false, Fail(CodeBadInput, ReasonAlertsNoService, FieldService, ErrorArgs{})
	}
	sev := g.Assessment.Severity
	if !sev.Valid() {
		sev = SEV3
	}
	inc, created, err := a.Declare(ctx, DeclareRequest{
		Key: "signals:" + strconv.FormatInt(id, 10), Title: GroupTitle(&g), Severity: sev,
		Service: g.Service, Declarer: declarer, Origin: a.deps.Detection.TriageChannel,
		Started: g.Start, Alerted: g.FirstAlert(), Auto: auto, Signals: g.Signals,
	})
	if err != nil {
		return Incident{}, false, err
	}
	g, err = a.deps.Signals.UpdateGroup(ctx, id, func(g *SignalGroup) error {
		g.Incident = inc.Number
		g.Linked = map[string]bool{}
		for _, s := range g.Signals {
			g.Linked[s.Key] = true
		}
		g.Version++
		return nil
	})
	if err != nil {
		return inc, created, storeErr(err, SubjectAlertLink)
	}
	if g.Offer.Zero() {
		// No offer to edit yet (maybe one being posted, on this replica or
		// another): the assessment, which alone posts, shows it.
		a.assessSoon(ctx, id)
		return inc, created, nil
	}
	if err := a.refreshOffer(ctx, g); err != nil {
		a.log().Warn("showing the declaration on the offer", "group", id, "err", err)
	}
	return inc, created, nil
}

// linkService makes incident n the one svc's later alerts go to, unless an
// open incident already takes them.
func (a *App) linkService(ctx context.Context, svc string, n int64) {
	if a.deps.Signals == nil || svc == "" {
		return
	}
	cur := int64(0)
	if _, err := a.deps.Signals.UpdateService(ctx, svc, func(st *ServiceSignals) error {
		cur = st.Incident
		return errNoChange
	}); err != nil && !errors.Is(err, errNoChange) {
		a.log().Warn("reading the alert state", "service", svc, "err", err)
		return
	}
	if cur != 0 && cur != n {
		if inc, err := a.deps.Store.Get(ctx, cur); err == nil && inc.Status.Open() {
			return
		}
	}
	if _, err := a.deps.Signals.UpdateService(ctx, svc, func(st *ServiceSignals) error {
		if st.Incident != 0 && st.Incident != n && st.Incident != cur {
			return errNoChange // another declaration linked meanwhile
		}
		if st.Incident != 0 && st.Incident != n {
			RetireIncident(st, st.Incident, a.deps.Clock.Now())
		}
		st.Incident = n
		return nil
	}); err != nil && !errors.Is(err, errNoChange) {
		a.log().Warn("linking the service's alerts to the incident", "service", svc, "incident", n, "err", err)
	}
}

// RecentSignals lists the latest groups, newest first, low ones included,
// for /incident signals and the App Home.
func (a *App) RecentSignals(ctx context.Context, limit int) ([]SignalGroup, error) {
	if a.deps.Signals == nil {
		return nil, Fail(CodeBadInput, ReasonAlertsOff, "", ErrorArgs{})
	}
	gs, err := a.deps.Signals.Groups(ctx, func(*SignalGroup) bool { return true }, limit)
	if err != nil {
		return nil, storeErr(err, SubjectSignals)
	}
	return gs, nil
}

// ResumeDetection re-assesses groups that changed after their last
// assessment (a stop between recording alerts and acting on them), and
// those whose offer was being posted when the process stopped or whose
// post failed. The leader runs it at start and then every minute: with a
// shared store, a group a dead replica held is taken once its lease ran out
// (a live holder keeps its own).
func (a *App) ResumeDetection(ctx context.Context) error {
	if a.deps.Signals == nil {
		return nil
	}
	gs, err := a.deps.Signals.Groups(ctx, func(g *SignalGroup) bool {
		return (g.Live() && g.Incident == 0 && g.Assessed < g.Version) || g.OfferPending()
	}, 0)
	if err != nil {
		return err
	}
	for _, g := range gs {
		a.assessSoon(ctx, g.ID)
	}
	return nil
}

// pagerDutySignal turns a PagerDuty incident Klaxon did not open into a
// signal: incident.triggered fires it, incident.resolved ends it. Its
// service is the configured service whose services[].pagerduty.service is
// the PagerDuty service, else the default service, else unrouted; its kind
// comes from alerts.kinds on the incident's title. handled is false for
// other events, or when alert intake is off.
func (a *App) pagerDutySignal(ctx context.Context, ev PDEvent) (handled bool, err error) {
	if a.deps.Signals == nil || (ev.Type != "incident.triggered" && ev.Type != "incident.resolved") {
		return false, nil
	}
	svc := a.deps.Detection.DefaultService
	for _, s := range a.deps.Services {
		if ev.ServiceID != "" && s.PagerDuty.Service == ev.ServiceID {
			svc = s.Name
			break
		}
	}
	start := ev.Created
	if start.IsZero() {
		start = ev.At
	}
	if start.IsZero() {
		start = a.deps.Clock.Now().UTC()
	}
	al := Alert{
		Source: "pagerduty", Resolved: ev.Type == "incident.resolved",
		Labels:      map[string]string{"alertname": truncate(ev.Title, MaxLabelText), "pagerduty_incident": ev.IncidentID, "pagerduty_service": ev.ServiceID},
		Annotations: map[string]string{"summary": ev.Title},
		StartsAt:    start, EndsAt: ev.At, GeneratorURL: ev.URL, Fingerprint: ev.IncidentID,
	}
	res := IngestResult{Alerts: 1}
	if svc == "" {
		res.Unrouted++
	}
	_, err = a.ingestRouted(ctx, map[string][]Alert{svc: {al}}, res)
	return true, err
}
