package playbook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// MaxTitle bounds a stored title. Slack caps slash-command text well below
// this; the bound protects the store from a modal or API abuse.
const MaxTitle = 10000

// Deps is what New wires into an App: its ports (Store, Channels, Poster, …,
// the adapters cmd/klaxon builds) and its configuration. Only cmd/klaxon,
// the demo and tests build one; every field is required except Log and those
// documented as optional.
type Deps struct {
	Store    Store
	Channels Channels
	Poster   Poster
	// Triage may be nil (then no scope call or checklist is posted).
	Triage Triage
	Clock  Clock
	// After is time.After (nil: time.After): how the outbox waits while it
	// holds the claim of a slow delivery.
	After func(time.Duration) <-chan time.Time
	// ScopeTimebox is the scope call's length; 0 means 5 minutes.
	ScopeTimebox time.Duration
	// Responders (user or group IDs) may manage any incident; Directory
	// expands the groups among them (nil: groups match nobody).
	Responders []string
	Directory  Directory
	Tiers      Tiers
	Services   []Service
	Log        *slog.Logger
	// Members tells who is in a private incident's channel, for the lists
	// (nil: private incidents are listed to their commander and declarer
	// only, and from their own channel).
	Members Members

	// The wrap-up: each port may be nil, and then that part is skipped and
	// the person told so (GitHub is optional).
	Deploys        Deploys
	Tickets        Tickets
	PostmortemRepo PostmortemRepo
	Closing        Closing
	People         People
	// RenderPostmortem renders the post-mortem outline as Markdown.
	RenderPostmortem func(Postmortem) ([]byte, error)
	// RenderTicket renders an action item's issue body as GitHub Markdown,
	// every text a person typed escaped (nil: a body of facts only).
	RenderTicket func(TicketBody) (string, error)
	// RenderOwnerIssue renders the issue a tier that pages nobody opens
	// for the owning team (notify.go), typed text escaped (nil: facts only).
	RenderOwnerIssue func(OwnerIssueBody) (string, error)
	// HotfixReviewURL documents the expedited review process for hotfixes.
	HotfixReviewURL string
	// ActionItemRepo (owner/name) receives the action items of incidents
	// whose service names no repo.
	ActionItemRepo string
	// PostmortemsRepo (owner/name) receives each post-mortem outline as a
	// pull request adding PostmortemsPath/<file>.md, or as an issue when
	// PostmortemsAsIssue is set. Empty: outlines are only uploaded to Slack.
	PostmortemsRepo    string
	PostmortemsPath    string
	PostmortemsAsIssue bool
	// ArchiveDelay is how long after closing the channel is archived.
	ArchiveDelay time.Duration

	// Paging (paging.go, page.go, escalation.go): each port may be nil.
	// Without Pager and OnCalls (no pagerduty section) pages and the
	// escalation matrix go to Slack only. Owners reads CODEOWNERS; Teams
	// joins its owners to PagerDuty and Slack; Roles maps the matrix's
	// roles to targets; PollEvery is how often an unacknowledged PagerDuty
	// incident is read (0: 30 s).
	Pager     Pager
	OnCalls   OnCalls
	PageChat  PageChat
	Owners    Owners
	Teams     []Team
	Roles     map[string][]Target
	PollEvery time.Duration
	// The deploy watchdog (deploys.go): DeployLog records deploys (nil:
	// none are kept); DeployLookup and DeployPoster post the deploys at
	// declaration (nil: skipped). DeployWindow (deploys.window),
	// WatchWindow (deploys.watch_window), RiskyPaths (deploys.risky_paths,
	// nil: DefaultRiskyPaths) and LargeDiffLines (deploys.large_diff_lines)
	// default when zero.
	DeployLog      DeployLog
	DeployLookup   DeployLookup
	DeployPoster   DeployPoster
	DeployWindow   time.Duration
	WatchWindow    time.Duration
	RiskyPaths     []string
	LargeDiffLines int
	// Detection: alerts become signals (Signals nil: intake is off), and
	// groups that reach medium confidence are offered in the triage
	// channel through Offers (nil: none are posted).
	Signals   SignalStore
	Offers    Offers
	Detection Detection
}

