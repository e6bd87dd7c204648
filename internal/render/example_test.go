package render_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/flotilla-dev/flotilla/internal/render"
)

func Example() {
	// A checkout with a base and an overlay.
	root, err := os.MkdirTemp("", "render-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(root)
	files := map[string]string{
		"base/kustomization.yaml": "resources: [app.yaml]\n",
		"base/app.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n" +
			"---\napiVersion: v1\nkind: Service\nmetadata: {name: app}\n",
		"prod/kustomization.yaml": "resources: [../base]\nnamespace: prod\n",
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		_ = os.WriteFile(p, []byte(content), 0o644)
	}

	r := render.New(render.DefaultOptions())
	res, err := r.Render(context.Background(), render.Request{
		Root:      root,
		Path:      "prod",
		Revision:  "example@0123abc", // caches the result for this revision
		Kustomize: render.KustomizeOptions{NamePrefix: "eu-"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Kind)
	for _, u := range res.Objects {
		fmt.Printf("%s %s/%s\n", u.GetKind(), u.GetNamespace(), u.GetName())
	}

	// Paths that leave the checkout are refused before anything is read.
	_, err = r.Render(context.Background(), render.Request{Root: root, Path: "../etc"})
	fmt.Println(err)
	// Output:
	// kustomize
	// ConfigMap prod/eu-app
	// Service prod/eu-app
	// path "../etc" leaves the repository root
}
