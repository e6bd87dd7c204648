package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// depChart is Chart.yaml of chart app with dependencies deps (YAML list
// items, indented by two).
func depChart(deps string) string {
	return "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n" + deps
}

const (
	cacheDep = "  - name: cache\n    version: ~1.2.0\n    repository: https://charts.example.com/stable\n    condition: cache.enabled\n"
	queueDep = "  - name: queue\n    version: 2.0.0\n    repository: oci://registry.example.com/charts\n    tags: [messaging]\n"
)

// fetchedCache writes chart cache version 1.2.3 as the source would unpack
// it (a folder named after the chart) and returns it as fetched.
func fetchedCache(t *testing.T, name, version string) FetchedChart {
	t.Helper()
	dir := t.TempDir()
	write(t, dir, name+"/Chart.yaml", "apiVersion: v2\nname: "+name+"\nversion: "+version+"\n")
	write(t, dir, name+"/values.yaml", "greeting: hi\n")
	write(t, dir, name+"/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-"+name+"\ndata:\n  greeting: {{ .Values.greeting }}\n")
	repo := "https://charts.example.com/stable"
	if name == "queue" {
		repo = "oci://registry.example.com/charts"
	}
	return FetchedChart{Name: name, Repository: repo, Version: version, Digest: "sha256:" + strings.Repeat("a", 64), Dir: dir}
}

func TestChartDependenciesLists(t *testing.T) {
	dir := helmRepo(t, "app", map[string]string{
		"templates/cm.yaml":            configMap("app"),
		"charts/vend/Chart.yaml":       "apiVersion: v2\nname: vend\nversion: 1.0.0\n",
		"../lib/Chart.yaml":            "apiVersion: v2\nname: lib\nversion: 1.0.0\n",
		"../plain/cm.yaml":             configMap("plain"),
		"../nodeps/Chart.yaml":         "apiVersion: v2\nname: nodeps\nversion: 1.0.0\n",
		"../nodeps/templates/cm.yaml":  configMap("nodeps"),
		"../lib/templates/lib-cm.yaml": configMap("lib"),
	})
	write(t, dir, "chart/Chart.yaml", depChart(cacheDep+queueDep+
		"  - name: vend\n    version: 1.0.0\n    repository: https://elsewhere.example.com\n"+
		"  - name: lib\n    version: 1.0.0\n    repository: file://../lib\n"))
	r := New(DefaultOptions())
	got, err := r.ChartDependencies(context.Background(), Request{Root: dir, Path: "chart"})
	if err != nil {
		t.Fatal(err)
	}
	want := []ChartDependency{
		{Name: "cache", Repository: "https://charts.example.com/stable", Version: "~1.2.0"},
		{Name: "queue", Repository: "oci://registry.example.com/charts", Version: "2.0.0"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("dependencies to fetch (-want +got):\n%s", d)
	}
	for _, p := range []string{"plain", "nodeps"} {
		if got, err := r.ChartDependencies(context.Background(), Request{Root: dir, Path: p}); err != nil || got != nil {
			t.Errorf("%s: got %v, %v; want nothing to fetch", p, got, err)
		}
	}
}

func TestChartDependenciesRefused(t *testing.T) {
	many := ""
	for i := range maxChartDependencies + 1 {
		many += "  - name: d" + strings.Repeat("x", i) + "\n    version: 1.0.0\n    repository: https://charts.example.com\n"
	}
	cases := []struct {
		name, deps string
		kind       error
		says       string
	}{
		{"repository name", "  - name: cache\n    version: 1.0.0\n    repository: \"@stable\"\n", ErrRemote, `"@stable", not a URL`},
		{"repository alias", "  - name: cache\n    version: 1.0.0\n    repository: alias:stable\n", ErrRemote, `"alias:stable"`},
		{"too many", many, ErrTooLarge, "more than 32"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := helmRepo(t, "app", nil)
			write(t, dir, "chart/Chart.yaml", depChart(tc.deps))
			_, err := New(DefaultOptions()).ChartDependencies(context.Background(), Request{Root: dir, Path: "chart"})
			t.Log(err)
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), "chart/Chart.yaml") {
				t.Fatalf("got %v, want %v saying %s", err, tc.kind, tc.says)
			}
		})
	}
}

