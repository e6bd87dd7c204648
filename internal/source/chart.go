package source

import (
	"context"
	"strings"
)

// ChartRequest asks for one version of one chart of a Helm repository: an
// HTTP repository with an index.yaml, or an OCI registry.
type ChartRequest struct {
	// RepoURL is the repository: https:// (http:// only without
	// credentials) for an index-based repository, oci://host/path for an
	// OCI registry, where the chart is host/path/<Chart>.
	RepoURL string
	// Chart is the chart's name: letters, digits, '-', '_' and '.', no path.
	Chart string
	// Version is an exact version or a semver range; empty means the
	// highest version that is not a pre-release.
	Version string
	// Credentials, if any, authenticate to the repository.
	Credentials *Credentials
	// Verify, if set, must be a cosign Verification; only OCI charts can
	// carry one.
	Verify *Verification
}

// FetchChart resolves the version and returns the chart unpacked: the
// Artifact's Dir holds one folder named after the chart, with its
// Chart.yaml. Ref is the version resolved and Commit the chart archive's
// digest ("sha256:..."), which keys the cache: every Application using the
// same chart version shares one download and one unpacked copy.
func (c *Client) FetchChart(ctx context.Context, req ChartRequest) (*Artifact, error) {
	// The name becomes part of an address and a folder: one rule for both
	// kinds of repository.
	if err := checkChartName(req.Chart); err != nil {
		return nil, helmError(err, "fetch", redactURL(req.RepoURL), req.Version)
	}
	if strings.HasPrefix(req.RepoURL, "oci://") {
		return c.fetchOCIChart(ctx, req)
	}
	return c.fetchRepoChart(ctx, req)
}
