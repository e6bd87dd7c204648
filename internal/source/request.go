package source

import (
	"context"
	"strings"
)

// The kinds of source a Request can name.
const (
	KindGit   = "git"
	KindOCI   = "oci"
	KindChart = "helm"
)

// Request asks for one revision of a source of any kind: a chart of a Helm
// repository when Chart is set, an OCI artifact for an oci:// URL, else a
// git repository. It is how an Application's spec.source reaches the
// Client.
type Request struct {
	URL, Chart, Revision string
	Credentials          *Credentials
	Verify               *Verification
	// Fresh asks a git source to list its refs now, not to take a listing
	// another caller made moments ago (see Options.ResolveShare).
	Fresh bool
}

// Kind is KindChart, KindOCI or KindGit.
func (r Request) Kind() string {
	switch {
	case r.Chart != "":
		return KindChart
	case strings.HasPrefix(r.URL, "oci://"):
		return KindOCI
	default:
		return KindGit
	}
}

// Get fetches the revision with Fetch, FetchOCI or FetchChart. A revision
// as ID returns it ("v1.2.0@sha256:…") names the same content again: the
// digest after '@' is what counts for OCI, and for a chart the version is
// asked and the digest must match.
func (c *Client) Get(ctx context.Context, req Request) (*Artifact, error) {
	switch req.Kind() {
	case KindChart:
		version, digest := splitDigest(req.Revision)
		a, err := c.FetchChart(ctx, ChartRequest{RepoURL: req.URL, Chart: req.Chart, Version: version, Credentials: req.Credentials, Verify: req.Verify})
		if err != nil || digest == "" || a.Commit == digest {
			return a, err
		}
		a.Release()
		return nil, &Error{Type: KindChart, Op: "fetch", URL: req.URL, Revision: req.Revision, Kind: ErrRevisionNotFound,
			Detail: "chart " + req.Chart + " " + version + " is now " + a.Commit + ", not " + digest}
	case KindOCI:
		tag, digest := splitDigest(req.Revision)
		if digest == "" {
			return c.FetchOCI(ctx, OCIRequest{URL: req.URL, Revision: req.Revision, Credentials: req.Credentials, Verify: req.Verify})
		}
		a, err := c.FetchOCI(ctx, OCIRequest{URL: req.URL, Revision: digest, Credentials: req.Credentials, Verify: req.Verify})
		if err == nil && a.Ref == "" {
			// The digest names the content; the tag it was asked with
			// stays in the revision, so that it reads as it did before.
			a.Ref = tag
		}
		return a, err
	default:
		return c.Fetch(ctx, GitRequest{URL: req.URL, Revision: req.Revision, Credentials: req.Credentials, Verify: req.Verify, Fresh: req.Fresh})
	}
}

// Pin resolves the revision to one that always names the same content: a
// commit for git, a digest for OCI, an exact version and its digest for a
// chart. Signatures are checked by Get, not here.
func (c *Client) Pin(ctx context.Context, req Request) (string, error) {
	switch req.Kind() {
	case KindChart:
		version, _ := splitDigest(req.Revision)
		rev, err := c.ResolveChart(ctx, ChartRequest{RepoURL: req.URL, Chart: req.Chart, Version: version, Credentials: req.Credentials})
		if err != nil {
			return "", err
		}
		return rev.Ref + "@" + rev.Commit, nil
	case KindOCI:
		if _, digest := splitDigest(req.Revision); digest != "" {
			req.Revision = digest
		}
		rev, err := c.ResolveOCI(ctx, OCIRequest{URL: req.URL, Revision: req.Revision, Credentials: req.Credentials})
		if err != nil {
			return "", err
		}
		return rev.Commit, nil
	default:
		rev, err := c.Resolve(ctx, GitRequest{URL: req.URL, Revision: req.Revision, Credentials: req.Credentials, Fresh: req.Fresh})
		return rev.Commit, err
	}
}

// ID names the artifact's content for status and history: the commit for
// git, "<tag or version>@<digest>" for OCI artifacts and charts.
func (a *Artifact) ID() string {
	if !strings.HasPrefix(a.Commit, "sha256:") {
		return a.Commit
	}
	if a.Ref == "" {
		return a.Commit
	}
	return a.Ref + "@" + a.Commit
}

// splitDigest splits "v1.2.0@sha256:…" into the revision and the digest;
// a bare digest has no revision.
func splitDigest(rev string) (revision, digest string) {
	if strings.HasPrefix(rev, "sha256:") {
		return "", rev
	}
	if i := strings.LastIndex(rev, "@sha256:"); i >= 0 {
		return rev[:i], rev[i+1:]
	}
	return rev, ""
}
