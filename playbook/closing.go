package playbook

import (
	"context"
	"errors"
	"fmt"
	"path"
	"time"
)

// CloseRequest is a close as a person asked for it.
type CloseRequest struct {
	Key   string
	Actor string
	// Tag, when set, is the root-cause tag (see SetRootCause).
	Tag string
}

// Close closes resolved incident n: the closed timestamp and the close steps
// to come (outline uploaded, published, channel archived now or after
// ArchiveDelay) are recorded in one transaction; FinishClose then does them.
func (a *App) Close(ctx context.Context, n int64, req CloseRequest) (Incident, bool, error) {
	cur, err := a.deps.Store.Get(ctx, n)
	if err != nil {
		return Incident{}, false, storeErr(err, SubjectClose)
	}
	// The tag comes first (SetRootCause authorises it itself); only for an
	// incident that can be closed, so a refused close tags nothing.
	if req.Tag != "" && cur.Status == StatusResolved {
		if _, _, err := a.SetRootCause(ctx, n, req.Tag, req.Actor, req.Key+":tag"); err != nil {
			return Incident{}, false, err
		}
	}
	now := a.deps.Clock.Now().UTC()
	inc, applied, err := a.deps.Store.Apply(ctx, n, req.Key, func(inc *Incident) ([]Event, error) {
		if err := a.mayManage(*inc, req.Actor, ActClose); err != nil {
			return nil, err
		}
		if inc.Status.Open() {
			return nil, Fail(CodeBadTransition, ReasonCloseBeforeAllClear, "", ErrorArgs{Incident: inc.Number, Status: inc.Status})
		}
		if inc.Status == StatusClosed {
			return nil, Fail(CodeBadTransition, ReasonAlreadyClosed, "", ErrorArgs{Incident: inc.Number})
		}
		if err := inc.Transition(StatusClosed, now); err != nil {
			return nil, err
		}
		inc.Closure = &Closure{By: req.Actor, At: now}
		if a.deps.ArchiveDelay > 0 {
			inc.Timers.ArchiveDue = now.Add(a.deps.ArchiveDelay)
		}
		return []Event{NewEvent(EventClosed, req.Actor, now, "Closed")}, nil
	})
	if err != nil {
		return Incident{}, false, storeErr(err, SubjectClose)
	}
	if applied {
		a.Wake()
	}
	return inc, applied, nil
}

// CloseResult says how the close steps went.
type CloseResult struct {
	Incident Incident
	Failed   map[string]error
	// NotPublished names the post-mortems repo a private incident's
	// outline was not published to (empty otherwise).
	NotPublished string
}

// Close steps, as named in CloseResult.Failed.
const (
	CloseUpload  = "upload"
	ClosePublish = "publish"
	CloseArchive = "archive"
)

// FinishClose does what is left of closing incident n: render the outline
// and upload it to the channel, publish it to the post-mortems repo, and
// archive the channel (unless archiving is delayed). Each finished step is
// stored at once, so a second call resumes and repeats nothing; the channel
// is archived only once the outline is in it. Steps that failed
// MaxStepAttempts times are skipped unless force.
func (a *App) FinishClose(ctx context.Context, n int64, force bool) (CloseResult, error) {
	mu := a.lockOf(&a.closing, n)
	mu.Lock()
	defer mu.Unlock()
	inc, err := a.deps.Store.Get(ctx, n)
	if err != nil {
		return CloseResult{}, err
	}
	res := CloseResult{Incident: inc, Failed: map[string]error{}}
	if inc.Status != StatusClosed || inc.Closure == nil {
		return res, nil
	}
	if inc, err = a.closedTopic(ctx, inc); err != nil {
		return res, err
	}
	c := *inc.Closure
	// A channel archived by hand before the outline was in it gets it by DM
	// (see uploadOutline).
	wantUpload := c.File == "" && a.deps.Closing != nil && (force || c.UploadFailures < MaxStepAttempts)
	wantPublish := c.Published == "" && a.deps.PostmortemRepo != nil && a.deps.PostmortemsRepo != "" && !inc.Private && (force || c.PublishFailures < MaxStepAttempts)
	if inc.Private && a.deps.PostmortemRepo != nil && a.deps.PostmortemsRepo != "" {
		res.NotPublished = a.deps.PostmortemsRepo
	}
	var md []byte
	var events int
	if wantUpload || wantPublish {
		md, events, err = a.RenderOutline(ctx, inc)
		if err != nil {
			res.Failed[CloseUpload] = err
			return res, nil
		}
	}
	if wantUpload {
		inc, err = a.uploadOutline(ctx, inc, md, events, &res)
		if err != nil {
			return res, err
		}
	}
	if wantPublish {
		inc, err = a.publishOutline(ctx, inc, md, &res)
		if err != nil {
			return res, err
		}
	}
	if inc.Timers.ArchiveDue.IsZero() && inc.Closure.Archived.IsZero() && a.deps.Closing != nil && inc.Closure.File != "" && inc.Channel.ID != "" &&
		(force || inc.Closure.ArchiveFailures < MaxStepAttempts) {
		inc, err = a.archive(ctx, inc, &res)
		if err != nil {
			return res, err
		}
	}
	res.Incident = inc
	return res, nil
}

