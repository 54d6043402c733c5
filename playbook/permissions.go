package playbook

import (
	"context"
	"slices"
	"strings"
)

// CodeForbidden marks an action the person may not take.
const CodeForbidden Code = "forbidden"

// Directory answers who belongs to a user group (S…), for responders given
// as groups. The Slack adapter implements it with a cache.
type Directory interface {
	GroupMembers(ctx context.Context, groupID string) ([]string, error)
}

// mayManage checks that user may change severity, resolve, override a gate
// or close incident inc: its commander, its declarer, or a configured
// responder (directly or through a user group). A refusal is logged with
// the user and answered with who may.
func (a *App) mayManage(ctx context.Context, inc Incident, user, action string) error {
	if user == inc.Commander || user == inc.Declarer || slices.Contains(a.Responders, user) {
		return nil
	}
	for _, id := range a.Responders {
		if !strings.HasPrefix(id, "S") || a.Directory == nil {
			continue
		}
		members, err := a.Directory.GroupMembers(ctx, id)
		if err != nil {
			a.log().Warn("reading a responder group", "group", id, "err", err)
			continue
		}
		if slices.Contains(members, user) {
			return nil
		}
	}
	a.log().Info("refused", "user", user, "action", action, "incident", inc.Number)
	who := "the declarer (<@" + inc.Declarer + ">)"
	if inc.Commander != "" {
		who = "the commander (<@" + inc.Commander + ">), " + who
	}
	return Errorf(CodeForbidden, "Only %s or a responder can %s incident #%d.", who, action, inc.Number)
}

// MayManage tells adapters whether user may take a managing action (a
// Retry button on a close, say) on inc; see mayManage.
func (a *App) MayManage(ctx context.Context, inc Incident, user, action string) error {
	return a.mayManage(ctx, inc, user, action)
}
