package webhook

import (
	"testing"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

func TestRepoKey(t *testing.T) {
	same := []string{
		"https://git.example.com/org/config.git",
		"https://git.example.com/org/config",
		"https://Git.Example.com:443/Org/Config.git/",
		"http://user:token@git.example.com/org/config",
		"ssh://git@git.example.com/org/config.git",
		"ssh://git@git.example.com:22/org/config",
		"git@git.example.com:org/config.git",
		"git.example.com:org/config",
	}
	for _, u := range same {
		if got := repoKey(u); got != "git.example.com/org/config" {
			t.Errorf("repoKey(%q) = %q", u, got)
		}
	}
	for u, want := range map[string]string{
		"https://git.example.com:8443/org/config":   "git.example.com:8443/org/config",
		"ssh://git@git.example.com:2222/org/config": "git.example.com:2222/org/config",
		"oci://registry.example.com:443/apps/web":   "registry.example.com/apps/web",
		"https://git.example.com/org/other":         "git.example.com/org/other",
		"file:///srv/git/config":                    "",
		"/srv/git/config":                           "",
		"https://git.example.com/":                  "",
		"":                                          "",
	} {
		if got := repoKey(u); got != want {
			t.Errorf("repoKey(%q) = %q, want %q", u, got, want)
		}
	}
}

func TestRevisionMoved(t *testing.T) {
	branchPush := &push{branches: []string{"main"}, defaultBranch: "main"}
	releasePush := &push{branches: []string{"release"}, defaultBranch: "main"}
	unknownDefault := &push{branches: []string{"release"}}
	tagPush := &push{tags: []string{"v1.4.0"}}
	for _, tt := range []struct {
		rev  string
		p    *push
		want bool
	}{
		{"main", branchPush, true},
		{"refs/heads/main", branchPush, true},
		{"", branchPush, true},
		{"HEAD", branchPush, true},
		{"release", branchPush, false},
		{"HEAD", releasePush, false},
		{"", unknownDefault, true},
		{"59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5", branchPush, false},
		{"v1.4.0", tagPush, true},
		{"refs/tags/v1.4.0", tagPush, true},
		{"~1.4", tagPush, true},
		{">=1.0.0 <2.0.0", tagPush, true},
		{"^2.0", tagPush, false},
		{"main", tagPush, false},
		{"", tagPush, false},
	} {
		if got := revisionMoved(tt.rev, tt.p); got != tt.want {
			t.Errorf("revisionMoved(%q, %+v) = %v, want %v", tt.rev, tt.p, got, tt.want)
		}
	}
}

func TestMatchesSources(t *testing.T) {
	p := &push{branches: []string{"main"}, defaultBranch: "main"}
	key := "git.example.com/org/config"
	for _, tt := range []struct {
		src  flotillav1.ApplicationSource
		want bool
	}{
		{flotillav1.ApplicationSource{RepoURL: "git@git.example.com:org/config.git", TargetRevision: "main"}, true},
		{flotillav1.ApplicationSource{RepoURL: "https://git.example.com/org/config", TargetRevision: "dev"}, false},
		{flotillav1.ApplicationSource{RepoURL: "https://git.example.com/org/other", TargetRevision: "main"}, false},
		{flotillav1.ApplicationSource{RepoURL: "https://git.example.com/org/config", Chart: "web", TargetRevision: "main"}, false},
	} {
		if got := matchesGit(&tt.src, key, p); got != tt.want {
			t.Errorf("matchesGit(%+v) = %v, want %v", tt.src, got, tt.want)
		}
	}
	ociKey := repoKey("oci://registry.example.com:5000/charts/podinfo")
	for _, tt := range []struct {
		src  flotillav1.ApplicationSource
		want bool
	}{
		{flotillav1.ApplicationSource{RepoURL: "oci://registry.example.com:5000/charts/podinfo", TargetRevision: "6.x"}, true},
		{flotillav1.ApplicationSource{RepoURL: "oci://registry.example.com:5000/charts", Chart: "podinfo"}, true},
		{flotillav1.ApplicationSource{RepoURL: "oci://registry.example.com:5000/charts", Chart: "other"}, false},
		{flotillav1.ApplicationSource{RepoURL: "https://registry.example.com:5000/charts/podinfo"}, false},
	} {
		if got := matchesOCI(&tt.src, ociKey); got != tt.want {
			t.Errorf("matchesOCI(%+v) = %v, want %v", tt.src, got, tt.want)
		}
	}
}
