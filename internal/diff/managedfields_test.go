package diff

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// withManager returns obj (YAML) as a tree whose managedFields hold one
// entry of manager "m" with the given fieldsV1 (JSON).
func withManager(t *testing.T, obj, fieldsV1 string) map[string]any {
	t.Helper()
	m := yamlTree(t, obj)
	f, err := decodeJSON([]byte(fieldsV1))
	if err != nil {
		t.Fatal(err)
	}
	md := m["metadata"].(map[string]any)
	md["managedFields"] = []any{map[string]any{
		"manager": "m", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": f,
	}}
	return m
}

func yamlTree(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	c, err := canonical(m)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRemoveOwned(t *testing.T) {
	tests := []struct {
		name     string
		obj      string
		fieldsV1 string
		want     string
	}{{
		name:     "a field",
		obj:      "metadata: {name: a}\nspec: {replicas: 3, paused: false}",
		fieldsV1: `{"f:spec":{"f:replicas":{}}}`,
		want:     "metadata: {name: a}\nspec: {paused: false}",
	}, {
		name:     "an object left empty goes",
		obj:      "metadata: {name: a, annotations: {x: y}}",
		fieldsV1: `{"f:metadata":{"f:annotations":{".":{},"f:x":{}}}}`,
		want:     "metadata: {name: a}",
	}, {
		name:     "a member that is also a parent keeps what others own",
		obj:      "metadata: {name: a, annotations: {x: y, z: w}}",
		fieldsV1: `{"f:metadata":{"f:annotations":{".":{},"f:x":{}}}}`,
		want:     "metadata: {name: a, annotations: {z: w}}",
	}, {
		name: "list elements by key, key fields last",
		obj: "metadata: {name: a}\nspec: {ports: [" +
			"{containerPort: 80, protocol: TCP, name: http}, " +
			"{containerPort: 80, protocol: UDP, name: dns}, " +
			"{containerPort: 443, protocol: TCP, name: https}]}",
		fieldsV1: `{"f:spec":{"f:ports":{` +
			`"k:{\"containerPort\":80,\"protocol\":\"UDP\"}":{".":{},"f:containerPort":{},"f:protocol":{},"f:name":{}},` +
			`"k:{\"containerPort\":443,\"protocol\":\"TCP\"}":{"f:name":{}}}}}`,
		want: "metadata: {name: a}\nspec: {ports: [" +
			"{containerPort: 80, protocol: TCP, name: http}, " +
			"{containerPort: 443, protocol: TCP}]}",
	}, {
		name:     "list elements by value",
		obj:      "metadata: {name: a, finalizers: [a.io/x, b.io/y, c.io/z]}",
		fieldsV1: `{"f:metadata":{"f:finalizers":{"v:\"a.io/x\"":{},"v:\"c.io/z\"":{}}}}`,
		want:     "metadata: {name: a, finalizers: [b.io/y]}",
	}, {
		name:     "list elements by index, none shifted",
		obj:      "metadata: {name: a}\nspec: {args: [a, b, c, d]}",
		fieldsV1: `{"f:spec":{"f:args":{"i:0":{},"i:2":{}}}}`,
		want:     "metadata: {name: a}\nspec: {args: [b, d]}",
	}, {
		name:     "numbers match whatever their spelling",
		obj:      "metadata: {name: a}\nspec: {ports: [{port: 8080, name: x}]}",
		fieldsV1: `{"f:spec":{"f:ports":{"k:{\"port\":8080.0}":{"f:name":{}}}}}`,
		want:     "metadata: {name: a}\nspec: {ports: [{port: 8080}]}",
	}, {
		name:     "what is not there is fine",
		obj:      "metadata: {name: a}\nspec: {replicas: 3}",
		fieldsV1: `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"x\"}":{"f:image":{}}}}}},"f:metadata":{"f:name":{"f:deeper":{}}}}`,
		want:     "metadata: {name: a}\nspec: {replicas: 3}",
	}, {
		name:     "path elements of the wrong shape select nothing",
		obj:      "metadata: {name: a}\nspec: {replicas: 3, list: [x]}",
		fieldsV1: `{"f:spec":{"i:0":{},"f:list":{"f:x":{}}}}`,
		want:     "metadata: {name: a}\nspec: {replicas: 3, list: [x]}",
	}, {
		name:     "unknown path element kinds are skipped",
		obj:      "metadata: {name: a}\nspec: {replicas: 3}",
		fieldsV1: `{"f:spec":{"z:future":{},"f:replicas":{}}}`,
		want:     "metadata: {name: a}",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := withManager(t, tt.obj, tt.fieldsV1)
			set, err := ownedFields(live, map[string]bool{"m": true})
			if err != nil {
				t.Fatal(err)
			}
			delete(live["metadata"].(map[string]any), "managedFields")
			removeOwned(live, set)
			if diff := cmp.Diff(yamlTree(t, tt.want), live); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestOwnedFieldsOfOtherManagers(t *testing.T) {
	live := withManager(t, "metadata: {name: a}", `{"f:spec":{}}`)
	set, err := ownedFields(live, map[string]bool{"someone-else": true})
	if err != nil || set != nil {
		t.Errorf("ownedFields = %v, %v; want nil, nil", set, err)
	}
}

func TestOwnedFieldsErrors(t *testing.T) {
	secretish := `{"f:data":{"f:hunter2-not-a-secret":{}},"k:notjson":{}}`
	tests := []struct {
		name string
		mf   any
		want string
	}{
		{"not a list", map[string]any{"manager": "m"}, "unreadable managedFields: not a list"},
		{"entry not an object", []any{"m"}, "unreadable managedFields: entry 0: not an object"},
		{"other fields type", []any{map[string]any{"manager": "m", "fieldsType": "FieldsV2", "fieldsV1": map[string]any{}}},
			"unreadable managedFields: entry 0: fieldsType is not FieldsV1"},
		{"bad path element", []any{map[string]any{"manager": "m", "fieldsType": "FieldsV1", "fieldsV1": mustJSON(t, secretish)}},
			"unreadable managedFields: entry 0: fieldsV1 is not a field set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "v1", "kind": "ConfigMap",
				"metadata": map[string]any{"name": "a", "namespace": "shop", "managedFields": tt.mf},
			}}
			d, err := New(Options{IgnoreDifferences: []flotillav1.IgnoreDifference{
				{Kind: "ConfigMap", ManagedFieldsManagers: []string{"m"}},
			}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = d.Object(live, live)
			if !errors.Is(err, ErrManagedFields) {
				t.Fatalf("error %v, want ErrManagedFields", err)
			}
			if got, want := err.Error(), "ConfigMap/shop/a: "+tt.want; got != want {
				t.Errorf("error %q, want %q", got, want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error quotes the managed fields: %v", err)
			}
			// Without a managers rule, managedFields are not read at all.
			d, _ = New(DefaultOptions())
			if _, err := d.Object(live, live); err != nil {
				t.Errorf("without a managers rule: %v", err)
			}
		})
	}
}

func mustJSON(t *testing.T, s string) any {
	t.Helper()
	v, err := decodeJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}
