package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

// PruneOptions says which kinds Prune may delete besides ordinary objects.
// All are off by default: losing a Namespace, a CRD (with every custom
// resource of its kind) or a PersistentVolumeClaim (with its data) must be
// asked for by the Application.
type PruneOptions struct {
	// Namespaces allows deleting Namespaces. Even then a Namespace is deleted
	// only if everything in it is deleted by this prune too (dependents with
	// owner references and the objects the control plane makes in every
	// namespace aside).
	Namespaces bool
	// CustomResourceDefinitions allows deleting CRDs. Even then a CRD is
	// deleted only if every custom resource of it is deleted by this prune.
	CustomResourceDefinitions bool
	// PersistentVolumeClaims allows deleting PersistentVolumeClaims.
	PersistentVolumeClaims bool
}

// Prune deletes the stale objects (those that left owner's inventory) that
// still exist and are owner's: they carry owner's exact owner annotation
// (namespace, name and uid) and tracking label. Anything else is Skipped with
// a reason and never deleted. Objects already gone count as Deleted.
//
// Objects go in reverse order of Apply's staging: ordinary objects first,
// then ClusterRoles, then CRDs, then Namespaces, so that the guards of the
// last two see what this prune deleted. Deletion propagates in the
// background and is not waited for. One failing object does not stop the
// others: the ChangeSet lists every object and the error joins an
// *ObjectError per failure.
func (m *Manager) Prune(ctx context.Context, stale []inventory.ObjMetadata, owner Owner, opts PruneOptions) (*ChangeSet, error) {
	cs := &ChangeSet{}
	if err := owner.validate(); err != nil {
		return cs, err
	}
	objs := slices.Clone(stale)
	inventory.Sort(objs)
	r := m.newResolver()
	var deleted inventory.Set
	var errs []error
	for _, group := range pruneGroups(objs) {
		mappings := make([]*meta.RESTMapping, len(group))
		mapErrs := make([]error, len(group))
		for i, key := range group {
			mappings[i], mapErrs[i] = r.mapping(ctx, key.GroupVersionKind(), true)
		}
		changes := make([]Change, len(group))
		failures := make([]error, len(group))
		m.forEach(len(group), func(i int) {
			changes[i], failures[i] = m.pruneObject(ctx, owner, group[i], mappings[i], mapErrs[i], opts, deleted)
		})
		var gone []inventory.ObjMetadata
		for i, c := range changes {
			cs.Add(c)
			if c.Action == ActionDeleted {
				gone = append(gone, c.Object)
			}
			if failures[i] != nil {
				errs = append(errs, failures[i])
			}
		}
		deleted = deleted.Union(inventory.NewSet(gone...))
	}
	return cs, errors.Join(errs...)
}

// pruneGroups splits objs into ordinary objects, ClusterRoles, CRDs and
// Namespaces: the reverse of the order Apply writes them in.
func pruneGroups(objs []inventory.ObjMetadata) [][]inventory.ObjMetadata {
	groups := make([][]inventory.ObjMetadata, 4)
	for _, o := range objs {
		switch o.GroupKind() {
		case clusterRoleGK:
			groups[1] = append(groups[1], o)
		case crdGK:
			groups[2] = append(groups[2], o)
		case namespaceGK:
			groups[3] = append(groups[3], o)
		default:
			groups[0] = append(groups[0], o)
		}
	}
	return groups
}

