package playbook

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// ParseRemedy reads an option as a person types it: "flag", "feature-flag",
// "cutover", "traffic", "rollback", "hotfix", "data", or the option's name.
func ParseRemedy(s string) (Remedy, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.NewReplacer("-", "_", " ", "_").Replace(s)
	switch s {
	case "flag", "feature_flag", "featureflag", "flags", "kill_switch":
		return RemedyFlag, true
	case "cutover", "traffic", "traffic_cutover", "failover":
		return RemedyCutover, true
	case "rollback", "roll_back", "revert":
		return RemedyRollback, true
	case "hotfix", "fix", "fix_forward":
		return RemedyHotfix, true
	case "data", "data_remediation", "backfill":
		return RemedyData, true
	}
	return "", false
}

// ValidRemedy reports whether r is a remediation option.
func ValidRemedy(r Remedy) bool { return slices.Contains(Remedies, r) }

// Guidance is what a person sees after choosing a remediation option.
type Guidance struct {
	Option  Remedy
	Service Service
	// Started is true when this choice started the remediation phase.
	Started bool
	// FlagURL, CutoverURL come from the service's config; HotfixReviewURL
	// from remediation.hotfix_review_url.
	FlagURL, CutoverURL, HotfixReviewURL string
	// For a rollback: the suspect deploy (the newest in the two hours before
	// detection or since) and the previous known-good one, when GitHub has
	// them. Missing says why they are not, if they are not: then
	// DeploysErr is the lookup's error in one line (MissingReadFailed), and
	// Since and Environment the window searched (MissingNoNewDeploy).
	Suspect, KnownGood *Deploy
	Recent             []Deploy
	Missing            DeploysMissing
	DeploysErr         string
	Since              time.Time
	Environment        string
	// Confirmed: the suspect was linked to the incident as its cause;
	// CompareURL compares the known-good commit with the suspect's.
	Confirmed  bool
	CompareURL string
	// AskValidationPlan is set for a data remediation.
	AskValidationPlan bool
}

// DeploysMissing says why a rollback's guidance names no suspect deploy.
type DeploysMissing string

// Why the deploys are missing.
const (
	MissingGitHubOff   DeploysMissing = "github_off"    // GitHub is not configured
	MissingNoRepo      DeploysMissing = "no_repo"       // the service names no repo
	MissingReadFailed  DeploysMissing = "read_failed"   // GitHub refused or failed
	MissingNoNewDeploy DeploysMissing = "no_new_deploy" // nothing new went out in the window
)

// SuspectWindow is how far before detection a deploy counts as suspect.
const SuspectWindow = 2 * time.Hour

// remedyDoubleClick is how close two identical choices by one person are
// taken as one.
const remedyDoubleClick = 10 * time.Second

// deployLimit bounds the deploys read per rollback lookup.
const deployLimit = 20

