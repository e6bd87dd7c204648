package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/capi"
	"github.com/flotilla-dev/flotilla/internal/cluster"
	"github.com/flotilla-dev/flotilla/internal/shard"
)

// capiWorkers is how many CAPI Clusters register at once: a registration
// waits for a ServiceAccount token in the new cluster.
const capiWorkers = 2

// ErrNoClusterAPI says --capi was asked for on a hub that serves no
// Cluster API Clusters.
var ErrNoClusterAPI = errors.New("the hub serves no cluster.x-k8s.io Clusters: install Cluster API there first, or run without --capi")

// CAPIReconciler registers each Cluster API Cluster of the namespace as a
// Flotilla Cluster of the same name once its control plane is initialized,
// from its <name>-kubeconfig Secret, through cluster.Register (a
// ServiceAccount token of the new cluster, never Cluster API's admin
// credential, reaches the hub's Secret). The Flotilla Cluster carries the
// CAPI Cluster's labels, kept equal to them, and capi.SourceLabel; the CAPI
// Cluster owns it and its Secret, so both go when it goes, even with the
// controller stopped. It deletes them itself as soon as the CAPI Cluster is
// being deleted. A Flotilla Cluster without capi.SourceLabel is never
// changed or deleted.
type CAPIReconciler struct {
	// Client reads (cached) and writes the hub.
	Client client.Client
	// Reader reads the hub uncached: whether a cluster is registered is
	// asked of the API server, so that a cache a moment behind the
	// registration just made does not start another.
	Reader client.Reader
	// GVK is the version of Cluster API's Cluster the hub prefers.
	GVK schema.GroupVersionKind
	Log *slog.Logger
	// Shard, when sharding is on: a CAPI Cluster is registered by the
	// replica that holds the key of its name, as the Cluster's heartbeat is.
	Shard *shard.Member
	// TokenTimeout bounds the wait for the new cluster's token.
	TokenTimeout time.Duration
}

// capiGVK is the hub's preferred version of Cluster API's Cluster.
func capiGVK(mapper meta.RESTMapper) (schema.GroupVersionKind, error) {
	m, err := mapper.RESTMapping(capi.GroupKind)
	if meta.IsNoMatchError(err) {
		return schema.GroupVersionKind{}, ErrNoClusterAPI
	}
	if err != nil {
		return schema.GroupVersionKind{}, fmt.Errorf("find Cluster API's Cluster: %w", err)
	}
	return m.GroupVersionKind, nil
}

func (r *CAPIReconciler) newSource() *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(r.GVK)
	return u
}

// SetupWithManager watches CAPI Clusters, the Flotilla Clusters they own,
// and the Secrets named <name>-kubeconfig.
func (r *CAPIReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("capi-cluster").
		For(r.newSource()).
		// A Cluster's heartbeat does not wake it; its deletion, or a change
		// of its spec or labels, does.
		Owns(&flotillav1.Cluster{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}))).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(capiClusterOfSecret)).
		WithOptions(controller.Options{MaxConcurrentReconciles: capiWorkers}).
		Complete(r)
}

// capiClusterOfSecret maps a kubeconfig Secret, and a credentials Secret
// made for a CAPI Cluster, to that Cluster.
func capiClusterOfSecret(_ context.Context, obj client.Object) []reconcile.Request {
	name, ok := capi.ClusterOfSecret(obj.GetName())
	if source := obj.GetLabels()[capi.SourceLabel]; source != "" {
		name, ok = source, true
	}
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: obj.GetNamespace(), Name: name}}}
}

// Reconcile is: load → gone or being deleted: unregister → wait for the
// control plane and the kubeconfig → register, or only follow the labels
// when registered already.
func (r *CAPIReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	src := r.newSource()
	err := r.Client.Get(ctx, req.NamespacedName, src)
	if apierrors.IsNotFound(err) || (err == nil && !src.GetDeletionTimestamp().IsZero()) {
		return ctrl.Result{}, r.unregister(ctx, req.NamespacedName)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	ctx, done, owned := r.Shard.Hold(ctx, req.Name)
	if !owned {
		return ctrl.Result{RequeueAfter: r.Shard.Period()}, nil
	}
	defer done()
	if !capi.ControlPlaneInitialized(src) {
		return ctrl.Result{}, nil // its status changing wakes us
	}
	log := r.Log.With("cluster", req.Namespace+"/"+req.Name)
	if errs := validation.IsDNS1123Label(req.Name); len(errs) > 0 || req.Name == flotillav1.InCluster {
		log.Info("Cluster API cluster not registered: its name cannot name a Cluster (a DNS label, not in-cluster)")
		return ctrl.Result{}, nil
	}
	existing, err := r.existing(ctx, req.NamespacedName)
	if errors.Is(err, errNotOurs) {
		log.Info("Cluster API cluster not registered: a Cluster of that name exists that Flotilla did not make for it")
		return ctrl.Result{}, nil
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	kubeconfig, err := r.kubeconfig(ctx, req.NamespacedName)
	if err != nil || kubeconfig == nil {
		return ctrl.Result{}, err
	}
	target, err := cluster.ConfigFromKubeconfig(kubeconfig)
	if err != nil {
		// It stays refused until the Secret changes, which wakes us.
		log.Info("Cluster API cluster not registered", "error", err)
		return ctrl.Result{}, nil
	}
	if existing == nil || !r.registeredAt(ctx, existing, target.Host) {
		opts := cluster.DefaultRegisterOptions()
		opts.Name, opts.Namespace, opts.Labels = req.Name, req.Namespace, capi.Labels(src)
		if r.TokenTimeout > 0 {
			opts.TokenTimeout = r.TokenTimeout
		}
		if existing, err = cluster.Register(ctx, target, r.Client, opts); err != nil {
			return ctrl.Result{}, err
		}
		log.Info("Cluster API cluster registered", "server", target.Host)
	}
	return ctrl.Result{}, r.own(ctx, src, existing)
}

// errNotOurs says a Flotilla Cluster of the CAPI Cluster's name was made by
// someone else.
var errNotOurs = errors.New("a Cluster Flotilla did not make for Cluster API")

// existing is the Flotilla Cluster made for the CAPI Cluster key, or nil.
func (r *CAPIReconciler) existing(ctx context.Context, key client.ObjectKey) (*flotillav1.Cluster, error) {
	c := &flotillav1.Cluster{}
	err := r.Reader.Get(ctx, key, c)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, err
	case c.Labels[capi.SourceLabel] != key.Name:
		return nil, errNotOurs
	}
	return c, nil
}

// kubeconfig reads the CAPI Cluster's kubeconfig; nil while its Secret is
// missing (its creation wakes us).
func (r *CAPIReconciler) kubeconfig(ctx context.Context, key client.ObjectKey) ([]byte, error) {
	s := &corev1.Secret{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: capi.KubeconfigSecretName(key.Name)}, s)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("the Cluster API cluster %s: read its kubeconfig: %w", key.Name, err)
	}
	data, err := capi.Kubeconfig(s)
	if err != nil {
		return nil, reconcile.TerminalError(err)
	}
	return data, nil
}

