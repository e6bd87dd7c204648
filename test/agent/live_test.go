package agent

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cluster"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/server/live"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// TestLiveViewsOfAgentCluster: the server's live views of an Application
// on an agent-mode cluster, which the hub cannot reach. The tree is the
// inventory with the sync and health its agent reported; the live
// manifest, diff, an object's events and a Pod's log say the cluster is in
// agent mode, rather than failing on the missing credential.
func TestLiveViewsOfAgentCluster(t *testing.T) {
	startAgent(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "livecheck")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	rev := repo.Commit("main", configMapWith("live"))
	create(t, app("livecheck", srv.URL("livecheck"), "agent-live", edge))
	var a *flotillav1.Application
	eventually(t, 2*time.Minute, "livecheck is Synced with its health reported", func(ctx context.Context) bool {
		a = hubApp(ctx, "livecheck")
		return syncedAt(a, rev) && len(a.Status.Resources) > 0 && a.Status.Resources[0].Health != ""
	})

	r := live.New(live.Options{Hub: env.Client, Clusters: cluster.NewRegistry(env.Client, env.Config, cluster.DefaultOptions())})
	ctx := context.Background()
	tree, err := r.Tree(ctx, a)
	if err != nil {
		t.Fatalf("tree: %v", err)
	}
	if len(tree.Nodes) != len(a.Status.Resources) {
		t.Fatalf("the tree has %d nodes, want the %d objects the agent reported", len(tree.Nodes), len(a.Status.Resources))
	}
	for i, n := range tree.Nodes {
		res := a.Status.Resources[i]
		if n.Kind != res.Kind || n.Name != res.Name || !n.Managed || n.Health == nil || n.Health.Status != string(res.Health) {
			t.Errorf("node %d: %+v, want %s %s with health %s", i, n, res.Kind, res.Name, res.Health)
		}
	}
	cm := wire.ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: "agent-live", Name: "greeting"}
	_, resErr := r.Resource(ctx, a, cm)
	_, diffErr := r.Diff(ctx, a, "")
	_, evErr := r.Events(ctx, a, &cm)
	logErr := r.Logs(ctx, a, live.LogOptions{Namespace: "agent-live", Pod: "p"}, io.Discard)
	for what, err := range map[string]error{"resource": resErr, "diff": diffErr, "events of an object": evErr, "logs": logErr} {
		if !errors.Is(err, live.ErrAgentMode) || !strings.Contains(err.Error(), "cluster "+edge+" is in agent mode") {
			t.Errorf("%s: %v, want that cluster %s is in agent mode", what, err, edge)
		}
	}
	if _, err := r.Events(ctx, a, nil); err != nil {
		t.Errorf("the Application's own events, from the hub: %v", err)
	}
}
