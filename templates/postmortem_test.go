package templates

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/klaxonhq/klaxon/playbook"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// pmDay is the fixed day of the fixtures; no test reads a clock.
var pmDay = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

func pmAt(h, m, s int) time.Time {
	return pmDay.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
}

var pmApp = playbook.New(playbook.Deps{
	Tiers:    playbook.DefaultTiers(),
	Services: []playbook.Service{{Name: "checkout", Runbook: "https://runbooks.example.com/checkout", Repo: "klaxonhq/checkout"}},
})

var pmNames = map[string]string{
	"U1": "Alice Martin",
	"U2": "Bob Chen",
	"U3": "Chloé Dubois",
	"U4": "Dan O'Brien",
	"U5": "eve_smith*", // a name with Markdown in it
}

// pmTimeline builds events in recorded order, numbering them.
type pmTimeline []playbook.Event

func (tl *pmTimeline) add(at time.Time, typ playbook.EventType, actor, text string, kv ...string) {
	ev := playbook.NewEvent(typ, actor, at, text)
	ev.Seq = uint64(len(*tl) + 1)
	// The events are written in the string-map form before payloads were
	// typed, decoded as a store written then is.
	data := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		data[kv[i]] = kv[i+1]
	}
	if len(kv) == 0 {
		data = nil
	}
	ev.Payload = playbook.DecodeLegacy(typ, data, text)
	*tl = append(*tl, ev)
}

