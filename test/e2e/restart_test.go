package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// manyConfigMaps is a plain folder of n ConfigMaps.
func manyConfigMaps(n int) map[string]string {
	files := map[string]string{}
	for i := range n {
		files[fmt.Sprintf("many/cm-%03d.yaml", i)] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%03d\ndata:\n  index: %q\n", i, fmt.Sprint(i))
	}
	return files
}

// TestControllerRestartMidSync kills the controller (SIGKILL) while a sync
// of 200 objects is under way and starts it again: the sync ends with every
// object applied once, an inventory without duplicates, and one history entry.
func TestControllerRestartMidSync(t *testing.T) {
	const n = 200
	ns := harness.TestNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	commit := repo.Commit("main", manyConfigMaps(n))

	newApp(t, "restart", flotillav1.ApplicationSpec{
		Source:      flotillav1.ApplicationSource{RepoURL: srv.URL("fleet"), TargetRevision: "main", Path: "many"},
		Destination: flotillav1.Destination{Namespace: ns},
		SyncPolicy: flotillav1.SyncPolicy{
			Automated:       &flotillav1.AutomatedSync{Prune: true},
			CreateNamespace: true,
			Interval:        harness.Interval(time.Minute),
		},
	})
	count := func() int {
		var list corev1.ConfigMapList
		if err := env.Client.List(context.Background(), &list, client.InNamespace(ns), client.HasLabels{flotillav1.TrackingLabel}); err != nil {
			return 0
		}
		return len(list.Items)
	}
	var atKill int
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		atKill = count()
		return atKill >= 10, nil
	})
	if err != nil {
		t.Fatalf("the sync never started: %v\n%s", err, env.ControllerLogTail(40))
	}
	env.KillController()
	atKill = count()
	if atKill >= n {
		t.Fatalf("the sync finished (%d objects) before the controller was killed; the test did not interrupt it", atKill)
	}
	t.Logf("controller killed with %d of %d ConfigMaps applied", atKill, n)
	if err := env.StartController(); err != nil {
		t.Fatal(err)
	}

	app := env.WaitApp(t, "restart", 2*time.Minute, "Synced after the restart", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == commit
	})
	if got := count(); got != n {
		t.Errorf("%d ConfigMaps in the cluster, want %d", got, n)
	}
	seen := map[string]bool{}
	for _, r := range app.Status.Resources {
		id := r.Kind + "/" + r.Namespace + "/" + r.Name
		if seen[id] {
			t.Errorf("inventory lists %s twice", id)
		}
		seen[id] = true
	}
	if len(seen) != n+1 { // the ConfigMaps and the Namespace
		t.Errorf("inventory has %d objects, want %d", len(seen), n+1)
	}
	if len(app.Status.History) != 1 {
		t.Errorf("history should have one entry, got %+v", app.Status.History)
	}
	if op := app.Status.Operation; op == nil || op.Phase != flotillav1.OperationSucceeded {
		t.Errorf("operation should have succeeded: %+v", op)
	}
}
