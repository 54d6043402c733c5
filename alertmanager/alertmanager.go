// Package alertmanager takes Prometheus Alertmanager's webhook notifications
// (webhook_configs, payload version 4) and hands their alerts to the
// playbook as signals.
//
// It imports playbook; only cmd/klaxon imports it.
package alertmanager

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/klaxonhq/klaxon/playbook"
)

// Path is the route Klaxon serves the webhook on.
const Path = "/webhooks/alertmanager"

// MaxBody is the largest notification accepted. Alertmanager sends a whole
// group per notification; max_alerts in the receiver keeps groups small.
const MaxBody = 1 << 20

// Message is Alertmanager's webhook payload, version 4.
type Message struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Alert           `json:"alerts"`
}

// Alert is one alert of a notification.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Decode reads a notification and returns its alerts for the playbook. It
// refuses, with an error saying why, a payload that is not Alertmanager's
// version 4: wrong JSON, another version, an unknown status, an alert
// without labels or a start time.
func Decode(body []byte) (Message, []playbook.Alert, error) {
	var m Message
	if err := json.Unmarshal(body, &m); err != nil {
		return m, nil, fmt.Errorf("not an Alertmanager notification: %w", plainJSONError(err))
	}
	if m.Version != "4" {
		return m, nil, fmt.Errorf("payload version %q: Klaxon reads Alertmanager's webhook version \"4\"", clip(m.Version))
	}
	if m.Status != "firing" && m.Status != "resolved" {
		return m, nil, fmt.Errorf("status %q: want firing or resolved", clip(m.Status))
	}
	out := make([]playbook.Alert, 0, len(m.Alerts))
	for i, a := range m.Alerts {
		switch {
		case a.Status != "firing" && a.Status != "resolved":
			return m, nil, fmt.Errorf("alerts[%d]: status %q: want firing or resolved", i, clip(a.Status))
		case len(a.Labels) == 0:
			return m, nil, fmt.Errorf("alerts[%d]: no labels", i)
		case a.StartsAt.IsZero():
			return m, nil, fmt.Errorf("alerts[%d]: no startsAt", i)
		}
		out = append(out, playbook.Alert{
			Source: "alertmanager", Resolved: a.Status == "resolved",
			Labels: a.Labels, Annotations: a.Annotations,
			StartsAt: a.StartsAt.UTC(), EndsAt: a.EndsAt.UTC(),
			GeneratorURL: a.GeneratorURL, Fingerprint: a.Fingerprint,
		})
	}
	return m, out, nil
}

// plainJSONError keeps encoding/json's message but never the input.
func plainJSONError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Errorf("field %s: want %s, not a JSON %s", te.Field, te.Type, te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("the JSON ends early")
	}
	return errors.New("invalid JSON or a bad time value (times are RFC 3339)")
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Ingester records alerts (playbook.App).
type Ingester interface {
	IngestAlerts(ctx context.Context, alerts []playbook.Alert) (playbook.IngestResult, error)
}

// Handler serves POST /webhooks/alertmanager. Build it with NewHandler.
type Handler struct {
	ingest Ingester
	token  [sha256.Size]byte
	log    *slog.Logger
}

// NewHandler returns the webhook handler, or an error when token is empty:
// the route must stay off without its secret.
func NewHandler(token string, ingest Ingester, log *slog.Logger) (*Handler, error) {
	if token == "" {
		return nil, errors.New("alertmanager: alerts.token is empty; the webhook stays off without it")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{ingest: ingest, token: sha256.Sum256([]byte(token)), log: log}, nil
}

// authorized checks "Authorization: Bearer <token>" in constant time (both
// sides hashed first, so neither the content nor the length leaks).
func (h *Handler) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
	return subtle.ConstantTimeCompare(sum[:], h.token[:]) == 1
}

// ServeHTTP verifies the token, reads at most MaxBody, decodes, records the
// alerts and answers. Alertmanager retries on a 5xx, so only a failure to
// record is one; bad input is a 4xx it should not resend.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST an Alertmanager notification here", http.StatusMethodNotAllowed)
		return
	}
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="klaxon"`)
		http.Error(w, "missing or wrong bearer token (http_config.authorization.credentials = alerts.token)", http.StatusUnauthorized)
		h.log.Warn("alertmanager webhook refused: bad token", "remote", r.RemoteAddr)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("notification larger than %d bytes: lower max_alerts in the receiver", MaxBody), http.StatusRequestEntityTooLarge)
			h.log.Warn("alertmanager webhook refused: body too large", "limit", MaxBody)
			return
		}
		http.Error(w, "could not read the body", http.StatusBadRequest)
		return
	}
	msg, alerts, err := Decode(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		h.log.Warn("alertmanager webhook refused: bad payload", "err", err)
		return
	}
	res, err := h.ingest.IngestAlerts(r.Context(), alerts)
	if err != nil {
		http.Error(w, "Klaxon could not record the alerts; retry", http.StatusInternalServerError)
		h.log.Error("recording alerts", "err", err)
		return
	}
	h.log.Debug("alertmanager notification", "receiver", msg.Receiver, "status", msg.Status, "alerts", res.Alerts,
		"new", res.New, "resolved", res.Resolved, "repeats", res.Repeats, "unrouted", res.Unrouted, "truncated", msg.TruncatedAlerts)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int{
		"alerts": res.Alerts, "new": res.New, "resolved": res.Resolved, "repeats": res.Repeats,
		"unrouted": res.Unrouted, "to_incident": res.ToIncident,
	})
}
