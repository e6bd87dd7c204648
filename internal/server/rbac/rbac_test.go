package rbac

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/auth"
)

func projects(list ...*flotillav1.Project) func(string, string) (*flotillav1.Project, bool) {
	return func(namespace, name string) (*flotillav1.Project, bool) {
		for _, p := range list {
			if p.Namespace == namespace && p.Name == name {
				return p, true
			}
		}
		return nil, false
	}
}

func teamA() *flotillav1.Project {
	return &flotillav1.Project{
		ObjectMeta: metav1.ObjectMeta{Namespace: "flotilla-system", Name: "team-a", ResourceVersion: "1"},
		Spec: flotillav1.ProjectSpec{Roles: []flotillav1.ProjectRole{
			{Name: "dev", Groups: []string{"team-a"}, Policies: []string{"applications:get", "applications:sync", "logs:get"}},
			{Name: "lead", Users: []string{"dana"}, Policies: []string{"applications:*", "projects:update"}},
		}},
	}
}

// TestCan checks each role against every verb: the set of verbs it grants,
// per Project.
func TestCan(t *testing.T) {
	broken := teamA()
	broken.Name, broken.Spec.Roles[0].Policies = "broken", []string{"[x]:y", "applications:get"}
	opts := Options{
		Projects: projects(teamA(), broken),
		Admins:   []string{"root", "group:ops"},
		Readonly: []string{"audit", "group:viewers"},
	}
	gets := []string{"applications:get", "logs:get", "clusters:get", "fleets:get", "projects:get"}
	tests := []struct {
		name      string
		opts      Options
		p         *auth.Principal
		namespace string
		project   string
		want      []string
	}{
		{name: "local admin", p: &auth.Principal{Username: "admin", Local: true}, want: Verbs},
		{name: "an SSO user named admin is not the local admin", p: &auth.Principal{Username: "admin", Issuer: "https://idp"}},
		{name: "admin by user", p: &auth.Principal{Username: "root"}, want: Verbs},
		{name: "admin by group", p: &auth.Principal{Username: "x", Groups: []string{"ops"}}, want: Verbs},
		{name: "a group is not a user", p: &auth.Principal{Username: "ops"}},
		{name: "readonly by user", p: &auth.Principal{Username: "audit"}, want: gets},
		{name: "readonly by group", p: &auth.Principal{Username: "x", Groups: []string{"viewers"}}, want: gets},
		{name: "nobody", p: &auth.Principal{Username: "x", Groups: []string{"team-b"}}},
		{name: "no principal"},
		{name: "default readonly", opts: Options{DefaultRole: "readonly"}, p: &auth.Principal{Username: "x"}, want: gets},
		{name: "project role by group", p: &auth.Principal{Username: "x", Groups: []string{"team-a"}},
			namespace: "flotilla-system", project: "team-a",
			want: []string{"applications:get", "applications:sync", "logs:get"}},
		{name: "project role by user", p: &auth.Principal{Username: "dana"},
			namespace: "flotilla-system", project: "team-a",
			want: []string{"applications:get", "applications:create", "applications:update", "applications:delete",
				"applications:sync", "applications:rollback", "projects:update"}},
		{name: "project role in another namespace", p: &auth.Principal{Username: "dana"}, namespace: "other", project: "team-a"},
		{name: "project role elsewhere", p: &auth.Principal{Username: "x", Groups: []string{"team-a"}},
			namespace: "flotilla-system", project: "team-b"},
		{name: "a broken project grants nothing", p: &auth.Principal{Username: "x", Groups: []string{"team-a"}},
			namespace: "flotilla-system", project: "broken"},
		{name: "project roles and the default role", opts: Options{DefaultRole: "readonly"},
			p: &auth.Principal{Username: "x", Groups: []string{"team-a"}}, namespace: "flotilla-system", project: "team-a",
			want: []string{"applications:get", "applications:sync", "logs:get", "clusters:get", "fleets:get", "projects:get"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts
			if tt.opts.DefaultRole != "" {
				o.DefaultRole = tt.opts.DefaultRole
			}
			a, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range Verbs {
				if a.Can(tt.p, v, tt.namespace, tt.project) {
					got = append(got, v)
				}
			}
			if diff := cmp.Diff(sorted(tt.want), sorted(got)); diff != "" {
				t.Errorf("verbs granted (-want +got):\n%s", diff)
			}
		})
	}
}

func sorted(v []string) []string {
	out := map[string]bool{}
	for _, s := range v {
		out[s] = true
	}
	var list []string
	for _, s := range Verbs {
		if out[s] {
			list = append(list, s)
		}
	}
	return list
}

func TestCanRefusesUnknownVerbs(t *testing.T) {
	a, err := New(Options{Admins: []string{"root"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"", "*", "applications:*", "secrets:get", "applications:get "} {
		if a.Can(&auth.Principal{Username: "root"}, v, "", "") {
			t.Errorf("Can(admin, %q) = true, want false", v)
		}
	}
}

func TestNewRefusesUnknownDefaultRole(t *testing.T) {
	for role, ok := range map[string]bool{"": true, "none": true, "readonly": true, "admin": false, "ReadOnly": false} {
		_, err := New(Options{DefaultRole: role})
		if (err == nil) != ok {
			t.Errorf("New(DefaultRole %q) error = %v, want ok %v", role, err, ok)
		}
	}
}

// TestProjectChangesApply checks that a Project's new resourceVersion is
// compiled again rather than served from the cache.
func TestProjectChangesApply(t *testing.T) {
	p := teamA()
	a, err := New(Options{Projects: projects(p)})
	if err != nil {
		t.Fatal(err)
	}
	alice := &auth.Principal{Username: "alice", Groups: []string{"team-a"}}
	if !a.Can(alice, "applications:sync", "flotilla-system", "team-a") {
		t.Fatal("team-a may not sync before the change")
	}
	p.Spec.Roles[0].Policies, p.ResourceVersion = []string{"applications:get"}, "2"
	if a.Can(alice, "applications:sync", "flotilla-system", "team-a") {
		t.Error("team-a may still sync after the role lost the verb")
	}
}

// TestAllowed: the verbs the session shows the UI are those Can grants,
// global ones under "*" and a Project's own under its name.
func TestAllowed(t *testing.T) {
	a, err := New(Options{Projects: projects(teamA()), Readonly: []string{"audit"}})
	if err != nil {
		t.Fatal(err)
	}
	gets := []string{"applications:get", "logs:get", "clusters:get", "fleets:get", "projects:get"}
	tests := []struct {
		name string
		p    *auth.Principal
		want map[string][]string
	}{
		{name: "admin", p: &auth.Principal{Username: "admin", Local: true}, want: map[string][]string{"*": Verbs}},
		{name: "readonly", p: &auth.Principal{Username: "audit"}, want: map[string][]string{"*": gets}},
		{name: "project role", p: &auth.Principal{Username: "x", Groups: []string{"team-a"}},
			want: map[string][]string{"team-a": {"applications:get", "applications:sync", "logs:get"}}},
		{name: "readonly and a project role add up", p: &auth.Principal{Username: "audit", Groups: []string{"team-a"}},
			want: map[string][]string{"*": gets, "team-a": {"applications:sync"}}},
		{name: "nobody", p: &auth.Principal{Username: "x"}, want: map[string][]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := a.Allowed(tc.p, "flotilla-system", []string{"team-a", "missing"})
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("Allowed (-want +got):\n%s", d)
			}
		})
	}
}
