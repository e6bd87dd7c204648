package engine

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/flotilla-dev/flotilla/internal/apply"
	"github.com/flotilla-dev/flotilla/internal/cluster"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

// TestDestinationReadsItsAPIListOnce is issue 13's "one owner per
// destination": the apply manager, the watcher and a manager that
// impersonates a ServiceAccount share one REST mapper, so that the
// cluster's API list is read once for all of them, not once by each.
func TestDestinationReadsItsAPIListOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	lists := &apiListCounter{}
	entry := counted(ctx, t, func(rt http.RoundTripper) http.RoundTripper { return countingLists{next: rt, c: lists} })
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "deployer"}}
	if _, err := entry.clients.Kube.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "settings", "namespace": "default"},
	}}
	opts := apply.ApplyOptions{Owner: apply.Owner{Namespace: "apps", Name: "web", UID: "0d3c1e6a"}}
	if _, err := entry.manager.Inventory(ctx, []*unstructured.Unstructured{cm}, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := entry.watcher.Resource(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}); err != nil {
		t.Fatal(err)
	}
	as, err := entry.impersonating(ctx, "deployer", "default", "system:serviceaccount:default:deployer")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := as.Inventory(ctx, []*unstructured.Unstructured{cm}, opts); err != nil {
		t.Fatal(err)
	}
	if got := lists.count(); got != 1 {
		t.Errorf("the cluster's API list (/apis) was read %d times by the manager, the watcher and an impersonating manager, want once", got)
	}
}

// apiListCounter counts the reads of a cluster's list of API groups made
// through every transport countingLists wraps.
type apiListCounter struct {
	mu sync.Mutex
	n  int
}

type countingLists struct {
	next http.RoundTripper
	c    *apiListCounter
}

func (t countingLists) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet && req.URL.Path == "/apis" {
		t.c.mu.Lock()
		t.c.n++
		t.c.mu.Unlock()
	}
	return t.next.RoundTrip(req)
}

func (c *apiListCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// counted starts a cluster and returns the engine's clients of it, every
// request of theirs passing through wrap (a counter).
func counted(ctx context.Context, t *testing.T, wrap func(http.RoundTripper) http.RoundTripper) *managerEntry {
	t.Helper()
	f := startCluster(ctx, t)
	cfg := rest.CopyConfig(f.Clusters[0].RESTConfig())
	cfg.Wrap(wrap)
	e := New(nil, nil, nil, DefaultOptions())
	entry, err := e.newEntry(&cluster.Target{Name: "one", Config: cfg, Generation: "1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(entry.watcher.Stop)
	return entry
}

// startCluster starts a local control plane of one cluster for a test,
// stopped when the test ends.
func startCluster(ctx context.Context, t *testing.T) *localfleet.Fleet {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a local control plane")
	}
	f, err := localfleet.Start(ctx, localfleet.Options{Clusters: 1})
	if err != nil {
		t.Fatalf("engine tests need a local control plane (make k8s): %v", err)
	}
	t.Cleanup(func() { _ = f.Stop() })
	return f
}
