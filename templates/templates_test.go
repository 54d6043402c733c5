package templates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestDefaultsParse(t *testing.T) {
	s, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"intro.tmpl", "announce.tmpl", "topic.tmpl", "purpose.tmpl", "help.tmpl"} {
		if s.t.Lookup(n) == nil {
			t.Errorf("template %s missing", n)
		}
	}
}

func TestOverrideDirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "topic.tmpl"), []byte("custom {{.}}"), 0o600)
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.Render("topic.tmpl", "x")
	if got != "custom x" {
		t.Fatalf("override not used: %q", got)
	}
	if got, _ := s.Render("purpose.tmpl", map[string]any{}); strings.Contains(got, "custom") {
		t.Fatalf("override leaked into another template: %q", got)
	}
	os.WriteFile(filepath.Join(dir, "topik.tmpl"), []byte("typo"), 0o600)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "topik.tmpl is not a Klaxon template") {
		t.Fatalf("a misspelt override was accepted: %v", err)
	}
}

func TestEscapeDefusesMentions(t *testing.T) {
	for _, in := range []string{"<!channel> down", "<@U123> broke it", "<!here|here>", "a & b", "<#C1>"} {
		out := Escape(in)
		if strings.ContainsAny(out, "<>") {
			t.Errorf("Escape(%q) = %q still has angle brackets", in, out)
		}
	}
}

func TestTruncate(t *testing.T) {
	if got := Truncate(5, "héllo wörld"); got != "héll…" || utf8.RuneCountInString(got) != 5 {
		t.Fatalf("Truncate = %q", got)
	}
	if got := Truncate(20, "short"); got != "short" {
		t.Fatalf("Truncate changed a short string: %q", got)
	}
	// A cut inside "&lt;" must not leave "&l" behind.
	got := Truncate(7, Escape("abcd<efgh"))
	if strings.Contains(got, "&l") && !strings.Contains(got, "&lt;") {
		t.Fatalf("half entity left: %q", got)
	}
}

func TestSlackDate(t *testing.T) {
	got := SlackDate(time.Date(2026, 11, 27, 7, 5, 0, 0, time.FixedZone("CET", 3600)))
	want := "<!date^1795759500^{date_short_pretty} {time}|2026-11-27 06:05 UTC>"
	if got != want {
		t.Fatalf("SlackDate = %q, want %q", got, want)
	}
}
