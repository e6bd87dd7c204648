package importer

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// FuzzImport feeds Convert what a user may pipe into `flotilla import`:
// it must never panic, and whatever it converts must print as YAML that
// parses back into the same number of documents, each fitting Flotilla's
// API. The seeds are the golden tests' inputs.
//
// Run longer with: go test -run '^$' -fuzz FuzzImport -fuzztime 1m ./internal/importer
func FuzzImport(f *testing.F) {
	for _, from := range []From{ArgoCD, Flux} {
		inputs, err := filepath.Glob(filepath.Join("testdata", string(from), "*.yaml"))
		if err != nil || len(inputs) == 0 {
			f.Fatalf("no seeds for %s: %v", from, err)
		}
		for _, in := range inputs {
			data, err := os.ReadFile(in)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data, from == Flux)
		}
	}
	f.Add([]byte("kind: List\nitems: [{kind: Application, metadata: {name: a}}, 1, null]\n"), false)
	f.Add([]byte("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: \"a\\n# b\"}\nspec: {source: {repoURL: \"x\\ny\"}}\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, flux bool) {
		from := ArgoCD
		if flux {
			from = Flux
		}
		opts := Options{MaxBytes: 64 << 10, MaxDocuments: 100, MaxNodes: 20000}
		res, err := Convert(bytes.NewReader(data), from, opts)
		if err != nil {
			return // refused as a whole: too large or not YAML
		}
		var out bytes.Buffer
		if err := res.Write(&out); err != nil {
			t.Fatalf("write: %v", err)
		}
		dec := yaml.NewDecoder(&out)
		docs := 0
		for {
			var n yaml.Node
			err := dec.Decode(&n)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("the output is not YAML: %v", err)
			}
			if len(n.Content) > 0 {
				docs++
			}
		}
		if docs != len(res.Documents) {
			t.Fatalf("the output reads back as %d documents, not %d", docs, len(res.Documents))
		}
		checkFlotilla(t, res)
	})
}
