package render

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const webChart = "helm/web"

func TestHelmGolden(t *testing.T) {
	cases := []struct {
		name string
		ho   HelmOptions
	}{
		{name: "helm-defaults"},
		{name: "helm-options", ho: HelmOptions{
			ReleaseName: "shop",
			Namespace:   "prod",
			ValueFiles:  []string{"values-small.yaml", "../values/prod.yaml"},
			Values:      []byte(`{"replicaCount": 5, "greeting": "bonjour"}`),
			KubeVersion: "v1.37.2",
		}},
	}
	r := New(DefaultOptions())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := r.Render(context.Background(), Request{Root: repo, Path: webChart, Helm: tc.ho})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			checkGolden(t, filepath.Join("testdata", "golden", tc.name+".yaml"), resultYAML(t, res))
		})
	}
}

// helmRepo writes a chart "chart" (Chart.yaml named name, plus files) into
// a new repository folder and returns it.
func helmRepo(t *testing.T, name string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	write(t, dir, "chart/Chart.yaml", "apiVersion: v2\nname: "+name+"\nversion: 0.1.0\n")
	for f, c := range files {
		write(t, dir, "chart/"+f, c)
	}
	return dir
}

func TestHelmDetectedFirst(t *testing.T) {
	dir := helmRepo(t, "both", map[string]string{
		"kustomization.yaml": "resources: [cm.yaml]\n",
		"cm.yaml":            configMap("from-kustomize"),
		"templates/cm.yaml":  configMap("from-helm"),
	})
	res, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "chart"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Kind != KindHelm || names(res) != "from-helm" {
		t.Fatalf("got kind %s with %s, want the Helm chart", res.Kind, names(res))
	}
}

// replicas returns the Deployment's spec.replicas in a result.
func replicas(t *testing.T, res *Result) any {
	t.Helper()
	for _, u := range res.Objects {
		if u.GetKind() == "Deployment" {
			return u.Object["spec"].(map[string]any)["replicas"]
		}
	}
	t.Fatal("no Deployment")
	return nil
}

func TestHelmCacheKeyedByHelmInputs(t *testing.T) {
	r := New(DefaultOptions())
	ctx := context.Background()
	req := func(values string, release string) Request {
		ho := HelmOptions{ReleaseName: release, Namespace: "prod", KubeVersion: "v1.37.2"}
		if values != "" {
			ho.Values = []byte(values)
		}
		return Request{Root: repo, Path: webChart, Revision: "abc123", Helm: ho}
	}
	steps := []struct {
		req  Request
		want any // the Deployment's replicas
	}{
		{req(`{"replicaCount": 2}`, "shop"), int64(2)},
		{req(`{"replicaCount": 4}`, "shop"), int64(4)}, // values changed: rendered again
		{req(`{"replicaCount": 2}`, "shop"), int64(2)}, // a hit
		{req(`{"replicaCount": 2}`, "cart"), int64(2)}, // release changed: rendered again
	}
	for i, s := range steps {
		res, err := r.Render(ctx, s.req)
		if err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
		if got := replicas(t, res); got != s.want {
			t.Errorf("step %d: replicas %v, want %v", i+1, got, s.want)
		}
	}
	if diff := cmp.Diff(Stats{Renders: 3, Hits: 1, Entries: 3}, countsOf(r)); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}

	// A release name means nothing to a plain folder: every Application
	// rendering it shares one render.
	r = New(DefaultOptions())
	for _, release := range []string{"a", "b"} {
		ho := HelmOptions{ReleaseName: release, Namespace: release, KubeVersion: "v1.37.2"}
		if _, err := r.Render(ctx, Request{Root: repo, Path: "plain", Revision: "abc123", Helm: ho}); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(Stats{Renders: 1, Hits: 1, Entries: 1}, countsOf(r)); diff != "" {
		t.Errorf("plain folder stats (-want +got):\n%s", diff)
	}
}

func TestHelmValuesOnAPlainFolderRefused(t *testing.T) {
	_, err := New(DefaultOptions()).Render(context.Background(), Request{Root: repo, Path: "plain",
		Helm: HelmOptions{Values: []byte(`{"replicaCount": 2}`)}})
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "not a Helm chart") {
		t.Fatalf("got %v, want ErrMalformed saying the path is not a chart", err)
	}
}

