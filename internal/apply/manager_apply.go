package apply

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

// Apply makes the cluster hold objs for opts.Owner, by server-side apply with
// the manager's field manager and force, in stages: CustomResourceDefinitions,
// Namespaces and ClusterRoles first (then waiting for the CRDs to be
// Established), everything else after.
//
// Within a stage every object is dry-run before any is written; if one
// dry-run fails, nothing of the stage is written and the error joins an
// *ObjectError per failed object. An object whose dry-run result equals the
// live object is not written (Unchanged). An object that exists and is not
// the owner's is a Conflict: reported, not touched, and not an error (the
// caller decides; see ChangeSet.Conflicts).
//
// objs are not modified. The ChangeSet lists what was done up to the first
// failing stage, including the objects that failed; it is never nil.
func (m *Manager) Apply(ctx context.Context, objs []*unstructured.Unstructured, opts ApplyOptions) (*ChangeSet, error) {
	cs := &ChangeSet{}
	if err := opts.Owner.validate(); err != nil {
		return cs, err
	}
	prepared, err := m.prepareWithNamespace(ctx, m.newResolver(), objs, opts)
	if err != nil {
		return cs, err
	}
	for _, s := range stages {
		batch := byStage(prepared, s)
		if err := m.resolveDeferred(ctx, batch); err != nil {
			return cs, err
		}
		plans, err := m.applyStage(ctx, batch, opts)
		for _, p := range plans {
			cs.Add(p.change())
		}
		if err != nil {
			return cs, err
		}
		if err := m.waitForCRDs(ctx, plans); err != nil {
			return cs, err
		}
	}
	return cs, nil
}

// prepareWithNamespace prepares objs and, with CreateNamespace, the
// destination namespace.
func (m *Manager) prepareWithNamespace(ctx context.Context, r *resolver, objs []*unstructured.Unstructured, opts ApplyOptions) ([]*object, error) {
	ns, err := m.namespaceToCreate(ctx, objs, opts)
	if err != nil {
		return nil, err
	}
	if ns != nil {
		objs = append([]*unstructured.Unstructured{ns}, objs...)
	}
	return m.prepare(ctx, r, objs, opts)
}

// namespaceToCreate returns the Namespace object that CreateNamespace adds,
// or nil: when the option is off, when objs hold that Namespace already, or
// when it exists and is not the owner's.
func (m *Manager) namespaceToCreate(ctx context.Context, objs []*unstructured.Unstructured, opts ApplyOptions) (*unstructured.Unstructured, error) {
	if !opts.CreateNamespace {
		return nil, nil
	}
	name := opts.DefaultNamespace
	if name == "" {
		return nil, fmt.Errorf("%w: CreateNamespace needs a DefaultNamespace", ErrInvalidObject)
	}
	for _, u := range objs {
		if u != nil && u.GroupVersionKind().GroupKind() == namespaceGK && u.GetName() == name {
			return nil, nil
		}
	}
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName(name)
	if opts.NamespaceChecked {
		return ns, nil
	}
	owned := ns.DeepCopy()
	setOwner(owned, opts.Owner)
	if m.memo.unchangedAt(inventory.Identity{Kind: "Namespace", Name: name}, namespaceGVR, owned, m.opts.Live) {
		// The owner's, as its last apply left it: no read needed.
		return ns, nil
	}
	live, err := m.dyn.Resource(namespaceGVR).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return ns, nil
	case err != nil:
		return nil, fmt.Errorf("reading namespace %s: %w", name, err)
	case live.GetAnnotations()[flotillav1.OwnerAnnotation] == opts.Owner.Annotation():
		return ns, nil
	case opts.AdoptEarlier && earlierOwner(opts.Owner, live.GetAnnotations()[flotillav1.OwnerAnnotation]):
		return ns, nil
	}
	return nil, nil
}

// applyStage dry-runs every object of a stage and, only if all dry-runs
// pass, writes those that differ. It returns a plan per object, with the
// outcome of the writes.
func (m *Manager) applyStage(ctx context.Context, batch []*object, opts ApplyOptions) ([]plan, error) {
	plans := m.planAll(ctx, batch, opts)
	if err := planErrors(plans); err != nil {
		return failedOnly(plans), err
	}
	m.forEach(len(plans), func(i int) {
		p := &plans[i]
		if p.action != ActionCreated && p.action != ActionConfigured {
			return
		}
		out, err := m.resource(p.obj.mapping, p.obj.key.Namespace).Apply(ctx, p.obj.key.Name, p.obj.u, m.applyOptions(false))
		if err != nil {
			m.memo.forget(p.obj.key.Identity())
			*p = p.fail(OpApply, flotillav1.ReasonApplyFailed, err)
			return
		}
		p.generation = out.GetGeneration()
		m.memo.remember(p.obj, out.GetResourceVersion())
	})
	return plans, planErrors(plans)
}

// planErrors joins the errors of the failed plans.
func planErrors(plans []plan) error {
	var errs []error
	for _, p := range plans {
		if p.err != nil {
			errs = append(errs, p.err)
		}
	}
	return errors.Join(errs...)
}

// failedOnly keeps the failed plans: when a stage is not written, the others
// did not happen and are not reported.
func failedOnly(plans []plan) []plan {
	var out []plan
	for _, p := range plans {
		if p.action == ActionFailed {
			out = append(out, p)
		}
	}
	return out
}
