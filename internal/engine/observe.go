package engine

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/apply"
	"github.com/flotilla-dev/flotilla/internal/health"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

// watchWait bounds how long one observe waits, for all kinds together, for
// watch caches to fill. A kind whose cache is not filled by then makes its
// objects Unknown, and the Application is observed again once it is.
const watchWait = 30 * time.Second

// observe watches every kind the Application owns (so that drift is seen as
// it happens) and reads the health of each of its objects from the watch
// caches: no request per object, however often it runs. It sends nothing
// but the start of a new watch, so the sync's slot is free for the next
// sync while it waits for a cache.
func (e *Engine) observe(ctx context.Context, s *syncState) error {
	s.freeSlot()
	if !s.result.Planned {
		return nil
	}
	checker, err := s.checker()
	if err != nil {
		return err
	}
	keys := s.result.Inventory.Keys()
	kinds := e.watchKinds(ctx, s, keys)
	if s.writes == nil {
		s.writes = writesOf(s.result)
	}
	results := make(map[inventory.ObjMetadata]health.Result, len(keys))
	all := make([]health.Result, 0, len(keys))
	for _, key := range keys {
		r := e.assess(ctx, s, checker, key, kinds[key.GroupVersionKind()])
		results[key] = r
		all = append(all, r)
	}
	s.result.Resources = results
	code, msg := health.Rollup(all)
	s.result.Health = health.Result{Status: code, Message: msg}
	return nil
}

// watched is a kind's resource, or why its objects cannot be read.
type watched struct {
	gvr schema.GroupVersionResource
	err error
}

// watchKinds starts the watch of every kind among keys, then waits for
// their caches together, once per kind and at most watchWait in all: a
// cache that does not fill costs one wait per observe, never one per object.
func (e *Engine) watchKinds(ctx context.Context, s *syncState, keys []inventory.ObjMetadata) map[schema.GroupVersionKind]watched {
	w := s.target.watcher
	kinds := map[schema.GroupVersionKind]watched{}
	for _, key := range keys {
		gvk := key.GroupVersionKind()
		if _, seen := kinds[gvk]; seen {
			continue
		}
		gvr, err := w.Resource(gvk)
		if err == nil {
			err = w.Start(gvr)
		}
		kinds[gvk] = watched{gvr: gvr, err: err}
	}
	app := types.NamespacedName{Namespace: s.app.Namespace, Name: s.app.Name}
	ctx, cancel := context.WithTimeout(ctx, watchWait)
	defer cancel()
	for gvk, k := range kinds {
		if k.err == nil {
			k.err = w.Wait(ctx, k.gvr, app)
			kinds[gvk] = k
		}
	}
	return kinds
}

// write is what a sync wrote to one object.
type write struct {
	// generation is the metadata.generation the write returned; 0 for a
	// kind without one.
	generation int64
	// created: the object did not exist before.
	created bool
}

// writesOf are the writes of a sync, by object: none unless it applied.
func writesOf(res *Result) map[inventory.ObjMetadata]write {
	out := map[inventory.ObjMetadata]write{}
	if res.Changes == nil || !res.Applied {
		return out
	}
	for _, c := range res.Changes.Changes {
		created := c.Action == apply.ActionCreated
		if c.Generation > 0 || created {
			out[c.Object] = write{generation: c.Generation, created: created}
		}
	}
	return out
}

// assess is the health of one owned object, read from the watch cache. An
// object the sync wrote is Progressing while the cache still holds an older
// generation (the cache's copy is the object before the write, and its
// health, a Deployment whose old ReplicaSet is available, says nothing of
// the new one) or, created by it, does not hold it yet; once it does, the
// Application's health is read again, with no sync. A write the cache
// shows is dropped from s.writes: it says nothing any more.
func (e *Engine) assess(ctx context.Context, s *syncState, checker *health.Checker, key inventory.ObjMetadata, kind watched) health.Result {
	ref := health.Ref{Group: key.Group, Kind: key.Kind, Namespace: key.Namespace, Name: key.Name}
	if kind.err != nil {
		return health.Result{Object: ref, Status: flotillav1.HealthUnknown, Message: ref.String() + ": " + kind.err.Error()}
	}
	wrote, pending := s.writes[key]
	live, ok, err := s.target.watcher.Get(kind.gvr, key.Namespace, key.Name)
	if err == nil && !ok && wrote.created {
		// Marked before a second look, so that an appearance between the
		// two is not missed.
		s.target.watcher.Await(kind.gvr, key.Namespace, key.Name)
		live, ok, err = s.target.watcher.Get(kind.gvr, key.Namespace, key.Name)
	}
	if pending && err == nil && ok && live.GetGeneration() >= wrote.generation {
		delete(s.writes, key)
	}
	switch {
	case err != nil:
		return health.Result{Object: ref, Status: flotillav1.HealthUnknown, Message: ref.String() + ": " + err.Error()}
	case !ok && wrote.created:
		return health.Result{Object: ref, Status: flotillav1.HealthProgressing, Message: ref.String() + ": created; waiting for the cluster's watch to show it"}
	case !ok:
		return health.Missing(ref)
	case live.GetGeneration() < wrote.generation:
		return health.Result{Object: ref, Status: flotillav1.HealthProgressing, Message: fmt.Sprintf(
			"%s: waiting for the cluster's watch to show generation %d (it shows %d)", ref, wrote.generation, live.GetGeneration())}
	}
	return checker.Assess(ctx, live)
}
