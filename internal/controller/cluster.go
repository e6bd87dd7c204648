package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cluster"
	"github.com/flotilla-dev/flotilla/internal/notify"
	"github.com/flotilla-dev/flotilla/internal/project"
	"github.com/flotilla-dev/flotilla/internal/shard"
)

// How often the ClusterReconciler looks at a cluster, and how often it must
// write what it saw.
const (
	// clusterHeartbeat is the interval between two looks at a connected cluster.
	clusterHeartbeat = 30 * time.Second
	// clusterRetry is the interval while a cluster cannot be reached.
	clusterRetry = 5 * time.Second
	// clusterHeartbeatMaxAge is how stale status.lastHeartbeat may get before
	// a look that found nothing new still writes it. Writing every heartbeat
	// would cost the hub one write per cluster every 30s, and wake everything
	// that watches Clusters, for no news; readers should treat a heartbeat
	// older than this (plus clusterHeartbeat) as a controller that stopped
	// looking.
	clusterHeartbeatMaxAge = 2 * time.Minute
	// clusterVersionTimeout bounds one version request.
	clusterVersionTimeout = 5 * time.Second
	// clusterWorkers is how many clusters are looked at at once, so that a
	// few slow ones do not delay the others.
	clusterWorkers = 4
)

// destinationIndex indexes Applications by the Cluster they deploy to
// ("in-cluster" for an empty destination).
const destinationIndex = "flotilla.dev/destination-cluster"

// ClusterReconciler reports on each Cluster in push mode whether the hub
// reaches it: status.connected, kubernetesVersion, lastHeartbeat,
// applications and a Ready condition (False with ClusterUnavailable saying
// why: unreachable, credentials missing or refused, an exec plugin not
// allowed). It writes status only, never to the cluster; Clusters in agent
// mode are left to their agent.
type ClusterReconciler struct {
	// Client reads Clusters and Applications (cached) and patches status.
	Client client.Client
	// Registry builds each Cluster's client configuration from its Secret.
	Registry *cluster.Registry
	Log      *slog.Logger
	// Timeout bounds one version request; zero means 5s.
	Timeout time.Duration
	// Shard, when sharding is on, is this replica's share of the clusters:
	// the heartbeat of a Cluster another replica owns is left to it.
	Shard *shard.Member
	// Clients, if set, holds the watches and clients syncs use; those of a
	// Cluster deleted, moved to agent mode or another replica, or pointed
	// at another server or credentials are released at once.
	Clients ClusterClients
	// Reader reads agents' Roles uncached, and Secrets (see reconcileAgent).
	Reader client.Reader
	// Projects compiles Projects, for the Secrets an agent may read.
	Projects project.Options
	// AgentTimeout is how old an agent's heartbeat may get before its
	// Cluster is marked disconnected; zero means DefaultAgentTimeout.
	AgentTimeout time.Duration
	// Notify, if set, hears of a Cluster that became unreachable, once
	// that is written to status.
	Notify notify.Sink
}

// ClusterClients are the per-cluster watches and clients of the engine.
type ClusterClients interface {
	// Release drops those of the Cluster unless made for generation ("":
	// whatever they were made for).
	Release(namespace, name, generation string)
}

// NewClusterReconciler makes a ClusterReconciler for the manager that
// reaches clusters through registry, the one the engine syncs through: a
// Cluster's configuration is built once, for both.
func NewClusterReconciler(mgr ctrl.Manager, opts Options, registry *cluster.Registry) *ClusterReconciler {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &ClusterReconciler{
		Client:   mgr.GetClient(),
		Registry: registry,
		Log:      log,
		Timeout:  clusterVersionTimeout,
		Reader:   mgr.GetAPIReader(),
		Projects: projectOptions(opts),

		AgentTimeout: opts.AgentTimeout,
	}
}

