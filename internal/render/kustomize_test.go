package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// trimmedSchema knows one custom kind and nothing of Deployments: a build
// using it merges container lists by replacing them.
const trimmedSchema = `{"definitions": {"io.example.v1.Widget": {"type": "object",
  "x-kubernetes-group-version-kind": [{"group": "example.io", "kind": "Widget", "version": "v1"}]}}}`

// schemaRepo has "poisoner", a kustomization with a custom OpenAPI schema and
// a strategic merge patch, and "broken", whose schema does not parse.
func schemaRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write(t, dir, "poisoner/kustomization.yaml", "resources: [widget.yaml]\nopenapi: {path: schema.json}\npatches: [{path: patch.yaml}]\n")
	write(t, dir, "poisoner/widget.yaml", "apiVersion: example.io/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 1}\n")
	write(t, dir, "poisoner/patch.yaml", "apiVersion: example.io/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 2}\n")
	write(t, dir, "poisoner/schema.json", trimmedSchema)
	write(t, dir, "broken/kustomization.yaml", "resources: [widget.yaml]\nopenapi: {path: schema.json}\npatches: [{path: patch.yaml}]\n")
	write(t, dir, "broken/widget.yaml", "apiVersion: example.io/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 1}\n")
	write(t, dir, "broken/patch.yaml", "apiVersion: example.io/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 2}\n")
	write(t, dir, "broken/schema.json", `{"definitions": "not a map"}`)
	return dir
}

// containers lists the container names of the Deployment in a result.
func containers(t *testing.T, res *Result) string {
	t.Helper()
	for _, u := range res.Objects {
		if u.GetKind() != "Deployment" {
			continue
		}
		list, _, _ := unstructuredSlice(u.Object, "spec", "template", "spec", "containers")
		var names []string
		for _, c := range list {
			names = append(names, fmt.Sprint(c.(map[string]any)["name"]))
		}
		return strings.Join(names, ",")
	}
	t.Fatal("no Deployment")
	return ""
}

func unstructuredSlice(obj map[string]any, fields ...string) ([]any, bool, error) {
	var cur any = obj
	for _, f := range fields {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false, nil
		}
		cur = m[f]
	}
	list, ok := cur.([]any)
	return list, ok, nil
}

// A custom OpenAPI schema in one kustomization must not change how later
// builds of other kustomizations merge (fluxcd/pkg#1237).
func TestOpenAPISchemaDoesNotLeak(t *testing.T) {
	dir := schemaRepo(t)
	r := New(Options{CacheEntries: -1})
	ctx := context.Background()
	res, err := r.Render(ctx, Request{Root: dir, Path: "poisoner"})
	if err != nil {
		t.Fatalf("poisoner: %v", err)
	}
	if got := res.Objects[0].Object["spec"].(map[string]any)["size"]; got != int64(2) {
		t.Errorf("poisoner: size %v, want 2", got)
	}
	res, err = r.Render(ctx, Request{Root: repo, Path: "kustomize/overlays/prod"})
	if err != nil {
		t.Fatalf("victim: %v", err)
	}
	if got := containers(t, res); got != "web,sidecar" {
		t.Errorf("victim: containers %s, want web,sidecar: the schema leaked", got)
	}
}

// A schema that makes kustomize panic fails that render only.
func TestOpenAPIBrokenSchema(t *testing.T) {
	dir := schemaRepo(t)
	r := New(Options{CacheEntries: -1})
	_, err := r.Render(context.Background(), Request{Root: dir, Path: "broken"})
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("got %v, want ErrMalformed", err)
	}
	t.Logf("broken schema: %v", err)
	res, err := r.Render(context.Background(), Request{Root: repo, Path: "kustomize/overlays/prod"})
	if err != nil || containers(t, res) != "web,sidecar" {
		t.Fatalf("after a broken schema: %v", err)
	}
}

// Renders run at once, some with a schema of their own: each result is what
// it would be alone (go test -race checks the shared state).
func TestKustomizeConcurrent(t *testing.T) {
	dir := schemaRepo(t)
	r := New(Options{CacheEntries: -1})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch i % 4 {
			case 0:
				if _, err := r.Render(context.Background(), Request{Root: dir, Path: "poisoner"}); err != nil {
					errs <- fmt.Errorf("poisoner: %w", err)
				}
			case 1:
				if _, err := r.Render(context.Background(), Request{Root: dir, Path: "broken"}); err == nil {
					errs <- errors.New("broken: no error")
				}
			default:
				res, err := r.Render(context.Background(), Request{Root: repo, Path: "kustomize/overlays/prod"})
				if err != nil {
					errs <- err
				} else if got := containers(t, res); got != "web,sidecar" {
					errs <- fmt.Errorf("overlay: containers %s", got)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestKustomizeErrorsAreRelative(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "apps/web/kustomization.yaml", "resources: [missing.yaml]\n")
	_, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "apps/web"})
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "apps/web/missing.yaml") || strings.Contains(msg, mount+"/") || strings.Contains(msg, dir) {
		t.Errorf("error should name apps/web/missing.yaml relative to the repository: %s", msg)
	}
}

