package templates

import (
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

func TestCadence(t *testing.T) {
	tests := []struct {
		tier playbook.Tier
		want string
	}{
		{playbook.Tier{Updates: playbook.UpdatesPeriodic, UpdateEvery: 15 * time.Minute}, "a status update every 15 min"},
		{playbook.Tier{Updates: playbook.UpdatesPeriodic, UpdateEvery: 90 * time.Minute}, "a status update every 1 h 30 min"},
		{playbook.Tier{Updates: playbook.UpdatesPeriodic, UpdateEvery: time.Hour}, "a status update every 1 h"},
		{playbook.Tier{Updates: playbook.UpdatesOpenAndResolution}, "a status update at open and at resolution"},
		{playbook.Tier{Updates: playbook.UpdatesTicketOnly}, "a ticket only, no channel updates"},
		{playbook.Tier{}, "no status updates"},
		{playbook.Tier{Updates: "hourly"}, "no status updates"},
	}
	for _, tt := range tests {
		if got := MustDefault().Cadence(tt.tier); got != tt.want {
			t.Errorf("Cadence(%q every %v) = %q, want %q", tt.tier.Updates, tt.tier.UpdateEvery, got, tt.want)
		}
	}
}

// The notices read as they did when the domain wrote them.
func TestNoticeWords(t *testing.T) {
	tier := playbook.DefaultTiers()[playbook.SEV1]
	for _, tt := range []struct {
		n    playbook.Notice
		want string
	}{
		{playbook.Notice{Kind: playbook.NoticeCommander, User: "U1"}, ":large_blue_circle: <@U1> is now the incident commander. They coordinate and communicate; they do not type commands."},
		{playbook.Notice{Kind: playbook.NoticeCommander, User: "U2", Previous: "U1"}, ":large_blue_circle: Incident commander handed over from <@U1> to <@U2>."},
		{playbook.Notice{Kind: playbook.NoticeSeverity, Change: playbook.SeverityChange{From: playbook.SEV2, To: playbook.SEV1, By: "U1", Reason: "<!channel> wider"}, Tier: tier},
			":arrows_counterclockwise: Severity changed SEV2 → SEV1 by <@U1>. All users down or core functionality unavailable; updates: a status update every 15 min. Reason: &lt;!channel&gt; wider"},
		{playbook.Notice{Kind: playbook.NoticePageAcked, User: "U1", After: 2 * time.Minute}, ":white_check_mark: <@U1> acknowledged the page in PagerDuty, 2 min after detection."},
		{playbook.Notice{Kind: playbook.NoticePageAcked, Name: "Eve <b>"}, ":white_check_mark: Eve &lt;b&gt; acknowledged the page in PagerDuty."},
		{playbook.Notice{Kind: playbook.NoticeResolvedInPagerDuty, Incident: 4, PagerDutyIncident: "Q1", Status: playbook.StatusMitigated},
			"PagerDuty incident Q1 was resolved in PagerDuty. Klaxon's incident #4 stays mitigated until the verification gates hold and the commander gives the all-clear."},
		{playbook.Notice{Kind: playbook.NoticeSetupFailed, Steps: []playbook.Step{playbook.StepBookmark, playbook.StepPage}},
			"Klaxon could not bookmark the runbook, page the on-call engineer through PagerDuty. The incident is declared; do these by hand, or retry."},
		{playbook.Notice{Kind: playbook.NoticeDeploysFailed, Cause: "502 <bad>"},
			"Klaxon could not read the recent deploys from GitHub (502 &lt;bad&gt;). The incident is declared; check the deploy history by hand, or retry."},
		{playbook.Notice{Kind: playbook.NoticeUndelivered, Cause: "chat.postMessage: <rate_limited>", Undelivered: &playbook.Message{Kind: playbook.MessageSeverity, Attempts: 6, Severity: &playbook.SeverityChange{From: playbook.SEV3, To: playbook.SEV1}}},
			":warning: Klaxon gave up posting the severity change SEV3 → SEV1 (the channel's name, topic and the announcement may still show SEV3) after 6 attempts (chat.postMessage: &lt;rate_limited&gt;). Tell people by hand."},
		{playbook.Notice{Kind: playbook.NoticeUndelivered, Undelivered: &playbook.Message{Kind: playbook.MessageUpdate, Attempts: 6, Update: &playbook.StatusUpdate{Seq: 3}}},
			":warning: Klaxon gave up posting status update 3 after 6 attempts. Tell people by hand."},
		{playbook.Notice{Kind: playbook.NoticeUndelivered, Undelivered: &playbook.Message{Kind: playbook.MessageNudge, Attempts: 6, Nudge: &playbook.Nudge{Kind: playbook.NudgePostmortem}}},
			":warning: Klaxon gave up posting the post-mortem reminder after 6 attempts. Tell people by hand."},
		{playbook.Notice{Kind: playbook.NoticeUndelivered, Undelivered: &playbook.Message{Kind: playbook.MessageCommander, Attempts: 6, Commander: &playbook.CommanderPayload{To: "U2"}}},
			":warning: Klaxon gave up posting that <@U2> is the incident commander after 6 attempts. Tell people by hand."},
		{playbook.Notice{Kind: playbook.NoticeUndelivered, Undelivered: &playbook.Message{Kind: playbook.MessageRefresh, Attempts: 6, Parts: playbook.PartChecklist}},
			":warning: Klaxon gave up posting the refreshed triage messages (the checklist or the intro may be out of date) after 6 attempts. Tell people by hand."},
	} {
		got, err := MustDefault().RenderNotice(tt.n)
		if err != nil || got != tt.want {
			t.Errorf("%s:\n got %q (%v)\nwant %q", tt.n.Kind, got, err, tt.want)
		}
	}
}

// The page notices read as they did when bot built them in Go.
func TestPageWords(t *testing.T) {
	inc := playbook.Incident{Number: 4, Severity: playbook.SEV3}
	for _, tt := range []struct {
		name string
		n    playbook.PageNotice
		want string
	}{
		{"page.notice", playbook.PageNotice{Kind: playbook.PageDeclaration, Slack: []string{"U1"}, PagerDuty: []string{"Alice <a>"}, Link: "https://pd.example/i/Q1",
			Problems: []playbook.Problem{{Kind: playbook.ProblemPagerDutyOff, Target: "EM"}}},
			":pager: *Paged* <@U1>, Alice &lt;a&gt;\nPagerDuty incident: <https://pd.example/i/Q1|open in PagerDuty>\n:warning: PagerDuty is not configured, so EM was not paged"},
		{"page.notice", playbook.PageNotice{Kind: playbook.PageEscalation, Index: 2, Step: playbook.EscalationStep{After: 10 * time.Minute, If: playbook.CondUnacknowledged}},
			":rotating_light: *Escalation step 2* (10 min after the declaration; nobody has acknowledged the page): nobody"},
		{"page.notice", playbook.PageNotice{Kind: playbook.PageManual, By: "U2", Slack: []string{"S1"}}, ":pager: <@U2> paged <!subteam^S1>"},
		{"page.notice", playbook.PageNotice{Kind: playbook.PageRaise, PagerDuty: []string{"EM on call"}}, ":pager: *Paged on the raise to SEV3* EM on call"},
		{"page.owners", playbook.PageNotice{Kind: playbook.PageOwners, Team: "@acme/payments", Issue: &playbook.Ticket{Repo: "acme/checkout", Number: 1, URL: "https://github.example/acme/checkout/issues/1"}},
			":busts_in_silhouette: *SEV3 pages nobody.* Klaxon opened <https://github.example/acme/checkout/issues/1|acme/checkout#1> for the owning team (@acme/payments)."},
		{"page.owners", playbook.PageNotice{Kind: playbook.PageOwners, Team: "@acme/payments", Slack: []string{"S0PAY"}},
			":busts_in_silhouette: *SEV3 pages nobody.* Telling the owning team (@acme/payments): <!subteam^S0PAY>"},
		{"page.owners", playbook.PageNotice{Kind: playbook.PageOwners}, ":busts_in_silhouette: *SEV3 pages nobody.* Nobody was told."},
	} {
		got, err := MustDefault().Render(tt.name, map[string]any{"Incident": inc, "Notice": tt.n})
		if err != nil || got != tt.want {
			t.Errorf("%s %s:\n got %q (%v)\nwant %q", tt.name, tt.n.Kind, got, err, tt.want)
		}
	}
}
