package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/notify"
	"github.com/flotilla-dev/flotilla/internal/project"
	"github.com/flotilla-dev/flotilla/internal/rollout"
	"github.com/flotilla-dev/flotilla/internal/shard"
)

// DefaultMaxFleetClusters bounds how many Applications one Fleet may
// generate: a selector or label mistake must not create thousands.
const DefaultMaxFleetClusters = 500

// FleetReconciler stamps out one Application per selected Cluster.
type FleetReconciler struct {
	Client      client.Client
	Log         *slog.Logger
	Revisions   *revisionResolver
	MaxClusters int
	// Shard, when sharding is on, is this replica's share: a Fleet is
	// reconciled only by the replica that owns it by name (fleetKey).
	Shard *shard.Member
	// Projects compiles the Fleet's Project, as for Applications.
	Projects project.Options
	// Recorder records rollout Events on Fleets.
	Recorder recorder.EventRecorder
	// Reader reads Fleets uncached.
	Reader client.Reader
	// Notify hears of rollout events; nil sends none.
	Notify notify.Sink
}

// rollsInWaves says whether f rolls out in waves.
func rollsInWaves(f *flotillav1.Fleet) bool {
	return f.Spec.Rollout != nil && len(f.Spec.Rollout.Waves) > 0
}

// SetupWithManager watches Fleets, the Applications they own, and Clusters
// (a cluster joining, leaving or being relabelled re-evaluates every Fleet
// of its namespace).
func (r *FleetReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&flotillav1.Fleet{}).
		Owns(&flotillav1.Application{}).
		Watches(&flotillav1.Cluster{}, handler.EnqueueRequestsFromMapFunc(r.fleetsOfNamespace)).
		Complete(r)
}

func (r *FleetReconciler) fleetsOfNamespace(ctx context.Context, obj client.Object) []reconcile.Request {
	var fleets flotillav1.FleetList
	if err := r.Client.List(ctx, &fleets, client.InNamespace(obj.GetNamespace())); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(fleets.Items))
	for _, f := range fleets.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&f)})
	}
	return reqs
}

