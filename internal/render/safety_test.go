package render

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// canary marks content that lies outside the repository: it must never
// appear in a result or an error.
const canary = "CANARY-d41d8cd98f00"

// outsideRepo makes a folder with a repository "repo" and, beside it, files
// that the repository must not reach: secret.yaml (a valid manifest), the
// folder secretdir/ and a patch. It returns the folder.
func outsideRepo(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	write(t, base, "secret.yaml", configMap("stolen-"+strings.ToLower(canary)))
	write(t, base, "secretdir/cm.yaml", configMap("stolen-dir-"+strings.ToLower(canary)))
	write(t, base, "secret-patch.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {stolen: "+canary+"}\n")
	write(t, base, "repo/app/cm.yaml", configMap("app"))
	return base
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

type escapeCase struct {
	name string
	// setup adds files and links under base/repo; base holds the
	// targets. It returns the path to render.
	setup    func(t *testing.T, base, repo string) string
	wantFile string // the repository file the error must name
}

// escapeCases are links (and one kustomization file) that lead out of the
// repository, each with the repository file its error must name.
func escapeCases() []escapeCase {
	return []escapeCase{
		{
			name: "manifest file, relative link",
			setup: func(t *testing.T, base, repo string) string {
				symlink(t, "../../secret.yaml", filepath.Join(repo, "app/stolen.yaml"))
				return "app"
			},
			wantFile: "app/stolen.yaml",
		},
		{
			name: "manifest file, absolute link",
			setup: func(t *testing.T, base, repo string) string {
				symlink(t, filepath.Join(base, "secret.yaml"), filepath.Join(repo, "app/stolen.yaml"))
				return "app"
			},
			wantFile: "app/stolen.yaml",
		},
		{
			name: "folder",
			setup: func(t *testing.T, base, repo string) string {
				symlink(t, filepath.Join(base, "secretdir"), filepath.Join(repo, "app/shared"))
				return "app"
			},
			wantFile: "app/shared",
		},
		{
			name: "link named like a non-manifest",
			setup: func(t *testing.T, base, repo string) string {
				symlink(t, "../../secretdir", filepath.Join(repo, "app/docs"))
				return "app"
			},
			wantFile: "app/docs",
		},
		{
			name: "the requested path itself",
			setup: func(t *testing.T, base, repo string) string {
				symlink(t, filepath.Join(base, "secretdir"), filepath.Join(repo, "linked"))
				return "linked"
			},
			wantFile: "linked",
		},
		{
			name: "a link to a link that leaves",
			setup: func(t *testing.T, base, repo string) string {
				symlink(t, "..", filepath.Join(repo, "up"))
				symlink(t, "../up/secret.yaml", filepath.Join(repo, "app/stolen.yaml"))
				return "app"
			},
			wantFile: "up",
		},
		{
			name: "kustomize resource",
			setup: func(t *testing.T, base, repo string) string {
				write(t, repo, "k/kustomization.yaml", "resources: [cm.yaml, stolen.yaml]\n")
				write(t, repo, "k/cm.yaml", configMap("app"))
				symlink(t, "../../secret.yaml", filepath.Join(repo, "k/stolen.yaml"))
				return "k"
			},
			wantFile: "k/stolen.yaml",
		},
		{
			name: "kustomize base folder",
			setup: func(t *testing.T, base, repo string) string {
				write(t, repo, "k/kustomization.yaml", "resources: [../base]\n")
				symlink(t, filepath.Join(base, "secretdir"), filepath.Join(repo, "base"))
				return "k"
			},
			wantFile: "base",
		},
		{
			name: "kustomize patch file",
			setup: func(t *testing.T, base, repo string) string {
				write(t, repo, "k/kustomization.yaml", "resources: [cm.yaml]\npatches:\n  - path: patch.yaml\n")
				write(t, repo, "k/cm.yaml", configMap("app"))
				symlink(t, "../../secret-patch.yaml", filepath.Join(repo, "k/patch.yaml"))
				return "k"
			},
			wantFile: "k/patch.yaml",
		},
		{
			name: "kustomization file",
			setup: func(t *testing.T, base, repo string) string {
				write(t, base, "evil/kustomization.yaml", "resources: [../secret.yaml]\n")
				symlink(t, filepath.Join(base, "evil/kustomization.yaml"), filepath.Join(repo, "k/kustomization.yaml"))
				return "k"
			},
			wantFile: "k/kustomization.yaml",
		},
		{
			name: "kustomize generator file",
			setup: func(t *testing.T, base, repo string) string {
				write(t, repo, "k/kustomization.yaml", "configMapGenerator:\n  - name: cfg\n    files: [key=data.txt]\n")
				symlink(t, "../../secret.yaml", filepath.Join(repo, "k/data.txt"))
				return "k"
			},
			wantFile: "k/data.txt",
		},
	}
}

func TestSymlinksOutOfTheRepository(t *testing.T) {
	cases := escapeCases()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := outsideRepo(t)
			repo := filepath.Join(base, "repo")
			path := tc.setup(t, base, repo)
			res, err := New(DefaultOptions()).Render(context.Background(), Request{Root: repo, Path: path})
			if !errors.Is(err, ErrOutsideRoot) {
				t.Fatalf("got %v (result %v), want ErrOutsideRoot", err, res)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.wantFile) {
				t.Errorf("error %q does not name %s", msg, tc.wantFile)
			}
			if strings.Contains(msg, canary) || strings.Contains(strings.ToUpper(msg), canary) {
				t.Errorf("error shows the target's content: %q", msg)
			}
			if strings.Contains(msg, base) {
				t.Errorf("error names a machine path: %q", msg)
			}
		})
	}
}

