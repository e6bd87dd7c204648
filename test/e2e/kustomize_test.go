package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// shopKustomization is an overlay as real repositories write them: a
// deprecated `bases`, a component, a configMapGenerator reading files, a
// replacement, and a Helm chart vendored in charts/ inflated by helmCharts.
func shopKustomization(ns string) map[string]string {
	return map[string]string{
		"base/kustomization.yaml": "resources: [settings.yaml]\n",
		"base/settings.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shop-settings}\ndata: {host: HOST}\n",
		"components/audit/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n" +
			"patches:\n  - target: {kind: ConfigMap, name: shop-settings}\n    patch: |-\n      - {op: add, path: /data/audit, value: \"on\"}\n",
		"apps/shop/kustomization.yaml": "bases: [../../base]\n" +
			"components: [../../components/audit]\n" +
			"configMapGenerator:\n  - name: shop-config\n    files: [app.properties]\n" +
			"  - name: shop-host\n    literals: [HOST=shop.example.com]\n" +
			"replacements:\n  - source: {kind: ConfigMap, name: shop-host, fieldPath: data.HOST}\n" +
			"    targets: [{select: {kind: ConfigMap, name: shop-settings}, fieldPaths: [data.host]}]\n" +
			"helmCharts:\n  - name: cache\n    releaseName: shop-cache\n    namespace: " + ns + "\n" +
			"    valuesInline: {replicas: 2}\n",
		"apps/shop/app.properties":                  "currency=EUR\n",
		"apps/shop/charts/cache/Chart.yaml":         "apiVersion: v2\nname: cache\nversion: 1.0.0\n",
		"apps/shop/charts/cache/values.yaml":        "replicas: 1\n",
		"apps/shop/charts/cache/templates/app.yaml": cacheTemplates,
	}
}

const cacheTemplates = `apiVersion: apps/v1
kind: Deployment
metadata: {name: '{{ .Release.Name }}', namespace: '{{ .Release.Namespace }}'}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: '{{ .Release.Name }}'}}
  template:
    metadata: {labels: {app: '{{ .Release.Name }}'}}
    spec: {containers: [{name: cache, image: 'registry.example.com/cache:7'}]}
---
apiVersion: v1
kind: Service
metadata: {name: '{{ .Release.Name }}', namespace: '{{ .Release.Namespace }}'}
spec: {selector: {app: '{{ .Release.Name }}'}, ports: [{port: 6379}]}
`

// TestSyncKustomizeFeatures: the overlay syncs with every feature at work
// (the chart inflated in-process, with its values), and kustomize's
// deprecation warning for `bases` reaches the Application as a
// RenderWarning Event rather than the controller's output.
func TestSyncKustomizeFeatures(t *testing.T) {
	ns := harness.TestNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", shopKustomization(ns))
	spec := harness.PlainApp(srv.URL("fleet"), "apps/shop", ns)
	newApp(t, "shop-kustomize", spec)
	env.WaitApp(t, "shop-kustomize", 2*time.Minute, "Synced", harness.Synced)

	waitDeployment(t, env.Client, ns, "shop-cache", 2)
	var settings corev1.ConfigMap
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "shop-settings"}, &settings); err != nil {
		t.Fatal(err)
	}
	if settings.Data["host"] != "shop.example.com" || settings.Data["audit"] != "on" {
		t.Errorf("shop-settings: %v, want the replaced host and the component's audit", settings.Data)
	}
	var cms corev1.ConfigMapList
	if err := env.Client.List(context.Background(), &cms, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, cm := range cms.Items {
		if strings.HasPrefix(cm.Name, "shop-config-") && cm.Data["app.properties"] == "currency=EUR\n" {
			found = true
		}
	}
	if !found {
		t.Errorf("no generated shop-config ConfigMap with app.properties among %d ConfigMaps", len(cms.Items))
	}
	note := waitEvent(t, "shop-kustomize", flotillav1.ReasonRenderWarning, "'bases' is deprecated")
	if !strings.Contains(note, "apps/shop/kustomization.yaml") {
		t.Errorf("the warning should name the kustomization: %s", note)
	}
}

// waitEvent waits for an Event of app with the reason whose note says want.
func waitEvent(t *testing.T, app, reason, want string) string {
	t.Helper()
	var note string
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var events eventsv1.EventList
		if err := env.Client.List(ctx, &events, client.InNamespace(flotillav1.DefaultNamespace)); err != nil {
			return false, nil
		}
		for _, e := range events.Items {
			if e.Regarding.Name == app && e.Reason == reason && strings.Contains(e.Note, want) {
				note = e.Note
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no %s Event of %s saying %q: %v", reason, app, want, err)
	}
	return note
}
