package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry"
	orasremote "oras.land/oras-go/v2/registry/remote"
	orasauth "oras.land/oras-go/v2/registry/remote/auth"
)

// OCI sources: artifacts as `flux push artifact` makes them, and Helm charts
// in OCI registries. The registry is always reached over https (trusting
// Credentials.CACert when given): a registry on plain http is not supported,
// so no credentials or content ever cross the network in the clear.

// OCIRequest asks for one artifact of one OCI repository.
type OCIRequest struct {
	// URL is oci://host[:port]/repository, without a tag or digest.
	URL string
	// Revision is a tag, a semver range over the tags (the highest match
	// wins; tags that are not versions are ignored), or a manifest digest
	// "sha256:…". Empty means the tag "latest".
	Revision string
	// Credentials, if any, authenticate to the registry: Username and
	// Password (basic) or BearerToken, sent only to the URL's host; CACert
	// replaces the system's roots.
	Credentials *Credentials
	// Verify, if set, must be a cosign Verification: FetchOCI checks the
	// manifest's signature before downloading any of its content.
	Verify *Verification
}

// OCIReference names one manifest in a registry.
type OCIReference struct {
	// Registry is host[:port], such as "ghcr.io" or "127.0.0.1:5000".
	Registry string
	// Repository is the path in the registry, such as "apps/guestbook".
	Repository string
	// Digest is the manifest's digest, "sha256:…".
	Digest string
}

