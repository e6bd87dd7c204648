package source

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

const validIndex = `apiVersion: v1
entries:
  web:
  - apiVersion: v2
    name: web
    version: 1.10.0
    digest: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    urls:
    - charts/web-1.10.0.tgz
    created: "2024-01-01T00:00:00Z"
    maintainers: [{name: a}]
  - name: web
    version: 1.2.0
    urls: [https://example.com/web-1.2.0.tgz, mirror/web-1.2.0.tgz]
  - name: web
    version: v1.2.0
    urls: [charts/web-v1.2.0.tgz]
  - name: web
    version: 2.0.0-rc.1
    urls: [charts/web-2.0.0-rc.1.tgz]
  - name: web
    version: nightly
    urls: [charts/web-nightly.tgz]
  - name: web
    urls: [charts/no-version.tgz]
  - {name: web, version: 9.9.9}
  - {name: web, version: 9.9.8, urls: notalist}
  - just a string
  db: []
  nil: ~
generated: "2024-01-01T00:00:00Z"
`

// aliasBomb anchors a list of versions and a chart list of aliases to it,
// then lists that many charts: billions of versions once expanded.
func aliasBomb(versions, charts int) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nv: &v {name: web, version: 1.0.0, urls: [x.tgz]}\nl: &l [")
	for i := range versions {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("*v")
	}
	b.WriteString("]\nentries:\n")
	for i := range charts {
		fmt.Fprintf(&b, "  c%d: *l\n", i)
	}
	return b.String()
}

// manyEntries lists charts, each with versions versions.
func manyEntries(charts, versions int) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nentries:\n")
	for c := range charts {
		fmt.Fprintf(&b, "  c%d:\n", c)
		for v := range versions {
			fmt.Fprintf(&b, "  - {version: 1.0.%d, urls: [c%d-1.0.%d.tgz]}\n", v, c, v)
		}
	}
	return b.String()
}

func TestParseIndex(t *testing.T) {
	idx, err := parseIndex([]byte(validIndex))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range idx.entries["web"] {
		got = append(got, fmt.Sprintf("%s %s %v %q", v.Name, v.Version, v.URLs, v.Digest))
	}
	want := []string{
		`web 1.10.0 [charts/web-1.10.0.tgz] "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"`,
		`web 1.2.0 [https://example.com/web-1.2.0.tgz mirror/web-1.2.0.tgz] ""`,
		`web v1.2.0 [charts/web-v1.2.0.tgz] ""`,
		`web 2.0.0-rc.1 [charts/web-2.0.0-rc.1.tgz] ""`,
		`web nightly [charts/web-nightly.tgz] ""`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("web versions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, ok := idx.entries["db"]; !ok {
		t.Error("db, with no versions, is missing")
	}

	refused := []struct {
		name, index, detail string
	}{
		{"empty", "", "empty"},
		{"not YAML", "entries: [", "not YAML"},
		{"no apiVersion", "entries: {}", "no apiVersion"},
		{"entries a list", "apiVersion: v1\nentries: [a]", "entries is not a mapping"},
		{"a scalar", "hello", "not a mapping"},
		{"too many charts", manyEntries(maxIndexCharts+1, 0), "more than 20000 charts"},
		{"alias bomb", aliasBomb(1000, 1000), "more than 200000 chart versions"},
		{"too large", strings.Repeat("#", maxIndexBytes+1), "larger than"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := parseIndex([]byte(tt.index))
			if !errors.Is(err, ErrInvalidIndex) || !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("parseIndex = %v, want ErrInvalidIndex saying %q", err, tt.detail)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

func TestChooseVersion(t *testing.T) {
	idx, err := parseIndex([]byte(validIndex))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ chart, version, want string }{
		{"web", "", "1.10.0"},
		{"web", "1.2.0", "1.2.0"},
		{"web", "v1.2.0", "v1.2.0"},   // exact text first
		{"web", "=1.2.0", "1.2.0"},    // equal versions: the first by text
		{"web", "nightly", "nightly"}, // not semver, but exact
		{"web", "~1.2", "1.2.0"},
		{"web", ">=1.0.0-0", "2.0.0-rc.1"},
		{"web", "1.x", "1.10.0"},
	}
	for _, tt := range tests {
		v, err := idx.choose(tt.chart, tt.version)
		if err != nil || v.Version != tt.want {
			t.Errorf("choose(%s, %q) = %q, %v; want %q", tt.chart, tt.version, v.Version, err, tt.want)
		}
	}
	for _, tt := range []struct {
		chart, version string
		want           error
	}{
		{"nope", "", ErrRevisionNotFound},
		{"db", "", ErrRevisionNotFound},
		{"web", ">=3", ErrRevisionNotFound},
		{"web", "1.2.3", ErrRevisionNotFound},
		{"web", "not a range", ErrInvalidRevision},
	} {
		if _, err := idx.choose(tt.chart, tt.version); !errors.Is(err, tt.want) {
			t.Errorf("choose(%s, %q) = %v, want %v", tt.chart, tt.version, err, tt.want)
		}
	}
}

// FuzzHelmIndex feeds the index parser anything: it must not panic, must
// fail only with ErrInvalidIndex, and what it returns stays in its bounds.
func FuzzHelmIndex(f *testing.F) {
	f.Add([]byte(validIndex))
	f.Add([]byte(aliasBomb(50, 50)))
	f.Add([]byte(manyEntries(20, 20)))
	f.Add([]byte("apiVersion: v1\nentries:\n  a: &a [*a]\n"))
	f.Add([]byte(`{"apiVersion": "v1", "entries": {"web": [{"version": "1.0.0", "urls": ["x.tgz"]}]}}`))
	f.Add([]byte("apiVersion: v1\nentries: &e\n  web: *e\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("apiVersion: v1\nentries:\n  <<: {web: [{version: 1, urls: [x]}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		idx, err := parseIndex(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidIndex) {
				t.Fatalf("error %v is not ErrInvalidIndex", err)
			}
			return
		}
		if len(idx.entries) > maxIndexCharts || idx.versions > maxIndexVersions {
			t.Fatalf("%d charts, %d versions: past the bounds", len(idx.entries), idx.versions)
		}
		for name, versions := range idx.entries {
			for _, v := range versions {
				if v.Version == "" || len(v.URLs) == 0 || len(v.URLs) > maxVersionURLs || len(v.Version) > maxIndexField {
					t.Fatalf("chart %q: unusable version kept: %+v", name, v)
				}
			}
			for _, rng := range []string{"", v0(versions), ">=1"} {
				if _, err := idx.choose(name, rng); err != nil && !errors.Is(err, ErrRevisionNotFound) && !errors.Is(err, ErrInvalidRevision) {
					t.Fatalf("choose(%q, %q) = %v", name, rng, err)
				}
			}
		}
	})
}

// v0 returns the first version's text, or "".
func v0(versions []indexVersion) string {
	if len(versions) == 0 {
		return ""
	}
	return versions[0].Version
}
