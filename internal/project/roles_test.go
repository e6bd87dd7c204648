package project

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

func TestAllows(t *testing.T) {
	pol := mustCompile(t, teamA())
	wild := mustCompile(t, project("wild", flotillav1.ProjectSpec{Roles: []flotillav1.ProjectRole{
		{Name: "all", Groups: []string{"root"}, Policies: []string{"*"}},
		{Name: "readers", Groups: []string{"everyone"}, Policies: []string{"*:get"}},
	}}))
	tests := []struct {
		name   string
		pol    *Policy
		user   string
		groups []string
		policy string
		want   bool
	}{
		{name: "granted", pol: pol, groups: []string{"team-a"}, policy: "applications:sync", want: true},
		{name: "one of many groups", pol: pol, groups: []string{"x", "team-a"}, policy: "applications:get", want: true},
		{name: "not granted", pol: pol, groups: []string{"team-a"}, policy: "applications:delete"},
		{name: "action wildcard", pol: pol, groups: []string{"ops"}, policy: "applications:delete", want: true},
		{name: "wildcard stays in its resource", pol: pol, groups: []string{"ops"}, policy: "clusters:delete"},
		{name: "groups are exact", pol: pol, groups: []string{"team-a-x", "Team-A"}, policy: "applications:get"},
		{name: "no groups", pol: pol, policy: "applications:get"},
		{name: "empty policy", pol: pol, groups: []string{"team-a"}},
		{name: "the asked policy is literal", pol: pol, groups: []string{"team-a"}, policy: "applications:*"},
		{name: "granted to the user", pol: pol, user: "carol", policy: "applications:rollback", want: true},
		{name: "the user's other roles", pol: pol, user: "carol", groups: []string{"team-a"}, policy: "applications:sync", want: true},
		{name: "not granted to the user", pol: pol, user: "carol", policy: "applications:sync"},
		{name: "users are exact", pol: pol, user: "Carol", policy: "applications:rollback"},
		{name: "a group named like the user", pol: pol, groups: []string{"carol"}, policy: "applications:rollback"},
		{name: "star grants all", pol: wild, groups: []string{"root"}, policy: "clusters:delete", want: true},
		{name: "star in the resource", pol: wild, groups: []string{"everyone"}, policy: "projects:get", want: true},
		{name: "star in the resource, other action", pol: wild, groups: []string{"everyone"}, policy: "projects:sync"},
	}
	for _, tt := range tests {
		if got := tt.pol.Allows(tt.user, tt.groups, tt.policy); got != tt.want {
			t.Errorf("%s: Allows(%q, %q, %q) = %v, want %v", tt.name, tt.user, tt.groups, tt.policy, got, tt.want)
		}
	}
}

func TestImpersonation(t *testing.T) {
	type got struct{ ServiceAccount, User, NoNamespace string }
	check := func(p *Policy) got {
		return got{p.ServiceAccount(), p.ImpersonationUser("team-a-web"), p.ImpersonationUser("")}
	}
	want := got{
		ServiceAccount: "team-a-deployer",
		User:           "system:serviceaccount:team-a-web:team-a-deployer",
		NoNamespace:    "system:serviceaccount::team-a-deployer",
	}
	if diff := cmp.Diff(want, check(mustCompile(t, teamA()))); diff != "" {
		t.Errorf("with a ServiceAccount (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(got{}, check(mustCompile(t, nil))); diff != "" {
		t.Errorf("without (-want +got):\n%s", diff)
	}
}
