package engine

import (
	"context"
	"fmt"
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
			Credentials: dependencyCredentials(s.app.Spec.Source.RepoURL, d.Repository, s.req.Credentials),
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
// the Application's own (its credentialsRef, which the Project allowed)
// when the dependency is served by the same scheme, host and port as the
// Application's source, and none otherwise, so that a chart can never send
// them to a host of its choosing.
func dependencyCredentials(sourceURL, depURL string, creds *source.Credentials) *source.Credentials {
	if creds == nil {
		return nil
	}
	a, b := repourl.Split(sourceURL), repourl.Split(depURL)
	if a.Form != repourl.Scheme || b.Form != repourl.Scheme || !strings.EqualFold(a.Scheme, b.Scheme) {
		return nil
	}
	if !strings.EqualFold(repourl.WithoutDefaultPort(strings.ToLower(a.Scheme), a.Host), repourl.WithoutDefaultPort(strings.ToLower(b.Scheme), b.Host)) {
		return nil
	}
	return creds
}
