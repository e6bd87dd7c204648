package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// apiProject creates a Project through the API, deleted at the end.
func apiProject(t *testing.T, token, name string, roles []flotillav1.ProjectRole) {
	t.Helper()
	p := &flotillav1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: flotillav1.ProjectSpec{
			SourceRepos:  []string{"*"},
			Destinations: []flotillav1.ProjectDestination{{Cluster: "*", Namespace: name + "-*"}},
			Roles:        roles,
		},
	}
	expect(t, token, http.MethodPost, "/api/v1/projects", p, http.StatusCreated, nil)
	t.Cleanup(func() {
		_ = env.Client.Delete(context.Background(), &flotillav1.Project{ObjectMeta: metav1.ObjectMeta{Namespace: flotillav1.DefaultNamespace, Name: name}})
	})
}

func idleSpec(ns string) flotillav1.ApplicationSpec {
	s := harness.PlainApp("https://git.invalid/fleet.git", "app", ns)
	s.SyncPolicy.Automated = nil
	s.SyncPolicy.Interval = harness.Interval(time.Hour)
	return s
}

// errorOf decodes an error body.
func errorOf(t *testing.T, body []byte) wire.Error {
	t.Helper()
	var e wire.Error
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("not an error body: %s", body)
	}
	return e
}

// TestAPIProjectRole: a user whose group has a Project role sees only that
// Project's Applications, in lists and in the stream; an Application of
// another Project answers exactly as a missing one (404); an action the
// role lacks on a visible Application is 403; no token is 401.
func TestAPIProjectRole(t *testing.T) {
	admin := adminToken(t)
	apiProject(t, admin, "apirbac-a", []flotillav1.ProjectRole{{Name: "dev", Groups: []string{"apirbac-team-a"},
		Policies: []string{"applications:get", "applications:sync"}}})
	apiProject(t, admin, "apirbac-b", nil)
	createAPIApp(t, admin, apiApp("apirbac-a1", "apirbac-a", nil, idleSpec("apirbac-a-web")))
	createAPIApp(t, admin, apiApp("apirbac-b1", "apirbac-b", nil, idleSpec("apirbac-b-web")))
	alice := addAccount(t, "apirbac-alice", "apirbac-team-a")
	eventually(t, "the admin sees both", func() bool {
		names, _ := listNames(t, admin, "search=apirbac-")
		return len(names) == 2
	})

	names, l := listNames(t, alice, "search=apirbac-")
	if strings.Join(names, ",") != "apirbac-a1" || l.Total != 1 {
		t.Errorf("alice lists %v (total %d), want apirbac-a1 alone", names, l.Total)
	}
	const apps = "/api/v1/applications/flotilla-system/"
	_, forbiddenBody := call(t, alice, http.MethodGet, apps+"apirbac-b1", nil)
	_, missingBody := call(t, alice, http.MethodGet, apps+"apirbac-nothing", nil)
	fe, me := errorOf(t, forbiddenBody), errorOf(t, missingBody)
	if fe.Code != wire.CodeNotFound || strings.Replace(fe.Message, "apirbac-b1", "X", 1) != strings.Replace(me.Message, "apirbac-nothing", "X", 1) {
		t.Errorf("another Project's Application %+v must answer as a missing one %+v", fe, me)
	}
	for _, c := range []struct {
		method, path string
		body         any
		want         int
	}{
		{http.MethodGet, apps + "apirbac-a1", nil, http.StatusOK},
		{http.MethodGet, apps + "apirbac-b1/history", nil, http.StatusNotFound},
		{http.MethodPost, apps + "apirbac-a1/sync", wire.SyncRequest{}, http.StatusOK},
		{http.MethodPost, apps + "apirbac-b1/sync", wire.SyncRequest{}, http.StatusNotFound},
		{http.MethodPost, apps + "apirbac-a1/rollback", wire.RollbackRequest{}, http.StatusForbidden},
		{http.MethodDelete, apps + "apirbac-a1", nil, http.StatusForbidden},
		{http.MethodDelete, apps + "apirbac-b1", nil, http.StatusNotFound},
		{http.MethodPost, "/api/v1/applications", apiApp("apirbac-a2", "apirbac-a", nil, idleSpec("apirbac-a-x")), http.StatusForbidden},
		{http.MethodGet, "/api/v1/clusters/flotilla-system/dev-1", nil, http.StatusNotFound},
		{http.MethodDelete, "/api/v1/clusters/flotilla-system/dev-1", nil, http.StatusNotFound},
		{http.MethodGet, "/api/v1/projects/flotilla-system/apirbac-b", nil, http.StatusNotFound},
	} {
		if status, body := call(t, alice, c.method, c.path, c.body); status != c.want {
			t.Errorf("alice %s %s: %d, want %d: %s", c.method, c.path, status, c.want, body)
		}
	}
	var clusters wire.List[flotillav1.Cluster]
	expect(t, alice, http.MethodGet, "/api/v1/clusters", nil, http.StatusOK, &clusters)
	if clusters.Total != 0 || len(clusters.Items) != 0 {
		t.Errorf("alice may not get clusters but lists %d", clusters.Total)
	}
	for _, tok := range []string{"", "not-a-token", alice + "x"} {
		if status, _ := call(t, tok, http.MethodGet, "/api/v1/applications", nil); status != http.StatusUnauthorized {
			t.Errorf("token %.10q...: %d, want 401", tok, status)
		}
	}
	assertProjectStream(t, admin, alice)
}

