package demo

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// TestEveryTemplateEmojiIsShown: the transcript and the playground show
// every emoji Klaxon's templates write as the character Slack shows, never
// as a raw ":shortcode:".
func TestEveryTemplateEmojiIsShown(t *testing.T) {
	files, err := filepath.Glob("../../templates/default/*.tmpl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates found: %v", err)
	}
	code := regexp.MustCompile(`:[a-z][a-z0-9_+-]*:`)
	var known []string
	for i := 0; i < len(emojiPairs); i += 2 {
		known = append(known, emojiPairs[i])
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range code.FindAllString(string(b), -1) {
			if !slices.Contains(known, c) {
				t.Errorf("%s writes %s, which the demo shows raw: add it to emojiPairs", filepath.Base(f), c)
			}
		}
	}
	if got := (Names{}).Readable(":rewind: Roll back to :dart: suspect"); got != "⏪ Roll back to 🎯 suspect" {
		t.Errorf("Readable = %q", got)
	}
}
