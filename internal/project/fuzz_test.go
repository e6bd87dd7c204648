package project

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// Run longer with: go test -run '^$' -fuzz FuzzGlob -fuzztime 1m ./internal/project
func FuzzGlob(f *testing.F) {
	for _, seed := range [][2]string{
		{"*", "anything"}, {"team-*", "team-a"}, {"a*b*c", "aXbYc"}, {"?", "日"}, {`\*`, "*"},
		{`a\`, "a"}, {"[x]", "x"}, {"{a,b}", "a"}, {"", ""}, {"**?**", "x"}, {"a\ue000", "a"},
		{"https://*.example.com/*", "https://evil.test/x.example.com/y"}, {"\xff", "\xff"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		g, err := compileGlob(pattern)
		if err != nil {
			if !errors.Is(err, errPattern) {
				t.Fatalf("compileGlob(%q): %v does not wrap errPattern", pattern, err)
			}
		} else {
			checkGlob(t, pattern, g, s)
			// The same, with a repository URL pattern's host wildcards.
			checkGlob(t, pattern, newGlob(normalizeRepoPattern(g.text)), s)
		}
		// A pattern with every special character escaped matches exactly
		// what it spells.
		if e, err := compileGlob(escape(s)); err == nil {
			if !e.match(s) || e.match(s+"x") || (s != "" && e.match(s[:len(s)-1])) {
				t.Fatalf("escaped %q does not match exactly itself", s)
			}
		}
	})
}

func checkGlob(t *testing.T, pattern string, g glob, s string) {
	t.Helper()
	got := g.match(s)
	if want := oracle(g, s); got != want {
		t.Fatalf("%q (compiled %q) match(%q) = %v, oracle says %v", pattern, g.text, s, got, want)
	}
	if !strings.ContainsAny(pattern, `*?\[]{}`) && g.text == pattern && got != (pattern == s) {
		t.Fatalf("literal %q match(%q) = %v", pattern, s, got)
	}
	if g.text == "" {
		return // a repository URL pattern normalized to nothing; Compile refuses it
	}
	if back, err := compileGlob(g.String()); err != nil || back.String() != g.String() {
		t.Fatalf("%q: String() = %q does not compile back: %v", pattern, g.String(), err)
	}
}

// oracle matches with the regexp package: a different engine, same meaning.
func oracle(g glob, s string) bool {
	if g.literal {
		return g.text == s
	}
	if len(s) > maxSubjectLen || !utf8.ValidString(s) {
		return false
	}
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for _, r := range g.text {
		switch r {
		case wildRun:
			b.WriteString(`.*`)
		case wildOne:
			b.WriteString(`.`)
		case hostRun:
			b.WriteString(`[^/:@?#]*`)
		case hostOne:
			b.WriteString(`[^/:@?#]`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`)$`)
	return regexp.MustCompile(b.String()).MatchString(s)
}

// escape escapes s's special characters, byte by byte so that invalid
// UTF-8 stays as it is.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(`*?\[]{}`, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

const fuzzCanary = "CANARY-pw-5e1d"

// Run longer with: go test -run '^$' -fuzz FuzzCheckSource -fuzztime 1m ./internal/project
func FuzzCheckSource(f *testing.F) {
	for _, seed := range []string{
		"git.example.com/team-a/app.git", "h/../x", "h#@x/y", "h?@x", "h\\@x", "a@b@c/d", "[::1]:443/x",
		"h/%2e%2E/x", "h/%zz", "h/%2F", "H:443", "", "/", "@", "h/x y", "h/é",
	} {
		f.Add(seed)
	}
	pols := []*Policy{}
	for _, p := range []*flotillav1.Project{nil, teamA()} {
		pol, err := Compile(p)
		if err != nil {
			f.Fatal(err)
		}
		pols = append(pols, pol)
	}
	f.Fuzz(func(t *testing.T, rest string) {
		for _, url := range []string{
			"https://user:" + fuzzCanary + "@" + rest,
			"https://user:" + rest + fuzzCanary + "@git.example.com/team-a/x",
			"https://git.example.com/team-a/x?token=" + fuzzCanary + rest,
			"ssh://" + fuzzCanary + "@" + rest,
			"git@" + rest,
			rest,
		} {
			for _, pol := range pols {
				err := pol.CheckSource(url)
				if err == nil {
					continue
				}
				if !errors.Is(err, ErrViolation) {
					t.Fatalf("CheckSource(%q): %v is not a violation", url, err)
				}
				if strings.Contains(err.Error(), fuzzCanary) {
					t.Fatalf("CheckSource(%q): %v shows the userinfo", url, err)
				}
			}
		}
	})
}
