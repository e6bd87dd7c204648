package importer

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden converts every testdata/<tool>/*.yaml and compares the output
// with the .golden file beside it.
func TestGolden(t *testing.T) {
	for _, from := range []From{ArgoCD, Flux} {
		inputs, err := filepath.Glob(filepath.Join("testdata", string(from), "*.yaml"))
		if err != nil || len(inputs) == 0 {
			t.Fatalf("no inputs for %s: %v", from, err)
		}
		for _, in := range inputs {
			t.Run(string(from)+"/"+filepath.Base(in), func(t *testing.T) {
				f, err := os.Open(in)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				res, err := Convert(f, from, DefaultOptions())
				if err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				if err := res.Write(&out); err != nil {
					t.Fatal(err)
				}
				checkFlotilla(t, res)
				golden := strings.TrimSuffix(in, ".yaml") + ".golden"
				if *update {
					if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(string(want), out.String()); d != "" {
					t.Errorf("output differs from %s (-want +got):\n%s", golden, d)
				}
			})
		}
	}
}

// checkFlotilla holds every converted document to Flotilla's API: it must
// decode strictly (no unknown field) into its kind's type.
func checkFlotilla(t *testing.T, res *Result) {
	t.Helper()
	for i, d := range res.Documents {
		data, err := yaml.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var obj any
		switch res.Kinds[i] {
		case "Application":
			obj = &flotillav1.Application{}
		case "Project":
			obj = &flotillav1.Project{}
		case "Fleet":
			obj = &flotillav1.Fleet{}
		default:
			t.Fatalf("document %d: unexpected kind %q", i, res.Kinds[i])
		}
		if err := sigsyaml.UnmarshalStrict(data, obj); err != nil {
			t.Errorf("document %d (%s) does not fit Flotilla's API: %v\n%s", i, res.Kinds[i], err, data)
		}
	}
}

func TestBounds(t *testing.T) {
	small := Options{MaxBytes: 200, MaxDocuments: 2, MaxNodes: 40}
	cases := []struct {
		name, in string
	}{
		{"bytes", strings.Repeat("# padding\n", 30)},
		{"nodes", "x: [" + strings.Repeat("a,", 50) + "a]\n"},
		{"documents", "a: 1\n---\nb: 2\n---\nc: 3\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Convert(strings.NewReader(c.in), ArgoCD, small)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
		})
	}
}

func TestNotYAML(t *testing.T) {
	_, err := Convert(strings.NewReader("a: [\n"), ArgoCD, DefaultOptions())
	if err == nil || !strings.Contains(err.Error(), "document 1") {
		t.Fatalf("err = %v, want one naming document 1", err)
	}
}
