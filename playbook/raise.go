package playbook

import (
	"context"
	"time"
)

// This file holds the page a severity change owes: raising an open
// incident from a tier that pages nobody (SEV3, SEV4 by default) to one
// with page: true pages the service's on-call exactly as a declaration at
// that tier would have (pageAtDeclaration: the PagerDuty incident with the
// same incident_key, adopted if open; the link; the on-call invited; one
// page event per person), or the owners in Slack without PagerDuty.
//
// The page is owed once per incident: it is left pending (Paging.Pending)
// in the transaction that records the change, so a redelivered command
// changes nothing, and a restart before the page is sent finds it pending
// (resumePaging); once sent (Paging.Sent) or while a PagerDuty incident
// exists, another raise pages nobody. Lowering the severity un-pages
// nobody, and a change between two paging tiers (SEV2 → SEV1) only
// re-plans the escalation steps (Retime).
//
// Detection: when the incident was already acknowledged before the raise
// (by its declarer, who noticed the problem), Detection keeps ending there,
// and the raise page's acknowledgement is recorded beside it (who, and how
// long after the page). When nothing was acknowledged before, the page's
// acknowledgement ends Detection, as at declaration. Either way the
// escalation steps' "unacknowledged" condition follows the raise page until
// someone acknowledges it (Paging.AwaitingAck).

// raisePage decides, in the severity change's transaction (inc already at
// its new severity), whether the change from the tier from owes a page, and
// if so leaves it pending. It reports whether it did.
func (a *App) raisePage(inc *Incident, from Severity, now time.Time) bool {
	if !inc.Status.Open() || inc.Service == "" || a.matrixTier(from).Page || !a.matrixTier(inc.Severity).Page {
		return false
	}
	if p := inc.Paging; p != nil && (p.Pending || p.Sent || p.PD.ID != "") {
		return false // paged already, or the page is still owed
	}
	svc, _ := a.Service(inc.Service)
	if !a.onPagerDuty(svc) && !a.ownersKnowable(svc) {
		return false
	}
	if inc.Paging == nil {
		inc.Paging = &Paging{}
	}
	p := inc.Paging
	p.Key = pageKey(inc)
	p.Pending = true
	p.Raised = now.UTC()
	// Someone already acknowledged a page (a manual one): Acknowledge
	// keeps the first, so nobody would end the wait.
	p.AwaitingAck = p.AckedBy == ""
	// The owning team's notice of a tier that pages nobody is superseded
	// by the page, unless its GitHub issue may already be filed (then it
	// is adopted, as a restart would).
	if p.Notify && p.OwnerFiling.IsZero() {
		p.Notify = false
	}
	return true
}

// pageRaised sends the page a severity change left pending. A failure
// (PagerDuty unreachable) is reported in the channel with the Retry button
// and retried at the next start, as a declaration page is. Before the
// incident has its channel (a raise while the declaration is still being
// set up), the setup sends it with the channel's other steps.
func (a *App) pageRaised(ctx context.Context, inc Incident) {
	if !inc.Done(StepChannel) {
		return
	}
	if err := a.pageAtDeclaration(ctx, inc.Number); err != nil {
		a.log().Warn("paging after a severity change", "incident", inc.Number, "err", err)
		a.reportFailures(ctx, inc.Number, inc.Channel.ID, map[Step]error{StepPage: err})
	}
}

// pageUnacknowledged reports whether the incident waits for a page's
// acknowledgement: nothing acknowledged yet, or a raise page that nobody
// has acknowledged (an earlier acknowledgement ended Detection, not this
// wait).
func (inc *Incident) pageUnacknowledged() bool {
	if inc.Paging != nil && inc.Paging.AwaitingAck {
		return true
	}
	_, acked := inc.At(PhaseAcknowledged)
	return !acked
}

// PageAckDelay is how long the page took to be acknowledged: from the raise
// for a page a severity change sent (Detection had ended before it), else
// the time to acknowledge (TimeToAcknowledge).
func (inc Incident) PageAckDelay() (time.Duration, bool) {
	if p := inc.Paging; p != nil && !p.Raised.IsZero() && !p.AckedAt.IsZero() && p.AckKept {
		return max(p.AckedAt.Sub(p.Raised), 0), true
	}
	return inc.TimeToAcknowledge()
}
