package e2e

import (
	"context"
	"testing"
	"time"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestClusterOutage: with one cluster's API server stopped, its Application
// says the cluster is unavailable and keeps its inventory, while the other
// cluster syncs a new commit; once the API server is back the Application
// catches up with no manual step.
func TestClusterOutage(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", harness.ConfigMapWith("one"))
	env.RegisterCluster(t, "out-up", "dev-2", nil)
	env.RegisterCluster(t, "out-down", "dev-3", nil)
	ns := harness.TestNamespace(t)
	for name, cluster := range map[string]string{"outage-up": "out-up", "outage-down": "out-down"} {
		spec := harness.PlainApp(srv.URL("fleet"), "app", ns)
		spec.Destination.Cluster = cluster
		newApp(t, name, spec)
		env.WaitApp(t, name, 2*time.Minute, "Synced", harness.Synced)
	}

	if err := env.Fleet.StopAPIServer("dev-3"); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = env.Fleet.StartAPIServer(context.Background(), "dev-3")
		}
	})
	next := repo.Commit("main", harness.ConfigMapWith("two"))
	env.WaitApp(t, "outage-up", time.Minute, "Synced at the new commit", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == next
	})
	app := env.WaitApp(t, "outage-down", time.Minute, "ClusterUnavailable", harness.FailedWith(flotillav1.ReasonClusterUnavailable))
	t.Logf("%s", harness.ReadyCondition(app).Message)
	if len(app.Status.Resources) == 0 {
		t.Errorf("an unreachable cluster is unknown, not empty: the inventory must stay")
	}

	if err := env.Fleet.StartAPIServer(context.Background(), "dev-3"); err != nil {
		t.Fatal(err)
	}
	restarted = true
	env.WaitApp(t, "outage-down", 3*time.Minute, "Synced at the new commit after the outage", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == next
	})
}
