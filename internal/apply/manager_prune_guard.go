package apply

import (
	"context"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/flotilla-dev/flotilla/internal/inventory"
)

// listPageSize bounds each list of a prune guard.
const listPageSize = 250

// madeByControlPlane are objects the control plane puts in every namespace;
// they do not make a namespace anyone's.
var madeByControlPlane = map[schema.GroupKind]string{
	{Kind: "ServiceAccount"}: "default",
	{Kind: "ConfigMap"}:      "kube-root-ca.crt",
}

// derivedKinds are kinds the control plane makes from other objects without
// an owner reference; the objects they derive from are checked instead.
var derivedKinds = map[schema.GroupKind]bool{
	{Kind: "Event"}:                         true,
	{Group: "events.k8s.io", Kind: "Event"}: true,
	{Kind: "Endpoints"}:                     true,
}

// kindRef is a listable resource and the kind of its objects.
type kindRef struct {
	gvr  schema.GroupVersionResource
	kind string
}

// namespaceBlocker names an object in namespace ns that this prune does not
// delete, as the reason to keep the namespace; "" when there is none. It
// lists every deletable kind the cluster serves now. A kind it cannot list
// is an error, never "empty".
func (m *Manager) namespaceBlocker(ctx context.Context, ns string, deleted inventory.Set) (string, error) {
	lists, err := m.disco.ServerPreferredNamespacedResourcesWithContext(ctx)
	if err != nil {
		return "", fmt.Errorf("listing the kinds the cluster serves, to check namespace %s is empty: %w", ns, err)
	}
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			return "", err
		}
		for _, r := range list.APIResources {
			gk := schema.GroupKind{Group: gv.Group, Kind: r.Kind}
			if strings.Contains(r.Name, "/") || derivedKinds[gk] ||
				!slices.Contains(r.Verbs, "list") || !slices.Contains(r.Verbs, "delete") {
				continue
			}
			ref := kindRef{gvr: gv.WithResource(r.Name), kind: r.Kind}
			found, err := m.firstNotDeleted(ctx, ref, ns, deleted, true)
			if err != nil || found != "" {
				return holds("namespace", found), err
			}
		}
	}
	return "", nil
}

// crdBlocker names a custom resource of crd, in any namespace, that this
// prune does not delete; "" when there is none. Deleting a CRD deletes every
// one of its objects, whoever they belong to.
func (m *Manager) crdBlocker(ctx context.Context, crd *unstructured.Unstructured, deleted inventory.Set) (string, error) {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
	version := servedVersion(crd)
	if version == "" {
		return "", nil
	}
	ref := kindRef{gvr: schema.GroupVersionResource{Group: group, Version: version, Resource: plural}, kind: kind}
	found, err := m.firstNotDeleted(ctx, ref, metav1.NamespaceAll, deleted, false)
	return holds("CustomResourceDefinition", found), err
}

func holds(what, found string) string {
	if found == "" {
		return ""
	}
	return fmt.Sprintf("not pruned: the %s still holds %s, which this prune does not delete", what, found)
}

// servedVersion is the CRD's storage version if served, else its first
// served version, else "".
func servedVersion(crd *unstructured.Unstructured) string {
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	first := ""
	for _, v := range versions {
		vm, _ := v.(map[string]any)
		name, _ := vm["name"].(string)
		served, _ := vm["served"].(bool)
		storage, _ := vm["storage"].(bool)
		if !served {
			continue
		}
		if storage {
			return name
		}
		if first == "" {
			first = name
		}
	}
	return first
}

// firstNotDeleted lists ref in ns (all namespaces if empty) and names the
// first object that is not in deleted, skipping objects the control plane
// makes and, with skipDependents, objects that have an owner reference
// (their owner is checked instead).
func (m *Manager) firstNotDeleted(ctx context.Context, ref kindRef, ns string, deleted inventory.Set, skipDependents bool) (string, error) {
	gk := schema.GroupKind{Group: ref.gvr.Group, Kind: ref.kind}
	opts := metav1.ListOptions{Limit: listPageSize}
	for {
		list, err := m.dyn.Resource(ref.gvr).Namespace(ns).List(ctx, opts)
		if err != nil {
			return "", fmt.Errorf("listing %s: %w", ref.gvr.GroupResource(), err)
		}
		for _, item := range list.Items {
			if (skipDependents && len(item.GetOwnerReferences()) > 0) || madeByControlPlane[gk] == item.GetName() {
				continue
			}
			key := inventory.ObjMetadata{Group: gk.Group, Version: ref.gvr.Version, Kind: gk.Kind,
				Namespace: item.GetNamespace(), Name: item.GetName()}
			if !deleted.Has(key) {
				return key.String(), nil
			}
		}
		if opts.Continue = list.GetContinue(); opts.Continue == "" {
			return "", nil
		}
	}
}
