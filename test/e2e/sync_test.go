package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// guestbook returns a kustomize base and a dev overlay: a Deployment with
// the given replicas, a Service and, unless dropped, a ConfigMap.
func guestbook(replicas int, withConfigMap bool) map[string]string {
	resources := "  - deployment.yaml\n  - service.yaml\n"
	files := map[string]string{
		"apps/guestbook/base/deployment.yaml": fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: guestbook
spec:
  replicas: %d
  selector:
    matchLabels: {app: guestbook}
  template:
    metadata:
      labels: {app: guestbook}
    spec:
      containers:
        - name: guestbook
          image: registry.example/guestbook:1.0.0
`, replicas),
		"apps/guestbook/base/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: guestbook
spec:
  selector: {app: guestbook}
  ports: [{port: 80, targetPort: 8080}]
`,
		"apps/guestbook/overlays/dev/kustomization.yaml": "resources:\n  - ../../base\nnamePrefix: dev-\n",
	}
	if withConfigMap {
		resources += "  - configmap.yaml\n"
		files["apps/guestbook/base/configmap.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: guestbook\ndata:\n  GREETING: hello\n"
	}
	files["apps/guestbook/base/kustomization.yaml"] = "resources:\n" + resources
	return files
}

// newApp creates an Application in the hub and deletes it when the test ends.
func newApp(t *testing.T, name string, spec flotillav1.ApplicationSpec) *flotillav1.Application {
	t.Helper()
	app := &flotillav1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace},
		Spec:       spec,
	}
	if err := env.Client.Create(context.Background(), app); err != nil {
		t.Fatalf("create Application %s: %v", name, err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), app) })
	return app
}

// TestSyncKustomizeOverlay: an Application from a Kustomize overlay over
// HTTPS becomes Synced at the commit, its Deployment Available; a pushed
// commit that changes replicas is applied; a file removed from Git is pruned.
func TestSyncKustomizeOverlay(t *testing.T) {
	ns := harness.TestNamespace(t)
	repo, srv := env.HTTPSRepo(t, "overlay-creds")
	first := repo.Commit("main", guestbook(1, true))

	newApp(t, "overlay", flotillav1.ApplicationSpec{
		Source: flotillav1.ApplicationSource{
			RepoURL: srv.URL("fleet"), TargetRevision: "main", Path: "apps/guestbook/overlays/dev",
			CredentialsRef: &flotillav1.LocalObjectReference{Name: "overlay-creds"},
		},
		Destination: flotillav1.Destination{Cluster: flotillav1.InCluster, Namespace: ns},
		SyncPolicy: flotillav1.SyncPolicy{
			Automated:       &flotillav1.AutomatedSync{Prune: true},
			CreateNamespace: true,
			Interval:        harness.Interval(2 * time.Second),
		},
	})
	app := env.WaitApp(t, "overlay", 2*time.Minute, "Synced at the first commit", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == first
	})
	if got := len(app.Status.Resources); got != 4 { // Namespace, Deployment, Service, ConfigMap
		t.Errorf("inventory has %d objects, want 4: %+v", got, app.Status.Resources)
	}
	waitDeployment(t, env.Client, ns, "dev-guestbook", 1)

	second := repo.Commit("main", guestbook(2, true))
	env.WaitApp(t, "overlay", time.Minute, "Synced at the second commit", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == second
	})
	waitDeployment(t, env.Client, ns, "dev-guestbook", 2)

	third := repo.Commit("main", guestbook(2, false))
	app = env.WaitApp(t, "overlay", time.Minute, "Synced at the third commit", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == third
	})
	var cm corev1.ConfigMap
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "dev-guestbook"}, &cm); !apierrors.IsNotFound(err) {
		t.Errorf("ConfigMap removed from Git should be pruned, got err=%v", err)
	}
	if got := len(app.Status.Resources); got != 3 {
		t.Errorf("inventory after prune has %d objects, want 3: %+v", got, app.Status.Resources)
	}
	if len(app.Status.History) != 3 || app.Status.History[2].Revision != third {
		t.Errorf("history should list the three deployed commits, got %+v", app.Status.History)
	}
	assertNoCanary(t, app)
}

// TestSyncWithoutPrune: with prune off, a file removed from Git stays in the
// cluster and the Application says OutOfSync, naming it.
func TestSyncWithoutPrune(t *testing.T) {
	ns := harness.TestNamespace(t)
	repo, srv := env.HTTPSRepo(t, "noprune-creds")
	first := repo.Commit("main", guestbook(1, true))
	newApp(t, "noprune", flotillav1.ApplicationSpec{
		Source: flotillav1.ApplicationSource{
			RepoURL: srv.URL("fleet"), TargetRevision: "main", Path: "apps/guestbook/overlays/dev",
			CredentialsRef: &flotillav1.LocalObjectReference{Name: "noprune-creds"},
		},
		Destination: flotillav1.Destination{Namespace: ns},
		SyncPolicy: flotillav1.SyncPolicy{
			Automated:       &flotillav1.AutomatedSync{Prune: false},
			CreateNamespace: true,
			Interval:        harness.Interval(2 * time.Second),
		},
	})
	env.WaitApp(t, "noprune", 2*time.Minute, "Synced", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == first
	})
	second := repo.Commit("main", guestbook(1, false))
	app := env.WaitApp(t, "noprune", time.Minute, "OutOfSync at the second commit", func(a *flotillav1.Application) bool {
		return a.Status.Sync.Revision == second && a.Status.Sync.Status == flotillav1.SyncStatusOutOfSync
	})
	var cm corev1.ConfigMap
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "dev-guestbook"}, &cm); err != nil {
		t.Fatalf("ConfigMap must stay without prune: %v", err)
	}
	found := false
	for _, r := range app.Status.Resources {
		if r.Kind == "ConfigMap" && r.Name == "dev-guestbook" {
			found = r.Sync == flotillav1.SyncStatusOutOfSync
		}
	}
	if !found {
		t.Errorf("status.resources should mark the ConfigMap OutOfSync: %+v", app.Status.Resources)
	}
	if c := harness.ReadyCondition(app); c == nil || !strings.Contains(c.Message, "ConfigMap") {
		t.Errorf("Ready condition should name the ConfigMap to prune: %+v", c)
	}
}

// waitDeployment waits until the Deployment is Available with want ready replicas.
func waitDeployment(t *testing.T, c client.Client, ns, name string, want int32) {
	t.Helper()
	var d appsv1.Deployment
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &d); err != nil {
			return false, nil
		}
		for _, cond := range d.Status.Conditions {
			if cond.Type == appsv1.DeploymentAvailable && cond.Status == corev1.ConditionTrue {
				return d.Status.ReadyReplicas == want && d.Status.Replicas == want, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("Deployment %s/%s not Available with %d ready replicas: %v (status %+v)", ns, name, want, err, d.Status)
	}
}

// assertNoCanary checks that the repository password appears nowhere in
// the Application's status or the controller's log.
func assertNoCanary(t *testing.T, app *flotillav1.Application) {
	t.Helper()
	if s := fmt.Sprintf("%+v", app.Status); strings.Contains(s, harness.CanaryPassword) {
		t.Errorf("status holds the repository password")
	}
	if strings.Contains(env.ControllerLog(), harness.CanaryPassword) {
		t.Errorf("controller log holds the repository password")
	}
}
