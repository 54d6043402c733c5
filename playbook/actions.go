package playbook

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxActionText bounds an action item's text.
const MaxActionText = 500

// DueLayout is how a due date is written: due:2026-12-04.
const DueLayout = "2006-01-02"

// maxDueAhead bounds a deadline: an item due in more than a year is a wish.
const maxDueAhead = 366 * 24 * time.Hour

// vaguePrefixes start items nobody can finish or check. An item starting
// with one is refused unless it goes on to say what exactly changes.
var vaguePrefixes = []string{
	"investigate", "look into", "look at", "consider", "think about", "explore",
	"check", "review", "improve", "monitor", "be more careful", "be careful",
	"try to", "fix it", "follow up", "discuss", "tbd", "todo", "to do", "n/a",
	"make sure", "ensure", "be aware", "remember to", "do better",
}

// vagueMinWords is how many words an item starting vaguely needs to say what.
const vagueMinWords = 7

// ActionRequest is an action item as a person typed it.
type ActionRequest struct {
	Key   string
	Actor string
	Text  string
	Owner string // a Slack user ID
	Due   string // YYYY-MM-DD
}

// ValidateAction checks an item at now: a concrete text, exactly one owner
// (a person), one deadline in the coming year. The error says what to type.
func ValidateAction(r ActionRequest, now time.Time) error {
	text := strings.TrimSpace(r.Text)
	words := strings.Fields(text)
	lower := strings.ToLower(strings.Join(words, " "))
	switch {
	case text == "":
		return Fail(CodeBadInput, ReasonActionEmpty, FieldText, ErrorArgs{})
	case utf8.RuneCountInString(text) > MaxActionText:
		return Fail(CodeBadInput, ReasonActionTooLong, FieldText, ErrorArgs{Limit: MaxActionText})
	case len(words) < 3:
		return Fail(CodeBadInput, ReasonActionTooShort, FieldText, ErrorArgs{Input: truncate(text, 60)})
	}
	for _, p := range vaguePrefixes {
		if (lower == p || strings.HasPrefix(lower, p+" ")) && len(words) < vagueMinWords {
			return Fail(CodeBadInput, ReasonActionVague, FieldText, ErrorArgs{Input: truncate(text, 60), Prefix: p})
		}
	}
	switch {
	case r.Owner == "":
		return Fail(CodeBadInput, ReasonActionNoOwner, FieldOwner, ErrorArgs{})
	case !strings.HasPrefix(r.Owner, "U") && !strings.HasPrefix(r.Owner, "W"):
		return Fail(CodeBadInput, ReasonOwnerNotPerson, FieldOwner, ErrorArgs{})
	case r.Due == "":
		return Fail(CodeBadInput, ReasonActionNoDue, FieldDue, ErrorArgs{})
	}
	due, err := time.Parse(DueLayout, r.Due)
	if err != nil {
		return Fail(CodeBadInput, ReasonDueNotADate, FieldDue, ErrorArgs{Input: truncate(r.Due, 20), Time: now.Add(7 * 24 * time.Hour)})
	}
	// "Today" is a day behind UTC for people west of it: a deadline of
	// yesterday (UTC) is still their today.
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
	switch {
	case due.Before(today):
		return Fail(CodeBadInput, ReasonDueInPast, FieldDue, ErrorArgs{Input: r.Due, Today: now})
	case due.Sub(today) > maxDueAhead:
		return Fail(CodeBadInput, ReasonDueTooFar, FieldDue, ErrorArgs{Input: r.Due})
	}
	return nil
}

// AddAction records an action item on incident n (any status: items often
// come during the post-mortem). Filing its ticket is FileTickets' job.
func (a *App) AddAction(ctx context.Context, n int64, r ActionRequest) (Incident, ActionItem, bool, error) {
	now := a.deps.Clock.Now().UTC()
	if err := ValidateAction(r, now); err != nil {
		return Incident{}, ActionItem{}, false, err
	}
	var item ActionItem
	inc, applied, err := a.deps.Store.Apply(ctx, n, r.Key, func(inc *Incident) ([]Event, error) {
		item = ActionItem{ID: len(inc.Actions) + 1, Text: strings.TrimSpace(r.Text), Owner: r.Owner, Due: r.Due, By: r.Actor, At: now}
		inc.Actions = append(inc.Actions, item)
		ev := NewEvent(EventActionItem, r.Actor, now, item.Text)
		ev.Payload = ActionPayload{ID: item.ID, Owner: item.Owner, Due: item.Due}
		return []Event{ev}, nil
	})
	if err != nil {
		return Incident{}, ActionItem{}, false, storeErr(err, SubjectActionItem)
	}
	if !applied {
		// A repeated key: the item recorded then.
		for _, it := range inc.Actions {
			if it.By == r.Actor && it.Text == strings.TrimSpace(r.Text) {
				item = it
			}
		}
	}
	return inc, item, applied, nil
}