// Traversal written into a kustomization is refused the same way, whether
// the target exists or not.
func TestKustomizeTraversalRefused(t *testing.T) {
	refs := []string{
		"resources: [../../secret.yaml]",
		"resources: [../../secretdir]",
		"resources: [../../../../../../etc/hostname]",
		"resources: [/etc/hostname]",
		"resources: [cm.yaml]\npatches: [{path: ../../secret-patch.yaml}]",
		"resources: [cm.yaml]\npatchesStrategicMerge: [../../secret-patch.yaml]",
		"configMapGenerator: [{name: x, files: [../../secret.yaml]}]",
		"configMapGenerator: [{name: x, envs: [../../missing.env]}]",
	}
	for _, ref := range refs {
		base := outsideRepo(t)
		write(t, base, "repo/k/kustomization.yaml", ref+"\n")
		write(t, base, "repo/k/cm.yaml", configMap("app"))
		_, err := New(DefaultOptions()).Render(context.Background(), Request{Root: filepath.Join(base, "repo"), Path: "k"})
		if !errors.Is(err, ErrOutsideRoot) {
			t.Errorf("%s: got %v, want ErrOutsideRoot", ref, err)
			continue
		}
		if !strings.Contains(err.Error(), "k/kustomization.yaml") {
			t.Errorf("%s: error does not name the kustomization: %v", ref, err)
		}
		if strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), base) {
			t.Errorf("%s: error leaks: %v", ref, err)
		}
	}
}

