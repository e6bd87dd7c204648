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

// repoSegments bounds how many parts a repository's path has on a
// provider: owner/name, but GitLab's groups nest.
func repoSegments(kind string) int {
	if kind == flotillav1.ProviderGitLab {
		return 20
	}
	return 2
}

// repoPathProblem says what is wrong with a repository's path ("org/app"),
// or "" when it is 2 to maxSeg plain segments (no dot segments, nothing
// that would change the API path it is put in).
func repoPathProblem(p string, maxSeg int) string {
	segs := strings.Split(p, "/")
	if len(segs) < 2 || len(segs) > maxSeg {
		return "names no repository of the form owner/name"
	}
	for _, s := range segs {
		if !repoSegment.MatchString(s) || s == "." || s == ".." {
			return "has an unusual repository path"
		}
	}
	return ""
}

// repoOf cuts a git URL into the host a web API is served from (scheme and
// host, https for ssh URLs) and the repository's path ("org/app"), without
// ".git". maxSeg bounds how many parts the path has (repoSegments).
func repoOf(raw string, maxSeg int) (host, path string, err error) {
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
	if why := repoPathProblem(p, maxSeg); why != "" {
		return "", "", fmt.Errorf("%w: source %q %s", ErrNotApplicable, cut(raw, 128), why)
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
// error fails, warning is each provider's nearest word (Gitea has one).
func (c *commitStatus) state(severity string) string {
	switch severity {
	case flotillav1.SeverityInfo:
		return c.word(StateSuccess)
	case flotillav1.SeverityWarning:
		if c.kind == flotillav1.ProviderGitea {
			return "warning"
		}
		return c.word(StateError)
	}
	return c.word(StateFailure)
}

// word is the provider's word for a state: GitLab has one word, failed,
// for every state but success.
func (c *commitStatus) word(state string) string {
	if c.kind == flotillav1.ProviderGitLab && state != StateSuccess {
		return "failed"
	}
	return state
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
	host, repo, err := repoOf(ev.RepoURL, repoSegments(c.kind))
	if err != nil {
		return err
	}
	return c.set(ctx, client, host, repo, ev.Revision, c.state(ev.Severity), statusContext(ev), m.Text)
}

// set posts one status on the commit sha of repo, served at host (used
// only when c.base is nil), with the provider's bound on the description.
// The token goes over https, or plain http to a loopback address only:
// host may come from a source's http:// URL.
func (c *commitStatus) set(ctx context.Context, client *http.Client, host, repo, sha, state, name, text string) error {
	target, err := c.endpoint(host, repo, sha)
	if err != nil {
		return err
	}
	if err := refusePlainHTTP(c.kind, target); err != nil {
		return err
	}
	h := http.Header{}
	var body any
	switch c.kind {
	case flotillav1.ProviderGitLab:
		h.Set("PRIVATE-TOKEN", c.token)
		body = map[string]string{"state": state, "name": name, "description": cut(text, 255)}
	case flotillav1.ProviderGitea:
		h.Set("Authorization", "token "+c.token)
		body = map[string]string{"state": state, "context": name, "description": cut(text, 140)}
	default:
		h.Set("Authorization", "Bearer "+c.token)
		h.Set("Accept", "application/vnd.github+json")
		body = map[string]string{"state": state, "context": name, "description": cut(text, 140)}
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
