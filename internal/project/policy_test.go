package project

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

func TestCompileRefusesBrokenPatterns(t *testing.T) {
	tests := []struct {
		name string
		spec flotillav1.ProjectSpec
		want string
	}{
		{
			name: "source syntax",
			spec: flotillav1.ProjectSpec{SourceRepos: []string{"*", "https://git.example.com/team-[ab]/*"}},
			want: `invalid project p: sourceRepos[1]: "https://git.example.com/team-[ab]/*": invalid pattern: '[' is reserved (character classes are not supported; write \[ for a literal [)`,
		},
		{
			name: "source userinfo never shown",
			spec: flotillav1.ProjectSpec{SourceRepos: []string{"https://u:hunter2@git.example.com/{a,b}"}},
			want: `invalid project p: sourceRepos[0]: "https://…@git.example.com/{a,b}": invalid pattern: '{' is reserved (alternatives are not supported; list each pattern, or write \{ for a literal {)`,
		},
		{
			name: "empty source",
			spec: flotillav1.ProjectSpec{SourceRepos: []string{""}},
			want: `invalid project p: sourceRepos[0]: "": invalid pattern: empty`,
		},
		{
			name: "source normalized to nothing",
			spec: flotillav1.ProjectSpec{SourceRepos: []string{"!/.git/"}},
			want: `invalid project p: sourceRepos[0]: "!/.git/": invalid pattern: matches no repository URL`,
		},
		{
			name: "negation of nothing",
			spec: flotillav1.ProjectSpec{SourceRepos: []string{"!"}},
			want: `invalid project p: sourceRepos[0]: "!": invalid pattern: empty`,
		},
		{
			name: "destination fields",
			spec: flotillav1.ProjectSpec{Destinations: []flotillav1.ProjectDestination{
				{Cluster: "*", Namespace: "*"},
				{Cluster: "", Namespace: "team-a"},
				{Cluster: "prod", Namespace: ""},
				{Cluster: `prod\`, Namespace: "x"},
			}},
			want: `invalid project p: destinations[1].cluster: "": invalid pattern: empty; ` +
				`destinations[2].namespace: "": invalid pattern: empty; ` +
				`destinations[3].cluster: "prod\\": invalid pattern: ends with an unfinished escape '\\'`,
		},
		{
			name: "whitelist",
			spec: flotillav1.ProjectSpec{ClusterResourceWhitelist: []flotillav1.GroupKindPattern{
				{Group: "", Kind: "Namespace"}, {Group: "rbac.authorization.k8s.io"}, {Group: "[", Kind: "x"},
			}},
			want: `invalid project p: clusterResourceWhitelist[1].kind: "": invalid pattern: empty; ` +
				`clusterResourceWhitelist[2].group: "[": invalid pattern: '[' is reserved (character classes are not supported; write \[ for a literal [)`,
		},
		{
			name: "blacklist negation",
			spec: flotillav1.ProjectSpec{NamespaceResourceBlacklist: []flotillav1.GroupKindPattern{
				{Group: "", Kind: "!ResourceQuota"},
			}},
			want: `invalid project p: namespaceResourceBlacklist[0].kind: invalid pattern "!ResourceQuota": negation is not supported here`,
		},
		{
			name: "roles",
			spec: flotillav1.ProjectSpec{Roles: []flotillav1.ProjectRole{
				{Name: "dev", Groups: []string{"team-a", ""}, Policies: []string{"applications:get", "applications, sync, allow", "!*", "[x]:y"}},
				{Name: "dev", Users: []string{""}},
				{Name: ""},
			}},
			want: `invalid project p: roles[0].groups[1]: empty; ` +
				`roles[0].policies[1]: invalid pattern "applications, sync, allow": want "resource:action", such as "applications:sync", or "*"; ` +
				`roles[0].policies[2]: invalid pattern "!*": negation is not supported here; ` +
				`roles[0].policies[3]: "[x]:y": invalid pattern: '[' is reserved (character classes are not supported; write \[ for a literal [); ` +
				`roles[1].name: "dev" is given twice; ` +
				`roles[1].users[0]: empty; ` +
				`roles[2].name: empty`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol, err := Compile(project("p", tt.spec))
			if pol != nil {
				t.Error("a Policy came with the error")
			}
			if diff := cmp.Diff(tt.want, errText(err)); diff != "" {
				t.Errorf("Compile (-want +got):\n%s", diff)
			}
			if !errors.Is(err, ErrInvalidProject) || errors.Is(err, ErrViolation) {
				t.Errorf("%v: want ErrInvalidProject only", err)
			}
		})
	}
}

func TestCompileRefusesBadServiceAccount(t *testing.T) {
	_, err := Compile(project("p", flotillav1.ProjectSpec{ServiceAccount: "system:admin"}))
	// The rest of the message is apimachinery's.
	want := `invalid project p: serviceAccount: invalid name "system:admin": a lowercase RFC 1123 subdomain`
	if !strings.HasPrefix(errText(err), want) || !errors.Is(err, ErrInvalidProject) {
		t.Errorf("Compile: %v, want %s…", err, want)
	}
}

func TestCompileBoundsErrors(t *testing.T) {
	var repos []string
	for range 15 {
		repos = append(repos, "[")
	}
	_, err := Compile(project("p", flotillav1.ProjectSpec{SourceRepos: repos}))
	want := `invalid project p: `
	for i := range 10 {
		if i > 0 {
			want += "; "
		}
		want += fmt.Sprintf(`sourceRepos[%d]: "[": invalid pattern: '[' is reserved (character classes are not supported; write \[ for a literal [)`, i)
	}
	want += "; and 5 more"
	if diff := cmp.Diff(want, errText(err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCompileNoName(t *testing.T) {
	_, err := Compile(project("", flotillav1.ProjectSpec{}))
	if diff := cmp.Diff("invalid project: the Project has no name", errText(err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// A nil Project is the built-in default; a Project named "default" is used
// as written.
func TestDefaultProject(t *testing.T) {
	builtin := mustCompile(t, nil)
	written := mustCompile(t, project(flotillav1.DefaultProject, flotillav1.ProjectSpec{
		SourceRepos:  []string{"https://git.example.com/*"},
		Destinations: []flotillav1.ProjectDestination{{Cluster: "in-cluster", Namespace: "apps"}},
	}))
	type outcome struct{ Source, Destination, Objects, ServiceAccount string }
	check := func(p *Policy) outcome {
		return outcome{
			Source:         errText(p.CheckSource("https://elsewhere.test/x")),
			Destination:    errText(p.CheckDestination("prod", "kube-system")),
			Objects:        errText(p.CheckObjects("prod", []ObjectRef{clusterScoped("rbac.authorization.k8s.io", "ClusterRoleBinding", "x")})),
			ServiceAccount: p.ServiceAccount(),
		}
	}
	if diff := cmp.Diff(outcome{}, check(builtin)); diff != "" {
		t.Errorf("built-in default (-want +got):\n%s", diff)
	}
	want := outcome{
		Source:      "project default: source https://elsewhere.test/x is not in sourceRepos",
		Destination: "project default: destination prod/kube-system is not in destinations",
		Objects:     "project default: ClusterRoleBinding/x: cluster-scoped kind rbac.authorization.k8s.io/ClusterRoleBinding is not in clusterResourceWhitelist",
	}
	if diff := cmp.Diff(want, check(written)); diff != "" {
		t.Errorf("written default (-want +got):\n%s", diff)
	}
	if builtin.Name() != "default" || builtin.Allows("anyone", []string{"anyone"}, "applications:get") {
		t.Error("the built-in default must be named default and grant no roles")
	}
}

func TestOptionsDefaults(t *testing.T) {
	if diff := cmp.Diff(DefaultOptions(), Options{}.withDefaults()); diff != "" {
		t.Errorf("zero options (-want +got):\n%s", diff)
	}
	if got := DefaultOptions(); got.OwnNamespace != flotillav1.DefaultNamespace || got.MaxViolations != 20 {
		t.Errorf("DefaultOptions() = %+v", got)
	}
}

// A Policy is shared by every sync of every Application of its Project.
func TestPolicyConcurrentUse(t *testing.T) {
	pol := mustCompile(t, teamA())
	objs := []ObjectRef{
		namespaced("apps", "Deployment", "team-a-web", "web"),
		namespaced("apps", "Deployment", "kube-system", "x"),
		clusterScoped("rbac.authorization.k8s.io", "ClusterRole", "admin-all"),
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_ = pol.CheckSource("https://git.example.com/team-a/app.git")
				_ = pol.CheckDestination("staging-eu", "team-a-web")
				if err := pol.CheckObjects("staging-eu", objs); err == nil {
					t.Error("CheckObjects allowed a violation")
				}
				_ = pol.Allows("alice", []string{"team-a"}, "applications:sync")
			}
		})
	}
	wg.Wait()
}
