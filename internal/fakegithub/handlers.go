package fakegithub

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Handlers. They run with s.mu held; c.repo is set for /repos/{o}/{r}/...

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func (s *Server) apiURL(format string, args ...any) string {
	return s.srv.URL + s.prefix + fmt.Sprintf(format, args...)
}

func (s *Server) userJSON(login string) map[string]any {
	return map[string]any{
		"login":      login,
		"id":         userID(login),
		"node_id":    "U_" + strconv.FormatInt(userID(login), 36),
		"type":       "User",
		"site_admin": false,
		"url":        s.apiURL("users/%s", login),
		"html_url":   s.web + "/" + login,
	}
}

func (s *Server) repoJSON(r *repo) map[string]any {
	return map[string]any{
		"id":             r.id,
		"node_id":        "R_" + strconv.FormatInt(r.id, 36),
		"name":           r.name,
		"full_name":      r.full(),
		"owner":          s.userJSON(r.owner),
		"private":        false,
		"visibility":     "public",
		"html_url":       s.web + "/" + r.full(),
		"url":            s.apiURL("repos/%s", r.full()),
		"default_branch": r.defaultBranch,
		"has_issues":     true,
		"permissions":    map[string]bool{"admin": true, "maintain": true, "push": true, "triage": true, "pull": true},
	}
}

// missing is GitHub's answer when a required JSON field is absent from a
// git or contents request.
func missing(field string) reply {
	return errReply(http.StatusUnprocessableEntity, fmt.Sprintf("Invalid request.\n\n%q wasn't supplied.", field))
}

// ---- repositories, refs, contents

func (c *call) getRepo() reply { return ok(c.s.repoJSON(c.repo)) }

func (c *call) refJSON(branch, sha string) map[string]any {
	return map[string]any{
		"ref":     "refs/heads/" + branch,
		"node_id": "REF_" + sha[:12],
		"url":     c.s.apiURL("repos/%s/git/refs/heads/%s", c.repo.full(), branch),
		"object": map[string]any{
			"type": "commit",
			"sha":  sha,
			"url":  c.s.apiURL("repos/%s/git/commits/%s", c.repo.full(), sha),
		},
	}
}

func (c *call) getRef() reply {
	branch, isHead := strings.CutPrefix(c.params["ref"], "heads/")
	sha, found := c.repo.branches[branch]
	if !isHead || !found {
		return notFound()
	}
	return ok(c.refJSON(branch, sha))
}

func (c *call) createRef() reply {
	var in struct {
		Ref *string `json:"ref"`
		SHA *string `json:"sha"`
	}
	if !c.decode(&in) {
		return errReply(http.StatusBadRequest, "Problems parsing JSON")
	}
	switch {
	case in.Ref == nil:
		return missing("ref")
	case in.SHA == nil:
		return missing("sha")
	}
	ref := *in.Ref
	if !strings.HasPrefix(ref, "refs/") || strings.Count(ref, "/") < 2 {
		return errReply(http.StatusUnprocessableEntity, "Reference name is not valid: it must start with 'refs/' and have at least two slashes.")
	}
	branch, isHead := strings.CutPrefix(ref, "refs/heads/")
	if !isHead || branch == "" || strings.HasSuffix(branch, "/") || strings.Contains(branch, "..") {
		return errReply(http.StatusUnprocessableEntity, "Reference name is not valid (this fake keeps branches only: refs/heads/...).")
	}
	if c.repo.commits[*in.SHA] == nil {
		return errReply(http.StatusUnprocessableEntity, "Object does not exist")
	}
	if _, exists := c.repo.branches[branch]; exists {
		return errReply(http.StatusUnprocessableEntity, "Reference already exists")
	}
	c.repo.branches[branch] = *in.SHA
	return created(c.refJSON(branch, *in.SHA))
}

// resolve finds the commit a branch name or a commit sha names.
func (r *repo) resolve(ref string) (*commit, bool) {
	if sha, found := r.branches[ref]; found {
		return r.commits[sha], true
	}
	ref = strings.TrimPrefix(ref, "refs/heads/")
	if sha, found := r.branches[ref]; found {
		return r.commits[sha], true
	}
	if cm := r.commits[ref]; cm != nil {
		return cm, true
	}
	return nil, false
}

