package playbook

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
)

// This file holds the deploy watchdog's domain: the deploys Klaxon has
// recorded (from GitHub's webhook or read at declaration), the risk flags of
// what they shipped, the suspect ranking, the heightened watch window after a
// production deploy, and the change failure rate. The use cases that read
// GitHub and post at declaration are in deploys_lookup.go.

// Defaults of the deploys.* settings.
const (
	DefaultDeployWindow   = 2 * time.Hour
	DefaultWatchWindow    = 5 * time.Minute
	DefaultLargeDiffLines = 500
	// KnownGoodLookback bounds how far before the window the previous
	// successful deploy (the rollback target) is looked for.
	KnownGoodLookback = 30 * 24 * time.Hour
)

// DefaultRiskyPaths are the changed-file patterns that flag a database
// migration or DDL (deploys.risky_paths).
var DefaultRiskyPaths = []string{"migrations/", "migrate/", "db/migrate/", "*.sql", "*.ddl", "schema.rb", "structure.sql"}

// RiskFlag is a reason a deploy is riskier than most.
type RiskFlag string

// The risk flags, in the order they are shown.
const (
	FlagMigration  RiskFlag = "migration"   // a database migration or DDL among the changed files
	FlagLargeDiff  RiskFlag = "large_diff"  // more changed lines than deploys.large_diff_lines
	FlagNoApproval RiskFlag = "no_approval" // a pull request merged without an approving review, or no pull request at all
)

// PullRequest is a pull request a deploy shipped, as far as triage cares.
type PullRequest struct {
	Number    int      `json:"number"`
	Title     string   `json:"title,omitempty"`
	Author    string   `json:"author,omitempty"`
	URL       string   `json:"url,omitempty"`
	Approvers []string `json:"approvers,omitempty"` // logins whose latest review approves
	Files     int      `json:"files"`
	// FilesMore is set when the pull request has more changed files than
	// were read (the lookup reads up to 1,000): Files and the line counts
	// are lower bounds.
	FilesMore bool `json:"files_more,omitempty"`
	Additions int  `json:"additions,omitempty"`
	Deletions int  `json:"deletions,omitempty"`
	// Risky are changed paths matching deploys.risky_paths (at most a few).
	Risky []string `json:"risky,omitempty"`
}

// DeployRecord is a deploy Klaxon has recorded. Records are kept in the
// DeployLog so the watch window and the change failure rate survive a
// restart.
type DeployRecord struct {
	Repo string `json:"repo"` // owner/name
	Deploy
	// RepoURL is the repository's web page, for compare links.
	RepoURL string `json:"repo_url,omitempty"`
	// StatusAt is when State was reported.
	StatusAt time.Time `json:"status_at,omitzero"`
	// Webhook is set when GitHub's webhook told Klaxon of this deploy.
	Webhook bool `json:"webhook,omitempty"`
	// WatchUntil ends the heightened window a successful deploy to a
	// service's environment opens (stored, so a restart keeps it).
	WatchUntil time.Time `json:"watch_until,omitzero"`
	// PRs are the pull requests the deploy shipped, once read; Detailed says
	// they were.
	PRs      []PullRequest `json:"prs,omitempty"`
	Detailed bool          `json:"detailed,omitempty"`
	Flags    []RiskFlag    `json:"flags,omitempty"`
	// Incidents are the incidents this deploy was linked to as their cause:
	// it counts as a failed change.
	Incidents []int64 `json:"incidents,omitempty"`
}

// Key names the record: repo and deployment ID.
func (d DeployRecord) Key() string { return DeployKey(d.Repo, d.ID) }

// DeployKey is the key of deployment id of repo.
func DeployKey(repo string, id int64) string {
	return fmt.Sprintf("%s#%d", strings.ToLower(repo), id)
}

// Short is the deploy's 7-character SHA.
func (d DeployRecord) Short() string { return shortSHA(d.SHA) }

// Succeeded reports whether the deploy's latest status is success.
func (d DeployRecord) Succeeded() bool { return d.State == "success" }

