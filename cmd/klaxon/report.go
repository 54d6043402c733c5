package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/internal/config"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/report"
	"github.com/klaxonhq/klaxon/store"
	"github.com/klaxonhq/klaxon/store/postgres"
	"github.com/klaxonhq/klaxon/templates"
)

// defaultSince is the window of `klaxon report` and GET /report: the last
// 12 weeks, as an engineering leader tracks them.
const defaultSince = 12 * playbook.Week

// reportQuery is what a report asks for, from flags or a query string.
type reportQuery struct {
	since   time.Duration
	service string
	format  report.Format
}

func parseReportQuery(since, service, format string) (reportQuery, error) {
	d, err := playbook.ParseSpan(since, defaultSince)
	if err != nil {
		return reportQuery{}, errors.New(templates.Default().ErrorPlain(err))
	}
	f, err := report.ParseFormat(format)
	if err != nil {
		return reportQuery{}, err
	}
	return reportQuery{since: d, service: service, format: f}, nil
}

// figures computes the figures of q over app's store at its clock's now.
func figures(ctx context.Context, app *playbook.App, q reportQuery) (playbook.Figures, error) {
	now := app.Now()
	return app.Figures(ctx, playbook.FigureQuery{Window: playbook.WindowEnding(now, q.since), Service: q.service})
}

// reportHandler serves GET /report?since=12w&service=s&format=json: the
// same figures as `klaxon report`, for a report run while Klaxon holds the
// store. Figures only, never titles or other user text, so it is as open as
// /metrics.
func reportHandler(app *playbook.App, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query()
		q, err := parseReportQuery(v.Get("since"), v.Get("service"), v.Get("format"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f, err := figures(r.Context(), app, q)
		if err != nil {
			code := http.StatusInternalServerError
			if playbook.ErrorCode(err) == playbook.CodeBadInput {
				code = http.StatusBadRequest
			}
			http.Error(w, templates.Default().ErrorPlain(err), code)
			return
		}
		w.Header().Set("Content-Type", q.format.ContentType())
		w.Header().Set("Cache-Control", "no-store")
		if err := report.Write(w, f, q.format); err != nil {
			log.Error("writing /report", "err", err)
		}
	}
}

// lenientEnv lets report and export load a config whose Slack tokens are not
// in this shell's environment: they only read the store.
func lenientEnv(getenv func(string) (string, bool)) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, _ := getenv(k)
		return v, true
	}
}

// reportCmd is `klaxon report`: it reads the store when Klaxon is stopped,
// and asks the running Klaxon's GET /report when it holds the store's lock.
func reportCmd(ctx context.Context, args []string, configDefault string, stdout, stderr io.Writer, getenv func(string) (string, bool)) int {
	fs := flag.NewFlagSet("klaxon report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", configDefault, "path to the YAML config")
	since := fs.String("since", "12w", "window ending now: days or weeks, e.g. 7d, 30d, 12w")
	service := fs.String("service", "", "only this service's incidents")
	format := fs.String("format", "table", "table, csv, json or html")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "klaxon report: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	q, err := parseReportQuery(*since, *service, *format)
	if err != nil {
		fmt.Fprintln(stderr, "klaxon report:", err)
		return 2
	}
	cfg, db, closeDB, code := readStore(ctx, "report", *configPath, getenv, stderr, func(cfg *config.Config) int {
		return reportFromRunning(ctx, cfg, q, stdout, stderr)
	})
	if db == nil {
		return code
	}
	defer closeDB()
	app := playbook.New(playbook.Deps{Store: db, Tiers: cfg.Severities, Services: cfg.Services, Clock: playbook.ClockFunc(time.Now)})
	f, err := figures(ctx, app, q)
	if err != nil {
		fmt.Fprintln(stderr, "klaxon report:", templates.Default().ErrorPlain(err))
		if playbook.ErrorCode(err) == playbook.CodeBadInput {
			return 2
		}
		return 1
	}
	if err := report.Write(stdout, f, q.format); err != nil {
		fmt.Fprintln(stderr, "klaxon report:", err)
		return 1
	}
	return 0
}