func (c *call) fileJSON(p, ref string, content []byte, withContent bool) map[string]any {
	sha := blobSHA(content)
	out := map[string]any{
		"type":         "file",
		"name":         path.Base(p),
		"path":         p,
		"sha":          sha,
		"size":         len(content),
		"url":          c.s.apiURL("repos/%s/contents/%s?ref=%s", c.repo.full(), p, ref),
		"html_url":     fmt.Sprintf("%s/%s/blob/%s/%s", c.s.web, c.repo.full(), ref, p),
		"git_url":      c.s.apiURL("repos/%s/git/blobs/%s", c.repo.full(), sha),
		"download_url": fmt.Sprintf("%s/%s/raw/%s/%s", c.s.web, c.repo.full(), ref, p),
	}
	if withContent {
		// GitHub wraps base64 content at 60 characters.
		enc := base64.StdEncoding.EncodeToString(content)
		var b strings.Builder
		for len(enc) > 60 {
			b.WriteString(enc[:60])
			b.WriteByte('\n')
			enc = enc[60:]
		}
		b.WriteString(enc)
		b.WriteByte('\n')
		out["content"] = b.String()
		out["encoding"] = "base64"
	}
	return out
}

func (c *call) getContents() reply {
	ref := c.query("ref")
	if ref == "" {
		ref = c.repo.defaultBranch
	}
	cm, found := c.repo.resolve(ref)
	if !found {
		return errReply(http.StatusNotFound, "No commit found for the ref "+ref)
	}
	p := strings.Trim(c.params["path"], "/")
	if b, found := cm.files[p]; found {
		return ok(c.fileJSON(p, ref, b, true))
	}
	// A directory: its direct children.
	var entries []map[string]any
	seen := map[string]bool{}
	for _, f := range slices.Sorted(maps.Keys(cm.files)) {
		rest, under := strings.CutPrefix(f, p+"/")
		if !under {
			continue
		}
		if dir, _, sub := strings.Cut(rest, "/"); sub {
			if !seen[dir] {
				seen[dir] = true
				entries = append(entries, map[string]any{"type": "dir", "name": dir, "path": p + "/" + dir})
			}
			continue
		}
		entries = append(entries, c.fileJSON(f, ref, cm.files[f], false))
	}
	if entries == nil {
		return notFound()
	}
	return ok(entries)
}

func (c *call) putContents() reply {
	var in struct {
		Message *string `json:"message"`
		Content *string `json:"content"`
		SHA     *string `json:"sha"`
		Branch  *string `json:"branch"`
	}
	if !c.decode(&in) {
		return errReply(http.StatusBadRequest, "Problems parsing JSON")
	}
	switch {
	case in.Message == nil:
		return missing("message")
	case in.Content == nil:
		return missing("content")
	}
	content, err := base64.StdEncoding.DecodeString(*in.Content)
	if err != nil {
		return errReply(http.StatusUnprocessableEntity, "content is not valid Base64")
	}
	branch := c.repo.defaultBranch
	if in.Branch != nil && *in.Branch != "" {
		branch = *in.Branch
	}
	head, found := c.repo.branches[branch]
	if !found {
		return errReply(http.StatusNotFound, "Branch "+branch+" not found")
	}
	p := strings.Trim(c.params["path"], "/")
	if p == "" || strings.Contains(p, "..") {
		return errReply(http.StatusUnprocessableEntity, "path is not valid")
	}
	old, exists := c.repo.commits[head].files[p]
	if exists {
		if in.SHA == nil || *in.SHA == "" {
			return missing("sha")
		}
		if *in.SHA != blobSHA(old) {
			return errReply(http.StatusConflict, fmt.Sprintf("%s does not match %s", p, *in.SHA))
		}
	}
	files := maps.Clone(c.repo.commits[head].files)
	files[p] = content
	cm := c.s.commitLocked(c.repo, head, *in.Message, files)
	c.repo.branches[branch] = cm.sha
	out := map[string]any{
		"content": c.fileJSON(p, branch, content, false),
		"commit": map[string]any{
			"sha":      cm.sha,
			"message":  cm.message,
			"url":      c.s.apiURL("repos/%s/git/commits/%s", c.repo.full(), cm.sha),
			"html_url": fmt.Sprintf("%s/%s/commit/%s", c.s.web, c.repo.full(), cm.sha),
			"parents":  []map[string]any{{"sha": head}},
		},
	}
	if exists {
		return ok(out)
	}
	return created(out)
}

