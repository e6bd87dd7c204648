package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/inventory"
	"github.com/flotilla-dev/flotilla/internal/notify"
	"github.com/flotilla-dev/flotilla/internal/project"
	"github.com/flotilla-dev/flotilla/internal/shard"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// ApplicationReconciler syncs Applications.
type ApplicationReconciler struct {
	Client   client.Client
	Reader   client.Reader // uncached, for Secrets
	Engine   *engine.Engine
	Recorder recorder.EventRecorder
	Metrics  *engine.Metrics
	Log      *slog.Logger
	// Shard, when sharding is on, is this replica's share of the clusters:
	// an Application whose destination another replica owns is skipped.
	Shard *shard.Member
	// Projects compiles Projects: its OwnNamespace is the namespace the
	// controller runs in.
	Projects project.Options
	// Poller, if set, lists each git repository and revision the
	// Applications follow once per poll interval, and queues them on a new
	// commit.
	Poller *revisionPoller
	// Commits, if set, reads the author and message of each commit a sync
	// adds to the history.
	Commits CommitReader
	// Notify, if set, hears of a sync that succeeded with changes or
	// failed, health turned Degraded and drift, once each transition is
	// written to status.
	Notify notify.Sink
	// Queue, if set, feeds the reconciler with the destination clusters'
	// events and says which only ask for a health refresh; nil syncs at
	// every reconcile.
	Queue *appQueue
}

// SetupWithManager registers the reconciler. Status updates do not trigger
// a reconcile: only spec (generation) and annotation changes do, the
// interval, and the events of r.Queue.
func (r *ApplicationReconciler) SetupWithManager(mgr ctrl.Manager, workers int) error {
	changed := predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, deletionStarted)
	b := ctrl.NewControllerManagedBy(mgr).
		For(&flotillav1.Application{}, builder.WithPredicates(r.Queue.markingSyncs(changed))).
		WithOptions(controller.Options{MaxConcurrentReconciles: workers})
	if r.Queue != nil {
		b = b.WatchesRawSource(r.Queue.source())
	}
	if r.Notify != nil {
		b = b.Watches(&flotillav1.Application{}, r.agentReports())
	}
	return b.Complete(r)
}

// clusterBusyRetry is how soon a sync that found its cluster busy tries
// again when nothing queues it once a slot is free (a reconciler without
// the queue the engine wakes).
const clusterBusyRetry = 500 * time.Millisecond

// busyLine bounds how long an Application in the engine's line for a busy
// cluster waits for its wake-up before it looks again by itself.
const busyLine = 15 * time.Second

// busy is when a sync that found its cluster busy comes back by itself:
// the engine queues it as soon as a slot is free, so this only bounds a
// wake-up it could miss; a reconciler without the queue the engine wakes
// retries soon.
func (r *ApplicationReconciler) busy() ctrl.Result {
	if r.Queue == nil {
		return ctrl.Result{RequeueAfter: clusterBusyRetry}
	}
	return ctrl.Result{RequeueAfter: busyLine}
}

// plan is what this reconcile will do.
type plan struct {
	// write is the one decision of whether the sync writes; lastApplied
	// is the revision the last sync applied, for engine.WriteNewRevision.
	write       engine.WriteMode
	lastApplied string
	prune       bool
	revision    string
	// pin is the rollback in force, if any.
	pin *flotillav1.Pin
	// syncToken, refreshToken and pruneToken are the request annotations
	// being handled.
	syncToken, refreshToken, pruneToken string
	// lastOp is status.operation as the reconcile found it: the sync
	// writes Running there while it works, and a failure counts its retries
	// from the last one.
	lastOp *flotillav1.OperationState
	// commit is the author and message of the revision a sync applied, for
	// the history entry it adds.
	commit source.CommitInfo
}

