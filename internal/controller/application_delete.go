package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

// deletionWait bounds how long a deleted Application waits for its objects
// to go once their deletion was asked for (a foreign finalizer can hold an
// object for ever): after it, the Application goes and says which objects
// were still being deleted.
const deletionWait = 5 * time.Minute

// deletionPoll is how often a deleted Application looks again while its
// objects are going, besides the drift events that say so at once.
const deletionPoll = 2 * time.Second

// deletionStarted passes the update that marks an Application deleted.
var deletionStarted = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	return e.ObjectOld.GetDeletionTimestamp().IsZero() && !e.ObjectNew.GetDeletionTimestamp().IsZero()
}}

// ensureFinalizer puts Flotilla's finalizer on the Application before it
// first writes to a cluster, so that a deletion always passes through
// finalize.
func (r *ApplicationReconciler) ensureFinalizer(ctx context.Context, app *flotillav1.Application) error {
	if controllerutil.ContainsFinalizer(app, flotillav1.Finalizer) {
		return nil
	}
	base := app.DeepCopy()
	controllerutil.AddFinalizer(app, flotillav1.Finalizer)
	err := r.Client.Patch(ctx, app, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	if apierrors.IsConflict(err) {
		return fmt.Errorf("%w: %w", errStaleCopy, err)
	}
	return err
}

// finalize is the recipe of a deleted Application: delete or release what
// it owns (spec.deletionPolicy), report progress in status until it is
// gone, then remove the finalizer. An unreachable cluster holds the
// Application with a condition, until it answers or the operator abandons
// its objects with an annotation.
func (r *ApplicationReconciler) finalize(ctx context.Context, app *flotillav1.Application) (ctrl.Result, error) {
	r.Poller.forget(types.NamespacedName{Namespace: app.Namespace, Name: app.Name})
	if !controllerutil.ContainsFinalizer(app, flotillav1.Finalizer) {
		return ctrl.Result{}, nil
	}
	base := app.DeepCopy()
	policy := app.Spec.EffectiveDeletionPolicy()
	proj, err := r.projectOf(ctx, app)
	var out *releaseOutcome
	if err == nil {
		out, err = r.release(ctx, app, proj, inventoryCluster(app), policy)
	}
	switch {
	case ctx.Err() != nil:
		return ctrl.Result{RequeueAfter: r.Shard.Period()}, nil
	case errors.Is(err, engine.ErrClusterBusy):
		return r.busy(), nil
	}
	if err == nil && (out.Remaining.Len() == 0 || time.Since(app.DeletionTimestamp.Time) > deletionWait) {
		r.releaseEvent(app, policy, out, flotillav1.ReasonDeleting, "Delete")
		return ctrl.Result{}, r.removeFinalizer(ctx, app, base)
	}
	setDeletionStatus(app, policy, out, err)
	if !equality.Semantic.DeepEqual(base.Status, app.Status) {
		if perr := patchStatus(ctx, r.Client, app, base); perr != nil && !apierrors.IsNotFound(perr) {
			if apierrors.IsConflict(perr) {
				return ctrl.Result{RequeueAfter: staleRetry}, nil
			}
			return ctrl.Result{}, perr
		}
	}
	if err != nil {
		r.Log.Info("deletion waits", "app", app.Namespace+"/"+app.Name, "reason", engine.ReasonOf(err, flotillav1.ReasonPruneFailed), "error", err)
		return ctrl.Result{RequeueAfter: 10 * time.Second}, nil
	}
	return ctrl.Result{RequeueAfter: deletionPoll}, nil
}

func (r *ApplicationReconciler) removeFinalizer(ctx context.Context, app, base *flotillav1.Application) error {
	controllerutil.RemoveFinalizer(app, flotillav1.Finalizer)
	err := r.Client.Patch(ctx, app, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		// Gone already, or changed meanwhile: the next reconcile sees it.
		return client.IgnoreNotFound(err)
	}
	return err
}

// releaseOutcome is what a release did, or why it touched nothing.
type releaseOutcome struct {
	*engine.ReleaseResult
	// untouched says why no object was touched: the operator abandoned
	// them, or their cluster is no longer registered.
	untouched string
}

// release lets go of the inventory in cluster, per policy. Nothing is
// touched when the abandon annotation is set, when the cluster is in agent
// mode (its agent lets go), or when the cluster is no longer registered in
// the hub (there is nothing left to reach it with).
func (r *ApplicationReconciler) release(ctx context.Context, app *flotillav1.Application, proj *flotillav1.Project, cluster string, policy flotillav1.DeletionPolicy) (*releaseOutcome, error) {
	inv := inventory.FromResourceStatus(app.Status.Resources)
	out := &releaseOutcome{ReleaseResult: &engine.ReleaseResult{Cluster: cluster, Remaining: inventory.Set{}}}
	if inv.Len() == 0 {
		return out, nil
	}
	if app.Annotations[flotillav1.AbandonDeletionAnnotation] == "true" {
		out.untouched = fmt.Sprintf("abandoned by annotation %s: %d objects left as they are in cluster %s",
			flotillav1.AbandonDeletionAnnotation, inv.Len(), cluster)
		return out, nil
	}
	agent, gone := r.registration(ctx, app.Namespace, cluster)
	if agent {
		return out, nil
	}
	if gone {
		out.untouched = fmt.Sprintf("cluster %s is no longer registered: its %d objects are not reachable and were left as they are", cluster, inv.Len())
		return out, nil
	}
	res, err := r.Engine.ReleaseObjects(ctx, engine.ReleaseRequest{App: app, Project: proj, Cluster: cluster, Inventory: inv, Policy: policy})
	out.ReleaseResult = res
	return out, err
}

// registration is how the hub holds cluster, read once without the cache:
// in agent mode (its agent deletes or releases an Application's objects
// there once its copy goes, and the hub, which cannot reach it, has
// nothing to do), or gone (the hub no longer has it). A failed read is
// neither.
func (r *ApplicationReconciler) registration(ctx context.Context, namespace, cluster string) (agent, gone bool) {
	if cluster == "" || cluster == flotillav1.InCluster {
		return false, false
	}
	var c flotillav1.Cluster
	err := r.Reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: cluster}, &c)
	return err == nil && c.Spec.Mode == flotillav1.ClusterModeAgent, apierrors.IsNotFound(err)
}