// ---- deployments

func (c *call) deploymentJSON(d *deployment) map[string]any {
	u := c.s.apiURL("repos/%s/deployments/%d", c.repo.full(), d.id)
	return map[string]any{
		"url":                    u,
		"id":                     d.id,
		"node_id":                "DE_" + strconv.FormatInt(d.id, 36),
		"sha":                    d.sha,
		"ref":                    d.ref,
		"task":                   d.task,
		"payload":                map[string]any{},
		"original_environment":   d.env,
		"environment":            d.env,
		"description":            nilIfEmpty(d.desc),
		"creator":                c.s.userJSON(d.creator),
		"created_at":             ts(d.created),
		"updated_at":             ts(d.updated()),
		"statuses_url":           u + "/statuses",
		"repository_url":         c.s.apiURL("repos/%s", c.repo.full()),
		"transient_environment":  d.transientEnv,
		"production_environment": d.productionEnv,
	}
}

func (d *deployment) updated() time.Time {
	if n := len(d.statuses); n > 0 {
		return d.statuses[n-1].created
	}
	return d.created
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (c *call) listDeployments() reply {
	q := c.r.URL.Query()
	var out []*deployment
	for _, d := range c.repo.deployments {
		if (q.Get("environment") != "" && q.Get("environment") != d.env) ||
			(q.Get("sha") != "" && q.Get("sha") != d.sha) ||
			(q.Get("ref") != "" && q.Get("ref") != d.ref) ||
			(q.Get("task") != "" && q.Get("task") != d.task) {
			continue
		}
		out = append(out, d)
	}
	// Newest first.
	slices.SortStableFunc(out, func(a, b *deployment) int {
		if c := b.created.Compare(a.created); c != 0 {
			return c
		}
		return int(b.id - a.id)
	})
	rep := reply{status: http.StatusOK, header: http.Header{}}
	list := []map[string]any{}
	for _, d := range page(c, out, rep.header) {
		list = append(list, c.deploymentJSON(d))
	}
	rep.body = list
	return rep
}

func (c *call) createDeployment() reply {
	var in struct {
		Ref                   *string `json:"ref"`
		Task                  *string `json:"task"`
		Environment           *string `json:"environment"`
		Description           *string `json:"description"`
		TransientEnvironment  *bool   `json:"transient_environment"`
		ProductionEnvironment *bool   `json:"production_environment"`
	}
	if !c.decode(&in) {
		return errReply(http.StatusBadRequest, "Problems parsing JSON")
	}
	if in.Ref == nil || *in.Ref == "" {
		return missing("ref")
	}
	cm, found := c.repo.resolve(*in.Ref)
	if !found {
		return errReply(http.StatusUnprocessableEntity, "No ref found for: "+*in.Ref)
	}
	d := &deployment{
		id: c.s.newIDLocked(), sha: cm.sha, ref: *in.Ref, task: "deploy", env: "production",
		creator: Login, created: c.s.now(),
	}
	if in.Task != nil && *in.Task != "" {
		d.task = *in.Task
	}
	if in.Environment != nil && *in.Environment != "" {
		d.env = *in.Environment
	}
	if in.Description != nil {
		d.desc = *in.Description
	}
	d.productionEnv = d.env == "production"
	if in.ProductionEnvironment != nil {
		d.productionEnv = *in.ProductionEnvironment
	}
	if in.TransientEnvironment != nil {
		d.transientEnv = *in.TransientEnvironment
	}
	c.repo.deployments = append(c.repo.deployments, d)
	return created(c.deploymentJSON(d))
}

func (c *call) deployment() *deployment {
	id, err := strconv.ParseInt(c.params["id"], 10, 64)
	if err != nil {
		return nil
	}
	for _, d := range c.repo.deployments {
		if d.id == id {
			return d
		}
	}
	return nil
}

func (c *call) statusJSON(d *deployment, st *status) map[string]any {
	du := c.s.apiURL("repos/%s/deployments/%d", c.repo.full(), d.id)
	return map[string]any{
		"url":             fmt.Sprintf("%s/statuses/%d", du, st.id),
		"id":              st.id,
		"node_id":         "DES_" + strconv.FormatInt(st.id, 36),
		"state":           st.state,
		"creator":         c.s.userJSON(st.creator),
		"description":     st.desc,
		"environment":     st.env,
		"target_url":      st.logURL,
		"log_url":         st.logURL,
		"environment_url": st.envURL,
		"created_at":      ts(st.created),
		"updated_at":      ts(st.created),
		"deployment_url":  du,
		"repository_url":  c.s.apiURL("repos/%s", c.repo.full()),
	}
}

func (c *call) listStatuses() reply {
	d := c.deployment()
	if d == nil {
		return notFound()
	}
	newest := slices.Clone(d.statuses)
	slices.Reverse(newest)
	rep := reply{status: http.StatusOK, header: http.Header{}}
	list := []map[string]any{}
	for _, st := range page(c, newest, rep.header) {
		list = append(list, c.statusJSON(d, st))
	}
	rep.body = list
	return rep
}

var deployStates = []string{"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}

func (c *call) createStatus() reply {
	d := c.deployment()
	if d == nil {
		return notFound()
	}
	var in struct {
		State          *string `json:"state"`
		LogURL         *string `json:"log_url"`
		TargetURL      *string `json:"target_url"`
		Description    *string `json:"description"`
		Environment    *string `json:"environment"`
		EnvironmentURL *string `json:"environment_url"`
		AutoInactive   *bool   `json:"auto_inactive"`
	}
	if !c.decode(&in) {
		return errReply(http.StatusBadRequest, "Problems parsing JSON")
	}
	if in.State == nil {
		return missing("state")
	}
	if !slices.Contains(deployStates, *in.State) {
		return invalid(fieldError{Resource: "DeploymentStatus", Field: "state", Code: "invalid", Value: *in.State})
	}
	st := &status{id: c.s.newIDLocked(), state: *in.State, env: d.env, creator: Login, created: c.s.now()}
	if in.LogURL != nil {
		st.logURL = *in.LogURL
	} else if in.TargetURL != nil {
		st.logURL = *in.TargetURL
	}
	if in.Description != nil {
		if utf8.RuneCountInString(*in.Description) > 140 {
			return invalid(fieldError{Resource: "DeploymentStatus", Field: "description", Code: "custom",
				Message: "description is too long (maximum is 140 characters)"})
		}
		st.desc = *in.Description
	}
	if in.EnvironmentURL != nil {
		st.envURL = *in.EnvironmentURL
	}
	if in.Environment != nil && *in.Environment != "" {
		st.env = *in.Environment
		d.env = st.env
	}
	d.statuses = append(d.statuses, st)
	// Like GitHub: a successful deployment makes the earlier ones to the
	// same environment inactive, unless auto_inactive is false.
	if st.state == "success" && (in.AutoInactive == nil || *in.AutoInactive) && !d.transientEnv {
		for _, o := range c.repo.deployments {
			if o == d || o.env != d.env || len(o.statuses) == 0 {
				continue
			}
			if last := o.statuses[len(o.statuses)-1]; last.state == "success" {
				o.statuses = append(o.statuses, &status{
					id: c.s.newIDLocked(), state: "inactive", env: o.env, creator: Login, created: st.created,
					desc: "superseded by deployment " + strconv.FormatInt(d.id, 10),
				})
			}
		}
	}
	return created(c.statusJSON(d, st))
}

// ---- issues and pull requests

func (c *call) labelJSON(name string) map[string]any {
	l := c.repo.labels[strings.ToLower(name)]
	return map[string]any{
		"id":          l.id,
		"node_id":     "LA_" + strconv.FormatInt(l.id, 36),
		"url":         c.s.apiURL("repos/%s/labels/%s", c.repo.full(), l.name),
		"name":        l.name,
		"color":       "ededed",
		"default":     false,
		"description": nil,
	}
}

func (c *call) issueJSON(it *item) map[string]any {
	u := c.s.apiURL("repos/%s/issues/%d", c.repo.full(), it.number)
	labels := []map[string]any{}
	for _, l := range it.labels {
		labels = append(labels, c.labelJSON(l))
	}
	assignees := []map[string]any{}
	for _, a := range it.assignees {
		assignees = append(assignees, c.s.userJSON(a))
	}
	var assignee any
	if len(it.assignees) > 0 {
		assignee = c.s.userJSON(it.assignees[0])
	}
	out := map[string]any{
		"id":                 it.id,
		"node_id":            "I_" + strconv.FormatInt(it.id, 36),
		"url":                u,
		"repository_url":     c.s.apiURL("repos/%s", c.repo.full()),
		"labels_url":         u + "/labels{/name}",
		"comments_url":       u + "/comments",
		"events_url":         u + "/events",
		"html_url":           c.s.htmlURL(c.repo, it),
		"number":             it.number,
		"state":              it.state,
		"state_reason":       nilIfEmpty(it.stateReason),
		"title":              it.title,
		"body":               nilIfEmpty(it.body),
		"user":               c.s.userJSON(it.user),
		"labels":             labels,
		"assignee":           assignee,
		"assignees":          assignees,
		"locked":             false,
		"comments":           0,
		"created_at":         ts(it.created),
		"updated_at":         ts(it.updated),
		"closed_at":          ts(it.closed),
		"author_association": "OWNER",
	}
	if it.pull {
		pu := c.s.apiURL("repos/%s/pulls/%d", c.repo.full(), it.number)
		out["pull_request"] = map[string]any{
			"url":       pu,
			"html_url":  c.s.htmlURL(c.repo, it),
			"diff_url":  c.s.htmlURL(c.repo, it) + ".diff",
			"patch_url": c.s.htmlURL(c.repo, it) + ".patch",
			"merged_at": nil,
		}
		out["draft"] = false
	}
	return out
}

func (c *call) listIssues() reply {
	q := c.r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	if state != "open" && state != "closed" && state != "all" {
		return invalid(fieldError{Resource: "Issue", Field: "state", Code: "invalid", Value: state})
	}
	var want []string
	for _, l := range strings.Split(q.Get("labels"), ",") {
		if l = strings.TrimSpace(l); l != "" {
			want = append(want, strings.ToLower(l))
		}
	}
	var since time.Time
	if v := q.Get("since"); v != "" {
		var err error
		if since, err = time.Parse(time.RFC3339, v); err != nil {
			return invalid(fieldError{Resource: "Issue", Field: "since", Code: "invalid", Value: v})
		}
	}
	var out []*item
	for _, it := range c.repo.items {
		if state != "all" && it.state != state {
			continue
		}
		if !hasLabels(it.labels, want) || (!since.IsZero() && it.updated.Before(since)) {
			continue
		}
		if a := q.Get("assignee"); a != "" {
			switch {
			case a == "none" && len(it.assignees) > 0,
				a == "*" && len(it.assignees) == 0,
				a != "none" && a != "*" && !slices.ContainsFunc(it.assignees, func(x string) bool { return strings.EqualFold(x, a) }):
				continue
			}
		}
		if cr := q.Get("creator"); cr != "" && !strings.EqualFold(cr, it.user) {
			continue
		}
		out = append(out, it)
	}
	if rep, bad := sortItems(out, q.Get("sort"), q.Get("direction"), "Issue"); bad {
		return rep
	}
	rep := reply{status: http.StatusOK, header: http.Header{}}
	list := []map[string]any{}
	for _, it := range page(c, out, rep.header) {
		list = append(list, c.issueJSON(it))
	}
	rep.body = list
	return rep
}

func hasLabels(have, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.ToLower(h) == w }) {
			return false
		}
	}
	return true
}

