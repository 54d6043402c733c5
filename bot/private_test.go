package bot_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/klaxonhq/klaxon/internal/fakeslack"
)

// TestPrivateIncident: --private makes a private channel; the announce
// channel learns only that a private SEV<k> was declared (never the title,
// the service or the channel), and later updates and severity changes stay
// as discreet.
func TestPrivateIncident(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	slash(t, f, "declare --private sev1 checkout Payroll export leaked")
	waitReady(t, f, 1)
	ch, ok := f.Channel("inc-1-sev1-payroll-export-leaked")
	if !ok || !ch.Private {
		t.Fatalf("channel = %+v, want a private one", ch)
	}
	if len(ch.Bookmarks) != 1 || len(ch.Pins) != 1 {
		t.Errorf("private channel not set up: %+v", ch)
	}
	ann := f.Messages(announce)
	if len(ann) != 1 {
		t.Fatalf("%d announcements", len(ann))
	}
	body := blocksText(ann[0])
	if !strings.Contains(body, "private *SEV1*") || !strings.Contains(body, "<@"+declarer+">") {
		t.Errorf("private announcement = %q", body)
	}
	for _, secret := range []string{"Payroll", "payroll", "checkout", ch.ID} {
		if strings.Contains(body, secret) {
			t.Errorf("the announcement of a private incident shows %q: %q", secret, body)
		}
	}
	slashIn(t, f, ch.ID, declarer, "update Payroll file rotated")
	slashIn(t, f, ch.ID, declarer, "sev 2 contained")
	k.bot.Wait()
	for _, m := range f.Messages(announce) {
		if strings.Contains(blocksText(m), "Payroll") || strings.Contains(blocksText(m), "rotated") {
			t.Errorf("announce channel got private content: %q", blocksText(m))
		}
	}

	// The form's checkbox does the same.
	slash(t, f, "")
	if err := f.WaitFor(ctxT(t), func(s *fakeslack.Snapshot) bool { return len(s.Views()) == 1 }); err != nil {
		t.Fatal(err)
	}
	v := f.Views()[0]
	state := &slack.ViewState{Values: map[string]map[string]slack.BlockAction{
		"title":    {"title": {Value: "HR data exposed"}},
		"severity": {"severity": {SelectedOption: slack.OptionBlockObject{Value: "SEV2"}}},
		"private":  {"private": {SelectedOptions: []slack.OptionBlockObject{{Value: "private"}}}},
	}}
	f.Interactive(ctxT(t), slack.InteractionCallback{Type: slack.InteractionTypeViewSubmission, User: slack.User{ID: declarer},
		View: slack.View{ID: v.ID, CallbackID: v.CallbackID, PrivateMetadata: v.PrivateMetadata, State: state}})
	k.bot.Wait()
	if ch2, ok := f.Channel("inc-2-sev2-hr-data-exposed"); !ok || !ch2.Private {
		t.Fatalf("form's private incident: %+v", ch2)
	}
}

// TestListShowsPrivateIncidentsOnlyToMembers: /incident list shows every
// open incident, but a private one only to the people in its channel.
func TestListShowsPrivateIncidentsOnlyToMembers(t *testing.T) {
	t.Parallel()
	f := newFake(t, fakeslack.Options{})
	k := start(t, f, filepath.Join(t.TempDir(), "klaxon.db"))
	slash(t, f, "declare sev2 search Search is slow")
	slash(t, f, "declare --private sev1 Payroll export leaked")
	waitReady(t, f, 2)
	list := func(user string) string {
		t.Helper()
		before := len(f.ResponseURLPosts())
		if _, err := f.SlashCommand(ctxT(t), fakeslack.SlashCommand{Text: "list", UserID: user, ChannelID: general}); err != nil {
			t.Fatal(err)
		}
		k.bot.Wait()
		posts := f.ResponseURLPosts()
		if len(posts) != before+1 {
			t.Fatalf("no list for %s", user)
		}
		return posts[len(posts)-1].Text
	}
	member := list(declarer)
	if !strings.Contains(member, "Search is slow") || !strings.Contains(member, "Payroll export leaked") {
		t.Errorf("a member's list: %q", member)
	}
	other := list("U0OTHER1")
	if !strings.Contains(other, "Search is slow") || strings.Contains(other, "Payroll") || strings.Contains(other, "#2") {
		t.Errorf("a non-member's list shows the private incident: %q", other)
	}
}
