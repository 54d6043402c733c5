package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/internal/config"
	"github.com/klaxonhq/klaxon/internal/demo"
	"github.com/klaxonhq/klaxon/playbook"
)

// demoCmd is `klaxon demo`: the real bot, wired by runWith from an ordinary
// config, against the in-repo fakes of Slack, GitHub and PagerDuty on 127.0.0.1, with
// a temporary store. Without --play it plays the scripted SEV1 and prints
// what people saw; with --play it serves the playground until stopped.
func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("klaxon demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	play := fs.Bool("play", false, "serve the playground page instead of playing the script; stop with Ctrl-C")
	addr := fs.String("addr", "127.0.0.1:8090", "with --play: host:port of the playground page (keep it on 127.0.0.1: the page acts as anyone)")
	keep := fs.String("keep", "", "directory (created when missing) to keep the store (klaxon.db) and the post-mortem (postmortem-<n>.md) in")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "klaxon demo: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *keep != "" {
		if err := os.MkdirAll(*keep, 0o755); err != nil {
			fmt.Fprintln(stderr, "klaxon demo:", err)
			return 1
		}
	}
	if *play {
		if w := exposedPlayground(*addr); w != "" {
			fmt.Fprintln(stderr, "klaxon demo:", w)
		}
	}
	began := time.Now()
	d, err := startDemo(ctx, *play, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "klaxon demo:", err)
		return 1
	}
	if *play {
		err = d.servePlayground(ctx, *addr, stdout)
	} else {
		err = d.playScript(ctx, stdout)
	}
	if stopErr := d.stop(); err == nil {
		err = stopErr
	}
	if err == nil && *keep != "" {
		err = d.keep(*keep, stdout)
	}
	os.RemoveAll(d.ws.Dir)
	if err != nil {
		fmt.Fprintln(stderr, "klaxon demo:", err)
		return 1
	}
	fmt.Fprintf(stderr, "klaxon demo: done in %.1f s\n", time.Since(began).Seconds())
	return 0
}

// runningDemo is the fakes and the bot running on them.
type runningDemo struct {
	ws     *demo.Workspace
	app    *playbook.App
	bot    *bot.Bot
	cancel context.CancelFunc
	done   chan error
	// postmortem is the outline Klaxon uploaded, kept for --keep.
	postmortem     []byte
	postmortemName string
}

