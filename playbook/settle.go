package playbook

import "context"

// settleSeverity re-renders what SetUp posted with the severity it started
// with (topic, pinned intro, announcement) when the severity changed while
// it ran: the change's own edits may have come before these were posted.
func (a *App) settleSeverity(ctx context.Context, rendered Severity, inc Incident) {
	if inc.Severity == rendered || !inc.Done(StepChannel) {
		return
	}
	err := parallel(
		func() error { return a.deps.Channels.SetTopic(ctx, a.Briefing(inc)) },
		func() error { return a.refresh(ctx, inc.Number, PartIntro|PartAnnouncement) },
	)
	if err != nil {
		a.log().Warn("re-rendering the setup after a severity change", "incident", inc.Number, "err", err)
	}
}