// localAddr is where this machine reaches a Klaxon listening on listen
// (http.listen): an unspecified host is the loopback address.
func localAddr(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// serving tells whether something accepts connections on http.listen.
func serving(h config.HTTP) bool {
	if !h.Enabled() {
		return false
	}
	addr, err := localAddr(h.Listen)
	if err != nil {
		return false
	}
	c, err := net.DialTimeout("tcp", addr, lockProbe)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// reportFromRunning asks the Klaxon that holds the store for the report.
func reportFromRunning(ctx context.Context, cfg *config.Config, q reportQuery, stdout, stderr io.Writer) int {
	if !cfg.HTTP.Enabled() {
		fmt.Fprintf(stderr, "klaxon report: another Klaxon is using %s and http.listen is off, so it cannot be asked: stop it, or turn http.listen on\n", cfg.Store.Path)
		return 1
	}
	addr, err := localAddr(cfg.HTTP.Listen)
	if err != nil {
		fmt.Fprintln(stderr, "klaxon report: http.listen:", err)
		return 2
	}
	v := url.Values{"since": {fmt.Sprintf("%dd", int(q.since/(24*time.Hour)))}, "format": {string(q.format)}}
	if q.service != "" {
		v.Set("service", q.service)
	}
	u := url.URL{Scheme: "http", Host: addr, Path: "/report", RawQuery: v.Encode()}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u.String(), nil)
	if err != nil {
		fmt.Fprintln(stderr, "klaxon report:", err)
		return 1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "klaxon report: another Klaxon is using %s, and asking it at %s failed: %v\n", cfg.Store.Path, u.Host, err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2000))
		fmt.Fprintf(stderr, "klaxon report: the running Klaxon answered %s: %s", resp.Status, msg)
		if resp.StatusCode == http.StatusBadRequest {
			return 2
		}
		return 1
	}
	if _, err := io.Copy(stdout, resp.Body); err != nil {
		fmt.Fprintln(stderr, "klaxon report:", err)
		return 1
	}
	return 0
}

// readStore loads the config at configPath and opens its store for reading,
// for `klaxon report` and `klaxon export`. When a running Klaxon holds the
// bbolt file, onLocked answers instead. On failure the store is nil and code
// is the exit code, the problem already told on stderr.
func readStore(ctx context.Context, name, configPath string, getenv func(string) (string, bool), stderr io.Writer, onLocked func(*config.Config) int) (
	cfg *config.Config, db playbook.Store, closeDB func() error, code int) {
	cfg, err := config.Load(configPath, lenientEnv(getenv))
	if err != nil {
		printProblems(stderr, configPath, err)
		return nil, nil, nil, 2
	}
	db, closeDB, err = openForReading(ctx, cfg.Store, lockProbe)
	if errors.Is(err, store.ErrLocked) && !serving(cfg.HTTP) {
		// Held, and no Klaxon answers on http.listen: a backup or a
		// migration holding the file for a moment, or a Klaxon stopping.
		// Wait for it as klaxon run would.
		db, closeDB, err = openForReading(ctx, cfg.Store, cfg.Store.LockTimeout)
	}
	switch {
	case errors.Is(err, store.ErrLocked):
		return cfg, nil, nil, onLocked(cfg)
	case errors.Is(err, os.ErrNotExist):
		fmt.Fprintf(stderr, "klaxon %s: no store at %s: Klaxon has recorded nothing there yet\n", name, cfg.Store.Path)
		return cfg, nil, nil, 1
	case err != nil:
		fmt.Fprintf(stderr, "klaxon %s: %v\n", name, err)
		return cfg, nil, nil, 1
	}
	return cfg, db, closeDB, 0
}

