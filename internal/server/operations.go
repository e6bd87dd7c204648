package server

import (
	"net/http"
	"strconv"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// maxRevision bounds the revision a sync request names.
const maxRevision = 256

func (s *Server) operationRoutes() []route {
	return []route{
		{method: "POST", path: appPath + "/sync", verb: verbAppSync, summary: "Sync an Application (dryRun: its diff)",
			body: wire.SyncRequest{}, response: flotillav1.Application{}, handle: s.syncApplication},
		{method: "POST", path: appPath + "/refresh", verb: verbAppGet, summary: "Fetch and compare an Application now",
			response: flotillav1.Application{}, handle: s.refreshApplication},
		{method: "POST", path: appPath + "/rollback", verb: verbAppRollback, summary: "Pin an Application to a history entry (id 0 unpins)",
			body: wire.RollbackRequest{}, response: flotillav1.Application{}, handle: s.rollbackApplication},
		{method: "GET", path: appPath + "/history", verb: verbAppGet, summary: "An Application's history",
			response: []wire.HistoryEntry{}, handle: s.applicationHistory},
	}
}

// token is a new request token for an operation annotation: the time, to
// the nanosecond, which the controller acts on once.
func token() string { return strconv.FormatInt(time.Now().UnixNano(), 10) }

// annotateApplication sets (value non-nil) or removes (nil) annotations of
// a by a merge patch on the version read, and answers the result.
func (s *Server) annotateApplication(w http.ResponseWriter, r *http.Request, a *flotillav1.Application, set map[string]*string) error {
	out := a.DeepCopy()
	base := a.DeepCopy()
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	for k, v := range set {
		if v == nil {
			delete(out.Annotations, k)
		} else {
			out.Annotations[k] = *v
		}
	}
	// No optimistic lock: the patch holds only these annotations, and the
	// informers' copy may be a moment behind the controller's last write.
	if err := s.hub.Patch(r.Context(), out, client.MergeFrom(base)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, appView(*out))
	return nil
}

func (s *Server) syncApplication(w http.ResponseWriter, r *http.Request, c Caller) error {
	ns, name := pathKey(r)
	var req wire.SyncRequest
	if err := decodeOptional(w, r, &req); err != nil {
		return err
	}
	if len(req.Revision) > maxRevision {
		return badRequest("revision is longer than %d bytes", maxRevision)
	}
	a, err := s.application(r.Context(), c, ns, name, verbAppSync)
	if err != nil {
		return err
	}
	if req.DryRun {
		if s.opts.Live == nil {
			return errorf(wire.CodeUnavailable, "a dry-run sync needs the live view of workload clusters, which this server does not run")
		}
		d, err := s.opts.Live.Diff(r.Context(), a.DeepCopy(), req.Revision)
		if err != nil {
			return liveError(err)
		}
		writeJSON(w, http.StatusOK, d)
		return nil
	}
	tok := token()
	set := map[string]*string{flotillav1.SyncAnnotation: &tok, flotillav1.SyncRevisionAnnotation: nil, flotillav1.SyncPruneAnnotation: nil}
	if req.Revision != "" {
		set[flotillav1.SyncRevisionAnnotation] = &req.Revision
	}
	if req.Prune != nil {
		v := strconv.FormatBool(*req.Prune)
		set[flotillav1.SyncPruneAnnotation] = &v
	}
	return s.annotateApplication(w, r, a, set)
}

func (s *Server) refreshApplication(w http.ResponseWriter, r *http.Request, c Caller) error {
	ns, name := pathKey(r)
	a, err := s.application(r.Context(), c, ns, name, verbAppGet)
	if err != nil {
		return err
	}
	tok := token()
	return s.annotateApplication(w, r, a, map[string]*string{flotillav1.RefreshAnnotation: &tok})
}

func (s *Server) rollbackApplication(w http.ResponseWriter, r *http.Request, c Caller) error {
	ns, name := pathKey(r)
	var req wire.RollbackRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	a, err := s.application(r.Context(), c, ns, name, verbAppRollback)
	if err != nil {
		return err
	}
	if req.ID < 0 {
		return badRequest("history id %d: want a positive id, or 0 to unpin", req.ID)
	}
	if req.ID == 0 {
		return s.annotateApplication(w, r, a, map[string]*string{flotillav1.RollbackAnnotation: nil})
	}
	if !inHistory(a, req.ID) {
		return badRequest("application %s/%s has no history entry %d", ns, name, req.ID)
	}
	id := strconv.FormatInt(req.ID, 10)
	return s.annotateApplication(w, r, a, map[string]*string{flotillav1.RollbackAnnotation: &id})
}

func inHistory(a *flotillav1.Application, id int64) bool {
	if p := a.Status.Pin; p != nil && p.HistoryID == id {
		return true
	}
	for _, h := range a.Status.History {
		if h.ID == id {
			return true
		}
	}
	return false
}

func (s *Server) applicationHistory(w http.ResponseWriter, r *http.Request, c Caller) error {
	ns, name := pathKey(r)
	a, err := s.application(r.Context(), c, ns, name, verbAppGet)
	if err != nil {
		return err
	}
	out := make([]wire.HistoryEntry, 0, len(a.Status.History))
	for _, h := range a.Status.History {
		out = append(out, wire.HistoryEntry{ID: h.ID, Revision: h.Revision, DeployedAt: h.DeployedAt.Time, Message: h.Message, Author: h.Author})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
