package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cluster"
)

var deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

// told counts what a Watcher tells, by callback.
type told struct {
	mu            sync.Mutex
	drift, status int
}

func (c *told) counts() (drift, status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.drift, c.status
}

// TestWatchTellsDriftFromStatus: of the changes to objects Flotilla
// applied, those to what it applied (a scale, an edit of its data, a
// delete, an object someone else made after it was found missing) are
// drift; those the cluster's controllers make (a Deployment's status and
// revision annotation as it rolls out), another manager's own fields and
// Flotilla's own applies, and the appearance of an object it created, are
// news of health only.
func TestWatchTellsDriftFromStatus(t *testing.T) {
	ns := testNamespace(t)
	dyn, err := dynamic.NewForConfig(targetCluster.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	c := &told{}
	w, err := cluster.NewWatcher(targetCluster.RESTConfig(), "target", cluster.WatcherOptions{
		OnChange: func(app types.NamespacedName) {
			if app == knownApp {
				c.mu.Lock()
				c.drift++
				c.mu.Unlock()
			}
		},
		OnStatus: func(app types.NamespacedName) {
			if app == knownApp {
				c.mu.Lock()
				c.status++
				c.mu.Unlock()
			}
		},
		Known: func(app types.NamespacedName) bool { return app == knownApp },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	for _, gvr := range []schema.GroupVersionResource{deployments, configMaps} {
		if err := w.Watch(t.Context(), gvr, knownApp); err != nil {
			t.Fatal(err)
		}
	}
	// applied holds the resourceVersion of Flotilla's last apply of each
	// object, which AppliedAsAt is asked about.
	applied := map[string]string{}
	apply := func(gvr schema.GroupVersionResource, text string) {
		t.Helper()
		var u unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(fmt.Sprintf(text, ns)), &u.Object); err != nil {
			t.Fatal(err)
		}
		out, err := dyn.Resource(gvr).Namespace(ns).Apply(t.Context(), u.GetName(), &u, metav1.ApplyOptions{FieldManager: flotillav1.FieldManager, Force: true})
		if err != nil {
			t.Fatal(err)
		}
		applied[gvr.Resource] = out.GetResourceVersion()
	}
	// asAppliedAt waits until the cache holds the object's newest version
	// and AppliedAsAt, asked about version rv, says want (the handler
	// learns of a version just after the cache holds it). The newest
	// version is read again at each try: a Deployment just scaled keeps
	// moving (its controller writes its status), and a version read once
	// may be passed by the cache before it is seen there.
	asAppliedAt := func(gvr schema.GroupVersionResource, rv string, want bool) {
		t.Helper()
		var newest string
		err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			live, err := dyn.Resource(gvr).Namespace(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			newest = live.GetResourceVersion()
			cur, ok := w.ResourceVersion(gvr, ns, "web")
			return ok && cur == newest && w.AppliedAsAt(gvr, ns, "web", rv) == want, nil
		})
		if err != nil {
			t.Fatalf("%s at %s: AppliedAsAt %s never said %v: %v", gvr.Resource, newest, rv, want, err)
		}
	}
	// asApplied asks about Flotilla's last apply.
	asApplied := func(gvr schema.GroupVersionResource, want bool) {
		t.Helper()
		asAppliedAt(gvr, applied[gvr.Resource], want)
	}
	// expect runs change and waits until the watcher tells of it as drift
	// says; a change that is not drift must never be told as drift (one
	// that is may be followed by news of health: a scaled Deployment's
	// status moves).
	expect := func(what string, drift bool, change func()) {
		t.Helper()
		d0, s0 := c.counts()
		change()
		err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			d, s := c.counts()
			if drift {
				return d > d0, nil
			}
			return s > s0, nil
		})
		d, s := c.counts()
		switch {
		case err != nil:
			t.Fatalf("%s: never told (drift %d→%d, status %d→%d)", what, d0, d, s0, s)
		case !drift && d != d0:
			t.Errorf("%s: told as drift (drift %d→%d)", what, d0, d)
		}
	}

	// Flotilla creates both; the Deployment rolls out (status, revision
	// annotation, its pods): none of it is drift.
	expect("created by Flotilla, then rolled out", false, func() {
		apply(deployments, changeDeployment("1", 1))
		apply(configMaps, changeConfigMap("1"))
	})
	waitRolledOut(t, dyn, ns)
	d0, _ := c.counts()
	if d0 != 0 {
		t.Errorf("a rollout told drift %d times", d0)
	}
	// The rollout moved the Deployment's resourceVersion, not what
	// Flotilla applied: the apply memo holds (no read, no dry-run).
	asApplied(deployments, true)

	expect("another manager's own annotation", false, func() {
		patch := []byte(`{"metadata":{"annotations":{"example.com/note":"hello"}}}`)
		if _, err := dyn.Resource(configMaps).Namespace(ns).Patch(t.Context(), "web", types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "someone"}); err != nil {
			t.Fatal(err)
		}
	})
	asApplied(configMaps, true)
	before := applied[configMaps.Resource]
	expect("Flotilla's apply of a new value", false, func() { apply(configMaps, changeConfigMap("2")) })
	// Not drift, but not as it was either: an apply memo that knows only
	// of the earlier apply must read the object again.
	asAppliedAt(configMaps, before, false)
	expect("a scale of the Deployment", true, func() {
		scale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}, Spec: autoscalingv1.ScaleSpec{Replicas: 3}}
		if _, err := targetKube(t).AppsV1().Deployments(ns).UpdateScale(t.Context(), "web", scale, metav1.UpdateOptions{FieldManager: "kubectl-scale"}); err != nil {
			t.Fatal(err)
		}
	})
	asApplied(deployments, false)
	expect("an edit of the data Flotilla applied", true, func() {
		patch := []byte(`{"data":{"v":"edited"}}`)
		if _, err := dyn.Resource(configMaps).Namespace(ns).Patch(t.Context(), "web", types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
			t.Fatal(err)
		}
	})
	asApplied(configMaps, false)
	expect("a delete", true, func() {
		if err := dyn.Resource(configMaps).Namespace(ns).Delete(t.Context(), "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	expect("an object found missing, created by someone", true, func() {
		if _, ok, _ := w.Get(configMaps, ns, "web"); ok {
			t.Fatal("the deleted ConfigMap is still in the cache")
		}
		if _, err := targetKube(t).CoreV1().ConfigMaps(ns).Create(t.Context(), managedConfigMap(ns, "web", knownApp, nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	expect("an object Flotilla created, awaited", false, func() {
		w.Await(configMaps, ns, "other")
		if _, ok, _ := w.Get(configMaps, ns, "other"); ok {
			t.Fatal("the ConfigMap is in the cache before it is created")
		}
		apply(configMaps, otherConfigMap)
	})
}

// waitRolledOut waits until the Deployment's status shows its generation.
func waitRolledOut(t *testing.T, dyn dynamic.Interface, ns string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := dyn.Resource(deployments).Namespace(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		observed, _, _ := unstructured.NestedInt64(d.Object, "status", "observedGeneration")
		return observed == d.GetGeneration() && d.GetAnnotations()["deployment.kubernetes.io/revision"] != "", nil
	})
	if err != nil {
		t.Fatalf("the Deployment never rolled out: %v", err)
	}
}

func changeDeployment(tag string, replicas int) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: %s
  labels: {` + flotillav1.TrackingLabel + `: known}
  annotations: {` + flotillav1.OwnerAnnotation + `: ` + knownApp.Namespace + `/` + knownApp.Name + `/0000}
spec:
  replicas: ` + fmt.Sprint(replicas) + `
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "registry.example/web:` + tag + `"}]
`
}

func changeConfigMap(v string) string {
	return `apiVersion: v1
kind: ConfigMap
metadata:
  name: web
  namespace: %s
  labels: {` + flotillav1.TrackingLabel + `: known}
  annotations: {` + flotillav1.OwnerAnnotation + `: ` + knownApp.Namespace + `/` + knownApp.Name + `/0000}
data: {v: "` + v + `"}
`
}

var otherConfigMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: other
  namespace: %s
  labels: {` + flotillav1.TrackingLabel + `: known}
  annotations: {` + flotillav1.OwnerAnnotation + `: ` + knownApp.Namespace + `/` + knownApp.Name + `/0000}
data: {v: "1"}
`
