package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// pingInterval is how often a quiet stream sends a comment, so that proxies
// and clients know it lives.
const pingInterval = 15 * time.Second

var streamKinds = map[string]string{
	"applications": "Application", "clusters": "Cluster", "fleets": "Fleet", "projects": "Project",
}

func (s *Server) streamRoute() route {
	return route{method: "GET", path: "/api/v1/stream", verb: "per event, as the lists",
		summary: "Server-sent events of changes to what the caller may see",
		query:   append([]string{"kinds"}, appFilters[:8]...), response: wire.StreamEvent{}, handle: s.serveStream}
}

// subscription is one stream's query and caller.
type subscription struct {
	kinds  map[string]bool
	filter filter
	caller Caller
}

func parseKinds(v string) (map[string]bool, error) {
	kinds := map[string]bool{}
	if v == "" {
		v = "applications,clusters,fleets,projects"
	}
	for _, k := range strings.Split(v, ",") {
		kind, ok := streamKinds[strings.TrimSpace(k)]
		if !ok {
			return nil, badRequest("kinds: %q is not one of applications, clusters, fleets, projects", k)
		}
		kinds[kind] = true
	}
	return kinds, nil
}

// visible says whether the caller sees obj in this stream: its kind asked
// for, its filter matched, its get verb allowed.
func (sub *subscription) visible(kind string, obj client.Object) bool {
	if obj == nil || !sub.kinds[kind] {
		return false
	}
	f, c := sub.filter, sub.caller
	switch o := obj.(type) {
	case *flotillav1.Application:
		return f.application(o) && c.Can(verbAppGet, o.Namespace, projectOf(o.Spec.Project))
	case *flotillav1.Cluster:
		return f.meta(o.Namespace, o.Name, o.Labels) && c.Can(verbClusterGet, o.Namespace, "")
	case *flotillav1.Fleet:
		return f.fleetMatches(o) && c.Can(verbFleetGet, o.Namespace, projectOf(o.Spec.Project))
	case *flotillav1.Project:
		return f.meta(o.Namespace, o.Name, o.Labels) && c.Can(verbProjectGet, o.Namespace, o.Name)
	}
	return false
}

// event is what the caller sees of a change: ADDED when the object comes
// into its view, MODIFIED while it stays, DELETED when it leaves (deleted,
// or no longer matching or allowed), nothing when it sees neither side.
func (sub *subscription) event(ch change) (string, client.Object) {
	was, is := sub.visible(ch.kind, ch.old), sub.visible(ch.kind, ch.new)
	switch {
	case was && is:
		return wire.StreamModified, ch.new
	case is:
		return wire.StreamAdded, ch.new
	case was:
		return wire.StreamDeleted, ch.old
	}
	return "", nil
}

func (s *Server) serveStream(w http.ResponseWriter, r *http.Request, c Caller) error {
	kinds, err := parseKinds(r.URL.Query().Get("kinds"))
	if err != nil {
		return err
	}
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		return err
	}
	sub := &subscription{kinds: kinds, filter: f, caller: c}
	var lastID uint64
	resume := false
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		if lastID, err = strconv.ParseUint(v, 10, 64); err != nil {
			return badRequest("Last-Event-ID %q is not an id this server gave", v)
		}
		resume = true
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	st := &sseWriter{w: bufio.NewWriter(w), rc: http.NewResponseController(w)}
	return s.pump(r, st, sub, lastID, resume)
}

// pump sends the initial state (or the missed changes), then each change,
// until the client leaves or the server shuts down.
func (s *Server) pump(r *http.Request, st *sseWriter, sub *subscription, last uint64, resume bool) error {
	var wake <-chan struct{}
	var changes []change
	ok := false
	if resume {
		changes, last, wake, ok = s.stream.since(last)
		if !ok {
			st.event(wire.StreamResync, 0, "", nil)
		}
	}
	if !ok {
		last, wake = s.sendSnapshot(st, sub)
	} else {
		s.sendChanges(st, sub, changes)
	}
	if err := st.flush(); err != nil {
		return nil
	}
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-s.shutdown:
			return nil
		case <-ping.C:
			st.comment("ping")
		case <-wake:
			changes, last, wake, ok = s.stream.since(last)
			if !ok {
				// This client fell further behind than the ring keeps.
				st.event(wire.StreamResync, 0, "", nil)
				last, wake = s.sendSnapshot(st, sub)
			} else {
				s.sendChanges(st, sub, changes)
			}
		}
		if err := st.flush(); err != nil {
			return nil
		}
	}
}

// sendSnapshot sends ADDED for each visible object, then the id of the
// state it sent.
func (s *Server) sendSnapshot(st *sseWriter, sub *subscription) (uint64, <-chan struct{}) {
	state, id, wake := s.stream.snapshot()
	sort.Slice(state, func(i, j int) bool {
		a, b := state[i], state[j]
		if a.kind != b.kind {
			return kindOrder[a.kind] < kindOrder[b.kind]
		}
		return objectKey(a.new.GetNamespace(), a.new.GetName()) < objectKey(b.new.GetNamespace(), b.new.GetName())
	})
	for _, ch := range state {
		if sub.visible(ch.kind, ch.new) {
			st.event(wire.StreamAdded, 0, ch.kind, ch.new)
		}
	}
	st.id(id)
	return id, wake
}

var kindOrder = map[string]int{"Project": 0, "Cluster": 1, "Fleet": 2, "Application": 3}

func (s *Server) sendChanges(st *sseWriter, sub *subscription, changes []change) {
	for _, ch := range changes {
		if typ, obj := sub.event(ch); typ != "" {
			st.event(typ, ch.id, ch.kind, obj)
		}
	}
}

// sseWriter writes server-sent events; the first write error sticks.
type sseWriter struct {
	w   *bufio.Writer
	rc  *http.ResponseController
	err error
}

func (st *sseWriter) printf(format string, args ...any) {
	if st.err == nil {
		_, st.err = fmt.Fprintf(st.w, format, args...)
	}
}

// event writes one event; id 0 writes none.
func (st *sseWriter) event(typ string, id uint64, kind string, obj client.Object) {
	data := []byte("{}")
	if obj != nil {
		raw, err := json.Marshal(view(obj))
		if err != nil {
			st.err = err
			return
		}
		data, _ = json.Marshal(wire.StreamEvent{Kind: kind, Object: raw})
	}
	if id != 0 {
		st.printf("id: %d\n", id)
	}
	st.printf("event: %s\ndata: %s\n\n", typ, data)
}

// id moves the client's last event id without an event.
func (st *sseWriter) id(id uint64) { st.printf("id: %d\n\n", id) }

func (st *sseWriter) comment(text string) { st.printf(": %s\n\n", text) }

func (st *sseWriter) flush() error {
	if st.err == nil {
		st.err = st.w.Flush()
	}
	if st.err == nil {
		st.err = st.rc.Flush()
	}
	return st.err
}
