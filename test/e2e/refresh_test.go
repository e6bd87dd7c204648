package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/util/wait"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestRolloutRefreshesHealthWithoutSync: a Deployment whose pods come up
// one by one changes its status at each step. Each change only has the
// Application's health read again from the watch cache: the Application
// goes from Progressing to Healthy with the one sync that applied it, long
// before its interval (issue 13: each status event synced it again). The
// Application has a cluster of its own, so that the counts are its alone;
// its pods count as available 5s after they are ready, so that the
// Deployment becomes available after the sync ended, however slow it was.
func TestRolloutRefreshesHealthWithoutSync(t *testing.T) {
	root := t.TempDir()
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo := gitserver.NewRepo(t, root, "rollout")
	repo.Commit("main", map[string]string{
		"app/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  minReadySeconds: 5
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers: [{name: web, image: registry.example/web:1}]
`,
		"app/cm.yaml": harness.GoodConfigMap,
	})
	ns := harness.TestNamespace(t)
	spec := harness.PlainApp(srv.URL("rollout"), "app", ns)
	spec.SyncPolicy.Interval = harness.Interval(10 * time.Minute) // health must come from watches
	spec.Destination.Cluster = "refresh"
	env.RegisterCluster(t, "refresh", "dev-1", nil)
	syncs0, refreshes0 := clusterCounts(t, "refresh")
	newApp(t, "rollout-refresh", spec)
	app := env.WaitApp(t, "rollout-refresh", 2*time.Minute, "Synced and Healthy", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Health.Status == flotillav1.HealthHealthy
	})
	if r := resource(app, "Deployment", "web"); r == nil || r.Health != flotillav1.HealthHealthy {
		t.Errorf("status.resources should list Deployment web Healthy: %+v", r)
	}
	// Give a sync that a late status event would start time to show itself.
	time.Sleep(3 * time.Second)
	syncs, refreshes := clusterCounts(t, "refresh")
	t.Logf("syncs %v, health refreshes %v", syncs-syncs0, refreshes-refreshes0)
	if syncs-syncs0 != 1 {
		t.Errorf("the Application synced %v times; one sync applies it, its rollout only refreshes its health\n%s", syncs-syncs0, env.ControllerLogTail(20))
	}
	if refreshes-refreshes0 < 1 {
		t.Errorf("no health refresh: the rollout's status reached the Application some other way")
	}
}

// clusterCounts are the syncs and health refreshes the controller counted
// for one destination cluster.
func clusterCounts(t *testing.T, cluster string) (syncs, refreshes float64) {
	t.Helper()
	var families map[string]*dto.MetricFamily
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		var err error
		families, err = env.Scrape()
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("the controller's metrics: %v", err)
	}
	sum := func(name string) float64 {
		total := 0.0
		for _, m := range families[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "cluster" && l.GetValue() == cluster {
					total += m.GetCounter().GetValue()
				}
			}
		}
		return total
	}
	return sum("flotilla_syncs_total"), sum("flotilla_health_refreshes_total")
}

// TestHubClientsStay: an Application created for in-cluster wakes the
// Cluster reconciler with a name no Cluster object has; that must not
// release the hub's own clients, which every Application there shares
// (their watch caches, and the health refreshes read from them).
func TestHubClientsStay(t *testing.T) {
	root := t.TempDir()
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo := gitserver.NewRepo(t, root, "hub")
	repo.Commit("main", map[string]string{"app/cm.yaml": harness.GoodConfigMap})
	for _, name := range []string{"hub-first", "hub-second"} {
		newApp(t, name, harness.PlainApp(srv.URL("hub"), "app", harness.TestNamespace(t)+"-"+name))
		env.WaitApp(t, name, 2*time.Minute, "Synced", harness.Synced)
	}
	for _, line := range strings.Split(env.ControllerLog(), "\n") {
		if strings.Contains(line, `"cluster clients released"`) && strings.Contains(line, `"cluster":"`+flotillav1.DefaultNamespace+"/"+flotillav1.InCluster+`"`) {
			t.Fatalf("the hub's own clients were released:\n%s", line)
		}
	}
}
