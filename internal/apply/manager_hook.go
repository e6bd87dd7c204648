package apply

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/diff"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

// OpHook: creating, reading or deleting a hook object.
const OpHook Op = "hook"

// hookPollInterval is how often DeleteHooks checks that the objects it
// deleted are gone.
const hookPollInterval = 250 * time.Millisecond

// CreateHook creates in (a hook: a Job that migrates a database, for
// example) afresh for opts.Owner. It is created, not applied: a hook may
// have metadata.generateName instead of a name, and each sync that runs it
// makes a new object. The object carries the owner annotation, the hook
// label (v1alpha1.HookLabel) and the hook's source name
// (v1alpha1.HookNameAnnotation), never the tracking label: it is not part
// of the inventory, not watched for drift and never pruned.
//
// A named hook whose object is still there (a delete policy that keeps it)
// is left as it is and reported Unchanged when it is the owner's hook, and
// is a Conflict error otherwise. The Change names the object as created,
// with the name the API server generated.
func (m *Manager) CreateHook(ctx context.Context, in *unstructured.Unstructured, opts ApplyOptions) (Change, error) {
	o, err := m.prepareHook(ctx, in, opts)
	if err != nil {
		return Change{Action: ActionFailed}, err
	}
	ri := m.resource(o.mapping, o.key.Namespace)
	out, err := ri.Create(ctx, o.u, metav1.CreateOptions{FieldManager: m.opts.FieldManager})
	if apierrors.IsAlreadyExists(err) && o.key.Name != "" {
		return m.existingHook(ctx, o, opts.Owner)
	}
	if err != nil {
		oe := newObjectError(o.key, o.u, OpHook, flotillav1.ReasonApplyFailed, fmt.Errorf("create: %w", err))
		return Change{Object: o.key, Action: ActionFailed, Message: oe.Detail()}, oe
	}
	key := o.key
	key.Name = out.GetName()
	return Change{Object: key, Action: ActionCreated}, nil
}

// existingHook decides about a named hook whose object exists already.
func (m *Manager) existingHook(ctx context.Context, o *object, owner Owner) (Change, error) {
	live, err := m.resource(o.mapping, o.key.Namespace).Get(ctx, o.key.Name, metav1.GetOptions{})
	if err != nil {
		oe := newObjectError(o.key, nil, OpHook, flotillav1.ReasonApplyFailed, fmt.Errorf("read: %w", err))
		return Change{Object: o.key, Action: ActionFailed, Message: oe.Detail()}, oe
	}
	current := live.GetAnnotations()[flotillav1.OwnerAnnotation]
	if current == owner.Annotation() && live.GetLabels()[flotillav1.HookLabel] == owner.Name {
		return Change{Object: o.key, Action: ActionUnchanged, Message: "kept from an earlier sync by its delete policy"}, nil
	}
	msg := conflictMessage(owner, current)
	oe := newObjectError(o.key, nil, OpHook, flotillav1.ReasonOwnershipConflict, errors.New(msg))
	return Change{Object: o.key, Action: ActionConflict, Message: msg, CurrentOwner: current}, oe
}

// DeleteHooks deletes the objects that earlier runs of the hook in left
// for owner (the BeforeHookCreation policy): those of in's kind and
// namespace that carry owner's hook label, exact owner annotation and in's
// source name. It waits until they are gone, so that a named hook can be
// created again; ctx bounds the wait. Deletion propagates in the
// background: a Job's pods go with it.
func (m *Manager) DeleteHooks(ctx context.Context, in *unstructured.Unstructured, opts ApplyOptions) (*ChangeSet, error) {
	cs := &ChangeSet{}
	o, err := m.prepareHook(ctx, in, opts)
	if err != nil {
		return cs, err
	}
	ri := m.resource(o.mapping, o.key.Namespace)
	sel := labels.Set{flotillav1.HookLabel: opts.Owner.Name}.String()
	list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return cs, newObjectError(o.key, nil, OpHook, flotillav1.ReasonApplyFailed, fmt.Errorf("list earlier runs: %w", err))
	}
	name := o.u.GetAnnotations()[flotillav1.HookNameAnnotation]
	var errs []error
	for i := range list.Items {
		live := &list.Items[i]
		ann := live.GetAnnotations()
		if ann[flotillav1.OwnerAnnotation] != opts.Owner.Annotation() || ann[flotillav1.HookNameAnnotation] != name {
			continue
		}
		key := o.key
		key.Name = live.GetName()
		if err := m.deleteAndWait(ctx, o.mapping, key, live.GetUID()); err != nil {
			errs = append(errs, newObjectError(key, nil, OpHook, flotillav1.ReasonApplyFailed, err))
			cs.Add(Change{Object: key, Action: ActionFailed, Message: err.Error()})
			continue
		}
		cs.Add(Change{Object: key, Action: ActionDeleted, Message: "an earlier run of the hook"})
	}
	return cs, errors.Join(errs...)
}

// DeleteHook deletes the hook object key that CreateHook made for owner
// (the HookSucceeded and HookFailed policies), if it is still owner's. It
// does not wait for it to be gone.
func (m *Manager) DeleteHook(ctx context.Context, key inventory.ObjMetadata, owner Owner) (Change, error) {
	mapping, err := m.newResolver().mapping(ctx, key.GroupVersionKind(), true)
	if err != nil {
		return Change{Object: key, Action: ActionFailed}, newObjectError(key, nil, OpHook, flotillav1.ReasonApplyFailed, err)
	}
	ri := m.resource(mapping, key.Namespace)
	live, err := ri.Get(ctx, key.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return Change{Object: key, Action: ActionDeleted, Message: msgAlreadyGone}, nil
	case err != nil:
		return Change{Object: key, Action: ActionFailed}, newObjectError(key, nil, OpHook, flotillav1.ReasonApplyFailed, err)
	case live.GetAnnotations()[flotillav1.OwnerAnnotation] != owner.Annotation():
		return Change{Object: key, Action: ActionSkipped, Message: conflictMessage(owner, live.GetAnnotations()[flotillav1.OwnerAnnotation]), Foreign: true}, nil
	}
	err = ri.Delete(ctx, key.Name, deleteOptions(live.GetUID()))
	if err != nil && !apierrors.IsNotFound(err) {
		return Change{Object: key, Action: ActionFailed}, newObjectError(key, nil, OpHook, flotillav1.ReasonApplyFailed, err)
	}
	return Change{Object: key, Action: ActionDeleted}, nil
}