// registeredAt says whether c was registered for server and its
// credentials Secret is still there: then nothing needs registering again.
func (r *CAPIReconciler) registeredAt(ctx context.Context, c *flotillav1.Cluster, server string) bool {
	if c.Spec.Server != server || c.Spec.CredentialsRef == nil || c.Spec.CredentialsRef.Name != cluster.SecretName(c.Name) {
		return false
	}
	err := r.Reader.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: c.Spec.CredentialsRef.Name}, &corev1.Secret{})
	return err == nil
}

// own makes the Flotilla Cluster's labels equal to the CAPI Cluster's and
// sets the CAPI Cluster as the owner of it and of its credentials Secret.
func (r *CAPIReconciler) own(ctx context.Context, src *unstructured.Unstructured, c *flotillav1.Cluster) error {
	ref := metav1.OwnerReference{
		APIVersion: r.GVK.GroupVersion().String(), Kind: r.GVK.Kind,
		Name: src.GetName(), UID: src.GetUID(), Controller: new(true),
	}
	labels := capi.Labels(src)
	base := c.DeepCopy()
	c.Labels = labels
	c.OwnerReferences = withOwner(c.OwnerReferences, ref)
	if !maps.Equal(base.Labels, c.Labels) || len(base.OwnerReferences) != len(c.OwnerReferences) {
		if err := r.Client.Patch(ctx, c, client.MergeFrom(base)); err != nil {
			return fmt.Errorf("the Cluster %s/%s: set its labels and owner: %w", c.Namespace, c.Name, err)
		}
	}
	s := &corev1.Secret{}
	if err := r.Reader.Get(ctx, client.ObjectKey{Namespace: c.Namespace, Name: cluster.SecretName(c.Name)}, s); err != nil {
		return fmt.Errorf("the Cluster %s/%s: read its credentials Secret: %w", c.Namespace, c.Name, err)
	}
	sBase := s.DeepCopy()
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	s.Labels[capi.SourceLabel] = src.GetName()
	s.OwnerReferences = withOwner(s.OwnerReferences, ref)
	if sBase.Labels[capi.SourceLabel] == src.GetName() && len(sBase.OwnerReferences) == len(s.OwnerReferences) {
		return nil
	}
	if err := r.Client.Patch(ctx, s, client.MergeFrom(sBase)); err != nil {
		return fmt.Errorf("the Secret %s/%s: set its owner: %w", s.Namespace, s.Name, err)
	}
	return nil
}

// withOwner adds ref to refs unless an owner of that UID is there.
func withOwner(refs []metav1.OwnerReference, ref metav1.OwnerReference) []metav1.OwnerReference {
	for _, r := range refs {
		if r.UID == ref.UID {
			return refs
		}
	}
	return append(refs, ref)
}

// unregister removes the Flotilla Cluster made for the CAPI Cluster key and
// its credentials Secret, and nothing Flotilla did not make for it.
func (r *CAPIReconciler) unregister(ctx context.Context, key client.ObjectKey) error {
	c, err := r.existing(ctx, key)
	switch {
	case errors.Is(err, errNotOurs):
		return nil
	case err != nil:
		return err
	case c != nil:
		removed, err := cluster.Unregister(ctx, r.Client, key.Namespace, key.Name)
		if err != nil && !errors.Is(err, cluster.ErrNotRegistered) {
			return err
		}
		if len(removed) > 0 {
			r.Log.Info("Cluster API cluster unregistered", "cluster", key.Namespace+"/"+key.Name, "removed", removed)
		}
		return nil
	}
	// The Cluster is gone: a Secret made for it may be left.
	s := &corev1.Secret{}
	err = r.Reader.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: cluster.SecretName(key.Name)}, s)
	if apierrors.IsNotFound(err) || (err == nil && s.Labels[capi.SourceLabel] != key.Name) {
		return nil
	}
	if err != nil {
		return err
	}
	return client.IgnoreNotFound(r.Client.Delete(ctx, s))
}