// Links that stay inside the repository are followed.
func TestSymlinksInsideTheRepository(t *testing.T) {
	base := outsideRepo(t)
	repo := filepath.Join(base, "repo")
	write(t, repo, "shared/extra.yaml", configMap("extra"))
	write(t, repo, "more/more.yaml", configMap("more"))
	symlink(t, "../shared/extra.yaml", filepath.Join(repo, "app/extra.yaml"))
	symlink(t, filepath.Join(repo, "more"), filepath.Join(repo, "app/more-abs"))
	symlink(t, "..", filepath.Join(repo, "app/loop")) // a cycle: walked once
	write(t, repo, "k/kustomization.yaml", "resources: [../app/cm.yaml, linked.yaml]\n")
	symlink(t, "../shared/extra.yaml", filepath.Join(repo, "k/linked.yaml"))

	r := New(DefaultOptions())
	res, err := r.Render(context.Background(), Request{Root: repo, Path: "k"})
	if err != nil {
		t.Fatalf("kustomize: %v", err)
	}
	if got := names(res); got != "app,extra" {
		t.Errorf("kustomize: got %s", got)
	}
	_, err = r.Render(context.Background(), Request{Root: repo, Path: "app"})
	// app/loop leads back to the root, which holds k/kustomization.yaml:
	// read as a plain manifest it lacks apiVersion. The walk ended.
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "kustomization.yaml") {
		t.Fatalf("plain with a loop: got %v", err)
	}
	if err := os.Remove(filepath.Join(repo, "app/loop")); err != nil {
		t.Fatal(err)
	}
	res, err = r.Render(context.Background(), Request{Root: repo, Path: "app"})
	if err != nil {
		t.Fatalf("plain: %v", err)
	}
	if got := names(res); got != "app,extra,more" {
		t.Errorf("plain: got %s", got)
	}
}

func names(res *Result) string {
	var out []string
	for _, u := range res.Objects {
		out = append(out, u.GetName())
	}
	return strings.Join(out, ",")
}

