package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// appliedAnnotation holds, in the cache only, a digest of the set of fields
// Flotilla's server-side apply owns in an object (its managedFields entry).
const appliedAnnotation = cacheAnnotationPrefix + "applied"

// appliedAtAnnotation holds, in the cache only, the time of that entry
// (the API server moves it whenever an apply of Flotilla's changes the
// object) and a digest of the object's labels and every top-level field
// but its metadata and status: what an apply changes, whatever the slim
// cache keeps of it.
const appliedAtAnnotation = cacheAnnotationPrefix + "applied-at"

// contentDigest is the digest of u's labels and top-level fields but its
// metadata and status.
func contentDigest(u *unstructured.Unstructured) string {
	content := make(map[string]any, len(u.Object))
	for k, v := range u.Object {
		if k != "metadata" && k != "status" {
			content[k] = v
		}
	}
	content["labels"] = u.GetLabels()
	data, err := json.Marshal(content)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

// appliedFields is the digest of the fields Flotilla applied to u, from the
// managedFields entry of its field manager's Apply on the main resource,
// and the entry's time; empty when it has none. The API server writes a
// field set in one canonical order, so equal sets have equal digests.
func appliedFields(u *unstructured.Unstructured) (digest, at string) {
	entries, _, _ := unstructured.NestedSlice(u.Object, "metadata", "managedFields")
	for _, e := range entries {
		m, ok := e.(map[string]any)
		if !ok || m["manager"] != flotillav1.FieldManager || m["operation"] != "Apply" {
			continue
		}
		if sub, _ := m["subresource"].(string); sub != "" {
			continue
		}
		data, err := json.Marshal(m["fieldsV1"])
		if err != nil {
			return "", ""
		}
		sum := sha256.Sum256(data)
		at, _ := m["time"].(string)
		return hex.EncodeToString(sum[:16]), at
	}
	return "", ""
}

// sameApply says whether old and cur, the cached copies of an object
// before and after a change, hold the same apply of Flotilla's: a change
// of its values by Flotilla itself (another manager of the same
// destination, another replica) moves the entry's time or the content.
func sameApply(old, cur *unstructured.Unstructured) bool {
	return annotation(old, appliedAtAnnotation) == annotation(cur, appliedAtAnnotation)
}

// statusOnly says whether cur, the cached copy of an object after a
// change, differs from old, its copy before, only in what is not
// Flotilla's to restore: its status, or fields of other managers (a
// controller's annotation, an autoscaler's replicas). Such a change is news
// of health, not drift (issue 13: a Deployment's rollout synced its
// Application again at each step).
//
// What Flotilla applied is told by the server itself: a write by anyone
// else to a field Flotilla applied (an update, a patch, a scale, a forced
// apply) takes the field from Flotilla's managedFields entry, so drift is a
// change of that entry's field set. Flotilla's own apply keeps the set when
// only values change. An object Flotilla has not applied yet has no such
// entry: only a change of its status, with its generation and every other
// cached field the same, is known to be no drift.
func statusOnly(old, cur *unstructured.Unstructured) bool {
	if isStub(old) || isStub(cur) {
		return false
	}
	a, b := annotation(old, appliedAnnotation), annotation(cur, appliedAnnotation)
	if a != "" || b != "" {
		return a == b
	}
	return old.GetGeneration() == cur.GetGeneration() &&
		!equality.Semantic.DeepEqual(old.Object["status"], cur.Object["status"]) &&
		equality.Semantic.DeepEqual(withoutStatus(old), withoutStatus(cur))
}

// withoutStatus is u's cached fields but its status and resourceVersion.
func withoutStatus(u *unstructured.Unstructured) map[string]any {
	out := make(map[string]any, len(u.Object))
	for k, v := range u.Object {
		if k != "status" {
			out[k] = v
		}
	}
	if md, ok := u.Object["metadata"].(map[string]any); ok {
		slim := make(map[string]any, len(md))
		for k, v := range md {
			if k != "resourceVersion" {
				slim[k] = v
			}
		}
		out["metadata"] = slim
	}
	return out
}
