package render

import (
	"errors"
	"path"
	"strings"
	"testing"
	"unicode/utf8"
)

// Run longer with: go test -run '^$' -fuzz FuzzDecodeManifests -fuzztime 1m ./internal/render
func FuzzDecodeManifests(f *testing.F) {
	for _, seed := range []string{
		configMap("a"),
		configMap("a") + "---\n---\n" + configMap("b"),
		"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n",
		"a: &a {b: 1}\nc: {<<: *a, d: 2}\n",
		"a: &a [*a]\n",
		billionLaughs(4),
		strings.Repeat("[", 200),
		"? [a]\n: b\n",
		"a: !!binary aGVsbG8=\nb: !custom x\nc: 2001-12-14t21:59:43.10-05:00\n",
		`{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}`,
		"\xff\xfe\x00",
		"a: .nan\nb: 0o17\nc: -0x10\nd: 1_000\n",
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, asJSON bool) {
		opts := Options{MaxDepth: 32, MaxAliasNodes: 1000, MaxObjects: 100}.withDefaults()
		b := newBudget(opts)
		err := decodeManifests(data, "f.yaml", asJSON, b, func(doc int, m map[string]any) error {
			if doc < 1 {
				t.Fatalf("document %d", doc)
			}
			objs, err := objectsOf("f.yaml", doc, m)
			for _, u := range objs {
				_ = u.DeepCopy() // panics on values that are not JSON-like
				_, _ = u.MarshalJSON()
			}
			return err
		})
		var e *Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
		if b.aliasLeft < 0 {
			t.Fatalf("alias budget overdrawn: %d", b.aliasLeft)
		}
		_ = checkYAML("f.yaml", data, newBudget(opts))
	})
}

// Run longer with: go test -run '^$' -fuzz FuzzCleanRequestPath -fuzztime 1m ./internal/render
func FuzzCleanRequestPath(f *testing.F) {
	for _, seed := range []string{"", ".", "apps/web", "../x", "a/../../b", "/etc", "%2e%2e/x", "a\x00b", `..\x`, "C:x", "a//b/./c/"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got, err := cleanRequestPath(p)
		if err != nil {
			if !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("%q: %v is not ErrInvalidPath", p, err)
			}
			return
		}
		switch {
		case got == "":
		case got == ".." || strings.HasPrefix(got, "../") || strings.HasPrefix(got, "/"):
			t.Fatalf("%q cleaned to %q, which leaves the root", p, got)
		case path.Clean(got) != got || strings.ContainsAny(got, "\x00\\") || percentEscape.MatchString(got), !utf8.ValidString(got):
			t.Fatalf("%q cleaned to %q", p, got)
		}
	})
}

// Run longer with: go test -run '^$' -fuzz FuzzScanKustomization -fuzztime 1m ./internal/render
func FuzzScanKustomization(f *testing.F) {
	for _, seed := range []string{
		"resources: [../base, cm.yaml]\n",
		"resources: ['https://example.com/x']\n",
		"patches: [{path: p.yaml}, {patch: 'a: 1'}]\nconfigMapGenerator: [{name: c, files: [k=v.txt], envs: [e.env]}]\n",
		"helmCharts: [{name: x}]\n",
		"openapi: {path: s.json}\n",
	} {
		f.Add("apps/web/kustomization.yaml", []byte(seed))
	}
	f.Fuzz(func(t *testing.T, file string, data []byte) {
		b := newBudget(Options{MaxDepth: 32, MaxAliasNodes: 1000}.withDefaults())
		_, err := scanKustomization(file, data, b)
		var e *Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
	})
}