// Reconcile: load → select clusters → stamp → create, update, delete
// Applications → roll the revision forward → one status patch.
func (r *FleetReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	f := &flotillav1.Fleet{}
	if err := r.Client.Get(ctx, req.NamespacedName, f); err != nil {
		if apierrors.IsNotFound(err) {
			r.Revisions.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !f.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	ctx, done, owned := r.Shard.Hold(ctx, fleetKey(f.Name))
	if !owned {
		return ctrl.Result{RequeueAfter: r.Shard.Period()}, nil
	}
	defer done()
	if rollsInWaves(f) && r.Reader != nil {
		// A rollout in waves decides from its own last status (which wave
		// passed, which revision failed): read it from the hub, not from a
		// cache that may not hold the last write yet.
		if err := r.Reader.Get(ctx, req.NamespacedName, f); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
	}
	base := f.DeepCopy()
	var events []rollout.Event
	requeue, err := r.sync(ctx, f, &events)
	setFleetReady(f, err)
	if !equality.Semantic.DeepEqual(base.Status, f.Status) {
		// Every field is counted afresh from the Applications at each
		// reconcile, but a rollout's waves carry over from the last status:
		// a write over a newer one is refused, and the next reconcile reads
		// it.
		perr := r.Client.Status().Patch(ctx, f, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
		switch {
		case apierrors.IsConflict(perr):
			return ctrl.Result{RequeueAfter: staleRetry}, nil
		case perr != nil && !apierrors.IsNotFound(perr):
			return ctrl.Result{}, perr
		}
	}
	// What the rollout did is told once its status says so.
	for _, ev := range events {
		r.rolloutEvent(ctx, f, ev)
	}
	if err != nil {
		r.Log.Info("fleet sync failed", "fleet", req.String(), "error", err)
		return ctrl.Result{RequeueAfter: 10 * time.Second}, nil
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// sync makes the generated Applications match the selected clusters. A
// failure to list clusters is an error, never an empty fleet: nothing is
// deleted because of it.
func (r *FleetReconciler) sync(ctx context.Context, f *flotillav1.Fleet, events *[]rollout.Event) (time.Duration, error) {
	clusters, err := r.selectClusters(ctx, f)
	if err != nil {
		return 0, err
	}
	max := r.MaxClusters
	if max <= 0 {
		max = DefaultMaxFleetClusters
	}
	if len(clusters) > max {
		return 0, fmt.Errorf("the selector picks %d clusters, over the limit of %d Applications per Fleet; nothing was changed", len(clusters), max)
	}
	var owned flotillav1.ApplicationList
	if err := r.Client.List(ctx, &owned, client.InNamespace(f.Namespace), client.MatchingLabels{flotillav1.FleetLabel: f.Name}); err != nil {
		return 0, err
	}
	desired := make(map[string]*flotillav1.Application, len(clusters))
	for i := range clusters {
		app, err := r.stamp(f, &clusters[i])
		if err != nil {
			return 0, fmt.Errorf("cluster %s: %w", clusters[i].Name, err)
		}
		desired[app.Name] = app
	}
	policy, err := r.admit(ctx, f, desired)
	if err != nil {
		return 0, err
	}
	requeue, err := r.pinRevisions(ctx, f, policy, clusters, desired, owned.Items, events)
	if err != nil {
		return 0, err
	}
	confirmed := takeRemovalToken(f)
	err = r.apply(ctx, f, desired, owned.Items, confirmed)
	if err != nil && engine.ReasonOf(err, "") != flotillav1.ReasonMassRemovalRefused {
		return 0, err
	}
	summarize(f, clusters, desired, owned.Items)
	return requeue, err
}

func (r *FleetReconciler) selectClusters(ctx context.Context, f *flotillav1.Fleet) ([]flotillav1.Cluster, error) {
	sel := labels.Everything()
	if f.Spec.ClusterSelector != nil {
		s, err := metav1.LabelSelectorAsSelector(f.Spec.ClusterSelector)
		if err != nil {
			return nil, fmt.Errorf("spec.clusterSelector: %w", err)
		}
		sel = s
	}
	var list flotillav1.ClusterList
	if err := r.Client.List(ctx, &list, client.InNamespace(f.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, fmt.Errorf("list clusters: %w", err)
	}
	slices.SortFunc(list.Items, func(a, b flotillav1.Cluster) int { return compareStrings(a.Name, b.Name) })
	return list.Items, nil
}

// stamp is the Application the Fleet wants on one cluster.
func (r *FleetReconciler) stamp(f *flotillav1.Fleet, c *flotillav1.Cluster) (*flotillav1.Application, error) {
	spec, err := stampSpec(f, c)
	if err != nil {
		return nil, err
	}
	app := &flotillav1.Application{
		ObjectMeta: metav1.ObjectMeta{
			Name:      f.Name + "-" + c.Name,
			Namespace: f.Namespace,
			Labels:    map[string]string{flotillav1.FleetLabel: f.Name, flotillav1.ClusterLabel: c.Name},
		},
		Spec: spec,
	}
	if err := controllerutil.SetControllerReference(f, app, r.Client.Scheme()); err != nil {
		return nil, err
	}
	return app, nil
}

// apply creates and updates the desired Applications and deletes the owned
// ones whose cluster left the selection, unless that removes too many at
// once (checkRemoval).
func (r *FleetReconciler) apply(ctx context.Context, f *flotillav1.Fleet, desired map[string]*flotillav1.Application, owned []flotillav1.Application, confirmed bool) error {
	existing := map[string]*flotillav1.Application{}
	for i := range owned {
		existing[owned[i].Name] = &owned[i]
	}
	for name, want := range desired {
		have, ok := existing[name]
		if !ok {
			if err := r.Client.Create(ctx, want); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("create Application %s: %w", name, err)
			}
			continue
		}
		if equality.Semantic.DeepEqual(have.Spec, want.Spec) && equality.Semantic.DeepEqual(have.Labels, want.Labels) {
			continue
		}
		patch := client.MergeFrom(have.DeepCopy())
		have.Spec = want.Spec
		have.Labels = want.Labels
		if err := r.Client.Patch(ctx, have, patch); err != nil {
			return fmt.Errorf("update Application %s: %w", name, err)
		}
	}
	var remove []string
	total := 0
	for name, have := range existing {
		if !metav1.IsControlledBy(have, f) {
			continue
		}
		total++
		if _, ok := desired[name]; !ok && have.DeletionTimestamp.IsZero() {
			remove = append(remove, name)
		}
	}
	if err := checkRemoval(f, remove, total, confirmed); err != nil {
		return err
	}
	for _, name := range remove {
		if err := r.Client.Delete(ctx, existing[name]); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete Application %s: %w", name, err)
		}
	}
	return nil
}

// summarize writes the clusters and the counts of synced and healthy
// Applications, and the revision when they all agree.
func summarize(f *flotillav1.Fleet, clusters []flotillav1.Cluster, desired map[string]*flotillav1.Application, owned []flotillav1.Application) {
	st := &f.Status
	st.Clusters = st.Clusters[:0]
	for _, c := range clusters {
		st.Clusters = append(st.Clusters, c.Name)
	}
	sum := flotillav1.FleetSummary{Clusters: int32(len(clusters))}
	revisions := map[string]bool{}
	for _, a := range owned {
		if _, ok := desired[a.Name]; !ok {
			continue
		}
		if a.Status.Sync.Status == flotillav1.SyncStatusSynced {
			sum.Synced++
		}
		if a.Status.Health.Status == flotillav1.HealthHealthy {
			sum.Healthy++
		}
		revisions[a.Status.Sync.Revision] = true
	}
	st.Summary = sum
	st.Revision = ""
	if len(revisions) == 1 && int(sum.Clusters) == len(owned) {
		for rev := range revisions {
			st.Revision = rev
		}
	}
	st.ObservedGeneration = f.Generation
}

func setFleetReady(f *flotillav1.Fleet, err error) {
	c := metav1.Condition{Type: flotillav1.ConditionReady, Status: metav1.ConditionTrue, Reason: flotillav1.ReasonSucceeded,
		ObservedGeneration: f.Generation, Message: fmt.Sprintf("%d clusters selected", f.Status.Summary.Clusters)}
	if err != nil {
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, engine.ReasonOf(err, flotillav1.ReasonInvalidSpec), truncate(err.Error(), 2048)
		if errors.Is(err, errTemplateRefused) {
			c.Reason = flotillav1.ReasonTemplateRefused
		}
	}
	meta.SetStatusCondition(&f.Status.Conditions, c)
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
