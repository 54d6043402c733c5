package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakegithub"
	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/internal/testrun"
)

// binary is the klaxon the tests run: this test binary itself, which runs
// main when beKlaxon is in its environment (see TestMain).
var binary string

// beKlaxon in a process's environment makes this test binary run klaxon's
// main instead of the tests.
const beKlaxon = "KLAXON_TEST_BINARY_IS_KLAXON=1"

// declaredNumber reads the incident number from a declaration's ack.
var declaredNumber = regexp.MustCompile(`incident #(\d+)`)

// TestMain makes this test binary the klaxon the tests below run as an
// operator would: started with beKlaxon in its environment it is klaxon
// (main, with the arguments given, before the testing package reads any
// flag), the same code `go build` makes, with the race detector when the
// tests have it (`go test -race`, as the README runs them). Building and
// linking a second binary instead cost the package 3 s before its first
// test on a 2-core machine.
func TestMain(m *testing.M) {
	if slices.Contains(os.Environ(), beKlaxon) {
		main()
		return
	}
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	binary = self
	testrun.MainWaiting(m)
}

// klaxonCmd is klaxon with args, its environment this process's with
// beKlaxon and env added (later entries win).
//
// A race-enabled program sleeps a second before it exits (GORACE's
// atexit_sleep_ms), which each run of klaxon would make its test wait for:
// the child gets atexit_sleep_ms=0 unless GORACE names it already (it does
// where testrun could restart this binary with it).
func klaxonCmd(ctx context.Context, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), beKlaxon)
	if g := os.Getenv("GORACE"); !strings.Contains(g, "atexit_sleep_ms") {
		cmd.Env = append(cmd.Env, "GORACE="+strings.TrimSpace(g+" atexit_sleep_ms=0"))
	}
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

var tokenEnv = []string{"SLACK_APP_TOKEN=" + fakeslack.DefaultAppToken, "SLACK_BOT_TOKEN=" + fakeslack.DefaultBotToken,
	"GITHUB_TOKEN=" + fakegithub.Token, "ALERTS_TOKEN=" + alertsToken}

func klaxon(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := klaxonCmd(context.Background(), env, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

func TestCheckConfig(t *testing.T) {
	t.Parallel()
	out, errOut, code := klaxon(t, tokenEnv, "check-config", "--config", "../../config.example.yaml")
	if code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("check-config of the example: exit %d\n%s%s", code, out, errOut)
	}
	_, errOut, code = klaxon(t, tokenEnv, "check-config", "--config", "../../internal/config/testdata/broken.yaml")
	if code != 2 {
		t.Fatalf("broken config: exit %d, want 2", code)
	}
	for _, want := range []string{"services[0].runbook: not a URL", "log.level", "slack.comand: unknown key", "severities.SEV9"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("problems do not mention %q:\n%s", want, errOut)
		}
	}
	_, errOut, code = klaxon(t, nil, "check-config", "--config", "../../config.example.yaml")
	if code != 2 || !strings.Contains(errOut, "SLACK_APP_TOKEN is not set") {
		t.Errorf("missing token env: exit %d, %s", code, errOut)
	}
}

func TestManifestAndVersion(t *testing.T) {
	t.Parallel()
	out, _, code := klaxon(t, nil, "manifest", "--config", "does-not-exist.yaml")
	if code != 0 {
		t.Fatalf("manifest exit %d", code)
	}
	for _, want := range []string{"command: /incident", "socket_mode_enabled: true", "is_enabled: true", "- channels:manage", "- chat:write", "- commands", "- pins:write", "- bookmarks:write", "- usergroups:read"} {
		if !strings.Contains(out, want) {
			t.Errorf("manifest lacks %q:\n%s", want, out)
		}
	}
	if out, _, code := klaxon(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "klaxon ") {
		t.Errorf("version = %q, %d", out, code)
	}
	if _, errOut, code := klaxon(t, nil, "frobnicate"); code != 2 || !strings.Contains(errOut, "Usage") {
		t.Errorf("unknown subcommand: %d %q", code, errOut)
	}
}

