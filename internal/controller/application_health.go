package controller

import (
	"context"
	"errors"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	crsource "sigs.k8s.io/controller-runtime/pkg/source"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

// appQueue feeds the Application reconciler with the events of destination
// clusters and new commits, and remembers why each Application was queued:
// a change of its objects' status alone (a Deployment rolling out, a Job
// finishing) only has their health read again, while anything else (drift,
// a new commit, its spec, a request, its interval) syncs it (issue 13: the
// status events of one rollout synced its Application again at each step).
type appQueue struct {
	mu sync.Mutex
	// queue is the reconciler's work queue, once its controller started;
	// early holds what was queued before.
	queue workqueue.TypedRateLimitingInterface[reconcile.Request]
	early map[types.NamespacedName]bool
	// healthOnly is, for each Application queued since its last reconcile
	// began, whether only news of health queued it.
	healthOnly map[types.NamespacedName]bool
	// due is when each Application's next sync is due: the interval or the
	// retry its last sync asked for. A reconcile at or after it syncs.
	due map[types.NamespacedName]time.Time
	// written is, for each Application, the resourceVersion of the newest
	// copy this controller knows (see saw), and of which object (its UID):
	// a copy from the cache that shows another may be older.
	written map[types.NamespacedName]writtenVersion
}

type writtenVersion struct {
	uid             types.UID
	resourceVersion string
}

func newAppQueue() *appQueue {
	return &appQueue{
		early:      map[types.NamespacedName]bool{},
		healthOnly: map[types.NamespacedName]bool{},
		due:        map[types.NamespacedName]time.Time{},
		written:    map[types.NamespacedName]writtenVersion{},
	}
}

// source hands the reconciler's work queue to q when its controller
// starts. Events go straight into it: it holds each Application once, so
// none is ever dropped, however many come.
func (q *appQueue) source() crsource.Source {
	return crsource.Func(func(_ context.Context, wq workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		q.mu.Lock()
		defer q.mu.Unlock()
		q.queue = wq
		for app := range q.early {
			wq.Add(reconcile.Request{NamespacedName: app})
		}
		q.early = nil
		return nil
	})
}

// Drift queues app for a sync: an object of it may have drifted, or what
// it follows has a new commit.
func (q *appQueue) Drift(app types.NamespacedName) { q.add(app, false) }

// Health queues app for a read of its objects' health, unless something
// else queued it for a sync already.
func (q *appQueue) Health(app types.NamespacedName) { q.add(app, true) }

func (q *appQueue) add(app types.NamespacedName, healthOnly bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.markLocked(app, healthOnly)
	if q.queue == nil {
		q.early[app] = true
		return
	}
	q.queue.Add(reconcile.Request{NamespacedName: app})
}

// mark records why app is queued: a sync wins over a health read.
func (q *appQueue) mark(app types.NamespacedName, healthOnly bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.markLocked(app, healthOnly)
}

func (q *appQueue) markLocked(app types.NamespacedName, healthOnly bool) {
	if prev, ok := q.healthOnly[app]; ok && !prev {
		return
	}
	q.healthOnly[app] = healthOnly
}

// take consumes app's mark at the start of its reconcile: true when only
// news of health queued it and its next sync is not due yet. A nil queue
// (a reconciler driven by hand) always syncs.
func (q *appQueue) take(app types.NamespacedName) bool {
	if q == nil {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	healthOnly := q.healthOnly[app]
	delete(q.healthOnly, app)
	due, ok := q.due[app]
	return healthOnly && ok && time.Now().Before(due)
}

// synced records that app synced and asked to come back after d (its
// interval or retry); d zero means its next reconcile syncs, whatever
// queued it.
func (q *appQueue) synced(app types.NamespacedName, d time.Duration) {
	if q == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if d <= 0 {
		delete(q.due, app)
		return
	}
	q.due[app] = time.Now().Add(d)
}

// saw records the resourceVersion of the newest copy of app this
// controller knows: the one its last status write left, or one it read
// from the API server.
func (q *appQueue) saw(app *flotillav1.Application) {
	if q == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.written[client.ObjectKeyFromObject(app)] = writtenVersion{uid: app.UID, resourceVersion: app.ResourceVersion}
}

// behind says whether app, read from the cache, may be older than the
// last status write of it: it is not the newest version this controller
// knows. Such a
// copy can miss what the write recorded (a handled sync request, the
// inventory, a retry count): a sync from it would handle a request again,
// at whatever the branch's head is by then. The reconcile reads the
// Application from the API server instead.
func (q *appQueue) behind(app *flotillav1.Application) bool {
	if q == nil {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	w, ok := q.written[client.ObjectKeyFromObject(app)]
	return ok && w.uid == app.UID && app.ResourceVersion != w.resourceVersion
}

// untilDue is how long until app's next sync is due.
func (q *appQueue) untilDue(app types.NamespacedName) time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	return max(time.Until(q.due[app]), 0)
}

// forget drops what the queue keeps of a deleted Application.
func (q *appQueue) forget(app types.NamespacedName) {
	if q == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.healthOnly, app)
	delete(q.due, app)
	delete(q.written, app)
}

// markingSyncs marks, for a sync, the Application of every event p lets
// through: a change of its spec, annotations or deletion.
func (q *appQueue) markingSyncs(p predicate.Predicate) predicate.Predicate {
	if q == nil {
		return p
	}
	pass := func(ok bool, obj client.Object) bool {
		if ok && obj != nil {
			q.mark(client.ObjectKeyFromObject(obj), false)
		}
		return ok
	}
	return predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return pass(p.Create(e), e.Object) },
		UpdateFunc:  func(e event.UpdateEvent) bool { return pass(p.Update(e), e.ObjectNew) },
		DeleteFunc:  func(e event.DeleteEvent) bool { return pass(p.Delete(e), e.Object) },
		GenericFunc: func(e event.GenericEvent) bool { return pass(p.Generic(e), e.Object) },
	}
}

