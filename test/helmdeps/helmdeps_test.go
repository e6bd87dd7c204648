package helmdeps

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/helmserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// shopChart is the chart "chart" of the Git repository: a ConfigMap of its
// own (its data says which commit), and two dependencies from repo, cache
// (on) and queue (off through its condition, in values.yaml). With
// leftover, it has a second ConfigMap too.
func shopChart(repo, data string, leftover bool) map[string]string {
	files := map[string]string{
		"chart/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\ndependencies:\n" +
			"  - name: cache\n    version: ~1.2.0\n    repository: " + repo + "\n    condition: cache.enabled\n" +
			"  - name: queue\n    version: 2.0.0\n    repository: " + repo + "\n    condition: queue.enabled\n",
		"chart/values.yaml":        "cache:\n  enabled: true\nqueue:\n  enabled: false\n",
		"chart/templates/own.yaml": configMap("shop", data),
	}
	if leftover {
		files["chart/templates/leftover.yaml"] = configMap("leftover", data)
	}
	return files
}

// plainChart is shopChart without dependencies.
func plainChart(data string) map[string]string {
	return map[string]string{
		"chart/Chart.yaml":              "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
		"chart/templates/own.yaml":      configMap("shop", data),
		"chart/templates/leftover.yaml": configMap("leftover", data),
	}
}

func configMap(name, data string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  from: " + data + "\n"
}

// chartRepo serves cache 1.2.3 (and 1.3.0, outside the range) and queue
// 2.0.0, each a ConfigMap named after it.
func chartRepo(t *testing.T) *helmserver.Server {
	repo := helmserver.New(t, helmserver.Options{})
	for _, c := range []struct{ name, version string }{{"cache", "1.2.3"}, {"cache", "1.3.0"}, {"queue", "2.0.0"}} {
		repo.AddChart(t, c.name, c.version, map[string]string{
			"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-" + c.name + "\ndata:\n  version: {{ .Chart.Version }}\n",
		})
	}
	return repo
}

// project creates a Project allowing the namespace ns of the hub and the
// repositories repos.
func project(t *testing.T, name, ns string, repos ...string) {
	t.Helper()
	p := &flotillav1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.ProjectSpec{
			SourceRepos:              repos,
			Destinations:             []flotillav1.ProjectDestination{{Cluster: flotillav1.InCluster, Namespace: ns}},
			ClusterResourceWhitelist: []flotillav1.GroupKindPattern{{Group: "", Kind: "Namespace"}},
		},
	}
	if err := env.Client.Create(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), p) })
}

func newApp(t *testing.T, name, proj, url, ns string) {
	t.Helper()
	spec := harness.PlainApp(url, "chart", ns)
	spec.Project = proj
	spec.Source.Helm = &flotillav1.HelmSource{ReleaseName: "shop"}
	app := &flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace}, Spec: spec}
	if err := env.Client.Create(context.Background(), app); err != nil {
		t.Fatalf("create Application %s: %v", name, err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), app) })
}

// liveData is the ConfigMap's data.from (data.version for a dependency's),
// "" when it does not exist.
func liveData(t *testing.T, ns, name string) string {
	t.Helper()
	var cm corev1.ConfigMap
	err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &cm)
	if apierrors.IsNotFound(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data["from"] + cm.Data["version"]
}

// TestChartDependencyFromAllowedRepository: the chart's dependency from a
// Helm repository the Project allows is fetched at the highest version of
// its range and synced with the chart; the one its condition turns off is
// not.
func TestChartDependencyFromAllowedRepository(t *testing.T) {
	ns := "helmdeps-allowed"
	repo := chartRepo(t)
	root := t.TempDir()
	git := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	commit := git.Commit("main", shopChart(repo.URL(), "first", false))
	project(t, "helmdeps-allowed", ns, srv.URL("fleet"), repo.URL())
	newApp(t, "helmdeps-allowed", "helmdeps-allowed", srv.URL("fleet"), ns)

	app := env.WaitApp(t, "helmdeps-allowed", 2*time.Minute, "Synced", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == commit
	})
	if got := liveData(t, ns, "shop-cache"); got != "1.2.3" {
		t.Errorf("shop-cache holds version %q, want the dependency's 1.2.3 (the highest in ~1.2.0)", got)
	}
	if got := liveData(t, ns, "shop"); got != "first" {
		t.Errorf("the chart's own ConfigMap holds %q, want first", got)
	}
	if got := liveData(t, ns, "shop-queue"); got != "" {
		t.Errorf("shop-queue exists (%q); its condition queue.enabled is false", got)
	}
	var configMaps []string
	for _, r := range app.Status.Resources {
		if r.Kind == "ConfigMap" {
			configMaps = append(configMaps, r.Name)
		}
	}
	slices.Sort(configMaps)
	if strings.Join(configMaps, ",") != "shop,shop-cache" {
		t.Errorf("ConfigMaps of the inventory %v, want the chart's and the cache's", configMaps)
	}
}

