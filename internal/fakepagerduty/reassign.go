package fakepagerduty

import "fmt"

// Reassign reassigns incident id to the users in to, as user does in the
// PagerDuty app, and returns the incident.reassigned webhook event.
func (s *Server) Reassign(id, user string, to ...string) (WebhookEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inc := s.incidentLocked(id)
	if inc == nil {
		return WebhookEvent{}, fmt.Errorf("no incident %s", id)
	}
	now := s.now().UTC()
	inc.Assignees = append([]string(nil), to...)
	for _, u := range to {
		inc.Log = append(inc.Log, LogEntry{"assign_log_entry", now, user, "Assigned to " + s.nameLocked(u)})
	}
	return s.webhookLocked(inc, "incident.reassigned", user, now), nil
}
