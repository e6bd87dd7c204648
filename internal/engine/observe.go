package engine

import (
	"context"
	"fmt"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/health"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

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
	results := make(map[inventory.ObjMetadata]health.Result, s.result.Inventory.Len())
	all := make([]health.Result, 0, s.result.Inventory.Len())
	for _, key := range s.result.Inventory.Keys() {
		r := e.assess(ctx, s, checker, key)
		results[key] = r
		all = append(all, r)
	}
	s.result.Resources = results
	code, msg := health.Rollup(all)
	s.result.Health = health.Result{Status: code, Message: msg}
	return nil
}

// assess is the health of one owned object, read from the watch cache.
func (e *Engine) assess(ctx context.Context, s *syncState, checker *health.Checker, key inventory.ObjMetadata) health.Result {
	ref := health.Ref{Group: key.Group, Kind: key.Kind, Namespace: key.Namespace, Name: key.Name}
	w := s.target.watcher
	gvr, err := w.Resource(key.GroupVersionKind())
	if err != nil {
		return health.Result{Object: ref, Status: flotillav1.HealthUnknown, Message: ref.String() + ": " + err.Error()}
	}
	if err := w.Watch(ctx, gvr); err != nil {
		return health.Result{Object: ref, Status: flotillav1.HealthUnknown, Message: ref.String() + ": " + err.Error()}
	}
	live, ok, err := w.Get(gvr, key.Namespace, key.Name)
	switch {
	case err != nil:
		return health.Result{Object: ref, Status: flotillav1.HealthUnknown, Message: ref.String() + ": " + err.Error()}
	case !ok:
		return health.Missing(ref)
	}
	return checker.Assess(ctx, live)
}