// DeployLog stores the deploys Klaxon knows of.
type DeployLog interface {
	// SaveDeploy applies fn to the record of deployment id of repo (the
	// zero record and found=false when there is none) and stores the
	// result, in one transaction that also records key when key is not
	// empty. A key recorded before changes nothing: the stored record is
	// returned with applied=false. If fn returns an error nothing is written.
	SaveDeploy(ctx context.Context, key, repo string, id int64, fn func(d *DeployRecord, found bool) error) (rec DeployRecord, applied bool, err error)
	// DeploysSince returns the records created (At) at or after since,
	// oldest first.
	DeploysSince(ctx context.Context, since time.Time) ([]DeployRecord, error)
}

// DeployEvent is a deploy as a webhook reports it.
type DeployEvent struct {
	Repo    string // owner/name
	RepoURL string
	Deploy  Deploy // State is empty for a deployment created without a status
	// StatusAt is when the status was reported (zero without one).
	StatusAt time.Time
}

// ServicesOf returns the configured services that deploy to env of repo.
func (a *App) ServicesOf(repo, env string) []Service {
	var out []Service
	for _, s := range a.deps.Services {
		if s.Repo != "" && strings.EqualFold(s.Repo, repo) && envOf(s) == env {
			out = append(out, s)
		}
	}
	return out
}

func (a *App) watchWindow() time.Duration {
	if a.deps.WatchWindow > 0 {
		return a.deps.WatchWindow
	}
	return DefaultWatchWindow
}

func (a *App) deployWindow() time.Duration {
	if a.deps.DeployWindow > 0 {
		return a.deps.DeployWindow
	}
	return DefaultDeployWindow
}

// RecordDeploy stores a deploy a webhook reported. key (the delivery ID)
// makes it idempotent: a redelivery records nothing twice. A newer status
// replaces an older one; the first successful status of a deploy to a
// service's environment opens that service's heightened window until
// StatusAt + WatchWindow.
func (a *App) RecordDeploy(ctx context.Context, key string, ev DeployEvent) (DeployRecord, bool, error) {
	if a.deps.DeployLog == nil {
		return DeployRecord{}, false, Fail(CodeBadInput, ReasonNoDeployLog, "", ErrorArgs{})
	}
	if ev.Repo == "" || ev.Deploy.ID == 0 {
		return DeployRecord{}, false, Fail(CodeBadInput, ReasonDeployEventPartial, "", ErrorArgs{})
	}
	watch := a.watchWindow()
	inService := len(a.ServicesOf(ev.Repo, ev.Deploy.Environment)) > 0
	return a.deps.DeployLog.SaveDeploy(ctx, key, ev.Repo, ev.Deploy.ID, func(d *DeployRecord, found bool) error {
		mergeDeploy(d, found, ev)
		d.Webhook = true
		if d.Succeeded() && inService && d.WatchUntil.IsZero() {
			at := d.StatusAt
			if at.IsZero() {
				at = d.At
			}
			d.WatchUntil = at.Add(watch)
		}
		return nil
	})
}

// mergeDeploy lays ev over the stored record: fields ev knows win, and its
// state only when it is not older than the stored one.
func mergeDeploy(d *DeployRecord, found bool, ev DeployEvent) {
	if !found {
		d.Repo = ev.Repo
	}
	in := ev.Deploy
	d.ID = in.ID
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&d.SHA, in.SHA)
	set(&d.Ref, in.Ref)
	set(&d.Environment, in.Environment)
	set(&d.Creator, in.Creator)
	set(&d.Description, in.Description)
	set(&d.URL, in.URL)
	set(&d.RepoURL, ev.RepoURL)
	if !in.At.IsZero() {
		d.At = in.At.UTC()
	}
	if in.State != "" && (d.StatusAt.IsZero() || !ev.StatusAt.Before(d.StatusAt)) {
		d.State = in.State
		d.StatusAt = ev.StatusAt.UTC()
	}
}

// OpenWindow returns the deploy whose heightened window is open for
// service at t (the newest when several are), and whether there is one.
// Alert intake uses it to lower its thresholds for that service.
func (a *App) OpenWindow(ctx context.Context, service string, t time.Time) (DeployRecord, bool, error) {
	ws, err := a.OpenWindows(ctx, t)
	if err != nil {
		return DeployRecord{}, false, err
	}
	for _, w := range ws {
		if strings.EqualFold(w.Service, service) {
			return w.Deploy, true, nil
		}
	}
	return DeployRecord{}, false, nil
}

