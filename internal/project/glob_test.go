package project

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern string
		yes, no []string
	}{
		{pattern: "team-a", yes: []string{"team-a"}, no: []string{"team-a-x", "Team-a", "team-", ""}},
		{pattern: "*", yes: []string{"", "x", "a/b/c", "日本"}},
		{pattern: "team-*", yes: []string{"team-", "team-a", "team-a/b"}, no: []string{"team", "xteam-a"}},
		{pattern: "*-prod", yes: []string{"-prod", "eu-prod"}, no: []string{"eu-prod2", "prod"}},
		{pattern: "a*b*c", yes: []string{"abc", "aXbYc", "abbbc", "acbc"}, no: []string{"ab", "acb", "abcx"}},
		{pattern: "?", yes: []string{"x", "日"}, no: []string{"", "xy"}},
		{pattern: "team-?", yes: []string{"team-a"}, no: []string{"team-", "team-ab"}},
		{pattern: "**", yes: []string{"", "anything"}},
		{pattern: `\*`, yes: []string{"*"}, no: []string{"x", ""}},
		{pattern: `a\?b`, yes: []string{"a?b"}, no: []string{"axb"}},
		{pattern: `\[x\]`, yes: []string{"[x]"}, no: []string{"x"}},
		{pattern: `\\`, yes: []string{`\`}},
		{pattern: "ConfigMap", yes: []string{"ConfigMap"}, no: []string{"configmap"}},
		{pattern: "*", no: []string{"\xff", strings.Repeat("a", maxSubjectLen+1)}},
	}
	for _, tt := range tests {
		g, err := compileGlob(tt.pattern)
		if err != nil {
			t.Fatalf("compileGlob(%q): %v", tt.pattern, err)
		}
		for _, s := range tt.yes {
			if !g.match(s) {
				t.Errorf("%q does not match %q", tt.pattern, s)
			}
		}
		for _, s := range tt.no {
			if g.match(s) {
				t.Errorf("%q matches %q", tt.pattern, s)
			}
		}
	}
}

func TestGlobHostWildcards(t *testing.T) {
	// Host wildcards never cross the end of a host; path wildcards do.
	g := newGlob(string([]rune{'h', hostRun, '/', wildRun}))
	for s, want := range map[string]bool{
		"hx/y":     true,
		"h/y/z":    true,
		"hx/":      true,
		"ha/b/c/d": true,
		"ha:1/b":   false,
		"ha@b/c":   false,
		"h":        false,
	} {
		if got := g.match(s); got != want {
			t.Errorf("match(%q) = %v, want %v", s, got, want)
		}
	}
	one := newGlob(string([]rune{'h', hostOne, 'z'}))
	if !one.match("hxz") || one.match("h/z") || one.match("h:z") {
		t.Error("a host ? matched wrongly")
	}
}

func TestCompileGlobErrors(t *testing.T) {
	tests := map[string]string{
		"":                                   `invalid pattern: empty`,
		"team-[ab]":                          `invalid pattern: '[' is reserved (character classes are not supported; write \[ for a literal [)`,
		"x]":                                 `invalid pattern: ']' is reserved (character classes are not supported; write \] for a literal ])`,
		"{a,b}":                              `invalid pattern: '{' is reserved (alternatives are not supported; list each pattern, or write \{ for a literal {)`,
		`team\`:                              `invalid pattern: ends with an unfinished escape '\\'`,
		"a\nb":                               `invalid pattern: control character '\n'`,
		"\xffa":                              `invalid pattern: not valid UTF-8`,
		"a\ue000":                            `invalid pattern: character U+E000 is not allowed`,
		strings.Repeat("a", maxPatternLen+1): `invalid pattern: longer than 2048 bytes`,
	}
	for pattern, want := range tests {
		_, err := compileGlob(pattern)
		if err == nil {
			t.Errorf("compileGlob(%q) = nil error, want %q", pattern, want)
			continue
		}
		if !errors.Is(err, errPattern) {
			t.Errorf("compileGlob(%q) = %v, not errPattern", pattern, err)
		}
		if diff := cmp.Diff(want, err.Error()); diff != "" {
			t.Errorf("compileGlob(%q) error (-want +got):\n%s", pattern, diff)
		}
	}
}

func TestGlobString(t *testing.T) {
	for _, p := range []string{"*", "team-?", `\*x`, `\!x`, `a\\b`, `\[\]\{\}`, "a!b", "https://h/*"} {
		g, err := compileGlob(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := g.String(); got != p {
			t.Errorf("compileGlob(%q).String() = %q", p, got)
		}
	}
}

// BenchmarkGlobWorstCase: the longest pattern against the longest subject
// costs their product, never more (no backtracking blow-up).
func BenchmarkGlobWorstCase(b *testing.B) {
	g, err := compileGlob(strings.Repeat("*a", maxPatternLen/2-1) + "*b")
	if err != nil {
		b.Fatal(err)
	}
	s := strings.Repeat("a", maxSubjectLen)
	for b.Loop() {
		if g.match(s) {
			b.Fatal("matched")
		}
	}
}
