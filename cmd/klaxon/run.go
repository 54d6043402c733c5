package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/robfig/cron/v3"
	"github.com/slack-go/slack/socketmode"
	"golang.org/x/sync/errgroup"

	"github.com/klaxonhq/klaxon/alertmanager"
	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/github"
	"github.com/klaxonhq/klaxon/internal/config"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

// shutdownDrain bounds how long a stop waits for work already started
// (declarations being set up) before cancelling it.
const shutdownDrain = 20 * time.Second

func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.SlogLevel()}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// run wires Klaxon and runs it until ctx ends: the Socket Mode loop, the
// resume of interrupted declarations and the HTTP server, under one errgroup.
// On return the store is closed.
func run(ctx context.Context, cfg *config.Config, logw io.Writer) error {
	return runWith(ctx, cfg, logw, runHooks{})
}

// runHooks let `klaxon demo` run this same wiring on its own clock and see
// the parts it drives; the zero value is the production setting.
type runHooks struct {
	clock playbook.Clock // nil: the wall clock
	// pace paces the Slack client; the zero value paces at Slack's limits.
	// The demo's script, whose clock stands still between steps against a
	// fake Slack without limits, turns it off.
	pace bot.Pace
	// started, when set, is called once everything is wired, before the
	// loops run.
	started func(app *playbook.App, b *bot.Bot)
	// listener, when set, is where the HTTP server serves (http.listen
	// names its address): the demo opens it before writing its config, so
	// no other process can take the port in between.
	listener net.Listener
}

