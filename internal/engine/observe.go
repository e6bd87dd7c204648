package engine

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/health"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

// watchWait bounds how long one observe waits, for all kinds together, for
// watch caches to fill. A kind whose cache is not filled by then makes its
// objects Unknown, and the Application is observed again once it is.
const watchWait = 30 * time.Second

// observe watches every kind the Application owns (so that drift is seen as
// it happens) and reads the health of each of its objects from the watch
// caches: no request per object, however often it runs.
func (e *Engine) observe(ctx context.Context, s *syncState) error {
	if !s.result.Planned {
		return nil
	}
	checks, err := health.CompileChecks(s.app.Spec.HealthChecks, health.DefaultCheckOptions())
	if err != nil {
		return stalled(flotillav1.ReasonInvalidSpec, fmt.Errorf("spec.%w", err))
	}
	checker := health.NewChecker(health.Options{Checks: checks, Pods: s.target.pods})
	keys := s.result.Inventory.Keys()
	kinds := e.watchKinds(ctx, s, keys)
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

// assess is the health of one owned object, read from the watch cache.
func (e *Engine) assess(ctx context.Context, s *syncState, checker *health.Checker, key inventory.ObjMetadata, kind watched) health.Result {
	ref := health.Ref{Group: key.Group, Kind: key.Kind, Namespace: key.Namespace, Name: key.Name}
	if kind.err != nil {
		return health.Result{Object: ref, Status: flotillav1.HealthUnknown, Message: ref.String() + ": " + kind.err.Error()}
	}
	live, ok, err := s.target.watcher.Get(kind.gvr, key.Namespace, key.Name)
	switch {
	case err != nil:
		return health.Result{Object: ref, Status: flotillav1.HealthUnknown, Message: ref.String() + ": " + err.Error()}
	case !ok:
		return health.Missing(ref)
	}
	return checker.Assess(ctx, live)
}