// process is a running `klaxon run`.
type process struct {
	cmd     *exec.Cmd
	mu      sync.Mutex
	logs    bytes.Buffer
	done    chan error
	waiters []logWaiter
}

type logWaiter struct {
	text string
	ch   chan struct{}
}

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, err := p.logs.Write(b)
	keep := p.waiters[:0]
	for _, w := range p.waiters {
		if strings.Contains(p.logs.String(), w.text) {
			close(w.ch)
		} else {
			keep = append(keep, w)
		}
	}
	p.waiters = keep
	return n, err
}

// logged returns a channel closed once the process has logged text.
func (p *process) logged(text string) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch := make(chan struct{})
	if strings.Contains(p.logs.String(), text) {
		close(ch)
	} else {
		p.waiters = append(p.waiters, logWaiter{text, ch})
	}
	return ch
}

func (p *process) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// freeAddr is a loopback address whose port was free a moment ago. For a
// Klaxon that listens on it, use serve: another test's listener can take
// the port before Klaxon binds it.
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func writeConfig(t *testing.T, dir, apiURL, httpAddr string) string {
	cfg := fmt.Sprintf(`slack:
  app_token: ${SLACK_APP_TOKEN}
  bot_token: ${SLACK_BOT_TOKEN}
  api_url: %s
  announce_channel: C0ANNOUNCE
store:
  path: %s
http:
  listen: %s
log:
  level: debug
severities:
  SEV1:
    stakeholders: [U0EXEC01]
services:
  - name: checkout
    runbook: https://runbooks.example.com/checkout
    stakeholders: [U0PAY001]
`, strings.TrimSuffix(apiURL, "/"), filepath.Join(dir, "klaxon.db"), httpAddr)
	path := filepath.Join(dir, "klaxon.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func startKlaxon(t *testing.T, f *fakeslack.Server, config string) *process {
	t.Helper()
	before := 0
	f.WaitFor(context.Background(), func(s *fakeslack.Snapshot) bool { before = s.TotalConnections(); return true })
	p := &process{done: make(chan error, 1)}
	p.cmd = klaxonCmd(context.Background(), tokenEnv, "run", "--config", config)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// A new connection: the socket of a killed predecessor may still count.
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool { return s.Connections() > 0 && s.TotalConnections() > before }); err != nil {
		t.Fatalf("klaxon did not connect: %v\n%s", err, p.Logs())
	}
	return p
}

// serve starts Klaxon with the config that config writes for an HTTP
// address, and returns it once it serves, with that address. The address
// is freeAddr's: its port is free when asked, but until Klaxon binds it,
// after its start (its store, Slack's auth.test, the bot), any listener of
// another test (or package) may take it. Klaxon then exits ("address already in use") and
// is started again on another port. A restart goes through serve again,
// for the same reason: the port its predecessor freed may be gone.
func serve(t *testing.T, f *fakeslack.Server, config func(addr string) string) (*process, string) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		addr := freeAddr(t)
		p := startKlaxon(t, f, config(addr))
		select {
		case <-p.logged("serving /healthz"):
			return p, addr
		case err := <-p.done:
			p.done <- err // for startKlaxon's cleanup
			if attempt == 5 || !strings.Contains(p.Logs(), "address already in use") {
				t.Fatalf("klaxon exited before serving on %s: %v\n%s", addr, err, p.Logs())
			}
			t.Logf("%s was taken before klaxon bound it; again on another port", addr)
		case <-time.After(60 * time.Second): // a hung start, not a timing
			t.Fatalf("klaxon did not serve on %s\n%s", addr, p.Logs())
		}
	}
}

func newWorkspace(t *testing.T, opts fakeslack.Options) *fakeslack.Server {
	f := fakeslack.New(opts)
	t.Cleanup(f.Close)
	for _, u := range []string{"U0DECL01", "U0EXEC01", "U0PAY001"} {
		f.AddUser(u, strings.ToLower(u))
	}
	f.AddChannel("C0ANNOUNCE", "incidents", fakeslack.BotUserID)
	f.AddChannel("C0GENERAL", "general", "U0DECL01")
	return f
}

