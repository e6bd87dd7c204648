package render

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
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