func TestHelmBadOptionsRefusedUnread(t *testing.T) {
	cases := map[string]struct {
		ho   HelmOptions
		kind error
	}{
		"value file climbing out":      {HelmOptions{ValueFiles: []string{"../../../secret.yaml"}}, ErrInvalidPath},
		"value file absolute":          {HelmOptions{ValueFiles: []string{"/etc/passwd"}}, ErrInvalidPath},
		"value file URL-encoded":       {HelmOptions{ValueFiles: []string{"%2e%2e/%2e%2e/secret.yaml"}}, ErrInvalidPath},
		"value file with NUL":          {HelmOptions{ValueFiles: []string{"values.yaml\x00"}}, ErrInvalidPath},
		"value file empty":             {HelmOptions{ValueFiles: []string{""}}, ErrInvalidPath},
		"value file URL":               {HelmOptions{ValueFiles: []string{"https://user:token@example.com/values.yaml"}}, ErrRemote},
		"values not an object":         {HelmOptions{Values: []byte(`[1, 2]`)}, ErrMalformed},
		"values not JSON":              {HelmOptions{Values: []byte(`{replicas:`)}, ErrMalformed},
		"values nested too deep":       {HelmOptions{Values: []byte(strings.Repeat(`{"a":`, 200) + "1" + strings.Repeat("}", 200))}, ErrTooLarge},
		"kube version not a version":   {HelmOptions{KubeVersion: "latest"}, ErrMalformed},
		"API version with a line feed": {HelmOptions{APIVersions: []string{"v1\nx"}}, ErrMalformed},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			// The root does not exist: a refusal before any read cannot
			// depend on what is there.
			_, err := New(DefaultOptions()).Render(context.Background(), Request{Root: filepath.Join(t.TempDir(), "none"), Path: "chart", Helm: tc.ho})
			t.Log(err)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want %v", err, tc.kind)
			}
			if strings.Contains(err.Error(), "token") {
				t.Errorf("error shows a credential: %v", err)
			}
		})
	}
}

func TestHelmSymlinksOutOfTheRepository(t *testing.T) {
	cases := []struct {
		name     string
		setup    func(t *testing.T, base, repo string)
		ho       HelmOptions
		wantFile string
	}{{
		name: "value file",
		setup: func(t *testing.T, base, repo string) {
			symlink(t, filepath.Join(base, "secret.yaml"), filepath.Join(repo, "chart/values-prod.yaml"))
		},
		ho:       HelmOptions{ValueFiles: []string{"values-prod.yaml"}},
		wantFile: "chart/values-prod.yaml",
	}, {
		name: "chart values.yaml",
		setup: func(t *testing.T, base, repo string) {
			symlink(t, "../../secret.yaml", filepath.Join(repo, "chart/values.yaml"))
		},
		wantFile: "chart/values.yaml",
	}, {
		name: "template",
		setup: func(t *testing.T, base, repo string) {
			symlink(t, filepath.Join(base, "secret.yaml"), filepath.Join(repo, "chart/templates/stolen.yaml"))
		},
		wantFile: "chart/templates/stolen.yaml",
	}, {
		name: "chart file read by .Files",
		setup: func(t *testing.T, base, repo string) {
			symlink(t, filepath.Join(base, "secretdir"), filepath.Join(repo, "chart/files"))
		},
		wantFile: "chart/files",
	}, {
		name: "link listed in .helmignore",
		setup: func(t *testing.T, base, repo string) {
			write(t, repo, "chart/.helmignore", "stolen.yaml\n")
			symlink(t, "../../secret.yaml", filepath.Join(repo, "chart/stolen.yaml"))
		},
		wantFile: "chart/stolen.yaml",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := outsideRepo(t)
			repoDir := filepath.Join(base, "repo")
			write(t, repoDir, "chart/Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n")
			write(t, repoDir, "chart/templates/cm.yaml", configMap("app"))
			tc.setup(t, base, repoDir)
			_, err := New(DefaultOptions()).Render(context.Background(), Request{Root: repoDir, Path: "chart", Helm: tc.ho})
			t.Log(err)
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrOutsideRoot) || e.File != tc.wantFile {
				t.Fatalf("got %v, want ErrOutsideRoot naming %s", err, tc.wantFile)
			}
			if strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), strings.ToLower(canary)) {
				t.Errorf("error leaks the target: %v", err)
			}
		})
	}
}