func declare(t *testing.T, f *fakeslack.Server, text string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ack, err := f.SlashCommand(ctx, fakeslack.SlashCommand{Text: text, UserID: "U0DECL01", ChannelID: "C0GENERAL"})
	if err != nil || ack.Late {
		t.Fatalf("declare: %v %+v", err, ack)
	}
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
		return len(s.Messages("C0ANNOUNCE")) >= n && len(s.ResponseURLPosts()) >= n
	}); err != nil {
		t.Fatalf("declaration %d never finished: %v", n, err)
	}
}

func TestRunDeclareStopRestart(t *testing.T) {
	t.Parallel()
	f := newWorkspace(t, fakeslack.Options{})
	dir := t.TempDir()
	var config string
	p, addr := serve(t, f, func(addr string) string { config = writeConfig(t, dir, f.URL(), addr); return config })

	declare(t, f, "declare sev1 checkout Checkout returns 500s", 1)
	ch, ok := f.Channel("inc-1-sev1-checkout-returns-500s")
	if !ok || len(ch.Bookmarks) != 1 {
		t.Fatalf("channel = %+v, %v", ch, ok)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s = %v, %v", path, resp, err)
		}
		resp.Body.Close()
	}

	// A second Klaxon on the same store refuses to start, and says why.
	_, errOut, code := klaxon(t, tokenEnv, "run", "--config", writeConfig(t, dir, f.URL(), freeAddr(t)))
	if code == 0 || !strings.Contains(errOut, "another Klaxon is using klaxon.db") {
		t.Errorf("second instance: exit %d, %q", code, errOut)
	}

	// SIGTERM stops it cleanly.
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-p.done; err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.Logs())
	}
	p.done <- nil // for the cleanup
	logs := p.Logs()

	p2, _ := serve(t, f, func(addr string) string { return writeConfig(t, dir, f.URL(), addr) })
	declare(t, f, "declare sev2 checkout Card form broken", 2)
	if _, ok := f.Channel("inc-2-sev2-card-form-broken"); !ok {
		t.Fatalf("after restart no inc-2 channel")
	}
	// Debug logs of two runs, a refused second instance and a broken
	// config: no token, nor anything shaped like one.
	_, brokenErr, _ := klaxon(t, tokenEnv, "check-config", "--config", "../../internal/config/testdata/broken.yaml")
	for _, secret := range []string{fakeslack.DefaultBotToken, fakeslack.DefaultAppToken, "xoxb-", "xapp-"} {
		if strings.Contains(logs+p2.Logs()+errOut+brokenErr, secret) {
			t.Errorf("%q reached the logs or an error", secret)
		}
	}
}

// TestKillDuringDeclarationThenRestart kills Klaxon with SIGKILL while Slack
// is creating the channel, restarts it on the same store, and checks that the
// declaration finishes with exactly one channel and one announcement.
func TestKillDuringDeclarationThenRestart(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	f := newWorkspace(t, fakeslack.Options{Fault: func(method string, n int) *fakeslack.Fault {
		if method == "conversations.create" && n == 1 {
			arrived <- struct{}{}
			// Slack takes its time: the kill lands while the call is in
			// flight, and the channel appears after Klaxon died.
			return &fakeslack.Fault{Delay: time.Second}
		}
		return nil
	}})
	dir := t.TempDir()
	config := writeConfig(t, dir, f.URL(), "off")
	p := startKlaxon(t, f, config)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ack, err := f.SlashCommand(ctx, fakeslack.SlashCommand{Text: "declare sev1 checkout Checkout returns 500s", UserID: "U0DECL01", ChannelID: "C0GENERAL"})
	if err != nil || !strings.Contains(string(ack.Payload), "#1") {
		t.Fatalf("ack %s, %v", ack.Payload, err)
	}
	select {
	case <-arrived:
	case <-ctx.Done():
		t.Fatal("conversations.create never called")
	}
	p.cmd.Process.Kill()
	<-p.done
	p.done <- nil
	// Slack finishes creating the channel after Klaxon died.
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool { _, ok := s.Channel("inc-1-sev1-checkout-returns-500s"); return ok }); err != nil {
		t.Fatal(err)
	}

	startKlaxon(t, f, config)
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool { return len(s.Messages("C0ANNOUNCE")) == 1 }); err != nil {
		t.Fatalf("the interrupted declaration was not finished: %v", err)
	}
	ch, _ := f.Channel("inc-1-sev1-checkout-returns-500s")
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool {
		c, _ := s.Channel(ch.ID)
		return len(c.Pins) == 1 && len(c.Bookmarks) == 1
	}); err != nil {
		t.Fatalf("setup not finished in the adopted channel: %v", err)
	}
	var incidentChannels int
	for _, c := range f.Channels() {
		if strings.HasPrefix(c.Name, "inc-") {
			incidentChannels++
		}
	}
	if incidentChannels != 1 {
		t.Fatalf("%d incident channels after kill and restart, want 1", incidentChannels)
	}
	if len(f.CallsTo("conversations.list")) == 0 {
		t.Error("the restarted Klaxon did not look the channel up before adopting it")
	}
}

