package project

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// teamA is the Project most tests check against.
func teamA() *flotillav1.Project {
	return &flotillav1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: "team-a"},
		Spec: flotillav1.ProjectSpec{
			SourceRepos: []string{
				"https://git.example.com/team-a/*",
				"!https://git.example.com/team-a/secret",
				"git@git.example.com:team-a/*",
			},
			Destinations: []flotillav1.ProjectDestination{
				{Cluster: "staging-*", Namespace: "team-a-*"},
				{Cluster: "prod", Namespace: "team-a"},
				{Cluster: "*", Namespace: "!team-a-private"},
			},
			ClusterResourceWhitelist: []flotillav1.GroupKindPattern{
				{Group: "", Kind: "Namespace"},
				{Group: "example.com", Kind: "*"},
				{Group: "example.com", Kind: "!Forbidden"},
			},
			NamespaceResourceBlacklist: []flotillav1.GroupKindPattern{
				{Group: "", Kind: "ResourceQuota"},
				{Group: "networking.k8s.io", Kind: "*"},
			},
			ServiceAccount: "team-a-deployer",
			Roles: []flotillav1.ProjectRole{
				{Name: "dev", Groups: []string{"team-a"}, Policies: []string{"applications:get", "applications:sync"}},
				{Name: "admin", Groups: []string{"team-a-admins", "ops"}, Policies: []string{"applications:*"}},
				{Name: "release", Users: []string{"carol"}, Policies: []string{"applications:rollback"}},
			},
		},
	}
}

func project(name string, spec flotillav1.ProjectSpec) *flotillav1.Project {
	return &flotillav1.Project{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
}

func mustCompile(t *testing.T, p *flotillav1.Project) *Policy {
	t.Helper()
	pol, err := Compile(p)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return pol
}

// errText is err's message, or "" for nil: tables compare messages.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
