package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/helmserver"
	"github.com/flotilla-dev/flotilla/internal/ociserver"
	"github.com/flotilla-dev/flotilla/internal/project"
	"github.com/flotilla-dev/flotilla/internal/render"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// depChart is the chart app of a repository, depending on cache (enabled
// by default, its condition cache.enabled) from repo.
func depChart(repo, version, lock string) map[string]string {
	files := map[string]string{
		"app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n" +
			"  - name: cache\n    version: \"" + version + "\"\n    repository: " + repo + "\n    condition: cache.enabled\n",
		"app/values.yaml":         "cache:\n  enabled: true\n",
		"app/templates/app.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n",
		"app/charts/.placeholder": "",
	}
	if lock != "" {
		files["app/Chart.lock"] = lock
	}
	return files
}

// cacheChart is chart cache at version: a ConfigMap naming its version.
func cacheChart(version string) map[string]string {
	return map[string]string{
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cache\ndata:\n  version: " + version + "\n",
	}
}

// depEngine is an Engine that fetches (loopback allowed) and renders.
func depEngine(t *testing.T) *Engine {
	t.Helper()
	opts := source.DefaultOptions()
	opts.CacheDir, opts.AllowLoopback = t.TempDir(), true
	c, err := source.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &Engine{sources: c, renderer: render.New(render.DefaultOptions())}
}

// depState is a sync of the chart app written into a checkout folder,
// from a source at sourceURL with creds, under a Project allowing repos.
func depState(t *testing.T, files map[string]string, sourceURL string, creds *source.Credentials, values string, repos ...string) *syncState {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		writeFile(t, dir, name, content)
	}
	p := &flotillav1.Project{Spec: flotillav1.ProjectSpec{SourceRepos: repos}}
	p.Name = "team"
	pol, err := project.Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	app := &flotillav1.Application{}
	app.Name, app.Namespace = "shop", "flotilla-system"
	app.Spec.Source = flotillav1.ApplicationSource{RepoURL: sourceURL, Path: "app"}
	if values != "" {
		app.Spec.Source.Helm = &flotillav1.HelmSource{Values: &apiextensionsv1.JSON{Raw: []byte(values)}}
	}
	s := newState(Request{App: app, Credentials: creds})
	s.policy = pol
	s.artifact = &source.Artifact{URL: sourceURL, Commit: contentCommit(files), Dir: dir}
	s.result.Revision = s.artifact.Commit
	s.target = &managerEntry{caps: &capabilities{readAt: time.Now(), kubeVersion: "v1.37.2"}}
	t.Cleanup(func() {
		for _, a := range s.dependencies {
			a.Release()
		}
	})
	return s
}

func objectNames(s *syncState) string {
	var out []string
	for _, o := range s.objects {
		v, _, _ := unstructured.NestedString(o.Object, "data", "version")
		out = append(out, o.GetName()+v)
	}
	return strings.Join(out, ",")
}

