package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCleanRequestPath(t *testing.T) {
	type result struct {
		Path    string
		Invalid bool
	}
	cases := map[string]result{
		"":                         {Path: ""},
		".":                        {Path: ""},
		"apps/web":                 {Path: "apps/web"},
		"apps/web/":                {Path: "apps/web"},
		"./apps//web/.":            {Path: "apps/web"},
		"apps/../web":              {Path: "web"},
		"apps/web/../../x":         {Path: "x"},
		"..":                       {Invalid: true},
		"../x":                     {Invalid: true},
		"apps/../../x":             {Invalid: true},
		"apps/web/../../../x":      {Invalid: true},
		"/etc/passwd":              {Invalid: true},
		"/":                        {Invalid: true},
		"//host/share":             {Invalid: true},
		"C:/Windows":               {Invalid: true},
		`..\x`:                     {Invalid: true},
		`apps\web`:                 {Invalid: true},
		"%2e%2e/x":                 {Invalid: true},
		"%2E%2E%2Fx":               {Invalid: true},
		"apps/%2e%2e/%2e%2e":       {Invalid: true},
		"..%2fx":                   {Invalid: true},
		"%252e%252e/x":             {Invalid: true},
		"apps/web\x00.yaml":        {Invalid: true},
		"\x00":                     {Invalid: true},
		"apps\n/web":               {Invalid: true},
		"apps/\x7f":                {Invalid: true},
		"\xff\xfe":                 {Invalid: true},
		strings.Repeat("a/", 3000): {Invalid: true},
		"100%/ok":                  {Path: "100%/ok"},
	}
	for in, want := range cases {
		got, err := cleanRequestPath(in)
		res := result{Path: got, Invalid: err != nil}
		if err != nil && !errors.Is(err, ErrInvalidPath) {
			t.Errorf("%q: error %v is not ErrInvalidPath", in, err)
		}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("%q (-want +got):\n%s", in, diff)
		}
	}
}

// A refused path gets the same answer whether its target exists or not,
// and nothing is read: the refusal comes before the root is even opened.
func TestRenderRefusesPathBeforeReading(t *testing.T) {
	base := t.TempDir()
	withTarget := filepath.Join(base, "with")
	without := filepath.Join(base, "without")
	write(t, withTarget, "repo/app/cm.yaml", configMap("app"))
	write(t, withTarget, "secret/cm.yaml", configMap("secret-"+canary))
	write(t, without, "repo/app/cm.yaml", configMap("app"))
	paths := []string{
		"../secret", "../secret/cm.yaml", "app/../../secret", "%2e%2e/secret",
		filepath.Join(withTarget, "secret"), "app/\x00../../secret",
	}
	r := New(DefaultOptions())
	for _, p := range paths {
		_, errWith := r.Render(context.Background(), Request{Root: filepath.Join(withTarget, "repo"), Path: p})
		_, errWithout := r.Render(context.Background(), Request{Root: filepath.Join(without, "repo"), Path: p})
		if !errors.Is(errWith, ErrInvalidPath) || !errors.Is(errWithout, ErrInvalidPath) {
			t.Errorf("%q: got %v and %v, want ErrInvalidPath", p, errWith, errWithout)
			continue
		}
		if errWith.Error() != errWithout.Error() {
			t.Errorf("%q: the error depends on the target:\n  %v\n  %v", p, errWith, errWithout)
		}
		if strings.Contains(errWith.Error(), canary) {
			t.Errorf("%q: error shows the target's content", p)
		}
	}
	// Not even a missing root is noticed: the path is refused first.
	_, err := r.Render(context.Background(), Request{Root: filepath.Join(base, "nowhere"), Path: "../x"})
	if !errors.Is(err, ErrInvalidPath) {
		t.Errorf("got %v, want ErrInvalidPath", err)
	}
	if _, err := os.Stat(filepath.Join(base, "nowhere")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("test setup")
	}
}

func TestIsRemoteRef(t *testing.T) {
	cases := map[string]bool{
		"../base":         false,
		"deployment.yaml": false,
		"base?ref=v1":     false,
		"my@file.yaml":    false,
		"https://github.com/org/repo//base?ref=v1":  true,
		"http://example.com/deploy.yaml":            true,
		"HTTPS://EXAMPLE.COM/x":                     true,
		"ssh://git@example.com/org/repo.git":        true,
		"file:///srv/git/repo":                      true,
		"git::https://example.com/org/repo":         true,
		"git@github.com:org/repo.git":               true,
		"github.com/org/repo/base?ref=main":         true,
		"GitHub.com/org/repo":                       true,
		"deploy@host.example.com:org/repo/base":     true,
		"deploy@host.example.com/org/repo":          true,
		"  https://example.com/with-leading-spaces": true,
	}
	for in, want := range cases {
		if got := isRemoteRef(in); got != want {
			t.Errorf("isRemoteRef(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestRedactRef(t *testing.T) {
	cases := map[string]string{
		"https://token123@github.com/org/repo":     `"https://***@github.com/org/repo"`,
		"https://user:pw@host/x@y":                 `"https://***@host/x@y"`,
		"git@github.com:org/repo.git":              `"git@github.com:org/repo.git"`,
		"https://github.com/org/repo//base?ref=v1": `"https://github.com/org/repo//base?ref=v1"`,
	}
	for in, want := range cases {
		if got := redactRef(in); got != want {
			t.Errorf("redactRef(%q) = %s, want %s", in, got, want)
		}
	}
}
