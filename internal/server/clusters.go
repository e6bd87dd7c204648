package server

import (
	"encoding/base64"
	"errors"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cluster"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

const (
	verbClusterGet    = "clusters:get"
	verbClusterCreate = "clusters:create"
	verbClusterDelete = "clusters:delete"
)

const clustersPath = "/api/v1/clusters"

var metaFilters = []string{"selector", "search", "namespace", "limit", "continue"}

func (s *Server) clusterRoutes() []route {
	return []route{
		{method: "GET", path: clustersPath, verb: verbClusterGet + " per item", summary: "List Clusters",
			query: metaFilters, response: wire.List[flotillav1.Cluster]{}, handle: s.listClusters},
		{method: "POST", path: clustersPath, verb: verbClusterCreate, summary: "Register a cluster from a kubeconfig, or a server, token and CA",
			body: wire.ClusterRegistration{}, response: flotillav1.Cluster{}, status: http.StatusCreated, handle: s.registerCluster},
		{method: "GET", path: clustersPath + "/{namespace}/{name}", verb: verbClusterGet, summary: "Get a Cluster",
			response: flotillav1.Cluster{}, handle: s.getCluster},
		{method: "DELETE", path: clustersPath + "/{namespace}/{name}", verb: verbClusterDelete, summary: "Remove a Cluster and its credentials Secret",
			response: flotillav1.Cluster{}, handle: s.removeCluster},
	}
}

func (s *Server) listClusters(w http.ResponseWriter, r *http.Request, c Caller) error {
	f, p, err := parseQuery(r)
	if err != nil {
		return err
	}
	all, err := s.store.clusters(r.Context())
	if err != nil {
		return err
	}
	items := visible(all, func(cl *flotillav1.Cluster) bool {
		return f.meta(cl.Namespace, cl.Name, cl.Labels) && c.Can(verbClusterGet, cl.Namespace, "")
	})
	writeList(w, items, p, clusterView)
	return nil
}

func (s *Server) clusterFor(r *http.Request, c Caller, verb string) (*flotillav1.Cluster, error) {
	ns, name := pathKey(r)
	cl := &flotillav1.Cluster{}
	if err := s.store.get(r.Context(), ns, name, cl); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, notFound("cluster", ns, name)
		}
		return nil, err
	}
	if !c.Can(verbClusterGet, ns, "") {
		return nil, notFound("cluster", ns, name)
	}
	if verb != verbClusterGet && !c.Can(verb, ns, "") {
		return nil, forbidden(verb, ns, name)
	}
	return cl, nil
}

func (s *Server) getCluster(w http.ResponseWriter, r *http.Request, c Caller) error {
	cl, err := s.clusterFor(r, c, verbClusterGet)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, clusterView(*cl))
	return nil
}

func (s *Server) registerCluster(w http.ResponseWriter, r *http.Request, c Caller) error {
	var req wire.ClusterRegistration
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Namespace == "" {
		req.Namespace = s.opts.Namespace
	}
	if req.Namespace != s.opts.Namespace {
		return badRequest("cluster %s/%s: this server serves namespace %s only", req.Namespace, req.Name, s.opts.Namespace)
	}
	if !c.Can(verbClusterCreate, req.Namespace, "") {
		return forbidden(verbClusterCreate, req.Namespace, req.Name)
	}
	opts := cluster.DefaultRegisterOptions()
	opts.Name, opts.Namespace, opts.Labels = req.Name, req.Namespace, req.Labels
	var cl *flotillav1.Cluster
	var err error
	switch {
	case req.Kubeconfig != "" && (req.Server != "" || req.BearerToken != ""):
		return badRequest("give either kubeconfig, or server, bearerToken and caData")
	case req.Kubeconfig != "":
		cfg, cerr := cluster.ConfigFromKubeconfig([]byte(req.Kubeconfig))
		if cerr != nil {
			return badRequest("%v", cerr)
		}
		cl, err = cluster.Register(r.Context(), cfg, s.hub, opts)
	default:
		ca, derr := decodeCA(req.CAData)
		if derr != nil {
			return derr
		}
		cl, err = cluster.RegisterToken(r.Context(), s.hub, opts, req.Server, req.BearerToken, ca)
	}
	if err != nil {
		return registrationError(err)
	}
	writeJSON(w, http.StatusCreated, clusterView(*cl))
	return nil
}

// decodeCA takes caData as PEM, or as base64 of PEM (as kubeconfigs hold it).
func decodeCA(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	if raw, err := base64.StdEncoding.DecodeString(s); err == nil {
		return raw, nil
	}
	return []byte(s), nil
}

// registrationError answers a failed registration: what the hub refused
// keeps its class; a step that failed against the target is a BadRequest
// that names the step (the step errors never carry a token).
func registrationError(err error) error {
	var se *cluster.StepError
	if errors.As(err, &se) && kubeCode(se.Err) == wire.CodeInternal {
		return &apiError{Code: wire.CodeBadRequest, Message: se.Error(), Err: err}
	}
	return err
}

func (s *Server) removeCluster(w http.ResponseWriter, r *http.Request, c Caller) error {
	cl, err := s.clusterFor(r, c, verbClusterDelete)
	if err != nil {
		return err
	}
	if _, err := cluster.Unregister(r.Context(), s.hub, cl.Namespace, cl.Name); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, clusterView(*cl))
	return nil
}

// parseQuery reads the filters and the page of a list.
func parseQuery(r *http.Request) (filter, page, error) {
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		return f, page{}, err
	}
	p, err := parsePage(r.URL.Query())
	return f, p, err
}