// TicketRepo is where incident inc's action items are filed: its service's
// repo, else the configured action-item repo; empty when neither.
// A private incident's items go only to the action-item repo: its
// service's repo would tell every reader which service it hit.
func (a *App) TicketRepo(inc Incident) string {
	if s, ok := a.Service(inc.Service); ok && s.Repo != "" && !inc.Private {
		return s.Repo
	}
	return a.deps.ActionItemRepo
}

// TicketResult says how filing went.
type TicketResult struct {
	Incident Incident
	Filed    []ActionItem
	Failed   map[int]error
	// Skipped says why nothing could be filed (GitHub off, no repo).
	Skipped TicketSkip
}

// TicketSkip says why an incident's action items get no tickets.
type TicketSkip string

// Why no tickets are filed.
const (
	TicketsGitHubOff     TicketSkip = "github_off"      // GitHub is not configured
	TicketsPrivateNoRepo TicketSkip = "private_no_repo" // a private incident without github.action_items_repo
	TicketsNoRepo        TicketSkip = "no_repo"         // neither the service nor github.action_items_repo names a repo
)

func actionMarker(n int64, id int) string { return fmt.Sprintf("klaxon:incident-%d:action-%d", n, id) }

// FileTickets files every action item of incident n that has no ticket yet
// as an issue (one at a time per incident, so a double call files nothing
// twice). A filing is marked before the request, so a retry after a crash
// adopts the issue filed then. Items that failed MaxStepAttempts times are
// skipped unless force (a person pressed Retry).
func (a *App) FileTickets(ctx context.Context, n int64, force bool) (TicketResult, error) {
	mu := a.lockOf(&a.filing, n)
	mu.Lock()
	defer mu.Unlock()
	inc, err := a.deps.Store.Get(ctx, n)
	if err != nil {
		return TicketResult{}, err
	}
	res := TicketResult{Incident: inc, Failed: map[int]error{}}
	repo := a.TicketRepo(inc)
	switch {
	case a.deps.Tickets == nil:
		res.Skipped = TicketsGitHubOff
		return res, nil
	case repo == "" && inc.Private:
		res.Skipped = TicketsPrivateNoRepo
		return res, nil
	case repo == "":
		res.Skipped = TicketsNoRepo
		return res, nil
	}
	names := a.names(ctx, inc)
	for _, it := range inc.Actions {
		if it.Ticket != nil || (!force && it.FileFailures >= MaxStepAttempts) {
			continue
		}
		adopt := !it.Filing.IsZero()
		now := a.deps.Clock.Now().UTC()
		if _, err := a.deps.Store.Update(ctx, n, func(i *Incident) ([]Event, error) {
			i.Actions[it.ID-1].Filing = now
			return nil, nil
		}); err != nil {
			return res, err
		}
		body, ferr := a.ticketBody(inc, it, names)
		var t Ticket
		if ferr == nil {
			t, ferr = a.deps.Tickets.File(ctx, TicketRequest{
				Repo: repo, Title: ticketTitle(inc, it), Body: body, Owner: it.Owner,
				Labels: []string{"klaxon", "incident-action"}, Marker: actionMarker(n, it.ID), Adopt: adopt,
			})
		}
		now = a.deps.Clock.Now().UTC()
		inc, err = a.deps.Store.Update(ctx, n, func(i *Incident) ([]Event, error) {
			item := &i.Actions[it.ID-1]
			if ferr != nil {
				item.FileFailures++
				return nil, nil
			}
			t.CheckedAt = now
			if t.State == "closed" {
				t.ClosedAt = now
			}
			item.Ticket, item.FileFailures = &t, 0
			ev := NewEvent(EventTicketFiled, ActorKlaxon, now, "")
			ev.Payload = TicketPayload{ID: it.ID, Ticket: fmt.Sprintf("%s#%d", t.Repo, t.Number), URL: t.URL}
			return []Event{ev}, nil
		})
		if err != nil {
			return res, err
		}
		if ferr != nil {
			a.log().Warn("filing an action item", "incident", n, "item", it.ID, "err", ferr)
			res.Failed[it.ID] = ferr
			continue
		}
		res.Filed = append(res.Filed, inc.Actions[it.ID-1])
	}
	res.Incident = inc
	return res, nil
}