// TestChartDependencyFromRefusedRepository: an Application synced from a
// chart without dependencies gets a commit adding dependencies from a
// repository its Project does not allow: the sync stops naming the
// repository; nothing of the commit is applied (the ConfigMap keeps its
// data) and nothing is pruned (the ConfigMap the commit removes stays), and
// the repository receives no request.
func TestChartDependencyFromRefusedRepository(t *testing.T) {
	ns := "helmdeps-refused"
	repo := chartRepo(t)
	root := t.TempDir()
	git := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	first := git.Commit("main", plainChart("first"))
	project(t, "helmdeps-refused", ns, srv.URL("fleet"))
	newApp(t, "helmdeps-refused", "helmdeps-refused", srv.URL("fleet"), ns)
	env.WaitApp(t, "helmdeps-refused", 2*time.Minute, "Synced at the first commit", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == first
	})
	if liveData(t, ns, "leftover") != "first" {
		t.Fatal("the first commit's leftover ConfigMap was not applied")
	}

	second := git.Commit("main", shopChart(repo.URL(), "second", false))
	app := env.WaitApp(t, "helmdeps-refused", 2*time.Minute, "ProjectViolation at the second commit", func(a *flotillav1.Application) bool {
		c := harness.ReadyCondition(a)
		return c != nil && c.Reason == flotillav1.ReasonProjectViolation && strings.Contains(c.Message, second[:12])
	})
	msg := harness.ReadyCondition(app).Message
	if !strings.Contains(msg, repo.URL()) || !strings.Contains(msg, "cache") || !strings.Contains(msg, "sourceRepos") {
		t.Errorf("the condition should name the dependency, its repository and sourceRepos: %s", msg)
	}
	// Give the controller a few more syncs to do something it should not.
	time.Sleep(5 * time.Second)
	if got := liveData(t, ns, "shop"); got != "first" {
		t.Errorf("the chart's ConfigMap holds %q: the refused commit was applied", got)
	}
	if got := liveData(t, ns, "leftover"); got != "first" {
		t.Errorf("the leftover ConfigMap holds %q: the refused commit pruned it", got)
	}
	if got := liveData(t, ns, "shop-cache"); got != "" {
		t.Errorf("the refused dependency was applied: %q", got)
	}
	if n := len(repo.Requests()); n != 0 {
		t.Errorf("the refused repository received requests: %v", repo.Requests())
	}
}

// TestChartDependencyWithChartCredentials: the dependency's repository is
// on another host than the Git server and asks for a password. The
// Application names, in spec.source.chartCredentials, a Secret its Project
// does not allow: the sync stops naming the Secret, and the repository
// receives no request carrying it. Named a Secret the Project allows, the
// dependency is fetched with it and synced.
func TestChartDependencyWithChartCredentials(t *testing.T) {
	ns := "helmdeps-creds"
	repo := helmserver.New(t, helmserver.Options{Username: "charts", Password: "s3cret"})
	repo.AddChart(t, "cache", "1.2.3", map[string]string{
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cache\ndata:\n  version: {{ .Chart.Version }}\n",
	})
	root := t.TempDir()
	git := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	files := shopChart(repo.URL(), "first", false)
	files["chart/Chart.yaml"] = "apiVersion: v2\nname: shop\nversion: 0.1.0\ndependencies:\n" +
		"  - name: cache\n    version: 1.2.3\n    repository: " + repo.URL() + "\n"
	commit := git.Commit("main", files)
	project(t, "helmdeps-creds", ns, srv.URL("fleet"), repo.URL())
	ctx := context.Background()
	p := &flotillav1.Project{ObjectMeta: metav1.ObjectMeta{Namespace: flotillav1.DefaultNamespace, Name: "helmdeps-creds"}}
	harness.Update(t, env.Client, p, func(p *flotillav1.Project) { p.Spec.Secrets = []string{"charts-login"} })
	for _, name := range []string{"charts-login", "other-login"} {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace},
			Data:       map[string][]byte{"username": []byte("charts"), "password": []byte("s3cret")},
		}
		if err := env.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), s) })
	}

	spec := harness.PlainApp(srv.URL("fleet"), "chart", ns)
	spec.Project = "helmdeps-creds"
	spec.Source.Helm = &flotillav1.HelmSource{ReleaseName: "shop"}
	spec.Source.ChartCredentials = []flotillav1.ChartCredentials{{URL: repo.URL(), SecretRef: flotillav1.LocalObjectReference{Name: "other-login"}}}
	app := &flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Name: "helmdeps-creds", Namespace: flotillav1.DefaultNamespace}, Spec: spec}
	if err := env.Client.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), app) })

	refused := env.WaitApp(t, "helmdeps-creds", 2*time.Minute, "ProjectViolation naming other-login", func(a *flotillav1.Application) bool {
		c := harness.ReadyCondition(a)
		return c != nil && c.Reason == flotillav1.ReasonProjectViolation && strings.Contains(c.Message, "other-login")
	})
	t.Log(harness.ReadyCondition(refused).Message)
	if got := liveData(t, ns, "shop"); got != "" {
		t.Errorf("the chart was applied (%q) although its credentials were refused", got)
	}
	if n := len(repo.Requests()); n != 0 {
		t.Errorf("the chart repository received requests before the Secret was allowed: %v", repo.Requests())
	}

	harness.Update(t, env.Client, app, func(a *flotillav1.Application) { a.Spec.Source.ChartCredentials[0].SecretRef.Name = "charts-login" })
	env.WaitApp(t, "helmdeps-creds", 2*time.Minute, "Synced with the dependency", func(a *flotillav1.Application) bool {
		return harness.Synced(a) && a.Status.Sync.Revision == commit
	})
	if got := liveData(t, ns, "shop-cache"); got != "1.2.3" {
		t.Errorf("shop-cache holds %q, want the dependency's 1.2.3", got)
	}
}
