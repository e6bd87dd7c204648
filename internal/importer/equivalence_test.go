package importer

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"
	"helm.sh/helm/v3/pkg/strvals"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/render"
)

// equivalence holds a repository, Argo CD Applications of it, and the
// overlay's kustomization as Argo CD edits it before building.
const equivalence = "testdata/equivalence"

// TestConvertedRendersAsOriginal renders each Argo CD Application of
// testdata/equivalence as Argo CD would (its value files, then valuesObject
// or else values, then its parameters, handed to helm in that order; its kustomize options
// written into the kustomization, as `kustomize edit` does) and the
// Application converted from it as Flotilla does, with Flotilla's renderer,
// and compares the objects: the converted Application syncs the same ones.
func TestConvertedRendersAsOriginal(t *testing.T) {
	f, err := os.Open(filepath.Join(equivalence, "argocd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := Convert(f, ArgoCD, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	converted := map[string]*flotillav1.Application{}
	for i, d := range res.Documents {
		if res.Kinds[i] != "Application" {
			continue
		}
		data, err := yaml.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		app := &flotillav1.Application{}
		if err := sigsyaml.UnmarshalStrict(data, app); err != nil {
			t.Fatal(err)
		}
		converted[app.Name] = app
	}
	originals := argoApplications(t)
	if len(converted) != len(originals) || len(originals) != 3 {
		t.Fatalf("converted %d of %d Applications", len(converted), len(originals))
	}
	r := render.New(render.Options{CacheEntries: -1})
	for name, orig := range originals {
		t.Run(name, func(t *testing.T) {
			app := converted[name]
			if app == nil {
				t.Fatalf("%s was not converted", name)
			}
			want := renderArgo(t, r, orig)
			got, err := r.Render(context.Background(), flotillaRequest(app))
			if err != nil {
				t.Fatalf("render the converted Application: %v", err)
			}
			if d := cmp.Diff(objectSet(t, want), objectSet(t, got.Objects)); d != "" {
				t.Errorf("the converted Application renders other objects than the original (-original +converted):\n%s", d)
			}
		})
	}
}

// argoApp is what of an Argo CD Application the render depends on.
type argoApp struct {
	Metadata struct{ Name string }
	Spec     struct {
		Source struct {
			Path string
			Helm *struct {
				ReleaseName  string         `json:"releaseName"`
				ValueFiles   []string       `json:"valueFiles"`
				Values       string         `json:"values"`
				ValuesObject map[string]any `json:"valuesObject"`
				Parameters   []struct {
					Name        string `json:"name"`
					Value       string `json:"value"`
					ForceString bool   `json:"forceString"`
				} `json:"parameters"`
			}
			Kustomize *struct{} // its options are in argocd-edited-kustomization.yaml
		}
		Destination struct{ Namespace string }
	}
}

func argoApplications(t *testing.T) map[string]argoApp {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(equivalence, "argocd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]argoApp{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			break
		}
		raw, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var a argoApp
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatal(err)
		}
		out[a.Metadata.Name] = a
	}
	return out
}

// renderArgo renders a in a copy of the repository prepared as Argo CD
// prepares its checkout.
func renderArgo(t *testing.T, r *render.Renderer, a argoApp) []*unstructured.Unstructured {
	t.Helper()
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS(filepath.Join(equivalence, "repo"))); err != nil {
		t.Fatal(err)
	}
	src := a.Spec.Source
	req := render.Request{Root: root, Path: src.Path}
	if h := src.Helm; h != nil {
		req.Helm = render.HelmOptions{ReleaseName: h.ReleaseName, Namespace: a.Spec.Destination.Namespace, ValueFiles: h.ValueFiles}
		if req.Helm.ReleaseName == "" {
			req.Helm.ReleaseName = a.Metadata.Name
		}
		// Argo CD hands helm one more values file after the value files:
		// valuesObject when it is set, values otherwise (ValuesYAML in its
		// API types); never both.
		data := []byte(h.Values)
		if h.ValuesObject != nil {
			var err error
			if data, err = sigsyaml.Marshal(h.ValuesObject); err != nil {
				t.Fatal(err)
			}
		}
		// Then each parameter with --set (--set-string with forceString),
		// which helm parses with strvals; as none indexes a list, setting
		// them after the files equals one more values file.
		set := map[string]any{}
		for _, p := range h.Parameters {
			parse := strvals.ParseInto
			if p.ForceString {
				parse = strvals.ParseIntoString
			}
			if err := parse(p.Name+"="+strings.ReplaceAll(p.Value, ",", `\,`), set); err != nil {
				t.Fatal(err)
			}
		}
		params, err := sigsyaml.Marshal(set)
		if err != nil {
			t.Fatal(err)
		}
		for file, content := range map[string][]byte{"argocd-values.yaml": data, "argocd-parameters.yaml": params} {
			if err := os.WriteFile(filepath.Join(root, src.Path, file), content, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		req.Helm.ValueFiles = append(req.Helm.ValueFiles, "argocd-values.yaml", "argocd-parameters.yaml")
	}
	if src.Kustomize != nil {
		edited, err := os.ReadFile(filepath.Join(equivalence, "argocd-edited-kustomization.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, src.Path, "kustomization.yaml"), edited, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := r.Render(context.Background(), req)
	if err != nil {
		t.Fatalf("render as Argo CD would: %v", err)
	}
	return res.Objects
}

// flotillaRequest is the render an Application's source asks for, as the
// engine makes it.
func flotillaRequest(app *flotillav1.Application) render.Request {
	src := app.Spec.Source
	req := render.Request{Root: filepath.Join(equivalence, "repo"), Path: src.Path}
	req.Helm = render.HelmOptions{ReleaseName: app.Name, Namespace: app.Spec.Destination.Namespace}
	if h := src.Helm; h != nil {
		if h.ReleaseName != "" {
			req.Helm.ReleaseName = h.ReleaseName
		}
		req.Helm.ValueFiles = h.ValueFiles
		if h.Values != nil {
			req.Helm.Values = h.Values.Raw
		}
	}
	if k := src.Kustomize; k != nil {
		req.Kustomize.NamePrefix = k.NamePrefix
		for _, img := range k.Images {
			req.Kustomize.Images = append(req.Kustomize.Images, render.Image{Name: img.Name, NewName: img.NewName, NewTag: img.NewTag, Digest: img.Digest})
		}
	}
	return req
}

// objectSet prints objects as YAML, sorted, for a comparison that does not
// depend on order.
func objectSet(t *testing.T, objs []*unstructured.Unstructured) []string {
	t.Helper()
	out := make([]string, 0, len(objs))
	for _, u := range objs {
		data, err := sigsyaml.Marshal(u.Object)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(data))
	}
	sort.Strings(out)
	return out
}
