package diff

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// A case is a folder under testdata/cases: desired.yaml and live.yaml (a
// missing file is a nil object) and rules.yaml (ignoreDifferences, if any).
// Its golden file is testdata/golden/<case>.txt.
var goldenCases = []struct {
	name    string
	changed bool
}{
	{"deployment-update", true},      // image and replicas changed, server-set fields everywhere
	{"create", true},                 // live is nil
	{"delete", true},                 // desired is nil
	{"identical", false},             // only server-set fields, status and last-applied differ
	{"secret-changed", true},         // one value changed, one the same, one added, one removed
	{"secret-unchanged", false},      // stringData on one side, data on the other
	{"ignore-pointer", false},        // /spec/replicas ignored
	{"ignore-managers", false},       // the HPA's manager owns spec.replicas
	{"ignore-managers-keyed", false}, // a sidecar injector's container, port, volume, finalizer, annotation
	{"ignore-match", true},           // rules matched by group, kind, namespace, name; escapes
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			desired, live, rules := loadCase(t, tc.name)
			d, err := New(Options{IgnoreDifferences: rules})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			res, err := d.Object(desired, live)
			if err != nil {
				t.Fatalf("Object: %v", err)
			}
			if res.Changed != tc.changed {
				t.Errorf("Changed = %v, want %v", res.Changed, tc.changed)
			}
			if res.Changed != (res.Diff != "") || (res.Action == ActionNone) != (len(res.Paths) == 0) {
				t.Errorf("Changed, Paths and Diff disagree: %+v", res)
			}
			checkGolden(t, filepath.Join("testdata", "golden", tc.name+".txt"), formatResult(res))
		})
	}
}

// TestGoldenReport diffs every case at once, rules aside, and checks the
// order and the text of the Report.
func TestGoldenReport(t *testing.T) {
	var pairs []Pair
	for _, tc := range goldenCases {
		desired, live, _ := loadCase(t, tc.name)
		if tc.name == "ignore-pointer" || tc.name == "ignore-match" || tc.name == "identical" || tc.name == "ignore-managers" {
			continue // the same objects as other cases
		}
		pairs = append(pairs, Pair{Desired: desired, Live: live})
	}
	pairs = append(pairs, Pair{}) // fails alone
	d, err := New(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := d.Objects(pairs)
	if !errors.Is(err, ErrNoObject) || !strings.HasPrefix(err.Error(), "objects[6]: ") {
		t.Errorf("Objects error = %v, want objects[6]: ErrNoObject", err)
	}
	if !rep.Changed() {
		t.Error("Report.Changed() = false")
	}
	var b strings.Builder
	for _, r := range rep.Results {
		b.WriteString(r.Object.String() + " " + string(r.Action) + "\n")
	}
	b.WriteString("\n" + rep.String())
	checkGolden(t, filepath.Join("testdata", "golden", "report.txt"), b.String())
}

func formatResult(r Result) string {
	var b strings.Builder
	b.WriteString("object: " + r.Object.String() + "\n")
	b.WriteString("action: " + string(r.Action) + "\n")
	b.WriteString("paths:\n")
	for _, p := range r.Paths {
		b.WriteString("  " + p + "\n")
	}
	b.WriteString("\n" + r.String())
	return b.String()
}

func loadCase(t *testing.T, name string) (desired, live *unstructured.Unstructured, rules []flotillav1.IgnoreDifference) {
	t.Helper()
	dir := filepath.Join("testdata", "cases", name)
	desired = readObject(t, filepath.Join(dir, "desired.yaml"))
	live = readObject(t, filepath.Join(dir, "live.yaml"))
	b, err := os.ReadFile(filepath.Join(dir, "rules.yaml"))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		t.Fatal(err)
	default:
		if err := yaml.UnmarshalStrict(b, &rules); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return desired, live, rules
}

func readObject(t *testing.T, path string) *unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(b, &u.Object); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return u
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(want, []byte(got)) {
		t.Errorf("%s differs (-want +got):\n%s", path, cmp.Diff(string(want), got))
	}
}
