package github

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClipKeepsTitlesUnderGitHubsLimit(t *testing.T) {
	for _, s := range []string{"short", strings.Repeat("é", 300), strings.Repeat("a", 256), strings.Repeat("🔥", 257)} {
		got := clip(s, maxTitle)
		if n := utf8.RuneCountInString(got); n > maxTitle || !utf8.ValidString(got) {
			t.Errorf("clip(%d runes) = %d runes, valid %v", utf8.RuneCountInString(s), n, utf8.ValidString(got))
		}
		if utf8.RuneCountInString(s) <= maxTitle && got != s {
			t.Errorf("clip changed a short title")
		}
	}
}

func TestFitBodyOneLongLine(t *testing.T) {
	text := strings.Repeat("ü", MaxBody) // one line, two bytes a character
	got := fitBody(text, markerSuffix("m"), "note")
	if len(got) > MaxBody || !utf8.ValidString(got) || !strings.HasSuffix(got, "note\n\n<!-- m -->") {
		t.Errorf("%d bytes, valid %v, ends %q", len(got), utf8.ValidString(got), got[len(got)-30:])
	}
	if got := fitBody("small", "", "note"); got != "small" {
		t.Errorf("a small body changed: %q", got)
	}
}

func TestWebRootAndSlug(t *testing.T) {
	c, err := New(Options{Token: "t"})
	if err != nil || c.web != "https://github.com" || c.api.BaseURL.String() != DefaultAPIURL {
		t.Errorf("default: web %q base %v, %v", c.web, c.api.BaseURL, err)
	}
	c, err = New(Options{Token: "t", APIURL: "https://ghe.example.com/api/v3"})
	if err != nil || c.web != "https://ghe.example.com" || c.api.BaseURL.String() != "https://ghe.example.com/api/v3/" {
		t.Errorf("GHE: web %q base %v, %v", c.web, c.api.BaseURL, err)
	}
	c, err = New(Options{Token: "t", APIURL: "https://api.corp.example/api/v3/"})
	if err != nil || c.web != "https://api.corp.example" {
		t.Errorf("GHE on an api. host: web %q, %v", c.web, err)
	}
	for in, want := range map[string]string{
		"klaxon:INC-12:postmortem": "klaxon-inc-12-postmortem",
		"  Ünïcode -- stuff!! ":    "n-code-stuff",
		"---":                      "",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
	if markerComment("a--b--->c") != "<!-- a-b->c -->" {
		t.Errorf("marker comment = %q", markerComment("a--b--->c"))
	}
}
