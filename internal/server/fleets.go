package server

import (
	"net/http"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

const (
	verbFleetGet     = "fleets:get"
	verbFleetRollout = "fleets:rollout"
)

const fleetsPath = "/api/v1/fleets"

// fleetDetail is a Fleet with the status of each Application it generated.
type fleetDetail struct {
	flotillav1.Fleet `json:",inline"`
	Clusters         []wire.FleetCluster `json:"clusters"`
}

func (s *Server) fleetRoutes() []route {
	return []route{
		{method: "GET", path: fleetsPath, verb: verbFleetGet + " per item", summary: "List Fleets",
			query: append([]string{"project"}, metaFilters...), response: wire.List[flotillav1.Fleet]{}, handle: s.listFleets},
		{method: "GET", path: fleetsPath + "/{namespace}/{name}", verb: verbFleetGet, summary: "Get a Fleet, with the status of each of its clusters",
			response: fleetDetail{}, handle: s.getFleet},
		{method: "POST", path: fleetsPath + "/{namespace}/{name}/pause", verb: verbFleetRollout, summary: "Pause a Fleet's rollout: no cluster moves to a new revision",
			response: flotillav1.Fleet{}, handle: s.pauseFleet(true)},
		{method: "POST", path: fleetsPath + "/{namespace}/{name}/resume", verb: verbFleetRollout, summary: "Resume a Fleet's rollout",
			response: flotillav1.Fleet{}, handle: s.pauseFleet(false)},
		{method: "POST", path: fleetsPath + "/{namespace}/{name}/promote", verb: verbFleetRollout, summary: "End the bake time of the wave that bakes",
			response: flotillav1.Fleet{}, handle: s.promoteFleet},
		{method: "POST", path: fleetsPath + "/{namespace}/{name}/retry", verb: verbFleetRollout, summary: "Roll out the Fleet's failed revision again",
			response: flotillav1.Fleet{}, handle: s.retryFleet},
	}
}

// fleet reads the Fleet of the request, if the caller may do verb on it.
func (s *Server) fleet(r *http.Request, c Caller, verb string) (*flotillav1.Fleet, error) {
	ns, name := pathKey(r)
	fl := &flotillav1.Fleet{}
	if err := s.store.get(r.Context(), ns, name, fl); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, notFound("fleet", ns, name)
		}
		return nil, err
	}
	if !c.Can(verbFleetGet, ns, projectOf(fl.Spec.Project)) {
		return nil, notFound("fleet", ns, name)
	}
	if !c.Can(verb, ns, projectOf(fl.Spec.Project)) {
		return nil, forbidden(verb, ns, name)
	}
	return fl, nil
}

// patchFleet applies change to a copy of fl by a merge patch and answers
// the result.
func (s *Server) patchFleet(w http.ResponseWriter, r *http.Request, fl *flotillav1.Fleet, change func(*flotillav1.Fleet)) error {
	out := fl.DeepCopy()
	change(out)
	if err := s.hub.Patch(r.Context(), out, client.MergeFrom(fl)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fleetView(*out))
	return nil
}

func (s *Server) pauseFleet(paused bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c Caller) error {
		fl, err := s.fleet(r, c, verbFleetRollout)
		if err != nil {
			return err
		}
		return s.patchFleet(w, r, fl, func(f *flotillav1.Fleet) {
			if f.Spec.Rollout == nil {
				f.Spec.Rollout = &flotillav1.Rollout{}
			}
			f.Spec.Rollout.Paused = paused
		})
	}
}

func (s *Server) promoteFleet(w http.ResponseWriter, r *http.Request, c Caller) error {
	fl, err := s.fleet(r, c, verbFleetRollout)
	if err != nil {
		return err
	}
	baking := false
	for _, wv := range fl.Status.Waves {
		baking = baking || wv.Phase == flotillav1.WaveBaking
	}
	if !baking {
		return errorf(wire.CodeConflict, "no wave of fleet %s/%s is baking: there is nothing to promote", fl.Namespace, fl.Name)
	}
	tok := token()
	return s.patchFleet(w, r, fl, func(f *flotillav1.Fleet) { setAnnotation(f, flotillav1.PromoteAnnotation, tok) })
}

func (s *Server) retryFleet(w http.ResponseWriter, r *http.Request, c Caller) error {
	fl, err := s.fleet(r, c, verbFleetRollout)
	if err != nil {
		return err
	}
	failed := fl.Status.FailedRevision
	if failed == "" {
		return errorf(wire.CodeConflict, "fleet %s/%s has no failed revision to retry", fl.Namespace, fl.Name)
	}
	return s.patchFleet(w, r, fl, func(f *flotillav1.Fleet) { setAnnotation(f, flotillav1.RetryRolloutAnnotation, failed) })
}

func setAnnotation(f *flotillav1.Fleet, k, v string) {
	if f.Annotations == nil {
		f.Annotations = map[string]string{}
	}
	f.Annotations[k] = v
}

func (s *Server) listFleets(w http.ResponseWriter, r *http.Request, c Caller) error {
	f, p, err := parseQuery(r)
	if err != nil {
		return err
	}
	all, err := s.store.fleets(r.Context())
	if err != nil {
		return err
	}
	items := visible(all, func(fl *flotillav1.Fleet) bool {
		return f.fleetMatches(fl) && c.Can(verbFleetGet, fl.Namespace, projectOf(fl.Spec.Project))
	})
	writeList(w, items, p, fleetView)
	return nil
}

func (s *Server) getFleet(w http.ResponseWriter, r *http.Request, c Caller) error {
	ns, name := pathKey(r)
	fl := &flotillav1.Fleet{}
	if err := s.store.get(r.Context(), ns, name, fl); err != nil {
		if apierrors.IsNotFound(err) {
			return notFound("fleet", ns, name)
		}
		return err
	}
	if !c.Can(verbFleetGet, ns, projectOf(fl.Spec.Project)) {
		return notFound("fleet", ns, name)
	}
	apps, err := s.store.applications(r.Context())
	if err != nil {
		return err
	}
	out := fleetDetail{Fleet: fleetView(*fl), Clusters: []wire.FleetCluster{}}
	for i := range apps {
		a := &apps[i]
		if a.Namespace != ns || a.Labels[flotillav1.FleetLabel] != name {
			continue
		}
		out.Clusters = append(out.Clusters, fleetCluster(a))
	}
	sort.Slice(out.Clusters, func(i, j int) bool { return out.Clusters[i].Cluster < out.Clusters[j].Cluster })
	writeJSON(w, http.StatusOK, out)
	return nil
}

func fleetCluster(a *flotillav1.Application) wire.FleetCluster {
	fc := wire.FleetCluster{
		Cluster:     clusterOf(a.Spec.Destination.Cluster),
		Application: a.Name,
		Sync:        syncOf(a),
		Health:      healthOf(a),
		Revision:    a.Status.Sync.Revision,
		Message:     a.Status.Health.Message,
	}
	if op := a.Status.Operation; op != nil {
		fc.Operation = string(op.Phase)
		if op.Phase == flotillav1.OperationFailed {
			fc.Message = op.Message
		}
	}
	if p := a.Status.Pin; p != nil {
		fc.PinnedRevision = p.Revision
	}
	return fc
}
