package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestImportArgoCDFromStdin(t *testing.T) {
	in := `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  source: {repoURL: https://git.example.com/web.git, path: deploy}
  destination: {server: https://kubernetes.default.svc, namespace: web}
`
	var out, errOut bytes.Buffer
	root := NewRootCommand()
	root.SetArgs([]string{"import", "argocd", "-"})
	root.SetIn(strings.NewReader(in))
	root.SetOut(&out)
	root.SetErr(&errOut)
	if err := root.Execute(); err != nil {
		t.Fatalf("import: %v (stderr %q)", err, errOut.String())
	}
	for _, want := range []string{"kind: Application", "cluster: in-cluster", "# Summary: converted 1 Application; 0 not converted."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestImportNothingConvertedFails(t *testing.T) {
	var out, errOut bytes.Buffer
	root := NewRootCommand()
	root.SetArgs([]string{"import", "flux", "-"})
	root.SetIn(strings.NewReader("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"))
	root.SetOut(&out)
	root.SetErr(&errOut)
	if err := root.Execute(); err == nil {
		t.Fatal("import of a ConfigMap succeeded, want an error")
	}
	if !strings.Contains(out.String(), "ConfigMap/x: kind ConfigMap") {
		t.Errorf("the summary does not name the ConfigMap:\n%s", out.String())
	}
}
