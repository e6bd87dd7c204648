package controller_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cli"
	"github.com/flotilla-dev/flotilla/internal/cluster"
	"github.com/flotilla-dev/flotilla/internal/controller"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/internal/render"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// staleReads serves Gets of Applications from a copy taken earlier, as a
// cache still behind the last status write would; everything else, and
// every write, goes to the API server.
type staleReads struct {
	client.Client
	app *flotillav1.Application // nil: read through
}

func (s *staleReads) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if app, ok := obj.(*flotillav1.Application); ok && s.app != nil {
		s.app.DeepCopyInto(app)
		return nil
	}
	return s.Client.Get(ctx, key, obj, opts...)
}

// TestStaleReadKeepsHistory: a reconcile that reads an Application from a
// cache still behind the last status write (a drift event can start one
// right after a sync) neither drops deployments from the history nor
// writes an older inventory: its status write is refused, and the next
// reconcile, on the current copy, records the revision it applied.
func TestStaleReadKeepsHistory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	hub, cfg := staleHub(ctx, t, "web")
	eng := staleEngine(t, hub, cfg)
	log := slog.New(slog.DiscardHandler)
	reads := &staleReads{Client: hub}
	recorder := events.NewFakeRecorder(100)
	r := &controller.ApplicationReconciler{
		Client: reads, Reader: hub, Engine: eng, Log: log,
		Recorder: recorder,
		Metrics:  engine.NewMetrics(prometheus.NewRegistry()),
	}

	repo := gitserver.NewRepo(t, t.TempDir(), "web.git")
	commit := func(v string) string {
		return repo.Commit("main", map[string]string{"web.yaml": fmt.Sprintf(
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-%s\n  namespace: web\ndata:\n  v: %q\n", v, v)})
	}
	key := client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: "web"}
	app := fileApp(key, repo, "web")
	app.Spec.SyncPolicy.Automated = &flotillav1.AutomatedSync{Prune: true}
	if err := hub.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	reconcile := func(why string) ctrl.Result {
		t.Helper()
		res, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key})
		if err != nil {
			t.Fatalf("reconcile (%s): %v", why, err)
		}
		var got flotillav1.Application
		if err := hub.Get(ctx, key, &got); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %+v", why, got.Status)
		return res
	}
	history := func() (revs []string, resources []string) {
		t.Helper()
		var got flotillav1.Application
		if err := hub.Get(ctx, key, &got); err != nil {
			t.Fatal(err)
		}
		for _, h := range got.Status.History {
			revs = append(revs, h.Revision)
		}
		for _, res := range got.Status.Resources {
			resources = append(resources, res.Name)
		}
		return revs, resources
	}

	first := commit("1")
	reconcile("first commit")
	var stale flotillav1.Application
	if err := hub.Get(ctx, key, &stale); err != nil {
		t.Fatal(err)
	}
	second := commit("2")
	reconcile("second commit")
	if revs, _ := history(); !slices.Equal(revs, []string{first, second}) {
		t.Fatalf("history after two syncs = %v, want [%s %s]", revs, first, second)
	}

	// The third commit is first synced by a reconcile that read the copy
	// written after the first sync.
	third := commit("3")
	for len(recorder.Events) > 0 {
		<-recorder.Events
	}
	reads.app = &stale
	res := reconcile("from the stale copy")
	if len(recorder.Events) > 0 {
		t.Errorf("a reconcile that stopped at a stale copy reported %q", <-recorder.Events)
	}
	if res.RequeueAfter <= 0 || res.RequeueAfter > time.Second {
		t.Errorf("a reconcile whose status write was refused asks to come back in %s, want within a second", res.RequeueAfter)
	}
	revs, resources := history()
	if !slices.Equal(revs, []string{first, second}) {
		t.Errorf("a stale reconcile rewrote the history: %v, want [%s %s]", revs, first, second)
	}
	if !slices.Contains(resources, "web-2") {
		t.Errorf("a stale reconcile rewrote the inventory: %v, want web-2 kept until it is pruned", resources)
	}

	reads.app = nil
	reconcile("from the current copy")
	revs, resources = history()
	if !slices.Equal(revs, []string{first, second, third}) {
		t.Errorf("history = %v, want [%s %s %s]", revs, first, second, third)
	}
	if !slices.Equal(resources, []string{"web-3"}) {
		t.Errorf("inventory = %v, want [web-3]", resources)
	}
	for _, name := range []string{"web-1", "web-2"} {
		var cm corev1.ConfigMap
		if err := hub.Get(ctx, client.ObjectKey{Namespace: "web", Name: name}, &cm); err == nil {
			t.Errorf("ConfigMap %s is still there; the sync at %s should have pruned it", name, third)
		}
	}
}