// captureOutput runs fn with os.Stdout and os.Stderr sent to pipes and
// returns what was written to them.
func captureOutput(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = w, w
	got := make(chan string)
	go func() {
		data, _ := io.ReadAll(r)
		got <- string(data)
	}()
	defer func() {
		os.Stdout, os.Stderr = stdout, stderr
	}()
	fn()
	os.Stdout, os.Stderr = stdout, stderr
	_ = w.Close()
	return <-got
}

// A kustomization with deprecated fields renders, its warnings in the
// result naming the file, and nothing reaches the process's output
// (kustomize prints them to stderr itself).
func TestKustomizeDeprecationWarnings(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "base/kustomization.yaml", "resources: [cm.yaml]\n")
	write(t, dir, "base/cm.yaml", configMap("settings"))
	write(t, dir, "app/kustomization.yaml", "bases: [../base]\ncommonLabels: {team: shop}\n")
	var res *Result
	var err error
	out := captureOutput(t, func() {
		res, err = New(Options{CacheEntries: -1}).Render(context.Background(), Request{Root: dir, Path: "app"})
	})
	if err != nil {
		t.Fatal(err)
	}
	if out != "" {
		t.Errorf("the render wrote to stdout or stderr:\n%s", out)
	}
	if len(res.Objects) != 1 || res.Objects[0].GetLabels()["team"] != "shop" {
		t.Errorf("objects: %v", res.Objects)
	}
	want := []string{
		"app/kustomization.yaml: 'bases' is deprecated. Please use 'resources' instead. Run 'kustomize edit fix' to update your Kustomization automatically.",
		"app/kustomization.yaml: 'commonLabels' is deprecated. Please use 'labels' instead. Run 'kustomize edit fix' to update your Kustomization automatically.",
	}
	if diff := cmp.Diff(want, res.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// What else is written to stderr while kustomize's warnings are dropped
// still gets there.
func TestForwardLines(t *testing.T) {
	in := "# Warning: 'bases' is deprecated.\nE1205 other component\n# Warning: 'vars' is deprecated.\npartial"
	var out bytes.Buffer
	forwardLines(strings.NewReader(in), &out)
	if got := out.String(); got != "E1205 other component\npartial" {
		t.Errorf("got %q", got)
	}
}

// cacheChart writes a chart "cache" with a CRD, a hook and a Deployment.
func cacheChart(t *testing.T, dir, at string) {
	t.Helper()
	write(t, dir, at+"/Chart.yaml", "apiVersion: v2\nname: cache\nversion: 1.2.0\n")
	write(t, dir, at+"/values.yaml", "replicas: 1\nimage: cache:1\n")
	write(t, dir, at+"/crds/policy.yaml", "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: policies.example.com}\n")
	write(t, dir, at+"/templates/deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: '{{ .Release.Name }}', namespace: '{{ .Release.Namespace }}'}\n"+
		"spec: {replicas: {{ .Values.replicas }}, template: {spec: {containers: [{name: c, image: '{{ .Values.image }}'}]}}}\n")
	write(t, dir, at+"/templates/hook.yaml", "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: '{{ .Release.Name }}-migrate'\n  annotations: {helm.sh/hook: pre-install}\n")
}

func TestKustomizeHelmCharts(t *testing.T) {
	cases := []struct {
		name  string
		kust  string
		files map[string]string
		want  string // kind/name=replicas,image of the objects
		err   error
		msg   string
	}{
		{name: "defaults", kust: "helmCharts: [{name: cache}]\n",
			want: "Deployment/cache(default)=1,cache:1 Job/cache-migrate"},
		{name: "release and namespace", kust: "helmCharts: [{name: cache, releaseName: shop, namespace: shop}]\n",
			want: "Deployment/shop(shop)=1,cache:1 Job/shop-migrate"},
		{name: "CRDs included", kust: "helmCharts: [{name: cache, includeCRDs: true}]\n",
			want: "CustomResourceDefinition/policies.example.com Deployment/cache(default)=1,cache:1 Job/cache-migrate"},
		{name: "hooks skipped", kust: "helmCharts: [{name: cache, skipHooks: true}]\n",
			want: "Deployment/cache(default)=1,cache:1"},
		{name: "inline over file", kust: "helmCharts: [{name: cache, valuesFile: v.yaml, valuesInline: {replicas: 3}}]\n",
			files: map[string]string{"v.yaml": "replicas: 2\nimage: cache:2\n"},
			want:  "Deployment/cache(default)=3,cache:2 Job/cache-migrate"},
		{name: "file over inline", kust: "helmCharts: [{name: cache, valuesFile: v.yaml, valuesMerge: merge, valuesInline: {replicas: 3}}]\n",
			files: map[string]string{"v.yaml": "replicas: 2\n"},
			want:  "Deployment/cache(default)=2,cache:1 Job/cache-migrate"},
		{name: "inline alone", kust: "helmCharts: [{name: cache, valuesFile: v.yaml, valuesMerge: replace, valuesInline: {replicas: 3}}]\n",
			files: map[string]string{"v.yaml": "image: cache:2\n"},
			want:  "Deployment/cache(default)=3,cache:1 Job/cache-migrate"},
		{name: "additional files last", kust: "helmCharts: [{name: cache, valuesInline: {replicas: 3}, additionalValuesFiles: [more.yaml]}]\n",
			files: map[string]string{"more.yaml": "replicas: 4\n"},
			want:  "Deployment/cache(default)=4,cache:1 Job/cache-migrate"},
		{name: "chart home", kust: "helmGlobals: {chartHome: ../vendor}\nhelmCharts: [{name: cache}]\n",
			want: "Deployment/cache(default)=1,cache:1 Job/cache-migrate"},
		{name: "component", kust: "components: [../comp]\n",
			want: "Deployment/cache(default)=1,cache:1 Job/cache-migrate"},
		{name: "remote chart", kust: "helmCharts: [{name: podinfo, repo: 'https://user:pw@charts.example.com', version: 6.0.0}]\n",
			err: ErrUnsupported, msg: `app/kustomization.yaml: helmCharts entry "podinfo" from "https://***@charts.example.com" is not in the repository at app/charts/podinfo-6.0.0/podinfo`},
		{name: "missing chart", kust: "helmCharts: [{name: web}]\n",
			err: ErrNotFound, msg: `helmCharts entry "web": there is no chart at app/charts/web`},
		{name: "chart home outside", kust: "helmGlobals: {chartHome: ../../x}\nhelmCharts: [{name: cache}]\n",
			err: ErrOutsideRoot},
		{name: "values file outside", kust: "helmCharts: [{name: cache, valuesFile: ../../v.yaml}]\n",
			err: ErrOutsideRoot},
		{name: "name template", kust: "helmCharts: [{name: cache, nameTemplate: x}]\n",
			err: ErrUnsupported},
		{name: "bad values merge", kust: "helmCharts: [{name: cache, valuesMerge: deep}]\n",
			err: ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cacheChart(t, dir, "app/charts/cache")
			cacheChart(t, dir, "vendor/cache")
			write(t, dir, "comp/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nhelmCharts: [{name: cache}]\n")
			cacheChart(t, dir, "comp/charts/cache")
			write(t, dir, "app/kustomization.yaml", tc.kust)
			for f, c := range tc.files {
				write(t, dir, "app/"+f, c)
			}
			res, err := New(Options{CacheEntries: -1}).Render(context.Background(), Request{Root: dir, Path: "app"})
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(fmt.Sprint(err), tc.msg) {
					t.Fatalf("got %v, want %v with %q", err, tc.err, tc.msg)
				}
				if strings.Contains(fmt.Sprint(err), "pw@") {
					t.Errorf("the error shows the repository's password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := summarize(res); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func summarize(res *Result) string {
	var parts []string
	for _, u := range res.Objects {
		s := u.GetKind() + "/" + u.GetName()
		if u.GetKind() == "Deployment" {
			replicas, _, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "replicas")
			list, _, _ := unstructuredSlice(u.Object, "spec", "template", "spec", "containers")
			s += fmt.Sprintf("(%s)=%v,%v", u.GetNamespace(), replicas, list[0].(map[string]any)["image"])
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// A chart's output meets the render's limits: objects, and bytes.
func TestKustomizeHelmChartsBounded(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "app/charts/many/Chart.yaml", "apiVersion: v2\nname: many\nversion: 1.0.0\n")
	write(t, dir, "app/charts/many/templates/cms.yaml",
		"{{ range until 50 }}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: 'cm-{{ . }}'}\ndata: {pad: '{{ repeat 2000 \"x\" }}'}\n{{ end }}")
	write(t, dir, "app/kustomization.yaml", "helmCharts: [{name: many}]\n")
	ctx := context.Background()
	if _, err := New(Options{CacheEntries: -1}).Render(ctx, Request{Root: dir, Path: "app"}); err != nil {
		t.Fatalf("within the limits: %v", err)
	}
	_, err := New(Options{CacheEntries: -1, MaxObjects: 40}).Render(ctx, Request{Root: dir, Path: "app"})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("40 objects at most: got %v", err)
	}
	_, err = New(Options{CacheEntries: -1, MaxTotalBytes: 64 << 10}).Render(ctx, Request{Root: dir, Path: "app"})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("64 KiB at most: got %v", err)
	}
}
