package apply

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/flotilla-dev/flotilla/internal/diff"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

// Compare tells what Apply would do with the same arguments, by dry-run,
// without writing anything: the controller uses it to tell OutOfSync when
// sync is not automated.
//
// Unlike Apply it does not stop at a failing object: every object gets a
// Change, and the error joins an *ObjectError per failed one. An object that
// cannot be dry-run before an earlier stage is written (its kind comes from
// a CRD, or its namespace from a Namespace, that does not exist yet) is
// reported Created with a message saying so.
func (m *Manager) Compare(ctx context.Context, objs []*unstructured.Unstructured, opts ApplyOptions) (*ChangeSet, error) {
	cs, _, err := m.Preview(ctx, objs, opts)
	return cs, err
}

// Preview is Compare that also returns, for each change in order, the
// object as the API server would store it (the dry-run result) and the live
// object it would replace, for a diff to show. An object that was not
// dry-run (see Compare), that failed, or that is another's (a Conflict) has
// only its desired side, as rendered: nothing of another owner's object is
// returned. Nothing is written.
func (m *Manager) Preview(ctx context.Context, objs []*unstructured.Unstructured, opts ApplyOptions) (*ChangeSet, []diff.Pair, error) {
	cs := &ChangeSet{}
	if err := opts.Owner.validate(); err != nil {
		return cs, nil, err
	}
	prepared, err := m.prepareWithNamespace(ctx, m.newResolver(), objs, opts)
	if err != nil {
		return cs, nil, err
	}
	var plans []plan
	newNamespaces := map[string]bool{}
	for _, s := range stages {
		stagePlans := m.compareStage(ctx, byStage(prepared, s), newNamespaces, opts)
		for _, p := range stagePlans {
			if p.obj.key.GroupKind() == namespaceGK && p.action == ActionCreated {
				newNamespaces[p.obj.key.Name] = true
			}
		}
		plans = append(plans, stagePlans...)
	}
	pairs := make([]diff.Pair, len(plans))
	for i, p := range plans {
		cs.Add(p.change())
		pairs[i] = p.pair()
	}
	return cs, pairs, planErrors(plans)
}

// compareStage plans a stage without writing. Objects that need an earlier
// stage written first (their kind comes from a CRD, or their namespace from
// a Namespace, still to be created) are planned as Created, not dry-run.
func (m *Manager) compareStage(ctx context.Context, batch []*object, newNamespaces map[string]bool, opts ApplyOptions) []plan {
	plans := make([]plan, len(batch))
	var now []int
	for i, o := range batch {
		switch {
		case o.mapping == nil:
			plans[i] = plan{obj: o, action: ActionCreated,
				message: "its CustomResourceDefinition is applied first; not dry-run"}
		case o.key.Namespace != "" && newNamespaces[o.key.Namespace]:
			plans[i] = plan{obj: o, action: ActionCreated,
				message: "its namespace is created first; not dry-run"}
		default:
			now = append(now, i)
		}
	}
	m.forEach(len(now), func(j int) {
		i := now[j]
		plans[i] = m.planObject(ctx, batch[i], opts)
	})
	return plans
}

// Inventory returns the objects an Apply of objs may come to own (objects
// in conflict included: that is known only when applying), named as they
// would be applied: namespaced objects without a namespace get
// DefaultNamespace, cluster-scoped objects lose any namespace, and the
// namespace CreateNamespace would create is included. It checks objs as
// Apply does (kinds served, namespaces known, no duplicates) and writes
// nothing. The engine records it before applying, so that a crash in the
// middle of an Apply never leaves an object that no inventory lists.
func (m *Manager) Inventory(ctx context.Context, objs []*unstructured.Unstructured, opts ApplyOptions) (inventory.Set, error) {
	if err := opts.Owner.validate(); err != nil {
		return inventory.Set{}, err
	}
	prepared, err := m.prepareWithNamespace(ctx, m.newResolver(), objs, opts)
	if err != nil {
		return inventory.Set{}, err
	}
	keys := make([]inventory.ObjMetadata, len(prepared))
	for i, o := range prepared {
		keys[i] = o.key
	}
	return inventory.NewSet(keys...), nil
}