// fullSEV1 is a SEV1 (declared as a SEV2) that went through everything:
// declared just before midnight, a commander hand-over, a severity change, a
// scope call, updates, a rollback with a suspect deploy, the gates with the
// synthetics dwell, an override, action items with and without a ticket and
// a repeated root cause. Its timeline holds every event type.
func fullSEV1() (playbook.Incident, []playbook.Event) {
	d := pmDay.AddDate(0, 0, 1) // the day after the declaration
	at := func(h, m, s int) time.Time {
		return d.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
	}
	inc := playbook.Incident{
		Number: 12, Title: "Checkout 502s for card payments", Severity: playbook.SEV1, Service: "checkout",
		Declarer: "U1", Commander: "U5", Status: playbook.StatusClosed,
		Times: map[playbook.Phase]time.Time{
			playbook.PhaseDetected:          pmAt(23, 38, 0),
			playbook.PhaseDeclared:          pmAt(23, 40, 0),
			playbook.PhaseAcknowledged:      pmAt(23, 44, 0),
			playbook.PhaseTriageStarted:     pmAt(23, 41, 10),
			playbook.PhaseMitigationStarted: at(0, 10, 0),
			playbook.PhaseMitigated:         at(0, 25, 0),
			playbook.PhaseResolved:          at(0, 50, 0),
			playbook.PhaseClosed:            at(1, 30, 0),
		},
		Scope: &playbook.Scope{
			WhatBroke:   "Checkout returns 502 for card payments",
			WhoAffected: "All EU customers paying by card\n(about 40% of orders)",
			BlastRadius: "checkout-api and payments-gateway; web and mobile",
			By:          "U2", At: pmAt(23, 44, 30),
		},
		Remediations: []playbook.Remediation{
			{Option: playbook.RemedyFlag, By: "U5", At: at(0, 10, 0)},
			{Option: playbook.RemedyRollback, By: "U5", At: at(0, 14, 0)},
		},
		Verifying: at(0, 25, 0),
		GateChecks: map[playbook.Gate]playbook.Check{
			playbook.GateBurnRate:   {By: "U2", At: at(0, 30, 0)},
			playbook.GateErrorRate:  {By: "U3", At: at(0, 31, 0)},
			playbook.GateSynthetics: {By: "U3", At: at(0, 47, 30)},
		},
		Override: &playbook.Override{By: "U5", At: at(0, 50, 0), Reason: "Error rate flat at 0.02% for 20 min; complaints lag by a day",
			Unmet: []playbook.Gate{playbook.GateComplaints, playbook.GateSynthetics}},
		Actions: []playbook.ActionItem{
			{ID: 1, Text: "Alert on connection-pool saturation above 80%", Owner: "U3", Due: "2026-12-04", By: "U5", At: at(1, 5, 0),
				Ticket: &playbook.Ticket{Repo: "klaxonhq/checkout", Number: 812, URL: "https://github.com/klaxonhq/checkout/issues/812", State: "open"}},
			{ID: 2, Text: "Document the rollback of `checkout` in the [runbook]", Owner: "U4", Due: "2026-12-11", By: "U5", At: at(1, 6, 0)},
		},
		RootCause: "connection-pool-exhaustion", RepeatOf: []int64{3, 7},
	}
	var tl pmTimeline
	tl.add(pmAt(23, 40, 0), playbook.EventDeclared, "U1", "SEV2 declared: Checkout 502s for card payments", "severity", "SEV2", "service", "checkout")
	tl.add(pmAt(23, 40, 1), playbook.EventChannelCreated, "klaxon", "#inc-12-checkout-502s")
	tl.add(pmAt(23, 40, 2), playbook.EventInvited, "klaxon", "invited U2, S0PAYMENTS")
	tl.add(pmAt(23, 40, 2), playbook.EventRunbookAttached, "klaxon", "https://runbooks.example.com/checkout")
	tl.add(pmAt(23, 40, 3), playbook.EventStepFailed, "klaxon", "pin the intro: not_pinnable", "step", "pin")
	tl.add(pmAt(23, 40, 3), playbook.EventAnnounced, "klaxon", "announced")
	tl.add(pmAt(23, 41, 10), playbook.EventCommanderChanged, "U2", "<@U2> is incident commander", "from", "", "to", "U2")
	tl.add(pmAt(23, 42, 0), playbook.EventPage, "klaxon", "payments on-call (PagerDuty)")
	tl.add(pmAt(23, 43, 0), playbook.EventChecked, "U2", "owner_paged", "item", "owner_paged")
	tl.add(pmAt(23, 43, 20), playbook.EventUnchecked, "U2", "owner_paged", "item", "owner_paged")
	tl.add(pmAt(23, 44, 0), playbook.EventPageAcknowledged, "U4", "payments on-call")
	tl.add(pmAt(23, 44, 30), playbook.EventScoped, "U2", "scope call: Checkout returns 502 for card payments")
	tl.add(pmAt(23, 44, 30), playbook.EventChecked, "klaxon", "scope", "item", "scope")
	tl.add(pmAt(23, 45, 0), playbook.EventNudged, "klaxon", "status_page", "kind", "status_page", "due", "2026-11-27T23:45:00Z")
	tl.add(pmAt(23, 46, 0), playbook.EventSeverityChanged, "U2", "SEV2 → SEV1: every card payment in the EU fails", "from", "SEV2", "to", "SEV1", "reason", "every card payment in the EU fails")
	tl.add(pmAt(23, 48, 0), playbook.EventStatusUpdate, "U2", "Card payments fail in the EU; investigating the gateway", "seq", "1")
	tl.add(pmAt(23, 55, 0), playbook.EventNote, "U3", "Gateway pool at 100%.\nNew pods crash-loop on start:\n- OOMKilled\n# not a heading")
	tl.add(at(0, 2, 0), playbook.EventCommanderChanged, "U2", "commander handed over from <@U2> to <@U5>", "from", "U2", "to", "U5")
	tl.add(at(0, 10, 0), playbook.EventRemediation, "U5", "Disable a feature flag", "option", "feature_flag")
	tl.add(at(0, 10, 0), playbook.EventStatusChanged, "U5", "Mitigating", "from", "investigating", "to", "mitigating")
	tl.add(at(0, 14, 0), playbook.EventRemediation, "U5", "Roll back", "option", "rollback")
	// Found at the rollback, it happened two hours before: sorted by At.
	tl.add(pmAt(22, 5, 0), playbook.EventSuspectDeploy, "klaxon", "Suspect deploy 9f2c1ab of klaxonhq/checkout at 22:05 UTC",
		"sha", "9f2c1ab44d0e8b7a", "ref", "main", "creator", "octocat", "url", "https://github.com/klaxonhq/checkout/deployments/5501", "state", "success", "known_good", "71aa03cde")
	tl.add(at(0, 16, 0), playbook.EventValidationPlan, "U5", "Compare order counts per minute with last Friday's")
	tl.add(at(0, 20, 0), playbook.EventStatusUpdate, "U5", "Rolled back to 71aa03c; error rate falling", "seq", "2")
	tl.add(at(0, 22, 0), playbook.EventNudged, "klaxon", "update_due", "kind", "update_due")
	tl.add(at(0, 25, 0), playbook.EventStatusChanged, "U5", "Mitigated: verification started", "to", "mitigated")
	tl.add(at(0, 25, 0), playbook.EventVerification, "U5", "Verification gates opened")
	tl.add(at(0, 30, 0), playbook.EventGateChecked, "U2", "SLO burn rate back toward 1x or below", "gate", "burn_rate")
	tl.add(at(0, 31, 0), playbook.EventGateChecked, "U3", "Error rate below 0.1%", "gate", "error_rate")
	tl.add(at(0, 33, 0), playbook.EventGateChecked, "U3", "Synthetic monitors green for 5+ minutes", "gate", "synthetics")
	tl.add(at(0, 40, 0), playbook.EventGateUnchecked, "U3", "Synthetic monitors green for 5+ minutes", "gate", "synthetics")
	tl.add(at(0, 47, 30), playbook.EventGateChecked, "U3", "Synthetic monitors green for 5+ minutes", "gate", "synthetics")
	tl.add(at(0, 50, 0), playbook.EventGateOverride, "U5", "Error rate flat at 0.02% for 20 min; complaints lag by a day",
		"unmet", "complaints,synthetics", "labels", "User-reported complaints stopped; Synthetic monitors green for 5+ minutes")
	tl.add(at(0, 50, 0), playbook.EventAllClear, "U5", "All clear, over open gates")
	tl.add(at(0, 50, 0), playbook.EventStatusUpdate, "U5", "Resolved: all clear given by the commander before every verification gate held.", "seq", "3", "final", "true")
	tl.add(at(1, 5, 0), playbook.EventActionItem, "U5", "Alert on connection-pool saturation above 80%", "id", "1", "owner", "U3", "due", "2026-12-04")
	tl.add(at(1, 6, 0), playbook.EventActionItem, "U5", "Document the rollback of `checkout` in the [runbook]", "id", "2", "owner", "U4", "due", "2026-12-11")
	tl.add(at(1, 7, 0), playbook.EventTicketFiled, "klaxon", "Action item 1 filed as klaxonhq/checkout#812", "id", "1", "url", "https://github.com/klaxonhq/checkout/issues/812")
	tl.add(at(1, 29, 0), playbook.EventRootCause, "U5", "connection-pool-exhaustion", "tag", "connection-pool-exhaustion", "repeat_of", "#3, #7")
	tl.add(at(1, 29, 30), "escalation_policy_changed", "U4", "paged the database team too")
	tl.add(at(1, 30, 0), playbook.EventClosed, "U5", "Closed")
	tl.add(at(1, 30, 2), playbook.EventPostmortemShared, "klaxon", "Post-mortem outline uploaded to the channel", "file", "F123")
	tl.add(at(1, 30, 3), playbook.EventArchived, "klaxon", "Channel archived")
	tl.add(at(1, 45, 0), playbook.EventPostmortemDone, "U5", "https://docs.example.com/pm/12", "url", "https://docs.example.com/pm/12")
	return inc, tl
}

