package engine

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/yaml"

	"github.com/flotilla-dev/flotilla/internal/apply"
)

// TestResyncAfterRolloutSendsNoRequest: once a Deployment Flotilla applied
// has rolled out (the cluster's controller wrote its status and revision
// annotation, moving its resourceVersion), applying the same objects again
// reads nothing and dry-runs nothing: the watch cache tells that only news
// of health changed them (issue 13: each resync read and dry-ran every
// Deployment whose status had moved since its apply).
func TestResyncAfterRolloutSendsNoRequest(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	reqs := &objectRequests{}
	entry := counted(ctx, t, func(rt http.RoundTripper) http.RoundTripper { return countingObjects{next: rt, c: reqs} })

	app := types.NamespacedName{Namespace: "apps", Name: "web"}
	opts := apply.ApplyOptions{Owner: apply.Owner{Namespace: app.Namespace, Name: app.Name, UID: "5b1f0e2c"},
		DefaultNamespace: "web", CreateNamespace: true}
	objects := func() []*unstructured.Unstructured {
		var out []*unstructured.Unstructured
		for _, text := range []string{
			`{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 0, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: registry.example/web:1}]}}}}`,
			`{apiVersion: v1, kind: ConfigMap, metadata: {name: settings}, data: {v: "1"}}`,
		} {
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal([]byte(text), &u.Object); err != nil {
				t.Fatal(err)
			}
			out = append(out, u)
		}
		return out
	}
	// The kinds are watched before the first apply, as they are once any
	// Application of the cluster has objects of them.
	deployments := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	for _, gvr := range []schema.GroupVersionResource{deployments, {Version: "v1", Resource: "configmaps"}, {Version: "v1", Resource: "namespaces"}} {
		if err := entry.watcher.Watch(ctx, gvr, app); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := entry.manager.Apply(ctx, objects(), opts); err != nil {
		t.Fatal(err)
	}
	// The Deployment rolls out: the cache holds its status, moved since
	// the apply.
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		d, ok, err := entry.watcher.Get(deployments, "web", "web")
		if err != nil || !ok {
			return false, err
		}
		observed, _, _ := unstructured.NestedInt64(d.Object, "status", "observedGeneration")
		return observed == d.GetGeneration() && d.GetAnnotations()["deployment.kubernetes.io/revision"] != "", nil
	})
	if err != nil {
		t.Fatalf("the Deployment never rolled out in the cache: %v", err)
	}
	// The cluster's controller is done with it once its version stays the
	// same a while; the watch handler, which learns of each version a
	// moment after the cache holds it, has learned of the last by then.
	last, since := "", time.Now()
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		rv, _ := entry.watcher.ResourceVersion(deployments, "web", "web")
		if rv != last {
			last, since = rv, time.Now()
		}
		return time.Since(since) > 2*time.Second, nil
	})
	if err != nil {
		t.Fatalf("the Deployment never settled: %v", err)
	}

	reqs.reset()
	cs, err := entry.manager.Apply(ctx, objects(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if sent := reqs.seen(); len(sent) != 0 {
		t.Errorf("apply after the rollout sent %d requests for its objects, want none: %v", len(sent), sent)
	}
	if n := cs.Count(apply.ActionUnchanged); n != 3 {
		t.Errorf("apply after the rollout: %d of 3 objects unchanged\n%s", n, cs)
	}
}

// objectRequests records the requests sent for objects: reads, dry-runs
// and writes, not the API lists or the watches.
type objectRequests struct {
	mu   sync.Mutex
	reqs []string
}

func (c *objectRequests) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = nil
}

func (c *objectRequests) seen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.reqs...)
}

type countingObjects struct {
	next http.RoundTripper
	c    *objectRequests
}

func (t countingObjects) RoundTrip(req *http.Request) (*http.Response, error) {
	// Every request for one of this test's objects (reads, dry-runs,
	// writes) names a namespace; the watches' lists and the API lists
	// do not, or carry the tracking label's selector.
	q := req.URL.Query()
	if strings.Contains(req.URL.Path, "/namespaces/") && q.Get("watch") != "true" && !q.Has("labelSelector") {
		t.c.mu.Lock()
		t.c.reqs = append(t.c.reqs, req.Method+" "+req.URL.RequestURI())
		t.c.mu.Unlock()
	}
	return t.next.RoundTrip(req)
}
