package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/klaxonhq/klaxon/internal/demo"
	"github.com/klaxonhq/klaxon/internal/fakeslack"
)

// chromium finds a Chromium to drive: $KLAXON_CHROMIUM, else Debian's
// chromium (.ci/run installs it when missing), else a Chrome on the PATH.
func chromium() string {
	if p := os.Getenv("KLAXON_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// screenshotPath is where the playground test leaves its screenshot for a
// person to look at: $KLAXON_SCREENSHOT, else klaxon-playground.png in the
// system's temporary directory.
func screenshotPath() string {
	if p := os.Getenv("KLAXON_SCREENSHOT"); p != "" {
		return p
	}
	return filepath.Join(os.TempDir(), "klaxon-playground.png")
}

// TestPlaygroundInBrowser runs `klaxon demo --play` and uses its page in a
// real headless Chromium as a person would: declare from the message box,
// see the incident channel appear, open it, click a checklist item, see it
// checked. It leaves a screenshot of the page after those clicks.
func TestPlaygroundInBrowser(t *testing.T) {
	t.Parallel()
	browser := chromium()
	if browser == "" {
		t.Skip("no Chromium found (apt-get install chromium, or set KLAXON_CHROMIUM): the playground browser test did not run")
	}
	cmd := klaxonCmd(context.Background(), nil, "demo", "--play", "--addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// Written by exec's copying goroutine while a failing wait reads it.
	var logs lockedBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("klaxon demo --play did not stop cleanly on SIGINT: %v\n%s", err, logs.String())
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Error("klaxon demo --play did not stop within 20 s of SIGINT")
		}
	})
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, u, ok := strings.Cut(sc.Text(), "Klaxon playground: "); ok {
				urlc <- u
			}
		}
	}()
	var base string
	select {
	case base = <-urlc:
	case err := <-exited:
		t.Fatalf("klaxon demo --play exited: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("no playground URL printed\n%s", logs.String())
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browser),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(actx)
	defer cancelCtx()
	// The first Run starts the browser: no timeout on its context (it
	// would stop the browser); the steps after it are bounded.
	if err := chromedp.Do(ctx, chromedp.Navigate(base)); err != nil {
		t.Fatalf("opening %s: %v", base, err)
	}
	sctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	const (
		channel = `a.chan[data-name="inc-1-sev1-checkout-returns-500s"]`
		done    = `button[data-action="klaxon_check"][data-value="1:status_page:on"]`
		undo    = `button[data-action="klaxon_check"][data-value="1:status_page:off"]`
		ack     = `button[data-pd-ack]`
	)
	err = chromedp.Do(sctx,
		chromedp.WaitVisible(chromedp.ID("msgbox")),
		chromedp.SendKeys(chromedp.ID("msgbox"), "/incident declare sev1 checkout Checkout returns 500s"),
		chromedp.Click(chromedp.ID("send")),
		// The channel appears in the sidebar.
		chromedp.WaitVisible(chromedp.CSS(channel)),
		chromedp.Click(chromedp.CSS(channel)),
		chromedp.WaitVisible(chromedp.CSS(done)),
		chromedp.Click(chromedp.CSS(done)),
		// Checked: the item now offers Undo and says who checked it.
		chromedp.WaitVisible(chromedp.CSS(undo)),
		// The on-call acknowledges the page in the (fake) PagerDuty.
		chromedp.WaitVisible(chromedp.CSS(ack)),
		chromedp.Click(chromedp.CSS(ack)),
		chromedp.WaitNotPresent(chromedp.CSS(ack)),
		chromedp.WaitVisible(chromedp.CSS(undo)),
	)
	if err != nil {
		t.Fatalf("in the browser: %v\nklaxon's log:\n%s", err, logs.String())
	}
	checked, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(`.section-row:has(`+undo+`)`)))
	if err != nil {
		t.Fatal(err)
	}
	topic, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(`header`)))
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := chromedp.Run(sctx, chromedp.Text(chromedp.ID("messages")))
	if err != nil {
		t.Fatal(err)
	}
	pd, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(`.pd`)))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(checked, "Status page updated") || !strings.Contains(checked, "checked by @Jo Tanaka") {
		t.Errorf("the checked item reads %q", checked)
	}
	if !strings.Contains(msgs, "@Priya Raman acknowledged the page in PagerDuty") || !strings.Contains(pd, "acknowledged by Priya Raman") {
		t.Errorf("after the acknowledgement, the channel reads:\n%s\nand PagerDuty: %q", msgs, pd)
	}
	if !strings.Contains(topic, "inc-1-sev1-checkout-returns-500s") {
		t.Errorf("the channel header reads %q", topic)
	}
	p := screenshotPath()
	if err := os.WriteFile(p, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the playground after the clicks: %s", p)
}