func TestMalformedManifests(t *testing.T) {
	cases := []struct {
		name, file, content string
		wantKind            error
		want                []string // substrings of the error
	}{
		{"bad YAML", "app/bad.yaml", "apiVersion: v1\nkind: [\n", ErrMalformed, []string{"app/bad.yaml (document 1)", "invalid YAML"}},
		{"bad JSON", "app/bad.json", `{"apiVersion": "v1",`, ErrMalformed, []string{"app/bad.json (document 1)", "invalid JSON"}},
		{"no apiVersion", "app/x.yaml", configMap("a") + "---\nkind: ConfigMap\nmetadata: {name: b}\n", ErrMalformed, []string{"app/x.yaml (document 2)", "apiVersion"}},
		{"no kind", "app/x.yaml", "apiVersion: v1\nmetadata: {name: b}\n", ErrMalformed, []string{"app/x.yaml (document 1)", "kind"}},
		{"no name", "app/x.yaml", "---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", ErrMalformed, []string{"app/x.yaml (document 2)", "metadata.name"}},
		{"not an object", "app/x.yaml", "- a\n- b\n", ErrMalformed, []string{"app/x.yaml (document 1)", "a list"}},
		{"list item", "app/x.yaml", "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- kind: ConfigMap\n", ErrMalformed, []string{"app/x.yaml (document 1)", "item 2"}},
		{"duplicate key", "app/x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nkind: Secret\n", ErrMalformed, []string{"line 4", `"kind" appears twice`}},
		{"duplicate object", "app/x.yaml", configMap("a") + "---\n" + configMap("a"), ErrMalformed, []string{"app/x.yaml (document 2)", "ConfigMap a is already defined in app/x.yaml (document 1)"}},
		{"NaN", "app/x.yaml", configMap("a") + "  n: .nan\n", ErrMalformed, []string{"app/x.yaml (document 1)", "JSON"}},
		{"deep", "app/x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: " + strings.Repeat("[", 500) + strings.Repeat("]", 500) + "\n", ErrTooLarge, []string{"app/x.yaml (document 1)", "nested deeper than 128"}},
		{"deep JSON", "app/x.json", strings.Repeat("[", 500) + strings.Repeat("]", 500), ErrTooLarge, []string{"app/x.json (document 1)", "nested deeper"}},
		{"odd name", "app/we\u200bird\n.yaml", "kind: [", ErrMalformed, []string{`"app/we\u200bird\n.yaml" (document 1)`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, tc.file, tc.content)
			_, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "app"})
			if !errors.Is(err, tc.wantKind) {
				t.Fatalf("got %v, want %v", err, tc.wantKind)
			}
			var e *Error
			if !errors.As(err, &e) || e.File != tc.file {
				t.Errorf("error %#v does not carry the file %q", err, tc.file)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestHugeManifestRefusedUnread(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "app/small.yaml", configMap("a"))
	f, err := os.Create(filepath.Join(dir, "app/huge.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: 50 MB long, almost nothing on disk.
	if err := f.Truncate(50 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "app"})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "app/huge.yaml") || !strings.Contains(err.Error(), "8 MiB") {
		t.Fatalf("got %v, want ErrTooLarge naming app/huge.yaml and the limit", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
		t.Errorf("allocated %s to refuse the file", sizeText(int64(grew)))
	}
}

func TestTotalBytesLimit(t *testing.T) {
	dir := t.TempDir()
	for i := range 10 {
		write(t, dir, fmt.Sprintf("app/cm%d.yaml", i), configMap(fmt.Sprintf("cm%d", i))+"  pad: "+strings.Repeat("x", 1000)+"\n")
	}
	_, err := New(Options{MaxTotalBytes: 5000}).Render(context.Background(), Request{Root: dir, Path: "app"})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "limit for one render") {
		t.Fatalf("got %v, want ErrTooLarge for the total", err)
	}
}

// billionLaughs nests levels of ten aliases: 10^levels values once expanded.
func billionLaughs(levels int) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= levels; i++ {
		ref := fmt.Sprintf("*l%d", i-1)
		fmt.Fprintf(&b, "l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(ref+", ", 10), ", "))
	}
	return b.String()
}

func TestAliasBomb(t *testing.T) {
	for _, kind := range []string{"plain", "kustomize"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "app/bomb.yaml", billionLaughs(9))
			if kind == "kustomize" {
				write(t, dir, "app/kustomization.yaml", "resources: [bomb.yaml]\n")
			}
			start := time.Now()
			_, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "app"})
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "app/bomb.yaml") || !strings.Contains(err.Error(), "aliases") {
				t.Fatalf("got %v, want ErrTooLarge about aliases naming app/bomb.yaml", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v to refuse", d)
			}
		})
	}
	// A kustomize patch given in the request is checked too.
	_, err := New(DefaultOptions()).Render(context.Background(), Request{Root: repo, Path: "plain",
		Kustomize: KustomizeOptions{Patches: []Patch{{Patch: billionLaughs(9)}}}})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "kustomize patch 1") {
		t.Fatalf("request patch: got %v", err)
	}
}

func TestObjectLimit(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := range 12000 { // over the object limit, within the node limit
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d}\n", i)
	}
	write(t, dir, "app/many.yaml", b.String())
	write(t, dir, "k/many.yaml", b.String())
	write(t, dir, "k/kustomization.yaml", "resources: [many.yaml]\n")
	start := time.Now()
	_, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "app"})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "app/many.yaml (document 10001)") || !strings.Contains(err.Error(), "10000 objects") {
		t.Fatalf("got %v, want ErrTooLarge at document 10001", err)
	}
	t.Logf("plain: refused after %v", time.Since(start))
	start = time.Now()
	_, err = New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "k"})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "k/many.yaml (document 10000)") {
		t.Fatalf("got %v, want ErrTooLarge naming k/many.yaml", err)
	}
	t.Logf("kustomize: refused after %v", time.Since(start))
}

