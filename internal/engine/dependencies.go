package engine

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/render"
	"github.com/flotilla-dev/flotilla/internal/repourl"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// dependencyFetchTimeout bounds fetching all the Helm dependencies of one
// chart; each request has the source client's own limits too.
const dependencyFetchTimeout = 5 * time.Minute

// fetchDependencies fetches what `helm dependency build` would put in the
// charts/ folder of the chart at path, and that charts/ does not hold: each
// dependency from a Helm repository or an OCI registry, at the version of
// Chart.lock when there is one; for a kustomization, the charts of its
// helmCharts entries that the repository does not vendor. Every repository must be allowed by the
// Project before anything is fetched. The Artifacts stay held until the
// sync ends.
func (e *Engine) fetchDependencies(ctx context.Context, s *syncState, path string) ([]render.FetchedChart, error) {
	deps, err := e.renderer.ChartDependencies(ctx, render.Request{Root: s.artifact.Dir, Path: path, Revision: s.artifact.URL + "@" + s.artifact.Commit})
	if err != nil {
		return nil, stalled(flotillav1.ReasonRenderFailed, fmt.Errorf("revision %s: %w", ShortSHA(s.result.Revision), err))
	}
	for _, d := range deps {
		if err := s.policy.CheckSource(d.Repository); err != nil {
			return nil, stalled(flotillav1.ReasonProjectViolation, fmt.Errorf("revision %s: Helm dependency %s: %w", ShortSHA(s.result.Revision), d.Name, err))
		}
	}
	if len(deps) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, dependencyFetchTimeout)
	defer cancel()
	out := make([]render.FetchedChart, 0, len(deps))
	for _, d := range deps {
		a, err := e.sources.FetchChart(ctx, source.ChartRequest{
			RepoURL: d.Repository, Chart: d.Name, Version: d.Version,
			Credentials: dependencyCredentials(s.app.Spec.Source.RepoURL, d.Repository, s.req),
		})
		if err != nil {
			return nil, sourceError(fmt.Errorf("revision %s: Helm dependency %s: %w", ShortSHA(s.result.Revision), d.Name, err))
		}
		s.dependencies = append(s.dependencies, a)
		out = append(out, render.FetchedChart{Name: d.Name, Repository: d.Repository, Version: a.Ref, Digest: a.Commit, Dir: a.Dir})
	}
	return out, nil
}

// dependencyCredentials are the credentials a dependency's repository gets:
// those of the chartCredentials entry whose URL is the longest prefix of
// depURL; without one, the Application's own (its credentialsRef) when the
// dependency is served by the same scheme, host and port as the
// Application's source; none otherwise. The Project allowed every Secret
// they come from, and a chart can never send them to a host of its
// choosing: an entry names its host, and credentialsRef is the source's.
func dependencyCredentials(sourceURL, depURL string, req Request) *source.Credentials {
	var best *ChartCredentials
	for i, c := range req.ChartCredentials {
		if underPrefix(c.URL, depURL) && (best == nil || len(c.URL) > len(best.URL)) {
			best = &req.ChartCredentials[i]
		}
	}
	if best != nil {
		return best.Credentials
	}
	if req.Credentials == nil || !repourl.SameOrigin(sourceURL, depURL) {
		return nil
	}
	return req.Credentials
}

// underPrefix says whether url is prefix or lies under it: the same scheme
// and host, and a clean path equal to prefix's or continuing it after a
// '/'. https://charts.example.com/team-a covers .../team-a/stable, never
// .../team-ab, https://charts.example.com.evil.test, or a path a server
// would resolve elsewhere (.../team-a/../team-b, an encoded dot or slash).
func underPrefix(prefix, url string) bool {
	if !repourl.SameOrigin(prefix, url) {
		return false
	}
	p, u := strings.TrimSuffix(repourl.Split(prefix).Path, "/"), repourl.Split(url).Path
	if !cleanPath(u) {
		return false
	}
	return u == p || strings.HasPrefix(u, p+"/")
}

// cleanPath says whether a URL's path is one no server reads as another:
// no dot segments, no empty segment, no backslash, no encoded dot, slash
// or backslash, no query or fragment.
func cleanPath(p string) bool {
	lower := strings.ToLower(p)
	for _, bad := range []string{`\`, "?", "#", "%2e", "%2f", "%5c"} {
		if strings.Contains(lower, bad) {
			return false
		}
	}
	trimmed := strings.TrimSuffix(p, "/")
	return trimmed == "" || path.Clean(trimmed) == trimmed
}
