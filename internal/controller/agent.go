package controller

import (
	"context"
	"fmt"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cluster"
	"github.com/flotilla-dev/flotilla/internal/engine"
)

// DefaultAgentTimeout is how long a Cluster in agent mode may go without a
// heartbeat before the hub marks it disconnected: three of the agent's
// default heartbeats.
const DefaultAgentTimeout = 90 * time.Second

// agentDestination says whether app deploys to a Cluster in agent mode:
// that cluster's agent syncs it and writes its status, and the hub leaves
// it alone (docs/agent.md).
func agentDestination(ctx context.Context, c client.Reader, app *flotillav1.Application) bool {
	name := destinationName(app)
	if name == flotillav1.InCluster {
		return false
	}
	var cl flotillav1.Cluster
	if err := c.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: name}, &cl); err != nil {
		return false
	}
	return cl.Spec.Mode == flotillav1.ClusterModeAgent
}

// leaveToAgent handles an Application of an agent's cluster: the agent
// syncs it, but the hub lets go of what it left elsewhere. A finalizer the
// hub put on it while its cluster was in push mode is taken off when it is
// deleted, since the agent prunes in its own cluster; an Application that
// came from another cluster is moved off it first (handOver).
func (r *ApplicationReconciler) leaveToAgent(ctx context.Context, app *flotillav1.Application) (ctrl.Result, error) {
	// What the hub kept of its own syncs of it serves no more.
	r.forget(types.NamespacedName{Namespace: app.Namespace, Name: app.Name})
	if app.DeletionTimestamp.IsZero() {
		return r.handOver(ctx, app)
	}
	if !controllerutil.ContainsFinalizer(app, flotillav1.Finalizer) {
		return ctrl.Result{}, nil
	}
	base := app.DeepCopy()
	controllerutil.RemoveFinalizer(app, flotillav1.Finalizer)
	return ctrl.Result{}, client.IgnoreNotFound(r.Client.Patch(ctx, app, client.MergeFrom(base)))
}

// handOver moves an Application whose status.cluster is not its agent's
// cluster off that cluster, as a move between push clusters does: the hub
// deletes or releases its objects in a push cluster (an agent cluster's
// own agent prunes there), then records the move, emptying the inventory
// and naming the new cluster. Until then the new cluster's agent syncs but
// does not write status (package agent), and a failure shows in the
// Application's Ready condition.
func (r *ApplicationReconciler) handOver(ctx context.Context, app *flotillav1.Application) (ctrl.Result, error) {
	from := app.Status.Cluster
	if from == "" || from == destinationName(app) {
		return ctrl.Result{}, nil
	}
	ctx, done, owned := r.Shard.Hold(ctx, from)
	if !owned {
		return ctrl.Result{RequeueAfter: r.Shard.Period()}, nil
	}
	defer done()
	base := app.DeepCopy()
	proj, err := r.projectOf(ctx, app)
	if err == nil {
		err = r.move(ctx, app, base, proj)
	}
	if err == nil {
		return ctrl.Result{}, nil
	}
	if after, unreported := r.unreported(ctx, err); unreported {
		return after, nil
	}
	meta.SetStatusCondition(&app.Status.Conditions, metav1.Condition{
		Type: flotillav1.ConditionReady, Status: metav1.ConditionFalse, ObservedGeneration: app.Generation,
		Reason: engine.ReasonOf(err, flotillav1.ReasonMoving), Message: truncate(err.Error(), 4096),
	})
	if perr := patchStatus(ctx, r.Client, app, base); perr != nil {
		return ctrl.Result{RequeueAfter: staleRetry}, nil
	}
	return ctrl.Result{RequeueAfter: requeueAfter(app, err)}, nil
}

