package apply

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/flotilla-dev/flotilla/internal/diff"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

var (
	crdGK         = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}
	namespaceGK   = schema.GroupKind{Kind: "Namespace"}
	clusterRoleGK = schema.GroupKind{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}
	pvcGK         = schema.GroupKind{Kind: "PersistentVolumeClaim"}
	secretGK      = schema.GroupKind{Kind: "Secret"}
)

// stage orders an Apply: every object of a stage is dry-run before any of it
// is written, and a stage is written before the next is dry-run.
type stage int

const (
	// stageDefinitions: what other objects need to exist first: CRDs (their
	// kinds), Namespaces (their contents) and ClusterRoles (what bindings
	// grant).
	stageDefinitions stage = iota
	// stageResources: everything else.
	stageResources
)

var stages = []stage{stageDefinitions, stageResources}

// Definition says whether objects of gk go in Apply's first stage: CRDs,
// Namespaces and ClusterRoles. A sync in waves applies them all before its
// first wave, as an Apply of everything at once would.
func Definition(gk schema.GroupKind) bool { return stageOf(gk) == stageDefinitions }

func stageOf(gk schema.GroupKind) stage {
	switch gk {
	case crdGK, namespaceGK, clusterRoleGK:
		return stageDefinitions
	}
	return stageResources
}

// object is one object on its way to the cluster: a copy of the caller's,
// with its namespace settled and Flotilla's label and annotation set.
type object struct {
	u   *unstructured.Unstructured
	key inventory.ObjMetadata
	// mapping is nil while the kind is not served yet because a CRD of the
	// same Apply defines it; it is resolved after the CRDs are Established.
	mapping *meta.RESTMapping
	stage   stage
}

// prepare copies and checks every object before anything is sent. It
// reports every problem at once, as *ObjectErrors joined.
func (m *Manager) prepare(ctx context.Context, r *resolver, objs []*unstructured.Unstructured, opts ApplyOptions) ([]*object, error) {
	scopes := crdScopes(objs)
	seen := map[inventory.Identity]bool{}
	out := make([]*object, 0, len(objs))
	var errs []error
	for i, in := range objs {
		o, err := m.prepareOne(ctx, r, in, scopes, opts)
		if err == nil && seen[o.key.Identity()] {
			err = newObjectError(o.key, nil, OpValidate, flotillav1.ReasonDryRunFailed,
				fmt.Errorf("%w: given twice", ErrInvalidObject))
		}
		if err != nil {
			if in == nil {
				err = fmt.Errorf("object %d: %w", i, err)
			}
			errs = append(errs, err)
			continue
		}
		seen[o.key.Identity()] = true
		out = append(out, o)
	}
	return out, errors.Join(errs...)
}

func (m *Manager) prepareOne(ctx context.Context, r *resolver, in *unstructured.Unstructured, scopes map[schema.GroupKind]bool, opts ApplyOptions) (*object, error) {
	if in == nil {
		return nil, fmt.Errorf("%w: nil", ErrInvalidObject)
	}
	u := in.DeepCopy()
	key := inventory.FromObject(u)
	fail := func(err error) (*object, error) {
		return nil, newObjectError(key, u, OpValidate, flotillav1.ReasonDryRunFailed, err)
	}
	if key.Kind == "" || key.Version == "" || key.Name == "" {
		return fail(fmt.Errorf("%w: apiVersion, kind and metadata.name are required", ErrInvalidObject))
	}
	gvk := u.GroupVersionKind()
	mapping, err := r.mapping(ctx, gvk, false)
	namespaced, deferred := scopes[gvk.GroupKind()]
	switch {
	case err == nil:
		namespaced = mapping.Scope.Name() == meta.RESTScopeNameNamespace
	case meta.IsNoMatchError(err) && deferred:
		// Its CRD is part of this Apply: served once that is Established.
	case meta.IsNoMatchError(err):
		return fail(m.unknownKind(ctx, gvk))
	default:
		return fail(fmt.Errorf("discovering %s: %w", gvk.GroupVersion(), err))
	}
	if !namespaced {
		u.SetNamespace("")
	} else if u.GetNamespace() == "" {
		if opts.DefaultNamespace == "" {
			return fail(fmt.Errorf("%w: a namespaced object without a namespace, and no default namespace", ErrInvalidObject))
		}
		u.SetNamespace(opts.DefaultNamespace)
	}
	for _, f := range diff.ServerSetMetadata() {
		unstructured.RemoveNestedField(u.Object, "metadata", f)
	}
	setOwner(u, opts.Owner)
	return &object{u: u, key: inventory.FromObject(u), mapping: mapping, stage: stageOf(gvk.GroupKind())}, nil
}

// unknownKind explains why gvk cannot be applied: the cluster serves the
// kind in other versions only, or not at all.
func (m *Manager) unknownKind(ctx context.Context, gvk schema.GroupVersionKind) error {
	if other, err := m.mapper.RESTMappingWithContext(ctx, gvk.GroupKind()); err == nil {
		return fmt.Errorf("%w: the cluster serves %s in %s, not in %s",
			ErrUnknownKind, gvk.Kind, other.GroupVersionKind.GroupVersion(), gvk.GroupVersion())
	}
	return fmt.Errorf("%w: the cluster serves no %s in %s; is its CustomResourceDefinition installed?",
		ErrUnknownKind, gvk.Kind, gvk.GroupVersion())
}

// setOwner puts Flotilla's tracking label and owner annotation on u.
func setOwner(u *unstructured.Unstructured, owner Owner) {
	labels := maps.Clone(u.GetLabels())
	if labels == nil {
		labels = map[string]string{}
	}
	labels[flotillav1.TrackingLabel] = owner.Name
	u.SetLabels(labels)
	ann := maps.Clone(u.GetAnnotations())
	if ann == nil {
		ann = map[string]string{}
	}
	ann[flotillav1.OwnerAnnotation] = owner.Annotation()
	u.SetAnnotations(ann)
}

// crdScopes reads, from the CRDs among objs, whether each kind they define
// is namespaced.
func crdScopes(objs []*unstructured.Unstructured) map[schema.GroupKind]bool {
	out := map[schema.GroupKind]bool{}
	for _, u := range objs {
		if u == nil || u.GroupVersionKind().GroupKind() != crdGK {
			continue
		}
		group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
		scope, _, _ := unstructured.NestedString(u.Object, "spec", "scope")
		if group != "" && kind != "" {
			out[schema.GroupKind{Group: group, Kind: kind}] = scope == "Namespaced"
		}
	}
	return out
}

// byStage returns the objects of stage s, in input order.
func byStage(objs []*object, s stage) []*object {
	var out []*object
	for _, o := range objs {
		if o.stage == s {
			out = append(out, o)
		}
	}
	return out
}
