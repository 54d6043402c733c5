package bot_test

// Regression tests for the defects of issue 11 that a person sees, driven
// through the real slack-go client against the fake Slack.

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/playbook"
)

// Defect 5: a redelivered "/incident tag" (same envelope) says the tag is
// recorded, not "Klaxon could not record the root cause".
func TestRedeliveredTagIsAcknowledgedAsRecorded(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	ch := declareOne(t, f)
	payload := map[string]string{"command": "/incident", "text": "tag DNS TTL too long", "user_id": declarer, "channel_id": ch.ID, "team_id": fakeslack.TeamID, "trigger_id": "T1", "response_url": ""}
	for i := range 2 {
		ack, err := f.Send(ctxT(t), fakeslack.Envelope{ID: "env-tag-1", Type: "slash_commands", Payload: payload, RetryAttempt: i})
		if err != nil || ack.Late {
			t.Fatalf("delivery %d: %v %+v", i+1, err, ack)
		}
		if txt := ackText(t, ack); !strings.Contains(txt, "tagged `dns-ttl-too-long`") {
			t.Fatalf("delivery %d acked %q, want the recorded tag", i+1, txt)
		}
	}
	k.bot.Wait()
	if n := len(events(t, k, "root_cause")); n != 1 {
		t.Fatalf("%d root-cause events for one envelope", n)
	}
}

// Defect 3: with a user group among the responders and Slack slow to list
// it, "/incident sev" is still acked at once (no Web API call comes before
// an ack); the decision follows through the response_url once the group is
// read, and later commands decide from the cache.
func TestPermissionWithASlowGroupIsAckedFirst(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var probe ackProbe
	f := newFake(t, fakeslack.Options{Fault: func(method string, n int) *fakeslack.Fault {
		if method == "usergroups.users.list" {
			return &fakeslack.Fault{Until: release}
		}
		return probe.fault(method, n)
	}})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"), func(app *playbook.Deps, _ *bot.Adapter) {
		app.Responders = []string{oncallGrp}
	})
	slash(t, f, "declare sev2 search Search is slow")
	waitReady(t, f, 1)
	ch, ok := f.Channel("inc-1-sev2-search-is-slow")
	if !ok {
		t.Fatal("no incident channel")
	}
	var (
		ack fakeslack.Ack
		err error
	)
	probe.during(func() {
		ack, err = f.SlashCommand(ctxT(t), fakeslack.SlashCommand{Text: "sev 1 everything is down", UserID: "U0OTHER1", ChannelID: ch.ID})
	})
	if err != nil || ack.Late {
		t.Fatalf("a refused /incident sev was not acked in time while Slack was slow: %v %+v", err, ack)
	}
	if txt := ackText(t, ack); !strings.Contains(txt, "Checking") {
		t.Fatalf("ack = %q, want it to say Klaxon is checking", txt)
	}
	close(release)
	k.bot.Wait()
	if txt := lastResponse(f); !strings.Contains(txt, "Only the declarer") {
		t.Fatalf("the refusal was not sent through the response_url: %q", txt)
	}
	// The group is cached now: a member's change is decided in the ack.
	txt := ackText(t, slashIn(t, f, ch.ID, "U0SRE001", "sev 1 everything is down"))
	if !strings.Contains(txt, "SEV2 → SEV1") {
		t.Fatalf("a group member's change acked %q", txt)
	}
	k.bot.Wait()
	if inc, _ := k.db.Get(ctxT(t), 1); inc.Severity != playbook.SEV1 {
		t.Fatalf("severity = %s", inc.Severity)
	}
}

