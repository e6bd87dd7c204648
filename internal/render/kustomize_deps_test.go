package render

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A helmCharts entry with a repo lists its chart for fetching unless the
// repository vendors it, through the kustomizations the path reads.
func TestChartDependenciesKustomize(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "app/kustomization.yaml", "resources: [../base]\nhelmCharts:\n"+
		"- {name: cache, repo: 'https://charts.example.com/stable', version: 1.2.3}\n"+
		"- {name: web, repo: 'https://charts.example.com/stable', version: 1.0.0}\n")
	cacheChart(t, dir, "app/charts/web-1.0.0/web") // vendored: it wins
	write(t, dir, "base/kustomization.yaml", "helmCharts: [{name: queue, repo: 'oci://registry.example.com/charts'}]\n")
	r := New(Options{})
	got, err := r.ChartDependencies(context.Background(), Request{Root: dir, Path: "app"})
	if err != nil {
		t.Fatal(err)
	}
	want := []ChartDependency{
		{Name: "cache", Repository: "https://charts.example.com/stable", Version: "1.2.3"},
		{Name: "queue", Repository: "oci://registry.example.com/charts"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dependencies (-want +got):\n%s", diff)
	}

	write(t, dir, "app/kustomization.yaml", "helmCharts: [{name: cache, repo: 'https://charts.example.com/stable', version: '~1.2'}]\n")
	if _, err := r.ChartDependencies(context.Background(), Request{Root: dir, Path: "app"}); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), `version "~1.2" is not an exact version`) {
		t.Errorf("a version range: got %v", err)
	}
}

// A fetched chart stands in for a helmCharts entry's chart that the
// repository does not vendor; without it the entry is refused as before.
func TestKustomizeHelmChartsFetched(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "app/kustomization.yaml", "helmCharts: [{name: cache, repo: 'https://charts.example.com/stable/', version: 1.2.3, releaseName: shop}]\n")
	r := New(Options{CacheEntries: -1})
	req := Request{Root: dir, Path: "app", Helm: HelmOptions{Dependencies: []FetchedChart{fetchedCache(t, "cache", "1.2.3")}}}
	res, err := r.Render(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := summarize(res); got != "ConfigMap/shop-cache" {
		t.Errorf("got %s, want the fetched chart's ConfigMap", got)
	}

	// Another version than the entry's is not used.
	req.Helm.Dependencies = []FetchedChart{fetchedCache(t, "cache", "1.2.4")}
	_, err = r.Render(context.Background(), req)
	msg := `helmCharts entry "cache" from "https://charts.example.com/stable/" is not in the repository at app/charts/cache-1.2.3/cache`
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(fmt.Sprint(err), msg) {
		t.Errorf("another version fetched: got %v, want %q", err, msg)
	}
	req.Helm.Dependencies = nil
	if _, err = r.Render(context.Background(), req); !errors.Is(err, ErrUnsupported) || !strings.Contains(fmt.Sprint(err), msg) {
		t.Errorf("nothing fetched: got %v, want %q", err, msg)
	}

	// A vendored chart wins over a fetched one.
	cacheChart(t, dir, "app/charts/cache-1.2.3/cache")
	req.Helm.Dependencies = []FetchedChart{fetchedCache(t, "cache", "1.2.3")}
	if res, err = r.Render(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if got := summarize(res); got != "Deployment/shop(default)=1,cache:1 Job/shop-migrate" {
		t.Errorf("got %s, want the vendored chart's objects", got)
	}
}
