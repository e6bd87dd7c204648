package bench

import (
	"context"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// floorWorkers is how many requests the floor keeps in flight.
const floorWorkers = 16

func yamlToUnstructured(text string, u *unstructured.Unstructured) error {
	return yaml.Unmarshal([]byte(text), &u.Object)
}

// floorResource is the resource of the few kinds the floor applies: a bare
// loop needs no discovery.
func floorResource(u *unstructured.Unstructured) schema.GroupVersionResource {
	gvk := u.GroupVersionKind()
	return gvk.GroupVersion().WithResource(strings.ToLower(gvk.Kind) + "s")
}

// ssaAll server-side-applies objs, floorWorkers at a time.
func ssaAll(b *testing.B, dyn dynamic.Interface, objs []*unstructured.Unstructured) {
	work := make(chan *unstructured.Unstructured)
	errs := make(chan error, len(objs))
	var wg sync.WaitGroup
	for range floorWorkers {
		wg.Go(func() {
			for u := range work {
				ri := dyn.Resource(floorResource(u))
				var err error
				opts := metav1.ApplyOptions{FieldManager: "floor", Force: true}
				if ns := u.GetNamespace(); ns != "" {
					_, err = ri.Namespace(ns).Apply(context.Background(), u.GetName(), u, opts)
				} else {
					_, err = ri.Apply(context.Background(), u.GetName(), u, opts)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	for _, u := range objs {
		work <- u
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatalf("floor apply: %v", err)
	}
}
