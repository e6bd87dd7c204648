package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestRollbackWithAutoSync: rolling back to an earlier history id while
// automated sync is on applies the old revision and stays there, also when
// the branch moves; removing the pin returns to the branch head.
func TestRollbackWithAutoSync(t *testing.T) {
	ns := harness.TestNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	first := repo.Commit("main", harness.ConfigMapWith("one"))
	newApp(t, "rollback", harness.PlainApp(srv.URL("fleet"), "app", ns))
	env.WaitApp(t, "rollback", 2*time.Minute, "Synced at one", func(a *flotillav1.Application) bool { return harness.Synced(a) && a.Status.Sync.Revision == first })
	second := repo.Commit("main", harness.ConfigMapWith("two"))
	app := env.WaitApp(t, "rollback", time.Minute, "Synced at two", func(a *flotillav1.Application) bool { return harness.Synced(a) && a.Status.Sync.Revision == second })
	if len(app.Status.History) != 2 || app.Status.History[0].Revision != first {
		t.Fatalf("history should hold both commits: %+v", app.Status.History)
	}

	annotate(t, "rollback", map[string]string{flotillav1.RollbackAnnotation: strconv.FormatInt(app.Status.History[0].ID, 10)})
	env.WaitApp(t, "rollback", time.Minute, "pinned at one", func(a *flotillav1.Application) bool {
		return a.Status.Pin != nil && a.Status.Pin.Revision == first && a.Status.Sync.Revision == first && harness.Synced(a)
	})
	if v := env.ConfigMapData(t, ns, "good"); v != "one" {
		t.Errorf("after the rollback k=%q, want one", v)
	}
	third := repo.Commit("main", harness.ConfigMapWith("three"))
	time.Sleep(5 * time.Second) // two intervals: automated sync must not move past the pin
	if v := env.ConfigMapData(t, ns, "good"); v != "one" {
		t.Errorf("while pinned, a new commit must not be applied: k=%q", v)
	}

	removeAnnotation(t, "rollback", flotillav1.RollbackAnnotation)
	env.WaitApp(t, "rollback", time.Minute, "back at the branch head", func(a *flotillav1.Application) bool {
		return a.Status.Pin == nil && harness.Synced(a) && a.Status.Sync.Revision == third
	})
	if v := env.ConfigMapData(t, ns, "good"); v != "three" {
		t.Errorf("after unpinning k=%q, want three", v)
	}
}

// TestDependsOn: an Application waits, naming what it waits for, until its
// dependency is Synced and Healthy, then syncs; a cycle is reported.
func TestDependsOn(t *testing.T) {
	ns := harness.TestNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", map[string]string{"app/cm.yaml": harness.GoodConfigMap})

	dependent := harness.PlainApp(srv.URL("fleet"), "app", ns+"-dependent")
	dependent.DependsOn = []flotillav1.DependencyReference{{Name: "dep-base"}}
	newApp(t, "dep-dependent", dependent)
	app := env.WaitApp(t, "dep-dependent", time.Minute, "DependencyNotReady", harness.FailedWith(flotillav1.ReasonDependencyNotReady))
	if msg := harness.ReadyCondition(app).Message; !strings.Contains(msg, "dep-base") {
		t.Errorf("the condition should name the dependency: %s", msg)
	}
	assertAbsent(t, ns+"-dependent", "good")

	newApp(t, "dep-base", harness.PlainApp(srv.URL("fleet"), "app", ns+"-base"))
	env.WaitApp(t, "dep-dependent", 2*time.Minute, "Synced after its dependency", harness.Synced)

	a := harness.PlainApp(srv.URL("fleet"), "app", ns+"-a")
	a.DependsOn = []flotillav1.DependencyReference{{Name: "dep-cycle-b"}}
	b := harness.PlainApp(srv.URL("fleet"), "app", ns+"-b")
	b.DependsOn = []flotillav1.DependencyReference{{Name: "dep-cycle-a"}}
	newApp(t, "dep-cycle-a", a)
	newApp(t, "dep-cycle-b", b)
	app = env.WaitApp(t, "dep-cycle-a", time.Minute, "DependencyCycle", harness.FailedWith(flotillav1.ReasonDependencyCycle))
	if msg := harness.ReadyCondition(app).Message; !strings.Contains(msg, "dep-cycle-a → dep-cycle-b → dep-cycle-a") {
		t.Errorf("the condition should show the cycle: %s", msg)
	}
}

// TestRefresh: the refresh annotation fetches and compares now, long before
// the interval, without applying when automated sync is off.
func TestRefresh(t *testing.T) {
	ns := harness.TestNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	first := repo.Commit("main", harness.ConfigMapWith("one"))
	spec := harness.PlainApp(srv.URL("fleet"), "app", ns)
	spec.SyncPolicy.Automated = nil
	spec.SyncPolicy.Interval = harness.Interval(time.Hour)
	newApp(t, "refresh", spec)
	env.WaitApp(t, "refresh", time.Minute, "compared", func(a *flotillav1.Application) bool { return a.Status.Sync.Revision == first })
	second := repo.Commit("main", harness.ConfigMapWith("two"))
	annotate(t, "refresh", map[string]string{flotillav1.RefreshAnnotation: "now"})
	env.WaitApp(t, "refresh", 30*time.Second, "compared at the new commit", func(a *flotillav1.Application) bool {
		return a.Status.Sync.Revision == second && a.Status.LastHandledRefresh == "now" &&
			a.Status.Sync.Status == flotillav1.SyncStatusOutOfSync
	})
	assertAbsent(t, ns, "good")
}

func removeAnnotation(t *testing.T, name, key string) {
	t.Helper()
	app := &flotillav1.Application{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: name}, app); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(app.DeepCopy())
	delete(app.Annotations, key)
	if err := env.Client.Patch(context.Background(), app, patch); err != nil {
		t.Fatal(err)
	}
}

// TestNewCommitNoticedWithoutWebhook shows that, at the controller's
// defaults, a push to a branch reaches the Applications that follow it
// within the poll interval (one minute), though their own resync interval
// is an hour and no webhook is sent: the branch is polled once for all.
func TestNewCommitNoticedWithoutWebhook(t *testing.T) {
	ns := harness.TestNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	first := repo.Commit("main", harness.ConfigMapWith("one"))
	names := []string{"poll-a", "poll-b", "poll-c"}
	for i, name := range names {
		spec := harness.PlainApp(srv.URL("fleet"), "app", fmt.Sprintf("%s-%d", ns, i))
		spec.SyncPolicy.Interval = harness.Interval(time.Hour)
		newApp(t, name, spec)
	}
	for _, name := range names {
		env.WaitApp(t, name, time.Minute, "synced", func(a *flotillav1.Application) bool {
			return harness.Synced(a) && a.Status.Sync.Revision == first
		})
	}
	second := repo.Commit("main", harness.ConfigMapWith("two"))
	pushed := time.Now()
	for _, name := range names {
		env.WaitApp(t, name, 75*time.Second, "synced at the pushed commit", func(a *flotillav1.Application) bool {
			return harness.Synced(a) && a.Status.Sync.Revision == second
		})
	}
	t.Logf("the push reached %d Applications in %s", len(names), time.Since(pushed).Round(time.Second))
}
