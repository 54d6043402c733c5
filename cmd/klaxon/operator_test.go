package main

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
)

// TestRefusedTokensSayWhichAndWhere: a token Slack refuses is named (app
// or bot), with Slack's answer and where the right one comes from.
func TestRefusedTokensSayWhichAndWhere(t *testing.T) {
	t.Parallel()
	f := newWorkspace(t, fakeslack.Options{})
	config := writeConfig(t, t.TempDir(), f.URL(), "off")
	for _, c := range []struct {
		env  []string
		want []string
	}{
		{[]string{"SLACK_APP_TOKEN=" + fakeslack.DefaultAppToken, "SLACK_BOT_TOKEN=xoxb-revoked-or-mistyped"},
			[]string{"slack refused the bot token (slack.bot_token): invalid_auth", "xoxb-", "OAuth & Permissions"}},
		{[]string{"SLACK_APP_TOKEN=xapp-revoked-or-mistyped", "SLACK_BOT_TOKEN=" + fakeslack.DefaultBotToken},
			[]string{"slack refused the app token (slack.app_token): invalid_auth", "xapp-", "connections:write", "App-Level Tokens"}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := klaxonCmd(ctx, c.env, "run", "--config", config)
		out, err := cmd.CombinedOutput()
		cancel()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("exit: %v\n%s", err, out)
		}
		for _, w := range c.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
		if strings.Contains(string(out), "revoked-or-mistyped") {
			t.Errorf("the token is in the output:\n%s", out)
		}
	}
	// A token of the wrong kind is caught before any network call.
	_, errOut, code := klaxon(t, []string{"SLACK_APP_TOKEN=" + fakeslack.DefaultBotToken, "SLACK_BOT_TOKEN=" + fakeslack.DefaultBotToken}, "check-config", "--config", config)
	if code != 2 || !strings.Contains(errOut, "slack.app_token") || !strings.Contains(errOut, "this is a bot token (xoxb-…)") {
		t.Errorf("xoxb in app_token: exit %d\n%s", code, errOut)
	}
}

