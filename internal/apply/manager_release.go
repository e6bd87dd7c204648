package apply

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

// Orphan releases objs from owner: each that still carries owner's exact
// owner annotation loses it and the tracking label, and is otherwise left
// as it is (Orphaned). Objects already gone count as Deleted; objects that
// are someone else's are Skipped and not touched. The annotation is checked
// in the same request that removes it (a JSON patch test), so an object
// another Application took over meanwhile is never released.
func (m *Manager) Orphan(ctx context.Context, objs []inventory.ObjMetadata, owner Owner) (*ChangeSet, error) {
	cs := &ChangeSet{}
	if err := owner.validate(); err != nil {
		return cs, err
	}
	keys := slices.Clone(objs)
	inventory.Sort(keys)
	r := m.newResolver()
	mappings := make([]*meta.RESTMapping, len(keys))
	mapErrs := make([]error, len(keys))
	for i, key := range keys {
		mappings[i], mapErrs[i] = r.mapping(ctx, key.GroupVersionKind(), true)
	}
	changes := make([]Change, len(keys))
	failures := make([]error, len(keys))
	m.forEach(len(keys), func(i int) {
		changes[i], failures[i] = m.orphanObject(ctx, owner, keys[i], mappings[i], mapErrs[i])
	})
	for _, c := range changes {
		cs.Add(c)
	}
	return cs, errors.Join(failures...)
}

// orphanObject is the per-object flow of Orphan: read, check, patch.
func (m *Manager) orphanObject(ctx context.Context, owner Owner, key inventory.ObjMetadata, mapping *meta.RESTMapping, mapErr error) (Change, error) {
	ri, live, c, err := m.readOwned(ctx, owner, key, mapping, mapErr, "not released")
	if live == nil {
		return c, err
	}
	fail := func(err error) (Change, error) { return removalFailed(c, err) }
	patch, err := releasePatch(owner, live.GetLabels()[flotillav1.TrackingLabel] != "")
	if err != nil {
		return fail(err)
	}
	_, err = ri.Patch(ctx, key.Name, types.JSONPatchType, patch, metav1.PatchOptions{FieldManager: m.opts.FieldManager})
	switch {
	case apierrors.IsNotFound(err):
		c.Action, c.Message = ActionDeleted, msgAlreadyGone
		return c, nil
	case apierrors.IsInvalid(err) || apierrors.IsConflict(err):
		// The test of the owner annotation failed: it changed since the read.
		c.Action, c.Message, c.Foreign = ActionSkipped, "not released: its owner changed", true
		return c, nil
	case err != nil:
		return fail(err)
	}
	c.Action = ActionOrphaned
	return c, nil
}

// releasePatch is a JSON patch that checks the owner annotation and removes
// it, and the tracking label when the object has one.
func releasePatch(owner Owner, hasLabel bool) ([]byte, error) {
	escape := strings.NewReplacer("~", "~0", "/", "~1")
	ann := "/metadata/annotations/" + escape.Replace(flotillav1.OwnerAnnotation)
	ops := []map[string]any{
		{"op": "test", "path": ann, "value": owner.Annotation()},
		{"op": "remove", "path": ann},
	}
	if hasLabel {
		ops = append(ops, map[string]any{"op": "remove", "path": "/metadata/labels/" + escape.Replace(flotillav1.TrackingLabel)})
	}
	return json.Marshal(ops)
}

// Remaining returns the objects of objs that still exist and carry owner's
// exact owner annotation: after a Prune, those still being deleted (a
// finalizer of someone else's, or the namespace controller at work). A kind
// no longer served counts as gone. An object that cannot be read is
// returned too, and the error says why: it is never taken for gone.
func (m *Manager) Remaining(ctx context.Context, objs []inventory.ObjMetadata, owner Owner) (inventory.Set, error) {
	r := m.newResolver()
	found := make([]bool, len(objs))
	errs := make([]error, len(objs))
	mappings := make([]*meta.RESTMapping, len(objs))
	for i, key := range objs {
		var err error
		mappings[i], err = r.mapping(ctx, key.GroupVersionKind(), true)
		if err != nil && !meta.IsNoMatchError(err) {
			errs[i] = newObjectError(key, nil, OpRead, flotillav1.ReasonPruneFailed, err)
			found[i] = true
		}
	}
	m.forEach(len(objs), func(i int) {
		if mappings[i] == nil || errs[i] != nil {
			return
		}
		live, err := m.resource(mappings[i], objs[i].Namespace).Get(ctx, objs[i].Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			errs[i] = newObjectError(objs[i], nil, OpRead, flotillav1.ReasonPruneFailed, err)
			found[i] = true
		default:
			found[i] = live.GetAnnotations()[flotillav1.OwnerAnnotation] == owner.Annotation()
		}
	})
	var left []inventory.ObjMetadata
	for i, f := range found {
		if f {
			left = append(left, objs[i])
		}
	}
	return inventory.NewSet(left...), errors.Join(errs...)
}