func runWith(ctx context.Context, cfg *config.Config, logw io.Writer, hooks runHooks) error {
	log := newLogger(cfg.Log, logw)
	tmpl, err := templates.LoadFor(cfg.Templates.Dir, cfg.Slack.CommandName)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, cfg.Store, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := db.close(); err != nil {
			log.Error("closing the store", "err", err)
		}
	}()

	reg := prometheus.NewRegistry()
	ops := bot.NewOpsMetrics(reg)
	pace := hooks.pace
	if pace.Transport == nil {
		pace.Transport = bot.SlackTransport()
	}
	pace.Transport = ops.Instrument("slack", pace.Transport, bot.SlackMethod)
	api := bot.NewPacedClient(cfg.Slack.BotToken.Reveal(), cfg.Slack.AppToken.Reveal(), cfg.Slack.APIURL, pace)
	if err := reach(ctx, cfg.Slack.APIURL, log); err != nil {
		return err
	}
	authCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	who, err := api.AuthTestContext(authCtx)
	cancel()
	if err != nil {
		return authError(err, cfg.Slack.APIURL) // reach.go
	}
	log.Info("authenticated to Slack", "team", who.Team, "bot_user", who.UserID, "api_url", cfg.Slack.APIURL)

	var clock playbook.Clock = playbook.ClockFunc(time.Now)
	if hooks.clock != nil {
		clock = hooks.clock
	}
	adapter := &bot.Adapter{API: api, Templates: tmpl, BotUserID: who.UserID, AnnounceChannel: cfg.Slack.AnnounceChannel, Clock: clock}
	deps := playbook.Deps{
		Store: db.Store, Channels: adapter, Poster: adapter, Triage: adapter, Clock: clock, ScopeTimebox: cfg.Triage.ScopeTimebox,
		Responders: cfg.Responders, Directory: adapter,
		Tiers: cfg.Severities, Services: cfg.Services, Log: log.With("component", "playbook"),
		Closing: adapter, People: adapter, RenderPostmortem: tmpl.RenderPostmortem, RenderTicket: tmpl.RenderTicket, RenderOwnerIssue: tmpl.RenderOwnerIssue,
		HotfixReviewURL: cfg.Remediation.HotfixReviewURL, ArchiveDelay: cfg.Close.ArchiveDelay,
		ActionItemRepo: cfg.GitHub.ActionItemsRepo, PostmortemsRepo: cfg.GitHub.Postmortems.Repo,
		PostmortemsPath: cfg.GitHub.Postmortems.Path, PostmortemsAsIssue: cfg.GitHub.Postmortems.As == config.PostmortemAsIssue,
		DeployWindow: cfg.Deploys.Window, WatchWindow: cfg.Deploys.WatchWindow,
		RiskyPaths: cfg.Deploys.RiskyPaths, LargeDiffLines: int(cfg.Deploys.LargeDiffLines),
		Members: adapter,
	}
	// Both stores (bbolt and PostgreSQL) keep the deploy log: the
	// watchdog's webhook deliveries, the deploys read at declaration, the
	// watch windows and the change failure rate.
	dl, ok := db.Store.(playbook.DeployLog)
	if !ok {
		return fmt.Errorf("the %T store keeps no deploy log", db.Store)
	}
	deps.DeployLog = dl
	var ghc *github.Client
	if cfg.GitHub.Enabled() {
		gh, err := github.New(github.Options{APIURL: cfg.GitHub.APIURL, Token: cfg.GitHub.Token.Reveal(), Logins: cfg.GitHub.Logins,
			HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: ops.Instrument("github", nil, bot.RouteTemplate)}})
		if err != nil {
			return fmt.Errorf("github: %w", err)
		}
		ghc = gh
		deps.Deploys, deps.Tickets = gh, gh
		deps.DeployLookup, deps.DeployPoster = gh, adapter
		if deps.PostmortemsRepo != "" {
			deps.PostmortemRepo = gh.PostmortemPublisher(deps.PostmortemsAsIssue)
		}
		log.Info("GitHub is on", "api_url", cfg.GitHub.APIURL)
	}
	// Alert intake: off (no route, no offers) without alerts.token.
	alertRoutes := map[string]http.Handler{}
	if cfg.Alerts.Enabled() {
		signals, ok := db.Store.(playbook.SignalStore)
		if !ok {
			return fmt.Errorf("alerts.token: the %T store keeps no alert signals", db.Store)
		}
		deps.Signals, deps.Offers = signals, adapter
		deps.Detection = playbook.Detection{Rules: cfg.Alerts.Rules(), TriageChannel: cfg.Alerts.TriageChannel, DefaultService: cfg.Alerts.DefaultService,
			SharedStore: db.bolt == nil}
	}
	wirePaging(cfg, &deps, adapter, ghc, log)
	if deps.PageChat != nil {
		deps.PageChat = bot.InstrumentedPageChat{PageChat: deps.PageChat, M: ops}
	}
	app := playbook.New(deps)
	if cfg.Alerts.Enabled() {
		h, err := alertmanager.NewHandler(cfg.Alerts.Token.Reveal(), app, log.With("component", "alertmanager"))
		if err != nil {
			return err
		}
		alertRoutes["POST "+alertmanager.Path] = h
		log.Info("alert intake is on", "path", alertmanager.Path, "triage_channel", cfg.Alerts.TriageChannel)
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(bot.NewIncidentCollector(db, log), bot.NewFiguresCollector(db.Store, log))
	b := &bot.Bot{
		App: app, API: api, Socket: socketmode.New(api), Templates: tmpl,
		Log: log.With("component", "bot"), Metrics: bot.NewMetrics(reg),
		Command: cfg.Slack.CommandName, DefaultSeverity: cfg.Declare.DefaultSeverity,
		Drain: shutdownDrain, Groups: adapter,
	}

	if hooks.started != nil {
		hooks.started(app, b)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return b.Run(gctx) })
	// Permissions are decided from memory (never a Slack call before an
	// ack): every replica reads the responder groups now and keeps them fresh.
	g.Go(func() error {
		adapter.KeepGroupsFresh(gctx, app.ResponderGroups(), time.After, func(err error) { log.Warn("reading the responder groups", "err", err) })
		return nil
	})
	// The scheduler, the calendar jobs and the resume of interrupted work run
	// on one process: the only one with bolt, the lease holder among
	// PostgreSQL replicas (a new leader resumes what its predecessor left).
	g.Go(func() error {
		return db.lead(gctx, app, log, func(ctx context.Context) {
			defer startDigest(ctx, b, cfg.Digest, log)()
			if err := leaderWork(ctx, app, cfg.Scheduler, clock, log); err != nil {
				log.Error("scheduler", "err", err)
			}
		})
	})
	// Extra routes: the report, and the webhooks, each on only with its
	// secret.
	routes := map[string]http.Handler{"GET /report": reportHandler(app, log)}
	switch {
	case !cfg.GitHub.WebhookSecret.IsSet():
	case !cfg.HTTP.Enabled():
		log.Warn("github.webhook_secret is set but http.listen is off: nothing receives GitHub's deploys")
	default:
		hook, err := github.NewWebhook(cfg.GitHub.WebhookSecret.Reveal(), app, log.With("component", "github-webhook"))
		if err != nil {
			return err
		}
		routes["POST /webhooks/github"] = hook
	}
	if cfg.HTTP.Enabled() {
		// A copy of every incident, private ones included: only behind the
		// admin token, and only with bolt (PostgreSQL has its own backups).
		if db.bolt != nil && cfg.HTTP.AdminToken.IsSet() {
			routes["GET /admin/backup"] = backupHandler(db.bolt, cfg.HTTP.AdminToken.Reveal(), log.With("component", "admin"))
		}
		maps.Copy(routes, alertRoutes)
		if route, h := pagerDutyRoute(cfg, app, log); h != nil {
			routes[route] = h
		}
		srv := httpServer(cfg.HTTP.Listen, reg, b.Connected, db.isLeader, routes)
		ln := hooks.listener
		if ln == nil {
			if ln, err = net.Listen("tcp", cfg.HTTP.Listen); err != nil {
				return fmt.Errorf("http: listen on %s: %w", cfg.HTTP.Listen, err)
			}
		}
		log.Info("serving /healthz, /readyz, /metrics and /report", "addr", ln.Addr().String(), "webhooks", len(routes)-1)
		g.Go(func() error {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		})
	}
	err = g.Wait()
	// Alert assessments run in the background; let them finish before the
	// store closes.
	app.WaitDetection()
	log.Info("stopped")
	return err
}