// Reconcile is the recipe: load → an agent's, another replica's or a
// deleted Application is handled elsewhere → health news only refreshes
// health → decide → sync → report → requeue.
func (r *ApplicationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	app := &flotillav1.Application{}
	if err := r.Client.Get(ctx, req.NamespacedName, app); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if agentDestination(ctx, r.Client, app) {
		return r.leaveToAgent(ctx, app)
	}
	ctx, done, owned := r.Shard.Hold(ctx, destinationName(app))
	if !owned {
		return ctrl.Result{RequeueAfter: r.Shard.Period()}, nil
	}
	defer done()
	if r.Queue.behind(app) {
		if r.Reader == nil {
			return ctrl.Result{RequeueAfter: staleRetry}, nil
		}
		if err := r.Reader.Get(ctx, req.NamespacedName, app); err != nil {
			if apierrors.IsNotFound(err) {
				r.forget(req.NamespacedName)
			}
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
		// The copy read is the newest known: the cache showing it again is
		// no reason for another read.
		r.Queue.saw(app)
	}
	refresh := r.Queue.take(req.NamespacedName)
	if !app.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, app)
	}
	if err := r.ensureFinalizer(ctx, app); err != nil {
		if errors.Is(err, errStaleCopy) {
			return ctrl.Result{RequeueAfter: staleRetry}, nil
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if refresh && refreshable(app) {
		// Only the status of its objects changed: their health is read
		// again, with no sync.
		if res, done, err := r.refreshHealth(ctx, app); done {
			return res, err
		}
	}
	// Until this sync asks to come back, any reconcile syncs.
	r.Queue.synced(req.NamespacedName, 0)
	s := &syncRun{plan: decide(app), app: app, started: time.Now()}
	// base is the Application as the hub holds it, as far as this
	// reconcile knows: every status write of it moves base on.
	s.base, s.before = app.DeepCopy(), app.Status.DeepCopy()
	s.res, s.err = r.sync(ctx, s)
	if after, unreported := r.unreported(ctx, s.err); unreported {
		return after, nil
	}
	return r.report(ctx, s)
}

// syncRun is one sync of an Application, from its decision to its report.
type syncRun struct {
	plan
	app *flotillav1.Application
	// base is the Application as the last status write of this reconcile
	// left it; before is its status as the reconcile found it.
	base    *flotillav1.Application
	before  *flotillav1.ApplicationStatus
	started time.Time
	res     *engine.Result
	err     error
}

// forget drops what the reconciler keeps of a deleted Application.
func (r *ApplicationReconciler) forget(key types.NamespacedName) {
	r.Poller.forget(key)
	r.Queue.forget(key)
	r.Engine.Forget(key)
}

// sync reads what the sync needs (a rollback's pin, the Applications it
// depends on, its Project and the Secrets its source names), moves it off
// a previous cluster, and has the engine sync it. The first failure ends it.
func (r *ApplicationReconciler) sync(ctx context.Context, s *syncRun) (*engine.Result, error) {
	app := s.app
	pinned, err := pin(app)
	if err != nil {
		return nil, err
	}
	if pinned != nil {
		// A rollback: sync the pinned revision, and keep to it.
		s.pin, s.revision, s.write = pinned, pinned.Revision, max(s.write, engine.WriteNewRevision)
	}
	if err := r.dependenciesReady(ctx, app); err != nil {
		return nil, err
	}
	proj, err := r.projectOf(ctx, app)
	if err != nil {
		return nil, err
	}
	if err := r.move(ctx, app, s.base, proj); err != nil {
		return nil, err
	}
	policy, err := engine.CompileProject(proj, r.Projects)
	if err != nil {
		return nil, err
	}
	acc := engine.SecretAccess{Reader: r.Reader, Clusters: r.Client, Policy: policy, Namespace: app.Namespace}
	secrets, err := acc.SourceSecrets(ctx, app.Spec.Source)
	if err != nil {
		return nil, err
	}
	res, err := r.Engine.Sync(ctx, engine.Request{
		App:              app,
		Project:          proj,
		Credentials:      secrets.Credentials,
		ChartCredentials: secrets.Charts,
		Verify:           secrets.Verify,
		Decryption:       secrets.Decryption,
		Revision:         s.revision,
		Fresh:            s.syncToken != "" || s.refreshToken != "",
		Write:            s.write,
		LastApplied:      s.lastApplied,
		Prune:            s.prune,
		PruneConfirmed:   s.pruneToken != "",
		Previous:         inventory.FromResourceStatus(app.Status.Resources),
		BeforeWrite:      r.recordInventory(app, s.base),
		Progress:         r.recordProgress(app, s.base),
		RerunHooks:       retriesPhasedSync(app, s.syncToken != ""),
		Unretried:        unretriedFailure(app, s.syncToken != ""),
	})
	if err != nil || res == nil {
		return res, err
	}
	asked := s.revision
	if asked == "" {
		asked = app.Spec.Source.TargetRevision
	}
	r.Poller.follow(app, secrets.Credentials, asked, res.Revision)
	if res.Applied {
		s.commit = r.commitOf(ctx, app, secrets.Credentials, res.Revision)
	}
	return res, nil
}

// unreported says whether a sync ended in a way nobody reports: it wrote
// nothing, and the reconcile that comes back, when given, does.
func (r *ApplicationReconciler) unreported(ctx context.Context, err error) (ctrl.Result, bool) {
	switch {
	case ctx.Err() != nil:
		// The cluster moved to another replica, or the controller is
		// stopping: whoever syncs next reports.
		return ctrl.Result{RequeueAfter: r.Shard.Period()}, true
	case errors.Is(err, engine.ErrClusterBusy):
		// The cluster runs as many syncs as it may; this one waits its
		// turn in the engine's line, without holding a worker, and is
		// queued again when a slot of the cluster is free.
		return r.busy(), true
	case errors.Is(err, errStaleCopy):
		// Found before any write: the next reconcile reads the newer copy.
		return ctrl.Result{RequeueAfter: staleRetry}, true
	}
	return ctrl.Result{}, false
}

// report counts, logs and tells the sync, and writes status once, unless a
// resync found nothing new; then it asks to come back after the interval
// or the retry backoff.
func (r *ApplicationReconciler) report(ctx context.Context, s *syncRun) (ctrl.Result, error) {
	app, res, err := s.app, s.res, s.err
	counted := res
	if counted == nil && err != nil {
		// A failure before the engine (a missing Project, a refused
		// Secret) is a failed sync too.
		counted = &engine.Result{Cluster: destinationName(app), Duration: time.Since(s.started)}
	}
	r.Metrics.Observe(counted, err)
	r.log(app, res, err)
	r.event(app, res, err)
	setStatus(app, s.plan, res, err, s.started)
	if equality.Semantic.DeepEqual(s.base.Status, app.Status) {
		// A resync that found nothing new writes nothing, not even status.
		return r.requeue(app, err), nil
	}
	if perr := writeStatus(ctx, r.Client, app, s.base); perr != nil {
		switch {
		case apierrors.IsNotFound(perr):
			return ctrl.Result{}, nil
		case apierrors.IsConflict(perr):
			// Read from a cache behind a newer write: what this reconcile
			// applied is applied again, idempotently, and recorded by the
			// next, which reads the newer copy.
			return ctrl.Result{RequeueAfter: staleRetry}, nil
		}
		return ctrl.Result{}, perr
	}
	r.Queue.saw(app)
	emit(ctx, r.Notify, applicationEvents(s.before, app, s.plan, res, err))
	return r.requeue(app, err), nil
}

// decide reads the sync policy and the request annotations. Automated sync
// applies a new revision or a changed spec; only with selfHeal does it also
// apply when the cluster drifted from an unchanged revision.
func decide(app *flotillav1.Application) plan {
	p := plan{lastOp: app.Status.Operation.DeepCopy()}
	auto := app.Spec.SyncPolicy.Automated
	if auto != nil {
		p.prune = auto.Prune
		p.write = engine.WriteNewRevision
		if auto.SelfHeal || app.Generation != app.Status.ObservedGeneration || len(app.Status.History) == 0 {
			p.write = engine.WriteAlways
		}
		if n := len(app.Status.History); n > 0 {
			p.lastApplied = app.Status.History[n-1].Revision
		}
	}
	if tok := app.Annotations[flotillav1.SyncAnnotation]; tok != "" && tok != app.Status.LastHandledSync {
		p.write, p.syncToken = engine.WriteAlways, tok
		p.prune = auto != nil && auto.Prune
		if v, ok := app.Annotations[flotillav1.SyncPruneAnnotation]; ok {
			p.prune = v == "true"
		}
		p.revision = app.Annotations[flotillav1.SyncRevisionAnnotation]
	}
	if tok := app.Annotations[flotillav1.RefreshAnnotation]; tok != "" && tok != app.Status.LastHandledRefresh {
		p.refreshToken = tok
	}
	if tok := app.Annotations[flotillav1.ConfirmPruneAnnotation]; tok != "" && tok != app.Status.LastHandledPrune {
		p.pruneToken = tok
	}
	return p
}

// recordInventory patches status.resources before a sync writes, so that the
// objects it may create are owned on record even if the controller dies
// before the final status patch. written is the Application as the last
// status write of this reconcile left it; a write moves it on.
func (r *ApplicationReconciler) recordInventory(app, written *flotillav1.Application) func(context.Context, inventory.Set) error {
	return func(ctx context.Context, inv inventory.Set) error {
		app.Status.Resources = mergeResourceStatus(app.Status.Resources, inv)
		app.Status.Cluster = destinationName(app)
		now := nowTime()
		app.Status.Operation = &flotillav1.OperationState{Phase: flotillav1.OperationRunning, StartedAt: &now}
		err := writeStatus(ctx, r.Client, app, written)
		if apierrors.IsConflict(err) {
			return fmt.Errorf("%w: %w", errStaleCopy, err)
		}
		return err
	}
}

// writeStatus patches app's status from written, the Application as this
// reconcile's last status write left it, and on success takes app as the
// new written. A merge patch sends only what differs from its base: from
// any older base, the fields a later write changed and the next one puts
// back would not be sent (a failed sync would keep the Running its
// progress wrote).
func writeStatus(ctx context.Context, c client.Client, app, written *flotillav1.Application) error {
	if err := patchStatus(ctx, c, app, written); err != nil {
		return err
	}
	*written = *app.DeepCopy()
	return nil
}

// errStaleCopy says the Application changed since this reconcile read it:
// the cache it came from was behind a write, often the last reconcile's.
var errStaleCopy = errors.New("the Application changed since it was read")

// staleRetry is how soon a reconcile that read an outdated copy tries again.
const staleRetry = 200 * time.Millisecond

// patchStatus writes obj's status as a merge patch from base, on condition
// that nobody wrote obj since base was read; else it fails with a Conflict.
// A merge patch replaces whole lists, so without the condition a reconcile
// that read a copy from a cache still behind the last status write would
// put back the older history, inventory and handled-request tokens.
func patchStatus(ctx context.Context, c client.Client, obj, base client.Object) error {
	return c.Status().Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
}

// requeue comes back to app after its interval or retry backoff, and
// until then has health news only refresh its health.
func (r *ApplicationReconciler) requeue(app *flotillav1.Application, err error) ctrl.Result {
	d := requeueAfter(app, err)
	r.Queue.synced(client.ObjectKeyFromObject(app), d)
	if err == nil || engine.IsStalled(err) {
		return resyncAfter(d)
	}
	return ctrl.Result{RequeueAfter: d}
}

// resyncAfter comes back after d for a resync on the interval, behind
// everything queued for another reason: a new Application's first sync, a
// new commit, drift, a retry. With a thousand Applications, resyncs of those
// synced early would otherwise hold back the first syncs of the rest.
func resyncAfter(d time.Duration) ctrl.Result {
	return ctrl.Result{RequeueAfter: d, Priority: ptr.To(handler.LowPriority)}
}

// requeueAfter is the interval after a success or a stall, the retry backoff
// after a failure.
func requeueAfter(app *flotillav1.Application, err error) time.Duration {
	interval := syncInterval(app.Spec.SyncPolicy)
	if err == nil || engine.IsStalled(err) {
		return interval
	}
	retry := int32(0)
	if op := app.Status.Operation; op != nil {
		retry = op.RetryCount
	}
	if rp := app.Spec.SyncPolicy.Retry; rp != nil && rp.Limit > 0 && retry > rp.Limit {
		return interval
	}
	if d := backoff(app.Spec.SyncPolicy.Retry, retry); d < interval {
		return d
	}
	return interval
}

func (r *ApplicationReconciler) log(app *flotillav1.Application, res *engine.Result, err error) {
	attrs := []any{"app", app.Namespace + "/" + app.Name}
	if res != nil {
		attrs = append(attrs, "cluster", res.Cluster, "revision", res.Revision, "duration", res.Duration.Round(time.Millisecond))
	}
	if err != nil {
		r.Log.Info("sync failed", append(attrs, "reason", engine.ReasonOf(err, "Failed"), "error", err)...)
		return
	}
	if res != nil && res.Changes != nil && res.Changes.HasChanges() {
		r.Log.Info("sync applied", append(attrs, "changes", res.Changes.String())...)
		// Warnings of the render (kustomize's deprecations) are told with
		// the sync that applied it, not at every look.
		for _, w := range res.Warnings {
			r.Log.Info("render warning", append(attrs, "warning", w)...)
		}
	}
}

func (r *ApplicationReconciler) event(app *flotillav1.Application, res *engine.Result, err error) {
	if err != nil {
		r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, engine.ReasonOf(err, "Failed"), "Sync", "%s", limitNote(err.Error()))
		return
	}
	if res != nil && res.Applied && res.Changes != nil && res.Changes.HasChanges() {
		r.Recorder.Eventf(app, nil, corev1.EventTypeNormal, flotillav1.ReasonSucceeded, "Sync", "%s", syncedNote(res))
		if len(res.Warnings) > 0 {
			r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, flotillav1.ReasonRenderWarning, "Render", "%s", warningsNote(res))
		}
	}
}
