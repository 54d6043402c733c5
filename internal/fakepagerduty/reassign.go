package fakepagerduty

// Reassign reassigns incident id to the users in to, as user does in the
// PagerDuty app, and returns the incident.reassigned webhook event.
func (s *Server) Reassign(id, user string, to ...string) (WebhookEvent, error) {
	return s.change(id, user, "reassigned", to...)
}