// sortItems sorts by created (default) or updated, newest first unless
// direction is asc.
func sortItems(items []*item, by, dir, resource string) (reply, bool) {
	if by == "" || by == "popularity" || by == "comments" || by == "long-running" {
		by = "created"
	}
	if by != "created" && by != "updated" {
		return invalid(fieldError{Resource: resource, Field: "sort", Code: "invalid", Value: by}), true
	}
	if dir == "" {
		dir = "desc"
	}
	if dir != "asc" && dir != "desc" {
		return invalid(fieldError{Resource: resource, Field: "direction", Code: "invalid", Value: dir}), true
	}
	key := func(it *item) time.Time {
		if by == "updated" {
			return it.updated
		}
		return it.created
	}
	slices.SortStableFunc(items, func(a, b *item) int {
		r := key(a).Compare(key(b))
		if r == 0 {
			r = a.number - b.number
		}
		if dir == "desc" {
			r = -r
		}
		return r
	})
	return reply{}, false
}

// issueInput is the body of POST /issues and PATCH /issues/{n}.
type issueInput struct {
	Title       *json.RawMessage `json:"title"`
	Body        *string          `json:"body"`
	State       *string          `json:"state"`
	StateReason *string          `json:"state_reason"`
	Labels      *[]any           `json:"labels"`
	Assignee    *string          `json:"assignee"`
	Assignees   *[]string        `json:"assignees"`
}

