package demo

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func testNames() Names {
	return Names{
		User:    func(id string) string { return map[string]string{"U1": "Dana Whitfield"}[id] },
		Channel: func(id string) string { return map[string]string{"C1": "inc-1-sev1-x"}[id] },
	}
}

func TestReadable(t *testing.T) {
	n := testNames()
	for in, want := range map[string]string{
		"<@U1> took it":                     "@Dana Whitfield took it",
		"<@U9|bob> too":                     "@bob too",
		"in <#C1>":                          "in #inc-1-sev1-x",
		"in <#C7|ops>":                      "in #ops",
		"<!here> and <!subteam^S1|@oncall>": "@here and @oncall",
		"due <!date^1773151260^{date_short} {time}|fallback>": "due Mar 10 14:01 UTC",
		"<https://x.example/a|the runbook>":                   "the runbook (https://x.example/a)",
		"a &lt;b&gt; &amp;amp; c :white_check_mark:":          "a <b> &amp; c ✅",
		"<!date^bad^{time}|as typed>":                         "as typed",
	} {
		if got := n.Readable(in); got != want {
			t.Errorf("Readable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseBlocks(t *testing.T) {
	raw := `[
	 {"type":"header","text":{"type":"plain_text","text":"SEV1 incident #1"}},
	 {"type":"section","block_id":"check_owner","text":{"type":"mrkdwn","text":"⬜ owner"},
	  "accessory":{"type":"button","action_id":"klaxon_check","value":"1:owner_paged:on","text":{"type":"plain_text","text":"Done"}}},
	 {"type":"context","elements":[{"type":"plain_text","text":"3 of 7 done"},{"type":"mrkdwn","text":"*x*"}]},
	 {"type":"actions","block_id":"a","elements":[{"type":"button","action_id":"b1","value":"v","text":{"type":"plain_text","text":"One"}},
	   {"type":"static_select","action_id":"s"}]},
	 {"type":"input","block_id":"sev","optional":true,"label":{"type":"plain_text","text":"Severity"},
	  "element":{"type":"static_select","action_id":"sev","initial_option":{"text":{"type":"plain_text","text":"SEV2"},"value":"SEV2"},
	   "options":[{"text":{"type":"plain_text","text":"SEV1"},"value":"SEV1"},{"text":{"type":"plain_text","text":"SEV2"},"value":"SEV2"}]}},
	 {"type":"divider"}
	]`
	bs := ParseBlocks(json.RawMessage(raw))
	if len(bs) != 6 {
		t.Fatalf("%d blocks: %+v", len(bs), bs)
	}
	if b := bs[1].Buttons; len(b) != 1 || b[0].ActionID != "klaxon_check" || b[0].BlockID != "check_owner" || b[0].Value != "1:owner_paged:on" || b[0].Text != "Done" {
		t.Errorf("accessory: %+v", b)
	}
	if bs[2].Text != "3 of 7 done  ·  *x*" {
		t.Errorf("context: %q", bs[2].Text)
	}
	if b := bs[3].Buttons; len(b) != 1 || b[0].BlockID != "a" {
		t.Errorf("actions: %+v", b)
	}
	in := bs[4].Input
	if in == nil || in.BlockID != "sev" || in.Initial != "SEV2" || !in.Optional || len(in.Options) != 2 || in.Label != "Severity" {
		t.Errorf("input: %+v", in)
	}
	if ParseBlocks(json.RawMessage(`{"not":"an array"}`)) != nil {
		t.Error("a non-array parsed")
	}
}

// FuzzReadable: Slack text of any shape renders without panicking, as
// valid UTF-8 when the input was.
func FuzzReadable(f *testing.F) {
	for _, s := range []string{"<@U1>", "<!date^1^{time}|x>", "<#C1|a>", "<a|b|c>", "<<>>", "<!date^^^|>", "&amp;&lt;"} {
		f.Add(s)
	}
	n := testNames()
	f.Fuzz(func(t *testing.T, s string) {
		out := n.Readable(s)
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("Readable(%q) = %q: invalid UTF-8", s, out)
		}
	})
}

// FuzzParseBlocks: any JSON is read without panicking.
func FuzzParseBlocks(f *testing.F) {
	for _, s := range []string{`[]`, `[{"type":"context","elements":[1,"x",{"type":"image"}]}]`, `[{"type":"input"}]`, `[{"type":"rich_text","elements":[{"type":"rich_text_section","elements":[{"type":"user","user_id":"U1"}]}]}]`, `null`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, b := range ParseBlocks(json.RawMessage(s)) {
			_ = strings.TrimSpace(b.Text)
		}
	})
}

// FuzzHTML: whatever Slack text comes in, the playground's HTML has only
// the tags the renderer itself writes; every tag typed in the text is
// escaped.
func FuzzHTML(f *testing.F) {
	for _, s := range []string{"<script>alert(1)</script>", "<https://x.example/a_b_c|*bold*>", "*a* _b_ ~c~ `d`", "<#C1|<b>>", "<@U1|<img src=x onerror=alert(1)>>", "\x000\x00", "<javascript:alert(1)|x>"} {
		f.Add(s)
	}
	n := testNames()
	allowed := regexp.MustCompile(`^</?(a|span|time|code|b|i|s|br)[ >]`)
	f.Fuzz(func(t *testing.T, s string) {
		out := string(n.HTML(s, func(id string) string { return "/?c=" + id }))
		for i := strings.IndexByte(out, '<'); i >= 0; i = strings.IndexByte(out, '<') {
			if !allowed.MatchString(out[i:]) {
				t.Fatalf("HTML(%q) = %q: a tag the renderer did not write at %d", s, out, i)
			}
			out = out[i+1:]
		}
		if strings.Contains(strings.ToLower(string(n.HTML(s, func(string) string { return "" }))), `href="javascript:`) {
			t.Fatalf("HTML(%q) links to javascript:", s)
		}
	})
}
