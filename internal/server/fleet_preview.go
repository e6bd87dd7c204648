package server

import (
	"net/http"
	"sort"
	"sync"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// previewParallel bounds how many clusters of a Fleet one preview reads at
// once.
const previewParallel = 4

// previewFleet answers what a sync of every Application of a Fleet to a
// revision would change, cluster by cluster: the same dry-run diff as an
// Application's, nothing written. A cluster whose diff fails (a missing
// CRD, a refusing webhook, a Project rule) has its error and does not stop
// the others. Renders are shared: clusters with the same render inputs
// render once.
func (s *Server) previewFleet(w http.ResponseWriter, r *http.Request, c Caller) error {
	var req wire.PreviewRequest
	if err := decodeOptional(w, r, &req); err != nil {
		return err
	}
	if len(req.Revision) > maxRevision {
		return badRequest("revision is longer than %d bytes", maxRevision)
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
	var mine []*flotillav1.Application
	for i := range apps {
		if a := &apps[i]; a.Namespace == fl.Namespace && a.Labels[flotillav1.FleetLabel] == fl.Name {
			mine = append(mine, a.DeepCopy())
		}
	}
	out := wire.FleetPreview{Revision: req.Revision, Clusters: make([]wire.ClusterPreview, len(mine))}
	sem := make(chan struct{}, previewParallel)
	var wg sync.WaitGroup
	for i, a := range mine {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			cp := wire.ClusterPreview{Cluster: clusterOf(a.Spec.Destination.Cluster), Application: a.Name}
			rev := req.Revision
			if rev == "" {
				rev = fl.Spec.Template.Source.TargetRevision
			}
			d, err := s.opts.Live.Diff(r.Context(), a, rev)
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
	writeJSON(w, http.StatusOK, out)
	return nil
}
