package server

import (
	"context"
	"net/http"
	"sort"
	"sync"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// previewParallel bounds how many clusters of a Fleet one preview reads at
// once.
const previewParallel = 4

// previewRoutes are the dry runs of a revision: on every cluster of a
// Fleet, on an Application's one cluster. Both read only, with the verb
// that reads the object.
func (s *Server) previewRoutes() []route {
	return []route{
		{method: "POST", path: fleetsPath + "/{namespace}/{name}/preview", verb: verbFleetGet, summary: "What a revision would change on each cluster of a Fleet (a dry run; nothing is written)",
			body: wire.PreviewRequest{}, response: wire.FleetPreview{}, handle: s.previewFleet},
		{method: "POST", path: appPath + "/preview", verb: verbAppGet, summary: "What a revision would change on an Application's cluster (a dry run; nothing is written)",
			body: wire.PreviewRequest{}, response: wire.FleetPreview{}, handle: s.previewApp},
	}
}

// previewFleet answers what a sync of every Application of a Fleet to a
// revision would change, cluster by cluster (PreviewFleet).
func (s *Server) previewFleet(w http.ResponseWriter, r *http.Request, c Caller) error {
	req, err := previewRequest(w, r)
	if err != nil {
		return err
	}
	fl, err := s.fleet(r, c, verbFleetGet)
	if err != nil {
		return err
	}
	if s.opts.Live == nil {
		return errorf(wire.CodeUnavailable, "a preview needs the live view of workload clusters, which this server does not run")
	}
	apps, err := s.store.applications(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, PreviewFleet(r.Context(), s.opts.Live, fl, apps, req.Revision))
	return nil
}

// previewApp answers what a sync of one Application to a revision would
// change on its cluster, as one cluster of a Fleet's preview.
func (s *Server) previewApp(w http.ResponseWriter, r *http.Request, c Caller) error {
	req, err := previewRequest(w, r)
	if err != nil {
		return err
	}
	ns, name := pathKey(r)
	a, err := s.application(r.Context(), c, ns, name, verbAppGet)
	if err != nil {
		return err
	}
	if s.opts.Live == nil {
		return errorf(wire.CodeUnavailable, "a preview needs the live view of workload clusters, which this server does not run")
	}
	writeJSON(w, http.StatusOK, PreviewApplications(r.Context(), s.opts.Live, []*flotillav1.Application{a.DeepCopy()}, req.Revision))
	return nil
}

func previewRequest(w http.ResponseWriter, r *http.Request) (wire.PreviewRequest, error) {
	var req wire.PreviewRequest
	if err := decodeOptional(w, r, &req); err != nil {
		return req, err
	}
	if len(req.Revision) > maxRevision {
		return req, badRequest("revision is longer than %d bytes", maxRevision)
	}
	return req, nil
}

// PreviewFleet is what a sync of every Application fl generated (those of
// apps in its namespace that carry its label) to revision would change,
// cluster by cluster; revision "" is the template's targetRevision. It is
// the server's answer and the CLI's without a server (`fleet preview
// --kubeconfig`): one code for both.
func PreviewFleet(ctx context.Context, l Live, fl *flotillav1.Fleet, apps []flotillav1.Application, revision string) wire.FleetPreview {
	var mine []*flotillav1.Application
	for i := range apps {
		if a := &apps[i]; a.Namespace == fl.Namespace && a.Labels[flotillav1.FleetLabel] == fl.Name {
			mine = append(mine, a.DeepCopy())
		}
	}
	if revision == "" {
		revision = fl.Spec.Template.Source.TargetRevision
	}
	return PreviewApplications(ctx, l, mine, revision)
}

// PreviewApplications is what a sync of each of apps to revision ("" for
// each one's current: a rollback's pin, else its targetRevision) would
// change: the same dry-run diff as an Application's, nothing written. An
// Application whose diff fails (a missing CRD, a refusing webhook, a
// Project rule, an unreachable cluster) has its error and does not stop
// the others. Renders are shared: clusters with the same render inputs
// render once. The clusters are sorted by name.
func PreviewApplications(ctx context.Context, l Live, apps []*flotillav1.Application, revision string) wire.FleetPreview {
	out := wire.FleetPreview{Revision: revision, Clusters: make([]wire.ClusterPreview, len(apps))}
	sem := make(chan struct{}, previewParallel)
	var wg sync.WaitGroup
	for i, a := range apps {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			cp := wire.ClusterPreview{Cluster: clusterOf(a.Spec.Destination.Cluster), Application: a.Name}
			d, err := l.Diff(ctx, a, revision)
			if err != nil {
				_, body := errorBody(liveError(err))
				cp.Error = body.Message
			} else {
				cp.Revision, cp.Resources = d.Revision, d.Resources
			}
			out.Clusters[i] = cp
		})
	}
	wg.Wait()
	sort.Slice(out.Clusters, func(i, j int) bool { return out.Clusters[i].Cluster < out.Clusters[j].Cluster })
	return out
}