// openForReading opens the configured store to read it beside a running
// Klaxon: PostgreSQL as any replica does; the bbolt file read-only, which
// fails with store.ErrLocked while a Klaxon holds it after waiting wait
// for the lock. readStore first waits lockProbe, not store.lock_timeout: a
// held lock is almost always a running Klaxon, which report asks at once
// and export names, and waiting longer only delayed that answer (by 2 s,
// the default lock_timeout).
func openForReading(ctx context.Context, cfg config.Store, wait time.Duration) (playbook.Store, func() error, error) {
	if cfg.Driver == config.DriverPostgres {
		octx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		db, err := postgres.Open(octx, cfg.DSN.Reveal())
		if err != nil {
			return nil, nil, err
		}
		return db, db.Close, nil
	}
	db, err := store.OpenReadOnly(cfg.Path, wait)
	if err != nil {
		return nil, nil, err
	}
	return db, db.Close, nil
}

// exportLine is one line of `klaxon export`.
type exportLine struct {
	Incident playbook.Incident `json:"incident"`
	Events   []playbook.Event  `json:"events"`
}

// exportCmd is `klaxon export`: every incident declared in the window (all
// of them by default) with its whole timeline, one JSON object a line. It
// carries titles and notes, so it reads the file directly and never goes
// through the HTTP listener: the running Klaxon must be stopped first.
func exportCmd(ctx context.Context, args []string, configDefault string, stdout, stderr io.Writer, getenv func(string) (string, bool)) int {
	fs := flag.NewFlagSet("klaxon export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", configDefault, "path to the YAML config")
	since := fs.String("since", "", "only incidents declared in this window ending now (7d, 12w); default all")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var from time.Time
	if *since != "" {
		d, err := playbook.ParseSpan(*since, 0)
		if err != nil {
			fmt.Fprintln(stderr, "klaxon export:", templates.Default().ErrorPlain(err))
			return 2
		}
		from = time.Now().Add(-d)
	}
	_, db, closeDB, code := readStore(ctx, "export", *configPath, getenv, stderr, func(cfg *config.Config) int {
		fmt.Fprintf(stderr, "klaxon export: another Klaxon is using %s; export reads the file itself (it carries titles and notes, which /report never serves): stop Klaxon first\n", cfg.Store.Path)
		return 1
	})
	if db == nil {
		return code
	}
	defer closeDB()
	bw := bufio.NewWriter(stdout)
	enc := json.NewEncoder(bw)
	n := 0
	err := playbook.ScanIncidents(ctx, db, nil, func(inc *playbook.Incident, evs []playbook.Event) error {
		if !from.IsZero() && inc.DeclaredAt().Before(from) {
			return nil
		}
		if evs == nil {
			evs = []playbook.Event{}
		}
		n++
		return enc.Encode(exportLine{Incident: *inc, Events: evs})
	})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		fmt.Fprintln(stderr, "klaxon export:", err)
		return 1
	}
	fmt.Fprintf(stderr, "klaxon export: %d incidents\n", n)
	return 0
}

// startDigest runs the weekly digest (digest.channel, on digest.schedule in
// digest.timezone) on the replica that leads, until ctx ends; the function
// it returns waits for it to stop.
func startDigest(ctx context.Context, b *bot.Bot, cfg config.Digest, log *slog.Logger) func() {
	if !cfg.Enabled() {
		return func() {}
	}
	sched, err := cron.ParseStandard(cfg.Schedule) // checked when the config was loaded
	if err != nil {
		log.Error("digest.schedule", "err", err)
		return func() {}
	}
	loc := cfg.Timezone
	if loc == nil {
		loc = time.UTC
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.RunDigest(ctx, cfg.Channel, sched, loc, time.After)
	}()
	log.Info("weekly digest scheduled", "channel", cfg.Channel, "schedule", cfg.Schedule, "timezone", cfg.TimezoneName)
	return func() { <-done }
}
