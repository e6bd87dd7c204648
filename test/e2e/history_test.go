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
)

func configMapWith(value string) map[string]string {
	return map[string]string{"app/cm.yaml": strings.Replace(goodConfigMap, "k: v", "k: "+value, 1)}
}

// TestRollbackWithAutoSync: rolling back to an earlier history id while
// automated sync is on applies the old revision and stays there, also when
// the branch moves; removing the pin returns to the branch head.
func TestRollbackWithAutoSync(t *testing.T) {
	ns := testNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	first := repo.Commit("main", configMapWith("one"))
	newApp(t, "rollback", plainApp(srv.URL("fleet"), "app", ns))
	waitApp(t, "rollback", 2*time.Minute, "Synced at one", func(a *flotillav1.Application) bool { return synced(a) && a.Status.Sync.Revision == first })
	second := repo.Commit("main", configMapWith("two"))
	app := waitApp(t, "rollback", time.Minute, "Synced at two", func(a *flotillav1.Application) bool { return synced(a) && a.Status.Sync.Revision == second })
	if len(app.Status.History) != 2 || app.Status.History[0].Revision != first {
		t.Fatalf("history should hold both commits: %+v", app.Status.History)
	}

	annotate(t, "rollback", map[string]string{flotillav1.RollbackAnnotation: strconv.FormatInt(app.Status.History[0].ID, 10)})
	waitApp(t, "rollback", time.Minute, "pinned at one", func(a *flotillav1.Application) bool {
		return a.Status.Pin != nil && a.Status.Pin.Revision == first && a.Status.Sync.Revision == first && synced(a)
	})
	if v := configMapData(t, ns, "good"); v != "one" {
		t.Errorf("after the rollback k=%q, want one", v)
	}
	third := repo.Commit("main", configMapWith("three"))
	time.Sleep(5 * time.Second) // two intervals: automated sync must not move past the pin
	if v := configMapData(t, ns, "good"); v != "one" {
		t.Errorf("while pinned, a new commit must not be applied: k=%q", v)
	}

	removeAnnotation(t, "rollback", flotillav1.RollbackAnnotation)
	waitApp(t, "rollback", time.Minute, "back at the branch head", func(a *flotillav1.Application) bool {
		return a.Status.Pin == nil && synced(a) && a.Status.Sync.Revision == third
	})
	if v := configMapData(t, ns, "good"); v != "three" {
		t.Errorf("after unpinning k=%q, want three", v)
	}
}

// TestDependsOn: an Application waits, naming what it waits for, until its
// dependency is Synced and Healthy, then syncs; a cycle is reported.
func TestDependsOn(t *testing.T) {
	ns := testNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", map[string]string{"app/cm.yaml": goodConfigMap})

	dependent := plainApp(srv.URL("fleet"), "app", ns+"-dependent")
	dependent.DependsOn = []flotillav1.DependencyReference{{Name: "dep-base"}}
	newApp(t, "dep-dependent", dependent)
	app := waitApp(t, "dep-dependent", time.Minute, "DependencyNotReady", failedWith(flotillav1.ReasonDependencyNotReady))
	if msg := readyCondition(app).Message; !strings.Contains(msg, "dep-base") {
		t.Errorf("the condition should name the dependency: %s", msg)
	}
	assertAbsent(t, ns+"-dependent", "good")

	newApp(t, "dep-base", plainApp(srv.URL("fleet"), "app", ns+"-base"))
	waitApp(t, "dep-dependent", 2*time.Minute, "Synced after its dependency", synced)

	a := plainApp(srv.URL("fleet"), "app", ns+"-a")
	a.DependsOn = []flotillav1.DependencyReference{{Name: "dep-cycle-b"}}
	b := plainApp(srv.URL("fleet"), "app", ns+"-b")
	b.DependsOn = []flotillav1.DependencyReference{{Name: "dep-cycle-a"}}
	newApp(t, "dep-cycle-a", a)
	newApp(t, "dep-cycle-b", b)
	app = waitApp(t, "dep-cycle-a", time.Minute, "DependencyCycle", failedWith(flotillav1.ReasonDependencyCycle))
	if msg := readyCondition(app).Message; !strings.Contains(msg, "dep-cycle-a → dep-cycle-b → dep-cycle-a") {
		t.Errorf("the condition should show the cycle: %s", msg)
	}
}

// TestRefresh: the refresh annotation fetches and compares now, long before
// the interval, without applying when automated sync is off.
func TestRefresh(t *testing.T) {
	ns := testNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	first := repo.Commit("main", configMapWith("one"))
	spec := plainApp(srv.URL("fleet"), "app", ns)
	spec.SyncPolicy.Automated = nil
	spec.SyncPolicy.Interval = interval(time.Hour)
	newApp(t, "refresh", spec)
	waitApp(t, "refresh", time.Minute, "compared", func(a *flotillav1.Application) bool { return a.Status.Sync.Revision == first })
	second := repo.Commit("main", configMapWith("two"))
	annotate(t, "refresh", map[string]string{flotillav1.RefreshAnnotation: "now"})
	waitApp(t, "refresh", 30*time.Second, "compared at the new commit", func(a *flotillav1.Application) bool {
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
	ns := testNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	first := repo.Commit("main", configMapWith("one"))
	names := []string{"poll-a", "poll-b", "poll-c"}
	for i, name := range names {
		spec := plainApp(srv.URL("fleet"), "app", fmt.Sprintf("%s-%d", ns, i))
		spec.SyncPolicy.Interval = interval(time.Hour)
		newApp(t, name, spec)
	}
	for _, name := range names {
		waitApp(t, name, time.Minute, "synced", func(a *flotillav1.Application) bool {
			return synced(a) && a.Status.Sync.Revision == first
		})
	}
	second := repo.Commit("main", configMapWith("two"))
	pushed := time.Now()
	for _, name := range names {
		waitApp(t, name, 75*time.Second, "synced at the pushed commit", func(a *flotillav1.Application) bool {
			return synced(a) && a.Status.Sync.Revision == second
		})
	}
	t.Logf("the push reached %d Applications in %s", len(names), time.Since(pushed).Round(time.Second))
}
