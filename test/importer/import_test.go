package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestImportedApplicationsSync imports an Argo CD Application and a Flux
// GitRepository with its Kustomization through the flotilla binary, creates
// what it prints, and waits for each to put its ConfigMap in the cluster.
func TestImportedApplicationsSync(t *testing.T) {
	ns := harness.TestNamespace(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", map[string]string{
		"argo/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-argo\ndata:\n  k: argo\n",
		"flux/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-flux\ndata:\n  k: flux\n",
	})
	url := srv.URL("fleet")

	argo := fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: imported-argo
  namespace: argocd
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: default
  source: {repoURL: %q, targetRevision: main, path: argo}
  destination: {server: https://kubernetes.default.svc, namespace: %s}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
`, url, ns)
	flux := fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: fleet, namespace: flux-system}
spec:
  interval: 1m
  url: %q
  ref: {branch: main}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: imported-flux, namespace: flux-system}
spec:
  interval: 2s
  path: ./flux
  prune: true
  targetNamespace: %s
  sourceRef: {kind: GitRepository, name: fleet}
`, url, ns)

	for _, c := range []struct{ tool, input, app, configMap, value string }{
		{"argocd", argo, "imported-argo", "from-argo", "argo"},
		{"flux", flux, "imported-flux", "from-flux", "flux"},
	} {
		file := filepath.Join(t.TempDir(), c.tool+".yaml")
		if err := os.WriteFile(file, []byte(c.input), 0o600); err != nil {
			t.Fatal(err)
		}
		out := harness.MustRun(t, flotillaBin, "import", c.tool, file)
		for _, app := range applications(t, out) {
			if err := env.Client.Create(context.Background(), app); err != nil {
				t.Fatalf("create the imported %s: %v\n%s", app.Name, err, out)
			}
			t.Cleanup(func() { _ = env.Client.Delete(context.Background(), app) })
		}
		env.WaitApp(t, c.app, 2*time.Minute, "synced", harness.Synced)
		cm := harness.LiveConfigMap(t, env.Client, ns, c.configMap)
		if cm == nil || cm.Data["k"] != c.value {
			t.Errorf("%s: ConfigMap %s/%s = %v, want k: %s", c.tool, ns, c.configMap, cm, c.value)
		}
	}
}

// applications decodes what `flotilla import` printed, strictly.
func applications(t *testing.T, out string) []*flotillav1.Application {
	t.Helper()
	var apps []*flotillav1.Application
	dec := yaml.NewDecoder(bytes.NewReader([]byte(out)))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("the output is not YAML: %v\n%s", err, out)
		}
		data, err := yaml.Marshal(&doc)
		if err != nil {
			t.Fatal(err)
		}
		app := &flotillav1.Application{}
		if err := sigsyaml.UnmarshalStrict(data, app); err != nil {
			t.Fatalf("not an Application: %v\n%s", err, data)
		}
		apps = append(apps, app)
	}
	if len(apps) != 1 {
		t.Fatalf("imported %d Applications, want 1:\n%s", len(apps), out)
	}
	return apps
}
