package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// push is what a notification says moved: the repository, named by every
// URL the payload gives for it, and the branches and tags pushed.
type push struct {
	// urls are the repository's addresses (clone over https and ssh, web
	// page); a source matches when it names any of them.
	urls []string
	// branches and tags are the short names of the refs pushed.
	branches, tags []string
	// defaultBranch is the repository's default branch, when the payload
	// says; HEAD and an empty targetRevision follow it.
	defaultBranch string
}

// maxRefs bounds the refs one payload may name; maxURLs the addresses.
const (
	maxRefs = 100
	maxURLs = 16
)

// errPayload is a payload that is not what its event header promised.
var errPayload = errors.New("malformed payload")

func payloadError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errPayload, fmt.Sprintf(format, args...))
}

// decode reads one JSON object into v and nothing after it.
func decode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return payloadError("not a JSON object of the expected form: %s", jsonProblem(err))
	}
	if dec.More() {
		return payloadError("text after the JSON object")
	}
	return nil
}

// jsonProblem says what was wrong without quoting the body.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type", typ.Field)
	default:
		return "unexpected end"
	}
}

// addRef records one pushed ref, given as a full name (refs/heads/main) or,
// with kind "branch" or "tag", as a short one.
func (p *push) addRef(ref, kind string) {
	if len(p.branches)+len(p.tags) >= maxRefs {
		return
	}
	switch {
	case strings.HasPrefix(ref, "refs/heads/"):
		p.branches = append(p.branches, strings.TrimPrefix(ref, "refs/heads/"))
	case strings.HasPrefix(ref, "refs/tags/"):
		p.tags = append(p.tags, strings.TrimPrefix(ref, "refs/tags/"))
	case ref == "":
	case strings.EqualFold(kind, "branch"):
		p.branches = append(p.branches, ref)
	case strings.EqualFold(kind, "tag"):
		p.tags = append(p.tags, ref)
	}
}

func (p *push) addURLs(urls ...string) {
	for _, u := range urls {
		if u != "" && len(p.urls) < maxURLs {
			p.urls = append(p.urls, u)
		}
	}
}

// check refuses a push that names no repository or no ref.
func (p *push) check() error {
	if len(p.urls) == 0 {
		return payloadError("no repository URL")
	}
	if len(p.branches)+len(p.tags) == 0 {
		return payloadError("no branch or tag")
	}
	return nil
}

// githubPush is the push event of GitHub, and of Gitea, Forgejo and Gogs,
// which send the same fields.
type githubPush struct {
	Ref        string `json:"ref"`
	Repository struct {
		HTMLURL       string `json:"html_url"`
		CloneURL      string `json:"clone_url"`
		SSHURL        string `json:"ssh_url"`
		GitURL        string `json:"git_url"`
		DefaultBranch string `json:"default_branch"`
	} `json:"repository"`
}

func parseGitHub(body []byte) (*push, error) {
	var e githubPush
	if err := decode(body, &e); err != nil {
		return nil, err
	}
	p := &push{defaultBranch: e.Repository.DefaultBranch}
	p.addURLs(e.Repository.CloneURL, e.Repository.SSHURL, e.Repository.HTMLURL, e.Repository.GitURL)
	p.addRef(e.Ref, "")
	return p, p.check()
}

// gitlabPush is GitLab's Push Hook and Tag Push Hook (object_kind push and
// tag_push), also as a system hook.
type gitlabPush struct {
	ObjectKind string `json:"object_kind"`
	Ref        string `json:"ref"`
	Project    struct {
		WebURL        string `json:"web_url"`
		GitHTTPURL    string `json:"git_http_url"`
		GitSSHURL     string `json:"git_ssh_url"`
		DefaultBranch string `json:"default_branch"`
	} `json:"project"`
	Repository struct {
		Homepage   string `json:"homepage"`
		GitHTTPURL string `json:"git_http_url"`
		GitSSHURL  string `json:"git_ssh_url"`
	} `json:"repository"`
}

func parseGitLab(body []byte) (*push, error) {
	var e gitlabPush
	if err := decode(body, &e); err != nil {
		return nil, err
	}
	if e.ObjectKind != "push" && e.ObjectKind != "tag_push" {
		return nil, payloadError("object_kind %q is not a push", printable(e.ObjectKind))
	}
	p := &push{defaultBranch: e.Project.DefaultBranch}
	p.addURLs(e.Project.GitHTTPURL, e.Project.GitSSHURL, e.Project.WebURL,
		e.Repository.GitHTTPURL, e.Repository.GitSSHURL, e.Repository.Homepage)
	p.addRef(e.Ref, "")
	return p, p.check()
}

// bitbucketCloudPush is Bitbucket Cloud's repo:push.
type bitbucketCloudPush struct {
	Push struct {
		Changes []struct {
			New *struct {
				Type string `json:"type"`
				Name string `json:"name"`
			} `json:"new"`
			Old *struct {
				Type string `json:"type"`
				Name string `json:"name"`
			} `json:"old"`
		} `json:"changes"`
	} `json:"push"`
	Repository struct {
		FullName string `json:"full_name"`
		Links    struct {
			HTML struct {
				Href string `json:"href"`
			} `json:"html"`
		} `json:"links"`
	} `json:"repository"`
}

func parseBitbucketCloud(body []byte) (*push, error) {
	var e bitbucketCloudPush
	if err := decode(body, &e); err != nil {
		return nil, err
	}
	p := &push{}
	p.addURLs(e.Repository.Links.HTML.Href)
	for _, c := range e.Push.Changes {
		// A deleted ref has only its old side: it moved too.
		switch {
		case c.New != nil:
			p.addRef(c.New.Name, c.New.Type)
		case c.Old != nil:
			p.addRef(c.Old.Name, c.Old.Type)
		}
	}
	return p, p.check()
}

// bitbucketServerPush is Bitbucket Server's (Data Center's) repo:refs_changed.
type bitbucketServerPush struct {
	Repository struct {
		Links struct {
			Clone []struct {
				Href string `json:"href"`
			} `json:"clone"`
			Self []struct {
				Href string `json:"href"`
			} `json:"self"`
		} `json:"links"`
	} `json:"repository"`
	Changes []struct {
		Ref struct {
			ID        string `json:"id"`
			DisplayID string `json:"displayId"`
			Type      string `json:"type"`
		} `json:"ref"`
	} `json:"changes"`
}

func parseBitbucketServer(body []byte) (*push, error) {
	var e bitbucketServerPush
	if err := decode(body, &e); err != nil {
		return nil, err
	}
	p := &push{}
	for _, l := range e.Repository.Links.Clone {
		p.addURLs(l.Href)
	}
	for _, c := range e.Changes {
		if c.Ref.ID != "" {
			p.addRef(c.Ref.ID, "")
		} else {
			p.addRef(c.Ref.DisplayID, c.Ref.Type)
		}
	}
	return p, p.check()
}

// printable cuts s to 64 bytes of printable ASCII, for an error message.
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 64 {
			b.WriteString("…")
			break
		}
		if r < 0x20 || r > 0x7e {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}
