package render

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decodeAll collects the documents of a stream, numbered.
func decodeAll(data string, asJSON bool, opts Options) (map[int]map[string]any, error) {
	out := map[int]map[string]any{}
	err := decodeManifests(data, "f.yaml", asJSON, newBudget(opts.withDefaults()), func(doc int, m map[string]any) error {
		out[doc] = m
		return nil
	})
	return out, err
}

func TestDecodeValues(t *testing.T) {
	cases := []struct {
		name   string
		in     string
		asJSON bool
		want   map[int]map[string]any
	}{
		{
			name: "scalars",
			in:   "i: 42\nneg: -7\nhex: 0x1F\nf: 1.5\nexp: 1e3\nb: true\nyes: yes\nn: null\ntilde: ~\ns: '42'\nts: 2024-01-02\nbig: 123456789012345678901234567890\n",
			want: map[int]map[string]any{1: {
				"i": int64(42), "neg": int64(-7), "hex": int64(31), "f": 1.5, "exp": 1000.0, "b": true,
				"yes": "yes", "n": nil, "tilde": nil, "s": "42", "ts": "2024-01-02", "big": 1.2345678901234568e29,
			}},
		},
		{
			name: "anchors and merges",
			in:   "base: &b {x: 1, y: 2}\nother: &o {y: 20, z: 30}\nm:\n  <<: [*b, *o]\n  x: 10\nm2: {<<: *b}\nlist: &l [1, 2]\nref: *l\n'<<': quoted\n",
			want: map[int]map[string]any{1: {
				"base":  map[string]any{"x": int64(1), "y": int64(2)},
				"other": map[string]any{"y": int64(20), "z": int64(30)},
				"m":     map[string]any{"x": int64(10), "y": int64(2), "z": int64(30)},
				"m2":    map[string]any{"x": int64(1), "y": int64(2)},
				"list":  []any{int64(1), int64(2)},
				"ref":   []any{int64(1), int64(2)},
				"<<":    "quoted",
			}},
		},
		{
			name: "documents: a leading comment is none, empty ones count but are skipped",
			in:   "# comment only\n---\na: 1\n---\n---\n# nothing\n---\nb: 2\n...\n",
			want: map[int]map[string]any{1: {"a": int64(1)}, 4: {"b": int64(2)}},
		},
		{
			name: "keys that are not strings",
			in:   "1: one\ntrue: yes\n~: nothing\n",
			want: map[int]map[string]any{1: {"1": "one", "true": "yes", "null": "nothing"}},
		},
		{
			name:   "JSON stream",
			in:     `{"a": 1, "b": [1.5, "x", null, true], "c": "\/slash"} {"d": 9007199254740993}` + "\nnull\n",
			asJSON: true,
			want: map[int]map[string]any{
				1: {"a": int64(1), "b": []any{1.5, "x", nil, true}, "c": "/slash"},
				2: {"d": int64(9007199254740993)},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeAll(tc.in, tc.asJSON, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	cases := []struct {
		name string
		in   string
		opts Options
		kind error
		msg  string
	}{
		{"duplicate key", "a: 1\nb: 2\na: 3\n", Options{}, ErrMalformed, `line 3: key "a" appears twice`},
		{"complex key", "? [a, b]\n: c\n", Options{}, ErrMalformed, "mapping key"},
		{"infinity", "a: .inf\n", Options{}, ErrMalformed, "JSON"},
		{"not an object", "just a string\n", Options{}, ErrMalformed, "is a string, not an object"},
		{"merge of a scalar", "a: &s x\nb: {<<: *s}\n", Options{}, ErrMalformed, "merge"},
		{"self reference", "a: &a [*a]\n", Options{}, ErrTooLarge, ""},
		{"depth", "a: {b: {c: {d: 1}}}\n", Options{MaxDepth: 3}, ErrTooLarge, "nested deeper than 3"},
		{"alias budget", "a: &a [1, 2, 3]\nb: [*a, *a, *a]\n", Options{MaxAliasNodes: 5}, ErrTooLarge, "more than 5 values"},
		{"alias budget through a merged list", "a: &a {x: 1, y: 2}\nl: &l [*a, *a]\nm: {<<: *l}\nn: {<<: *l}\n", Options{MaxAliasNodes: 8}, ErrTooLarge, "aliases"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeAll(tc.in, false, tc.opts)
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %v containing %q", err, tc.kind, tc.msg)
			}
		})
	}
}

func TestCheckYAML(t *testing.T) {
	b := newBudget(Options{MaxDepth: 4, MaxAliasNodes: 50}.withDefaults())
	for _, ok := range []string{"a: [1, 2]\n", "not: [valid yaml", "key=value\nother=1\n", "a: &x {b: 1}\nc: *x\n"} {
		if err := checkYAML("f", []byte(ok), b); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for in, kind := range map[string]error{
		"a: {b: {c: {d: {e: 1}}}}\n":    ErrTooLarge,
		billionLaughs(3):                ErrTooLarge,
		"a: &a [*a]\n":                  ErrMalformed,
		"---\nok: 1\n---\nx: &a [*a]\n": ErrMalformed,
	} {
		if err := checkYAML("f", []byte(in), b); !errors.Is(err, kind) {
			t.Errorf("%q: got %v, want %v", in, err, kind)
		}
	}
}
