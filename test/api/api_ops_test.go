package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
	"github.com/flotilla-dev/flotilla/test/harness"
)

const extraConfigMap = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  k: x\n"

// TestAPISyncRefreshRollback: sync (to a revision, with prune off and on),
// refresh and rollback through the API reach the controller: the
// Application really syncs, compares and pins; history lists the syncs.
func TestAPISyncRefreshRollback(t *testing.T) {
	tok := adminToken(t)
	ns := harness.TestNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	first := repo.Commit("main", map[string]string{"app/cm.yaml": harness.GoodConfigMap, "app/extra.yaml": extraConfigMap})
	spec := harness.PlainApp(srv.URL("fleet"), "app", ns)
	spec.SyncPolicy.Automated = nil
	spec.SyncPolicy.Interval = harness.Interval(time.Hour)
	createAPIApp(t, tok, apiApp("apiops", "", nil, spec))
	const path = "/api/v1/applications/flotilla-system/apiops"
	env.WaitApp(t, "apiops", time.Minute, "compared", func(a *flotillav1.Application) bool { return a.Status.Sync.Revision == first })

	expect(t, tok, http.MethodPost, path+"/sync", wire.SyncRequest{}, http.StatusOK, nil)
	env.WaitApp(t, "apiops", time.Minute, "synced by the API", harness.Synced)
	if v := env.ConfigMapData(t, ns, "good"); v != "v" {
		t.Fatalf("k=%q after the sync, want v", v)
	}

	// A commit that drops extra: a sync with prune off keeps it, one with
	// prune on removes it.
	second := repo.Commit("main", harness.ConfigMapWith("two"))
	expect(t, tok, http.MethodPost, path+"/refresh", nil, http.StatusOK, nil)
	noPrune := false
	var app flotillav1.Application
	expect(t, tok, http.MethodPost, path+"/sync", wire.SyncRequest{Prune: &noPrune}, http.StatusOK, &app)
	if app.Annotations[flotillav1.SyncPruneAnnotation] != "false" {
		t.Errorf("sync with prune off should set %s=false: %v", flotillav1.SyncPruneAnnotation, app.Annotations)
	}
	env.WaitApp(t, "apiops", time.Minute, "synced at two without prune", func(a *flotillav1.Application) bool {
		return a.Status.LastHandledSync == app.Annotations[flotillav1.SyncAnnotation] && a.Status.Operation != nil &&
			a.Status.Operation.Phase == flotillav1.OperationSucceeded && a.Status.Operation.Revision == second
	})
	if v := env.ConfigMapData(t, ns, "good"); v != "two" {
		t.Errorf("k=%q after the sync to two, want two", v)
	}
	if !env.ConfigMapExists(t.Context(), ns, "extra") {
		t.Errorf("a sync with prune off removed extra")
	}
	prune := true
	expect(t, tok, http.MethodPost, path+"/sync", wire.SyncRequest{Prune: &prune}, http.StatusOK, &app)
	env.WaitApp(t, "apiops", time.Minute, "synced with prune", func(a *flotillav1.Application) bool {
		return a.Status.LastHandledSync == app.Annotations[flotillav1.SyncAnnotation] && a.Status.Operation != nil &&
			a.Status.Operation.Phase == flotillav1.OperationSucceeded
	})
	harness.WaitConfigMapGone(t, env.Client, ns, "extra")

	// A sync to a given revision: applied, though the branch moved on.
	expect(t, tok, http.MethodPost, path+"/sync", wire.SyncRequest{Revision: first}, http.StatusOK, &app)
	env.WaitApp(t, "apiops", time.Minute, "the sync to the first commit handled", func(a *flotillav1.Application) bool {
		return a.Status.LastHandledSync == app.Annotations[flotillav1.SyncAnnotation]
	})
	eventually(t, "the first commit applied", func() bool { return env.ConfigMapData(t, ns, "good") == "v" })

	// Refresh: a new commit is compared at once.
	third := repo.Commit("main", harness.ConfigMapWith("three"))
	var refreshed flotillav1.Application
	expect(t, tok, http.MethodPost, path+"/refresh", nil, http.StatusOK, &refreshed)
	env.WaitApp(t, "apiops", 30*time.Second, "compared at the third commit", func(a *flotillav1.Application) bool {
		return a.Status.LastHandledRefresh == refreshed.Annotations[flotillav1.RefreshAnnotation] && a.Status.Sync.Revision == third
	})

	assertAPIHistoryAndRollback(t, tok, path, ns, first, second)
}

func assertAPIHistoryAndRollback(t *testing.T, tok, path, ns, first, second string) {
	t.Helper()
	var history []wire.HistoryEntry
	eventually(t, "history ends with the sync to the first commit", func() bool {
		expect(t, tok, http.MethodGet, path+"/history", nil, http.StatusOK, &history)
		return len(history) >= 3 && history[len(history)-1].Revision == first
	})
	var two *wire.HistoryEntry
	for i, h := range history {
		if h.DeployedAt.IsZero() {
			t.Errorf("history entry %d has no time", h.ID)
		}
		if h.Revision == second {
			two = &history[i]
		}
	}
	if history[0].Revision != first || two == nil {
		t.Fatalf("history %+v: want the first commit, then the second", history)
	}
	expect(t, tok, http.MethodPost, path+"/rollback", wire.RollbackRequest{ID: 999}, http.StatusBadRequest, nil)
	expect(t, tok, http.MethodPost, path+"/rollback", wire.RollbackRequest{ID: two.ID}, http.StatusOK, nil)
	env.WaitApp(t, "apiops", time.Minute, "pinned to the second commit", func(a *flotillav1.Application) bool {
		return a.Status.Pin != nil && a.Status.Pin.HistoryID == two.ID && a.Status.Operation != nil &&
			a.Status.Operation.Phase == flotillav1.OperationSucceeded && a.Status.Operation.Revision == second
	})
	if v := env.ConfigMapData(t, ns, "good"); v != "two" {
		t.Errorf("k=%q after the rollback to the second entry, want two", v)
	}
	expect(t, tok, http.MethodPost, path+"/rollback", wire.RollbackRequest{ID: 0}, http.StatusOK, nil)
	env.WaitApp(t, "apiops", time.Minute, "unpinned", func(a *flotillav1.Application) bool { return a.Status.Pin == nil })
	if _, body := call(t, tok, http.MethodPost, path+"/sync", wire.SyncRequest{Revision: strings.Repeat("a", 300)}); !strings.Contains(string(body), "BadRequest") {
		t.Errorf("a 300-byte revision should be refused: %s", body)
	}
}