// App runs the use cases: one method per thing a person or a loop asks for,
// and the queries adapters need. Its ports are unexported, so adapters (bot,
// the webhooks) go through these methods and never around the rules.
type App struct {
	deps      Deps
	detection detectionState

	mu      sync.Mutex
	setting map[int64]chan struct{} // incidents whose setup is running, for single flight
	wake    chan struct{}           // pokes RunScheduler when a deadline moves
	ticked  chan struct{}           // closed after the scheduler's first pass
	// refreshing and renaming serialise, per incident, the re-rendering of
	// its messages and the renaming of its channel.
	refreshing, renaming map[int64]*sync.Mutex
	// filing and closing serialise, per incident, filing action items as
	// tickets and the close steps, so a double call does nothing twice.
	filing, closing map[int64]*sync.Mutex
	// notifying serialises telling an incident's owning team (notify.go):
	// a setup and a retry at once file one issue.
	notifying map[int64]*sync.Mutex
	// tagging serialises root-cause tags: each reads the others' tags, so
	// two at once could miss each other's repeat.
	tagging sync.Mutex
	// deploying serialises, per incident, the deploy lookup and the
	// re-rendering of its message.
	deploying map[int64]*sync.Mutex
	// outbox is the messages this process is telling Slack now.
	outbox outboxState
	// records are the channel records under way (channelrecord.go).
	records channelRecords
	// stepQueued, when set (by a test), is called by each setup step that
	// succeeded, once it is queued to be stored.
	stepQueued func(Step)
}

// New builds the App from its ports and configuration.
func New(d Deps) *App {
	a := &App{deps: d}
	if d.Store != nil {
		a.deps.Store = recordedStore{Store: d.Store, records: &a.records}
	}
	return a
}

