package webhook

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// parsers are the payload readers by name; parserNames orders them for the
// fuzz target.
var (
	parsers = map[string]func([]byte) (*push, error){
		"github": parseGitHub, "gitlab": parseGitLab,
		"bitbucket-cloud": parseBitbucketCloud, "bitbucket-server": parseBitbucketServer,
	}
	parserNames = []string{"github", "gitlab", "bitbucket-cloud", "bitbucket-server"}
)

func parserNamed(name string) func([]byte) (*push, error) { return parsers[name] }

func TestParsePushes(t *testing.T) {
	tests := []struct {
		file, parser string
		wantKeys     []string
		branches     []string
		tags         []string
		defaultB     string
	}{
		{"github-push.json", "github", []string{"github.com/example-org/config"}, []string{"main"}, nil, "main"},
		{"gitea-push.json", "github", []string{"forge.example.com/platform/config", "forge.example.com:2222/platform/config"}, nil, []string{"v1.4.0"}, "main"},
		{"gitlab-push.json", "gitlab", []string{"gitlab.example.com/group/config"}, []string{"release"}, nil, "main"},
		{"gitlab-tag-push.json", "gitlab", []string{"gitlab.example.com/group/config"}, nil, []string{"v2.1.0"}, "main"},
		{"bitbucket-cloud-push.json", "bitbucket-cloud", []string{"bitbucket.org/example-team/config"}, []string{"main"}, []string{"v0.9.0"}, ""},
		{"bitbucket-server-push.json", "bitbucket-server", []string{"bitbucket.example.com/scm/plat/config", "bitbucket.example.com:7999/plat/config"}, []string{"main"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p, err := parserNamed(tt.parser)(readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got := slices.Sorted(func(yield func(string) bool) {
				for k := range gitKeys(p) {
					if !yield(k) {
						return
					}
				}
			})
			if diff := cmp.Diff(tt.wantKeys, got); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.branches, p.branches); diff != "" {
				t.Errorf("branches (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.tags, p.tags); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
			if p.defaultBranch != tt.defaultB {
				t.Errorf("default branch %q, want %q", p.defaultBranch, tt.defaultB)
			}
		})
	}
}

func TestParsePushRefusesMalformed(t *testing.T) {
	for _, tt := range []struct{ parser, body string }{
		{"github", ``},
		{"github", `[]`},
		{"github", `{"ref": 7}`},
		{"github", `{"ref": "refs/heads/main"}`},
		{"github", `{"ref": "refs/heads/main", "repository": {"clone_url": "https://h/r"}} {}`},
		{"github", `{"ref": "", "repository": {"clone_url": "https://h/r"}}`},
		{"gitlab", `{"object_kind": "merge_request", "ref": "refs/heads/main", "project": {"git_http_url": "https://h/r"}}`},
		{"bitbucket-cloud", `{"push": {"changes": "x"}}`},
		{"bitbucket-server", `{"repository": {"links": {"clone": [{"href": "https://h/r"}]}}, "changes": []}`},
	} {
		if _, err := parserNamed(tt.parser)([]byte(tt.body)); err == nil {
			t.Errorf("%s %q: no error", tt.parser, tt.body)
		}
	}
}

func TestParseOCI(t *testing.T) {
	for file, want := range map[string][]string{
		"oci-generic.json":      {"oci://registry.example.com/apps/web"},
		"oci-distribution.json": {"oci://registry.example.com:5000/charts/podinfo"},
	} {
		p, err := parseOCI(readTestdata(t, file))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if diff := cmp.Diff(want, p.repositories); diff != "" {
			t.Errorf("%s (-want +got):\n%s", file, diff)
		}
	}
	for _, body := range []string{``, `{}`, `{"events": []}`, `{"events": [{"action": "pull", "target": {"repository": "a"}, "request": {"host": "h"}}]}`, `{"repository": 1}`} {
		if _, err := parseOCI([]byte(body)); err == nil {
			t.Errorf("%q: no error", body)
		}
	}
}
