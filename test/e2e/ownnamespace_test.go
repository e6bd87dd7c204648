package e2e

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestOwnNamespaceFollowsController: with `flotilla controller --namespace
// X`, X is Flotilla's own namespace: a Project whose destinations are all
// wildcards deploys elsewhere but not into X, whether the Application names
// X or only its objects do.
func TestOwnNamespaceFollowsController(t *testing.T) {
	const own = "tenancy-own"
	ctx := context.Background()
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: own}}
	if err := env.Client.Create(ctx, nsObj); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), nsObj) })
	replica, err := env.StartReplica("own", "--namespace", own)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(replica.Stop)

	root := t.TempDir()
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	gitserver.NewRepo(t, root, "own").Commit("main", map[string]string{
		"plain/cm.yaml": harness.GoodConfigMap,
		"named/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: planted\n  namespace: " + own + "\ndata:\n  k: v\n",
	})
	create := func(obj client.Object) {
		t.Helper()
		obj.SetNamespace(own)
		if err := env.Client.Create(ctx, obj); err != nil {
			t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), obj) })
	}
	create(&flotillav1.Project{ObjectMeta: metav1.ObjectMeta{Name: "wild"}, Spec: flotillav1.ProjectSpec{
		SourceRepos:              []string{"*"},
		Destinations:             []flotillav1.ProjectDestination{{Cluster: "*", Namespace: "*"}},
		ClusterResourceWhitelist: []flotillav1.GroupKindPattern{{Group: "*", Kind: "*"}},
	}})
	app := func(name, path, ns string) {
		spec := harness.PlainApp(srv.URL("own"), path, ns)
		spec.Project = "wild"
		create(&flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec})
	}
	app("elsewhere", "plain", "tenancy-own-apps")
	app("into-own", "plain", own)
	app("names-own", "named", "tenancy-own-apps2")

	waitAppIn(t, own, "elsewhere", "Synced outside the controller's namespace", harness.Synced)
	for _, name := range []string{"into-own", "names-own"} {
		waitAppIn(t, own, name, "ProjectViolation for the controller's namespace",
			conditionSays(flotillav1.ReasonProjectViolation, "Flotilla's own namespace"))
	}
	for _, cm := range []string{"good", "planted"} {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: own, Name: cm}, &corev1.ConfigMap{}); err == nil {
			t.Errorf("ConfigMap %s/%s was written into the controller's namespace", own, cm)
		}
	}
}

// waitAppIn is waitApp for an Application of namespace ns, reporting the
// replica's view through the Application's status.
func waitAppIn(t *testing.T, ns, name, what string, cond func(*flotillav1.Application) bool) {
	t.Helper()
	app := &flotillav1.Application{}
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, app); err != nil {
			return false, nil
		}
		return cond(app), nil
	})
	if err != nil {
		t.Fatalf("Application %s/%s: %s: %v\nstatus: %s", ns, name, what, err, harness.StatusString(app))
	}
}