func (a *App) names(ctx context.Context, inc Incident) map[string]string {
	if a.deps.People == nil {
		return nil
	}
	ids := []string{inc.Declarer, inc.Commander}
	for _, it := range inc.Actions {
		ids = append(ids, it.Owner, it.By)
	}
	return a.deps.People.Names(ctx, compact(ids))
}

func compact(ids []string) []string {
	var out []string
	for _, id := range ids {
		if id != "" && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func ticketTitle(inc Incident, it ActionItem) string {
	return truncate(fmt.Sprintf("[INC-%d] %s", inc.Number, oneLine(it.Text, MaxActionText)), 250)
}

// ticketBody is the issue body of item it, rendered by RenderTicket
// (templates' ticket.md.tmpl), which escapes what people typed: GitHub would
// ping "@org/team" in a title, and read a typed "<!-- … -->" as a marker.
// Without a renderer, or when it fails (a broken override), the item is not
// filed: the failure is counted and retried like GitHub's.
func (a *App) ticketBody(inc Incident, it ActionItem, names map[string]string) (string, error) {
	tb := TicketBody{Item: it, Number: inc.Number, Severity: inc.Severity, Service: inc.Service, Names: names}
	if inc.Private {
		tb.Service = ""
	} else {
		tb.Title = oneLine(inc.Title, 200)
	}
	if a.deps.RenderTicket == nil {
		return "", errors.New("no renderer for the issue body (Deps.RenderTicket)")
	}
	body, err := a.deps.RenderTicket(tb)
	if err != nil {
		a.log().Error("rendering an action item's issue body", "incident", inc.Number, "item", it.ID, "err", err)
		return "", fmt.Errorf("rendering the issue body: %w", err)
	}
	return body, nil
}

// SyncTickets reads back the state of every open ticket and records the
// changes. It returns how many tickets it read. A calendar job calls it.
func (a *App) SyncTickets(ctx context.Context) (int, error) {
	if a.deps.Tickets == nil {
		return 0, nil
	}
	incs, err := a.deps.Store.List(ctx, func(i *Incident) bool {
		return slices.ContainsFunc(i.Actions, func(it ActionItem) bool { return it.Ticket != nil && it.Ticket.State != "closed" })
	})
	if err != nil {
		return 0, err
	}
	read := 0
	for _, inc := range incs {
		states := map[int]string{}
		for _, it := range inc.Actions {
			if it.Ticket == nil || it.Ticket.State == "closed" {
				continue
			}
			st, err := a.deps.Tickets.State(ctx, *it.Ticket)
			if err != nil {
				a.log().Warn("reading a ticket's state", "incident", inc.Number, "item", it.ID, "err", err)
				continue
			}
			read++
			states[it.ID] = st
		}
		if len(states) == 0 {
			continue
		}
		now := a.deps.Clock.Now().UTC()
		if _, err := a.deps.Store.Update(ctx, inc.Number, func(i *Incident) ([]Event, error) {
			for id, st := range states {
				if t := i.Actions[id-1].Ticket; t != nil {
					if st == "closed" && t.State != "closed" {
						t.ClosedAt = now
					}
					t.State, t.CheckedAt = st, now
				}
			}
			return nil, nil
		}); err != nil {
			return read, err
		}
	}
	return read, nil
}

// ActionStats counts action items and those done (their ticket closed).
type ActionStats struct {
	Total, Done, Ticketed int
}

// Rate is the completion rate in percent (0 when there are no items).
func (s ActionStats) Rate() int {
	if s.Total == 0 {
		return 0
	}
	return s.Done * 100 / s.Total
}

// CountActions adds up the action items of incs.
func CountActions(incs []Incident) ActionStats {
	var s ActionStats
	for _, inc := range incs {
		for _, it := range inc.Actions {
			s.Total++
			if it.Ticket != nil {
				s.Ticketed++
				if it.Ticket.State == "closed" {
					s.Done++
				}
			}
		}
	}
	return s
}

// MaxTag bounds a root-cause tag.
const MaxTag = 60

// NormaliseTag folds a root-cause tag to lowercase words joined by "-", so
// "DNS  TTL", "dns-ttl" and "DNS/TTL" match.
func NormaliseTag(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	r := []rune(b.String())
	if len(r) > MaxTag {
		r = r[:MaxTag]
	}
	return strings.TrimRight(string(r), "-")
}

// SetRootCause tags incident n's root cause. An earlier incident with the
// same tag makes n a repeat of it; later ones with the tag become repeats
// of n. It returns the incident and the earlier incidents it repeats.
func (a *App) SetRootCause(ctx context.Context, n int64, tag, actor, key string) (Incident, bool, error) {
	norm := NormaliseTag(tag)
	if norm == "" {
		return Incident{}, false, Fail(CodeBadInput, ReasonNoTag, FieldText, ErrorArgs{})
	}
	a.tagging.Lock()
	defer a.tagging.Unlock()
	cur, err := a.deps.Store.Get(ctx, n)
	if err != nil {
		return Incident{}, false, storeErr(err, SubjectRootCause)
	}
	same, err := a.deps.Store.List(ctx, func(i *Incident) bool {
		return i.Number != n && (i.RootCause == norm || slices.Contains(i.RepeatOf, n))
	})
	if err != nil {
		return Incident{}, false, storeErr(err, SubjectRootCause)
	}
	// A public incident never names a private one (its number would show
	// in replies and in the published post-mortem).
	hidden := func(o Incident, from Incident) bool { return o.Private && !from.Private }
	var earlier []int64
	for _, o := range same {
		if o.RootCause == norm && o.Number < n && !hidden(o, cur) {
			earlier = append(earlier, o.Number)
		}
	}
	now := a.deps.Clock.Now().UTC()
	inc, applied, err := a.deps.Store.Apply(ctx, n, key, func(inc *Incident) ([]Event, error) {
		// The tag flags repeats and feeds the figures: it is for those who
		// manage the incident, as the severity is.
		if err := a.mayManage(*inc, actor, ActTag); err != nil {
			return nil, err
		}
		inc.RootCause, inc.RepeatOf = norm, earlier
		ev := NewEvent(EventRootCause, actor, now, norm)
		ev.Payload = RootCausePayload{Tag: norm, RepeatOf: earlier}
		return []Event{ev}, nil
	})
	if err != nil {
		return Incident{}, false, storeErr(err, SubjectRootCause)
	}
	if !applied {
		// A replayed key: the tag is recorded already, which is success.
		return inc, false, nil
	}
	// Later incidents with the tag repeat n; those that no longer share
	// its tag do not.
	for _, o := range same {
		if o.Number < n {
			continue
		}
		want := o.RootCause == norm && !hidden(cur, o)
		if _, err := a.deps.Store.Update(ctx, o.Number, func(i *Incident) ([]Event, error) {
			i.RepeatOf = slices.DeleteFunc(i.RepeatOf, func(x int64) bool { return x == n })
			if want {
				i.RepeatOf = append(i.RepeatOf, n)
				slices.Sort(i.RepeatOf)
			}
			return nil, nil
		}); err != nil {
			a.log().Warn("flagging a repeat incident", "incident", o.Number, "of", n, "err", err)
		}
	}
	return inc, applied, nil
}

// PostmortemDone records the written post-mortem's link and stops the due
// date reminders.
func (a *App) PostmortemDone(ctx context.Context, n int64, link, actor, key string) (Incident, bool, error) {
	link = strings.Trim(strings.TrimSpace(link), "<>")
	if u, err := url.Parse(link); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Incident{}, false, Fail(CodeBadInput, ReasonNoPostmortemLink, FieldLink, ErrorArgs{Incident: n})
	}
	now := a.deps.Clock.Now().UTC()
	inc, applied, err := a.deps.Store.Apply(ctx, n, key, func(inc *Incident) ([]Event, error) {
		// Marking it written silences its reminders: for those who manage
		// the incident, as the close is.
		if err := a.mayManage(*inc, actor, ActPostmortemDone); err != nil {
			return nil, err
		}
		if inc.Status.Open() {
			return nil, Fail(CodeBadTransition, ReasonPostmortemEarly, "", ErrorArgs{Incident: inc.Number, Status: inc.Status})
		}
		inc.MarkPostmortemDone(link)
		ev := NewEvent(EventPostmortemDone, actor, now, link)
		ev.Payload = PostmortemDonePayload{URL: link}
		return []Event{ev}, nil
	})
	if err != nil {
		return Incident{}, false, storeErr(err, SubjectPostmortem)
	}
	return inc, applied, nil
}
