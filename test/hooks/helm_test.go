package hooks

import (
	"context"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// hookJob is a named Job of the chart, a Helm hook of events, weight and
// delete policy.
func hookJob(name, events, weight, policy string) string {
	return `apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-` + name + `
  annotations:
    helm.sh/hook: ` + events + `
    helm.sh/hook-weight: "` + weight + `"
` + policy + `spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: run, image: registry.example/shop-tools:{{ .Chart.AppVersion }}}]
`
}

// hookedChart is a chart with two pre-install hooks (migrate, weight -5,
// deleted once it succeeded; seed, weight 0, kept until the next run), a
// pre-delete hook and a test hook, which no install runs, and a Deployment
// and a Service.
func hookedChart(replicas string) map[string]string {
	return map[string]string{
		"chart/Chart.yaml":  "apiVersion: v2\nname: shop\nversion: 0.1.0\nappVersion: \"1.0.0\"\n",
		"chart/values.yaml": "replicaCount: " + replicas + "\n",
		"chart/templates/migrate.yaml": hookJob("migrate", "pre-install,pre-upgrade", "-5",
			"    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded\n"),
		"chart/templates/seed.yaml":    hookJob("seed", "pre-install,pre-upgrade", "0", ""),
		"chart/templates/cleanup.yaml": hookJob("cleanup", "pre-delete", "0", ""),
		"chart/templates/tests/ping.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-ping
  annotations: {helm.sh/hook: test}
spec:
  containers: [{name: ping, image: busybox}]
`,
		"chart/templates/web.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  replicas: {{ .Values.replicaCount }}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "registry.example/shop:{{ .Chart.AppVersion }}"}]
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-web
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`,
	}
}

// TestHelmHooks: a chart's pre-install hooks run in the order of their
// weights and complete before its Deployment and Service are created; the
// hook with hook-succeeded is deleted once it completed, the other kept
// until the next run; pre-delete and test hooks never run. A change (an
// upgrade) runs the pre-upgrade hooks again.
func TestHelmHooks(t *testing.T) {
	ns := "hooks-helm"
	rec := record(t, ns)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	first := repo.Commit("main", hookedChart("1"))
	spec := appSpec(srv.URL("fleet"), "chart", ns)
	spec.Source.Helm = &flotillav1.HelmSource{ReleaseName: "shop"}
	newApp(t, "helm-hooks", spec)

	app := env.WaitApp(t, "helm-hooks", 3*time.Minute, "Synced and Healthy", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == first && a.Status.Health.Status == flotillav1.HealthHealthy
	})
	for _, r := range app.Status.Resources {
		if r.Kind == "Job" || r.Kind == "Pod" {
			t.Errorf("hook %s/%s is in the inventory", r.Kind, r.Name)
		}
	}
	migrated := rec.one(t, "Job", "shop-migrate", "complete", ready)
	seed := rec.one(t, "Job", "shop-seed", "created", created)
	if seed.rv < migrated.rv {
		t.Errorf("the hook of weight 0 was created (rv %d) before the one of weight -5 completed (rv %d)", seed.rv, migrated.rv)
	}
	seeded := rec.one(t, "Job", "shop-seed", "complete", ready)
	for _, kind := range []string{"Deployment", "Service"} {
		if obj := rec.one(t, kind, "shop-web", "created", created); obj.rv < seeded.rv {
			t.Errorf("%s shop-web was created (rv %d) before the pre-install hooks completed (rv %d)", kind, obj.rv, seeded.rv)
		}
	}
	waitFor(t, "the hook-succeeded Job to be deleted", func() bool { return !jobExists(t, ns, "shop-migrate") })
	if !jobExists(t, ns, "shop-seed") {
		t.Error("the seed Job is gone; before-hook-creation keeps it until the next run")
	}
	if n := len(rec.find("Job", "shop-cleanup", created)); n != 0 {
		t.Error("the pre-delete hook ran on install")
	}

	// An upgrade runs the pre-upgrade hooks again: the seed Job of the
	// first run is deleted before the new one is created.
	second := repo.Commit("main", hookedChart("2"))
	env.WaitApp(t, "helm-hooks", 3*time.Minute, "Synced and Healthy after the upgrade", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == second && a.Status.Health.Status == flotillav1.HealthHealthy
	})
	if n := len(rec.find("Job", "shop-seed", created)); n != 2 {
		t.Errorf("the seed hook was created %d times, want once per install or upgrade", n)
	}
	if n := len(rec.find("Job", "shop-migrate", ready)); n != 2 {
		t.Errorf("the migrate hook completed %d times, want once per install or upgrade", n)
	}
}

func jobExists(t *testing.T, ns, name string) bool {
	t.Helper()
	var j batchv1.Job
	err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &j)
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil && j.DeletionTimestamp == nil
}
