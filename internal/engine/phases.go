package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/apply"
	"github.com/flotilla-dev/flotilla/internal/health"
	"github.com/flotilla-dev/flotilla/internal/hook"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

// Progress is where a sync in phases and waves is.
type Progress struct {
	Phase hook.Phase
	Wave  int
	// Message says what the step waits for, or "" when it starts.
	Message string
}

// defaultSyncTimeout bounds the waiting of one sync in phases and waves.
const defaultSyncTimeout = 10 * time.Minute

// readyPoll is how often a step reads its objects while it waits for them.
const readyPoll = time.Second

// syncTimeout is the Application's spec.syncPolicy.timeout if shorter than
// the controller's, or else the controller's: an Application may give up
// sooner, never hold one of its cluster's sync slots longer than the
// operator allows.
func (e *Engine) syncTimeout(s *syncState) time.Duration {
	limit := e.opts.SyncTimeout
	if limit <= 0 {
		limit = defaultSyncTimeout
	}
	if t := s.app.Spec.SyncPolicy.Timeout; t != nil && t.Duration > 0 && t.Duration < limit {
		return t.Duration
	}
	return limit
}

// applyPhased runs a sync whose objects come in phases and waves: the
// definitions first (CRDs, Namespaces, ClusterRoles), then PreSync hooks,
// the waves of the Sync phase and PostSync hooks, each step applied and
// ready before the next. A sync that would change nothing runs no hook and
// applies as any other, unless it retries one that failed. A step that fails stops the sync and runs the
// SyncFail hooks.
func (e *Engine) applyPhased(ctx context.Context, s *syncState) error {
	cs, err := s.manager.Compare(ctx, s.objects, s.applyOptions())
	if err != nil {
		return s.applyError(err, flotillav1.ReasonDryRunFailed)
	}
	if !cs.HasChanges() && (!s.req.Prune || s.result.Stale.Len() == 0) && !s.req.RerunHooks {
		if f := s.req.Unretried; f != nil {
			s.result.Changes, s.result.Phase, s.result.Wave = cs, f.Phase, f.Wave
			return stalled(f.Reason, errors.New(f.Message))
		}
		return e.applyAll(ctx, s)
	}
	if err := s.recordOwned(ctx); err != nil {
		return err
	}
	s.result.Changes = &apply.ChangeSet{}
	wctx, cancel := context.WithTimeout(ctx, e.syncTimeout(s))
	defer cancel()
	if _, err := s.applyObjects(wctx, definitions(s.objects, true)); err != nil {
		return err
	}
	steps := s.plan.Steps
	for i, st := range steps {
		last := i == len(steps)-1
		if err := e.runStep(wctx, s, st, !last || len(st.Hooks) > 0); err != nil {
			var se *stepError
			if !errors.As(err, &se) {
				return err
			}
			return e.failSync(ctx, s, se)
		}
	}
	s.result.Applied = true
	return nil
}

// Failure is how an earlier sync in phases and waves failed: the reason and
// message it reported, the phase and wave it stopped in.
type Failure struct {
	Reason, Message string
	Phase           hook.Phase
	Wave            int
}

// recordOwned records, before any write, every object the sync may create.
func (s *syncState) recordOwned(ctx context.Context) error {
	owned := s.req.Previous.Union(s.result.Desired)
	s.result.Inventory = owned
	if s.req.BeforeWrite == nil || owned.Len() <= s.req.Previous.Len() {
		return nil
	}
	if err := s.req.BeforeWrite(ctx, owned); err != nil {
		return failed(flotillav1.ReasonApplyFailed, fmt.Errorf("record inventory: %w", err))
	}
	return nil
}

// applyObjects applies objs (or, with CreateNamespace, at least the
// namespace), adds what it did to the result and returns it.
func (s *syncState) applyObjects(ctx context.Context, objs []*unstructured.Unstructured) (*apply.ChangeSet, error) {
	if len(objs) == 0 && !s.app.Spec.SyncPolicy.CreateNamespace {
		return &apply.ChangeSet{}, nil
	}
	cs, err := s.manager.Apply(ctx, objs, s.applyOptions())
	s.result.Changes.Merge(cs)
	if err != nil {
		return cs, s.applyError(err, flotillav1.ReasonApplyFailed)
	}
	if cs.Has(apply.ActionConflict) {
		return cs, failed(flotillav1.ReasonOwnershipConflict, fmt.Errorf("%s", cs.Conflicts()))
	}
	return cs, nil
}

