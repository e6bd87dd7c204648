package render

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// repo is the fixture repository the golden tests render.
const repo = "testdata/repo"

func TestRenderGolden(t *testing.T) {
	cases := []struct {
		name string
		path string
		ko   KustomizeOptions
	}{
		{name: "plain", path: "plain"},
		{name: "plain-one-file", path: "plain/workloads/web.yaml"},
		{name: "kustomize-base", path: "kustomize/base"},
		{name: "kustomize-overlay", path: "kustomize/overlays/prod"},
		// bases (deprecated), components, replacements, configMapGenerator files.
		{name: "kustomize-legacy", path: "kustomize/overlays/legacy"},
		// helmCharts: a chart vendored where `helm pull` puts it, with values.
		{name: "kustomize-helm-charts", path: "kustomize/charts-app"},
		{name: "kustomize-overlay-options", path: "kustomize/overlays/prod", ko: KustomizeOptions{
			NamePrefix: "eu-",
			Images:     []Image{{Name: "nginx", NewName: "registry.example.com/nginx", Digest: "sha256:" + strings.Repeat("ab", 32)}},
			Patches: []Patch{{
				Target: &Selector{Kind: "Service"},
				Patch:  "- op: add\n  path: /metadata/annotations\n  value: {team: web}\n",
			}},
		}},
		{name: "plain-options", path: "plain", ko: KustomizeOptions{
			NamePrefix: "blue-",
			Images:     []Image{{Name: "nginx", NewTag: "1.28"}},
			Patches: []Patch{{
				Target: &Selector{Group: "apps", Kind: "Deployment", Name: "web"},
				Patch:  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n",
			}},
		}},
	}
	r := New(DefaultOptions())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := r.Render(context.Background(), Request{Root: repo, Path: tc.path, Kustomize: tc.ko})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			checkGolden(t, filepath.Join("testdata", "golden", tc.name+".yaml"), resultYAML(t, res))
		})
	}
}

// resultYAML prints a result as a YAML stream, the kind in a comment.
func resultYAML(t *testing.T, res *Result) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("# kind: " + string(res.Kind) + "\n")
	for _, w := range res.Warnings {
		b.WriteString("# warning: " + w + "\n")
	}
	for _, u := range res.Objects {
		data, err := yaml.Marshal(u.Object)
		if err != nil {
			t.Fatalf("marshal %s: %v", u.GetName(), err)
		}
		b.WriteString("---\n")
		b.Write(data)
	}
	return b.Bytes()
}

func checkGolden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", file, diff)
	}
}

func TestRenderDeterministic(t *testing.T) {
	r := New(Options{CacheEntries: -1})
	var first []byte
	for i := 0; i < 3; i++ {
		for _, p := range []string{"plain", "kustomize/overlays/prod"} {
			res, err := r.Render(context.Background(), Request{Root: repo, Path: p})
			if err != nil {
				t.Fatal(err)
			}
			out := resultYAML(t, res)
			if p == "plain" {
				if first != nil && !bytes.Equal(first, out) {
					t.Fatalf("render %d of %s differs from the first", i, p)
				}
				first = out
			}
		}
	}
}

func TestRenderKindDetection(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a/Kustomization", "resources: [cm.yaml]\n")
	write(t, dir, "a/cm.yaml", configMap("one"))
	write(t, dir, "b/kustomization.yml", "resources: [cm.yaml]\n")
	write(t, dir, "b/cm.yaml", configMap("two"))
	write(t, dir, "c/cm.yaml", configMap("three"))
	r := New(DefaultOptions())
	for path, want := range map[string]Kind{"a": KindKustomize, "b": KindKustomize, "c": KindPlain, "": KindPlain, "c/cm.yaml": KindPlain} {
		res, err := r.Render(context.Background(), Request{Root: dir, Path: path})
		if path == "" {
			// The root holds two kustomizations' files: a plain render
			// reads them as manifests and finds no apiVersion.
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("root: got %v, want ErrMalformed", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if res.Kind != want {
			t.Errorf("%s: kind %s, want %s", path, res.Kind, want)
		}
	}
}

func TestRenderNotFound(t *testing.T) {
	r := New(DefaultOptions())
	_, err := r.Render(context.Background(), Request{Root: repo, Path: "no/such/app"})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "no/such/app") {
		t.Fatalf("got %v, want ErrNotFound naming the path", err)
	}
	_, err = r.Render(context.Background(), Request{Root: filepath.Join(t.TempDir(), "gone"), Path: "."})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing root: got %v, want ErrNotFound", err)
	}
	if strings.Contains(err.Error(), t.TempDir()) {
		t.Errorf("error names a machine path: %v", err)
	}
}

func TestRenderCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := New(DefaultOptions()).Render(ctx, Request{Root: repo, Path: "plain"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// write creates dir/name with content, making folders as needed.
func write(t testing.TB, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func configMap(name string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  key: value\n"
}

func TestRenderWaitsForASlot(t *testing.T) {
	r := New(Options{MaxConcurrent: 1})
	r.slots <- struct{}{} // a render is running
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := r.Render(ctx, Request{Root: repo, Path: "plain"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want to wait until the deadline", err)
	}
	<-r.slots
	if _, err := r.Render(context.Background(), Request{Root: repo, Path: "plain"}); err != nil {
		t.Fatal(err)
	}
}
