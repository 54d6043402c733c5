package playbook

import (
	"context"
	"time"
)

// This file holds the types of the last three phases: remediation,
// verification and the wrap-up (action items, post-mortem, archive), and the
// ports they call out through. The use cases are in remediation.go, gates.go,
// actions.go and closing.go.

// Remedy is one way to stop the impact.
type Remedy string

// The five remediation options, fastest first.
const (
	RemedyFlag     Remedy = "feature_flag"
	RemedyCutover  Remedy = "traffic_cutover"
	RemedyRollback Remedy = "rollback"
	RemedyHotfix   Remedy = "hotfix"
	RemedyData     Remedy = "data_remediation"
)

// Remedies lists the options fastest first, the order they are offered in.
// Their words (a label, how long each typically takes, what it is) are the
// templates' (label.remedy.<option>, label.remedy_typical.<option>,
// label.remedy_blurb.<option>), found by the option.
var Remedies = []Remedy{RemedyFlag, RemedyCutover, RemedyRollback, RemedyHotfix, RemedyData}

// Remediation is a remediation option someone chose, and when.
type Remediation struct {
	Option Remedy    `json:"option"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// Deploy is one deployment of a service, as the deploy source knows it.
type Deploy struct {
	ID          int64     `json:"id"`
	SHA         string    `json:"sha"`
	Ref         string    `json:"ref,omitempty"`
	Environment string    `json:"environment,omitempty"`
	Creator     string    `json:"creator,omitempty"`
	Description string    `json:"description,omitempty"`
	URL         string    `json:"url,omitempty"`
	At          time.Time `json:"at"`
	// State is the latest deployment status: success, failure, error,
	// inactive, in_progress, queued, pending (or empty when none).
	State string `json:"state,omitempty"`
}

// Deploys reads a service's deployments (GitHub Deployments).
type Deploys interface {
	// Recent returns the service's newest deployments, newest first, at
	// most limit of them, each with its latest state.
	Recent(ctx context.Context, s Service, limit int) ([]Deploy, error)
}

// Gate is one verification gate that must hold before the all-clear.
type Gate string

// The four verification gates.
const (
	GateBurnRate   Gate = "burn_rate"
	GateErrorRate  Gate = "error_rate"
	GateComplaints Gate = "complaints"
	GateSynthetics Gate = "synthetics"
)

// GateInfo describes a gate. A gate with a Dwell holds only once it has
// been checked for that long: checked at t, it counts from t + Dwell. Its
// words are the templates' (label.gate.<gate>), found by the gate.
type GateInfo struct {
	Gate  Gate
	Dwell time.Duration
}

// SyntheticsDwell is how long synthetic monitors must stay green.
const SyntheticsDwell = 5 * time.Minute

// Gates lists the verification gates in the order they are shown.
var Gates = []GateInfo{
	{GateBurnRate, 0},
	{GateErrorRate, 0},
	{GateComplaints, 0},
	{GateSynthetics, SyntheticsDwell},
}

// Override is an all-clear given by the commander while gates did not hold.
type Override struct {
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
	// NoChannel: the incident had no channel to check its gates in and
	// nobody gave a reason; that is the reason (Reason is empty).
	NoChannel bool `json:"no_channel,omitempty"`
	// Unmet are the gates that did not hold at the time.
	Unmet []Gate `json:"unmet"`
}

// ActionItem is a follow-up with exactly one owner and one deadline.
type ActionItem struct {
	ID    int    `json:"id"` // 1, 2, … within the incident
	Text  string `json:"text"`
	Owner string `json:"owner"` // a Slack user ID
	// Due is a calendar date, YYYY-MM-DD: a deadline is a day, not an instant.
	Due string    `json:"due"`
	By  string    `json:"by"`
	At  time.Time `json:"at"`
	// Ticket is the tracker issue the item became, once filed.
	Ticket *Ticket `json:"ticket,omitempty"`
	// Filing is set before a ticket is requested, so that a retry after a
	// crash first looks for a ticket filed then instead of filing twice.
	Filing       time.Time `json:"filing,omitzero"`
	FileFailures int       `json:"file_failures,omitempty"`
}

// Ticket is an issue in a tracker (GitHub).
type Ticket struct {
	Repo   string `json:"repo"` // owner/name
	Number int    `json:"number"`
	URL    string `json:"url"`
	// State is "open" or "closed", as last read.
	State     string    `json:"state"`
	CheckedAt time.Time `json:"checked_at,omitzero"`
	// ClosedAt is when Klaxon first read the ticket closed (the daily sweep),
	// for the action items closed by their deadline; zero while open.
	ClosedAt time.Time `json:"closed_at,omitzero"`
	// Assignee is the tracker login assigned; empty when the owner has no
	// known login (the item's owner is still named in the body).
	Assignee string `json:"assignee,omitempty"`
}

// TicketRequest asks a tracker for an issue.
// TicketBody is what an action item's issue says, for RenderTicket: the
// item, its incident's facts, and the people's display names. Title is
// empty for a private incident (its title stays in Slack).
type TicketBody struct {
	Item     ActionItem
	Number   int64
	Severity Severity
	Service  string
	Title    string
	// Names maps Slack user IDs to display names (missing: the ID).
	Names map[string]string
}

// Name is the display name of Slack user id, or id.
func (b TicketBody) Name(id string) string {
	if n := b.Names[id]; n != "" {
		return n
	}
	return id
}

type TicketRequest struct {
	Repo  string // owner/name
	Title string
	Body  string
	// Owner is the item's owner (a Slack user ID); the adapter maps it to a
	// tracker login when it knows one.
	Owner string
	// Assignees are tracker logins to assign besides Owner's (the owning
	// team's users from CODEOWNERS).
	Assignees []string
	Labels    []string
	// Marker is a unique string the adapter puts in the body. With Adopt,
	// the adapter first looks for an issue carrying it (a crash may have
	// come between the tracker creating it and Klaxon recording it).
	Marker string
	Adopt  bool
}

// Tickets files action items and reads their state back (GitHub Issues).
type Tickets interface {
	File(ctx context.Context, req TicketRequest) (Ticket, error)
	// State returns "open" or "closed".
	State(ctx context.Context, t Ticket) (string, error)
}

// PostmortemDoc is a rendered post-mortem to publish outside Slack.
type PostmortemDoc struct {
	Repo     string // owner/name
	Path     string // file path in the repo, e.g. postmortems/2026-11-27-inc-12.md
	Title    string
	Markdown []byte
	// Marker is unique per incident; with Adopt the publisher first looks
	// for a pull request (or issue) carrying it.
	Marker string
	Adopt  bool
}

// PostmortemRepo publishes a post-mortem as a pull request (or an issue) to
// a post-mortems repository, returning its URL.
type PostmortemRepo interface {
	Publish(ctx context.Context, doc PostmortemDoc) (url string, err error)
}

// PostmortemFile is the rendered outline uploaded to the incident channel.
type PostmortemFile struct {
	Name    string // file name, e.g. inc-12-postmortem.md
	Content []byte
	// Share is what the message the file is shared with says; the
	// adapter words it (and the file's title).
	Share OutlineShare
}

// OutlineWhere says where the outline goes and why.
type OutlineWhere string

// Where the outline is shared.
const (
	OutlineInChannel OutlineWhere = "channel"    // the incident's channel
	OutlineNoChannel OutlineWhere = "no_channel" // by DM: it never had a channel
	OutlineArchived  OutlineWhere = "archived"   // by DM: its channel was archived first
)

// OutlineShare is what the message sharing the outline tells.
type OutlineShare struct {
	Incident int64
	Where    OutlineWhere
	// PostmortemDue is when the post-mortem is due, zero when none is
	// pending.
	PostmortemDue time.Time
	// In the channel only: the channel is archived now (ArchiveNow) or at
	// ArchiveAt.
	ArchiveNow bool
	ArchiveAt  time.Time
}

// Closing is the Slack side of closing an incident.
type Closing interface {
	// Upload shares the file in the channel (files.uploadV2) and returns its
	// ID. started is called with the ID once the bytes are up, before the
	// share, so the caller can record it: when the answer to the share is
	// lost, Shared then tells whether it happened.
	Upload(ctx context.Context, channelID string, f PostmortemFile, started func(fileID string) error) (string, error)
	// Shared reports whether file fileID is shared in the channel.
	Shared(ctx context.Context, channelID, fileID string) (bool, error)
	// Archive archives the channel; an already archived channel is no error.
	Archive(ctx context.Context, channelID string) error
	// DirectChannel opens (or finds) the direct conversation with user,
	// for what can no longer go in an archived channel.
	DirectChannel(ctx context.Context, user string) (string, error)
	// ChannelGone tells the announce thread that the incident's channel
	// was archived (or deleted) by hand, and that its outline and
	// reminders go to user by DM.
	ChannelGone(ctx context.Context, b Briefing, user string) error
}

// Closure records how closing an incident went, step by step, so a restart
// finishes what a crash interrupted and repeats nothing.
type Closure struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
	// File is the uploaded post-mortem's file ID; Uploading the ID of an
	// upload whose share may or may not have happened.
	File           string `json:"file,omitempty"`
	Uploading      string `json:"uploading,omitempty"`
	UploadFailures int    `json:"upload_failures,omitempty"`
	// Published is the post-mortem pull request's (or issue's) URL.
	Published       string    `json:"published,omitempty"`
	Publishing      time.Time `json:"publishing,omitzero"`
	PublishFailures int       `json:"publish_failures,omitempty"`
	Archived        time.Time `json:"archived,omitzero"`
	// DM is the direct conversation the outline went to, when the channel
	// was archived or deleted by hand before the close.
	DM               string `json:"dm,omitempty"`
	ArchiveFailures  int    `json:"archive_failures,omitempty"`
	PostmortemBytes  int    `json:"postmortem_bytes,omitempty"`
	PostmortemEvents int    `json:"postmortem_events,omitempty"`
}
