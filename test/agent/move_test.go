package agent

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/flotilla-dev/flotilla/internal/gitserver"
)

// TestMoveBetweenPushAndAgent: an Application moved from a push cluster to
// an agent cluster has its objects pruned in the push cluster by the hub;
// moved back, its objects in the agent cluster are pruned by the agent.
// Each time the hub's status names the new cluster once it is synced there.
func TestMoveBetweenPushAndAgent(t *testing.T) {
	startAgent(t)
	registerHubPush(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "mover")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	rev := repo.Commit("main", configMapWith("moving"))
	const ns = "agent-move"
	create(t, app("mover", srv.URL("mover"), ns, "hubpush"))
	inHub := func(ctx context.Context) error {
		var cm corev1.ConfigMap
		return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "greeting"}, &cm)
	}
	at := func(ctx context.Context, cluster string) bool {
		a := hubApp(ctx, "mover")
		return syncedAt(a, rev) && a.Status.Cluster == cluster
	}
	eventually(t, 2*time.Minute, "mover is Synced on hubpush", func(ctx context.Context) bool {
		return at(ctx, "hubpush") && inHub(ctx) == nil
	})

	moveTo(t, edge)
	eventually(t, 2*time.Minute, "mover, moved to the agent's cluster, is Synced there", func(ctx context.Context) bool {
		return at(ctx, edge) && greeting(ctx, ns) == "moving"
	})
	eventually(t, time.Minute, "the hub prunes mover's objects in hubpush", func(ctx context.Context) bool {
		return apierrors.IsNotFound(inHub(ctx))
	})

	moveTo(t, "hubpush")
	eventually(t, 2*time.Minute, "mover, moved back, is Synced on hubpush", func(ctx context.Context) bool {
		return at(ctx, "hubpush") && inHub(ctx) == nil
	})
	eventually(t, time.Minute, "the agent prunes mover's objects in its cluster", func(ctx context.Context) bool {
		return greeting(ctx, ns) == ""
	})
}

func moveTo(t *testing.T, cluster string) {
	t.Helper()
	ctx := context.Background()
	a := hubApp(ctx, "mover")
	base := a.DeepCopy()
	a.Spec.Destination.Cluster = cluster
	if err := env.Client.Patch(ctx, a, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
}
