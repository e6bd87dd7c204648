package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A hook may have a generated name; an ordinary object may not, and the
// error names its file.
func TestGenerateName(t *testing.T) {
	job := func(annotations string) string {
		return "apiVersion: batch/v1\nkind: Job\nmetadata:\n  generateName: migrate-\n" + annotations +
			"spec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: m, image: busybox}]\n"
	}
	cases := []struct {
		name, annotations string
		ok                bool
	}{
		{"flotilla PreSync", "  annotations: {flotilla.dev/phase: PreSync}\n", true},
		{"argo PostSync", "  annotations: {argocd.argoproj.io/hook: PostSync}\n", true},
		{"helm pre-install", "  annotations: {helm.sh/hook: pre-install}\n", true},
		{"argo Skip", "  annotations: {argocd.argoproj.io/hook: Skip}\n", true},
		{"ordinary", "", false},
		{"Sync phase", "  annotations: {flotilla.dev/phase: Sync}\n", false},
	}
	r := New(DefaultOptions())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.MkdirAll(filepath.Join(root, "app"), 0o755); err != nil {
				t.Fatal(err)
			}
			content := job(tc.annotations)
			if err := os.WriteFile(filepath.Join(root, "app", "jobs.yaml"), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := r.Render(context.Background(), Request{Root: root, Path: "app"})
			if tc.ok {
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				if len(res.Objects) != 1 || res.Objects[0].GetGenerateName() != "migrate-" {
					t.Fatalf("got %d objects, want the hook", len(res.Objects))
				}
				return
			}
			if err == nil {
				t.Fatal("Render accepted an ordinary object with generateName only")
			}
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "app/jobs.yaml") || !strings.Contains(err.Error(), "generateName") {
				t.Fatalf("error %q: want ErrMalformed naming app/jobs.yaml and generateName", err)
			}
		})
	}
}