// Remediate records that actor chose option opt for incident n: the
// remediation phase starts (if it had not), a timeline event is written, and
// the option's guidance is returned. key makes it idempotent; a repeated key
// returns the guidance again and records nothing.
func (a *App) Remediate(ctx context.Context, n int64, opt Remedy, actor, key string) (Incident, Guidance, bool, error) {
	if !ValidRemedy(opt) {
		return Incident{}, Guidance{}, false, Fail(CodeBadInput, ReasonNoRemediation, FieldKind, ErrorArgs{})
	}
	now := a.deps.Clock.Now().UTC()
	started, dup := false, false
	inc, applied, err := a.deps.Store.Apply(ctx, n, key, func(inc *Incident) ([]Event, error) {
		if !inc.Status.Open() {
			return nil, Fail(CodeBadTransition, ReasonNothingToRemediate, "", ErrorArgs{Incident: inc.Number, Status: inc.Status})
		}
		// The same person choosing the same option again within seconds
		// is a double click (each click has its own action timestamp).
		if k := len(inc.Remediations); k > 0 {
			last := inc.Remediations[k-1]
			if last.Option == opt && last.By == actor && now.Sub(last.At) < remedyDoubleClick {
				dup = true
				return nil, nil
			}
		}
		_, had := inc.At(PhaseMitigationStarted)
		if inc.Status == StatusInvestigating {
			if err := inc.Transition(StatusMitigating, now); err != nil {
				return nil, err
			}
		}
		_, has := inc.At(PhaseMitigationStarted)
		started = !had && has
		inc.Remediations = append(inc.Remediations, Remediation{Option: opt, By: actor, At: now})
		ev := NewEvent(EventRemediation, actor, now, "")
		ev.Payload = RemediationPayload{Option: opt}
		return []Event{ev}, nil
	})
	if err != nil {
		return Incident{}, Guidance{}, false, storeErr(err, SubjectRemediation)
	}
	applied = applied && !dup
	svc, _ := a.Service(inc.Service)
	g := Guidance{Option: opt, Service: svc, Started: started && applied, FlagURL: svc.FlagURL, CutoverURL: svc.CutoverURL, HotfixReviewURL: a.deps.HotfixReviewURL}
	switch opt {
	case RemedyRollback:
		a.rollbackGuidance(ctx, &inc, &g)
	case RemedyData:
		g.AskValidationPlan = true
	}
	return inc, g, applied, nil
}

// rollbackGuidance reads the service's deploys and names the suspect and
// the previous known-good one; the suspect goes on the timeline once.
func (a *App) rollbackGuidance(ctx context.Context, inc *Incident, g *Guidance) {
	// One source of truth: the suspect the deploy lookup (or the watchdog,
	// or a person) stored is the one to roll back.
	if f := inc.Deploys; f != nil && f.Suspect != nil {
		s := f.Suspect.Deploy
		g.Suspect, g.KnownGood, g.Confirmed = &s, f.Suspect.KnownGood, f.Confirmed
		g.CompareURL = f.Suspect.CompareURL
		return
	}
	switch {
	case a.deps.Deploys == nil:
		g.Missing = MissingGitHubOff
		return
	case g.Service.Repo == "":
		g.Missing = MissingNoRepo
		return
	}
	deploys, err := a.deps.Deploys.Recent(ctx, g.Service, deployLimit)
	if err != nil {
		a.log().Warn("reading deploys", "incident", inc.Number, "repo", g.Service.Repo, "err", err)
		g.Missing, g.DeploysErr = MissingReadFailed, oneLine(err.Error(), 200)
		return
	}
	since := inc.Times[PhaseDetected]
	if since.IsZero() {
		since = inc.DeclaredAt()
	}
	// Deploys after remediation started are the remediation (a rollback
	// itself), not its cause.
	until := a.deps.Clock.Now().UTC()
	if t, ok := inc.At(PhaseMitigationStarted); ok {
		until = t
	}
	g.Suspect, g.KnownGood, g.Recent = SuspectDeploys(deploys, since.Add(-SuspectWindow), until)
	if g.Suspect == nil {
		g.Missing, g.Since, g.Environment = MissingNoNewDeploy, since.Add(-SuspectWindow), envOf(g.Service)
		return
	}
	s := *g.Suspect
	now := a.deps.Clock.Now().UTC()
	_, _, err = a.deps.Store.Apply(ctx, inc.Number, fmt.Sprintf("suspect:%d:%d", inc.Number, s.ID), func(i *Incident) ([]Event, error) {
		if i.Deploys == nil || i.Deploys.Suspect == nil {
			// Stored, so the deploys message and later rollbacks agree.
			if i.Deploys == nil {
				i.Deploys = &DeployFinding{}
			}
			i.Deploys.Suspect = &DeployRef{Repo: g.Service.Repo, Deploy: s, KnownGood: g.KnownGood}
		}
		ev := NewEvent(EventSuspectDeploy, ActorKlaxon, now, "")
		ev.At = s.At.UTC()
		sp := SuspectPayload{SHA: s.SHA, Ref: s.Ref, Creator: s.Creator, URL: s.URL, State: s.State}
		if g.KnownGood != nil {
			sp.KnownGood = g.KnownGood.SHA
		}
		ev.Payload = sp
		return []Event{ev}, nil
	})
	if err != nil {
		a.log().Warn("recording the suspect deploy", "incident", inc.Number, "err", err)
	}
}

