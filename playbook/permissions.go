package playbook

import (
	"context"
	"slices"
	"strings"
)

// CodeForbidden marks an action the person may not take.
const CodeForbidden Code = "forbidden"

// Directory answers who belongs to a user group (S…), for invites and for
// responders given as groups. Member answers from memory, never by calling
// Slack: permissions are decided inside store transactions and before an
// envelope is acked. The Slack adapter keeps the groups fresh in the
// background.
type Directory interface {
	// GroupMembers returns a group's members, read from Slack unless
	// cached: for invites, never for a permission.
	GroupMembers(ctx context.Context, groupID string) ([]string, error)
	// Member reports whether user is in group; known is false when the
	// group's members were never read (Klaxon just started, or Slack
	// refused to list them).
	Member(group, user string) (member, known bool)
}

// mayManage checks that user may change severity, resolve, override a gate,
// tag or close incident inc: its commander, its declarer, or a configured
// responder (directly or through a user group). It reads only inc and
// memory, so callers run it inside the Apply that writes the change, against
// the incident as stored. A refusal is logged with the user and answered
// with who may.
func (a *App) mayManage(inc Incident, user string, action Act) error {
	if user == inc.Commander || user == inc.Declarer || slices.Contains(a.deps.Responders, user) {
		return nil
	}
	if a.deps.Directory != nil {
		for _, id := range a.ResponderGroups() {
			if member, _ := a.deps.Directory.Member(id, user); member {
				return nil
			}
		}
	}
	a.log().Info("refused", "user", user, "action", string(action), "incident", inc.Number)
	return Fail(CodeForbidden, ReasonNotManager, "", ErrorArgs{
		Incident: inc.Number, Act: action, Commander: inc.Commander, Declarer: inc.Declarer,
		Unread: len(a.unreadGroups()) > 0,
	})
}

// ResponderGroups are the user groups among the responders (an adapter
// keeps their members fresh for Directory).
func (a *App) ResponderGroups() []string {
	var out []string
	for _, id := range a.deps.Responders {
		if strings.HasPrefix(id, "S") {
			out = append(out, id)
		}
	}
	return out
}

// unreadGroups are the responder groups whose members are not known yet.
func (a *App) unreadGroups() []string {
	if a.deps.Directory == nil {
		return nil
	}
	var out []string
	for _, id := range a.ResponderGroups() {
		if _, known := a.deps.Directory.Member(id, ""); !known {
			out = append(out, id)
		}
	}
	return out
}

// GroupsToRead returns the responder groups whose members Klaxon has not
// read yet (at start, or while Slack refuses to list them), unless user is
// a responder by name. An adapter that gets some acks first, reads them,
// then asks the domain and answers through the response_url, so no Web API
// call comes before an ack.
func (a *App) GroupsToRead(user string) []string {
	if slices.Contains(a.deps.Responders, user) {
		return nil
	}
	return a.unreadGroups()
}

// MayManage tells adapters whether user may take a managing action (a
// Retry button on a close, say) on inc; see mayManage.
func (a *App) MayManage(_ context.Context, inc Incident, user string, action Act) error {
	return a.mayManage(inc, user, action)
}

// Viewer is a person asking to see incidents, and the channel they ask from
// ("" when from no channel, as on the App Home).
type Viewer struct {
	User    string
	Channel string
}

// Membership is what the caller knows of a viewer's membership of an
// incident's channel.
type Membership int

const (
	// MembershipUnknown: Slack was not asked (before an ack, where no Web
	// API call may come first) or could not answer.
	MembershipUnknown Membership = iota
	// Member: Slack says the viewer is in the channel.
	Member
	// NotMember: Slack says the viewer is not in the channel.
	NotMember
)

// Members answers which private channels a person is in.
type Members interface {
	// MemberOf returns, among channels, those user is a member of.
	MemberOf(ctx context.Context, user string, channels []string) (map[string]bool, error)
}

// MaySee is the one rule for who may see an incident. A public one:
// everyone. A private one: the members of its channel, because that is
// who Slack itself lets read it, and Klaxon must reveal no more than Slack
// does (its title, severity, people). How membership is known:
//   - asking from the channel itself proves it (Slack delivers a private
//     channel's commands and buttons only to its members);
//   - else Slack's answer, m, when the caller could ask (lists, after the
//     ack): a declarer who left the channel no longer sees it;
//   - else (m unknown: before an ack, or Slack failed) only the incident's
//     commander and declarer are presumed members: Klaxon invited them,
//     and they keep reaching it by number once its channel is archived at
//     close, as they still owe its post-mortem.
//
// Responders get no sight of their own: managing any incident is a right
// over incidents they can see, not a way to read the private ones.
func MaySee(inc Incident, v Viewer, m Membership) bool {
	switch {
	case !inc.Private:
		return true
	case inc.Channel.ID != "" && v.Channel == inc.Channel.ID:
		return true
	case v.User == "":
		return false
	case m == Member:
		return true
	case m == NotMember:
		return false
	}
	return v.User == inc.Commander || v.User == inc.Declarer
}

// askMembership reports whether MaySee's answer for v could change with
// Slack's word on v's membership of inc's channel.
func askMembership(inc Incident, v Viewer) bool {
	return inc.Private && inc.Channel.ID != "" && v.Channel != inc.Channel.ID && v.User != ""
}