// TestPlaygroundFormsAndClock drives the playground's HTTP endpoints as the
// page's forms do (no browser): a declaration, the scope call's button, its
// form rendered from the bot's modal and submitted, a refused form's
// errors, and the clock jumped until the update nudge arrives.
func TestPlaygroundFormsAndClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, err := startDemo(ctx, true, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := d.stop(); err != nil {
			t.Error(err)
		}
		os.RemoveAll(d.ws.Dir)
	}()
	srv := httptest.NewServer(demo.NewPlayground(d.driver()).Handler())
	defer srv.Close()
	cl := srv.Client()
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	post := func(path string, v url.Values) {
		t.Helper()
		resp, err := cl.PostForm(srv.URL+path, v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST %s: %s", path, resp.Status)
		}
	}
	get := func(c string) string {
		t.Helper()
		resp, err := cl.Get(srv.URL + "/?" + url.Values{"c": {c}, "as": {demo.Jo}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	post("/command", url.Values{"c": {demo.OpsChannel}, "as": {demo.Jo}, "text": {"/incident declare sev2 checkout Card payments failing"}})
	ch, ok := d.ws.Slack.Channel("inc-1-sev2-card-payments-failing")
	if !ok {
		t.Fatalf("no channel; #ops shows:\n%s", get(demo.OpsChannel))
	}
	post("/command", url.Values{"c": {ch.ID}, "as": {demo.Jo}, "text": {"/page everyone"}})
	if page := get(ch.ID); !strings.Contains(page, "/page is not a command here") {
		t.Errorf("an unknown slash command is not explained")
	}
	// Checkout is on PagerDuty: Klaxon paged its on-call, Priya, who
	// acknowledges in the fake PagerDuty from the page's sidebar.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := d.ws.Slack.WaitFor(wctx, func(s *fakeslack.Snapshot) bool {
		for _, m := range s.Messages(ch.ID) {
			if strings.Contains(m.Text, "*Paged* <@"+demo.Priya+">") {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("no page in the channel: %v", err)
	}
	pdIncs := d.ws.PagerDuty.Incidents()
	if len(pdIncs) != 1 || !strings.Contains(get(ch.ID), `data-pd-ack="`+pdIncs[0].ID+`"`) {
		t.Fatalf("PagerDuty incidents %+v; the page offers no acknowledgement", pdIncs)
	}
	post("/pagerduty/ack", url.Values{"c": {ch.ID}, "as": {demo.Jo}, "id": {pdIncs[0].ID}})
	if inc, err := d.app.IncidentIn(ctx, ch.ID); err != nil || inc.Paging == nil || inc.Paging.AckedBy != demo.Priya {
		t.Fatalf("after the acknowledgement in PagerDuty: %+v, %v", inc.Paging, err)
	}
	if page := get(ch.ID); strings.Contains(page, "data-pd-ack") || !strings.Contains(page, "acknowledged by Priya Raman") ||
		!strings.Contains(page, "acknowledged the page in PagerDuty") {
		t.Errorf("the page after the acknowledgement:\n%s", page)
	}
	post("/pagerduty/ack", url.Values{"c": {ch.ID}, "as": {demo.Jo}, "id": {pdIncs[0].ID}})
	if page := get(ch.ID); !strings.Contains(page, "is acknowledged") {
		t.Errorf("a second acknowledgement is not explained")
	}

	var scopeTS string
	for _, m := range d.ws.Slack.Messages(ch.ID) {
		if strings.Contains(string(m.Blocks), "klaxon_scope_open") {
			scopeTS = m.TS
		}
	}
	post("/click", url.Values{"c": {ch.ID}, "as": {demo.Jo}, "ts": {scopeTS}, "action_id": {"klaxon_scope_open"}, "block_id": {"scope_actions"}, "value": {"1"}, "text": {"Answer the scope call"}})
	page := get(ch.ID)
	if !strings.Contains(page, `id="modal"`) || !strings.Contains(page, `name="f_what_broke"`) || !strings.Contains(page, `<option value="SEV2" selected>`) {
		t.Fatalf("the scope form is not shown:\n%s", page)
	}
	v, ok := d.driver().OpenView(demo.Jo, nil)
	if !ok {
		t.Fatal("no view open for Jo")
	}
	post("/submit", url.Values{"c": {ch.ID}, "as": {demo.Jo}, "view": {v.ID},
		"f_what_broke": {"payments-api 500s"}, "f_who_affected": {"EU card payers"}, "f_blast_radius": {"a third of orders"}, "f_scope_severity": {"SEV1"}})
	inc, err := d.app.IncidentIn(ctx, ch.ID)
	if err != nil || inc.Scope == nil || inc.Scope.WhoAffected != "EU card payers" || inc.Severity.String() != "SEV1" {
		t.Fatalf("scope after the form: %+v %v", inc.Scope, err)
	}
	if page := get(ch.ID); strings.Contains(page, `id="modal"`) {
		t.Error("the form is still shown after it was accepted")
	}

	// No update for 15 minutes of the demo's clock: the nudge.
	post("/advance", url.Values{"c": {ch.ID}, "as": {demo.Jo}, "by": {"16m"}})
	wctx, cancel = context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := d.ws.Slack.WaitFor(wctx, func(s *fakeslack.Snapshot) bool {
		for _, m := range s.Messages(ch.ID) {
			if strings.Contains(string(m.Blocks), "klaxon_post_update") {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("no nudge after the clock jumped: %v", err)
	}
	if page := get(ch.ID); !strings.Contains(page, `data-action="klaxon_post_update"`) {
		t.Error("the nudge's button is not on the page")
	}
}
