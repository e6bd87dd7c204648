package live

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// SecretMask replaces every value of a Secret's data and stringData.
const SecretMask = "++++++++"

// Resource returns the live manifest of one node of the Application's
// tree, without metadata.managedFields and with a Secret's values masked.
// Any object that is not a node of the tree is ErrNotFound, as a missing
// one is.
func (r *Reader) Resource(ctx context.Context, app *flotillav1.Application, ref wire.ObjectRef) (*unstructured.Unstructured, error) {
	if ref.Kind == "" || ref.Name == "" {
		return nil, fmt.Errorf("%w: kind and name are required", ErrBadRequest)
	}
	c, err := r.target(ctx, app)
	if err != nil {
		return nil, err
	}
	obj, err := r.node(ctx, c, app, ref)
	if err != nil {
		return nil, err
	}
	return Sanitize(obj), nil
}

// node reads the object ref names and checks that it is a node of the
// Application's tree: a managed object that carries the Application's
// owner annotation, or an object whose owner references lead, through the
// kinds of the tree (childKinds), to one.
func (r *Reader) node(ctx context.Context, c *clients, app *flotillav1.Application, ref wire.ObjectRef) (*unstructured.Unstructured, error) {
	notFound := fmt.Errorf("%w: %s is not an object of Application %s/%s", ErrNotFound, refString(ref), app.Namespace, app.Name)
	obj, err := c.get(ctx, ref)
	switch {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err) || apierrors.IsForbidden(err):
		return nil, notFound
	case err != nil:
		return nil, fmt.Errorf("%w: cluster %s: read %s: %w", ErrUnavailable, c.Name, refString(ref), err)
	}
	if ref.UID != "" && string(obj.GetUID()) != ref.UID {
		return nil, notFound
	}
	cur := obj
	for depth := 0; ; depth++ {
		if managed(app, cur) && ownedByApp(cur, app) {
			return obj, nil
		}
		if depth == maxDepth {
			return nil, notFound
		}
		parent, err := c.parent(ctx, cur)
		if err != nil {
			return nil, err
		}
		if parent == nil {
			return nil, notFound
		}
		cur = parent
	}
}

// managed says whether obj is in the Application's inventory.
func managed(app *flotillav1.Application, obj *unstructured.Unstructured) bool {
	gvk := obj.GroupVersionKind()
	return slices.ContainsFunc(app.Status.Resources, func(res flotillav1.ResourceStatus) bool {
		return res.Group == gvk.Group && res.Kind == gvk.Kind && res.Namespace == obj.GetNamespace() && res.Name == obj.GetName()
	})
}

// parent returns the owner of obj that the tree would find obj under: an
// owner reference of a kind that has obj's kind among its children, whose
// live object has the referenced uid. Nil when there is none.
func (c *clients) parent(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	kinds := parentKinds(obj.GroupVersionKind().GroupKind())
	for _, ref := range obj.GetOwnerReferences() {
		gv, err := schema.ParseGroupVersion(ref.APIVersion)
		if err != nil || !slices.Contains(kinds, schema.GroupKind{Group: gv.Group, Kind: ref.Kind}) {
			continue
		}
		p, err := c.get(ctx, wire.ObjectRef{Group: gv.Group, Version: gv.Version, Kind: ref.Kind, Namespace: obj.GetNamespace(), Name: ref.Name})
		switch {
		case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
			continue
		case err != nil:
			return nil, fmt.Errorf("%w: cluster %s: read the owner of %s: %w", ErrUnavailable, c.Name, refString(refOf(obj)), err)
		}
		if p.GetUID() == ref.UID {
			return p, nil
		}
	}
	return nil, nil
}

// Sanitize returns a copy of obj fit to leave the server: without
// metadata.managedFields, and for a Secret with every value of data and
// stringData, and the last-applied-configuration annotation that may
// repeat them, masked.
func Sanitize(obj *unstructured.Unstructured) *unstructured.Unstructured {
	out := obj.DeepCopy()
	out.SetManagedFields(nil)
	if !isSecret(out) {
		return out
	}
	for _, field := range []string{"data", "stringData"} {
		m, ok := out.Object[field].(map[string]any)
		if !ok {
			if _, present := out.Object[field]; present {
				out.Object[field] = SecretMask
			}
			continue
		}
		for k := range m {
			m[k] = SecretMask
		}
	}
	if ann := out.GetAnnotations(); ann != nil {
		if _, ok := ann[lastApplied]; ok {
			ann[lastApplied] = SecretMask
			out.SetAnnotations(ann)
		}
	}
	return out
}

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

func isSecret(obj *unstructured.Unstructured) bool {
	gvk := obj.GroupVersionKind()
	return gvk.Group == "" && gvk.Kind == "Secret"
}

// listOptions bounds a list to n items.
func listOptions(n int, fieldSelector string) metav1.ListOptions {
	return metav1.ListOptions{Limit: int64(n), FieldSelector: fieldSelector}
}
