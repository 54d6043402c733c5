package pagerduty

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/PagerDuty/go-pagerduty/webhookv3"

	"github.com/klaxonhq/klaxon/playbook"
)

// MaxWebhookBody is the largest webhook body accepted (PagerDuty's are a few KB).
const MaxWebhookBody = 1 << 20

// Events receives decoded webhook events: the App.
type Events interface {
	PagerDutyEvent(ctx context.Context, ev playbook.PDEvent) error
}

// WebhookHandler serves POST /webhooks/pagerduty: the v3 signature is
// verified with go-pagerduty's webhookv3 (constant time, every signature of
// a rotation tried), a body over 1 MB gets 413, a bad or missing signature
// 401 and nothing changes, an event about an incident Klaxon did not open
// 202 and a log line. A redelivered event changes nothing twice (the App
// records each event ID once). Build it only with a secret: without one the
// route stays off.
func WebhookHandler(secret string, app Events, log *slog.Logger) http.Handler {
	if secret == "" {
		panic("pagerduty: WebhookHandler without a secret")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		if r.ContentLength > MaxWebhookBody {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxWebhookBody)
		if err := webhookv3.VerifySignature(r, secret); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
				return
			}
			log.Warn("PagerDuty webhook refused: bad or missing signature", "remote", r.RemoteAddr, "reason", err.Error())
			http.Error(w, "bad or missing X-PagerDuty-Signature", http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "could not read the body", http.StatusBadRequest)
			return
		}
		ev, err := DecodeWebhook(body)
		if err != nil {
			log.Warn("PagerDuty webhook refused: undecodable", "err", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if ev.IncidentID == "" {
			// Not about an incident (a service or a ping): nothing to do.
			w.WriteHeader(http.StatusAccepted)
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 15*time.Second)
		defer cancel()
		switch err := app.PagerDutyEvent(ctx, ev); {
		case errors.Is(err, playbook.ErrUnknownIncident):
			log.Info("PagerDuty webhook about an incident Klaxon did not open", "event", ev.Type, "event_id", ev.ID, "pagerduty_incident", ev.IncidentID)
		case err != nil:
			// 5xx: PagerDuty redelivers, and the event ID keeps it once.
			log.Error("PagerDuty webhook not recorded", "event", ev.Type, "event_id", ev.ID, "err", err)
			http.Error(w, "not recorded, retry", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
}

// webhook is the v3 payload, as much of it as Klaxon reads.
type webhook struct {
	Event *struct {
		ID           string     `json:"id"`
		EventType    string     `json:"event_type"`
		ResourceType string     `json:"resource_type"`
		OccurredAt   string     `json:"occurred_at"`
		Agent        *reference `json:"agent"`
		Data         *struct {
			ID               string      `json:"id"`
			Type             string      `json:"type"`
			Status           string      `json:"status"`
			Title            string      `json:"title"`
			HTMLURL          string      `json:"html_url"`
			CreatedAt        string      `json:"created_at"`
			Service          *reference  `json:"service"`
			Assignees        []reference `json:"assignees"`
			EscalationPolicy *reference  `json:"escalation_policy"`
		} `json:"data"`
	} `json:"event"`
}

type reference struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Summary string `json:"summary"`
}

// DecodeWebhook reads a v3 webhook body. incident.* events carry the
// incident in data; other resources decode with an empty IncidentID.
func DecodeWebhook(body []byte) (playbook.PDEvent, error) {
	var w webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return playbook.PDEvent{}, fmt.Errorf("not a PagerDuty v3 webhook: %w", err)
	}
	e := w.Event
	if e == nil || e.ID == "" || e.EventType == "" {
		return playbook.PDEvent{}, errors.New("not a PagerDuty v3 webhook: no event id or event_type")
	}
	ev := playbook.PDEvent{ID: e.ID, Type: e.EventType}
	if t, err := time.Parse(time.RFC3339Nano, e.OccurredAt); err == nil {
		ev.At = t.UTC()
	}
	if e.Agent != nil && strings.HasPrefix(e.Agent.Type, "user") {
		ev.Agent = playbook.Person{ID: e.Agent.ID, Name: e.Agent.Summary}
	}
	if e.ResourceType == "incident" && e.Data != nil {
		ev.IncidentID = e.Data.ID
		ev.Title, ev.URL = e.Data.Title, e.Data.HTMLURL
		if e.Data.Service != nil {
			ev.ServiceID = e.Data.Service.ID
		}
		if t, err := time.Parse(time.RFC3339Nano, e.Data.CreatedAt); err == nil {
			ev.Created = t.UTC()
		}
		var names []string
		for _, a := range e.Data.Assignees {
			names = append(names, a.Summary)
		}
		switch e.EventType {
		case "incident.reassigned", "incident.escalated":
			if len(names) > 0 {
				ev.Summary = "now assigned to " + strings.Join(names, ", ")
			}
		}
	}
	return ev, nil
}
