package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/klaxonhq/klaxon/playbook"
	"github.com/klaxonhq/klaxon/templates"
)

// MaxWebhookBody bounds a webhook body. GitHub caps payloads at 25 MB, but a
// deployment event is a few kilobytes: anything near this is not one.
const MaxWebhookBody = 1 << 20

// DeployRecorder records a deploy a webhook reported (playbook.App).
type DeployRecorder interface {
	RecordDeploy(ctx context.Context, key string, ev playbook.DeployEvent) (playbook.DeployRecord, bool, error)
}

// Webhook is the handler of POST /webhooks/github: it verifies
// X-Hub-Signature-256 with go-github's ValidatePayload, takes deployment
// and deployment_status events, and records each delivery
// (X-GitHub-Delivery) once.
type Webhook struct {
	secret []byte
	rec    DeployRecorder
	log    *slog.Logger
}

// NewWebhook returns the handler. It refuses an empty secret: with no
// secret and no signature, ValidatePayload accepts anything, so the route
// must stay off without one.
func NewWebhook(secret string, rec DeployRecorder, log *slog.Logger) (*Webhook, error) {
	if secret == "" {
		return nil, errors.New("github: the webhook needs github.webhook_secret (or webhook_secret_file); without it the route stays off")
	}
	if rec == nil {
		return nil, errors.New("github: the webhook needs a deploy recorder")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Webhook{secret: []byte(secret), rec: rec, log: log}, nil
}

// DeliveryKey is the idempotency key of a delivery.
func DeliveryKey(guid string) string { return "github:delivery:" + guid }

func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	// A missing SHA-256 signature is refused before reading the body; the
	// legacy SHA-1 header alone is not enough.
	if r.Header.Get(gh.SHA256SignatureHeader) == "" {
		h.log.Warn("GitHub webhook without X-Hub-Signature-256 refused", "remote", r.RemoteAddr)
		http.Error(w, "missing X-Hub-Signature-256", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("body over %d bytes", MaxWebhookBody), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read the body", http.StatusBadRequest)
		return
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (ct != "application/json" && ct != "application/x-www-form-urlencoded") {
		http.Error(w, "want Content-Type application/json", http.StatusUnsupportedMediaType)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	// The secret never appears in what ValidatePayload returns or logs.
	payload, err := gh.ValidatePayload(r, h.secret)
	if err != nil {
		h.log.Warn("GitHub webhook with a bad signature refused", "remote", r.RemoteAddr)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	guid := gh.DeliveryID(r)
	event := gh.WebHookType(r)
	if guid == "" || event == "" {
		http.Error(w, "missing X-GitHub-Delivery or X-GitHub-Event", http.StatusBadRequest)
		return
	}
	if len(guid) > 100 {
		http.Error(w, "X-GitHub-Delivery too long", http.StatusBadRequest)
		return
	}
	ev, ok, err := DecodeEvent(event, payload)
	switch {
	case err != nil:
		h.log.Warn("GitHub webhook payload refused", "event", event, "delivery", guid, "err", err)
		http.Error(w, "bad payload: "+err.Error(), http.StatusBadRequest)
		return
	case !ok:
		// ping, or an event this route does not use: accepted, ignored.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	rec, applied, err := h.rec.RecordDeploy(r.Context(), DeliveryKey(guid), ev)
	if err != nil {
		if playbook.ErrorCode(err) == playbook.CodeBadInput {
			http.Error(w, templates.Default().ErrorPlain(err), http.StatusBadRequest)
			return
		}
		h.log.Error("recording a deploy from GitHub", "delivery", guid, "err", err)
		http.Error(w, "could not record the deploy; redeliver it", http.StatusInternalServerError)
		return
	}
	h.log.Info("deploy recorded from GitHub", "delivery", guid, "repo", rec.Repo, "deploy", rec.ID,
		"sha", rec.Short(), "state", rec.State, "redelivery", !applied, "watch_until", rec.WatchUntil)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"recorded": applied})
}

// DecodeEvent reads a deployment or deployment_status webhook payload.
// ok is false (and err nil) for other events, which the route ignores.
func DecodeEvent(event string, payload []byte) (ev playbook.DeployEvent, ok bool, err error) {
	var (
		dep  *gh.Deployment
		st   *gh.DeploymentStatus
		repo *gh.Repository
	)
	switch event {
	case "deployment":
		var e gh.DeploymentEvent
		if err := json.Unmarshal(payload, &e); err != nil {
			return ev, false, fmt.Errorf("decode deployment event: %w", err)
		}
		dep, repo = e.Deployment, e.Repo
	case "deployment_status":
		var e gh.DeploymentStatusEvent
		if err := json.Unmarshal(payload, &e); err != nil {
			return ev, false, fmt.Errorf("decode deployment_status event: %w", err)
		}
		dep, st, repo = e.Deployment, e.DeploymentStatus, e.Repo
		if st == nil {
			return ev, false, errors.New("deployment_status event without deployment_status")
		}
	default:
		return ev, false, nil
	}
	if dep == nil || dep.GetID() <= 0 {
		return ev, false, errors.New("event without a deployment ID")
	}
	full := repo.GetFullName()
	if _, _, err := splitRepo(full); err != nil {
		return ev, false, errors.New("event without a repository full_name (owner/name)")
	}
	sha := strings.ToLower(dep.GetSHA())
	if len(sha) > 64 || strings.Trim(sha, "0123456789abcdef") != "" {
		return ev, false, errors.New("deployment sha is not a commit SHA")
	}
	ev = playbook.DeployEvent{
		Repo:    full,
		RepoURL: repo.GetHTMLURL(),
		Deploy: playbook.Deploy{
			ID:          dep.GetID(),
			SHA:         sha,
			Ref:         clip(dep.GetRef(), 255),
			Environment: clip(dep.GetEnvironment(), 255),
			Creator:     clip(dep.GetCreator().GetLogin(), 100),
			Description: clip(dep.GetDescription(), 500),
			At:          dep.GetCreatedAt().Time.UTC(),
		},
	}
	if st != nil {
		ev.Deploy.State = clip(strings.ToLower(st.GetState()), 20)
		ev.StatusAt = st.GetCreatedAt().Time.UTC()
		if ev.StatusAt.IsZero() {
			ev.StatusAt = st.GetUpdatedAt().Time.UTC()
		}
		if env := st.GetEnvironment(); env != "" {
			ev.Deploy.Environment = clip(env, 255)
		}
		ev.Deploy.URL = firstNonEmpty(st.GetLogURL(), st.GetEnvironmentURL(), st.GetTargetURL())
	}
	// Links end up in Slack messages: only plain http(s) URLs.
	ev.Deploy.URL, ev.RepoURL = webURL(ev.Deploy.URL), webURL(ev.RepoURL)
	if ev.Deploy.URL == "" && sha != "" && ev.RepoURL != "" {
		ev.Deploy.URL = ev.RepoURL + "/commit/" + sha
	}
	if ev.Deploy.At.IsZero() || ev.Deploy.At.Year() < 2000 {
		ev.Deploy.At = ev.StatusAt
	}
	if ev.Deploy.At.IsZero() {
		return ev, false, errors.New("deployment without created_at")
	}
	return ev, true, nil
}

// webURL returns u when it is an http(s) URL without characters that would
// break a Slack link, else "".
func webURL(u string) string {
	if len(u) > 2000 || strings.ContainsAny(u, "<>| \t\r\n") {
		return ""
	}
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return u
	}
	return ""
}
