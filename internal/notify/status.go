package notify

import (
	"context"
	"fmt"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// States of a CommitStatus: each provider's own words for them are chosen
// by SetCommitStatus.
const (
	StateSuccess = "success"
	StateFailure = "failure"
	StateError   = "error"
)

// CommitStatus is one commit status set outside of any Notification: the
// summary of `flotilla fleet preview --post-status` on a pull request's
// commit.
type CommitStatus struct {
	// Provider is github, gitlab or gitea.
	Provider string
	// BaseURL is the API's base, as a Notification's spec.provider.url:
	// for GitHub https://api.github.com (the default) or an Enterprise
	// server's https://HOST/api/v3; for GitLab and Gitea the server's URL
	// (required).
	BaseURL string
	// Repo is the repository, "owner/name" (GitLab: its groups too).
	Repo string
	// SHA is the commit, 40 or 64 hex digits.
	SHA string
	// State is StateSuccess, StateFailure or StateError.
	State string
	// Context names the status; a later one of the same name replaces it.
	Context string
	// Description is cut to the provider's bound (140 bytes, GitLab 255).
	Description string
	// Token authenticates; it is sent in the provider's header only and
	// never appears in an error.
	Token string
}

// SetCommitStatus posts st with the client every provider uses (no
// proxy from the environment, no redirect followed, 10 s per request),
// dialing only the addresses rule allows. It tries once: the caller
// decides whether to try again.
func SetCommitStatus(ctx context.Context, st CommitStatus, rule AddressRule) error {
	c, host, err := st.provider()
	if err != nil {
		return err
	}
	if err := st.check(); err != nil {
		return err
	}
	return c.set(ctx, newHTTPClient(rule), host, st.Repo, st.SHA, c.word(st.State), st.Context, st.Description)
}

// CheckTarget checks where st would be sent and with what, before there is
// a state or a commit to send: the provider, the token and the API's URL
// (plain http only to a loopback address).
func (st CommitStatus) CheckTarget() error {
	_, _, err := st.provider()
	return err
}

// provider is the commitStatus of st and the host its endpoint is derived
// from when BaseURL is empty (GitHub only).
func (st CommitStatus) provider() (*commitStatus, string, error) {
	switch st.Provider {
	case flotillav1.ProviderGitHub, flotillav1.ProviderGitLab, flotillav1.ProviderGitea:
	default:
		return nil, "", fmt.Errorf("%w: unknown commit status provider %q: want github, gitlab or gitea", ErrInvalidProvider, cut(st.Provider, 32))
	}
	if st.Token == "" {
		return nil, "", fmt.Errorf("%w: %s needs a token", ErrInvalidProvider, st.Provider)
	}
	c := &commitStatus{kind: st.Provider, token: st.Token}
	if st.BaseURL == "" {
		if st.Provider != flotillav1.ProviderGitHub {
			return nil, "", fmt.Errorf("%w: %s needs the server's URL", ErrInvalidURL, st.Provider)
		}
		return c, "https://github.com", nil
	}
	u, err := checkURL(st.BaseURL, false)
	if err != nil {
		return nil, "", err
	}
	// Refused early, so that CheckTarget sees it; set refuses it again
	// where the request is built.
	if err := refusePlainHTTP(st.Provider, u); err != nil {
		return nil, "", err
	}
	c.base = u
	return c, "", nil
}

// check bounds what the caller gave: a repository path of plain segments,
// a commit, a known state and a context of printable ASCII.
func (st CommitStatus) check() error {
	if why := repoPathProblem(st.Repo, repoSegments(st.Provider)); why != "" {
		return fmt.Errorf("%w: repository %q %s", ErrInvalidProvider, cut(st.Repo, 128), why)
	}
	if !commitSHA.MatchString(st.SHA) {
		return fmt.Errorf("%w: %q is not a full git commit", ErrNotApplicable, cut(st.SHA, 80))
	}
	switch st.State {
	case StateSuccess, StateFailure, StateError:
	default:
		return fmt.Errorf("%w: state %q: want success, failure or error", ErrInvalidProvider, cut(st.State, 32))
	}
	if st.Context == "" || len(st.Context) > 255 || printable([]byte(st.Context)) != st.Context {
		return fmt.Errorf("%w: the status's context must be 1 to 255 printable characters", ErrInvalidProvider)
	}
	return nil
}
