package e2e

import (
	"context"
	"testing"
	"time"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
)

// TestClusterOutage: with one cluster's API server stopped, its Application
// says the cluster is unavailable and keeps its inventory, while the other
// cluster syncs a new commit; once the API server is back the Application
// catches up with no manual step.
func TestClusterOutage(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", configMapWith("one"))
	registerCluster(t, "out-up", "dev-2", nil)
	registerCluster(t, "out-down", "dev-3", nil)
	ns := testNamespace(t)
	for name, cluster := range map[string]string{"outage-up": "out-up", "outage-down": "out-down"} {
		spec := plainApp(srv.URL("fleet"), "app", ns)
		spec.Destination.Cluster = cluster
		newApp(t, name, spec)
		waitApp(t, name, 2*time.Minute, "Synced", synced)
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
	next := repo.Commit("main", configMapWith("two"))
	waitApp(t, "outage-up", time.Minute, "Synced at the new commit", func(a *flotillav1.Application) bool {
		return synced(a) && a.Status.Sync.Revision == next
	})
	app := waitApp(t, "outage-down", time.Minute, "ClusterUnavailable", failedWith(flotillav1.ReasonClusterUnavailable))
	t.Logf("%s", readyCondition(app).Message)
	if len(app.Status.Resources) == 0 {
		t.Errorf("an unreachable cluster is unknown, not empty: the inventory must stay")
	}

	if err := env.Fleet.StartAPIServer(context.Background(), "dev-3"); err != nil {
		t.Fatal(err)
	}
	restarted = true
	waitApp(t, "outage-down", 3*time.Minute, "Synced at the new commit after the outage", func(a *flotillav1.Application) bool {
		return synced(a) && a.Status.Sync.Revision == next
	})
}