// Defect 3: a subteam_members_changed event re-reads the group at once, so
// a person added to a responder group may act without waiting for the
// five-minute refresh.
func TestGroupChangeEventRefreshesPermissions(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"), func(app *playbook.Deps, _ *bot.Adapter) {
		app.Responders = []string{oncallGrp}
	})
	slash(t, f, "declare sev2 search Search is slow")
	waitReady(t, f, 1)
	ch, _ := f.Channel("inc-1-sev2-search-is-slow")
	slashIn(t, f, ch.ID, "U0OTHER1", "sev 1")
	k.bot.Wait()
	if txt := lastResponse(f); !strings.Contains(txt, "Only the declarer") {
		t.Fatalf("a non-member was not refused: %q", txt)
	}
	f.AddUserGroup(oncallGrp, "oncall", "U0SRE001", "U0OTHER1")
	ack, err := f.EventsAPI(ctxT(t), map[string]any{"type": "subteam_members_changed", "subteam_id": oncallGrp, "team_id": fakeslack.TeamID, "added_users": []string{"U0OTHER1"}, "added_users_count": 1})
	if err != nil || ack.Late {
		t.Fatalf("event not acked: %v %+v", err, ack)
	}
	k.bot.Wait()
	if txt := ackText(t, slashIn(t, f, ch.ID, "U0OTHER1", "sev 1")); !strings.Contains(txt, "SEV2 → SEV1") {
		t.Fatalf("the new member's change acked %q", txt)
	}
}

// Defect 2: a channel archived by hand before the close does not lose the
// close: the archive is recorded, the outline and the post-mortem reminders
// go to the commander by DM, and the announce thread says so.
func TestChannelArchivedByHandBeforeClose(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	clock := &manualClock{now: time.Now().UTC().Truncate(time.Second)}
	k, _ := wrapUpKlaxon(t, f, clock)
	slash(t, f, "declare sev2 checkout Card form broken")
	waitReady(t, f, 1)
	inc, _ := k.db.Get(ctxT(t), 1)
	ch := inc.Channel.ID
	cmdIn(t, k, f, declarer, ch, "ic")
	cmdIn(t, k, f, declarer, ch, "resolve")
	cmdIn(t, k, f, declarer, ch, "resolve override a false alarm")
	f.ArchiveChannel(ch)

	cmdIn(t, k, f, declarer, general, "close #1")
	inc, _ = k.db.Get(ctxT(t), 1)
	if inc.Status != playbook.StatusClosed || inc.Closure == nil || inc.Closure.Archived.IsZero() || inc.Closure.File == "" {
		t.Fatalf("close after a manual archive: status %s closure %+v", inc.Status, inc.Closure)
	}
	dm := ""
	for _, fl := range f.Files() {
		if fl.Name == "inc-1-postmortem.md" && fl.Completed && fl.Channel != ch {
			dm = fl.Channel
		}
	}
	if dm == "" || !strings.HasPrefix(dm, "D") {
		t.Fatalf("the outline was not sent to the commander by DM: %+v", f.Files())
	}
	said := false
	for _, m := range f.Messages(announce) {
		if strings.Contains(blocksText(m), "archived") && strings.Contains(blocksText(m), "<@"+declarer+">") {
			said = true
		}
	}
	if !said {
		t.Fatalf("the announce channel was not told: %+v", f.Messages(announce))
	}
	// The post-mortem reminders go to the DM too.
	clock.Advance(30 * time.Hour)
	if ns, err := k.app.RemindPostmortems(ctxT(t), clock.Now()); err != nil || len(ns) != 1 {
		t.Fatalf("reminders: %v, %v", ns, err)
	}
	found := false
	for _, m := range f.Messages(dm) {
		if strings.Contains(blocksText(m), "post-mortem") {
			found = true
		}
	}
	if !found {
		t.Fatalf("the reminder did not reach the commander's DM %s: %+v", dm, f.Messages(dm))
	}
}