// HeightenedWindow is a service's open heightened window.
type HeightenedWindow struct {
	Service string
	Deploy  DeployRecord
	Until   time.Time
}

// OpenWindows returns every service's open heightened window at t, the
// newest deploy per service, by service name.
func (a *App) OpenWindows(ctx context.Context, t time.Time) ([]HeightenedWindow, error) {
	if a.deps.DeployLog == nil {
		return nil, nil
	}
	// A deploy's status comes at most a day after its creation in practice.
	recs, err := a.deps.DeployLog.DeploysSince(ctx, t.Add(-a.watchWindow()-24*time.Hour))
	if err != nil {
		return nil, err
	}
	return openWindows(recs, a.deps.Services, t), nil
}

// openWindows is OpenWindows on records in hand.
func openWindows(recs []DeployRecord, services []Service, t time.Time) []HeightenedWindow {
	var out []HeightenedWindow
	for _, s := range services {
		var best *DeployRecord
		for i := range recs {
			d := &recs[i]
			if !windowOpen(*d, t) || !deploysTo(*d, s) {
				continue
			}
			if best == nil || d.WatchUntil.After(best.WatchUntil) {
				best = d
			}
		}
		if best != nil {
			out = append(out, HeightenedWindow{Service: s.Name, Deploy: *best, Until: best.WatchUntil})
		}
	}
	slices.SortFunc(out, func(x, y HeightenedWindow) int { return strings.Compare(x.Service, y.Service) })
	return out
}

func windowOpen(d DeployRecord, t time.Time) bool {
	start := d.StatusAt
	if start.IsZero() {
		start = d.At
	}
	return d.Succeeded() && !d.WatchUntil.IsZero() && !t.Before(start) && t.Before(d.WatchUntil)
}

// deploysTo reports whether d is a deploy of service s (its repo, its
// environment).
func deploysTo(d DeployRecord, s Service) bool {
	return s.Repo != "" && strings.EqualFold(d.Repo, s.Repo) && d.Environment == envOf(s)
}

// ---- risk flags

// MatchRiskyPath reports whether the changed file p matches one of the
// patterns: "dir/" matches a path with that directory (or directories, for
// "db/migrate/") anywhere in it; a pattern without a slash matches the
// file's base name ("*.sql"); any other pattern matches the whole path or a
// trailing part of it, with path.Match syntax ("db/*.sql").
func MatchRiskyPath(patterns []string, p string) bool {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return false
	}
	segs := strings.Split(p, "/")
	for _, pat := range patterns {
		pat = strings.TrimPrefix(strings.TrimSpace(pat), "/")
		if pat == "" {
			continue
		}
		if dir, isDir := strings.CutSuffix(pat, "/"); isDir {
			if dir != "" && hasDirs(segs[:len(segs)-1], strings.Split(dir, "/")) {
				return true
			}
			continue
		}
		if !strings.Contains(pat, "/") {
			if ok, _ := path.Match(pat, segs[len(segs)-1]); ok {
				return true
			}
			continue
		}
		n := strings.Count(pat, "/") + 1
		if n <= len(segs) {
			if ok, _ := path.Match(pat, strings.Join(segs[len(segs)-n:], "/")); ok {
				return true
			}
		}
	}
	return false
}

