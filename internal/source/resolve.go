package source

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/Masterminds/semver/v3"
)

// GitRequest asks for one revision of one git repository.
type GitRequest struct {
	// URL is https://, http://, ssh://, scp-like user@host:path, or file://
	// when the Client allows local repositories.
	URL string
	// Revision is a branch, a tag, a semver range over tags (">=1.0.0 <2.0.0",
	// "~1.2"), a full ref ("refs/heads/main"), or a full commit SHA. Empty
	// means the branch the remote's HEAD points to.
	Revision string
	// Credentials, if any, authenticate to the server.
	Credentials *Credentials
	// Verify, if set, is an ssh or gpg Verification: Fetch returns the
	// checkout only when the commit is signed by one of its keys. Resolve
	// does not check signatures.
	Verify *Verification
	// Fresh lists the remote's refs now, even when another caller listed
	// them within Options.ResolveShare: a user's refresh or sync, and the
	// revision poller, ask for it.
	Fresh bool
}

// Revision is a requested revision resolved to a commit.
type Revision struct {
	// Ref is the ref that matched, such as refs/heads/main or
	// refs/tags/v1.2.0; empty when the revision was a commit SHA.
	Ref string
	// Commit is the full commit SHA, lower-case.
	Commit string
}

// maxRevisionLength bounds a revision; git's own ref names are shorter.
const maxRevisionLength = 255

// Resolve lists the remote's refs (git ls-remote) and returns the commit the
// revision names. Annotated tags resolve to the commit they point to; a
// semver range resolves to the highest matching tag. The remote is contacted
// even for a commit SHA, so the credentials are checked every time.
func (c *Client) Resolve(ctx context.Context, req GitRequest) (Revision, error) {
	p, err := c.prepare("resolve", req)
	if err != nil {
		return Revision{}, err
	}
	defer p.auth.cleanup()
	return c.resolve(ctx, p)
}

// prepared is a request that passed validation, with its credentials set up.
type prepared struct {
	req    GitRequest
	remote remote
	auth   *auth
}

func (c *Client) prepare(op string, req GitRequest) (*prepared, error) {
	r, err := parseURL(req.URL, c.opts.AllowLocal)
	if err != nil {
		return nil, asError(err, op, redactURL(req.URL), req.Revision)
	}
	if err := checkRevision(req.Revision); err != nil {
		return nil, asError(err, op, r.raw, "")
	}
	a, err := c.newAuth(r, req.Credentials)
	if err != nil {
		return nil, asError(err, op, r.raw, req.Revision)
	}
	return &prepared{req: req, remote: r, auth: a}, nil
}

// checkRevision refuses revisions that are unsafe to print. A revision never
// reaches git's command line: only the commit SHA it resolves to does.
func checkRevision(rev string) error {
	if len(rev) > maxRevisionLength {
		return &Error{Kind: ErrInvalidRevision, Detail: fmt.Sprintf("longer than %d bytes", maxRevisionLength)}
	}
	for _, r := range rev {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return &Error{Kind: ErrInvalidRevision, Detail: "unprintable character"}
		}
	}
	return nil
}

func (c *Client) resolve(ctx context.Context, p *prepared) (Revision, error) {
	if c.resolved.ttl <= 0 {
		return c.listRefs(ctx, p)
	}
	return c.resolved.do(ctx, p, func(ctx context.Context) (Revision, error) {
		// A listing shared by many callers runs with credentials of its
		// own: the caller that started it may be gone, its own cleaned up.
		q, err := c.prepare("resolve", p.req)
		if err != nil {
			return Revision{}, err
		}
		defer q.auth.cleanup()
		return c.listRefs(ctx, q)
	})
}

func (c *Client) listRefs(ctx context.Context, p *prepared) (Revision, error) {
	out, err := c.run(ctx, invocation{
		args:      []string{"ls-remote", "--symref", "--", p.remote.raw},
		remote:    p.remote,
		auth:      p.auth,
		timeout:   c.opts.ResolveTimeout,
		maxStdout: c.opts.MaxRefsBytes,
	})
	if err != nil {
		return Revision{}, asError(err, "resolve", p.remote.raw, p.req.Revision)
	}
	rev, err := parseRefs(out).find(p.req.Revision)
	if err != nil {
		return Revision{}, asError(err, "resolve", p.remote.raw, p.req.Revision)
	}
	return rev, nil
}