func TestChartDependenciesLock(t *testing.T) {
	libDep := "  - name: lib\n    version: 1.0.0\n    repository: file://../lib\n"
	repoWithLock := func(t *testing.T) string {
		dir := helmRepo(t, "app", map[string]string{"templates/cm.yaml": configMap("app")})
		write(t, dir, "lib/Chart.yaml", "apiVersion: v2\nname: lib\nversion: 1.0.0\n")
		write(t, dir, "lib/templates/cm.yaml", configMap("lib"))
		write(t, dir, "chart/Chart.yaml", depChart(libDep))
		digest := mustLockDigest(t, dir, libDep, libDep)
		write(t, dir, "chart/Chart.lock", "dependencies:\n"+libDep+"digest: "+digest+"\n")
		return dir
	}
	r := New(DefaultOptions())
	t.Run("in sync", func(t *testing.T) {
		dir := repoWithLock(t)
		if _, err := r.ChartDependencies(context.Background(), Request{Root: dir, Path: "chart"}); err != nil {
			t.Fatalf("a lock in sync is refused: %v", err)
		}
		res, err := r.Render(context.Background(), Request{Root: dir, Path: "chart"})
		if err != nil {
			t.Fatal(err)
		}
		if got := names(res); got != "lib,app" {
			t.Errorf("got %s, want lib,app", got)
		}
	})
	t.Run("out of sync", func(t *testing.T) {
		dir := repoWithLock(t)
		write(t, dir, "chart/Chart.yaml", depChart(strings.Replace(libDep, "1.0.0", "1.x", 1)))
		_, err := r.ChartDependencies(context.Background(), Request{Root: dir, Path: "chart"})
		t.Log(err)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "chart/Chart.lock: is out of sync") {
			t.Fatalf("got %v, want Chart.lock named out of sync", err)
		}
	})
	t.Run("versions from the lock", func(t *testing.T) {
		dir := helmRepo(t, "app", nil)
		deps := "  - name: cache\n    version: ~1.2.0\n    repository: https://charts.example.com/stable\n"
		write(t, dir, "chart/Chart.yaml", depChart(deps))
		locked := "  - name: cache\n    version: 1.2.7\n    repository: https://charts.example.com/stable\n"
		digest := mustLockDigest(t, dir, deps, locked)
		write(t, dir, "chart/Chart.lock", "dependencies:\n"+locked+"digest: "+digest+"\ngenerated: \"2026-01-01T00:00:00Z\"\n")
		got, err := r.ChartDependencies(context.Background(), Request{Root: dir, Path: "chart"})
		if err != nil {
			t.Fatal(err)
		}
		want := []ChartDependency{{Name: "cache", Repository: "https://charts.example.com/stable", Version: "1.2.7", Locked: true}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	})
}