// reconcileAgent is the hub's side of a Cluster in agent mode: keep its
// agent's Role equal to the Applications that deploy to it, count them, and
// mark the cluster disconnected once its heartbeat is older than the
// timeout. The agent writes connected, the version and the heartbeat.
func (r *ClusterReconciler) reconcileAgent(ctx context.Context, c *flotillav1.Cluster) (ctrl.Result, error) {
	var list flotillav1.ApplicationList
	if err := r.Client.List(ctx, &list, client.InNamespace(c.Namespace), client.MatchingFields{destinationIndex: c.Name}); err != nil {
		return ctrl.Result{}, fmt.Errorf("cluster %s: list its Applications: %w", c.Name, err)
	}
	if err := r.writeAgentRole(ctx, c, list.Items); err != nil {
		return ctrl.Result{}, err
	}
	timeout := r.AgentTimeout
	if timeout <= 0 {
		timeout = DefaultAgentTimeout
	}
	base := c.DeepCopy()
	c.Status.Applications = int32(len(list.Items))
	now := time.Now()
	if hb := c.Status.LastHeartbeat; c.Status.Connected && (hb == nil || now.Sub(hb.Time) > timeout) {
		c.Status.Connected = false
		since := "never"
		if hb != nil {
			since = "since " + hb.UTC().Format(time.RFC3339)
		}
		meta.SetStatusCondition(&c.Status.Conditions, metav1.Condition{
			Type: flotillav1.ConditionReady, Status: metav1.ConditionFalse, ObservedGeneration: c.Generation,
			Reason:  flotillav1.ReasonClusterUnavailable,
			Message: fmt.Sprintf("no heartbeat from the cluster's agent %s (timeout %s)", since, timeout),
		})
	}
	r.logTransition(base, c)
	if !equality.Semantic.DeepEqual(base.Status, c.Status) {
		if err := r.Client.Status().Patch(ctx, c, client.MergeFrom(base)); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
		emit(ctx, r.Notify, clusterDisconnected(base, c))
	}
	return ctrl.Result{RequeueAfter: timeout / 3}, nil
}

// writeAgentRole creates or updates the Role of the cluster's agent. A
// Secret is granted only if the Application's Project lets it name it, as
// a sync in the hub would read it: no Application can hand an agent a
// Secret it could not use itself, such as another Cluster's credentials.
func (r *ClusterReconciler) writeAgentRole(ctx context.Context, c *flotillav1.Cluster, apps []flotillav1.Application) error {
	var g cluster.AgentGrants
	for i := range apps {
		app := &apps[i]
		g.Applications = append(g.Applications, app.Name)
		if app.Spec.Project != "" {
			g.Projects = append(g.Projects, app.Spec.Project)
		}
		g.Secrets = append(g.Secrets, r.grantableSecrets(ctx, app)...)
	}
	want := cluster.AgentRole(c.Namespace, c.Name, g)
	var have rbacv1.Role
	err := r.Reader.Get(ctx, client.ObjectKeyFromObject(want), &have)
	switch {
	case apierrors.IsNotFound(err):
		err = r.Client.Create(ctx, want)
	case err == nil && !equality.Semantic.DeepEqual(have.Rules, want.Rules):
		have.Rules = want.Rules
		err = r.Client.Update(ctx, &have)
	}
	if err != nil {
		return fmt.Errorf("cluster %s: the agent's Role %s: %w", c.Name, want.Name, err)
	}
	return nil
}

// grantableSecrets are the Secrets app's source names (every one of
// ApplicationSource.SecretNames, which the agent's copy is bounded by too)
// that its Project allows; none when the Project or a Secret refuses (the
// agent's sync then reports the missing Secret).
func (r *ClusterReconciler) grantableSecrets(ctx context.Context, app *flotillav1.Application) []string {
	src := app.Spec.Source
	names := src.SecretNames()
	if len(names) == 0 {
		return nil
	}
	proj, err := engine.ReadProject(ctx, r.Client, app.Namespace, app.Spec.Project)
	if err != nil {
		return nil
	}
	policy, err := engine.CompileProject(proj, r.Projects)
	if err != nil {
		return nil
	}
	acc := engine.SecretAccess{Reader: r.Reader, Clusters: r.Client, Policy: policy, Namespace: app.Namespace}
	if _, err := acc.SourceSecrets(ctx, src); err != nil {
		return nil
	}
	return names
}
