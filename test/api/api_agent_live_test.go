package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// TestAPILiveAgentMode: the hub holds no credential of a cluster in agent
// mode, so the live manifest and the diff of an Application there answer
// 503 saying so, through the running server, while its tree answers with
// what its agent reports.
func TestAPILiveAgentMode(t *testing.T) {
	admin := adminToken(t)
	c := &flotillav1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: "apiagent-1", Namespace: flotillav1.DefaultNamespace},
		Spec:       flotillav1.ClusterSpec{Mode: flotillav1.ClusterModeAgent},
	}
	if err := env.Client.Create(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), c) })
	eventually(t, "the server sees cluster apiagent-1", func() bool {
		code, _ := call(t, admin, http.MethodGet, "/api/v1/clusters/flotilla-system/apiagent-1", nil)
		return code == http.StatusOK
	})
	apiProject(t, admin, "apiagent", nil)
	spec := idleSpec("apiagent-app")
	spec.Destination.Cluster = "apiagent-1"
	createAPIApp(t, admin, apiApp("apiagent", "apiagent", nil, spec))
	const base = "/api/v1/applications/flotilla-system/apiagent"

	for _, p := range []string{base + "/diff", base + "/resource?version=v1&kind=ConfigMap&namespace=apiagent-app&name=cfg"} {
		code, body := call(t, admin, http.MethodGet, p, nil)
		if e := errorOf(t, body); code != http.StatusServiceUnavailable || e.Code != wire.CodeUnavailable ||
			!strings.Contains(e.Message, "cluster apiagent-1 is in agent mode") {
			t.Errorf("GET %s: HTTP %d %s; want 503 saying the cluster is in agent mode", p, code, body)
		}
	}
	var tree wire.Tree
	expect(t, admin, http.MethodGet, base+"/tree", nil, http.StatusOK, &tree)
}
