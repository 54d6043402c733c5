package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/store"
)

const adminToken = "0123456789abcdef-admin"

// TestBackupDuringDeclarations runs `klaxon backup` against a running bot
// while declarations stream in: the bot streams a copy from one read
// transaction, which opens as a store, passes bbolt's check and holds at
// least every declaration acked before the backup began. Stopped, the same
// command copies the file directly.
func TestBackupDuringDeclarations(t *testing.T) {
	t.Parallel()
	f := newWorkspace(t, fakeslack.Options{DisableRateLimits: true})
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "admin.token"), []byte(adminToken+"\n"), 0o600)
	var config string
	p, _ := serve(t, f, func(addr string) string {
		config = writeConfig(t, dir, f.URL(), addr)
		b, _ := os.ReadFile(config)
		withToken := strings.Replace(string(b), "http:\n  listen: "+addr, "http:\n  listen: "+addr+"\n  admin_token_file: admin.token", 1)
		os.WriteFile(config, []byte(withToken), 0o600)
		return config
	})

	var (
		mu    sync.Mutex
		acked int
	)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			actx, cancel := context.WithTimeout(ctx, 3*time.Second)
			ack, err := f.SlashCommand(actx, fakeslack.SlashCommand{Text: fmt.Sprintf("declare sev2 checkout backup %d", i), UserID: "U0DECL01", ChannelID: "C0GENERAL"})
			cancel()
			if err == nil && !ack.Late && declaredNumber.Match(ack.Payload) {
				mu.Lock()
				acked++
				mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond): // pacing, not synchronisation
			}
		}
	})
	// Let a few declarations land, then back up in the middle of the stream.
	wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.WaitFor(wctx, func(s *fakeslack.Snapshot) bool { return len(s.Messages("C0ANNOUNCE")) >= 5 }); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	before := acked
	mu.Unlock()
	copyPath := filepath.Join(dir, "backup.db")
	out, errOut, code := klaxon(t, nil, "backup", "--to", copyPath, "--config", config)
	if code != 0 || !strings.Contains(out, "from the running Klaxon") {
		t.Fatalf("backup: exit %d\n%s%s\n%s", code, out, errOut, p.Logs())
	}
	stop()
	wg.Wait()
	n, _ := strconv.Atoi(regexp.MustCompile(`backed up (\d+) incidents`).FindStringSubmatch(out)[1])
	if n < before {
		t.Fatalf("the copy holds %d incidents; %d were acked before it began", n, before)
	}
	db, err := store.Open(copyPath, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Check(); err != nil {
		t.Fatalf("the copy fails bbolt's check: %v", err)
	}
	incs, _ := db.List(context.Background(), nil)
	db.Close()
	if len(incs) != n {
		t.Fatalf("the copy lists %d incidents, the command said %d", len(incs), n)
	}
	t.Logf("backed up %d incidents during a stream of declarations (%d acked before the backup began)", n, before)

	// Stopped (here killed, which bbolt survives): a direct copy.
	p.cmd.Process.Kill()
	<-p.done
	p.done <- nil
	out, errOut, code = klaxon(t, nil, "backup", "--to", copyPath, "--config", config)
	if code != 0 || !strings.Contains(out, "directly (Klaxon is stopped)") {
		t.Fatalf("backup of a stopped Klaxon: exit %d\n%s%s", code, out, errOut)
	}
}

// TestBackupRoute: the route is off without http.admin_token, refuses a
// missing or wrong token, and streams a store that opens with the right one.
func TestBackupRoute(t *testing.T) {
	t.Parallel()
	db, err := store.Open(filepath.Join(t.TempDir(), "klaxon.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Create(context.Background(), "k", func(int64) (playbook.Incident, []playbook.Event) {
		return playbook.Incident{Title: "private", Private: true}, nil
	})
	yes := func() bool { return true }
	off := httptest.NewServer(httpServer("", prometheus.NewRegistry(), yes, yes, nil).Handler)
	defer off.Close()
	if resp, err := http.Get(off.URL + "/admin/backup"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("without admin_token: %v %v; want 404", resp.Status, err)
	}
	on := httptest.NewServer(httpServer("", prometheus.NewRegistry(), yes, yes, map[string]http.Handler{"GET /admin/backup": backupHandler(db, adminToken, slog.New(slog.DiscardHandler))}).Handler)
	defer on.Close()
	for _, auth := range []string{"", "Bearer wrong", "Bearer " + adminToken + "x", adminToken} {
		req, _ := http.NewRequest("GET", on.URL+"/admin/backup", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("Authorization %q: %v %v; want 401", auth, resp.Status, err)
		}
		resp.Body.Close()
	}
	req, _ := http.NewRequest("GET", on.URL+"/admin/backup", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("with the token: %v %v", resp.Status, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if int64(len(body)) != resp.ContentLength {
		t.Fatalf("%d bytes, Content-Length %d", len(body), resp.ContentLength)
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	os.WriteFile(path, body, 0o600)
	cp, err := store.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	if inc, err := cp.Get(context.Background(), 1); err != nil || inc.Title != "private" {
		t.Fatalf("the copy's #1 = %+v, %v", inc, err)
	}
}

// TestBackupToMissingDirectory: `klaxon backup --to` into a directory that
// does not exist (the README's /backups before anyone made it) is a usage
// problem naming that directory, not an error about the temporary file the
// copy would have been written to; nothing is written.
func TestBackupToMissingDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	config := writeConfig(t, dir, "http://127.0.0.1:1/api/", "off")
	db, err := store.Open(filepath.Join(dir, "klaxon.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	missing := filepath.Join(dir, "backups")
	_, errOut, code := klaxon(t, nil, "backup", "--to", filepath.Join(missing, "klaxon-1.db"), "--config", config)
	if code != 2 || !strings.Contains(errOut, "the directory "+missing+" does not exist") || strings.Contains(errOut, "partial") {
		t.Fatalf("backup into a missing directory: exit %d, %q; want 2 naming %s", code, errOut, missing)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("the missing directory was made: %v", err)
	}
}