// quietSEV3 is a SEV3 with almost nothing: declared, resolved, closed.
func quietSEV3() (playbook.Incident, []playbook.Event) {
	decl := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	res := decl.Add(2*time.Hour + 30*time.Minute)
	closed := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	inc := playbook.Incident{
		Number: 4, Title: "Typo on the pricing page", Severity: playbook.SEV3, Declarer: "U7", Status: playbook.StatusClosed,
		Times: map[playbook.Phase]time.Time{
			playbook.PhaseDetected: decl, playbook.PhaseDeclared: decl, playbook.PhaseAcknowledged: decl,
			playbook.PhaseMitigated: res, playbook.PhaseResolved: res, playbook.PhaseClosed: closed,
		},
	}
	var tl pmTimeline
	tl.add(decl, playbook.EventDeclared, "U7", "SEV3 declared: Typo on the pricing page", "severity", "SEV3", "service", "")
	tl.add(res, playbook.EventAllClear, "U7", "All clear: all four verification gates held")
	tl.add(closed, playbook.EventClosed, "U7", "Closed")
	return inc, tl
}

// hostileTitle is every trick a title could try.
const hostileTitle = "# Pwned\n| a | b |\n|---|---|\n[click me](https://evil.example/x) ![img](https://evil.example/i.png) " +
	"<!channel> <@U123> <!here> <!subteam^S1|@oncall> *bold* __strong__ `code` ~~gone~~ $x^2$ <script>alert(1)</script> &amp; " +
	"\x00\x07\x1b[31m\u202eevil\u202c \\*\r\n1. listed\n- bullet\n+ plus\n> quoted\n===\n---\n    code block\n```\nfence"

