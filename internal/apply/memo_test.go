package apply_test

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/flotilla-dev/flotilla/internal/apply"
)

// liveFromAPI tells whether an object is as it was at a resourceVersion
// by reading the cluster with a client of its own: only the same
// resourceVersion says so (a watch cache also tells news of health apart).
type liveFromAPI struct{ dyn dynamic.Interface }

func (l liveFromAPI) AppliedAsAt(gvr schema.GroupVersionResource, namespace, name, rv string) bool {
	u, err := l.dyn.Resource(gvr).Namespace(namespace).Get(context.Background(), name, metav1.GetOptions{})
	return err == nil && u.GetResourceVersion() == rv
}

// TestApplySkipsUnchangedSinceLastApply shows that an object whose desired
// state and live resourceVersion are those of its last apply is Unchanged
// without a dry-run, that a change in the cluster is still found and
// undone, and that the skip never bypasses ownership.
func TestApplySkipsUnchangedSinceLastApply(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	opts := apply.DefaultOptions()
	opts.Live = liveFromAPI{dyn: dyn(t)}
	m, reqs := newManagerWith(t, opts)
	owner := newOwner(t, "web")
	objs := []*unstructured.Unstructured{configMap(t, ns, "settings", "v1")}
	applyOpts := apply.ApplyOptions{Owner: owner}
	if _, err := m.Apply(ctx, copies(objs), applyOpts); err != nil {
		t.Fatal(err)
	}
	reqs.Writes()

	cs, err := m.Apply(ctx, copies(objs), applyOpts)
	if err != nil {
		t.Fatal(err)
	}
	if got := changes(cs); len(got) != 1 || !strings.HasSuffix(got[0], " Unchanged") {
		t.Fatalf("second Apply = %v, want the ConfigMap unchanged", got)
	}
	if n := reqs.DryRuns(); n != 0 {
		t.Fatalf("second Apply of an unchanged object sent %d dry-runs, want 0", n)
	}

	// Drift: the live object changes, so its resourceVersion does.
	cm, err := kube(t).CoreV1().ConfigMaps(ns).Get(ctx, "settings", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["key"] = "drifted"
	if _, err := kube(t).CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(ctx, copies(objs), applyOpts); err != nil {
		t.Fatal(err)
	}
	if w := reqs.Writes(); len(w) != 1 {
		t.Fatalf("after drift, Apply wrote %v, want the ConfigMap restored", w)
	}
	got, err := kube(t).CoreV1().ConfigMaps(ns).Get(ctx, "settings", metav1.GetOptions{})
	if err != nil || got.Data["key"] != "v1" {
		t.Fatalf("after drift, ConfigMap data = %v, %v; want restored to v1", got.Data, err)
	}

	// Another Application never takes it over, remembered or not.
	cs, err = m.Apply(ctx, copies(objs), apply.ApplyOptions{Owner: newOwner(t, "other")})
	if err != nil {
		t.Fatal(err)
	}
	if conflicts := cs.Conflicts(); len(conflicts) != 1 {
		t.Fatalf("another owner's Apply = %v, want a Conflict", changes(cs))
	}
}
