package fakepagerduty

import "fmt"

// Triggered returns the incident.triggered webhook event PagerDuty sends
// for incident id, as for an incident a monitoring integration opened.
func (s *Server) Triggered(id string) (WebhookEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inc := s.incidentLocked(id)
	if inc == nil {
		return WebhookEvent{}, fmt.Errorf("no incident %s", id)
	}
	return s.webhookLocked(inc, "incident.triggered", "", inc.Created), nil
}
