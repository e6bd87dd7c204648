package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// helmChart is a chart with a CRD in crds/, an object of that kind, a
// Deployment whose replicas come from values, a Service, a ConfigMap fed by
// a values file and a test hook, which a sync leaves out.
func helmChart() map[string]string {
	return map[string]string{
		"charts/shop/Chart.yaml":  "apiVersion: v2\nname: shop\nversion: 0.1.0\nappVersion: \"1.0.0\"\n",
		"charts/shop/values.yaml": "replicaCount: 1\ngreeting: hello\n",
		"charts/shop/crds/gadgets.yaml": `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.e2e-helm.flotilla.dev
spec:
  group: e2e-helm.flotilla.dev
  names: {kind: Gadget, plural: gadgets, singular: gadget}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`,
		"charts/shop/templates/gadget.yaml": `apiVersion: e2e-helm.flotilla.dev/v1
kind: Gadget
metadata:
  name: {{ .Release.Name }}
spec:
  size: 1
`,
		"charts/shop/templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
        - name: web
          image: registry.example/shop:{{ .Chart.AppVersion }}
`,
		"charts/shop/templates/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-web
spec:
  selector: {app: {{ .Release.Name }}}
  ports: [{port: 80, targetPort: 8080}]
`,
		"charts/shop/templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
  namespace: {{ .Release.Namespace }}
data:
  greeting: {{ .Values.greeting | quote }}
  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}
  servesApplications: {{ .Capabilities.APIVersions.Has "flotilla.dev/v1alpha1/Application" | quote }}
`,
		"charts/shop/templates/tests/ping.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-ping
  annotations: {helm.sh/hook: test}
spec:
  containers: [{name: ping, image: busybox}]
`,
		"envs/prod/shop.yaml": "greeting: bonjour\n",
	}
}

// TestHelmChartFromGit: a chart from a Git path syncs with its CRD, its
// values file and inline values; its Deployment becomes Available. A change
// of spec.source.helm.values re-renders and writes only the object that
// changed.
func TestHelmChartFromGit(t *testing.T) {
	ns := harness.TestNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	commit := repo.Commit("main", helmChart())

	spec := harness.PlainApp(srv.URL("fleet"), "charts/shop", ns)
	spec.Source.Helm = &flotillav1.HelmSource{
		ReleaseName: "shop",
		ValueFiles:  []string{"../../envs/prod/shop.yaml"},
		Values:      &apiextensionsv1.JSON{Raw: []byte(`{"replicaCount": 1}`)},
	}
	newApp(t, "helm-shop", spec)
	app := env.WaitApp(t, "helm-shop", 2*time.Minute, "Synced and Healthy", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == commit && a.Status.Health.Status == flotillav1.HealthHealthy
	})
	waitDeployment(t, env.Client, ns, "shop-web", 1)
	// Namespace, CRD, Gadget, Deployment, Service, ConfigMap; no test Pod.
	if got := len(app.Status.Resources); got != 6 {
		t.Errorf("inventory has %d objects, want 6: %+v", got, app.Status.Resources)
	}
	if v := configMapValue(t, ns, "shop-config", "greeting"); v != "bonjour" {
		t.Errorf("greeting %q, want the value file's bonjour", v)
	}
	// The chart sees the destination cluster as it is: its version, and an
	// API only that cluster serves (Helm's built-in list lacks it).
	if v := configMapValue(t, ns, "shop-config", "kubeVersion"); v != "v1.37.2" {
		t.Errorf(".Capabilities.KubeVersion %q, want the cluster's v1.37.2", v)
	}
	if v := configMapValue(t, ns, "shop-config", "servesApplications"); v != "true" {
		t.Errorf(".Capabilities.APIVersions should hold the cluster's flotilla.dev/v1alpha1/Application, got %q", v)
	}
	gadget := &unstructured.Unstructured{}
	gadget.SetGroupVersionKind(schema.GroupVersionKind{Group: "e2e-helm.flotilla.dev", Version: "v1", Kind: "Gadget"})
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "shop"}, gadget); err != nil {
		t.Errorf("the Gadget of the chart's CRD: %v", err)
	}
	var pod corev1.Pod
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "shop-ping"}, &pod); err == nil {
		t.Errorf("the test hook Pod was applied")
	}
	assertValuesChangeWritesDeploymentOnly(t, "helm-shop", ns)
}

// assertValuesChangeWritesDeploymentOnly sets replicaCount 2 on the shop
// chart's Application name, waits for it to be applied, and checks that
// only the Deployment was written: the other objects keep their
// resourceVersions, and the sync's Event lists the Deployment alone.
func assertValuesChangeWritesDeploymentOnly(t *testing.T, name, ns string) {
	t.Helper()
	before := resourceVersions(t, ns)
	updated := setHelmValues(t, name, `{"replicaCount": 2}`)
	env.WaitApp(t, name, time.Minute, "Synced with the new values", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Generation >= updated && a.Status.Health.Status == flotillav1.HealthHealthy
	})
	waitDeployment(t, env.Client, ns, "shop-web", 2)
	after := resourceVersions(t, ns)
	for _, obj := range []string{"Service/shop-web", "ConfigMap/shop-config"} {
		if before[obj] != after[obj] {
			t.Errorf("%s changed although its values did not (resourceVersion %s → %s)", obj, before[obj], after[obj])
		}
	}
	note := waitSyncEvent(t, name, "Deployment/"+ns+"/shop-web configured")
	for _, other := range []string{"Service/", "ConfigMap/", "Gadget", "CustomResourceDefinition"} {
		if strings.Contains(note, other) {
			t.Errorf("the values change wrote more than the Deployment: %s", note)
		}
	}
}

// waitSyncEvent waits for the Succeeded Event of the Application whose note
// holds want, and returns the note.
func waitSyncEvent(t *testing.T, app, want string) string {
	t.Helper()
	var note string
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var events eventsv1.EventList
		if err := env.Client.List(ctx, &events, client.InNamespace(flotillav1.DefaultNamespace)); err != nil {
			return false, nil
		}
		for _, e := range events.Items {
			if e.Regarding.Name == app && e.Reason == flotillav1.ReasonSucceeded && strings.Contains(e.Note, want) {
				note = e.Note
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no Succeeded Event of %s saying %q: %v", app, want, err)
	}
	return note
}

// setHelmValues replaces the Application's spec.source.helm.values and
// returns its new generation.
func setHelmValues(t *testing.T, name, values string) int64 {
	t.Helper()
	app := &flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: flotillav1.DefaultNamespace, Name: name}}
	harness.Update(t, env.Client, app, func(a *flotillav1.Application) {
		a.Spec.Source.Helm.Values = &apiextensionsv1.JSON{Raw: []byte(values)}
	})
	return app.Generation
}

func configMapValue(t *testing.T, ns, name, key string) string {
	t.Helper()
	var cm corev1.ConfigMap
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &cm); err != nil {
		t.Fatalf("ConfigMap %s/%s: %v", ns, name, err)
	}
	return cm.Data[key]
}

// resourceVersions returns the resourceVersion of the chart's Service and
// ConfigMap, by "Kind/name".
func resourceVersions(t *testing.T, ns string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for key, obj := range map[string]client.Object{"Service/shop-web": &corev1.Service{}, "ConfigMap/shop-config": &corev1.ConfigMap{}} {
		name := key[strings.Index(key, "/")+1:]
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		out[key] = obj.GetResourceVersion()
	}
	return out
}