func TestRemoteReferencesRefused(t *testing.T) {
	cases := map[string]string{
		"resources: ['https://github.com/org/repo//base?ref=v1']":               "https://github.com/org/repo//base?ref=v1",
		"resources: [github.com/org/repo/base]":                                 "github.com/org/repo/base",
		"resources: [git@github.com:org/repo.git]":                              "git@github.com:org/repo.git",
		"bases: ['ssh://git@example.com/org/repo']":                             "ssh://***@example.com/org/repo",
		"components: [git::https://example.com/org/repo]":                       "git::https://example.com/org/repo",
		"resources: [cm.yaml]\npatches: [{path: 'https://example.com/p.yaml'}]": "https://example.com/p.yaml",
		"configMapGenerator: [{name: c, files: ['k=https://example.com/f']}]":   "https://example.com/f",
		"resources: ['https://s3cr3t-token@github.com/org/repo']":               "https://***@github.com/org/repo",
		"resources: [cm.yaml]\nopenapi: {path: 'https://example.com/s.json'}":   "https://example.com/s.json",
	}
	for k, url := range cases {
		dir := t.TempDir()
		write(t, dir, "app/kustomization.yaml", k+"\n")
		write(t, dir, "app/cm.yaml", configMap("a"))
		_, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "app"})
		if !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), url) || !strings.Contains(err.Error(), "app/kustomization.yaml") {
			t.Errorf("%s: got %v, want ErrRemote naming %s", k, err, url)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: error shows a credential: %v", k, err)
		}
	}
	// In a base, too.
	dir := t.TempDir()
	write(t, dir, "overlay/kustomization.yaml", "resources: [../base]\n")
	write(t, dir, "base/kustomization.yaml", "resources: [https://example.com/remote.yaml]\n")
	_, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "overlay"})
	if !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), "base/kustomization.yaml") {
		t.Errorf("remote in a base: got %v", err)
	}
}

func TestKustomizeRefusesPluginsAndRemoteCharts(t *testing.T) {
	cases := map[string]struct {
		files map[string]string
		kind  error
	}{
		// Charts are inflated in-process, from the repository only.
		"helm chart not vendored": {map[string]string{
			"kustomization.yaml": "helmCharts:\n  - name: podinfo\n    repo: https://charts.example.com\n",
		}, ErrUnsupported},
		"helm generator without its chart": {map[string]string{
			"kustomization.yaml": "helmChartInflationGenerator:\n  - chartName: podinfo\n",
		}, ErrNotFound},
		"exec plugin": {map[string]string{
			"kustomization.yaml": "resources: [cm.yaml]\ntransformers: [plugin.yaml]\n",
			"cm.yaml":            configMap("a"),
			"plugin.yaml": "apiVersion: example.com/v1\nkind: Shell\nmetadata:\n  name: run\n  annotations:\n" +
				"    config.kubernetes.io/function: |\n      exec:\n        path: ./touch.sh\n",
			"touch.sh": "#!/bin/sh\ntouch ran\n",
		}, ErrMalformed},
		"container function": {map[string]string{
			"kustomization.yaml": "resources: [cm.yaml]\ngenerators: [fn.yaml]\n",
			"cm.yaml":            configMap("a"),
			"fn.yaml": "apiVersion: example.com/v1\nkind: Gen\nmetadata:\n  name: gen\n  annotations:\n" +
				"    config.kubernetes.io/function: |\n      container:\n        image: example.com/gen:1\n",
		}, ErrMalformed},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for f, c := range tc.files {
				write(t, dir, "app/"+f, c)
			}
			_, err := New(DefaultOptions()).Render(context.Background(), Request{Root: dir, Path: "app"})
			if !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want %v", err, tc.kind)
			}
			if _, err := os.Stat(filepath.Join(dir, "app/ran")); err == nil {
				t.Fatal("the plugin ran")
			}
		})
	}
}

