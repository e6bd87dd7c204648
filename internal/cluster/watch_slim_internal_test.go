package cluster

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// TestSlimTwiceKeepsWhatItDerived: an informer hands objects it cached to
// its transform again (a resync, a relist). What slim derived from
// managedFields the first time must survive the second: without it, the
// next change of a Deployment's status read as drift and synced its
// Application again.
func TestSlimTwiceKeepsWhatItDerived(t *testing.T) {
	app := types.NamespacedName{Namespace: "flotilla-system", Name: "web"}
	w := &Watcher{mark: "mark", opts: WatcherOptions{Known: func(a types.NamespacedName) bool { return a == app }}}
	raw := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata": map[string]any{
			"name": "web", "namespace": "shop", "resourceVersion": "7",
			"annotations": map[string]any{
				flotillav1.OwnerAnnotation: "flotilla-system/web/uid",
				// Anyone who may write to the object can write these: the
				// cache's own annotations are never taken from the cluster.
				appliedAnnotation: "forged",
				slimAnnotation:    "guess",
			},
			"managedFields": []any{map[string]any{
				"manager": flotillav1.FieldManager, "operation": "Apply", "time": "2026-12-06T10:00:00Z",
				"fieldsV1": map[string]any{"f:spec": map[string]any{"f:replicas": map[string]any{}}},
			}},
		},
		"spec":   map[string]any{"replicas": int64(2)},
		"status": map[string]any{"readyReplicas": int64(1)},
	}}
	once, err := w.slim(raw)
	if err != nil {
		t.Fatal(err)
	}
	first := once.(*unstructured.Unstructured)
	ann := first.GetAnnotations()
	if ann[appliedAnnotation] == "" || ann[appliedAnnotation] == "forged" || ann[appliedAtAnnotation] == "" {
		t.Fatalf("slim derived %v from managedFields; want a digest of Flotilla's fields, not the object's own annotation", ann)
	}
	if ann[slimAnnotation] != "mark" {
		t.Fatalf("slim marked the object %q, want the Watcher's mark", ann[slimAnnotation])
	}
	twice, err := w.slim(first.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(first.Object, twice.(*unstructured.Unstructured).Object) {
		t.Errorf("slim of a slimmed object changed it:\nonce  %v\ntwice %v", first.Object, twice.(*unstructured.Unstructured).Object)
	}

	// A stub stays a stub.
	raw.SetAnnotations(map[string]string{flotillav1.OwnerAnnotation: "flotilla-system/nobody/uid"})
	s, err := w.slim(raw)
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.slim(s.(*unstructured.Unstructured).DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	if !isStub(again.(*unstructured.Unstructured)) || !equality.Semantic.DeepEqual(s, again) {
		t.Errorf("slim of a stub changed it: %v", again)
	}
}