// TestHelmDependencyFromRepository: a chart's dependency is fetched from
// an index-based repository with the Application's credentials (same
// origin as its source), at the version of Chart.lock, and rendered; its
// condition turns it off.
func TestHelmDependencyFromRepository(t *testing.T) {
	repo := helmserver.New(t, helmserver.Options{Username: "charts", Password: "s3cret"})
	repo.AddChart(t, "cache", "1.2.0", cacheChart("1.2.0"))
	repo.AddChart(t, "cache", "1.3.0", cacheChart("1.3.0"))
	creds := &source.Credentials{Username: "charts", Password: "s3cret", CACert: repo.CACert()}
	e := depEngine(t)
	sourceURL := repo.URL() + "/git/app.git"

	s := depState(t, depChart(repo.URL(), "^1.0.0", ""), sourceURL, creds, "", repo.URL(), repo.URL()+"/*")
	if err := e.render(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if got := objectNames(s); got != "cache1.3.0,app" {
		t.Errorf("objects %s, want the highest cache in the range, then app", got)
	}

	lock := "dependencies:\n- name: cache\n  repository: " + repo.URL() + "\n  version: 1.2.0\ndigest: " +
		lockDigestOf(t, repo.URL(), "^1.0.0", "1.2.0") + "\ngenerated: \"2026-01-01T00:00:00Z\"\n"
	s = depState(t, depChart(repo.URL(), "^1.0.0", lock), sourceURL, creds, "", repo.URL(), repo.URL()+"/*")
	if err := e.render(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if got := objectNames(s); got != "cache1.2.0,app" {
		t.Errorf("objects %s, want the locked cache 1.2.0", got)
	}

	s = depState(t, depChart(repo.URL(), "^1.0.0", lock), sourceURL, creds, `{"cache": {"enabled": false}}`, repo.URL(), repo.URL()+"/*")
	if err := e.render(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if got := objectNames(s); got != "app" {
		t.Errorf("objects %s, want app alone: the condition turns cache off", got)
	}

	stale := strings.Replace(lock, "version: 1.2.0", "version: 1.3.0", 1)
	s = depState(t, depChart(repo.URL(), "^1.0.0", stale), sourceURL, creds, "", repo.URL(), repo.URL()+"/*")
	err := e.render(context.Background(), s)
	if !errors.Is(err, render.ErrMalformed) || !strings.Contains(err.Error(), "app/Chart.lock: is out of sync") || ReasonOf(err, "") != flotillav1.ReasonRenderFailed {
		t.Errorf("got %v, want RenderFailed naming Chart.lock out of sync", err)
	}
}

// TestHelmDependencyFromOCI: a dependency of an OCI registry, with the
// credentials of the Application's source in the same registry.
func TestHelmDependencyFromOCI(t *testing.T) {
	reg := ociserver.New(t, ociserver.Options{Username: "charts", Password: "s3cret"})
	reg.PushChart(t, "charts", "cache", "2.0.0", cacheChart("2.0.0"))
	creds := &source.Credentials{Username: "charts", Password: "s3cret", CACert: reg.CACert()}
	e := depEngine(t)
	s := depState(t, depChart(reg.URL("charts"), "2.0.0", ""), reg.URL("apps/shop"), creds, "", "oci://"+reg.Host()+"/*")
	if err := e.render(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if got := objectNames(s); got != "cache2.0.0,app" {
		t.Errorf("objects %s, want cache 2.0.0 and app", got)
	}
}

// TestHelmDependencyRefusedByProject: a dependency from a repository the
// Project does not allow is refused naming it, before any request.
func TestHelmDependencyRefusedByProject(t *testing.T) {
	repo := helmserver.New(t, helmserver.Options{})
	repo.AddChart(t, "cache", "1.2.0", cacheChart("1.2.0"))
	e := depEngine(t)
	s := depState(t, depChart(repo.URL(), "1.2.0", ""), "https://git.example.com/app.git", nil, "", "https://git.example.com/*")
	err := e.render(context.Background(), s)
	t.Log(err)
	if ReasonOf(err, "") != flotillav1.ReasonProjectViolation || !strings.Contains(err.Error(), repo.URL()) || !strings.Contains(err.Error(), "cache") {
		t.Fatalf("got %v, want ProjectViolation naming the dependency and its repository", err)
	}
	if n := len(repo.Requests()); n != 0 {
		t.Errorf("the repository received %d kinds of requests, want none", n)
	}
}

func TestDependencyCredentials(t *testing.T) {
	creds := &source.Credentials{Username: "u", Password: "p"}
	cases := []struct {
		source, dep string
		want        bool
	}{
		{"https://git.example.com/org/app.git", "https://git.example.com/charts", true},
		{"https://git.example.com:443/org/app.git", "https://GIT.example.com/charts", true},
		{"https://git.example.com/org/app.git", "https://charts.example.com", false},
		{"https://git.example.com/org/app.git", "https://git.example.com:8443/charts", false},
		{"https://git.example.com/org/app.git", "http://git.example.com/charts", false},
		{"https://git.example.com/org/app.git", "oci://git.example.com/charts", false},
		{"oci://registry.example.com/apps/shop", "oci://registry.example.com/charts", true},
		{"git@git.example.com:org/app.git", "https://git.example.com/charts", false},
		{"https://user@git.example.com/app.git", "https://evil.example.com@git.example.com/charts", true},
		{"https://git.example.com/app.git", "https://git.example.com@evil.example.com/charts", false},
	}
	for _, tc := range cases {
		got := dependencyCredentials(tc.source, tc.dep, Request{Credentials: creds}) != nil
		if got != tc.want {
			t.Errorf("source %s, dependency %s: credentials given %v, want %v", tc.source, tc.dep, got, tc.want)
		}
	}
	if dependencyCredentials("https://a/x", "https://a/y", Request{}) != nil {
		t.Error("no credentials became some")
	}
}

// TestChartCredentials: an entry of chartCredentials covers the
// repositories under its URL, on a '/' boundary of the same scheme and
// host; the longest entry wins over a shorter one and over credentialsRef.
func TestChartCredentials(t *testing.T) {
	own := &source.Credentials{Username: "own"}
	team := &source.Credentials{Username: "team"}
	stable := &source.Credentials{Username: "stable"}
	req := Request{Credentials: own, ChartCredentials: []ChartCredentials{
		{URL: "https://charts.example.com/team", Credentials: team},
		{URL: "https://charts.example.com/team/stable/", Credentials: stable},
	}}
	cases := []struct{ dep, want string }{
		{"https://charts.example.com/team", "team"},
		{"https://charts.example.com/team/", "team"},
		{"https://CHARTS.example.com:443/team/beta", "team"},
		{"https://charts.example.com/team/stable", "stable"},
		{"https://charts.example.com/team/stable/x", "stable"},
		{"https://charts.example.com/teams", ""},
		{"https://charts.example.com/", ""},
		{"http://charts.example.com/team", ""},
		{"https://charts.example.com.evil.test/team", ""},
		{"https://charts.example.com@evil.test/team", ""},
		{"https://charts.example.com/team/../admin", ""},
		{"https://charts.example.com/team/./x", ""},
		{"https://charts.example.com/team/%2e%2e/admin", ""},
		{"https://charts.example.com/team/%2E%2E%2Fadmin", ""},
		{"https://charts.example.com/team/..%5cadmin", ""},
		{"https://charts.example.com/team/x\\..\\..\\admin", ""},
		{"https://charts.example.com/team//x", ""},
		{"https://charts.example.com/team/stable/..", ""},
		{"https://git.example.com/charts", "own"},
	}
	for _, tc := range cases {
		got := ""
		if c := dependencyCredentials("https://git.example.com/org/app.git", tc.dep, req); c != nil {
			got = c.Username
		}
		if got != tc.want {
			t.Errorf("dependency %s: credentials %q, want %q", tc.dep, got, tc.want)
		}
	}
}

// TestHelmDependencyWithChartCredentials: a dependency on another host
// than the source, behind basic authentication, is refused when its
// chartCredentials entry trusts its CA but holds no password (the source's
// own are never sent there), and renders with the entry that holds them.
func TestHelmDependencyWithChartCredentials(t *testing.T) {
	repo := helmserver.New(t, helmserver.Options{Username: "charts", Password: "s3cret"})
	repo.AddChart(t, "cache", "1.2.0", cacheChart("1.2.0"))
	own := &source.Credentials{Username: "git", Password: "git-token", CACert: repo.CACert()}
	e := depEngine(t)
	const sourceURL = "https://git.example.com/org/app.git"

	s := depState(t, depChart(repo.URL(), "1.2.0", ""), sourceURL, own, "", repo.URL())
	s.req.ChartCredentials = []ChartCredentials{{URL: repo.URL(), Credentials: &source.Credentials{CACert: repo.CACert()}}}
	err := e.render(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("without a password for the chart repository: %v, want 401", err)
	}
	t.Log(err)

	s = depState(t, depChart(repo.URL(), "1.2.0", ""), sourceURL, own, "", repo.URL())
	s.req.ChartCredentials = []ChartCredentials{{URL: repo.URL(), Credentials: &source.Credentials{
		Username: "charts", Password: "s3cret", CACert: repo.CACert()}}}
	if err := e.render(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if got := objectNames(s); got != "cache1.2.0,app" {
		t.Errorf("objects %s, want cache 1.2.0 then app", got)
	}
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// lockDigestOf is the digest Helm writes in Chart.lock for depChart's one
// dependency of repo, in the range version, locked at locked: the sha256
// of the JSON of the declared and the locked dependencies, side by side.
func lockDigestOf(t *testing.T, repo, version, locked string) string {
	t.Helper()
	declared := []*chart.Dependency{{Name: "cache", Version: version, Repository: repo, Condition: "cache.enabled"}}
	lockedDeps := []*chart.Dependency{{Name: "cache", Version: locked, Repository: repo}}
	data, err := json.Marshal([2][]*chart.Dependency{declared, lockedDeps})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// contentCommit names files as a commit would: the same files, the same
// name, and other files another.
func contentCommit(files map[string]string) string {
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		h.Write([]byte(name + "\x00" + files[name] + "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil))[:40]
}

// kustomizeCharts is a kustomization at app inflating chart cache of repo
// at version (none for the highest), which the repository does not vendor.
func kustomizeCharts(repo, version string) map[string]string {
	entry := "{name: cache, repo: '" + repo + "', releaseName: shop"
	if version != "" {
		entry += ", version: " + version
	}
	return map[string]string{
		"app/kustomization.yaml": "resources: [app.yaml]\nhelmCharts: [" + entry + "}]\n",
		"app/app.yaml":           "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n",
	}
}

// TestKustomizeHelmChartsFromRepository: the chart of a kustomization's
// helmCharts entry is fetched from a repository the Project allows, at the
// entry's version or the highest, and inflated.
func TestKustomizeHelmChartsFromRepository(t *testing.T) {
	repo := helmserver.New(t, helmserver.Options{})
	repo.AddChart(t, "cache", "1.2.0", cacheChart("1.2.0"))
	repo.AddChart(t, "cache", "1.3.0", cacheChart("1.3.0"))
	e := depEngine(t)
	// The source shares the repository's origin: its credentials (the
	// test server's CA) go to the repository too.
	creds := &source.Credentials{CACert: repo.CACert()}
	for version, want := range map[string]string{"1.2.0": "app,cache1.2.0", "": "app,cache1.3.0"} {
		s := depState(t, kustomizeCharts(repo.URL(), version), repo.URL()+"/git/app.git", creds, "", repo.URL()+"/git/*", repo.URL())
		if err := e.render(context.Background(), s); err != nil {
			t.Fatalf("version %q: %v", version, err)
		}
		if got := objectNames(s); got != want {
			t.Errorf("version %q: objects %s, want %s", version, got, want)
		}
	}
}

// TestKustomizeHelmChartsRefusedByProject: a helmCharts entry's repository
// that the Project does not allow is refused naming it, before any request.
func TestKustomizeHelmChartsRefusedByProject(t *testing.T) {
	repo := helmserver.New(t, helmserver.Options{})
	repo.AddChart(t, "cache", "1.2.0", cacheChart("1.2.0"))
	e := depEngine(t)
	s := depState(t, kustomizeCharts(repo.URL(), "1.2.0"), "https://git.example.com/app.git", nil, "", "https://git.example.com/*")
	err := e.render(context.Background(), s)
	if ReasonOf(err, "") != flotillav1.ReasonProjectViolation || !strings.Contains(fmt.Sprint(err), repo.URL()) || !strings.Contains(fmt.Sprint(err), "cache") {
		t.Fatalf("got %v, want ProjectViolation naming the chart and its repository", err)
	}
	if n := len(repo.Requests()); n != 0 {
		t.Errorf("the repository received %d kinds of requests, want none", n)
	}
}