// refreshable says whether app asks for nothing a sync does: its spec was
// synced and no sync, refresh or prune request waits.
func refreshable(app *flotillav1.Application) bool {
	p := decide(app)
	return app.Generation == app.Status.ObservedGeneration && p.syncToken == "" && p.refreshToken == "" && p.pruneToken == ""
}

// refreshHealth reads the health of app's objects again from the watch
// caches, with no sync, and writes status only if it changed. ok is false
// when the engine holds no sync of app to read from: the caller syncs,
// unless the last sync failed, whose retry waits for its backoff (an
// object's status changing does not bring it sooner).
func (r *ApplicationReconciler) refreshHealth(ctx context.Context, app *flotillav1.Application) (ctrl.Result, bool, error) {
	key := client.ObjectKeyFromObject(app)
	res, err := r.Engine.Observe(ctx, app)
	if errors.Is(err, engine.ErrNotObserved) {
		if op := app.Status.Operation; op != nil && op.Phase == flotillav1.OperationFailed {
			return ctrl.Result{RequeueAfter: r.Queue.untilDue(key)}, true, nil
		}
		return ctrl.Result{}, false, nil
	}
	r.Metrics.ObserveRefresh(res, err)
	if err != nil {
		// A health check the spec cannot compile: the sync reports it.
		return ctrl.Result{}, false, nil
	}
	base := app.DeepCopy()
	setHealth(&app.Status, res)
	if equality.Semantic.DeepEqual(base.Status, app.Status) {
		return resyncAfter(r.Queue.untilDue(key)), true, nil
	}
	if err := writeStatus(ctx, r.Client, app, base.DeepCopy()); err != nil {
		switch {
		case apierrors.IsNotFound(err):
			return ctrl.Result{}, true, nil
		case apierrors.IsConflict(err):
			// Read from a cache behind a newer write: read again shortly,
			// still only the health.
			r.Queue.mark(key, true)
			return ctrl.Result{RequeueAfter: staleRetry}, true, nil
		}
		r.Queue.mark(key, true)
		return ctrl.Result{}, true, err
	}
	r.Queue.saw(app)
	emit(ctx, r.Notify, applicationEvents(&base.Status, app, plan{}, res, nil))
	return resyncAfter(r.Queue.untilDue(key)), true, nil
}

// setHealth writes the health a refresh read into st: the rolled-up health
// and each listed object's, keeping the sync's word on what is OutOfSync.
func setHealth(st *flotillav1.ApplicationStatus, res *engine.Result) {
	st.Health = flotillav1.HealthStatus{Status: res.Health.Status, Message: res.Health.Message}
	for i := range st.Resources {
		r := &st.Resources[i]
		h, ok := res.Resources[inventory.KeyOf(*r)]
		if !ok {
			continue
		}
		r.Health = h.Status
		if r.Sync == flotillav1.SyncStatusOutOfSync {
			continue
		}
		r.Message = ""
		if h.Status != flotillav1.HealthHealthy {
			r.Message = h.Message
		}
	}
}