// tsTime reads a Slack message timestamp ("1700000000.000100").
func tsTime(ts string) time.Time {
	sec, frac, _ := strings.Cut(ts, ".")
	var s, us int64
	fmt.Sscan(sec, &s)
	fmt.Sscan(frac, &us)
	return time.Unix(s, us*1000)
}

func nudgeMsgs(ms []fakeslack.Message) []fakeslack.Message {
	var out []fakeslack.Message
	for _, m := range ms {
		if strings.Contains(string(m.Blocks), `"block_id":"nudge"`) {
			out = append(out, m)
		}
	}
	return out
}

// TestScopeNudgeThroughBinary: with triage.scope_timebox set to 2 s, a
// declaration with no scope call gets one reminder in its channel, asking
// for the scope and for a commander, after the timebox and not before.
// The timebox runs from the declaration, which comes after the slash
// command is sent: the reminder's timestamp (the fake's wall clock, read
// in this process) is at least the timebox after that moment. The
// announcement is no reference: its post comes after the channel's setup,
// which a loaded machine can stretch past half the timebox.
func TestScopeNudgeThroughBinary(t *testing.T) {
	t.Parallel()
	const timebox = 2 * time.Second
	f := newWorkspace(t, fakeslack.Options{DisableRateLimits: true})
	dir := t.TempDir()
	config := writeConfig(t, dir, f.URL(), "off")
	cfg, _ := os.ReadFile(config)
	os.WriteFile(config, append(cfg, []byte("triage:\n  scope_timebox: 2s\n")...), 0o600)
	startKlaxon(t, f, config)
	// Slack's timestamps have microseconds: so has the reference.
	sent := time.Now().Truncate(time.Microsecond)
	declare(t, f, "declare sev2 checkout Card form broken", 1)
	ch, _ := f.Channel("inc-1-sev2-card-form-broken")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	scopeNudge := func(ms []fakeslack.Message) []fakeslack.Message {
		var out []fakeslack.Message
		for _, m := range nudgeMsgs(ms) {
			if strings.Contains(m.Text, "scope call was due") {
				out = append(out, m)
			}
		}
		return out
	}
	if err := f.WaitFor(ctx, func(s *fakeslack.Snapshot) bool { return len(scopeNudge(s.Messages(ch.ID))) == 1 }); err != nil {
		t.Fatalf("no scope reminder: %v", err)
	}
	n := scopeNudge(f.Messages(ch.ID))
	if wait := tsTime(n[0].TS).Sub(sent); wait < timebox {
		t.Fatalf("scope reminder %v after the declaration was sent; the timebox is %v", wait, timebox)
	}
	if !strings.Contains(n[0].Text, "/incident ic") {
		t.Errorf("without a commander the reminder should ask for one: %q", n[0].Text)
	}
}

// countChannels is how many channels incident n has.
func countChannels(chans []fakeslack.Channel, n int64) int {
	prefix := fmt.Sprintf("inc-%d-", n)
	c := 0
	for _, ch := range chans {
		if strings.HasPrefix(ch.Name, prefix) {
			c++
		}
	}
	return c
}