// pruneObject is the one per-object flow of Prune: read, decide, delete.
// The returned error is nil or an *ObjectError.
func (m *Manager) pruneObject(ctx context.Context, owner Owner, key inventory.ObjMetadata, mapping *meta.RESTMapping, mapErr error, opts PruneOptions, deleted inventory.Set) (Change, error) {
	ri, live, c, err := m.readOwned(ctx, owner, key, mapping, mapErr, "not pruned")
	if live == nil {
		return c, err
	}
	fail := func(err error) (Change, error) { return removalFailed(c, err) }
	why, err := m.keep(ctx, owner, key, live, opts, deleted)
	switch {
	case err != nil:
		return fail(err)
	case why != "":
		c.Action, c.Message = ActionSkipped, why
		return c, nil
	case live.GetDeletionTimestamp() != nil:
		c.Action, c.Message = ActionDeleted, "already being deleted"
		return c, nil
	}
	uid := live.GetUID()
	background := metav1.DeletePropagationBackground
	err = ri.Delete(ctx, key.Name, metav1.DeleteOptions{
		PropagationPolicy: &background,
		// Never delete an object recreated since it was checked.
		Preconditions: &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fail(err)
	}
	m.memo.forget(key.Identity())
	c.Action, c.Message = ActionDeleted, ""
	return c, nil
}

// readOwned is the start both per-object flows of a removal share (prune
// and orphan): map, read, and check that the live object carries owner's
// exact annotation. When live is nil the returned Change (and error, nil or
// an *ObjectError) is the object's outcome: its kind or itself is gone, it
// could not be read, or it is someone else's (skipped with verb, such as
// "not pruned").
func (m *Manager) readOwned(ctx context.Context, owner Owner, key inventory.ObjMetadata, mapping *meta.RESTMapping, mapErr error, verb string) (dynamic.ResourceInterface, *unstructured.Unstructured, Change, error) {
	c := Change{Object: key, Action: ActionFailed}
	switch {
	case meta.IsNoMatchError(mapErr):
		c.Action, c.Message = ActionDeleted, msgKindGone
		return nil, nil, c, nil
	case mapErr != nil:
		c, err := removalFailed(c, mapErr)
		return nil, nil, c, err
	case mapping.Scope.Name() == meta.RESTScopeNameNamespace && key.Namespace == "":
		c, err := removalFailed(c, fmt.Errorf("%w: a namespaced object without a namespace", ErrInvalidObject))
		return nil, nil, c, err
	}
	ri := m.resource(mapping, key.Namespace)
	live, err := ri.Get(ctx, key.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		c.Action, c.Message = ActionDeleted, msgAlreadyGone
		return nil, nil, c, nil
	case err != nil:
		c, err := removalFailed(c, err)
		return nil, nil, c, err
	}
	if current := live.GetAnnotations()[flotillav1.OwnerAnnotation]; current != owner.Annotation() {
		c.Action, c.Message, c.CurrentOwner, c.Foreign = ActionSkipped, verb+": "+conflictMessage(owner, current), current, true
		return nil, nil, c, nil
	}
	return ri, live, c, nil
}

// removalFailed records err as c's failure to prune or release.
func removalFailed(c Change, err error) (Change, error) {
	oe := newObjectError(c.Object, nil, OpPrune, flotillav1.ReasonPruneFailed, err)
	c.Action, c.Message = ActionFailed, oe.Detail()
	return c, oe
}

// keep says why the live object of key, which carries owner's annotation,
// must not be deleted, or "" if it may be.
func (m *Manager) keep(ctx context.Context, owner Owner, key inventory.ObjMetadata, live *unstructured.Unstructured, opts PruneOptions, deleted inventory.Set) (string, error) {
	if live.GetLabels()[flotillav1.TrackingLabel] != owner.Name {
		return fmt.Sprintf("not pruned: its %s label is not %q", flotillav1.TrackingLabel, owner.Name), nil
	}
	switch key.GroupKind() {
	case namespaceGK:
		if !opts.Namespaces {
			return "not pruned: pruning Namespaces is not enabled", nil
		}
		return m.namespaceBlocker(ctx, key.Name, deleted)
	case crdGK:
		if !opts.CustomResourceDefinitions {
			return "not pruned: pruning CustomResourceDefinitions is not enabled", nil
		}
		return m.crdBlocker(ctx, live, deleted)
	case pvcGK:
		if !opts.PersistentVolumeClaims {
			return "not pruned: pruning PersistentVolumeClaims is not enabled", nil
		}
	}
	return "", nil
}