// inventoryCluster is the cluster status.resources live in.
func inventoryCluster(app *flotillav1.Application) string {
	if app.Status.Cluster != "" {
		return app.Status.Cluster
	}
	return destinationName(app)
}

// setDeletionStatus reports a deletion under way: the objects left, and
// why it waits.
func setDeletionStatus(app *flotillav1.Application, policy flotillav1.DeletionPolicy, out *releaseOutcome, err error) {
	st := &app.Status
	if out != nil {
		st.Resources = mergeHealth(inventory.ToResourceStatus(out.Remaining), st.Resources)
	}
	gen := app.Generation
	msg := fmt.Sprintf("deletionPolicy %s: %d objects left in cluster %s", policy, len(st.Resources), inventoryCluster(app))
	if out != nil && out.Remaining.Len() > 0 {
		msg += ": " + truncate(out.Remaining.String(), 1024)
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: flotillav1.ConditionReconciling, Status: metav1.ConditionTrue,
		Reason: flotillav1.ReasonDeleting, Message: msg, ObservedGeneration: gen})
	ready := metav1.Condition{Type: flotillav1.ConditionReady, Status: metav1.ConditionFalse,
		Reason: flotillav1.ReasonDeleting, Message: msg, ObservedGeneration: gen}
	if err != nil {
		ready.Reason = engine.ReasonOf(err, flotillav1.ReasonPruneFailed)
		ready.Message = truncate(fmt.Sprintf("%s; the Application stays until this succeeds, or annotate it %s=true to leave its objects as they are",
			err.Error(), flotillav1.AbandonDeletionAnnotation), 4096)
	}
	meta.SetStatusCondition(&st.Conditions, ready)
}

// mergeHealth keeps the sync and health of entries that stay listed.
func mergeHealth(next, prev []flotillav1.ResourceStatus) []flotillav1.ResourceStatus {
	old := map[inventory.Identity]flotillav1.ResourceStatus{}
	for _, r := range prev {
		old[inventory.KeyOf(r).Identity()] = r
	}
	for i := range next {
		if r, ok := old[inventory.KeyOf(next[i]).Identity()]; ok {
			next[i] = r
		}
	}
	return next
}

// releaseEvent records what a finished deletion or move did.
func (r *ApplicationReconciler) releaseEvent(app *flotillav1.Application, policy flotillav1.DeletionPolicy, out *releaseOutcome, reason, action string) {
	if out.untouched != "" {
		r.Recorder.Eventf(app, nil, corev1.EventTypeWarning, reason, action, "%s", truncate(out.untouched, 1024))
		r.Log.Info("objects left as they are", "app", app.Namespace+"/"+app.Name, "cluster", out.Cluster, "why", out.untouched)
		return
	}
	if out.Changes == nil || len(out.Changes.Changes) == 0 {
		return
	}
	msg := fmt.Sprintf("deletionPolicy %s in cluster %s: %s", policy, out.Cluster, out.Changes.String())
	kind := corev1.EventTypeNormal
	if out.Remaining.Len() > 0 {
		kind = corev1.EventTypeWarning
		msg = fmt.Sprintf("still being deleted after %s: %s; %s", deletionWait, out.Remaining.String(), msg)
	}
	r.Recorder.Eventf(app, nil, kind, reason, action, "%s", truncate(msg, 1024))
	r.Log.Info("objects released", "app", app.Namespace+"/"+app.Name, "cluster", out.Cluster, "policy", string(policy), "changes", out.Changes.String())
}
