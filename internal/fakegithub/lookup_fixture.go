package fakegithub

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// AddLookupFixture adds the deploy lookup benchmarks' fixture to repo's
// production environment, relative to now: 10 successful deploys 3 to 12
// hours before (the rollback target among them), and 5 in the last 90
// minutes, the third of which failed, each shipping 2 pull requests with a
// migration and an approving review. The GitHub and the end-to-end
// benchmark measure the same thing this way.
func (s *Server) AddLookupFixture(repo string, now time.Time) {
	for i := range 10 {
		s.AddDeploy(repo, "production", fmt.Sprintf("%040x", 1000+i), "old", "alice", now.Add(-time.Duration(3+i)*time.Hour), "success")
	}
	for i := range 5 {
		sha := fmt.Sprintf("%040x", 2000+i)
		state := "success"
		if i == 2 {
			state = "failure"
		}
		s.AddDeploy(repo, "production", sha, "v", "bob", now.Add(-time.Duration(10+20*i)*time.Minute), state)
		for j := range 2 {
			s.AddMergedPull(repo, MergedPull{Title: fmt.Sprintf("PR %d.%d", i, j), Author: "bob", Commits: []string{sha},
				Files:   []PullFile{{Path: "db/migrate/x.sql", Additions: 10}},
				Reviews: []Review{{User: "carol", State: "APPROVED"}}})
		}
	}
}

// SlowTransport adds Delay to every request before sending it (a GitHub
// that far away) and counts the requests. Benchmarks only: tests run on
// fake time.
type SlowTransport struct {
	Delay time.Duration
	mu    sync.Mutex
	n     int
}

// RoundTrip implements http.RoundTripper.
func (s *SlowTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.n++
	s.mu.Unlock()
	time.Sleep(s.Delay)
	return http.DefaultTransport.RoundTrip(r)
}

// Calls is how many requests went through.
func (s *SlowTransport) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}
