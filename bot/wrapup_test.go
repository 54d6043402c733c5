package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/klaxonhq/klaxon/bot"
	"github.com/klaxonhq/klaxon/github"
	"github.com/klaxonhq/klaxon/internal/fakegithub"
	"github.com/klaxonhq/klaxon/internal/fakeslack"
	"github.com/klaxonhq/klaxon/playbook"
)

// manualClock moves only when told to: the verification dwell is tested
// without waiting five minutes.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// cmdIn types a command in a channel as user and waits for its work.
func cmdIn(t *testing.T, k *klaxon, f *fakeslack.Server, user, channel, text string) fakeslack.Ack {
	t.Helper()
	ack, err := f.SlashCommand(ctxT(t), fakeslack.SlashCommand{Text: text, UserID: user, ChannelID: channel})
	if err != nil || ack.Late || ack.Error != "" {
		t.Fatalf("/incident %s: %v %+v", text, err, ack)
	}
	k.bot.Wait()
	return ack
}

func clickAndWait(t *testing.T, k *klaxon, f *fakeslack.Server, user, channel, ts, action, block, value string) {
	t.Helper()
	click(t, f, user, channel, ts, action, block, value)
	k.bot.Wait()
}

// findMessage returns the newest message of channel whose blocks or text
// contain s.
func findMessage(t *testing.T, f *fakeslack.Server, channel, s string) fakeslack.Message {
	t.Helper()
	ms := f.Messages(channel)
	for i := len(ms) - 1; i >= 0; i-- {
		if strings.Contains(blocksText(ms[i]), s) || strings.Contains(ms[i].Text, s) {
			return ms[i]
		}
	}
	t.Fatalf("no message in %s contains %q", channel, s)
	return fakeslack.Message{}
}

// lastResponse is the newest text Klaxon sent through a response_url.
func lastResponse(f *fakeslack.Server) string {
	ps := f.ResponseURLPosts()
	if len(ps) == 0 {
		return ""
	}
	return ps[len(ps)-1].Text
}

