package report

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHTMLInHeadlessChromium opens the HTML report in Debian's chromium,
// headless: the DOM it parsed holds the figures and the inline chart, and a
// screenshot is taken (testdata/report-screenshot.png with -update). The
// test skips, saying so, on a machine without chromium (.ci/run installs it).
func TestHTMLInHeadlessChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium): the HTML report is not opened in a browser")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, render(t, knownFigures(), HTML), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		// --no-sandbox: CI runs as root; the page is our own file, offline.
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
			"--user-data-dir=" + filepath.Join(dir, "profile"), "--window-size=1100,2200"}
		cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
		}
		return out.Bytes()
	}
	dom := string(run("--dump-dom", "file://"+page))
	for _, want := range []string{"<svg", "Bottleneck: Remediation", "1 h 14 min 20 s", `id="durations"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("the DOM chromium built lacks %q", want)
		}
	}
	shot := filepath.Join(dir, "shot.png")
	run("--screenshot="+shot, "file://"+page)
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	bd := img.Bounds()
	if bd.Dx() < 1000 || bd.Dy() < 2000 {
		t.Errorf("screenshot %v", bd)
	}
	// The chart's bars: some vermillion (Remediation) pixels on the page.
	coloured := 0
	for y := bd.Min.Y; y < bd.Max.Y; y += 2 {
		for x := bd.Min.X; x < bd.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r>>8 > 0xC0 && g>>8 > 0x40 && g>>8 < 0x80 && bl>>8 < 0x30 {
				coloured++
			}
		}
	}
	if coloured < 100 {
		t.Errorf("no chart bars in the screenshot (%d vermillion pixels)", coloured)
	}
	if *update {
		if err := os.WriteFile(filepath.Join("testdata", "report-screenshot.png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