// closedTopic sets a closed incident's topic (its status) once, while the
// channel is still open: FinishClose archives it next, or later with
// ArchiveDelay. One try: an archived channel's topic is not worth a retry.
func (a *App) closedTopic(ctx context.Context, inc Incident) (Incident, error) {
	if inc.Timers.TopicDue.IsZero() {
		return inc, nil
	}
	if inc.Channel.ID != "" && inc.Closure.Archived.IsZero() {
		if err := a.deps.Channels.SetTopic(ctx, a.Briefing(inc)); err != nil {
			a.log().Warn("setting the topic of a closed incident", "incident", inc.Number, "err", err)
		}
	}
	return a.deps.Store.Update(ctx, inc.Number, func(i *Incident) ([]Event, error) {
		i.Timers.TopicDue = time.Time{}
		return nil, nil
	})
}

// RenderOutline renders incident inc's post-mortem outline from the store,
// and says how many timeline events it covers.
func (a *App) RenderOutline(ctx context.Context, inc Incident) ([]byte, int, error) {
	if a.deps.RenderPostmortem == nil {
		return nil, 0, fmt.Errorf("no post-mortem template is wired")
	}
	events, err := a.deps.Store.Timeline(ctx, inc.Number)
	if err != nil {
		return nil, 0, fmt.Errorf("reading the timeline: %w", err)
	}
	events = a.withPagerDutyLog(ctx, inc, events)
	var names map[string]string
	if a.deps.People != nil {
		names = a.deps.People.Names(ctx, PostmortemParticipants(inc, events))
	}
	pm := a.BuildPostmortem(inc, events, names, a.deps.Clock.Now())
	a.addPostmortemDeploys(ctx, inc, &pm, names)
	md, err := a.deps.RenderPostmortem(pm)
	if err != nil {
		return nil, 0, fmt.Errorf("rendering the post-mortem outline: %w", err)
	}
	return md, len(events), nil
}

// OutlineName is the file name of incident inc's outline.
func OutlineName(inc Incident) string {
	return fmt.Sprintf("inc-%d-postmortem.md", inc.Number)
}

func (a *App) uploadOutline(ctx context.Context, inc Incident, md []byte, events int, res *CloseResult) (Incident, error) {
	target, err := a.outlineTarget(ctx, inc)
	if err != nil {
		res.Failed[CloseUpload] = err
		return inc, nil
	}
	share := OutlineShare{Incident: inc.Number, Where: OutlineInChannel}
	switch {
	case inc.Channel.ID == "":
		share.Where = OutlineNoChannel
	case target != inc.Channel.ID:
		share.Where = OutlineArchived
	}
	if d := inc.Timers.PostmortemDue; !d.IsZero() && !inc.Timers.PostmortemDone {
		share.PostmortemDue = d
	}
	if share.Where == OutlineInChannel {
		share.ArchiveAt = inc.Timers.ArchiveDue
		share.ArchiveNow = share.ArchiveAt.IsZero()
	}
	id, uerr := "", error(nil)
	// An earlier attempt got as far as sharing: if the share happened
	// (its answer was lost, or Klaxon stopped before recording it), that
	// file is the outline; no second one is uploaded.
	if prev := inc.Closure.Uploading; prev != "" {
		shared, err := a.deps.Closing.Shared(ctx, target, prev)
		switch {
		case err != nil:
			uerr = fmt.Errorf("checking the earlier upload %s: %w", prev, err)
		case shared:
			id = prev
		}
	}
	if id == "" && uerr == nil {
		id, uerr = a.deps.Closing.Upload(ctx, target, PostmortemFile{
			Name: OutlineName(inc), Content: md, Share: share,
		}, func(fileID string) error {
			_, err := a.deps.Store.Update(ctx, inc.Number, func(i *Incident) ([]Event, error) {
				i.Closure.Uploading = fileID
				return nil, nil
			})
			return err
		})
	}
	if errors.Is(uerr, ErrChannelGone) && target == inc.Channel.ID {
		// Archived (or deleted) by hand: record it, and send the outline
		// to the commander instead.
		if inc, err = a.channelGone(ctx, inc); err != nil {
			return inc, err
		}
		return a.uploadOutline(ctx, inc, md, events, res)
	}
	now := a.deps.Clock.Now().UTC()
	inc, err = a.deps.Store.Update(ctx, inc.Number, func(i *Incident) ([]Event, error) {
		if uerr != nil {
			i.Closure.UploadFailures++
			return nil, nil
		}
		i.Closure.File, i.Closure.Uploading, i.Closure.PostmortemBytes, i.Closure.PostmortemEvents = id, "", len(md), events
		ev := NewEvent(EventPostmortemShared, ActorKlaxon, now, "")
		ev.Payload = SharedPayload{Upload: true, File: id}
		return []Event{ev}, nil
	})
	if uerr != nil {
		a.log().Warn("uploading the post-mortem outline", "incident", inc.Number, "err", uerr)
		res.Failed[CloseUpload] = uerr
	}
	return inc, err
}

