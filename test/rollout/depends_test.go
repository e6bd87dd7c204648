package rollout

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// infra is the infrastructure Fleet's folder for one cluster: a Deployment
// that becomes available, or, broken, never does.
func infra(cluster string, broken bool) map[string]string {
	files := release("infra", broken)
	return map[string]string{
		"infra/" + cluster + "/web.yaml": strings.Replace(files["app/web.yaml"], "name: web\n", "name: base\n", 1),
	}
}

// TestFleetDependsOnFleet: the Applications of a Fleet that depends on
// another wait, cluster by cluster, until that Fleet's Application on the
// same cluster is Synced and Healthy.
func TestFleetDependsOnFleet(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "platform")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	files := map[string]string{
		"apps/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  ready: \"yes\"\n",
	}
	for k, v := range infra("d1", true) {
		files[k] = v
	}
	for k, v := range infra("d2", false) {
		files[k] = v
	}
	repo.Commit("main", files)
	env.RegisterCluster(t, "d1", "dev-1", map[string]string{"tier": "platform"})
	env.RegisterCluster(t, "d2", "dev-2", map[string]string{"tier": "platform"})
	fleet := func(name, path, ns string, deps []flotillav1.DependencyReference) {
		f := &flotillav1.Fleet{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace},
			Spec: flotillav1.FleetSpec{
				ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "platform"}},
				Template: flotillav1.FleetTemplate{
					Source:      flotillav1.ApplicationSource{RepoURL: srv.URL("platform"), TargetRevision: "main", Path: path},
					Destination: flotillav1.FleetDestination{Namespace: ns},
					SyncPolicy: flotillav1.SyncPolicy{
						Automated: &flotillav1.AutomatedSync{Prune: true}, CreateNamespace: true,
						Interval: harness.Interval(2 * time.Second),
					},
					DependsOn: deps,
				},
			},
		}
		if err := env.Client.Create(context.Background(), f); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), f) })
	}
	fleet("infra", "infra/{{ .Cluster.Name }}", "infra", nil)
	fleet("apps", "apps", "apps", []flotillav1.DependencyReference{{Fleet: "infra"}})

	// d2's infrastructure is healthy: its apps sync. d1's never is: its
	// apps wait, naming what they wait for.
	env.WaitApp(t, "apps-d2", 3*time.Minute, "synced after infra on d2", harness.Synced)
	waiting := env.WaitApp(t, "apps-d1", 3*time.Minute, "waiting for infra on d1", func(a *flotillav1.Application) bool {
		c := meta.FindStatusCondition(a.Status.Conditions, flotillav1.ConditionReady)
		return c != nil && c.Reason == flotillav1.ReasonDependencyNotReady
	})
	if msg := harness.ReadyCondition(waiting).Message; !strings.Contains(msg, "fleet infra on cluster d1") {
		t.Errorf("apps-d1 waits with %q: want it to name the infra Fleet on d1", msg)
	}
	if v := appConfig(t, 1); v != "" {
		t.Errorf("apps reached d1 before its infrastructure was healthy (ConfigMap %q)", v)
	}

	// Once d1's infrastructure is fixed, its apps follow.
	for k, v := range infra("d1", false) {
		files[k] = v
	}
	repo.Commit("main", files)
	env.WaitApp(t, "apps-d1", 3*time.Minute, "synced after infra on d1 was fixed", harness.Synced)
	if v := appConfig(t, 1); v != "yes" {
		t.Errorf("apps on d1: ConfigMap %q, want it applied", v)
	}
}

// appConfig is the ConfigMap apps/app of workload cluster dev-i, "" when
// it is missing.
func appConfig(t *testing.T, i int) string {
	t.Helper()
	c := workloadClient(t, i)
	cm := harness.LiveConfigMap(t, c, "apps", "app")
	if cm == nil {
		return ""
	}
	return fmt.Sprint(cm.Data["ready"])
}
