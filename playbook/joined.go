package playbook

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Join is someone joining an incident's channel (Slack's
// member_joined_channel).
type Join struct {
	Key     string // unique per join (a redelivery repeats it)
	Channel string
	User    string
	// ByKlaxon is set when Klaxon's own invite added them: that join is
	// the page arriving, not an answer to it.
	ByKlaxon bool
	At       time.Time
}

// Joined applies a join to the incident whose channel it is. Without
// PagerDuty a page has no acknowledgement of its own, so a paged person
// arriving in the channel acknowledges it: someone a page named (a Slack
// user, or a member of a Slack group it named) who joins by themselves or
// is brought in by someone else, after the page. Klaxon's own invites (the
// page itself) never count, nor does anyone with a PagerDuty incident
// open (PagerDuty says who acknowledged). Only the first acknowledgement
// is recorded (Acknowledge). It reports whether this join acknowledged.
func (a *App) Joined(ctx context.Context, j Join) (bool, error) {
	if j.ByKlaxon || j.User == "" || j.Channel == "" {
		return false, nil
	}
	inc, err := a.deps.Store.ByChannel(ctx, j.Channel)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !inc.Status.Open() || inc.Paging == nil || inc.Paging.PD.ID != "" || inc.Paging.AckedBy != "" {
		return false, nil
	}
	evs, err := a.deps.Store.Timeline(ctx, inc.Number)
	if err != nil {
		return false, err
	}
	if !a.wasPaged(ctx, evs, j.User) {
		return false, nil
	}
	_, first, err := a.Acknowledge(ctx, inc.Number, Ack{Key: j.Key, SlackUser: j.User, At: j.At, Source: "join"})
	return first, err
}

// wasPaged reports whether a page of the timeline named user, directly or
// through a Slack group they are in.
func (a *App) wasPaged(ctx context.Context, evs []Event, user string) bool {
	for _, e := range evs {
		if e.Type != EventPage {
			continue
		}
		pg, _ := PayloadOf[PagePayload](e)
		id := pg.SlackUser
		if id == user {
			return true
		}
		if strings.HasPrefix(id, "S") && a.deps.Directory != nil {
			if member, known := a.deps.Directory.Member(id, user); known {
				if member {
					return true
				}
				continue
			}
			members, err := a.deps.Directory.GroupMembers(ctx, id)
			if err != nil {
				a.log().Warn("reading a paged group's members", "group", id, "err", err)
				continue
			}
			for _, m := range members {
				if m == user {
					return true
				}
			}
		}
	}
	return false
}
