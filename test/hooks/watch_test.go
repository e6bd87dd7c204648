package hooks

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
)

// seen is one watch event: what happened to which object, at which
// resourceVersion. The hub has one etcd, whose revisions order every write
// of every kind: a resourceVersion says when, across watches.
type seen struct {
	kind, name string
	rv         uint64
	// created is true for the event that added the object; ready for the
	// first in which it was ready (a Job complete, a Deployment Available),
	// failed for the first in which a Job failed: once per object (uid).
	created, ready, failed bool
	creation               metav1.Time
}

// recorder watches Jobs, Deployments and Services of one namespace for the
// whole test.
type recorder struct {
	mu     sync.Mutex
	events []seen
	done   map[string]bool
}

var watchedKinds = []schema.GroupVersionResource{
	{Group: "batch", Version: "v1", Resource: "jobs"},
	{Group: "apps", Version: "v1", Resource: "deployments"},
	{Version: "v1", Resource: "services"},
}

func record(t *testing.T, ns string) *recorder {
	t.Helper()
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := &recorder{done: map[string]bool{}}
	for _, gvr := range watchedKinds {
		w, err := dyn.Resource(gvr).Namespace(ns).Watch(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("watch %s: %v", gvr.Resource, err)
		}
		go func() {
			defer w.Stop()
			for ev := range w.ResultChan() {
				u, ok := ev.Object.(*unstructured.Unstructured)
				if !ok || (ev.Type != watch.Added && ev.Type != watch.Modified) {
					continue
				}
				r.add(ev.Type == watch.Added, u)
			}
		}()
	}
	return r
}

func (r *recorder) add(added bool, u *unstructured.Unstructured) {
	rv, _ := strconv.ParseUint(u.GetResourceVersion(), 10, 64)
	s := seen{kind: u.GetKind(), name: u.GetName(), rv: rv, created: added, creation: u.GetCreationTimestamp()}
	switch u.GetKind() {
	case "Job":
		s.ready, s.failed = condition(u, "Complete"), condition(u, "Failed")
	case "Deployment":
		s.ready = condition(u, "Available")
	}
	key := string(u.GetUID())
	r.mu.Lock()
	defer r.mu.Unlock()
	if (s.ready || s.failed) && r.done[key] {
		s.ready, s.failed = false, false // only the first ready event counts
	}
	if s.ready || s.failed {
		r.done[key] = true
	}
	r.events = append(r.events, s)
}

func condition(u *unstructured.Unstructured, typ string) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ && m["status"] == "True" {
			return true
		}
	}
	return false
}

// find returns the events of objects of kind whose name starts with
// prefix, in the order they happened.
func (r *recorder) find(kind, prefix string, match func(seen) bool) []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []seen
	for _, s := range r.events {
		if s.kind == kind && strings.HasPrefix(s.name, prefix) && match(s) {
			out = append(out, s)
		}
	}
	return out
}

func created(s seen) bool   { return s.created }
func ready(s seen) bool     { return s.ready }
func failedJob(s seen) bool { return s.failed }

// one returns the single event of kind/prefix that match selects, failing
// the test when there is none or more than one.
func (r *recorder) one(t *testing.T, kind, prefix, what string, match func(seen) bool) seen {
	t.Helper()
	got := r.find(kind, prefix, match)
	if len(got) != 1 {
		t.Fatalf("%s %s*: %d %s events, want 1: %+v", kind, prefix, len(got), what, got)
	}
	return got[0]
}
