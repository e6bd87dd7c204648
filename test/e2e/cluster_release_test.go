package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// sprocketFiles are a CRD of group and one custom resource of it.
func sprocketFiles(path, group string) map[string]string {
	return map[string]string{
		path + "/crd.yaml": fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: sprockets.%s}
spec:
  group: %s
  names: {kind: Sprocket, plural: sprockets, singular: sprocket}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`, group, group),
		path + "/sprocket.yaml": fmt.Sprintf("apiVersion: %s/v1\nkind: Sprocket\nmetadata: {name: s}\nspec: {teeth: 12}\n", group),
	}
}

// TestClusterReleaseStopsWatches: a deleted Cluster stops its watches at
// once, and a Cluster whose credentials now point at another cluster stops
// those of the old one: the controller's count of watch streams open to
// the Cluster, taken at the HTTP layer, falls to zero without a controller
// restart and without a sync to the Cluster.
func TestClusterReleaseStopsWatches(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	groupDel, groupMove := "del.release.e2e.flotilla.dev", "move.release.e2e.flotilla.dev"
	files := sprocketFiles("del", groupDel)
	for p, c := range sprocketFiles("move", groupMove) {
		files[p] = c
	}
	repo.Commit("main", files)
	del := env.RegisterCluster(t, "release-del", "dev-2", nil)
	env.RegisterCluster(t, "release-move", "dev-2", nil)
	ns := harness.TestNamespace(t)
	for _, name := range []string{"del", "move"} {
		spec := harness.PlainApp(srv.URL("fleet"), name, ns+"-"+name)
		spec.Destination.Cluster = "release-" + name
		spec.SyncPolicy.Interval = harness.Interval(10 * time.Minute) // no sync renews the clients
		newApp(t, "release-"+name, spec)
		env.WaitApp(t, "release-"+name, 2*time.Minute, "Synced and Healthy", func(a *flotillav1.Application) bool {
			return harness.Synced(a) && a.Status.Health.Status == flotillav1.HealthHealthy
		})
	}
	waitWatches(t, "release-del", 30*time.Second, func(n float64) bool { return n >= 2 }, "the CRD and Sprocket watches run")
	waitWatches(t, "release-move", 30*time.Second, func(n float64) bool { return n >= 2 }, "the CRD and Sprocket watches run")

	if err := env.Client.Delete(context.Background(), del); err != nil {
		t.Fatal(err)
	}
	waitWatches(t, "release-del", 15*time.Second, func(n float64) bool { return n == 0 }, "the deleted Cluster's watch ends")

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cluster-release-move", Namespace: flotillav1.DefaultNamespace}}
	secret.Data = map[string][]byte{"kubeconfig": env.KubeconfigFor(t, "dev-1")}
	if err := env.Client.Update(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	// The Secret is read at each heartbeat of the Cluster (30s).
	waitWatches(t, "release-move", 50*time.Second, func(n float64) bool { return n == 0 }, "the re-pointed Cluster's old watch ends")
	if !strings.Contains(env.ControllerLog(), "cluster clients released") {
		t.Errorf("the controller log does not say it released the clients")
	}
}

// waitWatches polls the controller's count of watch streams open to a
// Cluster until it passes cond.
func waitWatches(t *testing.T, cluster string, timeout time.Duration, cond func(float64) bool, what string) {
	t.Helper()
	var n float64
	err := wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		families, err := env.Scrape()
		if err != nil {
			return false, nil
		}
		n = 0
		for _, m := range families["flotilla_cluster_watches"].GetMetric() {
			if label(m, "cluster") == cluster {
				n += m.GetGauge().GetValue()
			}
		}
		return cond(n), nil
	})
	if err != nil {
		t.Fatalf("%s: %s: %v watches open\n%s", cluster, what, n, env.ControllerLogTail(30))
	}
}