// title decodes a title, which GitHub accepts as a string or a number.
func (in issueInput) title() (string, bool) {
	if in.Title == nil {
		return "", false
	}
	var s string
	if json.Unmarshal(*in.Title, &s) == nil {
		return s, true
	}
	var n json.Number
	if json.Unmarshal(*in.Title, &n) == nil {
		return n.String(), true
	}
	return "", false
}

// labelNames accepts names or {"name": ...} objects, like GitHub.
func labelNames(raw []any) []string {
	var out []string
	for _, v := range raw {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case map[string]any:
			if n, isStr := v["name"].(string); isStr {
				out = append(out, n)
			}
		}
	}
	return out
}

// applyIssue validates in and applies it to it. Creating, a title is
// required.
func (c *call) applyIssue(it *item, in issueInput, creating bool) (reply, bool) {
	var errs []fieldError
	title, hasTitle := in.title()
	switch {
	case creating && (!hasTitle || strings.TrimSpace(title) == ""),
		!creating && hasTitle && strings.TrimSpace(title) == "":
		errs = append(errs, fieldError{Resource: "Issue", Field: "title", Code: "missing_field"})
	case hasTitle && utf8.RuneCountInString(title) > maxTitle:
		errs = append(errs, fieldError{Resource: "Issue", Field: "title", Code: "custom",
			Message: fmt.Sprintf("title is too long (maximum is %d characters)", maxTitle)})
	}
	if in.Body != nil && utf8.RuneCountInString(*in.Body) > MaxBody {
		errs = append(errs, fieldError{Resource: "Issue", Field: "body", Code: "custom",
			Message: fmt.Sprintf("body is too long (maximum is %d characters)", MaxBody)})
	}
	if in.State != nil && *in.State != "open" && *in.State != "closed" {
		errs = append(errs, fieldError{Resource: "Issue", Field: "state", Code: "invalid", Value: *in.State})
	}
	var assignees []string
	if in.Assignee != nil && *in.Assignee != "" {
		assignees = append(assignees, *in.Assignee)
	}
	if in.Assignees != nil {
		assignees = append(assignees, *in.Assignees...)
	}
	for _, a := range assignees {
		if !c.repo.collaborators[strings.ToLower(a)] {
			errs = append(errs, fieldError{Resource: "Issue", Field: "assignees", Code: "invalid", Value: a})
		}
	}
	if len(assignees) > 10 {
		errs = append(errs, fieldError{Resource: "Issue", Field: "assignees", Code: "custom",
			Message: "assignees is too long (maximum is 10)"})
	}
	if len(errs) > 0 {
		return invalid(errs...), false
	}

	if hasTitle {
		it.title = title
	}
	if in.Body != nil {
		it.body = *in.Body
	}
	if in.Labels != nil {
		it.labels = nil
		for _, l := range labelNames(*in.Labels) {
			l = strings.TrimSpace(l)
			if l == "" || utf8.RuneCountInString(l) > 50 {
				continue
			}
			if c.repo.labels[strings.ToLower(l)] == nil {
				c.repo.labels[strings.ToLower(l)] = &label{id: c.s.newIDLocked(), name: l}
			}
			name := c.repo.labels[strings.ToLower(l)].name
			if !slices.Contains(it.labels, name) {
				it.labels = append(it.labels, name)
			}
		}
	}
	if in.Assignee != nil || in.Assignees != nil {
		it.assignees = nil
		for _, a := range assignees {
			if !slices.ContainsFunc(it.assignees, func(x string) bool { return strings.EqualFold(x, a) }) {
				it.assignees = append(it.assignees, a)
			}
		}
	}
	it.updated = c.s.now()
	if in.State != nil {
		reason := ""
		if in.StateReason != nil {
			reason = *in.StateReason
		}
		c.s.setStateLocked(it, *in.State, reason)
	}
	return reply{}, true
}

