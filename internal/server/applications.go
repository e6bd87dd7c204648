package server

import (
	"context"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// Verbs of Applications (docs/api.md, Authorization).
const (
	verbAppGet      = "applications:get"
	verbAppCreate   = "applications:create"
	verbAppUpdate   = "applications:update"
	verbAppDelete   = "applications:delete"
	verbAppSync     = "applications:sync"
	verbAppRollback = "applications:rollback"
)

const appsPath = "/api/v1/applications"
const appPath = appsPath + "/{namespace}/{name}"

var appFilters = []string{"project", "cluster", "fleet", "sync", "health", "selector", "search", "namespace", "limit", "continue"}

func (s *Server) applicationRoutes() []route {
	return []route{
		{method: "GET", path: appsPath, verb: verbAppGet + " per item", summary: "List Applications",
			query: appFilters, response: wire.List[flotillav1.Application]{}, handle: s.listApplications},
		{method: "POST", path: appsPath, verb: verbAppCreate, summary: "Create an Application",
			body: flotillav1.Application{}, response: flotillav1.Application{}, status: http.StatusCreated, handle: s.createApplication},
		{method: "GET", path: appPath, verb: verbAppGet, summary: "Get an Application",
			response: flotillav1.Application{}, handle: s.getApplication},
		{method: "PUT", path: appPath, verb: verbAppUpdate, summary: "Replace an Application's spec, labels and annotations",
			body: flotillav1.Application{}, response: flotillav1.Application{}, handle: s.updateApplication},
		{method: "DELETE", path: appPath, verb: verbAppDelete, summary: "Delete an Application",
			query: []string{"deletionPolicy"}, response: flotillav1.Application{}, handle: s.deleteApplication},
	}
}

// visibleApplications are the Applications that match f and that c may get.
func (s *Server) visibleApplications(ctx context.Context, c Caller, f filter) ([]flotillav1.Application, error) {
	all, err := s.store.applications(ctx)
	if err != nil {
		return nil, err
	}
	return visible(all, func(a *flotillav1.Application) bool {
		return f.application(a) && c.Can(verbAppGet, a.Namespace, projectOf(a.Spec.Project))
	}), nil
}

func (s *Server) listApplications(w http.ResponseWriter, r *http.Request, c Caller) error {
	f, p, err := parseQuery(r)
	if err != nil {
		return err
	}
	items, err := s.visibleApplications(r.Context(), c, f)
	if err != nil {
		return err
	}
	writeList(w, items, p, appView)
	return nil
}

// application reads an Application from the store for a caller who may
// take verb on it. One it may not even get is NotFound, as a missing one;
// one it may get but not take verb on is Forbidden.
func (s *Server) application(ctx context.Context, c Caller, namespace, name, verb string) (*flotillav1.Application, error) {
	a := &flotillav1.Application{}
	if err := s.store.get(ctx, namespace, name, a); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, notFound("application", namespace, name)
		}
		return nil, err
	}
	project := projectOf(a.Spec.Project)
	if !c.Can(verbAppGet, namespace, project) {
		return nil, notFound("application", namespace, name)
	}
	if verb != verbAppGet && !c.Can(verb, namespace, project) {
		return nil, forbidden(verb, namespace, name)
	}
	return a, nil
}

func (s *Server) getApplication(w http.ResponseWriter, r *http.Request, c Caller) error {
	ns, name := pathKey(r)
	a, err := s.application(r.Context(), c, ns, name, verbAppGet)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, appView(*a))
	return nil
}

// operationAnnotations are set only through the sync and rollback routes,
// which check their own verbs: create drops them, update keeps the
// Application's own.
var operationAnnotations = []string{
	flotillav1.SyncAnnotation, flotillav1.SyncRevisionAnnotation, flotillav1.SyncPruneAnnotation,
	flotillav1.RollbackAnnotation,
}

