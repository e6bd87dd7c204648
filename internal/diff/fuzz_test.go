package diff

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// Run longer with: go test -run '^$' -fuzz FuzzParsePointer -fuzztime 1m ./internal/diff
func FuzzParsePointer(f *testing.F) {
	for _, seed := range []string{
		"", "/", "/spec/replicas", "/a~0b~1c", "/~01", "/a~", "/a~2", "spec", "#/a",
		"/metadata/annotations/example.com~1note", "/\xff", "//", "/0/-/01",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePointer(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidPointer) {
				t.Fatalf("error %v does not wrap ErrInvalidPointer", err)
			}
			return
		}
		if got := p.String(); got != s {
			t.Fatalf("ParsePointer(%q).String() = %q", s, got)
		}
	})
}

const fuzzCanary = "CANARY-fuzz-91b7"

// Run longer with: go test -run '^$' -fuzz FuzzIgnoreRules -fuzztime 1m ./internal/diff
//
// Any objects, pointer and managed fields: diffing never panics, the
// result is consistent, and a Secret's planted value never shows.
func FuzzIgnoreRules(f *testing.F) {
	seeds := []struct {
		desired, live, pointer, fieldsV1 string
	}{
		{`{"spec":{"replicas":3}}`, `{"spec":{"replicas":2}}`, "/spec/replicas", `{"f:spec":{"f:replicas":{}}}`},
		{`{"data":{"a":"b"}}`, `{"data":{"a":"c"}}`, "/data/a", `{"f:data":{"f:a":{}}}`},
		{`{"spec":{"l":[1,2,3]}}`, `{"spec":{"l":[3,2,1]}}`, "/spec/l/1", `{"f:spec":{"f:l":{"i:0":{},"v:3":{}}}}`},
		{`{"spec":{"c":[{"name":"a","x":1}]}}`, `{"spec":{"c":[{"name":"a","x":2}]}}`, "/spec/c/0/x", `{"f:spec":{"f:c":{"k:{\"name\":\"a\"}":{"f:x":{}}}}}`},
		{`{"stringData":{"k":"v"},"data":"x"}`, `{"data":null}`, "/stringData", `{"f:metadata":{"f:name":{}}}`},
		{`[]`, `null`, "/a~", `{"k:bad":{}}`},
	}
	for _, s := range seeds {
		f.Add([]byte(s.desired), []byte(s.live), s.pointer, []byte(s.fieldsV1), false)
		f.Add([]byte(s.desired), []byte(s.live), s.pointer, []byte(s.fieldsV1), true)
	}
	f.Fuzz(func(t *testing.T, desiredJSON, liveJSON []byte, pointer string, fieldsV1 []byte, secret bool) {
		managers := flotillav1.IgnoreDifference{Group: "*", Kind: "*", ManagedFieldsManagers: []string{"m"}}
		rules := []flotillav1.IgnoreDifference{managers, {Group: "*", Kind: "*", JSONPointers: []string{pointer}}}
		d, err := New(Options{IgnoreDifferences: rules})
		if err != nil {
			if !errors.Is(err, ErrInvalidRule) {
				t.Fatalf("New: %v is not ErrInvalidRule", err)
			}
			if d, err = New(Options{IgnoreDifferences: rules[:1]}); err != nil {
				t.Fatal(err)
			}
		}
		desired := fuzzObject(desiredJSON, secret)
		live := fuzzObject(liveJSON, secret)
		var mf any
		_ = json.Unmarshal(fieldsV1, &mf)
		_ = unstructured.SetNestedField(live.Object, []any{map[string]any{
			"manager": "m", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": mf,
		}}, "metadata", "managedFields")
		res, err := d.Object(desired, live)
		if err != nil {
			checkNoCanary(t, err.Error())
			return
		}
		if res.Changed != (res.Action != ActionNone) || res.Changed != (len(res.Paths) > 0) {
			t.Fatalf("inconsistent result: %+v", res)
		}
		b, _ := json.Marshal(res)
		checkNoCanary(t, string(b))
	})
}

// fuzzObject makes an object of fuzzed JSON: a ConfigMap, or a Secret
// holding the canary in data and stringData.
func fuzzObject(b []byte, secret bool) *unstructured.Unstructured {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		m = map[string]any{}
	}
	m["apiVersion"], m["kind"] = "v1", "ConfigMap"
	if secret {
		m["kind"] = "Secret"
		for field, v := range map[string]string{
			"data": base64.StdEncoding.EncodeToString([]byte(fuzzCanary)), "stringData": fuzzCanary,
		} {
			if values, ok := m[field].(map[string]any); ok {
				values["canary"] = v
			} else {
				m[field] = map[string]any{"canary": v}
			}
		}
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetName("x")
	u.SetNamespace("y")
	return u
}

func checkNoCanary(t *testing.T, s string) {
	t.Helper()
	for _, c := range []string{fuzzCanary, base64.StdEncoding.EncodeToString([]byte(fuzzCanary))} {
		if strings.Contains(s, c) {
			t.Fatalf("output holds the canary: %s", s)
		}
	}
}