func TestHelmSymlinksInsideTheRepository(t *testing.T) {
	dir := helmRepo(t, "app", map[string]string{"templates/cm.yaml": configMap("own")})
	write(t, dir, "shared/cm.yaml", configMap("shared"))
	write(t, dir, "shared/values.yaml", "replicaCount: 7\n")
	symlink(t, "../../shared/cm.yaml", filepath.Join(dir, "chart/templates/shared.yaml"))
	symlink(t, "../shared/values.yaml", filepath.Join(dir, "chart/values-shared.yaml"))
	res, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "chart",
		Helm: HelmOptions{ValueFiles: []string{"values-shared.yaml", "../shared/values.yaml"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res); got != "own,shared" {
		t.Fatalf("got %s, want own,shared", got)
	}
}

func TestHelmDependencies(t *testing.T) {
	const deps = "dependencies:\n  - name: cache\n    version: 1.x\n    repository: https://user:s3cret@charts.example.com/stable\n"
	t.Run("not vendored", func(t *testing.T) {
		dir := helmRepo(t, "app", map[string]string{"templates/cm.yaml": configMap("app")})
		write(t, dir, "chart/Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n"+deps)
		_, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "chart"})
		t.Log(err)
		if !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), `"cache"`) ||
			!strings.Contains(err.Error(), "charts.example.com/stable") || !strings.Contains(err.Error(), "chart/Chart.yaml") {
			t.Fatalf("got %v, want ErrRemote naming the dependency, its repository and Chart.yaml", err)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error shows the repository password: %v", err)
		}
	})
	t.Run("vendored folder", func(t *testing.T) {
		dir := helmRepo(t, "app", map[string]string{
			"templates/cm.yaml":             configMap("app"),
			"charts/cache/Chart.yaml":       "apiVersion: v2\nname: cache\nversion: 1.2.0\n",
			"charts/cache/templates/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cache\n",
		})
		write(t, dir, "chart/Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n"+deps)
		res, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "chart", Helm: HelmOptions{ReleaseName: "r"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := names(res); got != "r-cache,app" { // by template path: charts/ before templates/
			t.Fatalf("got %s, want r-cache,app", got)
		}
	})
	t.Run("vendored archive", func(t *testing.T) {
		dir := helmRepo(t, "app", map[string]string{"templates/cm.yaml": configMap("app")})
		write(t, dir, "chart/Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n"+deps)
		writeArchive(t, filepath.Join(dir, "chart/charts/cache-1.2.0.tgz"), map[string]string{
			"cache/Chart.yaml":       "apiVersion: v2\nname: cache\nversion: 1.2.0\n",
			"cache/templates/a.yaml": configMap("cache"),
		})
		res, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "chart"})
		if err != nil {
			t.Fatal(err)
		}
		if got := names(res); got != "cache,app" {
			t.Fatalf("got %s, want cache,app", got)
		}
	})
	t.Run("archive bomb", func(t *testing.T) {
		dir := helmRepo(t, "app", map[string]string{"templates/cm.yaml": configMap("app")})
		writeArchive(t, filepath.Join(dir, "chart/charts/bomb-1.0.0.tgz"), map[string]string{
			"bomb/Chart.yaml":  "apiVersion: v2\nname: bomb\nversion: 1.0.0\n",
			"bomb/files/zeros": strings.Repeat("\x00", 9<<20), // compresses to a few KiB
		})
		_, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "chart"})
		t.Log(err)
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "bomb-1.0.0.tgz") {
			t.Fatalf("got %v, want ErrTooLarge naming the archive", err)
		}
	})
}

// writeArchive writes a gzipped tar of files.
func writeArchive(t *testing.T, file string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, content := range files {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestHelmChartNameWithPathParts(t *testing.T) {
	for _, name := range []string{"../evil", "a/b", `"..\\evil"`} {
		dir := helmRepo(t, name, map[string]string{"templates/cm.yaml": configMap("app")})
		_, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "chart"})
		t.Log(err)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "chart") {
			t.Errorf("name %s: got %v, want ErrMalformed", name, err)
		}
	}
}

