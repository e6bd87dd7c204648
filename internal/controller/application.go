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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
	crsource "sigs.k8s.io/controller-runtime/pkg/source"

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
}

// SetupWithManager registers the reconciler. Status updates do not trigger
// a reconcile: only spec (generation) and annotation changes do, and the
// interval.
func (r *ApplicationReconciler) SetupWithManager(mgr ctrl.Manager, workers int, drift <-chan event.GenericEvent) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&flotillav1.Application{}, builder.WithPredicates(
			predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, deletionStarted))).
		WatchesRawSource(crsource.Channel(drift, &handler.EnqueueRequestForObject{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
		Complete(r)
}

// Enqueuer returns a function that queues an Application through ch,
// waiting for room rather than dropping it (unlike DriftChannel's): a new
// commit must reach every Application that follows it.
func Enqueuer(ch chan<- event.GenericEvent) func(context.Context, types.NamespacedName) {
	return func(ctx context.Context, app types.NamespacedName) {
		obj := &flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: app.Namespace, Name: app.Name}}
		select {
		case ch <- event.GenericEvent{Object: obj}:
		case <-ctx.Done():
		}
	}
}

// DriftChannel returns a channel of drift events and the function that feeds
// it, for engine.Options.OnChange. A full channel drops the event: the
// Application is already queued, and the interval is the safety net.
func DriftChannel() (chan event.GenericEvent, func(types.NamespacedName)) {
	ch := make(chan event.GenericEvent, 1024)
	return ch, func(app types.NamespacedName) {
		obj := &flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: app.Namespace, Name: app.Name}}
		select {
		case ch <- event.GenericEvent{Object: obj}:
		default:
		}
	}
}

// clusterBusyRetry is how soon a sync that found its cluster busy tries again.
const clusterBusyRetry = 500 * time.Millisecond

