package webhook

import (
	"context"
	"net/http"
)

// provider is one kind of Git server: how to find its requests, check
// their signature, and read their push events.
type provider struct {
	name string
	// secretKey names the provider's key in the webhook Secret.
	secretKey string
	// verify checks the request's signature or token against secret.
	verify func(h http.Header, secret, body []byte) error
	// event is the event the request carries; parse reads its body when
	// it is a push (ping says the event is a test delivery).
	event func(h http.Header) (parse func([]byte) (*push, error), ping bool)
}

// providerOf finds the provider by the headers each one sends. Gitea,
// Forgejo and Gogs send X-GitHub-Event too, so they are looked for first.
func providerOf(h http.Header) *provider {
	switch {
	case h.Get("X-Forgejo-Event") != "" || h.Get("X-Gitea-Event") != "" || h.Get("X-Gogs-Event") != "":
		return &gitea
	case h.Get("X-Gitlab-Event") != "":
		return &gitlab
	case h.Get("X-Event-Key") != "":
		return &bitbucket
	case h.Get("X-GitHub-Event") != "":
		return &github
	}
	return nil
}

var github = provider{
	name:      "github",
	secretKey: KeyGitHub,
	verify: func(h http.Header, secret, body []byte) error {
		if sig := h.Get("X-Hub-Signature-256"); sig != "" {
			return verifySHA256(secret, body, sig, "sha256=")
		}
		return verifySHA1(secret, body, h.Get("X-Hub-Signature"))
	},
	event: func(h http.Header) (func([]byte) (*push, error), bool) {
		switch h.Get("X-GitHub-Event") {
		case "push":
			return parseGitHub, false
		case "ping":
			return nil, true
		}
		return nil, false
	},
}

var gitea = provider{
	name:      "gitea",
	secretKey: KeyGitea,
	verify: func(h http.Header, secret, body []byte) error {
		for _, name := range []string{"X-Forgejo-Signature", "X-Gitea-Signature", "X-Gogs-Signature"} {
			if sig := h.Get(name); sig != "" {
				return verifySHA256(secret, body, sig, "")
			}
		}
		return errUnauthenticated
	},
	event: func(h http.Header) (func([]byte) (*push, error), bool) {
		for _, name := range []string{"X-Forgejo-Event", "X-Gitea-Event", "X-Gogs-Event"} {
			if ev := h.Get(name); ev != "" {
				return map[string]func([]byte) (*push, error){"push": parseGitHub}[ev], false
			}
		}
		return nil, false
	},
}

var gitlab = provider{
	name:      "gitlab",
	secretKey: KeyGitLab,
	verify: func(h http.Header, secret, _ []byte) error {
		return verifyToken(secret, h.Get("X-Gitlab-Token"))
	},
	event: func(h http.Header) (func([]byte) (*push, error), bool) {
		switch h.Get("X-Gitlab-Event") {
		case "Push Hook", "Tag Push Hook", "System Hook":
			return parseGitLab, false
		}
		return nil, false
	},
}

// bitbucket is Bitbucket Cloud (repo:push) and Bitbucket Server or Data
// Center (repo:refs_changed); both sign with X-Hub-Signature: sha256=….
var bitbucket = provider{
	name:      "bitbucket",
	secretKey: KeyBitbucket,
	verify: func(h http.Header, secret, body []byte) error {
		return verifySHA256(secret, body, h.Get("X-Hub-Signature"), "sha256=")
	},
	event: func(h http.Header) (func([]byte) (*push, error), bool) {
		switch h.Get("X-Event-Key") {
		case "repo:push":
			return parseBitbucketCloud, false
		case "repo:refs_changed":
			return parseBitbucketServer, false
		case "diagnostics:ping":
			return nil, true
		}
		return nil, false
	},
}

// authenticate checks the request against the provider's key.
func (p *provider) authenticate(ctx context.Context, s *secrets, h http.Header, body []byte) error {
	secret, err := s.get(ctx, p.secretKey)
	if err != nil {
		return err
	}
	return p.verify(h, secret, body)
}