func TestHelmTemplateErrorsNameTheFile(t *testing.T) {
	cases := map[string]string{
		"nil value":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.missing.deep }}\n",
		"fail":        "{{ fail \"replicas must be set\" }}\n",
		"parse error": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name \n",
		"bad output":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n",
	}
	for name, tmpl := range cases {
		t.Run(name, func(t *testing.T) {
			dir := helmRepo(t, "app", map[string]string{
				"templates/good.yaml":   configMap("good"),
				"templates/broken.yaml": tmpl,
			})
			_, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "chart"})
			t.Log(err)
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrMalformed) || e.File != "chart/templates/broken.yaml" {
				t.Fatalf("got %v, want ErrMalformed naming chart/templates/broken.yaml", err)
			}
			if strings.Contains(err.Error(), dir) {
				t.Errorf("error names a machine path: %v", err)
			}
		})
	}
}

func TestHelmValuesSchema(t *testing.T) {
	cases := map[string]struct {
		schema string
		kind   error // nil: the render succeeds
	}{
		"local reference": {`{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
			"properties": {"replicaCount": {"$ref": "#/definitions/count"}},
			"definitions": {"count": {"type": "integer", "minimum": 1}}}`, nil},
		"value refused":       {`{"type": "object", "properties": {"replicaCount": {"type": "integer", "maximum": 1}}}`, ErrMalformed},
		"remote reference":    {`{"type": "object", "properties": {"replicaCount": {"$ref": "http://169.254.169.254/latest/meta-data"}}}`, ErrRemote},
		"file reference":      {`{"type": "object", "properties": {"x": {"$ref": "file:///etc/passwd"}}}`, ErrRemote},
		"unknown meta-schema": {`{"$schema": "https://schemas.example.com/evil", "type": "object"}`, ErrRemote},
		"nested too deep":     {strings.Repeat(`{"not":`, 200) + "{}" + strings.Repeat("}", 200), ErrTooLarge},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := helmRepo(t, "app", map[string]string{
				"values.yaml":        "replicaCount: 2\n",
				"values.schema.json": tc.schema,
				"templates/cm.yaml":  configMap("app"),
			})
			_, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "chart"})
			t.Log(err)
			if tc.kind == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want %v", err, tc.kind)
			}
		})
	}
}

func TestHelmAliasBombInValues(t *testing.T) {
	dir := helmRepo(t, "app", map[string]string{
		"values.yaml":       billionLaughs(9),
		"templates/cm.yaml": configMap("app"),
	})
	_, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "chart"})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "chart/values.yaml") {
		t.Fatalf("got %v, want ErrTooLarge naming values.yaml", err)
	}
}

func TestHelmHugeOutputRefused(t *testing.T) {
	dir := helmRepo(t, "app", map[string]string{
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  blob: {{ repeat 9000000 \"x\" }}\n",
	})
	_, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "chart"})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "chart/templates/cm.yaml") {
		t.Fatalf("got %v, want ErrTooLarge naming the template", err)
	}
}

func TestHelmKustomizeOptionsPostRender(t *testing.T) {
	res, err := New(DefaultOptions()).Render(context.Background(), Request{Root: repo, Path: webChart,
		Helm:      HelmOptions{ReleaseName: "shop"},
		Kustomize: KustomizeOptions{NamePrefix: "eu-", Images: []Image{{Name: "registry.example.com/web", NewTag: "3.0.0"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(res), "widgets.example.com,eu-shop-web,eu-shop-web,eu-shop-web,eu-shop-web-migrate"; got != want {
		t.Errorf("names %s, want %s", got, want)
	}
	for _, u := range res.Objects {
		if u.GetKind() != "Deployment" {
			continue
		}
		list, _, _ := unstructuredSlice(u.Object, "spec", "template", "spec", "containers")
		if image := list[0].(map[string]any)["image"]; image != "registry.example.com/web:3.0.0" {
			t.Errorf("image %v, want the kustomize image tag", image)
		}
	}
}