// plan is what this reconcile will do.
type plan struct {
	apply    bool
	prune    bool
	revision string
	// applyNewRevision applies when the resolved commit is not lastApplied.
	applyNewRevision bool
	lastApplied      string
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

// Reconcile is the recipe: load → deletion (finalize) → decide → move off
// a previous cluster → sync → one status patch → requeue.
//
//nolint:gocyclo // a recipe read top to bottom; its steps move out with the per-destination owner
func (r *ApplicationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	app := &flotillav1.Application{}
	if err := r.Client.Get(ctx, req.NamespacedName, app); err != nil {
		if apierrors.IsNotFound(err) {
			r.Poller.forget(req.NamespacedName)
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
	if !app.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, app)
	}
	if err := r.ensureFinalizer(ctx, app); err != nil {
		if errors.Is(err, errStaleCopy) {
			return ctrl.Result{RequeueAfter: staleRetry}, nil
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	p := decide(app)
	// base is the Application as the hub holds it, as far as this
	// reconcile knows: every status write of it moves base on.
	base := app.DeepCopy()
	before := app.Status.DeepCopy()
	started := time.Now()

	var res *engine.Result
	pinned, err := pin(app)
	if pinned != nil {
		// A rollback: sync the pinned revision, and keep to it.
		p.pin, p.revision, p.applyNewRevision = pinned, pinned.Revision, true
	}
	if err == nil {
		err = r.dependenciesReady(ctx, app)
	}
	var proj *flotillav1.Project
	if err == nil {
		proj, err = r.projectOf(ctx, app)
	}
	if err == nil {
		err = r.move(ctx, app, base, proj)
	}
	var policy *project.Policy
	if err == nil {
		policy, err = engine.CompileProject(proj, r.Projects)
	}
	var secrets engine.SourceSecrets
	if err == nil {
		acc := engine.SecretAccess{Reader: r.Reader, Clusters: r.Client, Policy: policy, Namespace: app.Namespace}
		secrets, err = acc.SourceSecrets(ctx, app.Spec.Source)
	}
	if err == nil {
		res, err = r.Engine.Sync(ctx, engine.Request{
			App:              app,
			Project:          proj,
			Credentials:      secrets.Credentials,
			Verify:           secrets.Verify,
			Decryption:       secrets.Decryption,
			Revision:         p.revision,
			Fresh:            p.syncToken != "" || p.refreshToken != "",
			Apply:            p.apply,
			ApplyNewRevision: p.applyNewRevision,
			LastApplied:      p.lastApplied,
			Prune:            p.prune,
			PruneConfirmed:   p.pruneToken != "",
			Previous:         inventory.FromResourceStatus(app.Status.Resources),
			BeforeWrite:      r.recordInventory(app, base),
			Progress:         r.recordProgress(app, base),
			RerunHooks:       retriesPhasedSync(app, p.syncToken != ""),
			Unretried:        unretriedFailure(app, p.syncToken != ""),
		})
	}
	if err == nil && res != nil {
		asked := p.revision
		if asked == "" {
			asked = app.Spec.Source.TargetRevision
		}
		r.Poller.follow(app, secrets.Credentials, asked, res.Revision)
	}
	if err == nil && res != nil && res.Applied {
		p.commit = r.commitOf(ctx, app, secrets.Credentials, res.Revision)
	}
	if ctx.Err() != nil {
		// The cluster moved to another replica, or the controller is
		// stopping: whoever syncs next reports; this one writes nothing.
		return ctrl.Result{RequeueAfter: r.Shard.Period()}, nil
	}
	if errors.Is(err, engine.ErrClusterBusy) {
		// The cluster runs as many syncs as it may; this one waits its turn
		// without holding a worker, and writes nothing.
		return ctrl.Result{RequeueAfter: clusterBusyRetry}, nil
	}
	if errors.Is(err, errStaleCopy) {
		// Found before any write: nothing was applied, nothing is
		// reported; the next reconcile reads the newer copy.
		return ctrl.Result{RequeueAfter: staleRetry}, nil
	}
	r.Metrics.Observe(res, err)
	r.log(app, res, err)
	r.event(app, p, res, err)
	setStatus(app, p, res, err, started)
	if equality.Semantic.DeepEqual(base.Status, app.Status) {
		// A resync that found nothing new writes nothing, not even status.
		return ctrl.Result{RequeueAfter: requeueAfter(app, err)}, nil
	}
	if perr := writeStatus(ctx, r.Client, app, base); perr != nil {
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
	emit(ctx, r.Notify, applicationEvents(before, app, p, res, err))
	return ctrl.Result{RequeueAfter: requeueAfter(app, err)}, nil
}

// decide reads the sync policy and the request annotations. Automated sync
// applies a new revision or a changed spec; only with selfHeal does it also
// apply when the cluster drifted from an unchanged revision.
func decide(app *flotillav1.Application) plan {
	p := plan{lastOp: app.Status.Operation.DeepCopy()}
	auto := app.Spec.SyncPolicy.Automated
	if auto != nil {
		p.prune = auto.Prune
		p.apply = auto.SelfHeal || app.Generation != app.Status.ObservedGeneration || len(app.Status.History) == 0
		p.applyNewRevision = true
		if n := len(app.Status.History); n > 0 {
			p.lastApplied = app.Status.History[n-1].Revision
		}
	}
	if tok := app.Annotations[flotillav1.SyncAnnotation]; tok != "" && tok != app.Status.LastHandledSync {
		p.apply, p.syncToken = true, tok
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

func (r *ApplicationReconciler) event(app *flotillav1.Application, p plan, res *engine.Result, err error) {
	if err != nil {
		r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, engine.ReasonOf(err, "Failed"), "Sync", "%s", limitNote(err.Error()))
		return
	}
	if p.apply && res != nil && res.Changes != nil && res.Changes.HasChanges() {
		r.Recorder.Eventf(app, nil, corev1.EventTypeNormal, flotillav1.ReasonSucceeded, "Sync", "%s", syncedNote(res))
		if len(res.Warnings) > 0 {
			r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, flotillav1.ReasonRenderWarning, "Render", "%s", warningsNote(res))
		}
	}
}