// assertProjectStream: alice's stream starts with her Project's
// Applications only and carries changes of hers only; after a reconnect
// with Last-Event-ID she gets what she missed, without the initial state;
// an id no longer kept gets RESYNC and the initial state again.
func assertProjectStream(t *testing.T, admin, alice string) {
	t.Helper()
	st := openStream(t, alice, "kinds=applications&search=apirbac-", "")
	if ev := st.next(t, "", 10*time.Second); ev.event != wire.StreamAdded || objectName(ev) != "apirbac-a1" {
		t.Fatalf("first event %s %s, want ADDED apirbac-a1", ev.event, objectName(ev))
	}
	adminStream := openStream(t, admin, "kinds=applications&search=apirbac-", "")
	createAPIApp(t, admin, apiApp("apirbac-b2", "apirbac-b", nil, idleSpec("apirbac-b-web")))
	createAPIApp(t, admin, apiApp("apirbac-a2", "apirbac-a", nil, idleSpec("apirbac-a-web")))
	adminStream.next(t, "apirbac-b2", 20*time.Second)
	if ev := st.next(t, "apirbac-a2", 20*time.Second); ev.event != wire.StreamAdded {
		t.Fatalf("apirbac-a2: %s, want ADDED", ev.event)
	}
	for _, ev := range append(st.seen, st.drain(2*time.Second)...) {
		if strings.HasPrefix(objectName(ev), "apirbac-b") {
			t.Errorf("alice's stream carried %s %s", ev.event, objectName(ev))
		}
	}
	last := st.last()
	st.close()

	createAPIApp(t, admin, apiApp("apirbac-a3", "apirbac-a", nil, idleSpec("apirbac-a-web")))
	adminStream.next(t, "apirbac-a3", 20*time.Second)
	resumed := openStream(t, alice, "kinds=applications&search=apirbac-", last)
	if ev := resumed.next(t, "apirbac-a3", 10*time.Second); ev.event != wire.StreamAdded || ev.id == "" {
		t.Errorf("after resuming from %s: %s (id %q), want ADDED apirbac-a3 with an id", last, ev.event, ev.id)
	}
	for _, ev := range resumed.seen {
		if ev.event == wire.StreamAdded && objectName(ev) == "apirbac-a1" {
			t.Errorf("a resumed stream sent the initial state again")
		}
	}
	resumed.close()

	stale := openStream(t, alice, "kinds=applications&search=apirbac-", "1")
	if ev := stale.next(t, "", 10*time.Second); ev.event != wire.StreamResync {
		t.Errorf("an id no longer kept: %s, want RESYNC", ev.event)
	}
	if ev := stale.next(t, "", 10*time.Second); ev.event != wire.StreamAdded || objectName(ev) != "apirbac-a1" {
		t.Errorf("after RESYNC: %s %s, want the initial state from apirbac-a1", ev.event, objectName(ev))
	}
}