func (s *Server) createApplication(w http.ResponseWriter, r *http.Request, c Caller) error {
	in := &flotillav1.Application{}
	if err := decode(w, r, in); err != nil {
		return err
	}
	if err := s.checkNewObject(&in.ObjectMeta, "Application", in.Kind); err != nil {
		return err
	}
	if !c.Can(verbAppCreate, in.Namespace, projectOf(in.Spec.Project)) {
		return forbidden(verbAppCreate, in.Namespace, in.Name)
	}
	for _, k := range operationAnnotations {
		delete(in.Annotations, k)
	}
	in.Status = flotillav1.ApplicationStatus{}
	if err := s.hub.Create(r.Context(), in); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, appView(*in))
	return nil
}

func (s *Server) updateApplication(w http.ResponseWriter, r *http.Request, c Caller) error {
	ns, name := pathKey(r)
	in := &flotillav1.Application{}
	if err := decode(w, r, in); err != nil {
		return err
	}
	cur, err := s.application(r.Context(), c, ns, name, verbAppUpdate)
	if err != nil {
		return err
	}
	if newProject := projectOf(in.Spec.Project); !c.Can(verbAppUpdate, ns, newProject) {
		return forbidden(verbAppUpdate+" in project "+newProject, ns, name)
	}
	if err := checkSameObject(&in.ObjectMeta, ns, name); err != nil {
		return err
	}
	out := cur.DeepCopy()
	out.Spec = in.Spec
	out.Labels = in.Labels
	annotations := in.Annotations
	if annotations == nil {
		annotations = map[string]string{}
	}
	for _, k := range operationAnnotations {
		delete(annotations, k)
		if v, ok := cur.Annotations[k]; ok {
			annotations[k] = v
		}
	}
	out.Annotations = annotations
	if in.ResourceVersion != "" {
		out.ResourceVersion = in.ResourceVersion
	}
	if err := s.hub.Update(r.Context(), out); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, appView(*out))
	return nil
}

func (s *Server) deleteApplication(w http.ResponseWriter, r *http.Request, c Caller) error {
	ns, name := pathKey(r)
	policy := flotillav1.DeletionPolicy(r.URL.Query().Get("deletionPolicy"))
	if policy != "" && policy != flotillav1.DeletionPolicyDelete && policy != flotillav1.DeletionPolicyOrphan {
		return badRequest("deletionPolicy %q: want Delete or Orphan", policy)
	}
	a, err := s.application(r.Context(), c, ns, name, verbAppDelete)
	if err != nil {
		return err
	}
	a = a.DeepCopy()
	if policy != "" && a.Spec.DeletionPolicy != policy {
		base := a.DeepCopy()
		a.Spec.DeletionPolicy = policy
		if err := s.hub.Patch(r.Context(), a, client.MergeFrom(base)); err != nil {
			return err
		}
	}
	if err := s.hub.Delete(r.Context(), a, client.Preconditions{UID: &a.UID}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, appView(*a))
	return nil
}

// checkNewObject defaults the namespace of an object to create to the
// server's and refuses another: the server serves one namespace.
func (s *Server) checkNewObject(m *metaObject, kind, gotKind string) error {
	if gotKind != "" && gotKind != kind {
		return badRequest("kind %q: want %s", gotKind, kind)
	}
	if m.Name == "" {
		return badRequest("metadata.name is required")
	}
	if m.Namespace == "" {
		m.Namespace = s.opts.Namespace
	}
	if m.Namespace != s.opts.Namespace {
		return badRequest("%s %s/%s: this server serves namespace %s only", kind, m.Namespace, m.Name, s.opts.Namespace)
	}
	m.ResourceVersion, m.UID, m.ManagedFields, m.Finalizers = "", "", nil, nil
	m.OwnerReferences, m.DeletionTimestamp, m.GenerateName = nil, nil, ""
	return nil
}

// checkSameObject refuses a body that names another object than the path.
func checkSameObject(m *metaObject, namespace, name string) error {
	if (m.Name != "" && m.Name != name) || (m.Namespace != "" && m.Namespace != namespace) {
		return badRequest("the body names %s/%s, the path %s/%s", m.Namespace, m.Name, namespace, name)
	}
	return nil
}
