package diff

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePointer(t *testing.T) {
	tests := []struct {
		in      string
		want    Pointer
		wantErr string // a part of the message; "" for no error
	}{
		{in: "", want: Pointer{}},
		{in: "/", want: Pointer{""}},
		{in: "/spec/replicas", want: Pointer{"spec", "replicas"}},
		{in: "/spec/template/spec/containers/0/image", want: Pointer{"spec", "template", "spec", "containers", "0", "image"}},
		{in: "/metadata/annotations/example.com~1note", want: Pointer{"metadata", "annotations", "example.com/note"}},
		{in: "/a~0b", want: Pointer{"a~b"}},
		// "~01" is "~" then "1", not "/": unescaping is one pass, left to right.
		{in: "/~01", want: Pointer{"~1"}},
		{in: "/~10", want: Pointer{"/0"}},
		{in: "/~0~1~1~0", want: Pointer{"~//~"}},
		{in: "//a//", want: Pointer{"", "a", "", ""}},
		{in: "/ /\t", want: Pointer{" ", "\t"}},
		{in: "/ünï/çødé", want: Pointer{"ünï", "çødé"}},
		{in: "/a%20b", want: Pointer{"a%20b"}}, // no percent-decoding outside URI fragments
		{in: "spec/replicas", wantErr: `must be empty or start with "/"`},
		{in: "#/spec", wantErr: `must be empty or start with "/"`},
		{in: " /spec", wantErr: `must be empty or start with "/"`},
		{in: "/a~", wantErr: `"~" at byte 2 is not followed by "0" or "1"`},
		{in: "/a~2", wantErr: `"~" at byte 2`},
		{in: "/~/", wantErr: `"~" at byte 1`},
		{in: "/a\xffb", wantErr: "not valid UTF-8"},
		{in: "/" + strings.Repeat("a", MaxPointerLength), wantErr: "longer than 1024 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePointer(tt.in)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrInvalidPointer) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePointer(%q) error = %v, want ErrInvalidPointer with %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePointer(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParsePointer(%q) (-want +got):\n%s", tt.in, diff)
			}
			if s := got.String(); s != tt.in {
				t.Errorf("String() = %q, want %q", s, tt.in)
			}
		})
	}
}

func TestPointerErrorQuotes(t *testing.T) {
	_, err := ParsePointer("spec\nreplicas")
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q should quote the pointer", err)
	}
}

func TestRemovePointer(t *testing.T) {
	doc := func() map[string]any {
		return map[string]any{
			"metadata": map[string]any{
				"annotations": map[string]any{"example.com/note": "x"},
				"labels":      map[string]any{"a~b": "1", "keep": "2"},
			},
			"spec": map[string]any{
				"replicas": "3",
				"list":     []any{"a", "b", "c"},
				"nested":   []any{map[string]any{"x": "1"}},
				"":         "empty key",
			},
		}
	}
	tests := []struct {
		pointer string
		want    func(m map[string]any)
		removed bool
	}{
		{"/spec/replicas", func(m map[string]any) { delete(spec(m), "replicas") }, true},
		{"/metadata/annotations/example.com~1note", func(m map[string]any) {
			delete(m["metadata"].(map[string]any), "annotations") // left empty, so removed
		}, true},
		{"/metadata/labels/a~0b", func(m map[string]any) {
			delete(m["metadata"].(map[string]any)["labels"].(map[string]any), "a~b")
		}, true},
		{"/spec/list/1", func(m map[string]any) { spec(m)["list"] = []any{"a", "c"} }, true},
		{"/spec/nested/0/x", func(m map[string]any) { delete(spec(m), "nested") }, true},
		{"/spec/", func(m map[string]any) { delete(spec(m), "") }, true},
		{"/spec/list/3", nil, false},
		{"/spec/list/-", nil, false},
		{"/spec/list/01", nil, false},
		{"/spec/list/-1", nil, false},
		{"/spec/list/99999999999999999999", nil, false},
		{"/spec/list/x", nil, false},
		{"/spec/replicas/deeper", nil, false},
		{"/nope", nil, false},
		{"/nope/deeper/still", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.pointer, func(t *testing.T) {
			p, err := ParsePointer(tt.pointer)
			if err != nil {
				t.Fatal(err)
			}
			got := doc()
			_, removed := remove(got, pointerSteps(p))
			want := doc()
			if tt.want != nil {
				tt.want(want)
			}
			if removed != tt.removed {
				t.Errorf("removed = %v, want %v", removed, tt.removed)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("after removing %s (-want +got):\n%s", tt.pointer, diff)
			}
		})
	}
}

func spec(m map[string]any) map[string]any { return m["spec"].(map[string]any) }
