package e2e

import (
	"strings"
	"testing"
	"time"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestHealth: a Deployment whose pods never become ready turns the
// Application Degraded with a message naming it; a CEL health check decides
// the health of a custom resource.
func TestHealth(t *testing.T) {
	root := t.TempDir()
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})

	stuck := gitserver.NewRepo(t, root, "stuck")
	stuck.Commit("main", map[string]string{"app/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: stuck
spec:
  replicas: 1
  progressDeadlineSeconds: 5
  selector:
    matchLabels: {app: stuck}
  template:
    metadata:
      labels: {app: stuck}
    spec:
      nodeSelector: {flotilla.dev/no-such-node: "true"}
      containers: [{name: stuck, image: registry.example/stuck:1}]
`})
	ns := harness.TestNamespace(t)
	newApp(t, "health-stuck", harness.PlainApp(srv.URL("stuck"), "app", ns))
	app := env.WaitApp(t, "health-stuck", 2*time.Minute, "Degraded", func(a *flotillav1.Application) bool {
		return a.Status.Health.Status == flotillav1.HealthDegraded
	})
	if msg := app.Status.Health.Message; !strings.Contains(msg, "Deployment/"+ns+"/stuck") {
		t.Errorf("the health message should name the Deployment: %q", msg)
	}
	t.Logf("Degraded: %s", app.Status.Health.Message)

	widgets := gitserver.NewRepo(t, root, "widgets")
	widgetFiles := func(ready bool) map[string]string {
		r := "false"
		if ready {
			r = "true"
		}
		return map[string]string{
			"app/crd.yaml": `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.health.e2e.flotilla.dev
spec:
  group: health.e2e.flotilla.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
`,
			"app/widget.yaml": "apiVersion: health.e2e.flotilla.dev/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  ready: " + r + "\n",
		}
	}
	widgets.Commit("main", widgetFiles(false))
	spec := harness.PlainApp(srv.URL("widgets"), "app", ns+"-w")
	spec.HealthChecks = []flotillav1.HealthCheck{{Group: "health.e2e.flotilla.dev", Kind: "Widget", CEL: "self.spec.ready == true"}}
	newApp(t, "health-widget", spec)
	env.WaitApp(t, "health-widget", 2*time.Minute, "Progressing by the CEL check", func(a *flotillav1.Application) bool {
		r := resource(a, "Widget", "w")
		return harness.Synced(a) && r != nil && r.Health == flotillav1.HealthProgressing && a.Status.Health.Status == flotillav1.HealthProgressing
	})
	widgets.Commit("main", widgetFiles(true))
	env.WaitApp(t, "health-widget", time.Minute, "Healthy by the CEL check", func(a *flotillav1.Application) bool {
		r := resource(a, "Widget", "w")
		return harness.Synced(a) && r != nil && r.Health == flotillav1.HealthHealthy && a.Status.Health.Status == flotillav1.HealthHealthy
	})
}
