package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// apiApp is an Application body for the API.
func apiApp(name, project string, labels map[string]string, spec flotillav1.ApplicationSpec) *flotillav1.Application {
	spec.Project = project
	return &flotillav1.Application{
		TypeMeta:   metav1.TypeMeta{APIVersion: flotillav1.GroupVersion.String(), Kind: "Application"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       spec,
	}
}

// createAPIApp creates an Application through the API, deleted at the end,
// and returns once the server's informers see it, so that what a test asks
// of it next is answered by the Application and not by its absence.
func createAPIApp(t *testing.T, token string, app *flotillav1.Application) {
	t.Helper()
	var got flotillav1.Application
	expect(t, token, http.MethodPost, "/api/v1/applications", app, http.StatusCreated, &got)
	if got.Namespace != flotillav1.DefaultNamespace || got.UID == "" {
		t.Fatalf("created %s/%s uid %q: want it in %s with a uid", got.Namespace, got.Name, got.UID, flotillav1.DefaultNamespace)
	}
	t.Cleanup(func() {
		_ = env.Client.Delete(context.Background(), &flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Namespace: got.Namespace, Name: got.Name}})
	})
	eventually(t, "the server sees application "+got.Name, func() bool {
		code, _ := call(t, token, http.MethodGet, "/api/v1/applications/"+got.Namespace+"/"+got.Name, nil)
		return code == http.StatusOK
	})
}

// listNames lists applications with query and returns their names and the
// envelope.
func listNames(t *testing.T, token, query string) ([]string, wire.List[flotillav1.Application]) {
	t.Helper()
	var l wire.List[flotillav1.Application]
	expect(t, token, http.MethodGet, "/api/v1/applications?"+query, nil, http.StatusOK, &l)
	var names []string
	for _, a := range l.Items {
		names = append(names, a.Name)
	}
	return names, l
}

// eventually polls until cond holds: the server's informers see a write
// within moments.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: not within 20s", what)
}

// TestAPIApplications: create, list with every filter and pages, get,
// update and delete with a deletion policy, through the API; writes reach
// the hub and reads come back from the server's informers.
func TestAPIApplications(t *testing.T) {
	tok := adminToken(t)
	ns := harness.TestNamespace(t)
	spec := func(cluster string) flotillav1.ApplicationSpec {
		s := harness.PlainApp("https://git.invalid/fleet.git", "app", ns)
		s.Destination.Cluster = cluster
		s.SyncPolicy.Automated = nil
		return s
	}
	createAPIApp(t, tok, apiApp("apilist-web", "", map[string]string{"tier": "front", flotillav1.FleetLabel: "shop"}, spec("dev-1")))
	createAPIApp(t, tok, apiApp("apilist-db", "", map[string]string{"tier": "back"}, spec("dev-2")))
	createAPIApp(t, tok, apiApp("apilist-cache", "", map[string]string{"tier": "back"}, spec("")))

	eventually(t, "the list shows the three", func() bool {
		names, _ := listNames(t, tok, "search=apilist-")
		return len(names) == 3
	})
	for query, want := range map[string]string{
		"search=apilist-&cluster=dev-1":                         "apilist-web",
		"search=apilist-&cluster=in-cluster":                    "apilist-cache",
		"search=apilist-&fleet=shop":                            "apilist-web",
		"search=apilist-&selector=tier%3Dback":                  "apilist-cache,apilist-db",
		"search=APILIST-D":                                      "apilist-db",
		"search=apilist-&namespace=elsewhere":                   "",
		"search=apilist-&selector=tier%3Dfront&health=Degraded": "",
	} {
		names, l := listNames(t, tok, query)
		if got := strings.Join(names, ","); got != want || l.Total != len(names) {
			t.Errorf("%s: %q (total %d), want %q", query, got, l.Total, want)
		}
	}

	// Pages of one, in namespace/name order, each with the total.
	var paged []string
	next := ""
	for range 5 {
		names, l := listNames(t, tok, "search=apilist-&limit=1&continue="+next)
		if l.Total != 3 {
			t.Errorf("page total %d, want 3", l.Total)
		}
		paged = append(paged, names...)
		if next = l.Continue; next == "" {
			break
		}
	}
	if got := strings.Join(paged, ","); got != "apilist-cache,apilist-db,apilist-web" {
		t.Errorf("pages gave %s", got)
	}
	expect(t, tok, http.MethodGet, "/api/v1/applications?limit=5000", nil, http.StatusBadRequest, nil)

	// Get, then update labels and spec (again when the controller wrote
	// in between: the update is conditional on the version read).
	var web flotillav1.Application
	for i := 0; ; i++ {
		expect(t, tok, http.MethodGet, "/api/v1/applications/flotilla-system/apilist-web", nil, http.StatusOK, &web)
		if web.Kind != "Application" || len(web.ManagedFields) > 0 {
			t.Errorf("get: kind %q, managedFields %d: want the object as kubectl shows it, without managedFields", web.Kind, len(web.ManagedFields))
		}
		web.Labels["tier"] = "edge"
		web.Spec.Source.Path = "other"
		status, body := call(t, tok, http.MethodPut, "/api/v1/applications/flotilla-system/apilist-web", &web)
		if status == http.StatusOK {
			break
		}
		if status != http.StatusConflict || i == 10 {
			t.Fatalf("update: %d %s", status, body)
		}
		time.Sleep(500 * time.Millisecond)
	}
	hub := &flotillav1.Application{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: "apilist-web"}, hub); err != nil {
		t.Fatal(err)
	}
	if hub.Labels["tier"] != "edge" || hub.Spec.Source.Path != "other" {
		t.Errorf("the update did not reach the hub: labels %v path %q", hub.Labels, hub.Spec.Source.Path)
	}
	// A stale resourceVersion is a Conflict.
	expect(t, tok, http.MethodPut, "/api/v1/applications/flotilla-system/apilist-web", &web, http.StatusConflict, nil)

	// Delete with a deletion policy: the policy is set first.
	expect(t, tok, http.MethodDelete, "/api/v1/applications/flotilla-system/apilist-db?deletionPolicy=Sideways", nil, http.StatusBadRequest, nil)
	var deleted flotillav1.Application
	expect(t, tok, http.MethodDelete, "/api/v1/applications/flotilla-system/apilist-db?deletionPolicy=Orphan", nil, http.StatusOK, &deleted)
	if deleted.Spec.DeletionPolicy != flotillav1.DeletionPolicyOrphan {
		t.Errorf("deleted with policy %q, want Orphan", deleted.Spec.DeletionPolicy)
	}
	env.WaitGone(t, "apilist-db", time.Minute)
	expect(t, tok, http.MethodGet, "/api/v1/applications/flotilla-system/apilist-db", nil, http.StatusNotFound, nil)

	// Bad bodies.
	expect(t, tok, http.MethodPost, "/api/v1/applications", map[string]any{"metadata": map[string]any{"name": "x"}, "spek": 1}, http.StatusBadRequest, nil)
	other := apiApp("apilist-elsewhere", "", nil, spec(""))
	other.Namespace = "kube-system"
	expect(t, tok, http.MethodPost, "/api/v1/applications", other, http.StatusBadRequest, nil)
	expect(t, tok, http.MethodPost, "/api/v1/applications", apiApp("apilist-web", "", nil, spec("")), http.StatusConflict, nil)
}
