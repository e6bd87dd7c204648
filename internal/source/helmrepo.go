package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// Index-based Helm repositories: an index.yaml that lists each chart's
// versions with the URL and sha256 digest of their archives.
//
// A chart name is part of the chart's address (for OCI charts it is a
// segment of the URL), so a name that is not a plain name is ErrInvalidURL,
// refused before any request.

// maxChartName bounds a chart's name; Helm's own limit is 250 characters
// for release names, chart names are far shorter in practice.
const maxChartName = 250

// ResolveChart returns the chart version a request names without
// downloading the chart: Ref is the version and Commit the digest of its
// archive ("sha256:<hex>"), as FetchChart would report them.
//
// For an index-based repository the index is read with the request's
// credentials (or taken from the short-lived index cache under the same
// credentials); Version is an exact version, a semver range (the highest
// match wins) or empty for the highest version that is not a pre-release.
// When the index gives no digest for the version, the archive is downloaded
// and hashed, but not unpacked.
//
// For oci:// repositories it resolves the tag of RepoURL/Chart as ResolveOCI
// does ('+' in a version is '_' in the tag, as Helm pushes them): Ref is the
// version and Commit the manifest's digest.
func (c *Client) ResolveChart(ctx context.Context, req ChartRequest) (Revision, error) {
	if strings.HasPrefix(req.RepoURL, "oci://") {
		return c.resolveChartOCI(ctx, req)
	}
	p, err := c.prepareChart("resolve", req)
	if err != nil {
		return Revision{}, err
	}
	v, err := c.chooseVersion(ctx, p)
	if err != nil {
		return Revision{}, p.error(err, "resolve")
	}
	digest, err := c.versionDigest(ctx, p, v)
	if err != nil {
		return Revision{}, p.error(err, "resolve")
	}
	return Revision{Ref: v.Version, Commit: "sha256:" + digest}, nil
}

// fetchRepoChart is FetchChart for an index-based repository.
func (c *Client) fetchRepoChart(ctx context.Context, req ChartRequest) (*Artifact, error) {
	p, err := c.prepareChart("fetch", req)
	if err != nil {
		return nil, err
	}
	v, err := c.chooseVersion(ctx, p)
	if err != nil {
		return nil, p.error(err, "fetch")
	}
	digest, err := c.versionDigest(ctx, p, v)
	if err != nil {
		return nil, p.error(err, "fetch")
	}
	u, err := p.chartURL(v)
	if err != nil {
		return nil, p.error(err, "fetch")
	}
	// The repository is part of the key: a caller gets an unpacked chart
	// only after reading this repository's index with its own credentials.
	// The chart's name is too, since it names the archive's one folder.
	sum := sha256.Sum256([]byte("helm\x00" + p.repo.key + "\x00" + req.Chart + "\x00" + digest))
	e, err := c.cache.get(ctx, c.ctx, hex.EncodeToString(sum[:]), func(fillCtx context.Context, dir string) (int64, error) {
		return c.downloadChart(fillCtx, p, u, digest, dir)
	})
	if err != nil {
		return nil, p.error(err, "fetch")
	}
	return &Artifact{
		URL: p.repo.raw, Revision: req.Version, Ref: v.Version, Commit: "sha256:" + digest,
		Dir: e.dir, Size: e.size, cache: c.cache, entry: e,
	}, nil
}

// chartPrep is a chart request that passed validation.
type chartPrep struct {
	req  ChartRequest
	repo helmRepo
	// authz is the Authorization header sent to the repository's origin;
	// empty without credentials. It is never sent elsewhere nor printed.
	authz string
}

func (c *Client) prepareChart(op string, req ChartRequest) (*chartPrep, error) {
	repo, err := parseHelmRepoURL(req.RepoURL)
	if err != nil {
		return nil, helmError(err, op, redactURL(req.RepoURL), req.Version)
	}
	p := &chartPrep{req: req, repo: repo}
	if err := checkChartName(req.Chart); err != nil {
		return nil, p.error(err, op)
	}
	if err := checkRevision(req.Version); err != nil {
		return nil, helmError(err, op, repo.raw, "")
	}
	if req.Verify != nil {
		return nil, p.error(providerMismatch("charts of index-based Helm repositories carry no signature Flotilla can check; use an OCI registry"), op)
	}
	if p.authz, err = helmAuthorization(repo.base.Scheme, req.Credentials); err != nil {
		return nil, p.error(err, op)
	}
	return p, nil
}

// error names the repository and the version asked in err; details name
// the chart where it matters.
func (p *chartPrep) error(err error, op string) *Error {
	return helmError(err, op, p.repo.raw, p.req.Version)
}

// helmError turns any error into an *Error of a Helm repository.
func helmError(err error, op, url, revision string) *Error {
	e := asError(err, op, url, revision)
	e.Type = "helm"
	if errors.Is(e.Kind, ErrGit) {
		e.Kind = ErrRegistry
	}
	return e
}

