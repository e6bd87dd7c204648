package diff

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestEqual(t *testing.T) {
	n := func(s string) json.Number { return json.Number(s) }
	tests := []struct {
		name string
		a, b any
		want bool
	}{
		{"same ints", n("3"), n("3"), true},
		{"int and float spelling", n("3"), n("3.0"), true},
		{"exponent", n("1e3"), n("1000"), true},
		{"different numbers", n("3"), n("4"), false},
		{"big ints stay exact", n("9007199254740993"), n("9007199254740992"), false},
		{"not a number", n("x"), n("y"), false},
		{"number and string", n("3"), "3", false},
		{"strings", "a", "a", true},
		{"bools", true, false, false},
		{"nils", nil, nil, true},
		{"nil and empty map", nil, map[string]any{}, false},
		{"maps", map[string]any{"a": n("1")}, map[string]any{"a": n("1.0")}, true},
		{"maps of other keys", map[string]any{"a": n("1")}, map[string]any{"b": n("1")}, false},
		{"maps of other sizes", map[string]any{"a": "x"}, map[string]any{"a": "x", "b": "y"}, false},
		{"map and list", map[string]any{}, []any{}, false},
		{"lists", []any{"a", n("2")}, []any{"a", n("2")}, true},
		{"lists in other order", []any{"a", "b"}, []any{"b", "a"}, false},
		{"list and string", []any{"a"}, "a", false},
		{"unknown types", 3, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := equal(tt.a, tt.b); got != tt.want {
				t.Errorf("equal(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := equal(tt.b, tt.a); got != tt.want {
				t.Errorf("equal(%v, %v) = %v, want %v", tt.b, tt.a, got, tt.want)
			}
		})
	}
}

func TestChangedPaths(t *testing.T) {
	live := map[string]any{
		"a": "1", "gone": "x", "n": json.Number("2"),
		"list": []any{"a", "b", "c"},
		"m":    map[string]any{"k/1": "v", "t~": "v"},
		"type": map[string]any{},
	}
	desired := map[string]any{
		"a": "1", "new": "y", "n": json.Number("2.0"),
		"list": []any{"a", "B"},
		"m":    map[string]any{"k/1": "w", "t~": "v"},
		"type": []any{},
	}
	want := []string{"/gone", "/list/1", "/list/2", "/m/k~11", "/new", "/type"}
	if diff := cmp.Diff(want, changedPaths(live, desired)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		key  Key
		want string
	}{
		{Key{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}, "Deployment.apps/shop/web"},
		{Key{Kind: "Secret", Namespace: "shop", Name: "db"}, "Secret/shop/db"},
		{Key{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"}, "ClusterRole.rbac.authorization.k8s.io/view"},
		{Key{Kind: "Namespace", Name: "shop"}, "Namespace/shop"},
	}
	for _, tt := range tests {
		if got := tt.key.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestObjectErrors(t *testing.T) {
	cm := func(name string, extra map[string]any) *unstructured.Unstructured {
		obj := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name, "namespace": "shop"}}
		for k, v := range extra {
			obj[k] = v
		}
		return &unstructured.Unstructured{Object: obj}
	}
	otherGroup := cm("a", nil)
	otherGroup.SetAPIVersion("example.com/v1")
	tests := []struct {
		name          string
		desired, live *unstructured.Unstructured
		is            error
		msg           string
	}{
		{"both nil", nil, nil, ErrNoObject, "neither a desired nor a live object given"},
		{"other name", cm("a", nil), cm("b", nil), ErrMismatch,
			"ConfigMap/shop/a: desired and live are different objects: live is ConfigMap/shop/b"},
		{"other group", cm("a", nil), otherGroup, ErrMismatch,
			"ConfigMap/shop/a: desired and live are different objects: live is ConfigMap.example.com/shop/a"},
		{"no name", cm("", nil), nil, ErrInvalidObject, "ConfigMap/shop/: invalid object: no kind or no name"},
		{"not JSON", cm("a", map[string]any{"data": map[string]any{"x": math.NaN()}}), nil, ErrInvalidObject,
			"ConfigMap/shop/a: invalid object: desired: not encodable as JSON"},
		{"live not JSON", nil, cm("a", map[string]any{"data": map[string]any{"x": make(chan int)}}), ErrInvalidObject,
			"ConfigMap/shop/a: invalid object: live: not encodable as JSON"},
	}
	d, _ := New(DefaultOptions())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.Object(tt.desired, tt.live)
			var oe *ObjectError
			if !errors.Is(err, tt.is) || !errors.As(err, &oe) {
				t.Fatalf("error %v, want an *ObjectError matching %v", err, tt.is)
			}
			if err.Error() != tt.msg {
				t.Errorf("error %q, want %q", err, tt.msg)
			}
		})
	}
}

// Objects built in Go may hold int and typed slices, which DeepCopy
// refuses; they compare as the API server would store them.
func TestGoTypesCompareAsJSON(t *testing.T) {
	desired := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "a"},
		"spec": map[string]any{"n": 3, "f": 1.0, "l": []string{"x"}},
	}}
	live := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "a"},
		"spec": map[string]any{"n": int64(3), "f": int64(1), "l": []any{"x"}},
	}}
	d, _ := New(DefaultOptions())
	res, err := d.Object(desired, live)
	if err != nil || res.Changed {
		t.Errorf("Object = %+v, %v; want unchanged", res, err)
	}
}

func TestContextLines(t *testing.T) {
	mk := func(v string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "a"},
			"data": map[string]any{"a": "1", "b": "2", "c": v, "d": "4", "e": "5"},
		}}
	}
	for _, tt := range []struct{ context, lines int }{{1, 4}, {0, 8}, {-1, 8}} {
		d, err := New(Options{ContextLines: tt.context})
		if err != nil {
			t.Fatal(err)
		}
		res, _ := d.Object(mk("3"), mk("three"))
		hunk := res.Diff[strings.Index(res.Diff, "@@"):]
		if got := strings.Count(hunk, "\n") - 1; got != tt.lines {
			t.Errorf("ContextLines %d: %d lines in the hunk, want %d:\n%s", tt.context, got, tt.lines, res.Diff)
		}
	}
}

func TestDifferIsSafeForConcurrentUse(t *testing.T) {
	desired, live, rules := loadCase(t, "ignore-managers-keyed")
	d, err := New(Options{IgnoreDifferences: rules})
	if err != nil {
		t.Fatal(err)
	}
	want, err := d.Object(desired, live)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				got, err := d.Object(desired, live)
				if err != nil || !cmp.Equal(want, got) {
					t.Errorf("concurrent Object = %+v, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