// Service returns the configured service named name (case-insensitive).
func (a *App) Service(name string) (Service, bool) {
	for _, s := range a.deps.Services {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return Service{}, false
}

func (a *App) log() *slog.Logger {
	if a.deps.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.deps.Log
}

// DeclareRequest is a declaration as a person made it.
type DeclareRequest struct {
	// Key makes the declaration idempotent: the Slack envelope ID, or the
	// modal's view ID. The same key never declares twice.
	Key      string
	Title    string
	Severity Severity
	Service  string
	Declarer string
	Origin   string // where the command was typed, if anywhere
	// Private incidents get a private channel; announcements never carry
	// their title.
	Private bool
	// Started is when the impact started (--started, the form's "impact
	// started at", or a signal group's first anomaly); zero means now.
	Started time.Time
	// Alerted is when the first alert reached Klaxon (zero: no alert).
	Alerted time.Time
	// Auto is set when Klaxon declares on its own (auto_declare): nobody
	// has acknowledged the incident yet, so acknowledged waits for the
	// first commander.
	Auto bool
	// Signals go on the timeline at their own times (a group's alerts).
	Signals []Signal
}

// Validate returns a person-readable *Error for a request that cannot be declared.
func (r DeclareRequest) Validate() error {
	switch {
	case strings.TrimSpace(r.Title) == "":
		return Fail(CodeBadInput, ReasonNoTitle, FieldTitle, ErrorArgs{})
	case utf8.RuneCountInString(r.Title) > MaxTitle:
		return Fail(CodeBadInput, ReasonTitleTooLong, FieldTitle, ErrorArgs{Length: utf8.RuneCountInString(r.Title), Limit: MaxTitle})
	case !r.Severity.Valid():
		return Fail(CodeBadSeverity, ReasonDeclareSeverity, FieldSeverity, ErrorArgs{})
	case r.Declarer == "":
		return Fail(CodeBadInput, ReasonNoDeclarer, "", ErrorArgs{})
	case r.Key == "":
		return Fail(CodeBadInput, ReasonNoKey, "", ErrorArgs{})
	}
	return nil
}

// Declare records a new incident: its number, its first phase timestamps and
// its first timeline event, in one store transaction keyed by req.Key. It does
// not touch Slack; SetUp does that. created is false when req.Key had already
// declared an incident, which is then returned unchanged.
func (a *App) Declare(ctx context.Context, req DeclareRequest) (inc Incident, created bool, err error) {
	if err := req.Validate(); err != nil {
		return Incident{}, false, err
	}
	svcName := ""
	if req.Service != "" {
		svc, ok := a.Service(req.Service)
		if !ok {
			return Incident{}, false, a.unknownService(req.Service)
		}
		svcName = svc.Name
	}
	now := a.deps.Clock.Now().UTC()
	watched := a.watchedDeploy(ctx, svcName, now)
	inc, created, err = a.deps.Store.Create(ctx, req.Key, func(n int64) (Incident, []Event) {
		inc := Incident{
			Number:   n,
			Title:    strings.TrimSpace(req.Title),
			Severity: req.Severity,
			Service:  svcName,
			Declarer: req.Declarer,
			Status:   StatusInvestigating,
			Origin:   req.Origin,
			Private:  req.Private,
		}
		// A person declaring by hand has detected and acknowledged the
		// problem at that moment, unless they say when the impact started;
		// alerts set detected to their first anomaly and alerted to when
		// Klaxon heard of it.
		if !req.Started.IsZero() && req.Started.Before(now) {
			inc.mark(PhaseDetected, req.Started)
		}
		if !req.Alerted.IsZero() && !req.Alerted.After(now) {
			inc.mark(PhaseAlerted, req.Alerted)
		}
		inc.mark(PhaseDetected, now)
		inc.mark(PhaseDeclared, now)
		// A page sent at declaration is acknowledged by whoever takes it;
		// an incident Klaxon declared on its own, by the first commander.
		if !a.preparePaging(&inc, now) && !req.Auto {
			inc.mark(PhaseAcknowledged, now)
		}
		inc.startTimers(a.deps.Tiers.Get(req.Severity), now)
		inc.Timers.ScopeDue = now.Add(a.scopeTimebox())
		inc.check(ItemSeverity, ActorKlaxon, now)
		// The channel's name is chosen in the declaration's transaction,
		// so SetUp can create it right after the ack without a write of
		// its own (see createChannel).
		inc.ChannelIntent = &ChannelIntent{Name: ChannelName(n, req.Severity, inc.Title, 1), Attempt: 1, At: now}
		ev := NewEvent(EventDeclared, req.Declarer, now, fmt.Sprintf("%s declared: %s", req.Severity, inc.Title))
		ev.Payload = DeclaredPayload{Severity: req.Severity, Service: svcName}
		evs := append([]Event{ev}, linkWatched(&inc, watched, now)...)
		if t, ok := inc.At(PhaseDetected); ok && t.Before(now) && len(req.Signals) == 0 {
			started := NewEvent(EventImpactStarted, req.Declarer, now, "")
			started.At = t
			evs = append(evs, started)
		}
		for _, sig := range req.Signals {
			evs = append(evs, SignalEvent(sig))
		}
		return inc, evs
	})
	if err != nil {
		return Incident{}, false, &Error{Code: CodeStore, Reason: ReasonDeclareNotStored, Err: err}
	}
	if created {
		a.Wake()
		if watched != nil {
			a.linkIncident(ctx, watched.Key(), inc.Number, true)
		}
	}
	// One outage, one incident: the service's later alerts go to this
	// incident's timeline while it is open.
	a.linkService(ctx, svcName, inc.Number)
	return inc, created, nil
}

// unknownService refuses a service name that is not configured, naming
// the ones that are.
func (a *App) unknownService(name string) *Error {
	return Fail(CodeBadInput, ReasonUnknownService, FieldService, ErrorArgs{Input: truncate(name, 40), Services: a.serviceList()})
}

func (a *App) serviceList() []string {
	names := make([]string, len(a.deps.Services))
	for i, s := range a.deps.Services {
		names[i] = s.Name
	}
	return names
}

func (a *App) scopeTimebox() time.Duration {
	if a.deps.ScopeTimebox > 0 {
		return a.deps.ScopeTimebox
	}
	return 5 * time.Minute
}

// Briefing gathers what adapters need to describe inc.
func (a *App) Briefing(inc Incident) Briefing {
	b := Briefing{Incident: inc, Tier: a.deps.Tiers.Get(inc.Severity)}
	if s, ok := a.Service(inc.Service); ok {
		b.Service = s
	}
	return b
}

// Invitees are the people to invite to inc's channel: the declarer, the
// service's stakeholders and the tier's, without duplicates, in that order.
func (a *App) Invitees(inc Incident) []string {
	b := a.Briefing(inc)
	var ids []string
	for _, id := range slices.Concat([]string{inc.Declarer}, b.Service.Stakeholders, b.Tier.Stakeholders) {
		if id != "" && id != ActorKlaxon && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// SetupResult says how SetUp went: the incident as stored afterwards and the
// steps that failed (the incident stays declared; the channel is told).
type SetupResult struct {
	Incident Incident
	Failed   map[Step]error
}

// maxNameAttempts bounds the name_taken suffixes tried before giving up.
const maxNameAttempts = 20

// SetUp makes incident n's channel ready in two round trips to Slack: the
// channel first (the user groups to invite are expanded meanwhile), then
// everything a responder needs side by side: invites, runbook bookmark,
// intro, scope call, announcement and the triage checklist, with topic and
// purpose; the intro's pin follows it. The checklist's first rendering shows
// as done what the steps running beside it are about to check; if one of
// them fails, the checklist is corrected with one edit. Each finished step
// is stored at once, so calling SetUp again (a redelivery, a restart)
// resumes and never repeats a finished step. Only one SetUp runs per
// incident at a time; a second caller waits for the first. An error is
// returned only when the channel itself could not be made.
func (a *App) SetUp(ctx context.Context, n int64) (SetupResult, error) {
	if done := a.begin(n); done != nil {
		// Another goroutine is setting up n: wait for it, then report the stored state.
		select {
		case <-done:
		case <-ctx.Done():
			return SetupResult{}, ctx.Err()
		}
		inc, err := a.deps.Store.Get(ctx, n)
		if err == nil && !inc.Done(StepChannel) {
			err = fmt.Errorf("incident #%d: its channel could not be created", n)
		}
		return SetupResult{Incident: inc}, err
	}
	defer a.end(n)
	inc, err := a.deps.Store.Get(ctx, n)
	if err != nil {
		return SetupResult{}, err
	}
	// recorded waits for the channel's record, written while the second
	// round trip goes out (channelrecord.go); the steps' records follow it.
	recorded := func(context.Context) error { return nil }
	writeRecord := func() {}
	if !inc.Done(StepChannel) {
		var prefetch sync.WaitGroup
		defer prefetch.Wait()
		if !inc.Done(StepInvite) && !inc.GaveUp(StepInvite) {
			ids := a.Invitees(inc)
			prefetch.Go(func() { a.expandGroups(ctx, ids) })
		}
		inc, recorded, writeRecord, err = a.createChannel(ctx, inc)
		if err != nil {
			return SetupResult{Incident: inc}, err
		}
		// Whatever happens, SetUp ends after the record: a second SetUp
		// of n then finds the channel stored. (Deferred calls run last
		// first: the record is written, if it was not yet, then waited for.)
		defer func() { _ = recorded(context.WithoutCancel(ctx)) }()
		defer writeRecord()
	}
	// The deploys are looked up beside the other steps, once the channel
	// exists; SetUp returns when they are posted too.
	defer a.startDeploys(ctx, inc).wait(ctx)

	b := a.Briefing(inc)
	// Topic and purpose are not what a responder waits for: they follow
	// the intro, beside its pin, so that the calls of the second round
	// trip are only those that make the incident ready (ten declarations at
	// once make 60 calls side by side then instead of 80).
	// rec stores the steps as they succeed, after the channel's record.
	rec := &stepRecorder{app: a, n: n, after: recorded}
	introPosted := make(chan struct{})
	var introOnce sync.Once
	afterIntro := func() { introOnce.Do(func() { close(introPosted) }) }
	followIntro := func(ctx context.Context) error {
		select {
		case <-introPosted:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	steps := []setupStep{
		{step: StepTopic, run: func(ctx context.Context) (func(*Incident), Event, error) {
			if err := followIntro(ctx); err != nil {
				return nil, Event{}, err
			}
			return nil, Event{}, a.deps.Channels.SetTopic(ctx, b)
		}},
		{step: StepPurpose, run: func(ctx context.Context) (func(*Incident), Event, error) {
			if err := followIntro(ctx); err != nil {
				return nil, Event{}, err
			}
			return nil, Event{}, a.deps.Channels.SetPurpose(ctx, b)
		}},
		{step: StepInvite, run: func(ctx context.Context) (func(*Incident), Event, error) {
			ids := a.Invitees(inc)
			err := a.deps.Channels.Invite(ctx, inc.Channel.ID, ids)
			return func(i *Incident) { i.check(ItemChannel, ActorKlaxon, a.deps.Clock.Now()) },
				NewEvent(EventInvited, ActorKlaxon, a.deps.Clock.Now(), "invited "+strings.Join(ids, ", ")), err
		}, promise: func(i *Incident) { i.check(ItemChannel, ActorKlaxon, a.deps.Clock.Now()) }},
		{step: StepBookmark, run: func(ctx context.Context) (func(*Incident), Event, error) {
			if b.Service.Runbook == "" {
				return nil, Event{}, nil
			}
			err := a.deps.Channels.AddBookmark(ctx, inc.Channel.ID, "Runbook: "+b.Service.Name, b.Service.Runbook)
			return func(i *Incident) { i.check(ItemRunbook, ActorKlaxon, a.deps.Clock.Now()) },
				NewEvent(EventRunbookAttached, ActorKlaxon, a.deps.Clock.Now(), b.Service.Runbook), err
		}, promise: func(i *Incident) {
			if b.Service.Runbook != "" {
				i.check(ItemRunbook, ActorKlaxon, a.deps.Clock.Now())
			}
		}},
		{step: StepIntro, run: func(ctx context.Context) (func(*Incident), Event, error) {
			// The intro and its pin are one branch: the pin needs the intro's ts.
			m := inc.Intro
			if m.Zero() {
				var err error
				m, err = a.deps.Poster.PostIntro(ctx, b)
				afterIntro()
				if err != nil {
					return nil, Event{}, err
				}
				// Stored before the pin (a restart then pins this intro
				// instead of posting another), with the other steps that
				// finish beside it: their answers come back together.
				if err := rec.record(ctx, stepDone{step: StepIntro, apply: func(i *Incident) {
					i.Intro = m
					i.markDone(StepIntro, a.deps.Clock.Now())
				}}); err != nil {
					return nil, Event{}, err
				}
			}
			afterIntro()
			if err := a.deps.Channels.Pin(ctx, m); err != nil {
				return nil, Event{}, fmt.Errorf("pin: %w", err)
			}
			return func(i *Incident) { i.markDone(StepPin, a.deps.Clock.Now()) }, Event{}, nil
		}},
		{step: StepAnnounce, run: func(ctx context.Context) (func(*Incident), Event, error) {
			m, err := a.deps.Poster.Announce(ctx, b)
			if err != nil {
				return nil, Event{}, err
			}
			return func(i *Incident) { i.Announcement = m },
				NewEvent(EventAnnounced, ActorKlaxon, a.deps.Clock.Now(), "announced"), nil
		}},
		{step: StepScope, run: func(ctx context.Context) (func(*Incident), Event, error) {
			if a.deps.Triage == nil {
				return nil, Event{}, nil
			}
			m, err := a.deps.Triage.PostScopeCall(ctx, b)
			return func(i *Incident) { i.ScopeMsg = m }, Event{}, err
		}},
	}

	// What this call will run, and the checklist as it will be once those
	// steps succeed.
	runs := make([]bool, len(steps))
	optimistic := inc
	optimistic.Checked = maps.Clone(inc.Checked)
	for k, s := range steps {
		done := inc.Done(s.step)
		if s.step == StepIntro {
			done = inc.Done(StepIntro) && inc.Done(StepPin)
		}
		runs[k] = !done && !inc.GaveUp(s.step)
		if runs[k] && s.promise != nil {
			s.promise(&optimistic)
		}
		if s.step == StepIntro && !runs[k] {
			afterIntro()
		}
	}
	postChecks := !inc.Done(StepChecks) && !inc.GaveUp(StepChecks)
	if postChecks {
		ob := a.Briefing(optimistic)
		steps = append(steps, setupStep{step: StepChecks, run: func(ctx context.Context) (func(*Incident), Event, error) {
			var m MessageRef
			if a.deps.Triage != nil {
				var err error
				if m, err = a.deps.Triage.PostChecklist(ctx, ob); err != nil {
					return nil, Event{}, err
				}
			}
			return func(i *Incident) { i.ChecklistMsg = m }, Event{}, nil
		}})
		runs = append(runs, true)
	}

	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed = map[Step]error{}
	)
	for k, s := range steps {
		if !runs[k] {
			continue
		}
		wg.Go(func() {
			apply, ev, err := s.run(ctx)
			if err == nil {
				err = rec.record(ctx, stepDone{step: s.step, apply: apply, ev: ev})
			}
			if err != nil {
				mu.Lock()
				failed[s.step] = err
				mu.Unlock()
			}
		})
	}
	if inc.Paging != nil && inc.Paging.Pending && !inc.GaveUp(StepPage) {
		wg.Go(func() {
			if err := a.pageAtDeclaration(ctx, n); err != nil {
				mu.Lock()
				failed[StepPage] = err
				mu.Unlock()
			}
		})
	}
	if inc.Paging != nil && inc.Paging.Notify && !inc.GaveUp(StepNotifyOwners) {
		wg.Go(func() {
			if err := a.notifyOwners(ctx, n); err != nil {
				mu.Lock()
				failed[StepNotifyOwners] = err
				mu.Unlock()
			}
		})
	}
	// The channel's record is written once the calls above are on their
	// way: this goroutine lets them run first (on a busy machine, the
	// other setups' calls too), then writes it while they wait for Slack.
	// Their records, and every read of the incident, wait for it.
	runtime.Gosched()
	writeRecord()
	wg.Wait()
	if err := recorded(ctx); err != nil {
		// The steps' records waited for this one and failed with it.
		return SetupResult{Incident: inc, Failed: failed}, fmt.Errorf("record channel for incident #%d: %w", n, err)
	}

	// Correct the checklist when a step it showed as done failed. A
	// checklist posted before (a resumed setup) is refreshed too, since a
	// retried step may have checked an item.
	broken := false
	for k, s := range steps {
		if _, ok := failed[s.step]; ok && runs[k] && s.promise != nil {
			broken = true
		}
	}
	_, checksFailed := failed[StepChecks]
	if (postChecks && broken && !checksFailed) || (!postChecks && inc.Done(StepChecks)) {
		if err := a.refresh(ctx, n, PartChecklist); err != nil {
			a.log().Warn("correcting the checklist after the setup", "incident", n, "err", err)
		}
	}

	if len(failed) > 0 {
		a.reportFailures(ctx, n, inc.Channel.ID, failed)
	}
	inc, err = a.deps.Store.Get(ctx, n)
	if err == nil {
		a.settleSeverity(ctx, b.Incident.Severity, inc)
	}
	return SetupResult{Incident: inc, Failed: failed}, err
}

// setupStep is one declaration step run once the channel exists.
type setupStep struct {
	step Step
	// run does the step and returns what to store when it succeeded.
	run func(context.Context) (func(*Incident), Event, error)
	// promise is what the step checks on the checklist when it succeeds,
	// shown before it has.
	promise func(*Incident)
}

// stepDone is a step that succeeded, to be stored.
type stepDone struct {
	step  Step
	apply func(*Incident)
	ev    Event
}

// stepRecorder stores the steps of one SetUp as they succeed. Steps that
// finish while a write is under way are stored together by the next one
// (a group commit): each is stored as soon as the write before it ends, and
// the side-by-side steps of ten declarations at once cost a few
// transactions each instead of one per step. A write takes its steps when
// its transaction runs, not when it is sent to the store: the steps that
// finish while it waits for its turn (the store commits the writes of
// other incidents meanwhile) are stored by it, not by one more write
// after it. Nothing waits to gather them.
type stepRecorder struct {
	app *App
	n   int64
	// after waits for the record the steps' records must follow (the
	// channel's) and returns its error.
	after func(context.Context) error

	mu      sync.Mutex
	next    *stepBatch // collecting
	writing bool
}

type stepBatch struct {
	steps []stepDone
	done  chan struct{}
	err   error
}

// record stores s and returns once it is stored (or could not be).
func (r *stepRecorder) record(ctx context.Context, s stepDone) error {
	r.mu.Lock()
	if r.next == nil {
		r.next = &stepBatch{done: make(chan struct{})}
	}
	b := r.next
	b.steps = append(b.steps, s)
	write := !r.writing
	r.writing = true
	r.mu.Unlock()
	if r.app.stepQueued != nil {
		r.app.stepQueued(s.step)
	}
	if write {
		r.writeAll(ctx)
	}
	<-b.done
	return b.err
}

// writeAll writes batches until none is waiting.
func (r *stepRecorder) writeAll(ctx context.Context) {
	for {
		r.mu.Lock()
		if r.next == nil {
			r.writing = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		if err := r.after(ctx); err != nil {
			b := r.take()
			b.err = err
			close(b.done)
			continue
		}
		var b *stepBatch
		_, err := r.app.deps.Store.Update(ctx, r.n, func(i *Incident) ([]Event, error) {
			if b == nil { // a store may run this again (a retried transaction): same steps
				b = r.take()
			}
			var evs []Event
			for _, s := range b.steps {
				if s.apply != nil {
					s.apply(i)
				}
				if s.step != StepIntro { // the intro's records (its post, then its pin) mark their own steps
					i.markDone(s.step, r.app.deps.Clock.Now())
				}
				if s.ev.Type != "" {
					evs = append(evs, s.ev)
				}
			}
			return evs, nil
		})
		if b == nil { // the store failed before running the write
			b = r.take()
		}
		b.err = err
		close(b.done)
	}
}

// take returns the batch collected so far (never nil while a write is
// due: only writeAll takes, and record only adds) and starts the next.
func (r *stepRecorder) take() *stepBatch {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.next
	r.next = nil
	return b
}

// expandGroups asks the directory for the members of the user groups among
// ids, so that the invite finds them at hand once the channel exists. A
// failure here is the invite's to report.
func (a *App) expandGroups(ctx context.Context, ids []string) {
	if a.deps.Directory == nil {
		return
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		if strings.HasPrefix(id, "S") {
			wg.Go(func() { _, _ = a.deps.Directory.GroupMembers(ctx, id) })
		}
	}
	wg.Wait()
}

// adoptSkew allows for clock differences between Klaxon and Slack when
// deciding whether an existing channel is the one an interrupted attempt made.
const adoptSkew = 5 * time.Second

// createChannel creates incident inc's channel. The name is stored as an
// intent before each create call, so that when Slack answers name_taken
// because an earlier attempt for this incident did make the channel, Klaxon
// adopts that channel instead of making a second one.
//
// It returns once Slack made the channel, with inc as it is once the
// channel is recorded; writeRecord stores that record and recorded waits
// for it (recordChannel).
func (a *App) createChannel(ctx context.Context, inc Incident) (_ Incident, recorded func(context.Context) error, writeRecord func(), err error) {
	attempt, resumed := 1, inc.ChannelIntent
	if resumed != nil {
		attempt = resumed.Attempt
	}
	var ch ChannelRef
	for ; attempt <= maxNameAttempts; attempt++ {
		name := ChannelName(inc.Number, inc.Severity, inc.Title, attempt)
		var chosen time.Time
		if resumed != nil && resumed.Name == name {
			chosen = resumed.At
		} else {
			intent := &ChannelIntent{Name: name, Attempt: attempt, At: a.deps.Clock.Now().UTC()}
			if inc, err = a.deps.Store.Update(ctx, inc.Number, func(i *Incident) ([]Event, error) {
				i.ChannelIntent = intent
				return nil, nil
			}); err != nil {
				return inc, nil, nil, fmt.Errorf("record channel intent for incident #%d: %w", inc.Number, err)
			}
			chosen = intent.At
		}
		ch, err = a.deps.Channels.Create(ctx, name, inc.Private)
		if !errors.Is(err, ErrNameTaken) {
			break
		}
		// The name may be taken by this very incident: an earlier attempt
		// whose answer was lost (a crash, a 5xx after Slack acted). Adopt
		// the channel only if Klaxon made it after the name was chosen;
		// anything else (a person's channel, a channel from an older
		// store) means the next suffix.
		if found, ferr := a.deps.Channels.Find(ctx, name); ferr == nil && found.ByKlaxon && !found.Created.Before(chosen.Add(-adoptSkew)) {
			ch, err = found.Ref, nil
			a.log().Info("adopted the channel an earlier attempt created", "incident", inc.Number, "channel", name)
			break
		}
	}
	if err != nil {
		return a.channelFailed(ctx, inc, err), nil, nil, fmt.Errorf("create channel for incident #%d: %w", inc.Number, err)
	}
	inc, recorded, writeRecord = a.recordChannel(ctx, inc, ch)
	return inc, recorded, writeRecord, nil
}

// reportFailures records each failed step on the timeline and counts it.
// The channel is told what is missing the first time a step fails, so
// responders know to do it by hand; later failures of the same step (after a
// restart) are only recorded.
func (a *App) reportFailures(ctx context.Context, n int64, channelID string, failed map[Step]error) {
	now := a.deps.Clock.Now()
	var steps []Step
	_, err := a.deps.Store.Update(ctx, n, func(inc *Incident) ([]Event, error) {
		steps = steps[:0]
		var evs []Event
		if inc.Failures == nil {
			inc.Failures = map[Step]int{}
		}
		for _, s := range []Step{StepTopic, StepPurpose, StepInvite, StepBookmark, StepIntro, StepAnnounce, StepScope, StepChecks, StepPage, StepNotifyOwners} {
			err, ok := failed[s]
			if !ok {
				continue
			}
			ev := NewEvent(EventStepFailed, ActorKlaxon, now, "")
			ev.Payload = StepFailedPayload{Step: s, Error: err.Error()}
			evs = append(evs, ev)
			if inc.Failures[s] == 0 {
				steps = append(steps, s)
			}
			inc.Failures[s]++
		}
		return evs, nil
	})
	for s, ferr := range failed {
		a.log().Warn("incident setup step failed", "incident", n, "step", s, "err", ferr)
	}
	if err != nil {
		a.log().Error("recording setup failures", "incident", n, "err", err)
	}
	if len(steps) == 0 {
		return
	}
	notice := Notice{Kind: NoticeSetupFailed, Incident: n, Steps: steps}
	var err2 error
	if a.deps.Triage != nil {
		err2 = a.deps.Triage.PostSetupFailure(ctx, channelID, notice)
	} else {
		err2 = a.deps.Poster.Notice(ctx, channelID, notice)
	}
	if err2 != nil {
		a.log().Error("telling the channel about setup failures", "incident", n, "err", err2)
	}
}

// RetrySetUp retries, on a person's request, the declaration steps that
// failed, even those Klaxon had given up on.
func (a *App) RetrySetUp(ctx context.Context, n int64, actor, key string) (SetupResult, error) {
	inc, applied, err := a.deps.Store.Apply(ctx, n, key, func(inc *Incident) ([]Event, error) {
		inc.Failures = nil
		ev := NewEvent(EventNote, actor, a.deps.Clock.Now(), "")
		ev.Payload = NotePayload{Retried: RetriedSetup}
		return []Event{ev}, nil
	})
	if err != nil {
		return SetupResult{}, storeErr(err, SubjectRetry)
	}
	if !applied {
		return SetupResult{Incident: inc}, nil
	}
	return a.SetUp(ctx, n)
}

// begin marks n as being set up and returns nil, or returns a channel that
// closes when the setup already running for n ends.
func (a *App) begin(n int64) <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ch, ok := a.setting[n]; ok {
		return ch
	}
	if a.setting == nil {
		a.setting = map[int64]chan struct{}{}
	}
	a.setting[n] = make(chan struct{})
	return nil
}

func (a *App) end(n int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	close(a.setting[n])
	delete(a.setting, n)
}

// Resume runs at start: it arms the reminders of open incidents stored
// before Klaxon kept timers, finishes the setup of every open incident that
// is not ready (a crash between the declaration and its announcement), then
// the pages, escalation steps, ticket filings and close steps a stop
// interrupted. Run it once the scheduler made its first pass (FirstTick),
// so that reminders already due are not kept waiting behind it.
//
// One pass over the store finds all of them: each pass decodes every
// incident (half a second for 10,000 on a quiet 2-core machine, more on a
// busy one), CPU the scheduler's passes then lack.
func (a *App) Resume(ctx context.Context) error {
	left, err := a.deps.Store.List(ctx, func(i *Incident) bool {
		return unarmed(i) || a.unready(i) || pagingLeft(i) || a.wrapUpLeft(i)
	})
	if err != nil {
		return err
	}
	armed := 0
	for _, inc := range left {
		if !unarmed(&inc) {
			continue
		}
		now := a.deps.Clock.Now()
		if _, err := a.deps.Store.Update(ctx, inc.Number, func(i *Incident) ([]Event, error) {
			i.ArmTimers(a.deps.Tiers.Get(i.Severity), now)
			return nil, nil
		}); err != nil {
			a.log().Error("arming the reminders of an incident", "incident", inc.Number, "err", err)
		}
		armed++
	}
	if armed > 0 {
		a.Wake()
	}
	// A few at a time: each is mostly waiting on Slack, and the store
	// writes of many at once would hold up the scheduler's.
	work := make(chan int64)
	var wg sync.WaitGroup
	for range resumeWorkers {
		wg.Go(func() {
			for n := range work {
				if _, err := a.SetUp(ctx, n); err != nil {
					a.log().Error("resuming incident setup", "incident", n, "err", err)
				}
			}
		})
	}
	for _, inc := range left {
		if a.unready(&inc) {
			work <- inc.Number
		}
	}
	close(work)
	wg.Wait()
	if err := a.resumePaging(ctx, left); err != nil {
		a.log().Error("resuming pages and escalation steps", "err", err)
	}
	return a.resumeWrapUp(ctx, left)
}

// resumeWorkers bounds the interrupted setups Resume runs at once.
const resumeWorkers = 4

// unarmed: an open incident stored before Klaxon kept timers.
func unarmed(i *Incident) bool { return i.Status.Open() && i.Timers == (Timers{}) }

// unready: an open incident whose setup a stop interrupted.
func (a *App) unready(i *Incident) bool {
	return i.Status.Open() && !i.Ready() && !i.channelGaveUp()
}

// wrapUpLeft: what a stop interrupted after the all-clear, action items not
// yet filed as tickets or close steps not yet done.
func (a *App) wrapUpLeft(i *Incident) bool {
	if closeUnfinished(i) {
		return true
	}
	return a.deps.Tickets != nil && slices.ContainsFunc(i.Actions, func(it ActionItem) bool { return it.Ticket == nil && it.FileFailures < MaxStepAttempts })
}

// resumeWrapUp finishes the wrap-up of the incidents among incs that have
// some left.
func (a *App) resumeWrapUp(ctx context.Context, incs []Incident) error {
	for _, inc := range incs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !a.wrapUpLeft(&inc) {
			continue
		}
		if a.deps.Tickets != nil {
			if res, err := a.FileTickets(ctx, inc.Number, false); err != nil {
				a.log().Error("resuming action-item filing", "incident", inc.Number, "err", err)
			} else if len(res.Failed) > 0 {
				a.log().Warn("action items still not filed", "incident", inc.Number, "failed", len(res.Failed))
			}
		}
		if closeUnfinished(&inc) {
			if res, err := a.FinishClose(ctx, inc.Number, false); err != nil {
				a.log().Error("resuming the close", "incident", inc.Number, "err", err)
			} else if len(res.Failed) > 0 {
				a.log().Warn("close steps still failing", "incident", inc.Number, "failed", fmt.Sprint(res.Failed))
			}
		}
	}
	return nil
}