// startDemo starts the fakes and the bot on them; live is for the
// playground (see demo.NewWorkspace).
func startDemo(ctx context.Context, live bool, logw io.Writer) (*runningDemo, error) {
	dir, err := os.MkdirTemp("", "klaxon-demo-")
	if err != nil {
		return nil, err
	}
	ws := demo.NewWorkspace(dir, live, nil)
	fail := func(err error) (*runningDemo, error) {
		ws.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	path, err := ws.WriteConfig()
	if err != nil {
		return fail(err)
	}
	// The same loader and checks as `klaxon run`.
	cfg, err := config.Load(path, os.LookupEnv)
	if err == nil {
		err = cfg.CheckRun()
	}
	if err != nil {
		return fail(fmt.Errorf("the demo's config: %w", err))
	}
	d := &runningDemo{ws: ws, done: make(chan error, 1)}
	started := make(chan struct{})
	hooks := runHooks{
		clock:    ws.Clock,
		listener: ws.HTTP,
		pace:     bot.Pace{Off: !live},
		started: func(app *playbook.App, b *bot.Bot) {
			d.app, d.bot = app, b
			ws.Clock.OnJump(app.Wake)
			close(started)
		},
	}
	rctx, cancel := context.WithCancel(ctx)
	d.cancel = cancel
	go func() { d.done <- runWith(rctx, cfg, logw, hooks) }()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	select {
	case <-started:
	case err := <-d.done:
		cancel()
		return fail(fmt.Errorf("the bot stopped at start: %v", err))
	}
	if err := ws.Slack.WaitConnected(wctx); err != nil {
		d.cancel()
		<-d.done
		return fail(fmt.Errorf("the bot did not connect to the fake Slack: %w", err))
	}
	return d, nil
}

// stop stops the bot (closing the store) and the fakes.
func (d *runningDemo) stop() error {
	d.cancel()
	err := <-d.done
	d.ws.Close()
	return err
}

func (d *runningDemo) driver() *demo.Driver {
	return &demo.Driver{W: d.ws, Settle: d.bot.Wait, Command: d.bot.Command, ResolvedInPagerDuty: d.resolvedInPagerDuty}
}

// resolvedInPagerDuty reports whether incident #1's timeline records that
// Klaxon resolved its PagerDuty incident.
func (d *runningDemo) resolvedInPagerDuty() bool {
	events, err := d.app.Timeline(context.Background(), 1)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(events, func(e playbook.Event) bool {
		p, ok := playbook.PayloadOf[playbook.PagerDutyPayload](e)
		return ok && p.Event == playbook.PagerDutyResolvedByKlaxon
	})
}

func (d *runningDemo) playScript(ctx context.Context, out io.Writer) error {
	fmt.Fprintln(out, "Klaxon demo: a SEV1 played by the real bot against a fake Slack, a fake GitHub and a fake PagerDuty on 127.0.0.1.")
	fmt.Fprintln(out, "Times are the demo's clock, jumped over the waits; nothing left this machine.")
	fmt.Fprintln(out, "\n═══ What people did ═══")
	s := &demo.Script{D: d.driver(), Step: func(at time.Time, who, what string) {
		if who == "" {
			fmt.Fprintf(out, "%s  %s\n", at.Format("15:04"), what)
			return
		}
		fmt.Fprintf(out, "%s  %s: %s\n", at.Format("15:04"), who, what)
	}}
	if err := s.Play(ctx); err != nil {
		return fmt.Errorf("the script stopped: %w", err)
	}
	d.bot.Wait()
	fmt.Fprintln(out, "\n═══ What they saw in Slack, channel by channel ═══")
	d.ws.WriteTranscript(out)

	inc, err := d.app.IncidentIn(ctx, s.Channel())
	if err != nil {
		return err
	}
	for _, f := range d.ws.Slack.Files() {
		if strings.HasSuffix(f.Name, ".md") {
			d.postmortem, d.postmortemName = f.Content, fmt.Sprintf("postmortem-%d.md", inc.Number)
		}
	}
	if d.postmortem == nil {
		return errors.New("no post-mortem was uploaded")
	}
	fmt.Fprintf(out, "\n═══ The post-mortem outline Klaxon shared in the channel ═══\n\n")
	out.Write(d.postmortem)
	for _, p := range d.ws.GitHub.Pulls("acme/postmortems") {
		fmt.Fprintf(out, "\n(Also proposed on the fake GitHub as acme/postmortems pull request #%d: %q, branch %s.)\n", p.Number, p.Title, p.Head)
	}
	for _, is := range d.ws.GitHub.Issues("acme/checkout") {
		fmt.Fprintf(out, "(Action item filed on the fake GitHub as acme/checkout#%d: %q, assigned to %s.)\n", is.Number, is.Title, orNobody(is.Assignees))
	}
	for _, pi := range d.ws.PagerDuty.Incidents() {
		fmt.Fprintf(out, "(Paged on the fake PagerDuty as incident %s: %q, acknowledged by %s at %s, now %s.)\n",
			pi.ID, pi.Title, demo.PDPersonName(pi.AckedBy), pi.AckedAt.Format("15:04"), pi.Status)
	}

	events, err := d.app.Timeline(ctx, inc.Number)
	if err != nil {
		return err
	}
	pm := d.app.BuildPostmortem(inc, events, nil, d.ws.Clock.Now())
	fmt.Fprintln(out, "\n═══ Phase durations against the playbook's targets ═══")
	fmt.Fprintln(out)
	fmt.Fprintf(out, "%-14s %-12s %-10s %s\n", "phase", "took", "target", "")
	for _, ph := range append(pm.Phases, pm.Total) {
		mark := "within target"
		switch {
		case !ph.Reached:
			mark = "not reached"
		case ph.Over:
			mark = "over by " + ph.OverBy
		}
		if ph.Bottleneck {
			mark += "  ← bottleneck"
		}
		fmt.Fprintf(out, "%-14s %-12s %-10s %s\n", ph.Name, cmp.Or(ph.Duration, "-"), ph.TargetText, mark)
	}
	rule, err := d.bot.Templates.PostmortemBottleneck(pm)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%s\n", rule)
	return nil
}

func orNobody(logins []string) string {
	if len(logins) == 0 {
		return "nobody"
	}
	return strings.Join(logins, ", ")
}

// keep copies the store and the post-mortem into dir, after the bot has
// closed the store.
func (d *runningDemo) keep(dir string, out io.Writer) error {
	db, err := os.ReadFile(d.ws.StorePath())
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "klaxon.db"), db, 0o600); err != nil {
		return err
	}
	kept := []string{filepath.Join(dir, "klaxon.db")}
	if d.postmortem != nil {
		p := filepath.Join(dir, d.postmortemName)
		if err := os.WriteFile(p, d.postmortem, 0o644); err != nil {
			return err
		}
		kept = append(kept, p)
	}
	fmt.Fprintf(out, "\nKept: %s\n", strings.Join(kept, ", "))
	return nil
}

// servePlayground serves the playground page on addr until ctx ends (Ctrl-C).
func (d *runningDemo) servePlayground(ctx context.Context, addr string, out io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("the playground: listen on %s: %w", addr, err)
	}
	pg := demo.NewPlayground(d.driver())
	srv := &http.Server{Handler: pg.Handler(), ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(out, "Klaxon playground: http://%s/\n", ln.Addr())
	fmt.Fprintln(out, "A fake Slack workspace with the real Klaxon in it. Type /incident commands, click buttons, fill in forms. Ctrl-C stops it.")
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// exposedPlayground warns when the playground would listen beyond this
// machine: its page lets whoever reaches it act as any user of the fake
// workspace, so it is meant for 127.0.0.1.
func exposedPlayground(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "" // net.Listen says what is wrong with it
	}
	if host == "localhost" {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return ""
	}
	return fmt.Sprintf("warning: --addr %s is not a loopback address: anyone who can reach it can act as any person of the playground; use 127.0.0.1:PORT unless you mean to share it", addr)
}