func hostileIncident() (playbook.Incident, []playbook.Event) {
	inc, events := quietSEV3()
	tl := pmTimeline(events)
	inc.Title = hostileTitle
	inc.Declarer = "U9"
	inc.Scope = &playbook.Scope{WhatBroke: hostileTitle, WhoAffected: "| x |", BlastRadius: "<@U1>", By: "U9", At: inc.DeclaredAt()}
	inc.Actions = []playbook.ActionItem{{ID: 1, Text: hostileTitle, Owner: "U9", Due: "2026-03-09"}}
	tl.add(inc.DeclaredAt().Add(time.Minute), playbook.EventNote, "U9", hostileTitle)
	return inc, tl
}

var pmNow = time.Date(2026, 11, 28, 1, 31, 0, 0, time.UTC)

func renderPM(t testing.TB, s *Set, inc playbook.Incident, events []playbook.Event, names map[string]string) []byte {
	t.Helper()
	out, err := s.RenderPostmortem(pmApp.BuildPostmortem(inc, events, names, pmNow))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkGolden compares got with testdata/name byte for byte (rewriting it
// with -update).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./templates/ -run Postmortem -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs from the golden file at line %d:\n got: %q\nwant: %q\n(run with -update to accept)", name, i+1, g, w)
			}
		}
		t.Fatalf("%s differs from the golden file (bytes)", name)
	}
}

func TestPostmortemGoldenSEV1(t *testing.T) {
	inc, events := fullSEV1()
	checkGolden(t, "postmortem_sev1.md", renderPM(t, MustDefault(), inc, events, pmNames))
}

func TestPostmortemGoldenQuietSEV3(t *testing.T) {
	inc, events := quietSEV3()
	checkGolden(t, "postmortem_sev3.md", renderPM(t, MustDefault(), inc, events, nil))
}

func TestPostmortemGoldenHostileTitle(t *testing.T) {
	inc, events := hostileIncident()
	checkGolden(t, "postmortem_hostile.md", renderPM(t, MustDefault(), inc, events, map[string]string{"U9": "<!channel> *Mallory* [x](https://evil.example)\n# boss"}))
}