func (c *call) newItem() *item {
	now := c.s.now()
	return &item{
		id: c.s.newIDLocked(), number: len(c.repo.items) + 1, state: "open",
		user: Login, created: now, updated: now,
	}
}

func (c *call) createIssue() reply {
	var in issueInput
	if !c.decode(&in) {
		return errReply(http.StatusBadRequest, "Problems parsing JSON")
	}
	in.State = nil // not settable on create
	it := c.newItem()
	if rep, done := c.applyIssue(it, in, true); !done {
		return rep
	}
	c.repo.items = append(c.repo.items, it)
	rep := created(c.issueJSON(it))
	rep.header = http.Header{"Location": {c.s.apiURL("repos/%s/issues/%d", c.repo.full(), it.number)}}
	return rep
}

func (c *call) item() *item {
	n, err := strconv.Atoi(c.params["number"])
	if err != nil || n < 1 || n > len(c.repo.items) {
		return nil
	}
	return c.repo.items[n-1]
}

func (c *call) getIssue() reply {
	it := c.item()
	if it == nil {
		return notFound()
	}
	return ok(c.issueJSON(it))
}

func (c *call) editIssue() reply {
	it := c.item()
	if it == nil {
		return notFound()
	}
	var in issueInput
	if !c.decode(&in) {
		return errReply(http.StatusBadRequest, "Problems parsing JSON")
	}
	if rep, done := c.applyIssue(it, in, false); !done {
		return rep
	}
	return ok(c.issueJSON(it))
}

