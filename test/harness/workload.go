package harness

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
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

// WaitApps waits up to timeout until n Applications satisfy cond.
func WaitApps(tb testing.TB, h *Hub, n int, timeout time.Duration, what string, cond func(*flotillav1.Application) bool) {
	tb.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		count, err := CountApps(ctx, h, cond)
		return err == nil && count == n, nil
	})
	if err != nil {
		tb.Fatalf("not all %d Applications %s: %v\n%s", n, what, err, h.ControllerLogTail(30))
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