// A named pipe would block a reader forever: it is never opened.
func TestSpecialFilesNotOpened(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "app/cm.yaml", configMap("a"))
	write(t, dir, "k/kustomization.yaml", "resources: [pipe.yaml]\n")
	for _, p := range []string{"app/pipe.yaml", "k/pipe.yaml"} {
		if err := syscall.Mkfifo(filepath.Join(dir, p), 0o644); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
	}
	r := New(DefaultOptions())
	res, err := r.Render(context.Background(), Request{Root: dir, Path: "app"})
	if err != nil || names(res) != "a" {
		t.Fatalf("plain: got %v, %v; want the pipe skipped", res, err)
	}
	if _, err := r.Render(context.Background(), Request{Root: dir, Path: "app/pipe.yaml"}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("pipe as the path: got %v", err)
	}
	_, err = r.Render(context.Background(), Request{Root: dir, Path: "k"})
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("pipe as a kustomize resource: got %v", err)
	}
}

// denseList is a manifest of about size bytes whose list holds one-letter
// values: four million YAML nodes in 8 MiB, which would take about a
// gigabyte to parse.
func denseList(size int) string {
	head := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dense}\nx: ["
	return head + strings.Repeat("a,", (size-len(head)-3)/2) + "a]\n"
}

// A file dense with YAML nodes is refused from its text, before the parser
// builds any of them: what the refusal allocates is the file read, not the
// gigabyte parsing would take. Kustomize inputs and Helm value files are
// counted the same way.
func TestDenseYAMLRefusedBeforeParsing(t *testing.T) {
	dense := denseList(8<<20 - 1024)
	cases := []struct {
		name string
		req  func(dir string) Request
	}{
		{"plain", func(dir string) Request {
			write(t, dir, "app/dense.yaml", dense)
			return Request{Root: dir, Path: "app"}
		}},
		{"kustomize", func(dir string) Request {
			write(t, dir, "app/dense.yaml", dense)
			write(t, dir, "app/kustomization.yaml", "resources: [dense.yaml]\n")
			return Request{Root: dir, Path: "app"}
		}},
		{"helm value file", func(dir string) Request {
			write(t, dir, "app/Chart.yaml", "apiVersion: v2\nname: app\nversion: 1.0.0\n")
			write(t, dir, "app/dense.yaml", dense)
			return Request{Root: dir, Path: "app", Helm: HelmOptions{ValueFiles: []string{"dense.yaml"}}}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := c.req(t.TempDir())
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := New(DefaultOptions()).Render(context.Background(), req)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "app/dense.yaml") || !strings.Contains(err.Error(), "1000000 nodes") {
				t.Fatalf("got %v, want ErrTooLarge naming app/dense.yaml and the node limit", err)
			}
			grew := after.TotalAlloc - before.TotalAlloc
			t.Logf("refusing %s of dense YAML allocated %s", sizeText(int64(len(dense))), sizeText(int64(grew)))
			// Reading is all it may cost: the file once, or for Helm as a
			// chart file and again as a value file; parsing would take a
			// gigabyte. TotalAlloc counts the whole process (a CI run with
			// the race detector measured 65 MiB for Helm), hence the margin.
			if grew > 256<<20 {
				t.Errorf("allocated %s to refuse the file", sizeText(int64(grew)))
			}
		})
	}
}

// BenchmarkDenseYAMLRefused reports what refusing an 8 MiB dense file costs
// (B/op), against BenchmarkDenseYAMLParsed: what parsing a quarter of it
// would.
func BenchmarkDenseYAMLRefused(b *testing.B) {
	dir := b.TempDir()
	write(b, dir, "app/dense.yaml", denseList(8<<20-1024))
	r := New(DefaultOptions())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Render(context.Background(), Request{Root: dir, Path: "app"}); !errors.Is(err, ErrTooLarge) {
			b.Fatal(err)
		}
	}
}

func BenchmarkDenseYAMLParsed(b *testing.B) {
	dir := b.TempDir()
	write(b, dir, "app/dense.yaml", denseList(2<<20))
	r := New(Options{MaxYAMLNodes: 2 << 20, CacheEntries: -1})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Render(context.Background(), Request{Root: dir, Path: "app"}); err != nil {
			b.Fatal(err)
		}
	}
}