// SuspectDeploys picks, from deploys newest first, the suspect: the newest
// successful deploy between since and until that brought a new version (a
// redeploy of a version live before, such as a rollback, is not suspect);
// and the known-good one to roll back to: the newest successful deploy
// before the suspect with another commit. recent are the deploys between
// since and until, whatever their state.
func SuspectDeploys(deploys []Deploy, since, until time.Time) (suspect, knownGood *Deploy, recent []Deploy) {
	at := -1
	for i, d := range deploys {
		if d.At.After(until) {
			continue
		}
		if d.At.Before(since) {
			break
		}
		recent = append(recent, d)
		if at < 0 && d.State == "success" && !liveBefore(deploys[i+1:], d.SHA) {
			at = i
		}
	}
	if at < 0 {
		return nil, nil, recent
	}
	s := deploys[at]
	suspect = &s
	for _, d := range deploys[at+1:] {
		if d.State == "success" && d.SHA != s.SHA {
			k := d
			knownGood = &k
			break
		}
	}
	return suspect, knownGood, recent
}

// liveBefore reports whether sha was successfully deployed in older.
func liveBefore(older []Deploy, sha string) bool {
	for _, d := range older {
		if d.SHA == sha && d.State == "success" {
			return true
		}
	}
	return false
}

func envOf(s Service) string {
	if s.DeployEnvironment != "" {
		return s.DeployEnvironment
	}
	return "production"
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// oneLine flattens s to one line of at most n runes, for a message.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n-1]) + "…"
	}
	return s
}

// Mitigate records that the impact stopped (the mitigated timestamp).
func (a *App) Mitigate(ctx context.Context, n int64, actor, key string) (Incident, bool, error) {
	now := a.deps.Clock.Now().UTC()
	inc, applied, err := a.deps.Store.Apply(ctx, n, key, func(inc *Incident) ([]Event, error) {
		if inc.Status == StatusMitigated {
			return nil, Fail(CodeBadTransition, ReasonAlreadyMitigated, "", ErrorArgs{Incident: inc.Number})
		}
		if !inc.Status.Open() {
			return nil, Fail(CodeBadTransition, ReasonCannotMitigate, "", ErrorArgs{Incident: inc.Number, Status: inc.Status})
		}
		skipped, err := inc.TransitionSkipping(StatusMitigated, now)
		if err != nil {
			return nil, err
		}
		ev := NewEvent(EventStatusChanged, actor, now, "")
		ev.Payload = StatusPayload{To: StatusMitigated, Skipped: skipped, Why: WhyImpactStopped}
		return []Event{ev}, nil
	})
	if err != nil {
		return Incident{}, false, storeErr(err, SubjectMitigation)
	}
	return inc, applied, nil
}

// MaxPlan bounds a validation plan.
const MaxPlan = 3000

// AddValidationPlan records how a data remediation will be checked.
func (a *App) AddValidationPlan(ctx context.Context, n int64, actor, plan, key string) (Incident, bool, error) {
	plan = strings.TrimSpace(plan)
	if plan == "" {
		return Incident{}, false, Fail(CodeBadInput, ReasonNoPlan, FieldPlan, ErrorArgs{})
	}
	if utf8.RuneCountInString(plan) > MaxPlan {
		return Incident{}, false, Fail(CodeBadInput, ReasonPlanTooLong, FieldPlan, ErrorArgs{Limit: MaxPlan})
	}
	now := a.deps.Clock.Now().UTC()
	inc, applied, err := a.deps.Store.Apply(ctx, n, key, func(inc *Incident) ([]Event, error) {
		return []Event{NewEvent(EventValidationPlan, actor, now, plan)}, nil
	})
	if err != nil {
		return Incident{}, false, storeErr(err, SubjectValidationPlan)
	}
	return inc, applied, nil
}
