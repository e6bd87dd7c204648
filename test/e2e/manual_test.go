package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestManualSync: without automated sync an Application only reports what
// differs; the sync annotation applies the branch head, or a given revision.
// The sync is summarized in an Event and counted in the controller's metrics.
func TestManualSync(t *testing.T) {
	ns := harness.TestNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	first := repo.Commit("main", map[string]string{"app/cm.yaml": harness.GoodConfigMap})

	spec := harness.PlainApp(srv.URL("fleet"), "app", ns)
	spec.SyncPolicy.Automated = nil
	newApp(t, "manual", spec)
	app := env.WaitApp(t, "manual", 2*time.Minute, "OutOfSync before any sync", func(a *flotillav1.Application) bool {
		return a.Status.Sync.Status == flotillav1.SyncStatusOutOfSync && a.Status.Sync.Revision == first
	})
	assertAbsent(t, ns, "good")
	if app.Status.Operation != nil {
		t.Errorf("no operation should have run: %+v", app.Status.Operation)
	}

	annotate(t, "manual", map[string]string{flotillav1.SyncAnnotation: "1"})
	env.WaitApp(t, "manual", time.Minute, "Synced after the sync request", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.LastHandledSync == "1" && a.Status.Sync.Revision == first
	})

	second := repo.Commit("main", map[string]string{"app/cm.yaml": strings.Replace(harness.GoodConfigMap, "k: v", "k: v2", 1)})
	env.WaitApp(t, "manual", time.Minute, "OutOfSync at the new commit", func(a *flotillav1.Application) bool {
		return a.Status.Sync.Status == flotillav1.SyncStatusOutOfSync && a.Status.Sync.Revision == second
	})
	if v := env.ConfigMapData(t, ns, "good"); v != "v" {
		t.Errorf("without automated sync the new commit must not be applied, got k=%q", v)
	}

	annotate(t, "manual", map[string]string{flotillav1.SyncAnnotation: "2"})
	env.WaitApp(t, "manual", time.Minute, "synced to the head", func(a *flotillav1.Application) bool {
		return a.Status.LastHandledSync == "2" && a.Status.Operation != nil &&
			a.Status.Operation.Phase == flotillav1.OperationSucceeded && a.Status.Operation.Revision == second
	})
	if v := env.ConfigMapData(t, ns, "good"); v != "v2" {
		t.Errorf("after the sync request k=%q, want v2", v)
	}

	annotate(t, "manual", map[string]string{flotillav1.SyncAnnotation: "3", flotillav1.SyncRevisionAnnotation: first})
	app = env.WaitApp(t, "manual", time.Minute, "synced to the first commit", func(a *flotillav1.Application) bool {
		return a.Status.LastHandledSync == "3" && a.Status.Operation != nil && a.Status.Operation.Revision == first
	})
	if v := env.ConfigMapData(t, ns, "good"); v != "v" {
		t.Errorf("after the sync to the first commit k=%q, want v", v)
	}
	if n := len(app.Status.History); n != 3 {
		t.Errorf("history should hold three deployments, got %+v", app.Status.History)
	}

	assertSyncEvent(t, app)
	assertMetrics(t)
}

func annotate(t *testing.T, name string, annotations map[string]string) {
	t.Helper()
	app := &flotillav1.Application{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: name}, app); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(app.DeepCopy())
	if app.Annotations == nil {
		app.Annotations = map[string]string{}
	}
	for k, v := range annotations {
		app.Annotations[k] = v
	}
	if err := env.Client.Patch(context.Background(), app, patch); err != nil {
		t.Fatal(err)
	}
}

// assertSyncEvent finds the Event that summarizes a sync's ChangeSet.
func assertSyncEvent(t *testing.T, app *flotillav1.Application) {
	t.Helper()
	var events eventsv1.EventList
	if err := env.Client.List(context.Background(), &events, client.InNamespace(app.Namespace)); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if e.Regarding.Name == app.Name && e.Reason == flotillav1.ReasonSucceeded && strings.Contains(e.Note, "ConfigMap/") {
			return
		}
	}
	t.Errorf("no Succeeded Event naming the applied ConfigMap for %s among %d events", app.Name, len(events.Items))
}

// assertMetrics scrapes the controller's /metrics for the sync metrics.
func assertMetrics(t *testing.T) {
	t.Helper()
	resp, err := http.Get("http://" + env.Metrics + "/metrics")
	if err != nil {
		t.Fatalf("scrape metrics: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`flotilla_sync_duration_seconds_bucket{cluster="in-cluster"`,
		`flotilla_syncs_total{cluster="in-cluster",result="succeeded"}`,
		`flotilla_objects_total{action="Created",cluster="in-cluster"}`,
		`flotilla_cluster_requests_total{cluster="in-cluster",code="200",method="PATCH-dryrun"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
