package preview

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// TestDirectAppPreviewKeepsProjectRules: `app preview` with a kubeconfig
// previews one Application on its cluster, under its Project's rules: a
// revision adding a kind the Project forbids is the cluster's error (exit
// 2), as a sync would refuse it; one without is its changes (exit 1).
func TestDirectAppPreviewKeepsProjectRules(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "narrow")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", map[string]string{"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: narrow\ndata:\n  a: \"1\"\n"})
	repo.Commit("secret", map[string]string{
		"app/cm.yaml":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: narrow\ndata:\n  a: \"1\"\n",
		"app/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: narrow\nstringData:\n  k: v\n",
	})
	env.RegisterCluster(t, "narrow-1", "dev-1", nil)
	proj := &flotillav1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: "narrow", Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.ProjectSpec{
			SourceRepos:                []string{"*"},
			Destinations:               []flotillav1.ProjectDestination{{Cluster: "narrow-*", Namespace: "narrow"}},
			NamespaceResourceBlacklist: []flotillav1.GroupKindPattern{{Group: "", Kind: "Secret"}},
		},
	}
	app := &flotillav1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "narrow", Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.ApplicationSpec{
			Project:     "narrow",
			Source:      flotillav1.ApplicationSource{RepoURL: srv.URL("narrow"), TargetRevision: "main", Path: "app"},
			Destination: flotillav1.Destination{Cluster: "narrow-1", Namespace: "narrow"},
		},
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "narrow"}}
	dev1 := env.ClusterClient(t, "dev-1")
	if err := dev1.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dev1.Delete(context.Background(), ns) })
	if err := env.Client.Create(ctx, proj); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), proj) })
	if err := env.Client.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), app) })
	c := newCLI(t)

	p, code := c.previewJSON("app", "narrow", "--revision", "secret")
	if code != 2 || len(p.Clusters) != 1 {
		t.Fatalf("app preview --revision secret: exit %d, %+v; want exit 2 and one cluster", code, p)
	}
	if cp := p.Clusters[0]; cp.Cluster != "narrow-1" || cp.Application != "narrow" || !strings.Contains(cp.Error, "Secret") {
		t.Errorf("cluster %+v; want narrow-1's error to name the Secret the Project forbids", cp)
	}

	p, code = c.previewJSON("app", "narrow")
	if code != 1 || len(p.Clusters) != 1 || p.Clusters[0].Error != "" {
		t.Fatalf("app preview: exit %d, %+v; want exit 1 and the ConfigMap to create", code, p)
	}
	if ch := changes(p.Clusters[0]); len(ch) != 1 || ch[0].Kind != "ConfigMap" || ch[0].Action != wire.DiffCreate {
		t.Errorf("changes %+v; want the ConfigMap to be created", ch)
	}
}
