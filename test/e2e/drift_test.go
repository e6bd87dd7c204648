package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

const driftDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers: [{name: web, image: registry.example/web:1}]
`

// TestDrift: a `kubectl scale` of a managed Deployment is reverted with
// selfHeal and reported OutOfSync without it; a scale of a field the
// Application ignores is neither. A deleted ConfigMap is re-created with
// selfHeal and reported Missing without it.
func TestDrift(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", map[string]string{"app/deploy.yaml": driftDeployment, "app/cm.yaml": harness.GoodConfigMap})

	base := harness.TestNamespace(t)
	heal, report, ignore := base+"-heal", base+"-report", base+"-ignore"
	spec := func(ns string, selfHeal bool) flotillav1.ApplicationSpec {
		s := harness.PlainApp(srv.URL("fleet"), "app", ns)
		s.SyncPolicy.Automated.SelfHeal = selfHeal
		s.SyncPolicy.Interval = harness.Interval(10 * time.Minute) // drift must be seen from watches, not polling
		return s
	}
	newApp(t, "drift-heal", spec(heal, true))
	newApp(t, "drift-report", spec(report, false))
	ignoring := spec(ignore, true)
	ignoring.IgnoreDifferences = []flotillav1.IgnoreDifference{{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}}
	newApp(t, "drift-ignore", ignoring)
	for _, name := range []string{"drift-heal", "drift-report", "drift-ignore"} {
		env.WaitApp(t, name, 2*time.Minute, "Synced and Healthy", func(a *flotillav1.Application) bool {
			return harness.Synced(a) && a.Status.Health.Status == flotillav1.HealthHealthy
		})
	}

	kubeconfig := env.Fleet.Kubeconfig()
	for _, ns := range []string{heal, report, ignore} {
		harness.MustRun(t, harness.KubectlBin(), "--kubeconfig", kubeconfig, "--context", "hub", "-n", ns, "scale", "deployment/web", "--replicas=5")
	}
	waitReplicas(t, heal, 2, "selfHeal should scale web back to 2")
	app := env.WaitApp(t, "drift-report", 30*time.Second, "OutOfSync after the scale", func(a *flotillav1.Application) bool {
		return a.Status.Sync.Status == flotillav1.SyncStatusOutOfSync
	})
	if r := resource(app, "Deployment", "web"); r == nil || r.Sync != flotillav1.SyncStatusOutOfSync {
		t.Errorf("status.resources should mark Deployment web OutOfSync: %+v", r)
	}
	// Give a wrong self-heal or apply loop time to show itself.
	time.Sleep(3 * time.Second)
	if got := replicas(t, report); got != 5 {
		t.Errorf("without selfHeal the scale must stay: replicas=%d", got)
	}
	if got := replicas(t, ignore); got != 5 {
		t.Errorf("an ignored field must stay as scaled: replicas=%d", got)
	}
	app = env.WaitApp(t, "drift-ignore", 10*time.Second, "still Synced", harness.Synced)
	if r := resource(app, "Deployment", "web"); r == nil || r.Sync != flotillav1.SyncStatusSynced {
		t.Errorf("an ignored difference is not drift: %+v", r)
	}

	for _, ns := range []string{heal, report} {
		harness.MustRun(t, harness.KubectlBin(), "--kubeconfig", kubeconfig, "--context", "hub", "-n", ns, "delete", "configmap", "good")
	}
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		return env.ConfigMapExists(ctx, heal, "good"), nil
	})
	if err != nil {
		t.Errorf("selfHeal should re-create the deleted ConfigMap: %v", err)
	}
	app = env.WaitApp(t, "drift-report", 30*time.Second, "Missing after the delete", func(a *flotillav1.Application) bool {
		r := resource(a, "ConfigMap", "good")
		return r != nil && r.Health == flotillav1.HealthMissing && a.Status.Health.Status == flotillav1.HealthMissing
	})
	if !strings.Contains(app.Status.Health.Message, "ConfigMap/"+report+"/good") {
		t.Errorf("the health message should name the missing ConfigMap: %q", app.Status.Health.Message)
	}
	if env.ConfigMapExists(context.Background(), report, "good") {
		t.Errorf("without selfHeal the ConfigMap must not be re-created")
	}
}

func resource(app *flotillav1.Application, kind, name string) *flotillav1.ResourceStatus {
	for i := range app.Status.Resources {
		if r := &app.Status.Resources[i]; r.Kind == kind && r.Name == name {
			return r
		}
	}
	return nil
}

func replicas(t *testing.T, ns string) int32 {
	t.Helper()
	var d appsv1.Deployment
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "web"}, &d); err != nil {
		t.Fatal(err)
	}
	return *d.Spec.Replicas
}

func waitReplicas(t *testing.T, ns string, want int32, what string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return replicas(t, ns) == want, nil
	})
	if err != nil {
		t.Errorf("%s: replicas=%d\n%s", what, replicas(t, ns), env.ControllerLogTail(20))
	}
}