// mustLockDigest is the digest of a lock listing locked for the
// dependencies deps, as the chart in dir loads them.
func mustLockDigest(t *testing.T, dir, deps, locked string) string {
	t.Helper()
	write(t, dir, "chart/Chart.lock", "dependencies:\n"+locked+"digest: x\n")
	tr, err := openTree(dir, newBudget(DefaultOptions()))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.close()
	c, err := loadChart(context.Background(), tr, "chart", "chart")
	if err != nil {
		t.Fatal(err)
	}
	d, err := lockDigest(c.Metadata.Dependencies, c.Lock.Dependencies)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestHelmFetchedDependencies(t *testing.T) {
	dir := helmRepo(t, "app", map[string]string{"templates/cm.yaml": configMap("app"), "values.yaml": "cache:\n  enabled: true\n"})
	write(t, dir, "chart/Chart.yaml", depChart(cacheDep+queueDep))
	fetched := []FetchedChart{fetchedCache(t, "cache", "1.2.3"), fetchedCache(t, "queue", "2.0.0")}
	r := New(DefaultOptions())
	render := func(values string) (string, error) {
		res, err := r.Render(context.Background(), Request{Root: dir, Path: "chart", Revision: "rev1",
			Helm: HelmOptions{ReleaseName: "r", Values: []byte(values), Dependencies: fetched}})
		if err != nil {
			return "", err
		}
		return names(res), nil
	}
	cases := []struct{ values, want string }{
		{`{}`, "r-cache,r-queue,app"},
		{`{"cache": {"enabled": false}}`, "r-queue,app"},
		{`{"tags": {"messaging": false}}`, "r-cache,app"},
		{`{"cache": {"enabled": false}, "tags": {"messaging": false}}`, "app"},
	}
	for _, tc := range cases {
		got, err := render(tc.values)
		if err != nil {
			t.Fatalf("%s: %v", tc.values, err)
		}
		if got != tc.want {
			t.Errorf("values %s: got %s, want %s", tc.values, got, tc.want)
		}
	}
	// Another digest of the same revision is another render.
	fetched[0] = fetchedCache(t, "cache", "1.2.4")
	fetched[0].Digest = "sha256:" + strings.Repeat("b", 64)
	write(t, fetched[0].Dir, "cache/templates/cm.yaml", configMap("new-cache"))
	if got, err := render(`{}`); err != nil || got != "new-cache,r-queue,app" {
		t.Errorf("after a new digest: got %s, %v; want new-cache,r-queue,app", got, err)
	}

	t.Run("not fetched", func(t *testing.T) {
		_, err := r.Render(context.Background(), Request{Root: dir, Path: "chart", Helm: HelmOptions{Dependencies: fetched[:1]}})
		if !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), `"queue"`) {
			t.Fatalf("got %v, want ErrRemote naming queue", err)
		}
	})
	t.Run("wrong chart", func(t *testing.T) {
		wrong := fetchedCache(t, "cache", "1.2.3")
		write(t, wrong.Dir, "cache/Chart.yaml", "apiVersion: v2\nname: other\nversion: 1.2.3\n")
		_, err := r.Render(context.Background(), Request{Root: dir, Path: "chart", Helm: HelmOptions{Dependencies: []FetchedChart{wrong, fetched[1]}}})
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "chart/charts/cache-1.2.3.tgz") {
			t.Fatalf("got %v, want ErrMalformed naming the archive", err)
		}
	})
	t.Run("vendored wins", func(t *testing.T) {
		write(t, dir, "chart/charts/cache/Chart.yaml", "apiVersion: v2\nname: cache\nversion: 1.2.0\n")
		write(t, dir, "chart/charts/cache/templates/cm.yaml", configMap("vendored-cache"))
		res, err := r.Render(context.Background(), Request{Root: dir, Path: "chart", Helm: HelmOptions{ReleaseName: "r", Dependencies: fetched}})
		if err != nil {
			t.Fatal(err)
		}
		if got := names(res); got != "vendored-cache,r-queue,app" {
			t.Errorf("got %s, want the vendored cache", got)
		}
	})
	t.Run("limits", func(t *testing.T) {
		big := fetchedCache(t, "queue", "2.0.0")
		write(t, big.Dir, "queue/files/big", strings.Repeat("x", 9<<20))
		_, err := r.Render(context.Background(), Request{Root: dir, Path: "chart", Helm: HelmOptions{Dependencies: []FetchedChart{fetched[0], big}}})
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "queue-2.0.0.tgz/files/big") {
			t.Fatalf("got %v, want ErrTooLarge naming the file of the fetched chart", err)
		}
	})
}

func TestHelmLocalDependencies(t *testing.T) {
	cases := []struct {
		name, repo string
		kind       error
	}{
		{"inside", "file://../lib", nil},
		{"outside", "file://../../lib", ErrOutsideRoot},
		{"absolute", "file:///etc", ErrOutsideRoot},
		{"link out", "file://../out", ErrOutsideRoot},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := helmRepo(t, "app", map[string]string{"templates/cm.yaml": configMap("app")})
			write(t, dir, "lib/Chart.yaml", "apiVersion: v2\nname: lib\nversion: 1.0.0\n")
			write(t, dir, "lib/templates/cm.yaml", configMap("lib"))
			symlink(t, t.TempDir(), filepath.Join(dir, "out"))
			write(t, dir, "chart/Chart.yaml", depChart("  - name: lib\n    version: 1.0.0\n    repository: "+tc.repo+"\n"))
			res, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "chart"})
			if tc.kind == nil {
				if err != nil || names(res) != "lib,app" {
					t.Fatalf("got %v, want lib,app", err)
				}
				return
			}
			t.Log(err)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want %v", err, tc.kind)
			}
		})
	}
}

// TestChartDependenciesKept: with a revision, the list is read once; the
// same revision and path answer again without a read.
func TestChartDependenciesKept(t *testing.T) {
	dir := helmRepo(t, "app", nil)
	write(t, dir, "chart/Chart.yaml", depChart(cacheDep))
	r := New(DefaultOptions())
	req := Request{Root: dir, Path: "chart", Revision: "rev1"}
	first, err := r.ChartDependencies(context.Background(), req)
	if err != nil || len(first) != 1 {
		t.Fatalf("got %v, %v; want cache", first, err)
	}
	first[0].Name = "changed by the caller"
	if err := os.RemoveAll(filepath.Join(dir, "chart")); err != nil {
		t.Fatal(err)
	}
	again, err := r.ChartDependencies(context.Background(), req)
	if err != nil || len(again) != 1 || again[0].Name != "cache" {
		t.Fatalf("the same revision gave %v, %v; want the list kept, unchanged by its caller", again, err)
	}
	req.Revision = "rev2"
	if _, err := r.ChartDependencies(context.Background(), req); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another revision gave %v; want it read (and the chart not found)", err)
	}
}