func (c *call) branchJSON(branch, sha string) map[string]any {
	return map[string]any{
		"label": c.repo.owner + ":" + branch,
		"ref":   branch,
		"sha":   sha,
		"user":  c.s.userJSON(c.repo.owner),
		"repo":  c.s.repoJSON(c.repo),
	}
}

func (c *call) pullJSON(it *item) map[string]any {
	out := c.issueJSON(it)
	delete(out, "pull_request")
	delete(out, "labels_url")
	delete(out, "events_url")
	delete(out, "repository_url")
	out["url"] = c.s.apiURL("repos/%s/pulls/%d", c.repo.full(), it.number)
	out["node_id"] = "PR_" + strconv.FormatInt(it.id, 36)
	out["issue_url"] = c.s.apiURL("repos/%s/issues/%d", c.repo.full(), it.number)
	out["diff_url"] = c.s.htmlURL(c.repo, it) + ".diff"
	out["patch_url"] = c.s.htmlURL(c.repo, it) + ".patch"
	out["merged_at"] = nil
	out["merge_commit_sha"] = nil
	headSHA, baseSHA := it.headSHA, it.baseSHA
	if it.state == "open" {
		// An open pull request follows its branches.
		if sha, found := c.repo.branches[it.head]; found {
			headSHA = sha
		}
		if sha, found := c.repo.branches[it.base]; found {
			baseSHA = sha
		}
	}
	out["head"] = c.branchJSON(it.head, headSHA)
	out["base"] = c.branchJSON(it.base, baseSHA)
	return out
}

