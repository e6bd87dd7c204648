package server

import (
	"net/http"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

const verbFleetGet = "fleets:get"

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
	}
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