// TestPostmortemFullCoversEveryEventType keeps the SEV1 fixture honest: its
// timeline holds every event type, each rendered with a real sentence.
func TestPostmortemFullCoversEveryEventType(t *testing.T) {
	inc, events := fullSEV1()
	all := []playbook.EventType{
		playbook.EventDeclared, playbook.EventChannelCreated, playbook.EventInvited, playbook.EventRunbookAttached,
		playbook.EventAnnounced, playbook.EventStepFailed, playbook.EventCommanderChanged, playbook.EventSeverityChanged,
		playbook.EventStatusChanged, playbook.EventNote, playbook.EventStatusUpdate, playbook.EventNudged,
		playbook.EventChecked, playbook.EventUnchecked, playbook.EventScoped, playbook.EventRemediation,
		playbook.EventSuspectDeploy, playbook.EventValidationPlan, playbook.EventVerification, playbook.EventGateChecked,
		playbook.EventGateUnchecked, playbook.EventAllClear, playbook.EventGateOverride, playbook.EventActionItem,
		playbook.EventTicketFiled, playbook.EventClosed, playbook.EventPostmortemShared, playbook.EventArchived,
		playbook.EventRootCause, playbook.EventPostmortemDone, playbook.EventPage, playbook.EventPageAcknowledged,
	}
	have := map[playbook.EventType]bool{}
	for _, e := range events {
		have[e.Type] = true
	}
	for _, typ := range all {
		if !have[typ] {
			t.Errorf("the SEV1 fixture has no %s event", typ)
		}
	}
	p := pmApp.BuildPostmortem(inc, events, pmNames, pmNow)
	if len(p.Timeline) != len(events) {
		t.Fatalf("%d timeline entries for %d events", len(p.Timeline), len(events))
	}
	for _, e := range p.Timeline {
		if strings.Contains(e.Text, "("+string(e.Type)+")") && e.Type != "escalation_policy_changed" {
			t.Errorf("%s has no sentence of its own: %q", e.Type, e.Text)
		}
	}
}

// TestPostmortemHostileTextStaysText proves that text typed into the
// incident cannot change the outline's structure or mention anyone.
func TestPostmortemHostileTextStaysText(t *testing.T) {
	s := MustDefault()
	benignInc, benignEv := hostileIncident()
	benignInc.Title, benignInc.Scope.WhatBroke, benignInc.Scope.WhoAffected, benignInc.Scope.BlastRadius = "plain", "plain", "plain", "plain"
	benignInc.Actions[0].Text = "plain"
	benignEv[len(benignEv)-1].Text = "plain"
	benign := string(renderPM(t, s, benignInc, benignEv, map[string]string{"U9": "Mallory"}))

	inc, events := hostileIncident()
	out := string(renderPM(t, s, inc, events, map[string]string{"U9": "<!channel> *Mallory* [x](https://evil.example)\n# boss"}))

	structure := func(doc string) (heads []string, rows, items int) {
		for _, l := range strings.Split(doc, "\n") {
			switch {
			case strings.HasPrefix(l, "#"):
				heads = append(heads, l)
			case strings.HasPrefix(l, "|"):
				rows++
			case strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "1. "):
				items++
			}
		}
		return
	}
	bh, br, bi := structure(benign)
	hh, hr, hi := structure(out)
	if len(hh) != len(bh) || !strings.HasPrefix(hh[0], "# Incident #4 · SEV3 · \\# Pwned") {
		t.Errorf("headings changed:\n%q\nbenign:\n%q", hh, bh)
	}
	for i := 1; i < len(hh) && i < len(bh); i++ {
		if hh[i] != bh[i] {
			t.Errorf("heading %d is %q, want %q", i, hh[i], bh[i])
		}
	}
	if hr != br || hi != bi {
		t.Errorf("table rows %d (want %d), list items %d (want %d)", hr, br, hi, bi)
	}
	for _, bad := range []string{"<!channel>", "<@U123>", "<!here>", "<!subteam", "<@U1>", "<script", "[click me]", "![img]", "\n===", "\n---\n    ", "\n```", "\n> ", "\n    code"} {
		if strings.Contains(out, bad) {
			t.Errorf("the outline contains %q", bad)
		}
	}
	// A link needs an unescaped "]" right before "(": none is left.
	for i := strings.Index(out, "]("); i >= 0; i = nextIndex(out, "](", i) {
		if out[i-1] != '\\' && strings.Contains(out[i:min(len(out), i+30)], "evil") {
			t.Errorf("a link to evil.example got through: %q", out[max(0, i-30):min(len(out), i+30)])
		}
	}
	for _, r := range out {
		if (unicode.IsControl(r) && r != '\n') || isBidiControl(r) {
			t.Fatalf("the outline contains control character %U", r)
		}
	}
	// No GitHub mention is live (the outline may be published as an issue).
	if m := regexp.MustCompile(`(^|[^\w` + "`" + `])@[A-Za-z0-9]`).FindString(out); m != "" {
		t.Errorf("a live GitHub mention got through: %q", m)
	}
	// The text is still all there, shown literally.
	for _, want := range []string{`&lt;!channel&gt;`, `&lt;@&#8203;U123&gt;`, `\|@&#8203;oncall`, `\[click me\](https://evil.example/x)`, `\*bold\*`, "\\`code\\`", `\~\~gone\~\~`, `\$x^2\$`, `&amp;amp;`} {
		if !strings.Contains(out, want) {
			t.Errorf("the outline lacks %q", want)
		}
	}
}