// Media types of the artifacts read.
const (
	// fluxConfigMediaType is the config of what `flux push artifact` makes.
	fluxConfigMediaType = "application/vnd.cncf.flux.config.v1+json"
	// fluxContentMediaType is its one layer, a tar+gzip of the files.
	fluxContentMediaType = "application/vnd.cncf.flux.content.v1.tar+gzip"
	helmConfigMediaType  = "application/vnd.cncf.helm.config.v1+json"
	// helmChartMediaType is the chart archive (.tgz) of a Helm OCI chart.
	helmChartMediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

// Bounds of what a registry sends besides layers, which MaxCheckoutBytes
// bounds.
const (
	// maxOCIManifestBytes bounds a manifest and one page of a tag listing.
	maxOCIManifestBytes = 4 << 20
	// maxOCITagPages bounds the pages of a tag listing.
	maxOCITagPages = 100
	// maxOCIPathLength bounds the repository path of a URL.
	maxOCIPathLength = 255
)

// ociKind is what a request accepts from a manifest.
type ociKind struct {
	// name is part of the cache key: the same manifest read as an artifact
	// and as a chart is checked differently.
	name string
	// errType is the Type of the request's errors.
	errType string
	config  string   // the config's media type
	layers  []string // media types of the one layer unpacked
	// chart, when set, is the name of the chart archive's one folder.
	chart string
	// tag turns a requested version into a tag and version a tag back;
	// nil keeps them as they are.
	tag, version func(string) string
	// latest is what an empty revision means: a tag, or "" for the highest
	// version that is not a pre-release.
	latest string
}

var ociArtifact = ociKind{
	name: "oci", errType: "oci", config: fluxConfigMediaType,
	layers: []string{fluxContentMediaType, ocispec.MediaTypeImageLayerGzip}, latest: "latest",
}

// ociChart is the kind of a chart named chart. Helm stores version
// "1.0.0+build" under the tag "1.0.0_build": '+' is not allowed in a tag.
func ociChart(chart string) ociKind {
	return ociKind{
		name: "oci-chart", errType: "helm", config: helmConfigMediaType,
		layers: []string{helmChartMediaType}, chart: chart,
		tag:     func(v string) string { return strings.ReplaceAll(v, "+", "_") },
		version: func(t string) string { return strings.ReplaceAll(t, "_", "+") },
	}
}

// ociRepo is an OCI repository URL that passed validation, with a client
// carrying the request's credentials.
type ociRepo struct {
	raw     string // the URL as given
	ref     registry.Reference
	creds   *Credentials
	secrets []string
	repo    *orasremote.Repository
}

// ResolveOCI returns the manifest digest the revision names (Commit) and
// the tag that matched (Ref; empty for a digest). The registry is asked
// every time, with the request's credentials.
func (c *Client) ResolveOCI(ctx context.Context, req OCIRequest) (Revision, error) {
	r, err := c.openOCI(req.URL, req.Credentials)
	if err != nil {
		return Revision{}, ociError(err, ociArtifact, "resolve", redactURL(req.URL), req.Revision)
	}
	rev, _, err := c.resolveOCI(ctx, r, ociArtifact, req.Revision)
	if err != nil {
		return Revision{}, ociError(err, ociArtifact, "resolve", r.raw, req.Revision)
	}
	return rev, nil
}

// FetchOCI resolves the revision as ResolveOCI does and returns the
// artifact's layer unpacked. The manifest must be one `flux push artifact`
// makes: config application/vnd.cncf.flux.config.v1+json and one layer of
// application/vnd.cncf.flux.content.v1.tar+gzip (or
// application/vnd.oci.image.layer.v1.tar+gzip). The layer is unpacked as
// untarGzip does, within MaxCheckoutBytes, and cached by repository and
// digest: callers asking at the same time share one download. Release the
// Artifact when done with it.
func (c *Client) FetchOCI(ctx context.Context, req OCIRequest) (*Artifact, error) {
	r, err := c.openOCI(req.URL, req.Credentials)
	if err != nil {
		return nil, ociError(err, ociArtifact, "fetch", redactURL(req.URL), req.Revision)
	}
	art, err := c.fetchOCI(ctx, r, ociArtifact, req.Revision, req.Verify)
	if err != nil {
		return nil, ociError(err, ociArtifact, "fetch", r.raw, req.Revision)
	}
	return art, nil
}

// fetchOCIChart is FetchChart for an oci:// repository: the chart is the
// repository RepoURL/Chart, tagged by version.
func (c *Client) fetchOCIChart(ctx context.Context, req ChartRequest) (*Artifact, error) {
	r, kind, err := c.openOCIChart(req)
	if err != nil {
		return nil, ociError(err, kind, "fetch", redactURL(chartURL(req)), req.Version)
	}
	art, err := c.fetchOCI(ctx, r, kind, req.Version, req.Verify)
	if err != nil {
		return nil, ociError(err, kind, "fetch", r.raw, req.Version)
	}
	art.URL = req.RepoURL // checked by openOCIChart
	return art, nil
}

// resolveChartOCI is ResolveChart for an oci:// repository: Ref is the
// version (with '+' where the tag has '_') and Commit the manifest digest.
func (c *Client) resolveChartOCI(ctx context.Context, req ChartRequest) (Revision, error) {
	r, kind, err := c.openOCIChart(req)
	if err != nil {
		return Revision{}, ociError(err, kind, "resolve", redactURL(chartURL(req)), req.Version)
	}
	rev, _, err := c.resolveOCI(ctx, r, kind, req.Version)
	if err != nil {
		return Revision{}, ociError(err, kind, "resolve", r.raw, req.Version)
	}
	return rev, nil
}

func (c *Client) openOCIChart(req ChartRequest) (*ociRepo, ociKind, error) {
	kind := ociChart(req.Chart)
	if req.Chart == "" || strings.ContainsAny(req.Chart, "/:@") {
		return nil, kind, invalidOCIURL("the chart name must be one path segment")
	}
	r, err := c.openOCI(chartURL(req), req.Credentials)
	return r, kind, err
}

func chartURL(req ChartRequest) string {
	return strings.TrimSuffix(req.RepoURL, "/") + "/" + req.Chart
}

// fetchOCI resolves revision, verifies its signature if asked, and returns
// the manifest's layer unpacked from the cache.
func (c *Client) fetchOCI(ctx context.Context, r *ociRepo, kind ociKind, revision string, verify *Verification) (*Artifact, error) {
	rev, desc, err := c.resolveOCI(ctx, r, kind, revision)
	if err != nil {
		return nil, err
	}
	if verify != nil {
		// Before any layer is downloaded: unsigned content is never
		// unpacked, not even into the cache.
		if err := c.verifyOCI(ctx, r, rev.Commit, verify); err != nil {
			return nil, err
		}
	}
	// The repository is part of the key: a caller is handed the content
	// only after the registry resolved the revision for its credentials.
	sum := sha256.Sum256([]byte(kind.name + "\x00" + r.ref.Registry + "/" + r.ref.Repository + "\x00" + rev.Commit))
	e, err := c.cache.get(ctx, c.ctx, hex.EncodeToString(sum[:]), func(fillCtx context.Context, dir string) (int64, error) {
		return c.pullOCI(fillCtx, r, kind, desc, dir)
	})
	if err != nil {
		return nil, err
	}
	return &Artifact{
		URL: r.raw, Revision: revision, Ref: rev.Ref, Commit: rev.Commit,
		Dir: e.dir, Size: e.size, cache: c.cache, entry: e,
	}, nil
}

func (c *Client) verifyOCI(ctx context.Context, r *ociRepo, digest string, v *Verification) error {
	if v.Provider != VerifyCosign {
		return providerMismatch(fmt.Sprintf("provider %q cannot verify OCI artifacts; use cosign", v.Provider))
	}
	ref := OCIReference{Registry: r.ref.Registry, Repository: r.ref.Repository, Digest: digest}
	key := c.verified.key(ref, v)
	if c.verified.has(key) {
		return nil
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.opts.FetchTimeout, errOCITimeout)
	defer cancel()
	if err := c.verifyCosign(ctx, ref, r.creds, v); err != nil {
		return r.failure(ctx, err)
	}
	c.verified.add(key)
	return nil
}

// openOCI checks an oci:// URL and makes a client for its repository.
func (c *Client) openOCI(raw string, creds *Credentials) (*ociRepo, error) {
	ref, err := parseOCIURL(raw)
	if err != nil {
		return nil, err
	}
	r := &ociRepo{raw: raw, ref: ref, creds: creds}
	kind, err := creds.httpCredential(schemeHTTPS)
	if err != nil {
		return nil, err
	}
	cred := orasauth.EmptyCredential
	switch kind {
	case basicCredential:
		cred = orasauth.Credential{Username: creds.Username, Password: creds.Password}
	case bearerCredential:
		cred = orasauth.Credential{AccessToken: creds.BearerToken}
	}
	r.secrets = credentialSecrets(creds)
	hc, err := c.httpClient(creds)
	if err != nil {
		return nil, err
	}
	r.repo = &orasremote.Repository{
		Client: &orasauth.Client{
			Client: hc,
			// Given to the URL's registry, and to the token service it
			// names, as every registry client does (Docker Hub's tokens
			// come from another host); a redirect elsewhere (a layer
			// served from a CDN) carries no Authorization header.
			Credential: orasauth.StaticCredential(ref.Registry, cred),
			// One cache per request: tokens never serve another
			// request's credentials.
			Cache:  schemeCache{Cache: orasauth.NewCache(), bearerOnly: cred.AccessToken != ""},
			Header: map[string][]string{"User-Agent": {"flotilla"}},
		},
		Reference:          ref,
		ManifestMediaTypes: []string{ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex},
		TagListMaxPages:    maxOCITagPages,
		MaxMetadataBytes:   maxOCIManifestBytes,
	}
	return r, nil
}

// errBasicWanted: the registry asks for basic authentication and the
// request holds a bearer token.
var errBasicWanted = errors.New("the registry asks for a username and password, not a bearer token")

// schemeCache is the token cache of one request. It also stops a basic
// authentication attempt when the request holds a bearer token only, so
// that the failure is typed (oras reports it as an untyped error).
type schemeCache struct {
	orasauth.Cache
	bearerOnly bool
}

func (s schemeCache) Set(ctx context.Context, registry string, scheme orasauth.Scheme, key string, fetch func(context.Context) (string, error)) (string, error) {
	if s.bearerOnly && scheme == orasauth.SchemeBasic {
		return "", errBasicWanted
	}
	return s.Cache.Set(ctx, registry, scheme, key, fetch)
}

// parseOCIURL checks oci://host[:port]/repository: no credentials, query,
// fragment, tag or digest, and a repository path as the distribution spec
// allows it (lower-case, '/'-separated).
func parseOCIURL(raw string) (registry.Reference, error) {
	rest, ok := strings.CutPrefix(raw, "oci://")
	switch {
	case !ok:
		return registry.Reference{}, invalidOCIURL("not an oci:// URL")
	case len(raw) > maxURLLength:
		return registry.Reference{}, invalidOCIURL(fmt.Sprintf("longer than %d bytes", maxURLLength))
	case strings.ContainsAny(rest, "?#\\ \t\r\n"):
		return registry.Reference{}, invalidOCIURL("a query, fragment, space or backslash")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return registry.Reference{}, invalidOCIURL("does not parse")
	case u.User != nil:
		return registry.Reference{}, invalidOCIURL("credentials in the URL; give them as credentials")
	case u.Host == "" || u.Path == "" || u.Path == "/":
		return registry.Reference{}, invalidOCIURL("needs a host and a repository: oci://host[:port]/repository")
	case len(u.Path) > maxOCIPathLength:
		return registry.Reference{}, invalidOCIURL(fmt.Sprintf("repository longer than %d bytes", maxOCIPathLength))
	}
	ref, err := registry.ParseReference(strings.ToLower(u.Host) + strings.TrimSuffix(u.Path, "/"))
	switch {
	case err != nil:
		return registry.Reference{}, invalidOCIURL("not a valid registry and repository (lower-case letters, digits, '.', '_', '-' and '/')")
	case ref.Reference != "":
		return registry.Reference{}, invalidOCIURL("a tag or digest in the URL; give it as the revision")
	}
	return ref, nil
}

func invalidOCIURL(detail string) error {
	return &Error{Kind: ErrInvalidURL, Detail: detail}
}
