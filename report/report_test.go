package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/report/reporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// now is the end of the known window: Saturday 2026-12-05 00:00 UTC.
var now = time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)

func knownFigures() playbook.Figures {
	incs, evs := reporttest.Known(now)
	return playbook.BuildFigures(playbook.FigureQuery{Window: playbook.WindowEnding(now, 4*playbook.Week)}, playbook.DefaultTiers(), now, incs, evs)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report/ -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}

func render(t *testing.T, f playbook.Figures, format Format) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, f, format); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "secret title") || strings.Contains(buf.String(), "user text") || strings.Contains(buf.String(), "docs/pm") {
		t.Errorf("%s output carries user text", format)
	}
	return buf.Bytes()
}

func TestFormatsGolden(t *testing.T) {
	f := knownFigures()
	golden(t, "known.txt", render(t, f, Table))
	golden(t, "known.csv", render(t, f, CSV))
	golden(t, "known.json", render(t, f, JSON))
}

func TestJSONStableNames(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(render(t, knownFigures(), JSON), &doc); err != nil {
		t.Fatal(err)
	}
	get := func(path string) any {
		var v any = doc
		for _, k := range strings.Split(path, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%s: %v is not an object", path, v)
			}
			if v, ok = m[k]; !ok {
				t.Fatalf("%s: no key %q", path, k)
			}
		}
		return v
	}
	for path, want := range map[string]any{
		"window.from": "2026-11-07T00:00:00Z", "window.to": "2026-12-05T00:00:00Z",
		"incidents.total": 5.0, "incidents.open": 1.0, "incidents.by_severity.SEV1": 3.0,
		"mttr_by_severity.SEV1.count": 3.0, "mttr_by_severity.SEV1.mean_seconds": 4460.0,
		"mttr_by_severity.SEV1.p50_seconds": 4200.0, "mttr_by_severity.SEV1.p90_seconds": 6180.0,
		"mttr_by_severity.SEV1.target_seconds": 3600.0, "mttr_by_severity.SEV2.mean_seconds": nil,
		"phases.remediation.SEV1.count": 3.0, "phases.remediation.SEV1.mean_seconds": 2400.0,
		"phases.remediation.SEV1.p50_seconds": 2400.0, "phases.remediation.SEV1.p90_seconds": 3600.0,
		"phases.remediation.SEV1.target_seconds": 1800.0, "phases.detection.SEV2.count": 0.0,
		"mttd.count": 2.0, "mttd.mean_seconds": 180.0, "mtta.count": 5.0, "mtta.target_seconds": 300.0,
		"bottleneck": "remediation", "repeats.rate": 20.0, "action_items.completion_rate": 50.0,
		"postmortems.late": 1.0, "postmortems.on_time": 2.0, "pager.note": "no paging data", "change_failure.note": "no deploy data",
	} {
		if got := get(path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
}

func TestCSVHeaderAndRows(t *testing.T) {
	rows, err := csv.NewReader(bytes.NewReader(render(t, knownFigures(), CSV))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "figure,severity,phase,count,mean_seconds,p50_seconds,p90_seconds,target_seconds" {
		t.Errorf("header %v", rows[0])
	}
	found := false
	for _, r := range rows {
		if r[0] == "mttr" && r[1] == "SEV1" {
			found = true
			if r[3] != "3" || r[4] != "4460" || r[7] != "3600" {
				t.Errorf("SEV1 MTTR row %v", r)
			}
		}
		if r[0] == "mttr" && r[1] == "SEV2" && (r[4] != "" || r[7] != "") {
			t.Errorf("SEV2 MTTR row has values without a sample: %v", r)
		}
	}
	if !found {
		t.Error("no SEV1 MTTR row")
	}
}

func TestEmptyWindowSaysNoIncidents(t *testing.T) {
	f := playbook.BuildFigures(playbook.FigureQuery{Window: playbook.WindowEnding(now, 7*24*time.Hour)}, playbook.DefaultTiers(), now, nil, nil)
	for _, format := range []Format{Table, HTML} {
		if out := string(render(t, f, format)); !strings.Contains(strings.ToLower(out), "no incidents") || !strings.Contains(out, "no paging data") {
			t.Errorf("%s of an empty window:\n%s", format, out)
		}
	}
	var doc Doc
	if err := json.Unmarshal(render(t, f, JSON), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Note != "no incidents" || doc.MTTR["SEV1"].Mean != nil || doc.Bottleneck != nil {
		t.Errorf("empty JSON: %+v", doc)
	}
}

func TestChartData(t *testing.T) {
	c := NewChart(knownFigures())
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "chart.json", append(b, '\n'))
	// Week 1's SEV1 bar: 6 + 14 + 40 + 10 minutes, the 1 h target line on SEV1.
	p := c.Panels[0]
	if p.Severity != "SEV1" || p.Minutes[2][0] != 40 || p.Targets[0].Minutes != 60 || p.Empty {
		t.Errorf("SEV1 panel %+v", p)
	}
	if !c.Panels[3].Empty {
		t.Error("SEV4 panel not empty")
	}
}

func TestChartPNG(t *testing.T) {
	b, err := NewChart(knownFigures()).PNG()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if bd := img.Bounds(); bd.Dx() < 600 || bd.Dy() < 400 {
		t.Errorf("PNG is %v", bd)
	}
	// Not blank: count pixels that are not white.
	inked := 0
	bd := img.Bounds()
	for y := bd.Min.Y; y < bd.Max.Y; y += 2 {
		for x := bd.Min.X; x < bd.Max.X; x += 2 {
			if r, g, b, _ := img.At(x, y).RGBA(); r < 0xF000 || g < 0xF000 || b < 0xF000 {
				inked++
			}
		}
	}
	if inked < 2000 {
		t.Errorf("PNG nearly blank: %d inked pixels", inked)
	}
	if len(b) < 10_000 {
		t.Errorf("PNG only %d bytes", len(b))
	}
}

func TestHTMLSelfContained(t *testing.T) {
	out := string(render(t, knownFigures(), HTML))
	for _, want := range []string{"<svg", "Remediation", "SEV1", "Bottleneck: Remediation"} {
		if !strings.Contains(out, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "src=", "href=", "<link", "<?xml", "@import"} {
		if strings.Contains(out, bad) {
			t.Errorf("HTML has %q: not self-contained", bad)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": Table, "CSV": CSV, "json": JSON, " html ": HTML} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("pdf"); err == nil {
		t.Error("pdf accepted")
	}
}
