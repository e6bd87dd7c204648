package preview

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
)

// TestDirectPreviewOwnNamespace: without a server, the namespace given
// with -n is Flotilla's own, as the server's --namespace is: an
// Application there deploying into that namespace under a Project that
// allows it only by a wildcard is refused, as the controller running in
// that namespace would refuse it; named exactly, it is previewed.
func TestDirectPreviewOwnNamespace(t *testing.T) {
	const ns = "prev-own"
	ctx := context.Background()
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "own")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: own\ndata:\n  a: \"1\"\n"})

	// The hub's objects in a namespace the test's controller does not
	// watch: nothing syncs them.
	create := func(c client.Client, obj client.Object) {
		t.Helper()
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Delete(context.Background(), obj) })
	}
	create(env.Client, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	create(env.Client, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-own-1", Namespace: ns, Labels: map[string]string{flotillav1.ClusterLabel: "own-1"}},
		Data:       map[string][]byte{"kubeconfig": env.KubeconfigFor(t, "dev-1")},
	})
	create(env.Client, &flotillav1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: "own-1", Namespace: ns},
		Spec:       flotillav1.ClusterSpec{CredentialsRef: &flotillav1.LocalObjectReference{Name: "cluster-own-1"}},
	})
	for proj, dest := range map[string]string{"wild": "*", "named": ns} {
		create(env.Client, &flotillav1.Project{
			ObjectMeta: metav1.ObjectMeta{Name: proj, Namespace: ns},
			Spec: flotillav1.ProjectSpec{
				SourceRepos:  []string{"*"},
				Destinations: []flotillav1.ProjectDestination{{Cluster: "*", Namespace: dest}},
			},
		})
		create(env.Client, &flotillav1.Application{
			ObjectMeta: metav1.ObjectMeta{Name: "own-" + proj, Namespace: ns},
			Spec: flotillav1.ApplicationSpec{
				Project:     proj,
				Source:      flotillav1.ApplicationSource{RepoURL: srv.URL("own"), TargetRevision: "main", Path: "app"},
				Destination: flotillav1.Destination{Cluster: "own-1", Namespace: ns},
			},
		})
	}
	create(env.ClusterClient(t, "dev-1"), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	c := newCLI(t)

	p, code := c.previewJSON("app", "own-wild", "-n", ns)
	if code != 2 || len(p.Clusters) != 1 || !strings.Contains(p.Clusters[0].Error, "own namespace") {
		t.Errorf("app preview -n %s of a wildcard destination: exit %d, %+v; want exit 2 and the own namespace refused", ns, code, p)
	}
	p, code = c.previewJSON("app", "own-named", "-n", ns)
	if code != 1 || len(p.Clusters) != 1 || p.Clusters[0].Error != "" || len(changes(p.Clusters[0])) != 1 {
		t.Errorf("app preview -n %s of a destination naming it: exit %d, %+v; want exit 1 and the ConfigMap to create", ns, code, p)
	}
}
