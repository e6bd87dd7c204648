package health_test

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// load reads the object testdata/objects/name.
func load(t testing.TB, name string) *unstructured.Unstructured {
	t.Helper()
	return loadFrom(t, "objects", name)
}

// loadFrom reads the object testdata/dir/name.
func loadFrom(t testing.TB, dir, name string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, string(data))
}

// parse reads one object from YAML.
func parse(t testing.TB, doc string) *unstructured.Unstructured {
	t.Helper()
	js, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatalf("test object: %v", err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil {
		t.Fatalf("test object: %v", err)
	}
	return u
}
