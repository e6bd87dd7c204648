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

// ssaAll server-side-applies objs, floorWorkers at a time; with dryRunFirst
// each object is dry-run before it is applied, as every object Flotilla
// creates is.
func ssaAll(b *testing.B, dyn dynamic.Interface, objs []*unstructured.Unstructured, dryRunFirst bool) {
	err := inParallel(objs, func(u *unstructured.Unstructured) error {
		ri := dynamic.ResourceInterface(dyn.Resource(floorResource(u)))
		if ns := u.GetNamespace(); ns != "" {
			ri = dyn.Resource(floorResource(u)).Namespace(ns)
		}
		if dryRunFirst {
			dry := metav1.ApplyOptions{FieldManager: "floor", Force: true, DryRun: []string{metav1.DryRunAll}}
			if _, err := ri.Apply(context.Background(), u.GetName(), u, dry); err != nil {
				return err
			}
		}
		_, err := ri.Apply(context.Background(), u.GetName(), u, metav1.ApplyOptions{FieldManager: "floor", Force: true})
		return err
	})
	if err != nil {
		b.Fatalf("floor apply: %v", err)
	}
}

// inParallel calls do for each of objs, floorWorkers at a time, and
// returns the first error of any.
func inParallel(objs []*unstructured.Unstructured, do func(*unstructured.Unstructured) error) error {
	work := make(chan *unstructured.Unstructured)
	errs := make(chan error, len(objs))
	var wg sync.WaitGroup
	for range floorWorkers {
		wg.Go(func() {
			for u := range work {
				if err := do(u); err != nil {
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
	return <-errs
}