func (a *App) publishOutline(ctx context.Context, inc Incident, md []byte, res *CloseResult) (Incident, error) {
	adopt := !inc.Closure.Publishing.IsZero()
	now := a.deps.Clock.Now().UTC()
	inc, err := a.deps.Store.Update(ctx, inc.Number, func(i *Incident) ([]Event, error) {
		i.Closure.Publishing = now
		return nil, nil
	})
	if err != nil {
		return inc, err
	}
	dir := a.deps.PostmortemsPath
	if dir == "" {
		dir = "postmortems"
	}
	declared := inc.DeclaredAt()
	link, perr := a.deps.PostmortemRepo.Publish(ctx, PostmortemDoc{
		Repo:     a.deps.PostmortemsRepo,
		Path:     path.Join(dir, fmt.Sprintf("%s-inc-%d-%s.md", declared.Format("2006-01-02"), inc.Number, Slug(inc.Title, 40))),
		Title:    truncate(fmt.Sprintf("Post-mortem: #%d %s", inc.Number, oneLine(inc.Title, 200)), 250),
		Markdown: md,
		Marker:   fmt.Sprintf("klaxon-postmortem-incident-%d", inc.Number),
		Adopt:    adopt,
	})
	now = a.deps.Clock.Now().UTC()
	inc, err = a.deps.Store.Update(ctx, inc.Number, func(i *Incident) ([]Event, error) {
		if perr != nil {
			i.Closure.PublishFailures++
			return nil, nil
		}
		i.Closure.Published = link
		ev := NewEvent(EventPostmortemShared, ActorKlaxon, now, "")
		ev.Payload = SharedPayload{Repo: a.deps.PostmortemsRepo, URL: link}
		return []Event{ev}, nil
	})
	if perr != nil {
		a.log().Warn("publishing the post-mortem outline", "incident", inc.Number, "err", perr)
		res.Failed[ClosePublish] = perr
	}
	return inc, err
}

// archiveRetry is the wait before a failed delayed archive is tried again.
const archiveRetry = time.Minute

func (a *App) archive(ctx context.Context, inc Incident, res *CloseResult) (Incident, error) {
	aerr := a.deps.Closing.Archive(ctx, inc.Channel.ID)
	now := a.deps.Clock.Now().UTC()
	inc, err := a.deps.Store.Update(ctx, inc.Number, func(i *Incident) ([]Event, error) {
		if aerr != nil {
			i.Closure.ArchiveFailures++
			return nil, nil
		}
		i.Closure.Archived = now
		return []Event{NewEvent(EventArchived, ActorKlaxon, now, "Channel archived")}, nil
	})
	if aerr != nil {
		a.log().Warn("archiving the channel", "incident", inc.Number, "err", aerr)
		res.Failed[CloseArchive] = aerr
	}
	return inc, err
}

// fireArchive handles a due ArchiveDue inside the scheduler's transaction:
// it clears the deadline and says whether to archive now.
func (inc *Incident) fireArchive(now time.Time) bool {
	if inc.Timers.ArchiveDue.IsZero() || now.Before(inc.Timers.ArchiveDue) {
		return false
	}
	inc.Timers.ArchiveDue = time.Time{}
	// The channel stays open until the outline is in it: FinishClose
	// archives it right after a successful (re)upload instead.
	return inc.Closure != nil && inc.Closure.Archived.IsZero() && inc.Closure.File != ""
}

// archiveDue archives the channels whose delayed archive came due. One that
// fails is tried again a minute later, up to MaxStepAttempts times.
func (a *App) archiveDue(ctx context.Context, incs []Incident) {
	for _, inc := range incs {
		if a.deps.Closing == nil {
			return
		}
		res := CloseResult{Failed: map[string]error{}}
		mu := a.lockOf(&a.closing, inc.Number)
		mu.Lock()
		after, err := a.archive(ctx, inc, &res)
		mu.Unlock()
		if err != nil {
			a.log().Error("recording an archive", "incident", inc.Number, "err", err)
			continue
		}
		if res.Failed[CloseArchive] != nil && after.Closure.ArchiveFailures < MaxStepAttempts {
			if _, err := a.deps.Store.Update(ctx, inc.Number, func(i *Incident) ([]Event, error) {
				i.Timers.ArchiveDue = a.deps.Clock.Now().UTC().Add(archiveRetry)
				return nil, nil
			}); err != nil {
				a.log().Error("rescheduling an archive", "incident", inc.Number, "err", err)
			}
		}
	}
}

// closeUnfinished reports whether a closed incident has close steps left
// (Resume finishes them).
func closeUnfinished(i *Incident) bool {
	if i.Status != StatusClosed || i.Closure == nil {
		return false
	}
	c := i.Closure
	return (c.File == "" && c.UploadFailures < MaxStepAttempts) ||
		(c.Archived.IsZero() && i.Timers.ArchiveDue.IsZero() && c.ArchiveFailures < MaxStepAttempts && i.Channel.ID != "")
}
