package server

import (
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

const (
	verbProjectGet    = "projects:get"
	verbProjectCreate = "projects:create"
	verbProjectUpdate = "projects:update"
	verbProjectDelete = "projects:delete"
)

const projectsPath = "/api/v1/projects"
const projectPath = projectsPath + "/{namespace}/{name}"

func (s *Server) projectRoutes() []route {
	return []route{
		{method: "GET", path: projectsPath, verb: verbProjectGet + " per item", summary: "List Projects",
			query: metaFilters, response: wire.List[flotillav1.Project]{}, handle: s.listProjects},
		{method: "POST", path: projectsPath, verb: verbProjectCreate, summary: "Create a Project",
			body: flotillav1.Project{}, response: flotillav1.Project{}, status: http.StatusCreated, handle: s.createProject},
		{method: "GET", path: projectPath, verb: verbProjectGet, summary: "Get a Project",
			response: flotillav1.Project{}, handle: s.getProject},
		{method: "PUT", path: projectPath, verb: verbProjectUpdate, summary: "Replace a Project's spec, labels and annotations",
			body: flotillav1.Project{}, response: flotillav1.Project{}, handle: s.updateProject},
		{method: "DELETE", path: projectPath, verb: verbProjectDelete, summary: "Delete a Project",
			response: flotillav1.Project{}, handle: s.deleteProject},
	}
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request, c Caller) error {
	f, p, err := parseQuery(r)
	if err != nil {
		return err
	}
	all, err := s.store.projects(r.Context())
	if err != nil {
		return err
	}
	items := visible(all, func(pr *flotillav1.Project) bool {
		return f.meta(pr.Namespace, pr.Name, pr.Labels) && c.Can(verbProjectGet, pr.Namespace, pr.Name)
	})
	writeList(w, items, p, projectView)
	return nil
}

// projectFor reads the Project of the path for a caller who may take verb
// on it (NotFound when it may not even get it).
func (s *Server) projectFor(r *http.Request, c Caller, verb string) (*flotillav1.Project, error) {
	ns, name := pathKey(r)
	p := &flotillav1.Project{}
	if err := s.store.get(r.Context(), ns, name, p); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, notFound("project", ns, name)
		}
		return nil, err
	}
	if !c.Can(verbProjectGet, ns, name) {
		return nil, notFound("project", ns, name)
	}
	if verb != verbProjectGet && !c.Can(verb, ns, name) {
		return nil, forbidden(verb, ns, name)
	}
	return p, nil
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request, c Caller) error {
	p, err := s.projectFor(r, c, verbProjectGet)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, projectView(*p))
	return nil
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request, c Caller) error {
	in := &flotillav1.Project{}
	if err := decode(w, r, in); err != nil {
		return err
	}
	if err := s.checkNewObject(&in.ObjectMeta, "Project", in.Kind); err != nil {
		return err
	}
	if !c.Can(verbProjectCreate, in.Namespace, in.Name) {
		return forbidden(verbProjectCreate, in.Namespace, in.Name)
	}
	in.Status = flotillav1.ProjectStatus{}
	if err := s.hub.Create(r.Context(), in); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, projectView(*in))
	return nil
}

func (s *Server) updateProject(w http.ResponseWriter, r *http.Request, c Caller) error {
	ns, name := pathKey(r)
	in := &flotillav1.Project{}
	if err := decode(w, r, in); err != nil {
		return err
	}
	cur, err := s.projectFor(r, c, verbProjectUpdate)
	if err != nil {
		return err
	}
	if err := checkSameObject(&in.ObjectMeta, ns, name); err != nil {
		return err
	}
	out := cur.DeepCopy()
	out.Spec, out.Labels, out.Annotations = in.Spec, in.Labels, in.Annotations
	if in.ResourceVersion != "" {
		out.ResourceVersion = in.ResourceVersion
	}
	if err := s.hub.Update(r.Context(), out); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, projectView(*out))
	return nil
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request, c Caller) error {
	p, err := s.projectFor(r, c, verbProjectDelete)
	if err != nil {
		return err
	}
	if err := s.hub.Delete(r.Context(), p.DeepCopy(), client.Preconditions{UID: &p.UID}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, projectView(*p))
	return nil
}
