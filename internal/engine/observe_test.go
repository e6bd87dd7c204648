package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cluster"
	"github.com/flotilla-dev/flotilla/internal/health"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

// TestAssessDoesNotTrustAStaleCache is the gate a rollout wave relies on: a
// Deployment that was Healthy is written with a new template, and the watch
// cache has not seen the write yet (here: its watch is stopped, so it never
// will). Read from that cache, the old Deployment looks Healthy at the new
// revision; assess, told the generation the write returned, says
// Progressing instead.
func TestAssessDoesNotTrustAStaleCache(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	f := startCluster(ctx, t)
	cfg := f.Clusters[0].RESTConfig()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	gvr := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	var obj unstructured.Unstructured
	if err := yaml.Unmarshal([]byte(staleDeployment), &obj.Object); err != nil {
		t.Fatal(err)
	}
	created, err := dyn.Resource(gvr).Namespace("default").Create(ctx, &obj, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	w, err := cluster.NewWatcher(cfg, "one", cluster.WatcherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if err := w.Start(gvr); err != nil {
		t.Fatal(err)
	}
	app := &flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"}}
	if err := w.Wait(ctx, gvr, types.NamespacedName{Namespace: app.Namespace, Name: app.Name}); err != nil {
		t.Fatal(err)
	}
	s := &syncState{app: app, target: &managerEntry{watcher: w}}
	checker := health.NewChecker(health.Options{})
	key := inventory.ObjMetadata{Group: "apps", Kind: "Deployment", Namespace: "default", Name: "web"}
	kind := watched{gvr: gvr}
	e := &Engine{}
	// assess reads the Deployment's health after a sync that wrote w.
	assess := func(w write) health.Result {
		s.writes = map[inventory.ObjMetadata]write{key: w}
		return e.assess(ctx, s, checker, key, kind)
	}

	// The cache follows the cluster until the Deployment is Healthy; the
	// write it shows is dropped, as it says nothing any more.
	err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(context.Context) (bool, error) {
		return assess(write{generation: created.GetGeneration()}).Status == flotillav1.HealthHealthy, nil
	})
	if err != nil {
		t.Fatalf("the Deployment never became Healthy in the cache: %v", err)
	}
	if len(s.writes) != 0 {
		t.Errorf("the cache shows the written generation, yet the write is still pending: %v", s.writes)
	}

	// The cache stops following; the Deployment gets a new template.
	w.Stop()
	patch := []byte(`{"spec":{"template":{"metadata":{"annotations":{"revision":"2"}}}}}`)
	written, err := dyn.Resource(gvr).Namespace("default").Patch(ctx, "web", types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if written.GetGeneration() <= created.GetGeneration() {
		t.Fatalf("generation %d after the patch, %d before: the patch did not change the spec", written.GetGeneration(), created.GetGeneration())
	}
	if r := assess(write{}); r.Status != flotillav1.HealthHealthy {
		t.Fatalf("without the written generation the stale copy is %s (%s); this test needs it Healthy", r.Status, r.Message)
	}
	r := assess(write{generation: written.GetGeneration()})
	if r.Status != flotillav1.HealthProgressing || !strings.Contains(r.Message, "waiting for the cluster's watch") {
		t.Fatalf("stale cache after a write: %s %q, want Progressing waiting for the watch", r.Status, r.Message)
	}
	if _, pending := s.writes[key]; !pending {
		t.Errorf("the write the cache does not show yet was dropped")
	}
}

const staleDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels: {app.flotilla.dev/name: web}
  annotations: {app.flotilla.dev/owner: apps/web/0d3c1e6a}
spec:
  replicas: 0
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: registry.example/web:1}]
`