// Read returns the live object key, or nil when it does not exist.
func (m *Manager) Read(ctx context.Context, key inventory.ObjMetadata) (*unstructured.Unstructured, error) {
	mapping, err := m.newResolver().mapping(ctx, key.GroupVersionKind(), true)
	if err != nil {
		return nil, newObjectError(key, nil, OpRead, flotillav1.ReasonApplyFailed, err)
	}
	live, err := m.resource(mapping, key.Namespace).Get(ctx, key.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, newObjectError(key, nil, OpRead, flotillav1.ReasonApplyFailed, err)
	}
	return live, nil
}

// HookKey names the object CreateHook would make of in, as the Project's
// rules see it: its namespace settled, its name the source's name or
// generateName. It writes nothing.
func (m *Manager) HookKey(ctx context.Context, in *unstructured.Unstructured, opts ApplyOptions) (inventory.ObjMetadata, error) {
	o, err := m.prepareHook(ctx, in, opts)
	if err != nil {
		return inventory.ObjMetadata{}, err
	}
	return o.key, nil
}

// prepareHook copies in and readies it for creation: kind served, namespace
// settled, server-set metadata dropped, the hook label and the owner and
// hook-name annotations set, the tracking label removed.
func (m *Manager) prepareHook(ctx context.Context, in *unstructured.Unstructured, opts ApplyOptions) (*object, error) {
	if err := opts.Owner.validate(); err != nil {
		return nil, err
	}
	if in == nil {
		return nil, fmt.Errorf("%w: nil", ErrInvalidObject)
	}
	u := in.DeepCopy()
	key := inventory.FromObject(u)
	fail := func(err error) (*object, error) {
		return nil, newObjectError(key, u, OpValidate, flotillav1.ReasonDryRunFailed, err)
	}
	source := u.GetName()
	if source == "" {
		source = u.GetGenerateName()
		key.Name = source
	}
	if key.Kind == "" || key.Version == "" || source == "" {
		return fail(fmt.Errorf("%w: apiVersion, kind and metadata.name or metadata.generateName are required", ErrInvalidObject))
	}
	gvk := u.GroupVersionKind()
	mapping, err := m.newResolver().mapping(ctx, gvk, false)
	switch {
	case meta.IsNoMatchError(err):
		return fail(m.unknownKind(ctx, gvk))
	case err != nil:
		return fail(fmt.Errorf("discovering %s: %w", gvk.GroupVersion(), err))
	}
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		u.SetNamespace("")
	} else if u.GetNamespace() == "" {
		if opts.DefaultNamespace == "" {
			return fail(fmt.Errorf("%w: a namespaced object without a namespace, and no default namespace", ErrInvalidObject))
		}
		u.SetNamespace(opts.DefaultNamespace)
	}
	key.Namespace = u.GetNamespace()
	for _, f := range diff.ServerSetMetadata() {
		unstructured.RemoveNestedField(u.Object, "metadata", f)
	}
	setHookOwner(u, opts.Owner, source)
	return &object{u: u, key: key, mapping: mapping, stage: stageResources}, nil
}

// setHookOwner marks u as opts.Owner's hook named source.
func setHookOwner(u *unstructured.Unstructured, owner Owner, source string) {
	lbls := maps.Clone(u.GetLabels())
	if lbls == nil {
		lbls = map[string]string{}
	}
	delete(lbls, flotillav1.TrackingLabel)
	lbls[flotillav1.HookLabel] = owner.Name
	u.SetLabels(lbls)
	ann := maps.Clone(u.GetAnnotations())
	if ann == nil {
		ann = map[string]string{}
	}
	ann[flotillav1.OwnerAnnotation] = owner.Annotation()
	ann[flotillav1.HookNameAnnotation] = source
	u.SetAnnotations(ann)
}

// deleteAndWait deletes the object key of uid and waits until it is gone
// (or replaced by another of the same name).
func (m *Manager) deleteAndWait(ctx context.Context, mapping *meta.RESTMapping, key inventory.ObjMetadata, uid types.UID) error {
	ri := m.resource(mapping, key.Namespace)
	if err := ri.Delete(ctx, key.Name, deleteOptions(uid)); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete: %w", err)
	}
	err := wait.PollUntilContextCancel(ctx, hookPollInterval, true, func(ctx context.Context) (bool, error) {
		live, err := ri.Get(ctx, key.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return true, nil
		case err != nil:
			return false, nil
		}
		return live.GetUID() != uid, nil
	})
	if err != nil {
		return fmt.Errorf("still there after its deletion: %w", err)
	}
	return nil
}

// deleteOptions delete the object of uid only, its dependents in the
// background (a Job's pods with it: the API's default for Jobs orphans them).
func deleteOptions(uid types.UID) metav1.DeleteOptions {
	bg := metav1.DeletePropagationBackground
	return metav1.DeleteOptions{PropagationPolicy: &bg, Preconditions: &metav1.Preconditions{UID: &uid}}
}
