package harness

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// The many-applications workload of the scale tests and benchmarks: one
// repository with a folder per Application, apps/app-NNNN, each holding four
// objects of distinct names, so that no render is shared.

// AppName is the name of the i-th Application, its folder and its objects.
func AppName(i int) string { return fmt.Sprintf("app-%04d", i) }

// ManyApps is the repository: apps/app-NNNN/ holds a Deployment at 0
// replicas, a ServiceAccount, a Service and a ConfigMap, all named app-NNNN.
func ManyApps(n int) map[string]string {
	files := make(map[string]string, 4*n)
	for i := range n {
		for file, text := range AppObjects(AppName(i)) {
			files["apps/"+AppName(i)+"/"+file] = text
		}
	}
	return files
}

// AppObjects is one folder of ManyApps: four objects named name.
func AppObjects(name string) map[string]string {
	return map[string]string{
		"deployment.yaml": fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  replicas: 0
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      serviceAccountName: %[1]s
      containers: [{name: web, image: registry.example/web:1}]
`, name),
		"serviceaccount.yaml": fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: %s}\n", name),
		"service.yaml":        fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: %[1]s}\nspec:\n  selector: {app: %[1]s}\n  ports: [{port: 80}]\n", name),
		"configmap.yaml":      fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {greeting: hello}\n", name),
	}
}

// AppKinds are the kinds of the objects in each folder of ManyApps.
var AppKinds = []schema.GroupVersionKind{
	{Version: "v1", Kind: "ConfigMap"},
	{Version: "v1", Kind: "ServiceAccount"},
	{Version: "v1", Kind: "Service"},
	{Group: "apps", Version: "v1", Kind: "Deployment"},
}

// CreateApps creates one Application per folder of ManyApps at url, each to
// its own namespace, with automated sync and prune and the given interval.
func CreateApps(tb testing.TB, h *Hub, n int, url string, interval time.Duration) {
	tb.Helper()
	for i := range n {
		app := &flotillav1.Application{
			ObjectMeta: metav1.ObjectMeta{Name: AppName(i), Namespace: flotillav1.DefaultNamespace},
			Spec: flotillav1.ApplicationSpec{
				Source:      flotillav1.ApplicationSource{RepoURL: url, TargetRevision: "main", Path: "apps/" + AppName(i)},
				Destination: flotillav1.Destination{Namespace: AppName(i)},
				SyncPolicy: flotillav1.SyncPolicy{
					Automated:       &flotillav1.AutomatedSync{Prune: true},
					CreateNamespace: true,
					Interval:        &metav1.Duration{Duration: interval},
				},
			},
		}
		if err := h.Client.Create(context.Background(), app); err != nil {
			tb.Fatal(err)
		}
	}
}

// CountApps counts the Applications for which cond holds.
func CountApps(ctx context.Context, h *Hub, cond func(*flotillav1.Application) bool) (int, error) {
	var list flotillav1.ApplicationList
	if err := h.Client.List(ctx, &list, client.InNamespace(flotillav1.DefaultNamespace)); err != nil {
		return 0, err
	}
	count := 0
	for i := range list.Items {
		if cond(&list.Items[i]) {
			count++
		}
	}
	return count, nil
}

// WaitApps waits up to timeout until n Applications satisfy cond. It
// watches them instead of listing them again and again: at a thousand
// Applications a list every quarter second costs the API server about a
// tenth of a core, which a benchmark would charge to the controller.
func WaitApps(tb testing.TB, h *Hub, n int, timeout time.Duration, what string, cond func(*flotillav1.Application) bool) {
	tb.Helper()
	watcher, err := client.NewWithWatch(h.Config, client.Options{Scheme: h.Client.Scheme()})
	if err != nil {
		tb.Fatal(err)
	}
	in := client.InNamespace(flotillav1.DefaultNamespace)
	lw := &toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			var list flotillav1.ApplicationList
			err := watcher.List(ctx, &list, in, &client.ListOptions{Raw: &opts})
			return &list, err
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return watcher.Watch(ctx, &flotillav1.ApplicationList{}, in, &client.ListOptions{Raw: &opts})
		},
	}
	holds := map[string]bool{}
	count := 0
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, err = watchtools.UntilWithSync(ctx, lw, &flotillav1.Application{}, nil, func(ev watch.Event) (bool, error) {
		app, ok := ev.Object.(*flotillav1.Application)
		if !ok {
			return false, nil
		}
		now := ev.Type != watch.Deleted && cond(app)
		if now != holds[app.Name] {
			if now {
				count++
			} else {
				count--
			}
		}
		holds[app.Name] = now
		return count == n, nil
	})
	if err != nil {
		tb.Fatalf("not all %d Applications %s (%d are): %v\n%s", n, what, count, err, h.ControllerLogTail(30))
	}
}

// CountTracked counts the objects of kind gvk that carry Flotilla's tracking label.
func CountTracked(ctx context.Context, h *Hub, gvk schema.GroupVersionKind) (int, error) {
	var list metav1.PartialObjectMetadataList
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := h.Client.List(ctx, &list, client.HasLabels{flotillav1.TrackingLabel}); err != nil {
		return 0, err
	}
	return len(list.Items), nil
}