// TestStaleReadHandlesASyncRequestOnce: without automated sync, a sync
// request is handled once. A reconcile that reads the Application from a
// cache still showing a version between the two status writes of the
// sync that handled it (the inventory recorded, the request not yet
// marked handled) must not handle it again, least of all at a commit
// pushed since: it reads the Application from the API server instead.
func TestStaleReadHandlesASyncRequestOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	hub, cfg := staleHub(ctx, t, "manual")
	reads := &staleReads{Client: hub}
	r := &controller.ApplicationReconciler{
		Client: reads, Reader: hub, Engine: staleEngine(t, hub, cfg), Log: slog.New(slog.DiscardHandler),
		Recorder: events.NewFakeRecorder(100),
		Metrics:  engine.NewMetrics(prometheus.NewRegistry()),
		Queue:    controller.NewAppQueue(),
	}
	repo := gitserver.NewRepo(t, t.TempDir(), "manual.git")
	commit := func(v string) string {
		return repo.Commit("main", map[string]string{"cm.yaml": fmt.Sprintf(
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: manual\ndata:\n  v: %q\n", v)})
	}
	key := client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: "manual"}
	app := fileApp(key, repo, "manual")
	if err := hub.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	reconcile := func(why string) *flotillav1.Application {
		t.Helper()
		if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key}); err != nil {
			t.Fatalf("reconcile (%s): %v", why, err)
		}
		var got flotillav1.Application
		if err := hub.Get(ctx, key, &got); err != nil {
			t.Fatal(err)
		}
		return &got
	}
	value := func() string {
		t.Helper()
		var cm corev1.ConfigMap
		if err := hub.Get(ctx, client.ObjectKey{Namespace: "manual", Name: "web"}, &cm); err != nil {
			t.Fatal(err)
		}
		return cm.Data["v"]
	}

	first := commit("1")
	before := reconcile("before any request")
	before.Annotations = map[string]string{flotillav1.SyncAnnotation: "1"}
	if err := hub.Update(ctx, before); err != nil {
		t.Fatal(err)
	}
	synced := reconcile("the sync request")
	if synced.Status.LastHandledSync != "1" || synced.Status.Sync.Revision != first || value() != "1" {
		t.Fatalf("after the request: handled %q at %s, v=%q; want 1 at %s, v=1", synced.Status.LastHandledSync, synced.Status.Sync.Revision, value(), first)
	}

	// The copy the cache may still show: the inventory recorded, the
	// request not yet marked handled, an older resourceVersion.
	stale := synced.DeepCopy()
	stale.Status.LastHandledSync = ""
	stale.ResourceVersion = before.ResourceVersion
	second := commit("2")
	reads.app = stale
	after := reconcile("from the stale copy")
	if v := value(); v != "1" {
		t.Errorf("the request was handled again from a stale copy: v=%q, want 1 (the commit %s was never asked for)", v, second)
	}
	if after.Status.Sync.Status != flotillav1.SyncStatusOutOfSync || after.Status.Sync.Revision != second {
		t.Errorf("status %s at %s; want OutOfSync at the new commit %s", after.Status.Sync.Status, after.Status.Sync.Revision, second)
	}
}

// staleHub starts a local control plane with Flotilla's CRDs and the
// namespace ns, and returns a client of it and its config.
// fileApp is an Application key of the branch main of repo, served as a
// file:// URL, to namespace ns of the hub itself.
func fileApp(key client.ObjectKey, repo *gitserver.Repo, ns string) *flotillav1.Application {
	return &flotillav1.Application{
		ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name},
		Spec: flotillav1.ApplicationSpec{
			Source:      flotillav1.ApplicationSource{RepoURL: "file://" + repo.Dir, TargetRevision: "main"},
			Destination: flotillav1.Destination{Cluster: flotillav1.InCluster, Namespace: ns},
		},
	}
}

func staleHub(ctx context.Context, t *testing.T, ns string) (client.Client, *rest.Config) {
	t.Helper()
	fleet, err := localfleet.Start(ctx, localfleet.Options{Clusters: 1, Lean: true})
	if err != nil {
		t.Fatalf("a local control plane (make k8s): %v", err)
	}
	t.Cleanup(func() { _ = fleet.Stop() })
	cfg := fleet.Clusters[0].RESTConfig()
	if _, err := cli.Install(ctx, cfg, flotillav1.DefaultNamespace); err != nil {
		t.Fatalf("install: %v", err)
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, flotillav1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	hub, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	return hub, cfg
}

// staleEngine is an engine that syncs into the hub itself.
func staleEngine(t *testing.T, hub client.Client, cfg *rest.Config) *engine.Engine {
	t.Helper()
	srcOpts := source.DefaultOptions()
	srcOpts.CacheDir, srcOpts.AllowLocal = t.TempDir(), true
	sources, err := source.New(srcOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sources.Close() })
	engOpts := engine.DefaultOptions()
	engOpts.Logger = slog.New(slog.DiscardHandler)
	eng := engine.New(sources, render.New(render.DefaultOptions()), cluster.NewRegistry(hub, cfg, cluster.DefaultOptions()), engOpts)
	t.Cleanup(eng.Close)
	return eng
}
