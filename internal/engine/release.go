package engine

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/types"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/apply"
	"github.com/flotilla-dev/flotilla/internal/inventory"
	"github.com/flotilla-dev/flotilla/internal/project"
)

// ReleaseRequest lets go of what an Application owns in one cluster: when
// the Application is deleted, or when its destination moved to another
// cluster.
type ReleaseRequest struct {
	App *flotillav1.Application
	// Project is the Application's Project; nil means the built-in default.
	// Its serviceAccount, if any, is impersonated as for a sync.
	Project *flotillav1.Project
	// Cluster is where Inventory lives (status.cluster).
	Cluster string
	// Inventory is what the Application owns there.
	Inventory inventory.Set
	// Policy is Delete or Orphan.
	Policy flotillav1.DeletionPolicy
}

// ReleaseResult is what a release did and what is left.
type ReleaseResult struct {
	Cluster string
	Changes *apply.ChangeSet
	// Remaining are the objects of the inventory that are still there and
	// still the Application's: being deleted (a finalizer at work), or
	// failed. Released, deleted-and-gone and foreign objects are not.
	Remaining inventory.Set
}

// ReleaseObjects deletes (Delete) or releases (Orphan) the Application's objects in
// req.Cluster. Delete goes in reverse order of staging and may delete
// Namespaces, CRDs and PersistentVolumeClaims, but keeps a Namespace or a CRD
// that holds objects the Application does not own; what it keeps is
// released instead, so that nothing is left naming an Application that is
// gone. Only objects carrying the Application's exact owner annotation are
// touched. It is safe to call again: each call picks up where the last one
// left off.
func (e *Engine) ReleaseObjects(ctx context.Context, req ReleaseRequest) (*ReleaseResult, error) {
	res := &ReleaseResult{Cluster: req.Cluster, Changes: &apply.ChangeSet{}, Remaining: req.Inventory}
	if req.Inventory.Len() == 0 {
		return res, nil
	}
	target, name, err := e.manager(ctx, req.App.Namespace, req.Cluster)
	res.Cluster = name
	if err != nil {
		return res, err
	}
	if !target.slots.take(types.NamespacedName{Namespace: req.App.Namespace, Name: req.App.Name}) {
		return res, ErrClusterBusy
	}
	defer target.slots.give()
	m, err := e.releaseManager(ctx, target, name, req)
	if err != nil {
		return res, err
	}
	owner := apply.Owner{Namespace: req.App.Namespace, Name: req.App.Name, UID: string(req.App.UID)}
	keys := req.Inventory.Keys()
	var cs *apply.ChangeSet
	if req.Policy == flotillav1.DeletionPolicyDelete {
		cs, err = deleteOwned(ctx, m, keys, owner)
	} else {
		cs, err = m.Orphan(ctx, keys, owner)
	}
	res.Changes = cs
	left, lerr := m.Remaining(ctx, pending(cs), owner)
	res.Remaining = left
	if err = errors.Join(err, lerr); err != nil {
		return res, clusterError(name, err, flotillav1.ReasonPruneFailed)
	}
	return res, nil
}

// releaseManager is the apply manager a release acts through: the
// Project's ServiceAccount when it names one, as for a sync.
func (e *Engine) releaseManager(ctx context.Context, target *managerEntry, cluster string, req ReleaseRequest) (*apply.Manager, error) {
	policy, err := project.CompileWith(req.Project, e.opts.Project)
	if err != nil {
		return nil, stalled(flotillav1.ReasonProjectViolation, err)
	}
	ns := req.App.Spec.Destination.Namespace
	user := policy.ImpersonationUser(ns)
	if user == "" {
		return target.manager, nil
	}
	return target.impersonating(ctx, policy.ServiceAccount(), ns, user)
}

// deleteOwned prunes every object, Namespaces, CRDs and
// PersistentVolumeClaims included, then releases what the prune kept.
func deleteOwned(ctx context.Context, m *apply.Manager, keys []inventory.ObjMetadata, owner apply.Owner) (*apply.ChangeSet, error) {
	cs, err := m.Prune(ctx, keys, owner, apply.PruneOptions{
		Namespaces: true, CustomResourceDefinitions: true, PersistentVolumeClaims: true,
	})
	var kept []inventory.ObjMetadata
	out := &apply.ChangeSet{}
	for _, c := range cs.Changes {
		if c.Action == apply.ActionSkipped && !c.Foreign {
			kept = append(kept, c.Object)
			continue
		}
		out.Add(c)
	}
	if len(kept) == 0 {
		return out, err
	}
	released, rerr := m.Orphan(ctx, kept, owner)
	for _, c := range released.Changes {
		if c.Action == apply.ActionOrphaned {
			c.Message = "kept and released: " + skipReason(cs, c.Object)
		}
		out.Add(c)
	}
	return out, errors.Join(err, rerr)
}

// skipReason is the message of the prune that kept key.
func skipReason(cs *apply.ChangeSet, key inventory.ObjMetadata) string {
	if c, ok := cs.Get(key); ok {
		return c.Message
	}
	return ""
}

// pending are the objects of cs that may still be there: deleted by this
// call (and perhaps not gone yet) or failed.
func pending(cs *apply.ChangeSet) []inventory.ObjMetadata {
	var out []inventory.ObjMetadata
	for _, c := range cs.Changes {
		if c.MayRemain() {
			out = append(out, c.Object)
		}
	}
	return out
}

// clusterError keeps the reason an apply error carries, or uses fallback; a
// cluster that cannot be reached is ClusterUnavailable.
func clusterError(cluster string, err error, fallback string) error {
	if unreachable(err) {
		return failed(flotillav1.ReasonClusterUnavailable, fmt.Errorf("cluster %s is unreachable: %w", cluster, err))
	}
	if forbidden(err) {
		return failed(flotillav1.ReasonForbidden, err)
	}
	var oe *apply.ObjectError
	if errors.As(err, &oe) && oe.Reason != "" {
		return failed(oe.Reason, err)
	}
	return failed(fallback, err)
}
