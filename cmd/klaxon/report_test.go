package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/report/reporttest"
	"github.com/klaxonhq/klaxon/store"
)

// knownStore writes the known incidents (reporttest.Known, ending now) to a
// new store in dir and returns a config for it.
func knownStore(t *testing.T, dir, apiURL, httpAddr string) string {
	t.Helper()
	cfg := writeConfig(t, dir, apiURL, httpAddr)
	db, err := store.Open(filepath.Join(dir, "klaxon.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	incs, evs := reporttest.Known(time.Now())
	if err := reporttest.Fill(context.Background(), db, incs, evs); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// checkKnownJSON checks the known figures in a JSON report.
func checkKnownJSON(t *testing.T, out string) {
	t.Helper()
	var doc struct {
		Incidents struct {
			Total, Open int
			BySeverity  map[string]int `json:"by_severity"`
		}
		MTTR map[string]struct {
			Count  int      `json:"count"`
			Mean   *float64 `json:"mean_seconds"`
			P90    *float64 `json:"p90_seconds"`
			Target *float64 `json:"target_seconds"`
		} `json:"mttr_by_severity"`
		Bottleneck *string `json:"bottleneck"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	s1 := doc.MTTR["SEV1"]
	if doc.Incidents.Total != 5 || doc.Incidents.Open != 1 || doc.Incidents.BySeverity["SEV1"] != 3 ||
		s1.Count != 3 || s1.Mean == nil || *s1.Mean != 4460 || *s1.P90 != 6180 || *s1.Target != 3600 ||
		doc.MTTR["SEV2"].Mean != nil || doc.Bottleneck == nil || *doc.Bottleneck != "remediation" {
		t.Errorf("known figures wrong:\n%s", out)
	}
}

func TestReportReadsTheStoreThenAsksTheRunningKlaxon(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := newWorkspace(t, fakeslack.Options{})
	cfg := knownStore(t, dir, f.URL(), freeAddr(t)) // the port is for later, by serve
	// The tokens are not needed to read the store.
	noTokens := []string{"SLACK_APP_TOKEN=", "SLACK_BOT_TOKEN="}

	out, errOut, code := klaxon(t, noTokens, "report", "--config", cfg, "--since", "4w", "--format", "json")
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errOut)
	}
	checkKnownJSON(t, out)
	for format, want := range map[string][]string{
		"table": {"MTTR (detected → resolved)", "1 h 14 min 20 s", "Bottleneck: Remediation", "Pager load: no paging data", "Change failure rate: no deploy data"},
		"csv":   {"figure,severity,phase,count,mean_seconds,p50_seconds,p90_seconds,target_seconds\n", "mttr,SEV1,,3,4460,4200,6180,3600\n", "phase,SEV1,remediation,3,2400,2400,3600,1800\n"},
		"html":  {"<!DOCTYPE html>", "<svg", "Bottleneck: Remediation", "1 h 14 min 20 s"},
	} {
		out, errOut, code := klaxon(t, noTokens, "report", "--config", cfg, "--since", "4w", "--format", format)
		if code != 0 {
			t.Fatalf("report --format %s: exit %d: %s", format, code, errOut)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("report --format %s lacks %q:\n%s", format, w, out)
			}
		}
		if strings.Contains(out, "secret title") || strings.Contains(out, "user text") {
			t.Errorf("report --format %s prints user text", format)
		}
	}
	// A window with nothing in it says so.
	out, _, _ = klaxon(t, noTokens, "report", "--config", cfg, "--since", "1d")
	if !strings.Contains(out, "No incidents in this window.") {
		t.Errorf("empty window:\n%s", out)
	}
	if _, errOut, code := klaxon(t, noTokens, "report", "--config", cfg, "--since", "5y"); code != 2 || !strings.Contains(errOut, "not a window") {
		t.Errorf("bad --since: exit %d, %s", code, errOut)
	}
	if _, errOut, code := klaxon(t, noTokens, "report", "--config", cfg, "--service", "nope"); code != 2 || !strings.Contains(errOut, "not a configured service") {
		t.Errorf("unknown service: exit %d, %s", code, errOut)
	}

	// export: one JSON line per incident, titles and timelines included.
	out, errOut, code = klaxon(t, noTokens, "export", "--config", cfg)
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("export: %d lines:\n%s", len(lines), out)
	}
	var line struct {
		Incident struct {
			Number int64  `json:"number"`
			Title  string `json:"title"`
		} `json:"incident"`
		Events []struct {
			Type string `json:"type"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil || line.Incident.Number != 1 || !strings.Contains(line.Incident.Title, "secret title") || len(line.Events) != 2 {
		t.Errorf("export line 1: %v %+v", err, line)
	}

	// A process that holds the file for a moment without serving (a
	// backup, a migration): report waits for it rather than asking a
	// Klaxon that is not there.
	holder, err := store.Open(filepath.Join(dir, "klaxon.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release := func() { once.Do(func() { holder.Close() }) }
	defer time.AfterFunc(time.Second, release).Stop()
	if out, errOut, code := klaxon(t, noTokens, "report", "--config", cfg, "--since", "4w", "--format", "csv"); code != 0 || !strings.Contains(out, "mttr,SEV1,,3,4460,4200,6180,3600\n") {
		t.Errorf("report while a backup holds the file: exit %d: %s%s", code, out, errOut)
	}
	release()

	// Now Klaxon runs and holds the file: report asks it over HTTP.
	p, httpAddr := serve(t, f, func(addr string) string { return writeConfig(t, dir, f.URL(), addr) })
	out, errOut, code = klaxon(t, noTokens, "report", "--config", cfg, "--since", "4w", "--format", "json")
	if code != 0 {
		t.Fatalf("report while running: exit %d: %s\n%s", code, errOut, p.Logs())
	}
	checkKnownJSON(t, out)
	out, _, code = klaxon(t, noTokens, "report", "--config", cfg, "--since", "4w", "--format", "csv")
	if code != 0 || !strings.Contains(out, "mttr,SEV1,,3,4460,4200,6180,3600\n") {
		t.Errorf("csv through /report: %d\n%s", code, out)
	}
	resp, err := http.Get("http://" + httpAddr + "/report?format=pdf")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /report?format=pdf: %s", resp.Status)
	}
	if _, errOut, code := klaxon(t, noTokens, "export", "--config", cfg); code != 1 || !strings.Contains(errOut, "stop Klaxon first") {
		t.Errorf("export while running: exit %d, %s", code, errOut)
	}
}

func TestReportWithoutAStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "http://127.0.0.1:1/api/", "127.0.0.1:1")
	_, errOut, code := klaxon(t, nil, "report", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, "no store at") {
		t.Errorf("exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "klaxon.db")); err == nil {
		t.Error("report created a store")
	}
}