// Defect 1: a workspace that restricts channel creation. Klaxon retries
// with backoff up to a limit, then tells the declarer and the announce
// channel why and what an admin must allow; no reminder goes to no channel;
// "/incident resolve #1" and "close #1" work from any channel.
func TestChannelThatCannotBeCreated(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{Fault: func(method string, n int) *fakeslack.Fault {
		if method == "conversations.create" {
			return &fakeslack.Fault{Error: "restricted_action"}
		}
		return nil
	}})
	clock := &manualClock{now: time.Now().UTC().Truncate(time.Second)}
	k, _ := wrapUpKlaxon(t, f, clock)
	slash(t, f, "declare sev2 checkout Card form broken")
	waitReady(t, f, 1)
	if txt := lastResponse(f); !strings.Contains(txt, "restricted_action") {
		t.Fatalf("the declarer was not told why: %q", txt)
	}
	// The scheduler retries on stored deadlines; an hour of ticks is
	// plenty for every attempt and for every reminder that could fire.
	for range 120 {
		clock.Advance(30 * time.Second)
		if _, err := k.app.Tick(ctxT(t), clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	creates := len(f.CallsTo("conversations.create"))
	if creates != playbook.MaxChannelAttempts {
		t.Fatalf("%d channel creations, want %d (retries up to the limit)", creates, playbook.MaxChannelAttempts)
	}
	for _, c := range f.CallsTo("chat.postMessage") {
		if c.Params.Get("channel") == "" {
			t.Fatalf("a message was posted to no channel: %v", c.Params)
		}
	}
	inc, _ := k.db.Get(ctxT(t), 1)
	if !inc.WakeAt().IsZero() {
		t.Fatalf("timers still armed for a channel-less incident: %+v", inc.Timers)
	}
	told := func(channel string) bool {
		for _, m := range f.Messages(channel) {
			if txt := blocksText(m); strings.Contains(txt, "restricted_action") && strings.Contains(txt, "admin") && strings.Contains(txt, "#1") {
				return true
			}
		}
		return false
	}
	if !told(announce) {
		t.Fatalf("the announce channel was not told why: %+v", f.Messages(announce))
	}
	if !told("D" + declarer[1:]) { // the fake's DM channel with the declarer
		t.Fatal("the declarer was not told why by DM")
	}

	// Resolve and close from any channel, with the usual permissions.
	if txt := ackText(t, cmdIn(t, k, f, "U0OTHER1", general, "resolve #1")); !strings.Contains(txt, "Only") {
		t.Fatalf("a bystander's resolve #1 acked %q", txt)
	}
	cmdIn(t, k, f, declarer, general, "resolve #1")
	if inc, _ = k.db.Get(ctxT(t), 1); inc.Status != playbook.StatusResolved {
		t.Fatalf("resolve #1 from another channel: status %s", inc.Status)
	}
	// Nobody gave a reason: the override records that there was no
	// channel (the post-mortem and the final update word it).
	if inc.Override == nil || !inc.Override.NoChannel || inc.Override.Reason != "" {
		t.Fatalf("override of a channel-less all-clear: %+v", inc.Override)
	}
	cmdIn(t, k, f, declarer, general, "close #1")
	if inc, _ = k.db.Get(ctxT(t), 1); inc.Status != playbook.StatusClosed {
		t.Fatalf("close #1 from another channel: status %s", inc.Status)
	}
}

// Also checked: "/incident action #N" from outside the incident's channel
// is for those who manage it; in the channel anyone may add an item.
func TestActionByNumberFromElsewhereNeedsPermission(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	ch := declareOne(t, f)
	due := time.Now().UTC().AddDate(0, 0, 7).Format("2006-01-02")
	item := "action #1 Add a 5xx alert on checkout at 1% for 5 min <@U0PAY001|alice> due:" + due
	if txt := ackText(t, slashIn(t, f, general, "U0OTHER1", item)); !strings.Contains(txt, "Only") {
		t.Fatalf("a bystander's action #1 from #general acked %q", txt)
	}
	if txt := ackText(t, slashIn(t, f, general, declarer, item)); !strings.Contains(txt, "Action item 1 recorded") {
		t.Fatalf("the declarer's action #1 acked %q", txt)
	}
	f.AddMembers(ch.ID, "U0OTHER1")
	if txt := ackText(t, slashIn(t, f, ch.ID, "U0OTHER1", strings.Replace(item, "action #1", "action", 1))); !strings.Contains(txt, "Action item 2 recorded") {
		t.Fatalf("a participant's item in the channel acked %q", txt)
	}
	k.bot.Wait()
}