// stepError is a step that failed: an object refused, a hook or a wave that
// failed or did not become ready. The sync stops there and runs its
// SyncFail hooks. err is an *Error, whose reason the sync reports.
type stepError struct {
	phase hook.Phase
	wave  int
	err   error
}

func (e *stepError) Error() string {
	return fmt.Sprintf("%s wave %d: %v", e.phase, e.wave, e.err)
}

func (e *stepError) Unwrap() error { return e.err }

// runStep applies a step's objects, creates its hooks and, with wait, waits
// until all are ready: hooks complete, objects healthy.
func (e *Engine) runStep(ctx context.Context, s *syncState, st hook.Step, wait bool) error {
	s.progress(ctx, Progress{Phase: st.Phase, Wave: st.Wave})
	fail := func(err error) error { return &stepError{phase: st.Phase, wave: st.Wave, err: err} }
	cs, err := s.applyObjects(ctx, definitions(st.Objects, false))
	if err != nil {
		return fail(err)
	}
	var pending []pendingObject
	for _, c := range cs.Filter(apply.ActionCreated, apply.ActionConfigured, apply.ActionUnchanged) {
		pending = append(pending, pendingObject{key: c.Object})
	}
	for _, h := range st.Hooks {
		created, err := s.createHook(ctx, h)
		if err != nil {
			return fail(failed(flotillav1.ReasonHookFailed, err))
		}
		pending = append(pending, pendingObject{key: created, hook: &h})
	}
	if !wait {
		return nil
	}
	if err := e.waitReady(ctx, s, st, pending); err != nil {
		return fail(err)
	}
	return nil
}

// createHook deletes the objects of earlier runs of h (BeforeHookCreation),
// then creates h afresh.
func (s *syncState) createHook(ctx context.Context, h hook.Hook) (inventory.ObjMetadata, error) {
	if h.Spec.Deletes(hook.BeforeHookCreation) {
		cs, err := s.manager.DeleteHooks(ctx, h.Object, s.applyOptions())
		s.result.Changes.Merge(cs)
		if err != nil {
			return inventory.ObjMetadata{}, err
		}
	}
	c, err := s.manager.CreateHook(ctx, h.Object, s.applyOptions())
	if c.Action == apply.ActionCreated {
		c.Message = string(h.Spec.Phase) + " hook"
	}
	s.result.Changes.Add(c)
	return c.Object, err
}

// pendingObject is an object a step waits for; hook is set for hooks.
type pendingObject struct {
	key  inventory.ObjMetadata
	hook *hook.Hook
}

// waitReady reads the step's objects until each is ready: a hook complete
// (a Job complete, a Pod succeeded, anything else healthy), an object
// healthy. One that fails (Degraded, a failed Job or Pod) ends the wait at
// once; ctx bounds it.
func (e *Engine) waitReady(ctx context.Context, s *syncState, st hook.Step, pending []pendingObject) error {
	checker, err := s.checker()
	if err != nil {
		return err
	}
	for {
		var left []pendingObject
		var waiting []string
		for _, p := range pending {
			ready, why, err := s.readyOf(ctx, checker, p)
			switch {
			case err != nil:
				s.afterHook(ctx, p, false)
				return failed(reasonOf(p), errors.New(why))
			case ready:
				s.afterHook(ctx, p, true)
			default:
				left = append(left, p)
				waiting = append(waiting, why)
			}
		}
		if pending = left; len(pending) == 0 {
			return nil
		}
		s.progress(ctx, Progress{Phase: st.Phase, Wave: st.Wave, Message: "waiting for " + strings.Join(waiting, "; ")})
		select {
		case <-ctx.Done():
			return failed(reasonOf(pending[0]), fmt.Errorf(
				"not ready within the sync's time limit of %s: %s", e.syncTimeout(s), strings.Join(waiting, "; ")))
		case <-time.After(readyPoll):
		}
	}
}

func reasonOf(p pendingObject) string {
	if p.hook != nil {
		return flotillav1.ReasonHookFailed
	}
	return flotillav1.ReasonWaveFailed
}

// errNotReady marks an object that failed for good.
var errNotReady = errors.New("failed")

