package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

var _ playbook.Directory = (*Adapter)(nil)

// Member implements playbook.Directory from the cache alone: permissions
// are decided before acks and inside store transactions, where no Web API
// call may happen. KeepGroupsFresh and the subteam_members_changed event
// keep the cache current.
func (a *Adapter) Member(group, user string) (member, known bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.groups[group]
	if !ok {
		return false, false
	}
	return slices.Contains(e.members, user), true
}

// readGroup reads a group's members from Slack (usergroups.users.list,
// Tier 2) into the cache.
func (a *Adapter) readGroup(ctx context.Context, id string) ([]string, error) {
	members, err := a.API.GetUserGroupMembersContext(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("usergroups.users.list %s: %w", id, err)
	}
	a.mu.Lock()
	if a.groups == nil {
		a.groups = map[string]groupEntry{}
	}
	a.groups[id] = groupEntry{members: members, at: a.Clock.Now()}
	a.mu.Unlock()
	return members, nil
}

// RefreshGroups reads the members of each group from Slack into the cache.
// A group Slack refuses keeps its last known members.
func (a *Adapter) RefreshGroups(ctx context.Context, ids []string) error {
	var errs []error
	for _, id := range ids {
		if _, err := a.readGroup(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// KeepGroupsFresh reads the groups at once, then every groupCacheTTL
// (sooner, every retryGroups, while Slack refuses one), until ctx ends.
// after is time.After in production.
func (a *Adapter) KeepGroupsFresh(ctx context.Context, ids []string, after func(time.Duration) <-chan time.Time, onErr func(error)) {
	if len(ids) == 0 {
		return
	}
	for {
		wait := groupCacheTTL
		if err := a.RefreshGroups(ctx, ids); err != nil && ctx.Err() == nil {
			onErr(err)
			wait = retryGroups
		}
		select {
		case <-ctx.Done():
			return
		case <-after(wait):
		}
	}
}

// retryGroups is the wait before reading a group Slack refused again.
const retryGroups = 30 * time.Second