// checkChartName accepts letters, digits, '-', '_' and '.', not first.
func checkChartName(name string) error {
	bad := func(why string) error {
		return &Error{Kind: ErrInvalidURL, Detail: "chart name " + why + "; want letters, digits, '-', '_' and '.'"}
	}
	switch {
	case name == "":
		return bad("empty")
	case len(name) > maxChartName:
		return bad(fmt.Sprintf("longer than %d bytes", maxChartName))
	case name[0] == '.' || name[0] == '-':
		return bad(fmt.Sprintf("starts with %q", name[0]))
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return bad(fmt.Sprintf("has %q", c))
		}
	}
	return nil
}

// chooseVersion reads the index and picks the version asked.
func (c *Client) chooseVersion(ctx context.Context, p *chartPrep) (indexVersion, error) {
	idx, err := c.repoIndex(ctx, p)
	if err != nil {
		return indexVersion{}, err
	}
	return idx.choose(p.req.Chart, p.req.Version)
}

// choose returns the version of chart that version names: the one whose
// version is exactly that text, else the highest in that semver range
// (empty: the highest that is not a pre-release). Versions that are not
// semver match only exactly. Among equal versions ("1.0.0", "v1.0.0") the
// first by text wins, so the answer does not depend on the index's order.
func (idx *helmIndex) choose(chart, version string) (indexVersion, error) {
	versions, ok := idx.entries[chart]
	if !ok || len(versions) == 0 {
		return indexVersion{}, revisionNotFound(fmt.Sprintf("the repository has no chart %q", chart))
	}
	if version != "" {
		if i := slices.IndexFunc(versions, func(v indexVersion) bool { return v.Version == version }); i >= 0 {
			return versions[i], nil
		}
	}
	rangeText := version
	if rangeText == "" {
		rangeText = "*" // Masterminds: any version that is not a pre-release
	}
	constraint, err := semver.NewConstraint(rangeText)
	if err != nil {
		return indexVersion{}, &Error{Kind: ErrInvalidRevision, Detail: "neither a chart version nor a valid semver range"}
	}
	best, bestV := -1, (*semver.Version)(nil)
	for i, v := range versions {
		sv, err := semver.NewVersion(v.Version)
		if err != nil || !constraint.Check(sv) {
			continue
		}
		if best < 0 || sv.GreaterThan(bestV) || sv.Equal(bestV) && v.Version < versions[best].Version {
			best, bestV = i, sv
		}
	}
	if best < 0 {
		if version == "" {
			return indexVersion{}, revisionNotFound(fmt.Sprintf("chart %q has no release version (only pre-releases or non-semver versions)", chart))
		}
		if _, err := semver.StrictNewVersion(version); err == nil {
			return indexVersion{}, revisionNotFound(fmt.Sprintf("chart %q has no version %q", chart, version))
		}
		return indexVersion{}, revisionNotFound(fmt.Sprintf("chart %q has no version in range %q", chart, version))
	}
	return versions[best], nil
}

// versionDigest returns the hex sha256 of a version's archive: the index's
// digest, or, when the index gives none, the digest of a download.
func (c *Client) versionDigest(ctx context.Context, p *chartPrep, v indexVersion) (string, error) {
	if v.Digest != "" {
		d := strings.ToLower(strings.TrimPrefix(v.Digest, "sha256:"))
		if len(d) != sha256.Size*2 || !isHex(d) {
			return "", invalidIndex("version %s has a digest that is not a sha256", shortText(v.Version))
		}
		return d, nil
	}
	u, err := p.chartURL(v)
	if err != nil {
		return "", err
	}
	return c.hashChart(ctx, p, u)
}

// chartURL resolves a version's first URL against the repository. A URL to
// another host is fetched without the repository's credentials (as Helm
// does unless told to pass them), and never one that goes from https to
// plain http.
func (p *chartPrep) chartURL(v indexVersion) (*url.URL, error) {
	ref, err := url.Parse(v.URLs[0])
	if err != nil {
		return nil, invalidIndex("version %s has a URL that does not parse", shortText(v.Version))
	}
	u := p.repo.base.ResolveReference(ref)
	switch {
	case u.Scheme != schemeHTTPS && u.Scheme != schemeHTTP:
		return nil, invalidIndex("version %s has a URL of scheme %q; want https or http", shortText(v.Version), shortText(u.Scheme))
	case u.User != nil:
		return nil, invalidIndex("version %s has a URL with credentials", shortText(v.Version))
	case u.Host == "":
		return nil, invalidIndex("version %s has a URL without a host", shortText(v.Version))
	case p.repo.base.Scheme == schemeHTTPS && u.Scheme == schemeHTTP:
		return nil, invalidIndex("version %s has a plain-http URL in an https repository", shortText(v.Version))
	}
	return u, nil
}
