package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/repourl"
)

// commitStatus sets a commit status on the event's revision, in the
// repository of the event's source URL, on GitHub, GitLab or Gitea.
type commitStatus struct {
	kind  string
	base  *url.URL // nil: derived from the source URL
	token string
}

// ErrNotApplicable says an event cannot be told to this provider: a
// commit status needs a git commit and a repository it can name.
var ErrNotApplicable = errors.New("not applicable")

var (
	commitSHA   = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)
	repoSegment = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
)

// repoOf cuts a git URL into the host a web API is served from (scheme and
// host, https for ssh URLs) and the repository's path ("org/app"), without
// ".git". segments bounds how many parts the path has (2 for GitHub and
// Gitea; GitLab's groups nest).
func repoOf(raw string, minSeg, maxSeg int) (host, path string, err error) {
	u := repourl.Split(raw)
	scheme := "https"
	var h string
	switch u.Form {
	case repourl.Scheme:
		h = u.Host
		if s := strings.ToLower(u.Scheme); s == "http" {
			scheme = s
		} else if s != "https" {
			// ssh://host:2222/...: the API is served over https on the
			// default port.
			h = stripPort(h)
		}
	case repourl.SCP:
		h = u.Host
	default:
		return "", "", fmt.Errorf("%w: source %q is not a git URL", ErrNotApplicable, cut(raw, 128))
	}
	p := strings.Trim(u.Path, "/")
	p = strings.TrimSuffix(p, ".git")
	segs := strings.Split(p, "/")
	if len(segs) < minSeg || len(segs) > maxSeg {
		return "", "", fmt.Errorf("%w: source %q names no repository of the form owner/name", ErrNotApplicable, cut(raw, 128))
	}
	for _, s := range segs {
		if !repoSegment.MatchString(s) || s == "." || s == ".." {
			return "", "", fmt.Errorf("%w: source %q has an unusual repository path", ErrNotApplicable, cut(raw, 128))
		}
	}
	if h == "" {
		return "", "", fmt.Errorf("%w: source %q has no host", ErrNotApplicable, cut(raw, 128))
	}
	return scheme + "://" + strings.ToLower(h), p, nil
}

func stripPort(h string) string {
	if i := strings.LastIndexByte(h, ':'); i > 0 && !strings.HasSuffix(h, "]") {
		return h[:i]
	}
	return h
}

// state is the commit state of the event for the provider: info succeeds,
// error fails, warning is each provider's nearest word.
func (c *commitStatus) state(severity string) string {
	switch c.kind {
	case flotillav1.ProviderGitLab:
		if severity == flotillav1.SeverityInfo {
			return "success"
		}
		return "failed"
	case flotillav1.ProviderGitea:
		return map[string]string{"info": "success", "warning": "warning", "error": "failure"}[severity]
	}
	return map[string]string{"info": "success", "warning": "error", "error": "failure"}[severity]
}

// statusContext names the status, so that each Application (or Fleet) has
// one per commit, replaced by its next event.
func statusContext(ev Event) string {
	name := ev.Application
	if name == "" {
		name = ev.Fleet
	}
	if name == "" {
		name = ev.Cluster
	}
	return "flotilla/" + name
}

func (c *commitStatus) send(ctx context.Context, client *http.Client, m Message) error {
	ev := m.Event
	if !commitSHA.MatchString(ev.Revision) {
		return fmt.Errorf("%w: revision %q is not a git commit", ErrNotApplicable, cut(ev.Revision, 80))
	}
	minSeg, maxSeg := 2, 2
	if c.kind == flotillav1.ProviderGitLab {
		maxSeg = 20
	}
	host, repo, err := repoOf(ev.RepoURL, minSeg, maxSeg)
	if err != nil {
		return err
	}
	target, err := c.endpoint(host, repo, ev.Revision)
	if err != nil {
		return err
	}
	state := c.state(ev.Severity)
	h := http.Header{}
	var body any
	switch c.kind {
	case flotillav1.ProviderGitLab:
		h.Set("PRIVATE-TOKEN", c.token)
		body = map[string]string{"state": state, "name": statusContext(ev), "description": cut(m.Text, 255)}
	case flotillav1.ProviderGitea:
		h.Set("Authorization", "token "+c.token)
		body = map[string]string{"state": state, "context": statusContext(ev), "description": cut(m.Text, 140)}
	default:
		h.Set("Authorization", "Bearer "+c.token)
		h.Set("Accept", "application/vnd.github+json")
		body = map[string]string{"state": state, "context": statusContext(ev), "description": cut(m.Text, 140)}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return post(ctx, client, target, b, h)
}

// endpoint is the URL of the commit's statuses on the provider's API.
func (c *commitStatus) endpoint(host, repo, sha string) (*url.URL, error) {
	base := host
	if c.base != nil {
		base = strings.TrimSuffix(c.base.String(), "/")
	} else if c.kind == flotillav1.ProviderGitHub {
		if host == "https://github.com" {
			base = "https://api.github.com"
		} else {
			base = host + "/api/v3"
		}
	}
	var p string
	switch c.kind {
	case flotillav1.ProviderGitLab:
		p = "/api/v4/projects/" + url.PathEscape(repo) + "/statuses/" + sha
	case flotillav1.ProviderGitea:
		p = "/api/v1/repos/" + repo + "/statuses/" + sha
	default:
		p = "/repos/" + repo + "/statuses/" + sha
	}
	u, err := url.Parse(base + p)
	if err != nil {
		return nil, fmt.Errorf("%w: the statuses URL of %s", ErrInvalidURL, host)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: scheme %q", ErrInvalidURL, cut(u.Scheme, 16))
	}
	return u, nil
}
