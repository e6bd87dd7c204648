package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// Live reads an Application's objects in its workload cluster (package
// live; LiveReader adapts its Reader). Its errors are *apiError, or wrap
// ErrLiveNotFound or ErrLiveBadRequest, to be answered 404 and 400.
type Live interface {
	Tree(ctx context.Context, app *flotillav1.Application) (*wire.Tree, error)
	Resource(ctx context.Context, app *flotillav1.Application, ref wire.ObjectRef) (any, error)
	Diff(ctx context.Context, app *flotillav1.Application, revision string) (*wire.Diff, error)
	Events(ctx context.Context, app *flotillav1.Application, ref *wire.ObjectRef) ([]wire.Event, error)
	Logs(ctx context.Context, app *flotillav1.Application, opts LogOptions, w http.ResponseWriter) error
}

// LogOptions say which log lines of a Pod to read.
type LogOptions struct {
	Namespace, Pod, Container string
	TailLines, SinceSeconds   *int64
	Follow                    bool
}

// Live's error classes: a Live wraps them so that writeError answers 404
// and 400.
var (
	ErrLiveNotFound   = errors.New("not found")
	ErrLiveBadRequest = errors.New("bad request")
)

// liveError gives a Live error its code.
func liveError(err error) error {
	switch {
	case errors.Is(err, ErrLiveNotFound):
		return &apiError{Code: wire.CodeNotFound, Message: err.Error(), Err: err}
	case errors.Is(err, ErrLiveBadRequest):
		return &apiError{Code: wire.CodeBadRequest, Message: err.Error(), Err: err}
	}
	return err
}

var refQuery = []string{"group", "version", "kind", "namespace", "name"}

func (s *Server) liveRoutes() []route {
	return []route{
		{method: "GET", path: appPath + "/tree", verb: verbAppGet, summary: "An Application's resource tree",
			response: wire.Tree{}, handle: s.liveHandler(verbAppGet, s.tree)},
		{method: "GET", path: appPath + "/resource", verb: verbAppGet, summary: "The live manifest of one node of the tree",
			query: refQuery, response: map[string]any{}, handle: s.liveHandler(verbAppGet, s.resource)},
		{method: "GET", path: appPath + "/diff", verb: verbAppGet, summary: "An Application's diff against what its source renders",
			query: []string{"revision"}, response: wire.Diff{}, handle: s.liveHandler(verbAppGet, s.diff)},
		{method: "GET", path: appPath + "/events", verb: verbAppGet, summary: "Events of an Application or of one node",
			query: refQuery, response: []wire.Event{}, handle: s.liveHandler(verbAppGet, s.events)},
		{method: "GET", path: appPath + "/logs", verb: "logs:get", summary: "A Pod's log (text/plain)",
			query: []string{"namespace", "pod", "container", "tailLines", "sinceSeconds", "follow"}, response: "", handle: s.liveHandler("logs:get", s.logs)},
	}
}

// liveHandler checks verb on the Application and hands it to h; without a
// Live it answers 503.
func (s *Server) liveHandler(verb string, h func(http.ResponseWriter, *http.Request, *flotillav1.Application) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c Caller) error {
		ns, name := pathKey(r)
		a, err := s.application(r.Context(), c, ns, name, verb)
		if err != nil {
			return err
		}
		if s.opts.Live == nil {
			return errorf(wire.CodeUnavailable, "this server does not run the live view of workload clusters")
		}
		return liveError(h(w, r, a.DeepCopy()))
	}
}

func (s *Server) tree(w http.ResponseWriter, r *http.Request, a *flotillav1.Application) error {
	t, err := s.opts.Live.Tree(r.Context(), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func objectRef(r *http.Request) (wire.ObjectRef, error) {
	q := r.URL.Query()
	ref := wire.ObjectRef{Group: q.Get("group"), Version: q.Get("version"), Kind: q.Get("kind"), Namespace: q.Get("namespace"), Name: q.Get("name")}
	for _, v := range []string{ref.Group, ref.Version, ref.Kind, ref.Namespace, ref.Name} {
		if len(v) > 253 {
			return ref, badRequest("an object reference field is longer than 253 bytes")
		}
	}
	return ref, nil
}

func (s *Server) resource(w http.ResponseWriter, r *http.Request, a *flotillav1.Application) error {
	ref, err := objectRef(r)
	if err != nil {
		return err
	}
	if ref.Kind == "" || ref.Name == "" {
		return badRequest("kind and name are required")
	}
	obj, err := s.opts.Live.Resource(r.Context(), a, ref)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, obj)
	return nil
}

func (s *Server) diff(w http.ResponseWriter, r *http.Request, a *flotillav1.Application) error {
	rev := r.URL.Query().Get("revision")
	if len(rev) > maxRevision {
		return badRequest("revision is longer than %d bytes", maxRevision)
	}
	d, err := s.opts.Live.Diff(r.Context(), a, rev)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (s *Server) events(w http.ResponseWriter, r *http.Request, a *flotillav1.Application) error {
	ref, err := objectRef(r)
	if err != nil {
		return err
	}
	var refp *wire.ObjectRef
	if ref.Kind != "" || ref.Name != "" {
		refp = &ref
	}
	ev, err := s.opts.Live.Events(r.Context(), a, refp)
	if err != nil {
		return err
	}
	if ev == nil {
		ev = []wire.Event{}
	}
	writeJSON(w, http.StatusOK, ev)
	return nil
}

func (s *Server) logs(w http.ResponseWriter, r *http.Request, a *flotillav1.Application) error {
	q := r.URL.Query()
	opts := LogOptions{Namespace: q.Get("namespace"), Pod: q.Get("pod"), Container: q.Get("container"), Follow: q.Get("follow") == "true"}
	if opts.Pod == "" {
		return badRequest("pod is required")
	}
	for key, dst := range map[string]**int64{"tailLines": &opts.TailLines, "sinceSeconds": &opts.SinceSeconds} {
		if v := q.Get(key); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return badRequest("%s %q: want a number of 0 or more", key, v)
			}
			*dst = &n
		}
	}
	return s.opts.Live.Logs(r.Context(), a, opts, w)
}
