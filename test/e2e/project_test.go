package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestProject: a destination or a kind the Project does not allow stops the
// sync before anything is applied, with a condition naming the rule; the
// Project's ServiceAccount is impersonated, so the target's RBAC decides
// (a Secret it may not create is Forbidden), and a missing ServiceAccount
// is an error, never a fall-back to the controller's identity.
func TestProject(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo := gitserver.NewRepo(t, root, "team-a")
	repo.Commit("main", map[string]string{
		"ok/cm.yaml":          harness.GoodConfigMap,
		"clusterrole/cm.yaml": harness.GoodConfigMap,
		"clusterrole/cr.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: team-a-everything\nrules: []\n",
		"secret/cm.yaml":      harness.GoodConfigMap,
		"secret/secret.yaml":  "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\nstringData:\n  token: not-allowed\n",
	})
	proj := &flotillav1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: "team-a", Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.ProjectSpec{
			SourceRepos:    []string{strings.TrimSuffix(srv.URL("team-a"), "team-a") + "*"},
			Destinations:   []flotillav1.ProjectDestination{{Cluster: flotillav1.InCluster, Namespace: "team-a-*"}},
			ServiceAccount: "deployer",
		},
	}
	if err := env.Client.Create(ctx, proj); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, proj) })
	prepareTenantNamespace(t, "team-a-ok", true)
	prepareTenantNamespace(t, "team-a-nosa", false)

	app := func(name, path, ns string) {
		spec := harness.PlainApp(srv.URL("team-a"), path, ns)
		spec.Project = "team-a"
		spec.SyncPolicy.CreateNamespace = false
		newApp(t, name, spec)
	}
	app("proj-ok", "ok", "team-a-ok")
	env.WaitApp(t, "proj-ok", 2*time.Minute, "Synced as the ServiceAccount", harness.Synced)

	app("proj-wrong-ns", "ok", "team-b")
	a := env.WaitApp(t, "proj-wrong-ns", time.Minute, "ProjectViolation", harness.FailedWith(flotillav1.ReasonProjectViolation))
	if msg := harness.ReadyCondition(a).Message; !strings.Contains(msg, "destinations") {
		t.Errorf("the condition should name the destinations rule: %s", msg)
	}

	app("proj-clusterrole", "clusterrole", "team-a-ok")
	a = env.WaitApp(t, "proj-clusterrole", time.Minute, "ProjectViolation", harness.FailedWith(flotillav1.ReasonProjectViolation))
	if msg := harness.ReadyCondition(a).Message; !strings.Contains(msg, "ClusterRole") || !strings.Contains(msg, "clusterResourceWhitelist") {
		t.Errorf("the condition should name the ClusterRole and the whitelist: %s", msg)
	}

	app("proj-secret", "secret", "team-a-ok")
	a = env.WaitApp(t, "proj-secret", time.Minute, "Forbidden", harness.FailedWith(flotillav1.ReasonForbidden))
	if msg := harness.ReadyCondition(a).Message; !strings.Contains(msg, "Secret/team-a-ok/token") {
		t.Errorf("the condition should name the Secret: %s", msg)
	}
	var s corev1.Secret
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "team-a-ok", Name: "token"}, &s); err == nil {
		t.Errorf("the Secret must not be created with the controller's own rights")
	}

	app("proj-nosa", "ok", "team-a-nosa")
	a = env.WaitApp(t, "proj-nosa", time.Minute, "ProjectViolation for the missing ServiceAccount", harness.FailedWith(flotillav1.ReasonProjectViolation))
	if msg := harness.ReadyCondition(a).Message; !strings.Contains(msg, "deployer") {
		t.Errorf("the condition should name the missing ServiceAccount: %s", msg)
	}
	assertAbsent(t, "team-a-nosa", "good")
}

// prepareTenantNamespace makes a namespace where, with sa, the ServiceAccount
// "deployer" may manage ConfigMaps and nothing else.
func prepareTenantNamespace(t *testing.T, ns string, sa bool) {
	t.Helper()
	ctx := context.Background()
	objs := []client.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}}
	if sa {
		objs = append(objs,
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: ns}},
			&rbacv1.Role{
				ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: ns},
				Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"*"}}},
			},
			&rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: ns},
				RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "deployer"},
				Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "deployer", Namespace: ns}},
			})
	}
	for _, o := range objs {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}
