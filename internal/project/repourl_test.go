package project

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizeRepoURL(t *testing.T) {
	tests := []struct {
		raw, want, problem string
	}{
		{raw: "https://git.example.com/team-a/app", want: "https://git.example.com/team-a/app"},
		{raw: "https://git.example.com/team-a/app.git", want: "https://git.example.com/team-a/app"},
		{raw: "https://git.example.com/team-a/app.git/", want: "https://git.example.com/team-a/app"},
		{raw: "https://git.example.com/team-a/app///", want: "https://git.example.com/team-a/app"},
		{raw: "HTTPS://Git.Example.COM/Team-A/App", want: "https://git.example.com/Team-A/App"},
		{raw: "https://user:s3cret@git.example.com/team-a/app", want: "https://git.example.com/team-a/app"},
		{raw: "https://a@b@git.example.com/x", want: "https://git.example.com/x"},
		{raw: "https://git.example.com:443/x", want: "https://git.example.com/x"},
		{raw: "https://git.example.com:8443/x", want: "https://git.example.com:8443/x"},
		{raw: "http://git.example.com:80/x", want: "http://git.example.com/x"},
		{raw: "ssh://git@git.example.com:22/team-a/app.git", want: "ssh://git.example.com/team-a/app"},
		{raw: "ssh://git@git.example.com:2222/x", want: "ssh://git.example.com:2222/x"},
		{raw: "git@GitHub.com:org/app.git", want: "github.com:org/app"},
		{raw: "oci://ghcr.io/org/charts/app", want: "oci://ghcr.io/org/charts/app"},
		{raw: "https://[::1]:443/x", want: "https://[::1]/x"},
		{raw: "https://h:/x", want: "https://h/x"},
		{raw: "https://h/%61pp%7e", want: "https://h/app~"},
		{raw: "https://h/a%2a", want: "https://h/a%2A"},
		{raw: "https://h/", want: "https://h"},
		{raw: "https://h/team-a/../team-b/x", want: "https://h/team-a/../team-b/x", problem: "has a '.' or '..' path segment"},
		{raw: "https://h/team-a/%2e%2E/team-b/x", want: "https://h/team-a/../team-b/x", problem: "has a '.' or '..' path segment"},
		{raw: "https://h/./x", want: "https://h/./x", problem: "has a '.' or '..' path segment"},
		{raw: "git@h:../x", want: "h:../x", problem: "has a '.' or '..' path segment"},
		{raw: "https://h/a..b/x.", want: "https://h/a..b/x."},
		{raw: "https://h/team-a%2F..%2Fteam-b", want: "https://h/team-a%2F..%2Fteam-b",
			problem: "has a malformed percent-escape, or one that encodes '/', '\\' or a control character"},
		{raw: "https://h/x%zz", want: "https://h/x%zz",
			problem: "has a malformed percent-escape, or one that encodes '/', '\\' or a control character"},
		{raw: "https://h/x%0a", want: "https://h/x%0A",
			problem: "has a malformed percent-escape, or one that encodes '/', '\\' or a control character"},
		{raw: "https://h/a b", want: "https://h/a b",
			problem: "has a space, a backslash, a control or a non-ASCII character (percent-encode it)"},
		{raw: `https://h\x`, want: `https://h\x`,
			problem: "has a space, a backslash, a control or a non-ASCII character (percent-encode it)"},
		{raw: "https://hé/x", want: "https://hé/x",
			problem: "has a space, a backslash, a control or a non-ASCII character (percent-encode it)"},
		{raw: "", want: "", problem: "is empty"},
		{raw: "https://h/" + strings.Repeat("a", maxURLLen), want: "https://h/" + strings.Repeat("a", maxURLLen),
			problem: "is longer than 2048 bytes"},
		// The authority ends at '?' and '#', as in git's and browsers' readers.
		{raw: "https://evil.test#@git.example.com/team-a/x", want: "https://evil.test#@git.example.com/team-a/x",
			problem: "has a query or fragment"},
		{raw: "https://evil.test?@git.example.com/team-a/x", want: "https://evil.test?@git.example.com/team-a/x",
			problem: "has a query or fragment"},
		{raw: "https://h/x?private_token=abc", want: "https://h/x?private_token=abc", problem: "has a query or fragment"},
	}
	for _, tt := range tests {
		got, problem := normalizeRepoURL(tt.raw)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("normalizeRepoURL(%q) (-want +got):\n%s", tt.raw, diff)
		}
		if diff := cmp.Diff(tt.problem, problem); diff != "" {
			t.Errorf("normalizeRepoURL(%q) problem (-want +got):\n%s", tt.raw, diff)
		}
	}
}

