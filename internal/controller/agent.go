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

// leaveToAgent handles an Application of an agent's cluster: nothing, but
// a finalizer the hub put on it while its cluster was in push mode is taken
// off when it is deleted, since the agent prunes in its own cluster.
func (r *ApplicationReconciler) leaveToAgent(ctx context.Context, app *flotillav1.Application) (ctrl.Result, error) {
	r.Poller.forget(types.NamespacedName{Namespace: app.Namespace, Name: app.Name})
	if app.DeletionTimestamp.IsZero() || !controllerutil.ContainsFinalizer(app, flotillav1.Finalizer) {
		return ctrl.Result{}, nil
	}
	base := app.DeepCopy()
	controllerutil.RemoveFinalizer(app, flotillav1.Finalizer)
	return ctrl.Result{}, client.IgnoreNotFound(r.Client.Patch(ctx, app, client.MergeFrom(base)))
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

// grantableSecrets are the Secrets app's source names that its Project
// allows; none when the Project or a Secret refuses (the agent's sync then
// reports the missing Secret).
func (r *ClusterReconciler) grantableSecrets(ctx context.Context, app *flotillav1.Application) []string {
	src := app.Spec.Source
	var names []string
	if src.CredentialsRef != nil {
		names = append(names, src.CredentialsRef.Name)
	}
	if src.Verify != nil && src.Verify.SecretRef.Name != "" {
		names = append(names, src.Verify.SecretRef.Name)
	}
	if src.Decryption != nil && src.Decryption.SecretRef.Name != "" {
		names = append(names, src.Decryption.SecretRef.Name)
	}
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
