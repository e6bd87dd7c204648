package cluster_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cluster"
)

var configMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// knownApp is the one Application the watchers of these tests know.
var knownApp = types.NamespacedName{Namespace: flotillav1.DefaultNamespace, Name: "known"}

// changes records what a Watcher tells.
type changes struct {
	mu   sync.Mutex
	apps []types.NamespacedName
}

func (c *changes) add(app types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.apps = append(c.apps, app)
}

func (c *changes) has(app types.NamespacedName) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.apps {
		if a == app {
			return true
		}
	}
	return false
}

func newWatcher(t *testing.T, cfg *rest.Config) (*cluster.Watcher, *changes) {
	t.Helper()
	seen := &changes{}
	w, err := cluster.NewWatcher(cfg, "target", cluster.WatcherOptions{
		OnChange: seen.add,
		Known:    func(app types.NamespacedName) bool { return app == knownApp },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w, seen
}

// testNamespace creates a namespace in the target cluster for one test.
func testNamespace(t *testing.T) string {
	t.Helper()
	ns := uniqueName("watch")
	_, err := targetKube(t).CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = targetKube(t).CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	return ns
}

func managedConfigMap(ns, name string, owner types.NamespacedName, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name,
			Labels:      map[string]string{flotillav1.TrackingLabel: owner.Name},
			Annotations: map[string]string{flotillav1.OwnerAnnotation: owner.Namespace + "/" + owner.Name + "/0000"},
		},
		Data: data,
	}
}

// TestWatchCacheKeepsWhatHealthNeeds: anyone who may write to a
// destination can put the tracking label on a large ConfigMap. The cache
// keeps no data of a ConfigMap whose owner is known, and only the name of
// one whose owner annotation names no known Application.
func TestWatchCacheKeepsWhatHealthNeeds(t *testing.T) {
	ns := testNamespace(t)
	big := map[string]string{"blob": strings.Repeat("x", 512<<10)}
	kube := targetKube(t)
	for _, cm := range []*corev1.ConfigMap{
		managedConfigMap(ns, "owned", knownApp, big),
		managedConfigMap(ns, "foreign", types.NamespacedName{Namespace: flotillav1.DefaultNamespace, Name: "nobody"}, big),
	} {
		if _, err := kube.CoreV1().ConfigMaps(ns).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	w, _ := newWatcher(t, targetCluster.RESTConfig())
	if err := w.Watch(t.Context(), configMaps, knownApp); err != nil {
		t.Fatal(err)
	}
	got, ok, err := w.Get(configMaps, ns, "owned")
	if err != nil || !ok {
		t.Fatalf("Get owned: ok=%v err=%v", ok, err)
	}
	if _, has := got.Object["data"]; has {
		t.Errorf("the cache keeps the data of a ConfigMap: %d bytes", len(got.Object["data"].(map[string]any)["blob"].(string)))
	}
	if len(got.GetManagedFields()) > 0 {
		t.Errorf("the cache keeps managedFields")
	}
	if got.GetLabels()[flotillav1.TrackingLabel] != knownApp.Name || got.GetResourceVersion() == "" {
		t.Errorf("the cache must keep labels and resourceVersion: %v", got.Object["metadata"])
	}
	_, ok, err = w.Get(configMaps, ns, "foreign")
	if ok || !errors.Is(err, cluster.ErrNotManaged) {
		t.Errorf("an object of no known Application must read as not managed: ok=%v err=%v", ok, err)
	}
}

// TestWatchIsNotCutByRequestTimeout: the request timeout of a destination
// bounds short requests; a watch runs until the API server ends it.
func TestWatchIsNotCutByRequestTimeout(t *testing.T) {
	var watches atomic.Int32
	cfg := targetCluster.RESTConfig()
	cfg.Timeout = 2 * time.Second
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if req.URL.Query().Get("watch") == "true" && strings.HasSuffix(req.URL.Path, "/serviceaccounts") {
				watches.Add(1)
			}
			return rt.RoundTrip(req)
		})
	})
	w, _ := newWatcher(t, cfg)
	sa := schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	if err := w.Watch(t.Context(), sa, knownApp); err != nil {
		t.Fatal(err)
	}
	time.Sleep(9 * time.Second)
	if n := watches.Load(); n > 1 {
		t.Errorf("%d watch requests in 9s with a 2s request timeout: watches are cut by the timeout", n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// TestWatchTellsOwnerWhenMissingObjectAppears: an object read as missing
// (say, just created and not yet seen by the watch) makes its owner be
// observed again when it appears.
func TestWatchTellsOwnerWhenMissingObjectAppears(t *testing.T) {
	ns := testNamespace(t)
	w, seen := newWatcher(t, targetCluster.RESTConfig())
	if err := w.Watch(t.Context(), configMaps, knownApp); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := w.Get(configMaps, ns, "later"); ok || err != nil {
		t.Fatalf("Get before the create: ok=%v err=%v", ok, err)
	}
	cm := managedConfigMap(ns, "later", knownApp, map[string]string{"k": "v"})
	if _, err := targetKube(t).CoreV1().ConfigMaps(ns).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitTold(t, seen, knownApp, 10*time.Second, "when the missing ConfigMap appears")
}

// TestWatchTellsWaitingAppWhenCacheFills: a cache that cannot fill (here,
// the identity may not list the kind yet) makes the Application's health
// Unknown; the Application is told once it fills, not at its next
// interval.
func TestWatchTellsWaitingAppWhenCacheFills(t *testing.T) {
	user := uniqueName("watcher")
	cfg := targetCluster.RESTConfig()
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	w, seen := newWatcher(t, cfg)
	// An Application that owns no object: only the fill can tell it.
	waiting := types.NamespacedName{Namespace: flotillav1.DefaultNamespace, Name: uniqueName("waiting")}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := w.Watch(ctx, configMaps, waiting); err == nil {
		t.Fatal("the cache filled without permission to list")
	}
	if seen.has(waiting) {
		t.Fatal("told before the cache filled")
	}
	grantConfigMapReader(t, user)
	waitTold(t, seen, waiting, 90*time.Second, "when the cache fills")
	if _, _, err := w.Get(configMaps, "default", "none"); err != nil {
		t.Errorf("Get after the fill: %v", err)
	}
}

func grantConfigMapReader(t *testing.T, user string) {
	t.Helper()
	kube := targetKube(t)
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"list", "watch"}}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: user},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	if _, err := kube.RbacV1().ClusterRoles().Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.RbacV1().ClusterRoleBindings().Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = kube.RbacV1().ClusterRoleBindings().Delete(context.Background(), user, metav1.DeleteOptions{})
		_ = kube.RbacV1().ClusterRoles().Delete(context.Background(), user, metav1.DeleteOptions{})
	})
}

func waitTold(t *testing.T, seen *changes, app types.NamespacedName, timeout time.Duration, what string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		return seen.has(app), nil
	})
	if err != nil {
		t.Errorf("Application %s was not told %s: %v", app, what, err)
	}
}