// SetupWithManager registers the reconciler. Its own status patches do not
// wake it (only spec changes do, and the heartbeat); an Application created,
// deleted or moved to another cluster wakes the Clusters it names, so that
// status.applications follows at once.
func (r *ClusterReconciler) SetupWithManager(mgr ctrl.Manager) error {
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &flotillav1.Application{}, destinationIndex,
		func(obj client.Object) []string {
			app, ok := obj.(*flotillav1.Application)
			if !ok {
				return nil
			}
			return []string{destinationName(app)}
		})
	if err != nil {
		return fmt.Errorf("index Applications by destination: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&flotillav1.Cluster{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&flotillav1.Application{}, handler.EnqueueRequestsFromMapFunc(clusterOfApplication),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: clusterWorkers}).
		Complete(r)
}

func destinationName(app *flotillav1.Application) string {
	if app.Spec.Destination.Cluster == "" {
		return flotillav1.InCluster
	}
	return app.Spec.Destination.Cluster
}

func clusterOfApplication(_ context.Context, obj client.Object) []reconcile.Request {
	app, ok := obj.(*flotillav1.Application)
	if !ok {
		return nil
	}
	key := client.ObjectKey{Namespace: app.Namespace, Name: destinationName(app)}
	return []reconcile.Request{{NamespacedName: key}}
}

// Reconcile is: load → count Applications → ask the version → one status
// patch, unless only the heartbeat moved and it is still fresh → requeue.
func (r *ClusterReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	c := &flotillav1.Cluster{}
	if err := r.Client.Get(ctx, req.NamespacedName, c); err != nil {
		if apierrors.IsNotFound(err) {
			r.release(req.Namespace, req.Name, "")
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !c.DeletionTimestamp.IsZero() {
		r.release(c.Namespace, c.Name, "")
		return ctrl.Result{}, nil
	}
	ctx, done, owned := r.Shard.Hold(ctx, c.Name)
	if !owned {
		r.release(c.Namespace, c.Name, "")
		return ctrl.Result{RequeueAfter: r.Shard.Period()}, nil
	}
	defer done()
	if c.Spec.Mode == flotillav1.ClusterModeAgent {
		r.release(c.Namespace, c.Name, "")
		return r.reconcileAgent(ctx, c)
	}
	apps, err := r.countApplications(ctx, c)
	if err != nil {
		return ctrl.Result{}, err
	}
	version, probeErr := r.probe(ctx, c)
	base := c.DeepCopy()
	now := nowTime()
	setClusterStatus(c, version, probeErr, apps, now)
	r.logTransition(base, c)
	after := clusterHeartbeat
	if !c.Status.Connected {
		after = clusterRetry
	}
	if !clusterStatusNeedsPatch(&base.Status, &c.Status, now.Time) {
		return ctrl.Result{RequeueAfter: after}, nil
	}
	if err := r.Client.Status().Patch(ctx, c, client.MergeFrom(base)); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	emit(ctx, r.Notify, clusterDisconnected(base, c))
	return ctrl.Result{RequeueAfter: after}, nil
}

func (r *ClusterReconciler) countApplications(ctx context.Context, c *flotillav1.Cluster) (int32, error) {
	var list flotillav1.ApplicationList
	if err := r.Client.List(ctx, &list, client.InNamespace(c.Namespace), client.MatchingFields{destinationIndex: c.Name}); err != nil {
		return 0, fmt.Errorf("cluster %s: list its Applications: %w", c.Name, err)
	}
	return int32(len(list.Items)), nil
}

// probe builds the Cluster's configuration and asks its version. The error
// says why the cluster cannot be used; it never holds a credential.
func (r *ClusterReconciler) probe(ctx context.Context, c *flotillav1.Cluster) (string, error) {
	t, err := r.Registry.Get(ctx, c.Namespace, c.Name)
	if err != nil {
		if errors.Is(err, cluster.ErrUnavailable) {
			// Its credentials are gone or unusable: so are the watches
			// made with them.
			r.release(c.Namespace, c.Name, "")
		}
		return "", err
	}
	r.release(c.Namespace, c.Name, t.Generation)
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = clusterVersionTimeout
	}
	cfg := rest.CopyConfig(t.Config)
	cfg.Timeout = timeout
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := cluster.ServerVersion(ctx, cfg)
	switch {
	case err == nil:
		return v.GitVersion, nil
	case apierrors.IsUnauthorized(err), apierrors.IsForbidden(err):
		return "", fmt.Errorf("cluster %s: %s refuses the credentials: %w", c.Name, cfg.Host, err)
	default:
		return "", fmt.Errorf("cluster %s: unreachable at %s: %w", c.Name, cfg.Host, err)
	}
}

func (r *ClusterReconciler) release(namespace, name, generation string) {
	if r.Clients != nil {
		r.Clients.Release(namespace, name, generation)
	}
}

// setClusterStatus records what a look at the cluster found. A cluster that
// cannot be reached keeps its last known version and heartbeat: they say
// what it was, and when it was last seen.
func setClusterStatus(c *flotillav1.Cluster, version string, err error, apps int32, now metav1.Time) {
	st := &c.Status
	st.Applications = apps
	ready := metav1.Condition{
		Type: flotillav1.ConditionReady, ObservedGeneration: c.Generation, LastTransitionTime: now,
	}
	if err != nil {
		st.Connected = false
		ready.Status, ready.Reason = metav1.ConditionFalse, flotillav1.ReasonClusterUnavailable
		ready.Message = truncate(err.Error(), 1024)
	} else {
		st.Connected, st.KubernetesVersion, st.LastHeartbeat = true, version, &now
		ready.Status, ready.Reason = metav1.ConditionTrue, flotillav1.ReasonSucceeded
		ready.Message = "Kubernetes " + version + " reached"
	}
	meta.SetStatusCondition(&st.Conditions, ready)
}

// clusterStatusNeedsPatch says whether the new status is worth a write:
// anything but the heartbeat changed, or the recorded heartbeat is older
// than clusterHeartbeatMaxAge.
func clusterStatusNeedsPatch(old, cur *flotillav1.ClusterStatus, now time.Time) bool {
	a, b := old.DeepCopy(), cur.DeepCopy()
	a.LastHeartbeat, b.LastHeartbeat = nil, nil
	if !equality.Semantic.DeepEqual(a, b) {
		return true
	}
	if equality.Semantic.DeepEqual(old.LastHeartbeat, cur.LastHeartbeat) {
		return false
	}
	return old.LastHeartbeat == nil || now.Sub(old.LastHeartbeat.Time) >= clusterHeartbeatMaxAge
}

// logTransition logs when a cluster becomes reachable or unreachable, or
// why it is unreachable changes; a steady state logs nothing.
func (r *ClusterReconciler) logTransition(old, cur *flotillav1.Cluster) {
	before := meta.FindStatusCondition(old.Status.Conditions, flotillav1.ConditionReady)
	after := meta.FindStatusCondition(cur.Status.Conditions, flotillav1.ConditionReady)
	if before != nil && before.Status == after.Status && before.Message == after.Message {
		return
	}
	name := cur.Namespace + "/" + cur.Name
	if cur.Status.Connected {
		r.Log.Info("cluster connected", "cluster", name, "version", cur.Status.KubernetesVersion)
		return
	}
	r.Log.Info("cluster unavailable", "cluster", name, "error", after.Message)
}