// refList is a remote's refs as git ls-remote --symref prints them.
type refList struct {
	// head is the ref HEAD points to; empty if the server did not say.
	head string
	// commits maps each ref name to its commit; tags are peeled.
	commits map[string]string
}

func parseRefs(out []byte) refList {
	l := refList{commits: map[string]string{}}
	peeled := map[string]bool{}
	for line := range bytes.Lines(out) {
		text := strings.TrimRight(string(line), "\r\n")
		if target, ok := strings.CutPrefix(text, "ref: "); ok {
			if target, name, _ := strings.Cut(target, "\t"); name == "HEAD" {
				l.head = target
			}
			continue
		}
		sha, name, ok := strings.Cut(text, "\t")
		if !ok || !IsCommitID(sha) {
			continue
		}
		sha = strings.ToLower(sha)
		if base, ok := strings.CutSuffix(name, "^{}"); ok {
			l.commits[base], peeled[base] = sha, true
			continue
		}
		if !peeled[name] {
			l.commits[name] = sha
		}
	}
	return l
}

// find resolves a revision. The order follows git's for a short name: a tag
// wins over a branch of the same name. A semver range is tried last.
func (l refList) find(rev string) (Revision, error) {
	switch {
	case rev == "" || rev == "HEAD":
		return l.findHead()
	case strings.HasPrefix(rev, "refs/"):
		if sha, ok := l.commits[rev]; ok {
			return Revision{Ref: rev, Commit: sha}, nil
		}
		return Revision{}, revisionNotFound("the remote has no such ref")
	case IsCommitID(rev):
		return Revision{Commit: strings.ToLower(rev)}, nil
	}
	for _, ref := range []string{"refs/tags/" + rev, "refs/heads/" + rev} {
		if sha, ok := l.commits[ref]; ok {
			return Revision{Ref: ref, Commit: sha}, nil
		}
	}
	constraint, err := semver.NewConstraint(rev)
	switch {
	case err == nil:
		return l.findSemver(constraint)
	case strings.ContainsAny(rev, "<>=~^*|, "):
		return Revision{}, &Error{Kind: ErrInvalidRevision, Detail: "neither a branch, a tag nor a valid semver range"}
	case len(rev) >= 7 && len(rev) < 40 && isHex(rev):
		return Revision{}, revisionNotFound("no branch or tag of that name (abbreviated commit SHAs are not supported; give all 40 digits)")
	}
	return Revision{}, revisionNotFound("no branch or tag of that name")
}

func (l refList) findHead() (Revision, error) {
	if sha, ok := l.commits[l.head]; ok && l.head != "" {
		return Revision{Ref: l.head, Commit: sha}, nil
	}
	if sha, ok := l.commits["HEAD"]; ok {
		return Revision{Ref: "HEAD", Commit: sha}, nil
	}
	if len(l.commits) == 0 {
		return Revision{}, revisionNotFound("the repository has no branches")
	}
	return Revision{}, revisionNotFound("the remote has no default branch (HEAD); name a branch")
}

// findSemver returns the highest tag that parses as a version and meets the
// constraint. Pre-releases match only ranges that name one, as Masterminds'
// semver decides. Among tags of equal version ("1.0.0", "v1.0.0") the first
// by name wins, so the answer does not depend on the listing's order.
func (l refList) findSemver(constraint *semver.Constraints) (Revision, error) {
	type candidate struct {
		ref     string
		version *semver.Version
	}
	var best *candidate
	for ref := range l.commits {
		name, ok := strings.CutPrefix(ref, "refs/tags/")
		if !ok {
			continue
		}
		v, err := semver.NewVersion(name)
		if err != nil || !constraint.Check(v) {
			continue
		}
		c := &candidate{ref: ref, version: v}
		if best == nil || v.GreaterThan(best.version) || v.Equal(best.version) && ref < best.ref {
			best = c
		}
	}
	if best == nil {
		return Revision{}, revisionNotFound("no branch or tag of that name, and no tag in that semver range")
	}
	return Revision{Ref: best.ref, Commit: l.commits[best.ref]}, nil
}

// IsCommitID reports whether s is a full SHA-1 or SHA-256 object name.
func IsCommitID(s string) bool {
	return (len(s) == 40 || len(s) == 64) && isHex(s)
}

const hexDigits = "0123456789abcdefABCDEF"

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(hexDigits, rune(s[i])) {
			return false
		}
	}
	return s != ""
}

func revisionNotFound(detail string) error {
	return &Error{Kind: ErrRevisionNotFound, Detail: detail}
}