// readiness is /readyz's answer. Every replica that is connected to Slack
// is ready (each serves commands); leader says whether this one runs the
// scheduler.
type readiness struct {
	Ready  bool   `json:"ready"`
	Slack  bool   `json:"slack"`
	Leader bool   `json:"leader"`
	Reason string `json:"reason,omitempty"`
}

func httpServer(addr string, reg *prometheus.Registry, ready, leader func() bool, routes map[string]http.Handler) *http.Server {
	mux := http.NewServeMux()
	for pattern, h := range routes {
		mux.Handle(pattern, h)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		st := readiness{Slack: ready(), Leader: leader()}
		st.Ready = st.Slack
		w.Header().Set("Content-Type", "application/json")
		if !st.Ready {
			st.Reason = "not connected to Slack"
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(st)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return &http.Server{
		Addr:              addr,
		Handler:           http.MaxBytesHandler(mux, 1<<20),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
}

// calendar builds the calendar jobs (robfig/cron), read in the configured
// time zone: the post-mortem reminders. Deadlines that belong to an incident
// are not here: they are stored and fired by the scheduler loop.
func calendar(cfg config.Scheduler, remindPostmortems func()) (*cron.Cron, error) {
	cal := cron.New(cron.WithLocation(cfg.Timezone))
	if _, err := cal.AddFunc(cfg.PostmortemReminders, remindPostmortems); err != nil {
		return nil, fmt.Errorf("scheduler.postmortem_reminders: %w", err)
	}
	return cal, nil
}

// leaderWork runs what only one process may run, until ctx ends: the loop
// that fires every stored deadline (nothing is timed in memory, so a
// restart or a failover loses nothing and fires an overdue item once), the
// calendar jobs, and the resume of work a crash interrupted.
func leaderWork(ctx context.Context, app *playbook.App, cfg config.Scheduler, clock playbook.Clock, log *slog.Logger) error {
	cal, err := calendar(cfg, func() {
		if _, err := app.RemindPostmortems(ctx, clock.Now()); err != nil {
			log.Error("post-mortem reminders", "err", err)
		}
		// The action items' tickets are read back for the completion rate.
		if _, err := app.SyncTickets(ctx); err != nil {
			log.Error("reading action-item tickets", "err", err)
		}
		// Idempotency keys older than a week guard nothing any more.
		if n, err := app.PruneKeys(ctx, clock.Now()); err != nil {
			log.Error("pruning idempotency keys", "err", err)
		} else if n > 0 {
			log.Info("pruned idempotency keys", "keys", n)
		}
	})
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return app.RunScheduler(gctx, time.After) })
	cal.Start()
	// A sweep missed while Klaxon was down runs now; the 20-hour guard per
	// incident keeps it from repeating one already sent.
	g.Go(func() error {
		if _, err := app.RemindPostmortems(gctx, clock.Now()); err != nil && gctx.Err() == nil {
			log.Error("post-mortem reminders at start", "err", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		<-cal.Stop().Done() // let a running job finish
		return nil
	})
	g.Go(func() error {
		// Finish declarations a crash or restart interrupted. Like in-flight
		// envelopes, this work gets shutdownDrain to finish after a stop.
		rctx, cancel := context.WithCancel(context.WithoutCancel(gctx))
		defer cancel()
		defer context.AfterFunc(gctx, func() { time.AfterFunc(shutdownDrain, cancel) })()
		// After the scheduler's first pass: reminders that fell due while
		// Klaxon was down go first, never behind a long resume.
		select {
		case <-app.FirstTick():
		case <-gctx.Done():
			return nil
		}
		if err := app.Resume(rctx); err != nil {
			log.Error("resuming interrupted declarations", "err", err)
		}
		if err := app.ResumeDetection(rctx); err != nil {
			log.Error("resuming alert assessments", "err", err)
		}
		log.Info("resumed interrupted work")
		return nil
	})
	if app.DetectionOn() {
		// Alert groups left half done are taken up again now and then: an
		// offer whose post failed (Slack down), and with replicas a group
		// whose holder died (once its lease ran out).
		g.Go(func() error {
			for {
				select {
				case <-gctx.Done():
					return nil
				case <-time.After(detectionSweep):
				}
				if err := app.ResumeDetection(gctx); err != nil && gctx.Err() == nil {
					log.Error("taking over alert assessments", "err", err)
				}
			}
		})
	}
	return g.Wait()
}

// detectionSweep is how often the leader looks for alert groups left half
// assessed: a failed offer post, a dead replica's hold.
const detectionSweep = time.Minute
