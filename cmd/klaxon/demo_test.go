package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/internal/demo"
	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/store"
)

// TestDemoTranscript runs `klaxon demo --keep DIR` as a new user would (no
// config, no tokens, no network) and reads its transcript: the whole SEV1,
// channel by channel, from the alert and the declaration, the page through
// PagerDuty and its acknowledgement (the fake PagerDuty's signed webhook)
// to the archived channel whose topic says closed; the post-mortem and the
// phase table (Detection ends at the acknowledgement) on stdout; logs on
// stderr only; the store and the outline kept.
func TestDemoTranscript(t *testing.T) {
	t.Parallel()
	keep := filepath.Join(t.TempDir(), "kept", "here") // created when missing
	out, errOut, code := klaxon(t, []string{"SLACK_APP_TOKEN=", "SLACK_BOT_TOKEN=", "KLAXON_CONFIG=/nonexistent.yaml"}, "demo", "--keep", keep)
	if code != 0 {
		t.Fatalf("klaxon demo: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// The parts, in order; in each, what a reader must find (messages of
	// one step may be posted concurrently, so their order is Slack's
	// arrival order and not checked).
	parts := []struct {
		head string
		want []string
	}{
		{"═══ What people did ═══", []string{
			"14:00  Alertmanager: CheckoutErrorBudgetBurn firing for checkout since 13:59",
			"14:02  Dana Whitfield: clicks “Declare SEV1” in #alerts",
			// The page, acknowledged in PagerDuty: its signed webhook to Klaxon.
			"14:03  Priya Raman: acknowledges the page in the PagerDuty app → PagerDuty's signed webhook (incident.acknowledged) → POST /webhooks/pagerduty",
			"14:22  Alex Moreno: clicks “Post update”",
			"14:45  Alex Moreno: /incident close db-connection-pool-exhaustion",
		}},
		{"━━━ #alerts ", []string{
			// The offer to declare, replaced by its outcome once clicked.
			"Incident #1 is ready: #inc-1-sev1-checkout-returns-500s",
		}},
		{"━━━ #incidents ", []string{
			"🚨 *SEV1 incident #1 declared* in #inc-1-sev1-checkout-returns-500s",
			"↳ 14:06  Klaxon", // the first update, threaded under the announcement
			"▌UPDATE 3 · SEV1 INCIDENT #1",
		}},
		{"━━━ #inc-1-sev1-checkout-returns-500s (archived) ", []string{
			// The topic follows the status to the end.
			"topic: SEV1 · IC: @Alex Moreno · Status: closed",
			"(📌 pinned, edited)",
			"*Commander:* @Alex Moreno",
			// Paged through PagerDuty: the on-call found in Slack by e-mail.
			"📟 *Paged* @Priya Raman\n       PagerDuty incident: open in PagerDuty (https://fake.pagerduty.com/incidents/",
			"✅ ~Service owner identified and paged~   [ Undo ]\n       _checked by Klaxon, Mar 10 14:02 UTC_",
			"14:03  Klaxon\n       ✅ @Priya Raman acknowledged the page in PagerDuty, 4 min after detection.",
			"· 7 of 7 done",
			"every customer paying by card, all regions",        // the scope call's answers
			"*Cause deploy:* `4b825dc642c…` (v2.42.0) by priya", // the suspect Priya confirmed
			"▌DEPLOYS BEFORE INCIDENT #1", "database migration", // posted at declaration
			"*Roll back to:* `9fceb02d0ae…` (v2.41.0)",
			"marked incident #1 mitigated",
			"@Alex Moreno: a status update for this SEV1 incident was due Mar 10 14:21 UTC", // the nudge
			"[ Post update ]",
			"▌UPDATE 2 · SEV1 INCIDENT #1",
			"▌VERIFICATION GATES · INCIDENT #1",
			"✅ *Synthetic monitors green for 5+ minutes*",
			"🎉 Resolved Mar 10 14:30 UTC.",
			"📌 Action item 1: Alert on checkout's 5xx rate above 1% for 5 minutes, owner @Priya Raman",
			"📌 Action item 2:",
			"📎 inc-1-postmortem.md",
		}},
		{"═══ The post-mortem outline Klaxon shared in the channel ═══", []string{
			"# Incident #1 · SEV1 · Checkout returns 500s",
			"## Phase durations",
			"db-connection-pool-exhaustion",
			"acme/postmortems pull request #1",
			"acme/checkout#2", // #1 is the pull request v2.42.0 shipped
			"**14:02:00** Klaxon: opened PagerDuty incident Q0000001",
			"**14:03:00** Priya Raman acknowledged the page in PagerDuty, 4 min after detection",
			"| 13:59 | 14:00 (+1 min) | 14:02 (+2 min) | 14:03 (+1 min) |",
			"**14:30:00** Klaxon: resolved PagerDuty incident Q0000001 (the all-clear)",
			`(Paged on the fake PagerDuty as incident Q0000001: "#1 SEV1: Checkout returns 500s", acknowledged by Priya Raman at 14:03, now resolved.)`,
		}},
		{"═══ Phase durations against the playbook's targets ═══", []string{
			"Triage         4 min        15 min     within target",
			"Remediation    10 min       30 min     within target",
			"Verification   13 min       15 min     within target  ← bottleneck",
			"Detection      4 min        5 min      within target",
			"Total          31 min       1 h 5 min  within target",
		}},
	}
	rest := out
	for k, p := range parts {
		i := strings.Index(rest, p.head)
		if i < 0 {
			t.Fatalf("transcript lacks %q, or has it out of order\n%s", p.head, out)
		}
		rest = rest[i+len(p.head):]
		section := rest
		if k+1 < len(parts) {
			if j := strings.Index(rest, parts[k+1].head); j >= 0 {
				section = rest[:j]
			}
		}
		for _, w := range p.want {
			if !strings.Contains(section, w) {
				t.Errorf("%s lacks %q:\n%s", p.head, w, section)
			}
		}
	}
	if strings.Contains(out, "level=") || strings.Contains(out, "msg=") {
		t.Errorf("log lines on stdout:\n%s", out)
	}
	if !strings.Contains(errOut, "klaxon demo: done in") {
		t.Errorf("stderr: %s", errOut)
	}
	if strings.Contains(errOut, "xoxb-") || strings.Contains(errOut, "xapp-") {
		t.Errorf("a token in the logs:\n%s", errOut)
	}
	for _, f := range []string{"klaxon.db", "postmortem-1.md"} {
		if st, err := os.Stat(filepath.Join(keep, f)); err != nil || st.Size() == 0 {
			t.Errorf("--keep: %s: %v", f, err)
		}
	}
	pm, _ := os.ReadFile(filepath.Join(keep, "postmortem-1.md"))
	if !strings.Contains(string(pm), "db-connection-pool-exhaustion") {
		t.Errorf("kept post-mortem:\n%s", pm)
	}

	// The kept store is Klaxon's store, closed (nothing holds its lock).
	db, err := store.Open(filepath.Join(keep, "klaxon.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if inc, err := db.Get(context.Background(), 1); err != nil || inc.Title != "Checkout returns 500s" || inc.Status != playbook.StatusClosed ||
		inc.Paging == nil || inc.Paging.AckedBy != demo.Priya || inc.Paging.PD.ID != "Q0000001" {
		t.Errorf("kept incident 1: %+v, paging %+v, %v", inc, inc.Paging, err)
	}
	if _, errOut, code := klaxon(t, nil, "demo", "stray"); code != 2 || !strings.Contains(errOut, `unexpected argument "stray"`) {
		t.Errorf("demo stray: %d %s", code, errOut)
	}
}