// readyOf reads one object: ready, or why not ("Job/shop/migrate-x7k2:
// running: 1 active"); an error when it failed for good.
func (s *syncState) readyOf(ctx context.Context, checker *health.Checker, p pendingObject) (bool, string, error) {
	live, err := s.manager.Read(ctx, p.key)
	if err != nil {
		return false, err.Error(), nil
	}
	if live == nil {
		if p.hook != nil {
			return false, p.key.String() + " was deleted before it completed", errNotReady
		}
		return false, p.key.String() + " is missing", nil
	}
	if p.hook != nil && live.GetKind() == "Pod" && live.GroupVersionKind().Group == "" {
		switch phase, _, _ := unstructured.NestedString(live.Object, "status", "phase"); phase {
		case "Succeeded":
			return true, "", nil
		case "Failed":
			return false, p.key.String() + ": pod failed", errNotReady
		default:
			return false, p.key.String() + ": pod " + strings.ToLower(orUnknown(phase)), nil
		}
	}
	r := checker.Assess(ctx, live)
	switch r.Status {
	case flotillav1.HealthHealthy:
		return true, "", nil
	case flotillav1.HealthDegraded:
		return false, withKey(p.key, r.Message), errNotReady
	}
	return false, withKey(p.key, r.Message), nil
}

func withKey(key inventory.ObjMetadata, msg string) string {
	if msg == "" {
		return key.String()
	}
	if strings.Contains(msg, key.Name) {
		return msg
	}
	return key.String() + ": " + msg
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}

// afterHook deletes a hook that ended, when its delete policy says so.
func (s *syncState) afterHook(ctx context.Context, p pendingObject, succeeded bool) {
	if p.hook == nil {
		return
	}
	policy := hook.HookFailed
	if succeeded {
		policy = hook.HookSucceeded
	}
	if !p.hook.Spec.Deletes(policy) {
		return
	}
	c, err := s.manager.DeleteHook(ctx, p.key, s.owner)
	if err == nil {
		c.Message = "deleted by its delete policy " + string(policy)
	}
	s.result.Changes.Add(c)
}

// failSync runs the SyncFail hooks after a step failed, and returns the
// failure naming the step, the object and how the SyncFail hooks went. They
// get a time limit of their own: the failure may be that the sync ran out
// of time.
func (e *Engine) failSync(ctx context.Context, s *syncState, cause *stepError) error {
	var notes []string
	if len(s.plan.SyncFail) > 0 {
		fctx, cancel := context.WithTimeout(ctx, e.syncTimeout(s))
		defer cancel()
		for _, st := range s.plan.SyncFail {
			if err := e.runStep(fctx, s, st, true); err != nil {
				notes = append(notes, "SyncFail hooks failed: "+err.Error())
				break
			}
		}
		if len(notes) == 0 {
			notes = append(notes, "SyncFail hooks completed")
		}
	}
	s.result.Phase, s.result.Wave = cause.phase, cause.wave
	err := fmt.Errorf("sync stopped in %w", cause)
	if len(notes) > 0 {
		err = fmt.Errorf("%w; %s", err, strings.Join(notes, "; "))
	}
	return &Error{Reason: ReasonOf(cause.err, flotillav1.ReasonApplyFailed), Stalled: IsStalled(cause.err), Err: err}
}

// progress tells the caller where the sync is.
func (s *syncState) progress(ctx context.Context, p Progress) {
	s.result.Phase, s.result.Wave = p.Phase, p.Wave
	if s.req.Progress != nil {
		s.req.Progress(ctx, p)
	}
}

// checker is the health checker of the Application: its CEL checks, and
// pods read for messages.
func (s *syncState) checker() (*health.Checker, error) {
	if s.checks == nil {
		checks, err := health.CompileChecks(s.app.Spec.HealthChecks, health.DefaultCheckOptions())
		if err != nil {
			return nil, stalled(flotillav1.ReasonInvalidSpec, fmt.Errorf("spec.%w", err))
		}
		s.checks = checks
	}
	return health.NewChecker(health.Options{Checks: s.checks, Pods: s.target.pods}), nil
}

// definitions returns the objects of objs that are (with want) or are not
// (without) of the kinds applied first.
func definitions(objs []*unstructured.Unstructured, want bool) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range objs {
		if apply.Definition(u.GroupVersionKind().GroupKind()) == want {
			out = append(out, u)
		}
	}
	return out
}