func TestNormalizeRepoPattern(t *testing.T) {
	tests := []struct {
		pattern   string
		yes, no   []string
		canonical string
	}{
		{
			pattern:   "https://git.example.com/team-a/*",
			canonical: "https://git.example.com/team-a/*",
			yes: []string{"https://git.example.com/team-a/app.git", "https://git.example.com/team-a/sub/app",
				"HTTPS://GIT.EXAMPLE.COM/team-a/app", "https://u:p@git.example.com:443/team-a/app/"},
			no: []string{"https://git.example.com/team-a", "https://git.example.com/team-b/app",
				"https://git.example.com/Team-A/app", "https://evil.test/git.example.com/team-a/app",
				"https://git.example.com.evil.test/team-a/app", "http://git.example.com/team-a/app",
				"https://evil.test#@git.example.com/team-a/app", "https://evil.test?@git.example.com/team-a/app"},
		},
		{
			pattern:   "HTTPS://Git.Example.com/team-a/*.git/",
			canonical: "https://git.example.com/team-a/*",
			yes:       []string{"https://git.example.com/team-a/app"},
		},
		{
			pattern:   "https://token@git.example.com:443/team-a/app.git",
			canonical: "https://git.example.com/team-a/app",
			yes:       []string{"https://git.example.com/team-a/app", "https://git.example.com/team-a/app.git/"},
			no:        []string{"https://git.example.com/team-a/app2"},
		},
		{
			pattern:   "https://*.example.com/*",
			canonical: "https://*.example.com/*",
			yes:       []string{"https://git.example.com/x", "https://a.b.example.com/x/y"},
			no: []string{"https://evil.test/x.example.com/y", "https://evil.test:1.example.com/y",
				"https://evil.test?.example.com/y", "https://evil.test#.example.com/y"},
		},
		{
			pattern:   "*://git.example.com/*",
			canonical: "*://git.example.com/*",
			yes:       []string{"https://git.example.com/x", "ssh://git@git.example.com/x"},
			no:        []string{"https://evil.test/x://git.example.com/y"},
		},
		{
			pattern:   "https://*",
			canonical: "https://*",
			yes:       []string{"https://git.example.com/x", "https://h"},
			no:        []string{"http://h/x"},
		},
		{
			pattern:   "git@github.com:org/*",
			canonical: "github.com:org/*",
			yes:       []string{"git@github.com:org/app.git", "github.com:org/app"},
			no:        []string{"ssh://git@github.com/org/app", "git@github.com:other/app", "evil.test:x@github.com:org/app"},
		},
		{
			pattern:   "*",
			canonical: "*",
			yes:       []string{"https://h/x", "git@h:x", "oci://h/x"},
		},
		{
			pattern:   "https://h/%61pp",
			canonical: "https://h/app",
			yes:       []string{"https://h/app", "https://h/%61%70%70"},
		},
	}
	for _, tt := range tests {
		g, err := compileGlob(tt.pattern)
		if err != nil {
			t.Fatal(err)
		}
		g = newGlob(normalizeRepoPattern(g.text))
		if diff := cmp.Diff(tt.canonical, g.String()); diff != "" {
			t.Errorf("normalized %q (-want +got):\n%s", tt.pattern, diff)
		}
		for _, u := range tt.yes {
			if n, problem := normalizeRepoURL(u); problem != "" || !g.match(n) {
				t.Errorf("%q does not match %q (normalized %q, problem %q)", tt.pattern, u, n, problem)
			}
		}
		for _, u := range tt.no {
			if n, _ := normalizeRepoURL(u); g.match(n) {
				t.Errorf("%q matches %q (normalized %q)", tt.pattern, u, n)
			}
		}
	}
}

func TestHideUserinfo(t *testing.T) {
	tests := map[string]string{
		"https://u:p@h/x":       "https://…@h/x",
		"!https://u:p@h/x":      "!https://…@h/x",
		"https://u:p@h":         "https://…@h",
		`https://u:p\@h/x`:      "https://…@h/x",
		"https://u:ab#cd@h/x":   "https://…@h/x",
		"https://u:ab/cd@h/x":   "https://…@h/x",
		"git@h:org/x":           "…@h:org/x",
		"https://h/x":           "https://h/x",
		"*":                     "*",
		"https://u:p@*.h/x@y/[": "https://…@y/[",
	}
	for in, want := range tests {
		if got := hideUserinfo(in); got != want {
			t.Errorf("hideUserinfo(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDisplayURL(t *testing.T) {
	tests := map[string]string{
		"https://git.example.com/team-a/app":    "https://git.example.com/team-a/app",
		"https://h/x?private_token=abc":         "https://h/x…",
		"https://u:ab#cd@h/x":                   "https://…@h/x",
		"https://evil.test#@git.example.com":    "https://…@git.example.com",
		"https://h/x\n":                         `"https://h/x\n"`,
		"":                                      `""`,
		"https://h/" + strings.Repeat("a", 300): "https://h/" + strings.Repeat("a", 190) + "…",
	}
	for in, want := range tests {
		if got := displayURL(in); got != want {
			t.Errorf("displayURL(%q) = %q, want %q", in, got, want)
		}
	}
}