func wrapUpKlaxon(t *testing.T, f *fakeslack.Server, clock *manualClock) (*klaxon, *fakegithub.Server) {
	t.Helper()
	gh := fakegithub.New()
	t.Cleanup(gh.Close)
	gh.AddRepo("acme/checkout", "main", "alice")
	gh.AddRepo("acme/postmortems", "main")
	now := clock.Now()
	gh.AddDeploy("acme/checkout", "production", "900d0000aaaa1111", "v41", "bob", now.Add(-3*time.Hour), "success")
	gh.AddDeploy("acme/checkout", "production", "bad00000bbbb2222", "v42", "carol", now.Add(-30*time.Minute), "success")
	client, err := github.New(github.Options{APIURL: gh.URL(), Token: fakegithub.Token, Logins: map[string]string{"U0PAY001": "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	svcs := slices.Clone(services)
	svcs[0].Repo = "acme/checkout"
	svcs[0].FlagURL = "https://flags.example.com/checkout"
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"), func(app *playbook.Deps, ad *bot.Adapter) {
		app.Clock, ad.Clock = clock, clock
		app.Services = svcs
		app.Deploys, app.Tickets = client, client
		app.PostmortemRepo, app.PostmortemsRepo = client.PostmortemPublisher(false), "acme/postmortems"
		app.HotfixReviewURL = "https://wiki.example.com/hotfix"
	})
	return k, gh
}

// TestRemediateVerifyResolveClose walks an incident from declaration to its
// archived channel: commander, scope call, update, rollback, mitigated, the
// gates (refused until all four hold, the dwell on a fake clock), all-clear,
// an action item filed on GitHub, close with the outline uploaded and
// published, and every phase timestamp in the store.
func TestRemediateVerifyResolveClose(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	clock := &manualClock{now: time.Now().UTC().Truncate(time.Second)}
	k, gh := wrapUpKlaxon(t, f, clock)
	ch := declareOne(t, f)
	const ic = "U0PAY002"

	cmdIn(t, k, f, ic, ch.ID, "ic")
	// The scope call, through its form.
	scope := findMessage(t, f, ch.ID, "Five-minute scope call")
	clickAndWait(t, k, f, ic, ch.ID, scope.TS, "klaxon_scope_open", "scope_actions", "1")
	v := f.Views()[len(f.Views())-1]
	state := &slack.ViewState{Values: map[string]map[string]slack.BlockAction{
		"what_broke":     {"what_broke": {Value: "checkout-api returns 500 on /pay"}},
		"who_affected":   {"who_affected": {Value: "every card payer"}},
		"blast_radius":   {"blast_radius": {Value: "EU and US"}},
		"scope_severity": {"scope_severity": {SelectedOption: slack.OptionBlockObject{Value: "SEV1"}}},
	}}
	if ack, err := f.Interactive(ctxT(t), slack.InteractionCallback{Type: slack.InteractionTypeViewSubmission, User: slack.User{ID: ic},
		View: slack.View{ID: v.ID, CallbackID: v.CallbackID, PrivateMetadata: v.PrivateMetadata, State: state}}); err != nil || strings.Contains(string(ack.Payload), "errors") {
		t.Fatalf("scope form: %v %s (view %s)", err, ack.Payload, v.CallbackID)
	}
	k.bot.Wait()
	cmdIn(t, k, f, ic, ch.ID, "update Payments failing since 14:02; rolling back the v42 deploy")

	// Remediation: the options, then rollback with the suspect deploy.
	cmdIn(t, k, f, ic, ch.ID, "remediate")
	opts := findMessage(t, f, ch.ID, "Remediation · incident #1")
	body := blocksText(opts)
	for _, want := range []string{"Disable a feature flag", "Cut traffic over", "Roll back", "Ship a hotfix", "Remediate data", "flags.example.com/checkout"} {
		if !strings.Contains(body, want) {
			t.Fatalf("options lack %q:\n%s", want, body)
		}
	}
	if strings.Index(body, "feature flag") > strings.Index(body, "Remediate data") {
		t.Fatal("options are not fastest first")
	}
	clickAndWait(t, k, f, ic, ch.ID, opts.TS, "klaxon_remedy", "remedy_rollback", "1:rollback")
	guide := blocksText(findMessage(t, f, ch.ID, "chose *Roll back*"))
	if !strings.Contains(guide, "bad00000bbbb") || !strings.Contains(guide, "900d0000aaaa") || !strings.Contains(guide, "carol") {
		t.Fatalf("rollback guidance lacks the suspect and the known-good deploys:\n%s", guide)
	}
	cmdIn(t, k, f, ic, ch.ID, "mitigated")

	// Verification: the gates, refused until all four hold.
	cmdIn(t, k, f, ic, ch.ID, "resolve")
	gates := findMessage(t, f, ch.ID, "Verification gates · incident #1")
	cmdIn(t, k, f, ic, ch.ID, "resolve")
	if r := lastResponse(f); !strings.Contains(r, "0 of 4") {
		t.Fatalf("all-clear with no gate checked: %q", r)
	}
	for _, g := range playbook.Gates {
		clickAndWait(t, k, f, "U0SRE001", ch.ID, gates.TS, "klaxon_gate", "gate_"+string(g.Gate), "1:"+string(g.Gate)+":on")
	}
	clock.Advance(4 * time.Minute)
	clickAndWait(t, k, f, ic, ch.ID, gates.TS, "klaxon_all_clear", "gates_actions", "1")
	if r := lastResponse(f); !strings.Contains(r, "3 of 4") || !strings.Contains(r, "Synthetic monitors") {
		t.Fatalf("all-clear inside the synthetic dwell: %q", r)
	}
	if inc, _ := k.db.Get(context.Background(), 1); inc.Status == playbook.StatusResolved {
		t.Fatal("resolved inside the dwell")
	}
	if g := blocksText(messageByTS(f, ch.ID, gates.TS)); !strings.Contains(g, "hourglass") {
		t.Fatalf("the synthetic gate does not show its dwell:\n%s", g)
	}
	clock.Advance(time.Minute)
	// The scheduler re-renders the gates when the dwell ends, unclicked.
	if _, err := k.app.Tick(context.Background(), clock.Now()); err != nil {
		t.Fatal(err)
	}
	if g := blocksText(messageByTS(f, ch.ID, gates.TS)); strings.Contains(g, "hourglass") {
		t.Fatalf("the gates message still shows the dwell after it ended:\n%s", g)
	}
	clickAndWait(t, k, f, ic, ch.ID, gates.TS, "klaxon_all_clear", "gates_actions", "1")
	inc, _ := k.db.Get(context.Background(), 1)
	if inc.Status != playbook.StatusResolved || inc.Override != nil {
		t.Fatalf("after the dwell: %s, override %v", inc.Status, inc.Override)
	}
	if g := blocksText(messageByTS(f, ch.ID, gates.TS)); !strings.Contains(g, "Resolved") || strings.Contains(g, "klaxon_gate") {
		t.Fatalf("gates message not final:\n%s", g)
	}
	ann := f.Messages(announce)
	if last := ann[len(ann)-1]; !strings.Contains(blocksText(last), "all clear") || last.ThreadTS == "" {
		t.Fatalf("final update not in the announcement thread: %+v", last)
	}
	// Its words are the templates' (update.tmpl), from the facts the
	// all-clear recorded: the post-mortem's due time among them.
	final := ann[len(ann)-1]
	for _, want := range []string{"*Status:* Resolved: all clear.\n*Impact:* The impact has ended.\n*Next steps:* Post-mortem due " +
		inc.Timers.PostmortemDue.UTC().Format("Mon 2 Jan 15:04 UTC") + ". Record action items with `/incident action`, then `/incident close`."} {
		if !strings.Contains(blocksText(final), want) {
			t.Fatalf("final update lacks %q:\n%s", want, blocksText(final))
		}
	}
	if !strings.HasSuffix(final.Text, ": Resolved: all clear.") {
		t.Fatalf("final update's fallback text %q", final.Text)
	}

	// Action items: vague ones refused, a good one filed on GitHub.
	ack := cmdIn(t, k, f, ic, ch.ID, "action investigate <@U0PAY001|alice> due:2099-01-01")
	if txt := ackText(t, ack); !strings.Contains(txt, "too short") && !strings.Contains(txt, "vague") {
		t.Fatalf("vague item: %q", txt)
	}
	ack = cmdIn(t, k, f, ic, ch.ID, "action Add a 5xx alert on checkout at 1% <@U0PAY001|alice> <@U0PAY002|bo> due:2099-01-01")
	if txt := ackText(t, ack); !strings.Contains(txt, "exactly one owner") {
		t.Fatalf("two owners: %q", txt)
	}
	due := clock.Now().Add(7 * 24 * time.Hour).Format("2006-01-02")
	cmdIn(t, k, f, ic, ch.ID, "action Add a 5xx alert on checkout at 1% for 5 min <@U0PAY001|alice> due:"+due)
	issues := gh.Issues("acme/checkout")
	if len(issues) != 1 || !slices.Contains(issues[0].Assignees, "alice") || !strings.Contains(issues[0].Body, due) || !strings.Contains(issues[0].Title, "[INC-1]") {
		t.Fatalf("GitHub issues: %+v", issues)
	}
	if m := blocksText(findMessage(t, f, ch.ID, "Action item 1")); !strings.Contains(m, issues[0].HTMLURL) {
		t.Fatalf("the item's message lacks its issue link:\n%s", m)
	}

	// Close: the outline uploaded, published, the channel archived.
	cmdIn(t, k, f, ic, ch.ID, "close Connection pool exhaustion")
	files := f.Files()
	if len(files) != 1 || files[0].Name != "inc-1-postmortem.md" || !files[0].Completed || files[0].Channel != ch.ID {
		t.Fatalf("files: %+v", files)
	}
	md := string(files[0].Content)
	for _, want := range []string{"Checkout returns 500s", "every card payer", "bad00000", "5 Whys", "Add a 5xx alert", issues[0].HTMLURL, "connection-pool-exhaustion", "blameless"} {
		if !strings.Contains(strings.ToLower(md), strings.ToLower(want)) {
			t.Errorf("the outline lacks %q\n%s", want, md)
		}
	}
	if pulls := gh.Pulls("acme/postmortems"); len(pulls) != 1 {
		t.Errorf("post-mortem pull requests: %+v", pulls)
	}
	if c, _ := f.Channel(ch.ID); !c.Archived {
		t.Fatal("the channel was not archived")
	}
	if len(f.CallsTo("conversations.delete")) != 0 {
		t.Fatal("a channel was deleted")
	}
	inc, _ = k.db.Get(context.Background(), 1)
	for _, p := range playbook.Phases {
		if _, ok := inc.At(p); !ok {
			t.Errorf("phase %s not in the store", p)
		}
	}
	if inc.Closure == nil || inc.Closure.File != files[0].ID || inc.Closure.Archived.IsZero() || inc.Closure.Published == "" {
		t.Fatalf("closure %+v", inc.Closure)
	}

	// After the archive: the post-mortem is marked done from elsewhere.
	cmdIn(t, k, f, ic, general, "postmortem done #1 <https://docs.example.com/pm-1>")
	if inc, _ = k.db.Get(context.Background(), 1); !inc.Timers.PostmortemDone {
		t.Fatal("post-mortem not marked done")
	}
}

// TestOverrideThroughTheForm: the commander gives the all-clear over open
// gates with a written reason; anybody else is refused on the form.
func TestOverrideThroughTheForm(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	clock := &manualClock{now: time.Now().UTC().Truncate(time.Second)}
	k, _ := wrapUpKlaxon(t, f, clock)
	ch := declareOne(t, f)
	cmdIn(t, k, f, "U0PAY002", ch.ID, "ic")
	cmdIn(t, k, f, "U0PAY002", ch.ID, "resolve")
	gates := findMessage(t, f, ch.ID, "Verification gates · incident #1")
	clickAndWait(t, k, f, "U0PAY002", ch.ID, gates.TS, "klaxon_gate", "gate_error_rate", "1:error_rate:on")

	submit := func(user string) fakeslack.Ack {
		t.Helper()
		clickAndWait(t, k, f, user, ch.ID, gates.TS, "klaxon_override", "gates_actions", "1")
		v := f.Views()[len(f.Views())-1]
		state := &slack.ViewState{Values: map[string]map[string]slack.BlockAction{"reason": {"reason": {Value: "Synthetics are down for maintenance; errors flat for 20 min"}}}}
		ack, err := f.Interactive(ctxT(t), slack.InteractionCallback{Type: slack.InteractionTypeViewSubmission, User: slack.User{ID: user},
			View: slack.View{ID: v.ID, CallbackID: v.CallbackID, PrivateMetadata: v.PrivateMetadata, State: state}})
		if err != nil {
			t.Fatal(err)
		}
		k.bot.Wait()
		return ack
	}
	if ack := submit(declarer); !strings.Contains(string(ack.Payload), "Only the incident commander") {
		t.Fatalf("override by the declarer: %s", ack.Payload)
	}
	if ack := submit("U0PAY002"); strings.Contains(string(ack.Payload), "errors") {
		t.Fatalf("override by the commander refused: %s", ack.Payload)
	}
	inc, _ := k.db.Get(context.Background(), 1)
	if inc.Status != playbook.StatusResolved || inc.Override == nil || inc.Override.By != "U0PAY002" || len(inc.Override.Unmet) != 3 {
		t.Fatalf("status %s override %+v", inc.Status, inc.Override)
	}
	if g := blocksText(messageByTS(f, ch.ID, gates.TS)); !strings.Contains(g, "over open gates") || !strings.Contains(g, "maintenance") {
		t.Fatalf("gates message:\n%s", g)
	}
	// The final update in the channel gives the override and its reason.
	const status = "*Status:* Resolved: all clear given by the commander before every verification gate held. Reason: Synthetics are down for maintenance; errors flat for 20 min\n"
	if m := findMessage(t, f, ch.ID, "*Impact:* The impact has ended."); !strings.Contains(blocksText(m), status) {
		t.Fatalf("final update:\n%s", blocksText(m))
	}
}

// TestPrivateIncidentAfterArchive: once a private incident's channel is
// archived, its declarer can still mark the post-mortem done by number from
// elsewhere; anybody else learns nothing about it.
func TestPrivateIncidentAfterArchive(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	clock := &manualClock{now: time.Now().UTC().Truncate(time.Second)}
	k, gh := wrapUpKlaxon(t, f, clock)
	slash(t, f, "declare --private sev2 checkout Payroll export leaks")
	waitReady(t, f, 1)
	inc, _ := k.db.Get(context.Background(), 1)
	ch := inc.Channel.ID
	cmdIn(t, k, f, declarer, ch, "ic")
	cmdIn(t, k, f, declarer, ch, "resolve")
	cmdIn(t, k, f, declarer, ch, "resolve override contained by revoking the export token")
	cmdIn(t, k, f, declarer, ch, "action Rotate the payroll export signing keys <@U0PAY001|alice> due:"+clock.Now().Add(48*time.Hour).Format("2006-01-02"))
	if issues := gh.Issues("acme/checkout"); len(issues) != 0 {
		t.Fatalf("a private incident's item was filed in its service's repo: %+v", issues)
	}
	cmdIn(t, k, f, declarer, ch, "close")
	if c, _ := f.Channel(ch); !c.Archived {
		t.Fatal("not archived")
	}
	if len(gh.Pulls("acme/postmortems")) != 0 {
		t.Fatal("a private incident's outline was published")
	}
	ack := cmdIn(t, k, f, "U0PAY002", general, "postmortem done #1 <https://docs.example.com/pm>")
	if txt := ackText(t, ack); !strings.Contains(txt, "no incident #1 you can reach") {
		t.Fatalf("a bystander reached a private incident: %q", txt)
	}
	cmdIn(t, k, f, declarer, general, "postmortem done #1 <https://docs.example.com/pm>")
	if inc, _ = k.db.Get(context.Background(), 1); !inc.Timers.PostmortemDone {
		t.Fatal("the declarer could not mark the private post-mortem done")
	}
}

// TestActionItemAndPlanForms: the "Add an action item" button and the
// data-remediation "Write the validation plan" button open their forms; a
// vague item is refused on the form, a good one recorded and filed.
func TestActionItemAndPlanForms(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	clock := &manualClock{now: time.Now().UTC().Truncate(time.Second)}
	k, gh := wrapUpKlaxon(t, f, clock)
	ch := declareOne(t, f)
	cmdIn(t, k, f, declarer, ch.ID, "remediate data")
	guide := findMessage(t, f, ch.ID, "Remediate data")
	clickAndWait(t, k, f, declarer, ch.ID, guide.TS, "klaxon_validation_plan", "guidance_actions", "1")
	submit := func(values map[string]map[string]slack.BlockAction) fakeslack.Ack {
		t.Helper()
		v := f.Views()[len(f.Views())-1]
		ack, err := f.Interactive(ctxT(t), slack.InteractionCallback{Type: slack.InteractionTypeViewSubmission, User: slack.User{ID: declarer},
			View: slack.View{ID: v.ID, CallbackID: v.CallbackID, PrivateMetadata: v.PrivateMetadata, State: &slack.ViewState{Values: values}}})
		if err != nil {
			t.Fatal(err)
		}
		k.bot.Wait()
		return ack
	}
	submit(map[string]map[string]slack.BlockAction{"plan": {"plan": {Value: "Recount orders per minute against payments"}}})
	if evs := events(t, k, playbook.EventValidationPlan); len(evs) != 1 {
		t.Fatalf("validation plan events: %+v", evs)
	}

	cmdIn(t, k, f, declarer, ch.ID, "resolve")
	cmdIn(t, k, f, declarer, ch.ID, "ic")
	cmdIn(t, k, f, declarer, ch.ID, "resolve override checked by hand")
	resolved := findMessage(t, f, ch.ID, "is resolved")
	clickAndWait(t, k, f, declarer, ch.ID, resolved.TS, "klaxon_add_action", "resolved_actions", "1")
	due := clock.Now().Add(72 * time.Hour).Format("2006-01-02")
	values := func(text string) map[string]map[string]slack.BlockAction {
		return map[string]map[string]slack.BlockAction{
			"action_text":  {"action_text": {Value: text}},
			"action_owner": {"action_owner": {SelectedUser: "U0PAY001"}},
			"action_due":   {"action_due": {SelectedDate: due}},
		}
	}
	if ack := submit(values("look into it")); !strings.Contains(string(ack.Payload), "action_text") {
		t.Fatalf("a vague item was not refused on the form: %s", ack.Payload)
	}
	// Each refusal is shown beside the field it concerns (by the error's
	// Field, not its words), in the rendered words of errors.tmpl.
	formErrors := func(ack fakeslack.Ack) map[string]string {
		var r struct {
			Action string            `json:"response_action"`
			Errors map[string]string `json:"errors"`
		}
		if err := json.Unmarshal(ack.Payload, &r); err != nil || r.Action != "errors" {
			t.Fatalf("not a form error: %s (%v)", ack.Payload, err)
		}
		return r.Errors
	}
	past := values("Add a checksum column to the orders export")
	past["action_due"] = map[string]slack.BlockAction{"action_due": {SelectedDate: "2020-01-02"}}
	wantPast := fmt.Sprintf("The deadline 2020-01-02 has passed: pick today (%s) or later.", clock.Now().UTC().Format("2006-01-02"))
	if errs := formErrors(submit(past)); len(errs) != 1 || errs["action_due"] != wantPast {
		t.Fatalf("a past deadline: %v, want %q on action_due", errs, wantPast)
	}
	group := values("Add a checksum column to the orders export")
	group["action_owner"] = map[string]slack.BlockAction{"action_owner": {SelectedUser: "S0GROUP1"}}
	if errs := formErrors(submit(group)); len(errs) != 1 || !strings.HasPrefix(errs["action_owner"], "The owner must be one person, not a group or a channel") {
		t.Fatalf("a group as owner: %v, want it on action_owner", errs)
	}
	if ack := submit(values("Add a checksum column to the orders export")); strings.Contains(string(ack.Payload), "errors") {
		t.Fatalf("a good item refused: %s", ack.Payload)
	}
	if issues := gh.Issues("acme/checkout"); len(issues) != 1 || !strings.Contains(issues[0].Title, "checksum column") {
		t.Fatalf("issues: %+v", issues)
	}
}
