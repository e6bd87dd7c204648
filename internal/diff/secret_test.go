package diff

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// canaries are the secret values planted in the test Secrets. None may
// appear in any output, as is or base64-encoded.
var canaries = []string{
	"CANARY-old-7f3a", "CANARY-new-5e1d", "CANARY-token-a9c4", "CANARY-legacy-0b2e",
	"CANARY-same-c0de", "CANARY-inline-4d2c",
}

func forbidden() []string {
	var out []string
	for _, c := range canaries {
		out = append(out, c, base64.StdEncoding.EncodeToString([]byte(c)))
	}
	// "admin", base64-encoded: a value that does not change is masked too.
	return append(out, "YWRtaW4=")
}

func assertNoCanary(t *testing.T, what, s string) {
	t.Helper()
	for _, c := range forbidden() {
		if strings.Contains(s, c) {
			t.Errorf("%s holds the secret value %q:\n%s", what, c, s)
		}
	}
}

// secretVariants are Secrets (and one ConfigMap) in every shape that could
// let a value through, with the ignore rules to diff them under.
func secretVariants(t *testing.T) map[string][3]any {
	t.Helper()
	changedD, changedL, _ := loadCase(t, "secret-changed")
	sameD, sameL, _ := loadCase(t, "secret-unchanged")
	inline := "CANARY-inline-4d2c"
	brokenData := changedL.DeepCopy()
	brokenData.Object["data"] = inline
	brokenString := sameD.DeepCopy()
	brokenString.Object["stringData"] = map[string]any{"password": map[string]any{"nested": inline}}
	lastApplied := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "db", "namespace": "shop", "annotations": map[string]any{
			LastAppliedAnnotation: `{"kind":"Secret","stringData":{"password":"` + inline + `"}}`,
		}},
		"data": map[string]any{"a": "b"},
	}}
	other := changedL.DeepCopy()
	other.SetName("other")
	ignorePassword := []flotillav1.IgnoreDifference{{Kind: "Secret", JSONPointers: []string{"/data/password"}}}
	ignoreData := []flotillav1.IgnoreDifference{{Kind: "Secret", ManagedFieldsManagers: []string{"flotilla"}}}
	return map[string][3]any{
		"changed":            {changedD, changedL, nil},
		"unchanged":          {sameD, sameL, nil},
		"create":             {changedD, nil, nil},
		"delete":             {nil, changedL, nil},
		"data not a map":     {changedD, brokenData, nil},
		"stringData nested":  {brokenString, sameL, nil},
		"last-applied":       {lastApplied, nil, nil},
		"ignore password":    {changedD, changedL, ignorePassword},
		"ignore by manager":  {changedD, changedL, ignoreData},
		"mismatch":           {changedD, other, nil},
		"both ways mismatch": {other, sameL, nil},
	}
}

func TestSecretValuesNeverShown(t *testing.T) {
	var all []Pair
	for name, v := range secretVariants(t) {
		t.Run(name, func(t *testing.T) {
			desired, _ := v[0].(*unstructured.Unstructured)
			live, _ := v[1].(*unstructured.Unstructured)
			rules, _ := v[2].([]flotillav1.IgnoreDifference)
			before := []*unstructured.Unstructured{desired.DeepCopy(), live.DeepCopy()}
			d, err := New(Options{IgnoreDifferences: rules})
			if err != nil {
				t.Fatal(err)
			}
			res, err := d.Object(desired, live)
			if err != nil {
				assertNoCanary(t, "error", err.Error())
			}
			b, _ := json.Marshal(res)
			assertNoCanary(t, "JSON", string(b))
			assertNoCanary(t, "String()", res.String())
			assertNoCanary(t, "%+v", fmt.Sprintf("%+v", res))
			if !reflect.DeepEqual(before[0], desired.DeepCopy()) || !reflect.DeepEqual(before[1], live.DeepCopy()) {
				t.Error("the caller's objects were modified")
			}
			all = append(all, Pair{Desired: desired, Live: live})
		})
	}
	d, _ := New(DefaultOptions())
	rep, err := d.Objects(all)
	if err != nil {
		assertNoCanary(t, "Objects error", err.Error())
	}
	b, _ := json.Marshal(rep)
	assertNoCanary(t, "Report JSON", string(b))
	assertNoCanary(t, "Report", rep.String())
}

func TestSecretMasks(t *testing.T) {
	changedD, changedL, _ := loadCase(t, "secret-changed")
	d, _ := New(DefaultOptions())
	res, err := d.Object(changedD, changedL)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"-  password: '" + MaskLive + "'", "+  password: " + MaskDesired,
		"   username: '" + MaskUnchanged + "'",
		"+  api-token: " + MaskDesired, "-  legacy-key: '" + MaskLive + "'",
	} {
		if !strings.Contains(res.Diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, res.Diff)
		}
	}
	// Equal values on both sides give equal masks: only the changed keys
	// are in Paths.
	if got, want := strings.Join(res.Paths, " "), "/data/api-token /data/legacy-key /data/password"; got != want {
		t.Errorf("Paths = %s, want %s", got, want)
	}
}

// TestGoldenFilesHoldNoCanary checks the files a reviewer reads.
func TestGoldenFilesHoldNoCanary(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		assertNoCanary(t, f, string(b))
	}
}