// headBranch parses a pull request head, "branch" or "owner:branch".
func (c *call) headBranch(head string) (string, bool) {
	owner, branch, found := strings.Cut(head, ":")
	if !found {
		return head, true
	}
	return branch, strings.EqualFold(owner, c.repo.owner)
}

func (c *call) listPulls() reply {
	q := c.r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	if state != "open" && state != "closed" && state != "all" {
		return invalid(fieldError{Resource: "PullRequest", Field: "state", Code: "invalid", Value: state})
	}
	var out []*item
	for _, it := range c.repo.items {
		if !it.pull || (state != "all" && it.state != state) {
			continue
		}
		if h := q.Get("head"); h != "" {
			branch, sameOwner := c.headBranch(h)
			if !sameOwner || branch != it.head {
				continue
			}
		}
		if b := q.Get("base"); b != "" && b != it.base {
			continue
		}
		out = append(out, it)
	}
	if rep, bad := sortItems(out, q.Get("sort"), q.Get("direction"), "PullRequest"); bad {
		return rep
	}
	rep := reply{status: http.StatusOK, header: http.Header{}}
	list := []map[string]any{}
	for _, it := range page(c, out, rep.header) {
		list = append(list, c.pullJSON(it))
	}
	rep.body = list
	return rep
}

func (c *call) createPull() reply {
	var in struct {
		Title *string `json:"title"`
		Head  *string `json:"head"`
		Base  *string `json:"base"`
		Body  *string `json:"body"`
		Draft *bool   `json:"draft"`
	}
	if !c.decode(&in) {
		return errReply(http.StatusBadRequest, "Problems parsing JSON")
	}
	var errs []fieldError
	if in.Title == nil || strings.TrimSpace(*in.Title) == "" {
		errs = append(errs, fieldError{Resource: "PullRequest", Field: "title", Code: "missing_field"})
	}
	if in.Head == nil || *in.Head == "" {
		errs = append(errs, fieldError{Resource: "PullRequest", Field: "head", Code: "missing_field"})
	}
	if in.Base == nil || *in.Base == "" {
		errs = append(errs, fieldError{Resource: "PullRequest", Field: "base", Code: "missing_field"})
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}
	if in.Body != nil && utf8.RuneCountInString(*in.Body) > MaxBody {
		return invalid(fieldError{Resource: "PullRequest", Field: "body", Code: "custom",
			Message: fmt.Sprintf("body is too long (maximum is %d characters)", MaxBody)})
	}
	head, sameOwner := c.headBranch(*in.Head)
	headSHA, headOK := c.repo.branches[head]
	if !sameOwner || !headOK {
		errs = append(errs, fieldError{Resource: "PullRequest", Field: "head", Code: "invalid"})
	}
	baseSHA, baseOK := c.repo.branches[*in.Base]
	if !baseOK {
		errs = append(errs, fieldError{Resource: "PullRequest", Field: "base", Code: "invalid"})
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}
	for _, it := range c.repo.items {
		if it.pull && it.state == "open" && it.head == head && it.base == *in.Base {
			return invalid(fieldError{Resource: "PullRequest", Code: "custom",
				Message: fmt.Sprintf("A pull request already exists for %s:%s.", c.repo.owner, head)})
		}
	}
	if c.repo.isAncestor(headSHA, baseSHA) {
		return invalid(fieldError{Resource: "PullRequest", Code: "custom",
			Message: fmt.Sprintf("No commits between %s and %s", *in.Base, head)})
	}
	it := c.newItem()
	it.pull, it.head, it.base, it.headSHA, it.baseSHA = true, head, *in.Base, headSHA, baseSHA
	it.title = *in.Title
	if in.Body != nil {
		it.body = *in.Body
	}
	c.repo.items = append(c.repo.items, it)
	out := c.pullJSON(it)
	out["draft"] = in.Draft != nil && *in.Draft
	rep := created(out)
	rep.header = http.Header{"Location": {c.s.apiURL("repos/%s/pulls/%d", c.repo.full(), it.number)}}
	return rep
}