// TestUnreachableAPIURLIsSaidAtOnce: a Web API nobody answers on is logged
// with its address and the retry from the first failed attempt (the test
// waits for that line, then stops Klaxon).
func TestUnreachableAPIURLIsSaidAtOnce(t *testing.T) {
	t.Parallel()
	// Port 1: nothing listens there. A port freed by closing a listener
	// could be taken by another test's listener meanwhile, which would
	// answer instead of refusing.
	const addr = "127.0.0.1:1"
	config := writeConfig(t, t.TempDir(), "http://"+addr+"/api/", "off")
	p := &process{done: make(chan error, 1)}
	p.cmd = klaxonCmd(context.Background(), tokenEnv, "run", "--config", config)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	select {
	case <-p.logged("cannot reach Slack's Web API; retrying"):
	case err := <-p.done:
		t.Fatalf("exited first: %v\n%s", err, p.Logs())
	case <-time.After(60 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("no retry logged\n%s", p.Logs())
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	logs := p.Logs()
	for _, w := range []string{"connecting to Slack's Web API", "addr=" + addr, "retry_in=", "connection refused"} {
		if !strings.Contains(logs, w) {
			t.Errorf("logs lack %q:\n%s", w, logs)
		}
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestMetricsAtStartAndConnectionState: every series is on /metrics at 0
// before the first event; klaxon_slack_connected and the reconnect count
// follow Socket Mode, which logs each change once.
func TestMetricsAtStartAndConnectionState(t *testing.T) {
	t.Parallel()
	f := newWorkspace(t, fakeslack.Options{})
	dir := t.TempDir()
	p, httpAddr := serve(t, f, func(addr string) string { return writeConfig(t, dir, f.URL(), addr) })
	// The listener does not wait for Socket Mode, and the fake counts the
	// connection before the bot has heard of it: the gauge is 1 once the
	// bot says it is connected (it sets the gauge before saying so).
	select {
	case <-p.logged("connected to Slack over Socket Mode"):
	case <-time.After(60 * time.Second): // a bound for a hung test, not a timing
		t.Fatalf("no connection logged\n%s", p.Logs())
	}
	m := scrape(t, "http://"+httpAddr+"/metrics")
	for _, w := range []string{
		`klaxon_envelopes_total{type="slash_commands"} 0`,
		`klaxon_envelopes_total{type="interactive"} 0`,
		`klaxon_incidents_declared_total{severity="SEV1"} 0`,
		`klaxon_incidents_declared_total{severity="SEV4"} 0`,
		"klaxon_slack_connected 1",
		"klaxon_slack_reconnects_total 0",
	} {
		if !strings.Contains(m, w) {
			t.Errorf("/metrics at start lacks %q", w)
		}
	}
	f.DropConnection()
	select {
	case <-p.logged("reconnected to Slack over Socket Mode"):
	case <-time.After(60 * time.Second):
		t.Fatalf("no reconnection logged\n%s", p.Logs())
	}
	if m := scrape(t, "http://"+httpAddr+"/metrics"); !strings.Contains(m, "klaxon_slack_reconnects_total 1") || !strings.Contains(m, "klaxon_slack_connected 1") {
		t.Errorf("after a reconnection:\n%s", m)
	}
	if n := strings.Count(p.Logs(), "connected to Slack over Socket Mode"); n != 2 {
		t.Errorf("%d connection lines, want one per change (connected, reconnected):\n%s", n, p.Logs())
	}

	// Slack gone: not ready and the gauge at 0 as soon as the loss is
	// logged (slack-go's reconnection attempts then fail with backoff).
	f.Close()
	for deadline := time.Now().Add(60 * time.Second); strings.Count(p.Logs(), "Socket Mode connection lost") < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("the loss was not logged\n%s", p.Logs())
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, not timing it
	}
	resp, err := http.Get("http://" + httpAddr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz while disconnected: %s", resp.Status)
	}
	if m := scrape(t, "http://"+httpAddr+"/metrics"); !strings.Contains(m, "klaxon_slack_connected 0") {
		t.Errorf("klaxon_slack_connected while disconnected:\n%s", m)
	}
}

// TestHealthcheck: `klaxon healthcheck` exits 0 when the running Klaxon's
// /healthz answers (read from http.listen, 0.0.0.0 asked on loopback), 1
// when nothing answers.
func TestHealthcheck(t *testing.T) {
	t.Parallel()
	f := newWorkspace(t, fakeslack.Options{})
	dir := t.TempDir()
	var config, port string
	p, httpAddr := serve(t, f, func(addr string) string {
		_, port, _ = net.SplitHostPort(addr)
		config = writeConfig(t, dir, f.URL(), "0.0.0.0:"+port)
		return config
	})
	out, errOut, code := klaxon(t, nil, "healthcheck", "--config", config) // no tokens needed
	if code != 0 || !strings.Contains(out, "http://127.0.0.1:"+port+"/healthz: ok") {
		t.Errorf("healthcheck of a running Klaxon: exit %d %s %s", code, out, errOut)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.done <- <-p.done // stopped; left for startKlaxon's cleanup to read
	if _, errOut, code := klaxon(t, nil, "healthcheck", "--config", config); code != 1 || !strings.Contains(errOut, "connection refused") {
		t.Errorf("healthcheck of a stopped Klaxon: exit %d %s", code, errOut)
	}
	if _, errOut, code := klaxon(t, nil, "healthcheck", "--url", "http://"+httpAddr+"/healthz"); code != 1 {
		t.Errorf("--url of nothing: exit %d %s", code, errOut)
	}
}

// TestDockerfile: docker cannot run here, so the image's promises are read
// from its Dockerfile: bases pinned by digest, the store on a declared
// volume outside the config mount, a shell-less HEALTHCHECK.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	pinned := regexp.MustCompile(`^FROM [^ @]+:[^ @]+@sha256:[0-9a-f]{64}( AS [a-z]+)?$`)
	froms := 0
	for _, line := range strings.Split(df, "\n") {
		if strings.HasPrefix(line, "FROM ") {
			froms++
			if !pinned.MatchString(line) {
				t.Errorf("base image not pinned by a sha256 digest (tag@sha256:<64 hex>): %s", line)
			}
		}
		// BuildKit would pull the named frontend image, unpinned.
		if strings.HasPrefix(strings.ToLower(strings.ReplaceAll(line, " ", "")), "#syntax=") {
			t.Errorf("a syntax directive pulls an unpinned frontend image: %s", line)
		}
	}
	if froms != 2 {
		t.Errorf("%d FROM lines, want the build stage and the runtime", froms)
	}
	for _, w := range []string{`VOLUME ["/var/lib/klaxon"]`, "WORKDIR /var/lib/klaxon", `CMD ["/usr/local/bin/klaxon", "healthcheck"]`, "USER 65532:65532",
		"CGO_ENABLED=0 go build", "FROM gcr.io/distroless/static-debian12:nonroot@", `ENTRYPOINT ["/usr/local/bin/klaxon"]`} {
		if !strings.Contains(df, w) {
			t.Errorf("Dockerfile lacks %q", w)
		}
	}
}

// TestConfigProblemsInOnePass: the file's problems and those that only
// stop a run (tokens, announce channel, a store.path that cannot be created)
// come in one list, from check-config and from run alike, and looking at the
// store's path creates nothing.
func TestConfigProblemsInOnePass(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := dir + "/klaxon.yaml"
	// A file where the store's directory should be: unwritable even for root.
	if err := os.WriteFile(dir+"/data", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("slack:\n  comand: /incident\nstore:\n  path: data/klaxon.db\nlog:\n  level: loud\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"check-config", "run"} {
		_, errOut, code := klaxon(t, []string{"SLACK_APP_TOKEN=", "SLACK_BOT_TOKEN="}, sub, "--config", path)
		if code != 2 {
			t.Errorf("%s: exit %d\n%s", sub, code, errOut)
		}
		for _, w := range []string{"6 problem(s)", "slack.comand: unknown key",
			"line 4: store.path: " + dir + "/data is a file, not a directory, so " + dir + "/data/klaxon.db cannot be created: choose another path",
			"log.level", "slack.app_token: required to run", "slack.bot_token: required to run", "slack.announce_channel: required to run"} {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s lacks %q:\n%s", sub, w, errOut)
			}
		}
	}
	// A directory that does not exist yet is fine (run creates it), and
	// check-config leaves it uncreated.
	if err := os.WriteFile(path, []byte("slack:\n  app_token: ${SLACK_APP_TOKEN}\n  bot_token: ${SLACK_BOT_TOKEN}\n  announce_channel: C0123456789\nstore:\n  path: new/sub/klaxon.db\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := klaxon(t, tokenEnv, "check-config", "--config", path); code != 0 || !strings.Contains(out, "OK") {
		t.Errorf("creatable store directory: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(dir + "/new"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("check-config created %s/new (or: %v)", dir, err)
	}
}

// TestCheckConfigNoEnvAndPlaceholders: the example passes without secrets
// with --no-env (the tokens and its placeholders are warnings), as a CI
// pipeline would run it; without --no-env a missing variable is a problem.
func TestCheckConfigNoEnvAndPlaceholders(t *testing.T) {
	t.Parallel()
	env := []string{"SLACK_APP_TOKEN=", "SLACK_BOT_TOKEN=", "GITHUB_TOKEN="}
	out, errOut, code := klaxon(t, env, "check-config", "--no-env", "--config", "../../config.example.yaml")
	if code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("--no-env: exit %d\n%s%s", code, out, errOut)
	}
	for _, w := range []string{
		"warning: line", "slack.app_token: empty, not checked (--no-env)",
		"slack.announce_channel: a placeholder (your announce channel's ID): replace it",
		"services[0].stakeholders: a placeholder",
	} {
		if !strings.Contains(errOut, w) {
			t.Errorf("warnings lack %q:\n%s", w, errOut)
		}
	}
	if _, errOut, code := klaxon(t, []string{"SLACK_APP_TOKEN=", "SLACK_BOT_TOKEN="}, "run", "--no-env", "--config", "../../config.example.yaml"); code != 2 || !strings.Contains(errOut, "-no-env") {
		t.Errorf("run --no-env: exit %d %s", code, errOut)
	}
}
