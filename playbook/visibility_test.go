package playbook_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/playbook/storetest"
)

// TestMaySee is the one rule for who sees a private incident: the members
// of its channel; proved by asking from the channel, else by Slack's
// answer, else (Slack not asked) presumed for its commander and declarer.
func TestMaySee(t *testing.T) {
	private := playbook.Incident{Number: 7, Private: true, Commander: "U0IC", Declarer: "U0DECL", Channel: playbook.ChannelRef{ID: "C0PRIV"}}
	noChannel := private
	noChannel.Channel = playbook.ChannelRef{}
	public := private
	public.Private = false
	const (
		unknown = playbook.MembershipUnknown
		member  = playbook.Member
		not     = playbook.NotMember
	)
	for _, tc := range []struct {
		name string
		inc  playbook.Incident
		v    playbook.Viewer
		m    playbook.Membership
		want bool
	}{
		{"public, anyone anywhere", public, playbook.Viewer{User: "U0ANY", Channel: "C0GENERAL"}, unknown, true},
		{"public, Slack says not a member", public, playbook.Viewer{User: "U0ANY"}, not, true},
		{"private, from its channel", private, playbook.Viewer{User: "U0ANY", Channel: "C0PRIV"}, unknown, true},
		{"private, from its channel whatever was asked", private, playbook.Viewer{User: "U0ANY", Channel: "C0PRIV"}, not, true},
		{"private, someone else elsewhere, not asked", private, playbook.Viewer{User: "U0ANY", Channel: "C0GENERAL"}, unknown, false},
		{"private, someone else, Slack says member", private, playbook.Viewer{User: "U0ANY"}, member, true},
		{"private, someone else, Slack says not", private, playbook.Viewer{User: "U0ANY"}, not, false},
		{"private, commander elsewhere, not asked", private, playbook.Viewer{User: "U0IC", Channel: "C0GENERAL"}, unknown, true},
		{"private, declarer on the Home, not asked", private, playbook.Viewer{User: "U0DECL"}, unknown, true},
		{"private, declarer who left the channel", private, playbook.Viewer{User: "U0DECL"}, not, false},
		{"private, a responder is nobody special", private, playbook.Viewer{User: "U0RESPONDER", Channel: "C0GENERAL"}, unknown, false},
		{"private, no viewer", private, playbook.Viewer{Channel: "C0GENERAL"}, unknown, false},
		{"private, no viewer even if 'member'", private, playbook.Viewer{}, member, false},
		{"private, channel not created, someone", noChannel, playbook.Viewer{User: "U0ANY", Channel: ""}, unknown, false},
		{"private, channel not created, declarer", noChannel, playbook.Viewer{User: "U0DECL"}, unknown, true},
	} {
		if got := playbook.MaySee(tc.inc, tc.v, tc.m); got != tc.want {
			t.Errorf("%s: MaySee = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// members answers MemberOf from a fixed map and counts the calls.
type members struct {
	in    map[string][]string // user → channels
	err   error
	calls int
}

func (m *members) MemberOf(_ context.Context, user string, channels []string) (map[string]bool, error) {
	m.calls++
	if m.err != nil {
		return nil, m.err
	}
	out := map[string]bool{}
	for _, c := range channels {
		out[c] = slices.Contains(m.in[user], c)
	}
	return out, nil
}

// TestIncidentQueriesApplyVisibility: by number, a private incident is not
// found for whoever the rule does not let see it without Slack; in the
// list, members see it (Slack asked once for all), others do not, and a
// failing Slack hides it.
func TestIncidentQueriesApplyVisibility(t *testing.T) {
	ctx := context.Background()
	store := storetest.NewMemory()
	put := func(key string, inc playbook.Incident) {
		if _, _, err := store.Create(ctx, key, func(n int64) (playbook.Incident, []playbook.Event) {
			inc.Number = n
			return inc, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	put("a", playbook.Incident{Title: "public", Status: playbook.StatusInvestigating, Declarer: "U0DECL", Channel: playbook.ChannelRef{ID: "C0PUB"}})
	put("b", playbook.Incident{Title: "hush", Private: true, Status: playbook.StatusInvestigating, Declarer: "U0DECL", Channel: playbook.ChannelRef{ID: "C0PRIV"}})
	put("c", playbook.Incident{Title: "hush too", Private: true, Status: playbook.StatusInvestigating, Declarer: "U0DECL", Channel: playbook.ChannelRef{ID: "C0PRIV2"}})
	m := &members{in: map[string][]string{"U0MEMBER": {"C0PRIV"}}}
	app := playbook.New(playbook.Deps{Store: store, Members: m, Clock: playbook.ClockFunc(nil)})

	if _, err := app.IncidentFor(ctx, 2, playbook.Viewer{User: "U0MEMBER", Channel: "C0GENERAL"}); playbook.ErrorCode(err) != playbook.CodeNotFound {
		t.Errorf("private #2 by number from elsewhere: %v, want not found (no Slack call before an ack)", err)
	}
	if inc, err := app.IncidentFor(ctx, 2, playbook.Viewer{User: "U0MEMBER", Channel: "C0PRIV"}); err != nil || inc.Title != "hush" {
		t.Errorf("private #2 from its channel: %+v, %v", inc, err)
	}
	if inc, err := app.IncidentFor(ctx, 1, playbook.Viewer{User: "U0ANY"}); err != nil || inc.Title != "public" {
		t.Errorf("public #1: %+v, %v", inc, err)
	}
	if m.calls != 0 {
		t.Errorf("IncidentFor asked Slack %d times", m.calls)
	}

	titles := func(v playbook.Viewer) []string {
		open, err := app.OpenIncidentsFor(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, inc := range open {
			out = append(out, inc.Title)
		}
		return out
	}
	if got := titles(playbook.Viewer{User: "U0MEMBER", Channel: "C0GENERAL"}); !slices.Equal(got, []string{"public", "hush"}) {
		t.Errorf("member's list = %q", got)
	}
	if m.calls != 1 {
		t.Errorf("Slack asked %d times for one list, want once", m.calls)
	}
	if got := titles(playbook.Viewer{User: "U0OTHER"}); !slices.Equal(got, []string{"public"}) {
		t.Errorf("non-member's list = %q", got)
	}
	m.in["U0DECL"] = []string{"C0PRIV2"} // left #2's channel
	if got := titles(playbook.Viewer{User: "U0DECL"}); !slices.Equal(got, []string{"public", "hush too"}) {
		t.Errorf("declarer's list = %q, want the channel they left hidden", got)
	}
	if got := titles(playbook.Viewer{User: "U0MEMBER", Channel: "C0PRIV2"}); !slices.Equal(got, []string{"public", "hush", "hush too"}) {
		t.Errorf("member's list typed in the other private channel = %q", got)
	}
	m.err = errors.New("slack is down")
	if got := titles(playbook.Viewer{User: "U0MEMBER"}); !slices.Equal(got, []string{"public"}) {
		t.Errorf("list while Slack fails = %q, want the private ones hidden", got)
	}
	if got := titles(playbook.Viewer{User: "U0DECL"}); !slices.Equal(got, []string{"public", "hush", "hush too"}) {
		t.Errorf("declarer's list while Slack fails = %q, want theirs (presumed)", got)
	}
}
