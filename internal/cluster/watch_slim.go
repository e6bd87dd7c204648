package cluster

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// cacheAnnotationPrefix begins the annotations the cache adds to what it
// keeps of an object.
const cacheAnnotationPrefix = "cache.flotilla.dev/"

// slimAnnotation marks, in the cache only, an object that went through
// slim: its value is the Watcher's mark, a random token no object in a
// cluster can carry.
const slimAnnotation = cacheAnnotationPrefix + "slim"

// stubAnnotation marks, in the cache only, an object kept as a name: its
// owner annotation names no Application the controller knows.
const stubAnnotation = cacheAnnotationPrefix + "stub"

// lastAppliedAnnotation is kubectl's copy of a whole object: never needed
// for health, often as large as the object.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// maxOwnerAnnotation bounds the owner annotation a stub keeps: a real one
// is "namespace/name/uid", well under it.
const maxOwnerAnnotation = 512

// specless are the kinds whose health reads no spec: a CRD's spec (its
// schema) may be megabytes, and its health is in its conditions.
var specless = map[schema.GroupKind]bool{
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}: true,
}

// slim is the transform every watched object goes through before it is
// cached. Anyone who may write to a destination cluster can put the tracking
// label on any object, so what is cached is bounded by what health and
// change detection need, not by what the object holds:
//
//   - an object whose owner annotation names no Application the controller
//     knows is kept as its name, resourceVersion and owner annotation;
//   - any other keeps apiVersion, kind, metadata (without managedFields and
//     kubectl's last-applied copy), spec and status: no data of a
//     ConfigMap or Secret, no rules, webhooks or other top-level fields, no
//     spec of a CRD. Of managedFields it keeps a digest of the fields
//     Flotilla applied, which tells drift from a change of status.
func (w *Watcher) slim(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil // a tombstone: its object went through slim already
	}
	if annotation(u, slimAnnotation) == w.mark {
		// The informer hands a cached object to its transform again on a
		// resync or a relist: what slim derived from managedFields is kept.
		return u, nil
	}
	app, owned := ownerOf(u)
	if !owned || (w.opts.Known != nil && !w.opts.Known(app)) {
		return stub(u, w.mark), nil
	}
	return healthView(u, w.mark), nil
}

// healthView is what the cache keeps of an owned object. Annotations under
// cache.flotilla.dev/ are the cache's own: any the object carries in the
// cluster are dropped, so nobody who may write to it can forge them.
func healthView(u *unstructured.Unstructured, mark string) *unstructured.Unstructured {
	out := &unstructured.Unstructured{Object: map[string]any{}}
	out.SetAPIVersion(u.GetAPIVersion())
	out.SetKind(u.GetKind())
	md, _ := u.Object["metadata"].(map[string]any)
	slimMD := make(map[string]any, len(md))
	for k, v := range md {
		if k != "managedFields" {
			slimMD[k] = v
		}
	}
	out.Object["metadata"] = slimMD
	ann := u.GetAnnotations()
	kept := make(map[string]string, len(ann)+3)
	for k, v := range ann {
		if k != lastAppliedAnnotation && !strings.HasPrefix(k, cacheAnnotationPrefix) {
			kept[k] = v
		}
	}
	if applied, at := appliedFields(u); applied != "" {
		kept[appliedAnnotation] = applied
		kept[appliedAtAnnotation] = at + " " + contentDigest(u)
	}
	kept[slimAnnotation] = mark
	out.SetAnnotations(kept)
	if spec, ok := u.Object["spec"]; ok && !specless[u.GroupVersionKind().GroupKind()] {
		out.Object["spec"] = spec
	}
	if status, ok := u.Object["status"]; ok {
		out.Object["status"] = status
	}
	return out
}

func stub(u *unstructured.Unstructured, mark string) *unstructured.Unstructured {
	out := &unstructured.Unstructured{Object: map[string]any{}}
	out.SetAPIVersion(u.GetAPIVersion())
	out.SetKind(u.GetKind())
	out.SetNamespace(u.GetNamespace())
	out.SetName(u.GetName())
	out.SetUID(u.GetUID())
	out.SetResourceVersion(u.GetResourceVersion())
	ann := map[string]string{stubAnnotation: "true", slimAnnotation: mark}
	if owner := annotation(u, flotillav1.OwnerAnnotation); owner != "" && len(owner) <= maxOwnerAnnotation {
		ann[flotillav1.OwnerAnnotation] = owner
	}
	out.SetAnnotations(ann)
	return out
}

// isStub says whether a cached object was kept as a name only.
func isStub(u *unstructured.Unstructured) bool {
	return annotation(u, stubAnnotation) != ""
}

// annotation is one annotation of u, read in place: GetAnnotations copies
// them all, and the watch handlers read a few of every object that changes.
func annotation(u *unstructured.Unstructured, key string) string {
	md, _ := u.Object["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	v, _ := ann[key].(string)
	return v
}
