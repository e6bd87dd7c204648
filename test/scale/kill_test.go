package scale

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// appsEnv sets how many Applications the controller is killed among: 300
// in `make test`, 1,000 in `make bench` (hack/bench.sh), which has the time.
const appsEnv = "FLOTILLA_SCALE_APPS"

// scaleApps reads appsEnv.
func scaleApps(t *testing.T) int {
	t.Helper()
	v := os.Getenv(appsEnv)
	if v == "" {
		return 300
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 3 || n > 10000 {
		t.Fatalf("%s=%q: want a count from 3 to 10000", appsEnv, v)
	}
	return n
}

// TestControllerKilledMidThousandSyncs creates 1,000 Applications (300 in
// `make test`, see appsEnv), kills the controller (SIGKILL) once a third of
// them are Synced and starts it again. Nothing is lost: every Application
// ends Synced at the commit with its four objects present, and the objects
// applied before the kill are the same objects after it (not deleted and
// created again). Nothing is duplicated: each kind holds exactly one tracked
// object per Application, each inventory lists each object once, and each
// Application has one history entry.
func TestControllerKilledMidThousandSyncs(t *testing.T) {
	apps := scaleApps(t)
	h, err := harness.Start(context.Background(), harness.Options{Bin: flotillaBin, Clusters: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Stop() })
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	commit := repo.Commit("main", harness.ManyApps(apps))

	synced := func(a *flotillav1.Application) bool {
		return a.Status.Sync.Status == flotillav1.SyncStatusSynced && a.Status.Sync.Revision == commit
	}
	harness.CreateApps(t, h, apps, srv.URL("fleet"), 10*time.Minute)
	var atKill int
	err = wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 20*time.Minute, true, func(ctx context.Context) (bool, error) {
		n, err := harness.CountApps(ctx, h, synced)
		atKill = n
		return err == nil && n >= apps/3, nil
	})
	if err != nil {
		t.Fatalf("a third of the Applications never synced: %v\n%s", err, h.ControllerLogTail(40))
	}
	h.KillController()
	before := syncedConfigMaps(t, h, synced)
	if len(before) >= apps {
		t.Fatalf("every Application was Synced before the kill; the test interrupted nothing")
	}
	t.Logf("controller killed with %d of %d Applications Synced (%d read after the kill)", atKill, apps, len(before))
	if err := h.StartController(); err != nil {
		t.Fatal(err)
	}

	harness.WaitApps(t, h, apps, 20*time.Minute, "Synced at the commit after the restart", synced)
	for _, gvk := range harness.AppKinds {
		n, err := harness.CountTracked(context.Background(), h, gvk)
		if err != nil {
			t.Fatal(err)
		}
		if n != apps {
			t.Errorf("%d tracked %s objects, want %d", n, gvk.Kind, apps)
		}
	}
	for name, uid := range before {
		var cm corev1.ConfigMap
		if err := h.Client.Get(context.Background(), types.NamespacedName{Namespace: name, Name: name}, &cm); err != nil {
			t.Errorf("ConfigMap %s applied before the kill: %v", name, err)
			continue
		}
		if cm.UID != uid {
			t.Errorf("ConfigMap %s applied before the kill was deleted and created again", name)
		}
	}
	var list flotillav1.ApplicationList
	if err := h.Client.List(context.Background(), &list, client.InNamespace(flotillav1.DefaultNamespace)); err != nil {
		t.Fatal(err)
	}
	for i := range list.Items {
		checkOnce(t, &list.Items[i])
	}
}

// syncedConfigMaps maps each Application Synced now to the UID of its
// ConfigMap.
func syncedConfigMaps(t *testing.T, h *harness.Hub, synced func(*flotillav1.Application) bool) map[string]types.UID {
	t.Helper()
	var list flotillav1.ApplicationList
	if err := h.Client.List(context.Background(), &list, client.InNamespace(flotillav1.DefaultNamespace)); err != nil {
		t.Fatal(err)
	}
	uids := map[string]types.UID{}
	for i := range list.Items {
		app := &list.Items[i]
		if !synced(app) {
			continue
		}
		var cm corev1.ConfigMap
		if err := h.Client.Get(context.Background(), types.NamespacedName{Namespace: app.Name, Name: app.Name}, &cm); err != nil {
			t.Fatalf("Application %s is Synced but its ConfigMap: %v", app.Name, err)
		}
		uids[app.Name] = cm.UID
	}
	return uids
}

// checkOnce fails unless app's inventory lists each of its objects once (the
// four and the Namespace), its history holds one entry, and its last
// operation succeeded.
func checkOnce(t *testing.T, app *flotillav1.Application) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range app.Status.Resources {
		id := r.Kind + "/" + r.Namespace + "/" + r.Name
		if seen[id] {
			t.Errorf("%s: inventory lists %s twice", app.Name, id)
		}
		seen[id] = true
	}
	if len(seen) != len(harness.AppKinds)+1 {
		t.Errorf("%s: inventory has %d objects, want %d", app.Name, len(seen), len(harness.AppKinds)+1)
	}
	if len(app.Status.History) != 1 {
		t.Errorf("%s: history should have one entry, got %d", app.Name, len(app.Status.History))
	}
	if op := app.Status.Operation; op == nil || op.Phase != flotillav1.OperationSucceeded {
		t.Errorf("%s: the last operation should have succeeded: %+v", app.Name, op)
	}
}
