package live

import (
	"context"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// childKind is a kind of object that another kind makes and owns, and how
// to narrow the list of its candidates before their owner references are
// checked.
type childKind struct {
	gvr  schema.GroupVersionResource
	kind string
	// by says how candidates are listed: bySelector with the parent's
	// spec.selector, byServiceName with the label EndpointSlices carry,
	// byNamespace all of the namespace (a page at a time, bounded).
	by listBy
}

type listBy int

const (
	bySelector listBy = iota
	byServiceName
	byNamespace
)

var (
	podsGVR        = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	replicaSetsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
	revisionsGVR   = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "controllerrevisions"}
	jobsGVR        = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
	slicesGVR      = schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}
)

// childKinds are the children the tree looks for, by the parent's kind.
// Owner references point from child to parent only, so each parent kind
// says where its children are; any other kind has none in the tree.
var childKinds = map[schema.GroupKind][]childKind{
	{Group: "apps", Kind: "Deployment"}:  {{replicaSetsGVR, "ReplicaSet", bySelector}},
	{Group: "apps", Kind: "ReplicaSet"}:  {{podsGVR, "Pod", bySelector}},
	{Group: "apps", Kind: "StatefulSet"}: {{podsGVR, "Pod", bySelector}, {revisionsGVR, "ControllerRevision", bySelector}},
	{Group: "apps", Kind: "DaemonSet"}:   {{podsGVR, "Pod", bySelector}, {revisionsGVR, "ControllerRevision", bySelector}},
	{Group: "batch", Kind: "Job"}:        {{podsGVR, "Pod", bySelector}},
	{Group: "batch", Kind: "CronJob"}:    {{jobsGVR, "Job", byNamespace}},
	{Group: "", Kind: "Service"}:         {{slicesGVR, "EndpointSlice", byServiceName}},
}

// parentKinds says, for a child's kind, which parent kinds may own it in
// the tree.
func parentKinds(child schema.GroupKind) []schema.GroupKind {
	var out []schema.GroupKind
	for parent, kinds := range childKinds {
		for _, k := range kinds {
			if (schema.GroupKind{Group: k.gvr.Group, Kind: k.kind}) == child {
				out = append(out, parent)
			}
		}
	}
	return out
}

// listPage is how many candidates one list request asks for, and
// maxScanned how many one look-up reads at most over its pages.
const (
	listPage   = 500
	maxScanned = 5000
)

// children returns the objects of kind ck in parent's namespace that name
// parent (by uid) in their owner references, sorted by name, at most max.
func (c *clients) children(ctx context.Context, parent *unstructured.Unstructured, ck childKind, max int) ([]*unstructured.Unstructured, error) {
	opts := metav1.ListOptions{Limit: listPage}
	switch ck.by {
	case bySelector:
		sel, ok := selectorOf(parent)
		if !ok {
			return nil, nil
		}
		opts.LabelSelector = sel.String()
	case byServiceName:
		opts.LabelSelector = labels.Set{"kubernetes.io/service-name": parent.GetName()}.String()
	}
	ri := c.Dynamic.Resource(ck.gvr).Namespace(parent.GetNamespace())
	var out []*unstructured.Unstructured
	for scanned := 0; scanned < maxScanned && len(out) < max; {
		list, err := ri.List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for i := range list.Items {
			if ownedBy(&list.Items[i], parent.GetUID()) && len(out) < max {
				out = append(out, &list.Items[i])
			}
		}
		scanned += len(list.Items)
		if opts.Continue = list.GetContinue(); opts.Continue == "" {
			break
		}
	}
	slices.SortFunc(out, func(a, b *unstructured.Unstructured) int {
		return strings.Compare(a.GetName(), b.GetName())
	})
	return out, nil
}

// ownedBy says whether obj names uid among its owner references.
func ownedBy(obj *unstructured.Unstructured, uid types.UID) bool {
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID == uid {
			return true
		}
	}
	return false
}

// selectorOf reads spec.selector; a missing, empty or broken one selects
// nothing here (an empty selector would select every object).
func selectorOf(obj *unstructured.Unstructured) (labels.Selector, bool) {
	raw, ok, err := unstructured.NestedMap(obj.Object, "spec", "selector")
	if !ok || err != nil || len(raw) == 0 {
		return nil, false
	}
	var ls metav1.LabelSelector
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &ls); err != nil {
		return nil, false
	}
	sel, err := metav1.LabelSelectorAsSelector(&ls)
	if err != nil || sel.Empty() {
		return nil, false
	}
	return sel, true
}