// nextIndex is the index of the next sep in s after i, or -1.
func nextIndex(s, sep string, i int) int {
	j := strings.Index(s[i+1:], sep)
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

func TestMarkdownEscape(t *testing.T) {
	for _, c := range []struct{ in, md, line string }{
		{"plain text, 12.5% (roughly) - ok + more!", "plain text, 12.5% (roughly) - ok + more!", "plain text, 12.5% (roughly) - ok + more!"},
		// What would start a block is escaped at the start; the text never
		// starts a line anywhere else.
		{"# heading", `\# heading`, `\# heading`},
		{"- item", `\- item`, `\- item`},
		{"+ item", `\+ item`, `\+ item`},
		{"=== ", `\===`, `\===`},
		{"!x", `\!x`, `\!x`},
		{"(x) y", `\(x) y`, `\(x) y`},
		{"1. first", `1\. first`, `1\. first`},
		{"2026) x", `2026\) x`, `2026\) x`},
		{"v1.2", "v1.2", "v1.2"},
		{"- a\n- b\n# c", `\- a<br>- b<br>\# c`, `\- a - b \# c`},
		{"a\r\nb\rc", "a<br>b<br>c", "a b c"},
		{"a\n\n\n\nb", "a<br><br>b", "a b"},
		{"  padded\n", "padded", "padded"},
		{"\x00    code", "code", "code"},
		// Links and images cannot form without their brackets.
		{"[x](http://e) ![i](j)", `\[x\](http://e) !\[i\](j)`, `\[x\](http://e) !\[i\](j)`},
		{`[a\](b)`, `\[a\\\](b)`, `\[a\\\](b)`},
		{"<!channel> <@U1|bob> <!here> & co", "&lt;!channel&gt; &lt;@&#8203;U1\\|bob&gt; &lt;!here&gt; &amp; co", "&lt;!channel&gt; &lt;@&#8203;U1\\|bob&gt; &lt;!here&gt; &amp; co"},
		// GitHub mentions are neutralised; an e-mail address is no mention.
		{"cc @acme/everyone and @bob, mail a@b.c", "cc @&#8203;acme/everyone and @&#8203;bob, mail a@b.c", "cc @&#8203;acme/everyone and @&#8203;bob, mail a@b.c"},
		{"@lead <!-- klaxon:incident-1:action-2 -->", "@&#8203;lead &lt;!-- klaxon:incident-1:action-2 --&gt;", "@&#8203;lead &lt;!-- klaxon:incident-1:action-2 --&gt;"},
		{"a|b *c* _d_ `e` ~f~ $g$ \\h #i", `a\|b \*c\* \_d\_ \` + "`" + `e\` + "`" + ` \~f\~ \$g\$ \\h \#i`, `a\|b \*c\* \_d\_ \` + "`" + `e\` + "`" + ` \~f\~ \$g\$ \\h \#i`},
		{"bell\x07 nul\x00 del\x7f tab\tend \x1b[31m", `bell nul del tab end \[31m`, `bell nul del tab end \[31m`},
		{"rtl \u202eevil\u202c done", "rtl evil done", "rtl evil done"},
		{"line\u2028sep", "line<br>sep", "line sep"},
		{"émoji 🚨 ok", "émoji 🚨 ok", "émoji 🚨 ok"},
		{"bad \xff byte", "bad  byte", "bad  byte"},
	} {
		if got := Markdown(c.in); got != c.md {
			t.Errorf("Markdown(%q) = %q, want %q", c.in, got, c.md)
		}
		if got := MarkdownLine(c.in); got != c.line {
			t.Errorf("MarkdownLine(%q) = %q, want %q", c.in, got, c.line)
		}
	}
}

func TestMarkdownLink(t *testing.T) {
	for _, c := range []struct{ label, url, want string }{
		{"klaxonhq/checkout#812", "https://github.com/klaxonhq/checkout/issues/812", `[klaxonhq/checkout\#812](https://github.com/klaxonhq/checkout/issues/812)`},
		{"x", "https://e.example/a b|c)d<e>&f=1", `[x](https://e.example/a%20b%7Cc%29d%3Ce%3E&amp;f=1)`},
		{"x", "javascript:alert(1)", `x (javascript:alert(1))`},
		{"x", "", "x"},
		{"", "https://e.example/", `[https://e.example/](https://e.example/)`},
		{"[a](b)", "https://e.example/", `[\[a\](b)](https://e.example/)`},
	} {
		if got := MarkdownLink(c.label, c.url); got != c.want {
			t.Errorf("MarkdownLink(%q, %q) = %q, want %q", c.label, c.url, got, c.want)
		}
	}
}

func TestPostmortemTemplateIsEmbedded(t *testing.T) {
	found := false
	for _, n := range Names() {
		found = found || n == PostmortemTemplate
	}
	if !found || MustDefault().t.Lookup(PostmortemTemplate) == nil {
		t.Fatalf("%s is not embedded: %v", PostmortemTemplate, Names())
	}
}

func TestPostmortemOverrideDirectory(t *testing.T) {
	dir := t.TempDir()
	custom := "Custom outline for #{{.Number}}: {{mdline .Title}}\n{{range .Timeline}}* {{.Time}} {{md .Text}}\n{{end}}"
	if err := os.WriteFile(filepath.Join(dir, PostmortemTemplate), []byte(custom), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	inc, events := quietSEV3()
	got := string(renderPM(t, s, inc, events, map[string]string{"U7": "Gus"}))
	want := "Custom outline for #4: Typo on the pricing page\n" +
		"* 09:00:00 Gus declared the incident as SEV3\n" +
		"* 11:30:00 Gus gave the all-clear: all four verification gates held\n" +
		"* 2026-03-03 10:00:00 Gus closed the incident\n"
	if got != want {
		t.Fatalf("override not used:\n%s\nwant:\n%s", got, want)
	}
	// The other templates are still the embedded ones.
	if out, _ := s.Render("topic.tmpl", playbook.Briefing{Incident: inc, Tier: playbook.DefaultTiers().Get(inc.Severity)}); strings.Contains(out, "Custom") {
		t.Fatalf("override leaked: %q", out)
	}
	// A broken override is reported with its path.
	if err := os.WriteFile(filepath.Join(dir, PostmortemTemplate), []byte("{{.Number"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), PostmortemTemplate) {
		t.Fatalf("a broken override was accepted: %v", err)
	}
}

// bigIncident is the SEV1 with n timeline events: its own, then notes and
// updates until there are n.
func bigIncident(n int) (playbook.Incident, []playbook.Event) {
	inc, events := fullSEV1()
	tl := pmTimeline(events)
	for i := len(tl); i < n; i++ {
		at := inc.Times[playbook.PhaseDeclared].Add(time.Duration(i) * time.Second)
		if i%5 == 0 {
			tl.add(at, playbook.EventStatusUpdate, "U2", fmt.Sprintf("Update %d: still rolling back *shard* %d of [eu-west]", i, i%40), "seq", fmt.Sprint(i))
		} else {
			tl.add(at, playbook.EventNote, fmt.Sprintf("U%d", 1+i%5), fmt.Sprintf("Note %d: pool at %d%%, <@U2> look\nsecond line", i, i%100))
		}
	}
	return inc, tl
}

func TestPostmortem5000EventsRenders(t *testing.T) {
	inc, events := bigIncident(5000)
	out := string(renderPM(t, MustDefault(), inc, events, pmNames))
	start := strings.Index(out, "## Timeline (UTC)\n")
	end := strings.Index(out, "## Verification gates\n")
	if start < 0 || end < start {
		t.Fatal("no timeline section")
	}
	if got := strings.Count(out[start:end], "\n- **"); got != 5000 {
		t.Fatalf("%d timeline lines, want 5000", got)
	}
}

func BenchmarkPostmortem5000(b *testing.B) {
	inc, events := bigIncident(5000)
	s := MustDefault()
	var size int
	b.ReportAllocs()
	for b.Loop() {
		out, err := s.RenderPostmortem(pmApp.BuildPostmortem(inc, events, pmNames, pmNow))
		if err != nil {
			b.Fatal(err)
		}
		size = len(out)
	}
	b.ReportMetric(float64(size), "output-bytes")
}

func TestPostmortemDeploysSection(t *testing.T) {
	inc, events := fullSEV1()
	p := pmApp.BuildPostmortem(inc, events, pmNames, pmNow)
	pr := playbook.PullRequest{Number: 42, Title: "Add <b>index</b> *now*", Author: "bob", URL: "https://github.com/acme/api/pull/42",
		Files: 100, FilesMore: true, Additions: 900, Deletions: 12, Risky: []string{"db/migrate/1_add.rb"}}
	cause := playbook.PostmortemDeploy{Repo: "acme/api", Short: "abc1234", Ref: "v1.2", Creator: "alice", State: "success", At: "13:35",
		Flags: []playbook.RiskFlag{playbook.FlagMigration, playbook.FlagLargeDiff, playbook.FlagNoApproval}, PRs: []playbook.PullRequest{pr}}
	p.Deploys = playbook.PostmortemDeploys{Looked: true, From: "2026-11-27 12:00 UTC", Cause: &cause, CauseBy: "Priya",
		List: []playbook.PostmortemDeploy{cause, {Repo: "acme/api", Short: "def5678", State: "failure", At: "13:00", Verdict: playbook.VerdictRejected}}}
	out, err := MustDefault().RenderPostmortem(p)
	if err != nil {
		t.Fatal(err)
	}
	md := string(out)
	for _, want := range []string{
		"## Deploys",
		"**Linked as the cause:** `abc1234` of acme/api (v1.2) by alice, deployed 13:35, by Priya.",
		"- **Risk flags:** database migration, large diff, no approving review",
		"[\\#42](https://github.com/acme/api/pull/42)",
		"no approving review; 100+ files, +900 −12; db/migrate/1\\_add.rb",
		"Deploys since 2026-11-27 12:00 UTC",
		"- `def5678` of acme/api, 13:00, failure; ruled out",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("outline lacks %q:\n%s", want, md[strings.Index(md, "## Deploys"):])
		}
	}
	if strings.Contains(md, "<b>index</b>") {
		t.Error("a PR title's HTML went through unescaped")
	}
}
