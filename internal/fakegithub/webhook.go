package fakegithub

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Delivery is one webhook delivery, as GitHub sends it: the same GUID and
// body when redelivered.
type Delivery struct {
	GUID  string
	Event string // X-GitHub-Event: deployment, deployment_status, ping
	Body  []byte
}

// Sign returns GitHub's X-Hub-Signature-256 value for body: "sha256=" and
// the hex HMAC-SHA256 of the body keyed with the webhook's secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// signSHA1 is the legacy X-Hub-Signature GitHub still sends beside it.
func signSHA1(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Send posts d to url the way GitHub's webhook sender does: JSON body,
// X-GitHub-Event, X-GitHub-Delivery, X-GitHub-Hook-ID, a GitHub-Hookshot
// user agent, and, with a secret, X-Hub-Signature-256 (and the legacy
// X-Hub-Signature). It returns the status Klaxon answered.
func Send(ctx context.Context, url, secret string, d Delivery) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/fake")
	req.Header.Set("X-GitHub-Event", d.Event)
	req.Header.Set("X-GitHub-Delivery", d.GUID)
	req.Header.Set("X-GitHub-Hook-ID", "1")
	if secret != "" {
		req.Header.Set("X-Hub-Signature-256", Sign(secret, d.Body))
		req.Header.Set("X-Hub-Signature", signSHA1(secret, d.Body))
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// DeploymentStatusDelivery builds the deployment_status event GitHub sends
// for the latest status of deployment id of repo (a new GUID each call;
// send the same Delivery again for a redelivery).
func (s *Server) DeploymentStatusDelivery(repo string, id int64) Delivery {
	return s.deploymentDelivery(repo, id, "deployment_status")
}

// DeploymentDelivery builds the deployment event GitHub sends when
// deployment id of repo is created.
func (s *Server) DeploymentDelivery(repo string, id int64) Delivery {
	return s.deploymentDelivery(repo, id, "deployment")
}

func (s *Server) deploymentDelivery(repo string, id int64, event string) Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoLocked(repo)
	var d *deployment
	for _, x := range r.deployments {
		if x.id == id {
			d = x
		}
	}
	if d == nil {
		panic(fmt.Sprintf("fakegithub: %s has no deployment %d", repo, id))
	}
	c := &call{s: s, repo: r}
	payload := map[string]any{
		"deployment": c.deploymentJSON(d),
		"repository": s.repoJSON(r),
		"sender":     s.userJSON(d.creator),
	}
	if event == "deployment" {
		payload["action"] = "created"
	} else {
		if len(d.statuses) == 0 {
			panic(fmt.Sprintf("fakegithub: deployment %d of %s has no status to send", id, repo))
		}
		payload["action"] = "created"
		payload["deployment_status"] = c.statusJSON(d, d.statuses[len(d.statuses)-1])
	}
	body, err := json.Marshal(payload)
	if err != nil {
		panic(err)
	}
	return Delivery{GUID: newGUID(), Event: event, Body: body}
}

// SetStatus adds a status to deployment id of repo at time at, as a deploy
// tool would (without making older deployments inactive).
func (s *Server) SetStatus(repo string, id int64, state string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoLocked(repo)
	for _, d := range r.deployments {
		if d.id == id {
			d.statuses = append(d.statuses, &status{id: s.newIDLocked(), state: strings.ToLower(state), env: d.env, creator: d.creator, created: at.UTC()})
			return
		}
	}
	panic(fmt.Sprintf("fakegithub: %s has no deployment %d", repo, id))
}