// hasDirs reports whether want appears as consecutive directories in dirs;
// each element of want may be a path.Match pattern.
func hasDirs(dirs, want []string) bool {
	for i := 0; i+len(want) <= len(dirs); i++ {
		all := true
		for j, w := range want {
			if ok, _ := path.Match(w, dirs[i+j]); !ok {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// ValidRiskyPattern reports whether pattern is usable (path.Match syntax).
func ValidRiskyPattern(pattern string) bool {
	pattern = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(pattern), "/"), "/")
	if pattern == "" {
		return false
	}
	for _, part := range strings.Split(pattern, "/") {
		if _, err := path.Match(part, ""); err != nil {
			return false
		}
	}
	return true
}

// RiskFlags computes a deploy's flags from the pull requests it shipped.
// A deploy whose PRs were read and found none shipped unreviewed code.
func RiskFlags(prs []PullRequest, detailed bool, largeDiff int) []RiskFlag {
	if !detailed {
		return nil
	}
	if largeDiff <= 0 {
		largeDiff = DefaultLargeDiffLines
	}
	var flags []RiskFlag
	lines, risky, unapproved := 0, false, len(prs) == 0
	for _, pr := range prs {
		lines += pr.Additions + pr.Deletions
		risky = risky || len(pr.Risky) > 0
		unapproved = unapproved || len(pr.Approvers) == 0
	}
	if risky {
		flags = append(flags, FlagMigration)
	}
	if lines > largeDiff {
		flags = append(flags, FlagLargeDiff)
	}
	if unapproved {
		flags = append(flags, FlagNoApproval)
	}
	return flags
}

// ---- suspect ranking

// Verdict says why a deploy is or is not a suspect.
type Verdict string

// The verdicts, in the order of the ranking.
const (
	VerdictSuspect        Verdict = "suspect"         // the most likely cause
	VerdictCandidate      Verdict = "candidate"       // a successful new version before detection
	VerdictRejected       Verdict = "rejected"        // someone said "Not this one"
	VerdictRedeploy       Verdict = "redeploy"        // a version live before (a rollback or a re-run)
	VerdictNotLive        Verdict = "not_live"        // failed, pending or inactive: never served traffic
	VerdictAfterDetection Verdict = "after_detection" // came after the incident was detected
)

// Ranked is a deploy in the ranking, with the rollback hint for successful
// new versions.
type Ranked struct {
	DeployRecord
	Verdict Verdict
	// KnownGood is the previous successful deploy of another commit to the
	// same repo and environment, the rollback target; CompareURL compares
	// it with this one.
	KnownGood  *Deploy
	CompareURL string
}

// RankDeploys orders the deploys created in [from, until] for triage. The
// first is the suspect when its verdict is VerdictSuspect: the newest
// successful deploy of a new version before detected; among deploys of
// the same minute the one with more risk flags comes first. Then the other
// candidates, the rejected ones, redeploys, deploys that never went live,
// and deploys after detection, each group newest first. older holds any
// deploys before from (up to KnownGoodLookback) for the rollback hints and
// to tell a redeploy; rejected holds DeployKeys.
func RankDeploys(deploys []DeployRecord, from, detected, until time.Time, rejected []string) []Ranked {
	all := slices.Clone(deploys)
	slices.SortStableFunc(all, func(x, y DeployRecord) int { return y.At.Compare(x.At) })
	var out []Ranked
	for i, d := range all {
		if d.At.Before(from) || d.At.After(until) {
			continue
		}
		r := Ranked{DeployRecord: d}
		switch {
		case d.At.After(detected):
			r.Verdict = VerdictAfterDetection
		case !d.Succeeded():
			r.Verdict = VerdictNotLive
		case liveBeforeIn(all[i+1:], d):
			r.Verdict = VerdictRedeploy
		case slices.Contains(rejected, d.Key()):
			r.Verdict = VerdictRejected
		default:
			r.Verdict = VerdictCandidate
		}
		if d.Succeeded() {
			r.KnownGood = knownGoodIn(all[i+1:], d)
			if r.KnownGood != nil && d.RepoURL != "" {
				r.CompareURL = d.RepoURL + "/compare/" + r.KnownGood.SHA + "..." + d.SHA
			}
		}
		out = append(out, r)
	}
	order := map[Verdict]int{VerdictCandidate: 0, VerdictRejected: 1, VerdictRedeploy: 2, VerdictNotLive: 3, VerdictAfterDetection: 4}
	slices.SortStableFunc(out, func(x, y Ranked) int {
		if c := order[x.Verdict] - order[y.Verdict]; c != 0 {
			return c
		}
		if x.Verdict == VerdictCandidate {
			mx, my := x.At.Truncate(time.Minute), y.At.Truncate(time.Minute)
			if mx.Equal(my) {
				return len(y.Flags) - len(x.Flags)
			}
		}
		return y.At.Compare(x.At)
	})
	if len(out) > 0 && out[0].Verdict == VerdictCandidate {
		out[0].Verdict = VerdictSuspect
	}
	return out
}

func sameTarget(a, b DeployRecord) bool {
	return strings.EqualFold(a.Repo, b.Repo) && a.Environment == b.Environment
}

// liveBeforeIn reports whether d's commit was deployed successfully to the
// same target in older (newest first).
func liveBeforeIn(older []DeployRecord, d DeployRecord) bool {
	for _, o := range older {
		if sameTarget(o, d) && o.SHA == d.SHA && o.Succeeded() {
			return true
		}
	}
	return false
}

func knownGoodIn(older []DeployRecord, d DeployRecord) *Deploy {
	for _, o := range older {
		if sameTarget(o, d) && o.Succeeded() && o.SHA != d.SHA && !o.At.Before(d.At.Add(-KnownGoodLookback)) {
			k := o.Deploy
			return &k
		}
	}
	return nil
}

// ---- change failure rate

// CFR is a service's change failure rate over a window.
type CFR struct {
	Service string
	// Deploys counts successful deploys to the service's environment in the
	// window; Failed those of them linked to an incident.
	Deploys, Failed int
}

// Rate is Failed/Deploys, and false when there were no deploys (a rate of
// nothing is not 0%).
func (c CFR) Rate() (float64, bool) {
	if c.Deploys == 0 {
		return 0, false
	}
	return float64(c.Failed) / float64(c.Deploys), true
}

// ChangeFailureRates computes, per service with a repo, the change failure
// rate of the successful deploys created in [from, to). A redeploy of the
// same commit counts once per deployment, as the deploy tool ran it.
func ChangeFailureRates(recs []DeployRecord, services []Service, from, to time.Time) []CFR {
	var out []CFR
	for _, s := range services {
		if s.Repo == "" {
			continue
		}
		c := CFR{Service: s.Name}
		for _, d := range recs {
			if !deploysTo(d, s) || !d.Succeeded() && len(d.Incidents) == 0 || d.At.Before(from) || !d.At.Before(to) {
				continue
			}
			c.Deploys++
			if len(d.Incidents) > 0 {
				c.Failed++
			}
		}
		out = append(out, c)
	}
	return out
}

// ChangeFailureRates reads the stored deploys and computes each service's
// change failure rate over [from, to).
func (a *App) ChangeFailureRates(ctx context.Context, from, to time.Time) ([]CFR, error) {
	if a.deps.DeployLog == nil {
		return nil, nil
	}
	recs, err := a.deps.DeployLog.DeploysSince(ctx, from)
	if err != nil {
		return nil, err
	}
	return ChangeFailureRates(recs, a.deps.Services, from, to), nil
}

// watchedDeploy returns the deploy whose heightened window is open for
// service at now, or nil. A failure to read the log only loses the link.
func (a *App) watchedDeploy(ctx context.Context, service string, now time.Time) *DeployRecord {
	if service == "" || a.deps.DeployLog == nil {
		return nil
	}
	d, ok, err := a.OpenWindow(ctx, service, now)
	if err != nil {
		a.log().Warn("reading the deploy watch windows", "service", service, "err", err)
		return nil
	}
	if !ok {
		return nil
	}
	return &d
}

// linkWatched links a deploy whose window was open at the declaration to
// the new incident as its cause.
func linkWatched(inc *Incident, d *DeployRecord, now time.Time) []Event {
	if d == nil {
		return nil
	}
	inc.Deploys = &DeployFinding{
		Suspect:   &DeployRef{Repo: d.Repo, Deploy: d.Deploy, Flags: d.Flags},
		Confirmed: true, ConfirmedBy: ActorKlaxon, ConfirmedAt: now, Watchdog: true,
	}
	ev := NewEvent(EventDeployLinked, ActorKlaxon, now, "")
	ev.Payload = DeployRefPayload{Repo: d.Repo, SHA: d.SHA, Key: d.Key(), Watchdog: true}
	return []Event{ev}
}
