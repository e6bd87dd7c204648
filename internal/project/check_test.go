package project

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

func TestCheckSource(t *testing.T) {
	tests := []struct {
		name, url, want string
		project         *flotillav1.Project // teamA() when nil and !builtin
		builtin         bool
	}{
		{name: "allowed", url: "https://git.example.com/team-a/app"},
		{name: "allowed with .git", url: "https://git.example.com/team-a/app.git"},
		{name: "allowed in a subgroup", url: "https://git.example.com/team-a/sub/app.git"},
		{name: "host case and port", url: "HTTPS://Git.Example.com:443/team-a/app/"},
		{name: "scp-like", url: "git@git.example.com:team-a/app.git"},
		{
			name: "another team",
			url:  "https://git.example.com/team-b/app",
			want: "project team-a: source https://git.example.com/team-b/app is not in sourceRepos",
		},
		{
			name: "path case matters",
			url:  "https://git.example.com/Team-A/app",
			want: "project team-a: source https://git.example.com/Team-A/app is not in sourceRepos",
		},
		{
			name: "ssh:// is not the scp-like form",
			url:  "ssh://git@git.example.com/team-a/app",
			want: "project team-a: source ssh://git.example.com/team-a/app is not in sourceRepos",
		},
		{
			name: "negation",
			url:  "https://git.example.com/team-a/secret",
			want: "project team-a: source https://git.example.com/team-a/secret is denied by sourceRepos[1]",
		},
		{
			name: "negation is not dodged by normalization",
			url:  "https://token:x-oauth@GIT.example.com:443/team-a/%73ecret.git/",
			want: "project team-a: source https://git.example.com/team-a/secret is denied by sourceRepos[1]",
		},
		{
			name: "password never shown",
			url:  "https://user:hunter2@git.example.com/team-b/app",
			want: "project team-a: source https://git.example.com/team-b/app is not in sourceRepos",
		},
		{
			name: "query tokens never shown",
			url:  "https://git.example.com/team-a/app?private_token=hunter2",
			want: "project team-a: source https://git.example.com/team-a/app… has a query or fragment, so it cannot be checked against sourceRepos",
		},
		{
			name: "a password with an unescaped '#' never shown",
			url:  "https://user:hun#ter2@git.example.com/team-a/app",
			want: "project team-a: source https://…@git.example.com/team-a/app has a query or fragment, so it cannot be checked against sourceRepos",
		},
		{
			name: "a password with an unescaped '/' never shown",
			url:  "https://user:hun/ter2@git.example.com/team-a/app",
			want: "project team-a: source https://…@git.example.com/team-a/app is not in sourceRepos",
		},
		{
			name: "dot segments",
			url:  "https://git.example.com/team-a/../team-b/app",
			want: "project team-a: source https://git.example.com/team-a/../team-b/app has a '.' or '..' path segment, so it cannot be checked against sourceRepos",
		},
		{
			name: "host confusion",
			url:  "https://git.example.com@evil.test/team-a/app",
			want: "project team-a: source https://evil.test/team-a/app is not in sourceRepos",
		},
		{
			name: "control characters are quoted",
			url:  "https://git.example.com/team-a/app\n",
			want: `project team-a: source "https://git.example.com/team-a/app\n" has a space, a backslash, a control or a non-ASCII character (percent-encode it), so it cannot be checked against sourceRepos`,
		},
		{
			name: "empty",
			url:  "",
			want: `project team-a: source "" is empty, so it cannot be checked against sourceRepos`,
		},
		{name: "default allows everything", url: "oci://ghcr.io/org/app", builtin: true},
		{
			name:    "no sourceRepos allows none",
			url:     "https://git.example.com/team-a/app",
			project: project("empty", flotillav1.ProjectSpec{}),
			want:    "project empty: source https://git.example.com/team-a/app is not in sourceRepos",
		},
		{
			name:    "denials alone allow nothing",
			url:     "https://git.example.com/team-a/app",
			project: project("deny", flotillav1.ProjectSpec{SourceRepos: []string{"!https://git.example.com/team-b/*"}}),
			want:    "project deny: source https://git.example.com/team-a/app is not in sourceRepos",
		},
		{
			name: "denial wins whatever the order",
			url:  "https://git.example.com/team-a/app",
			project: project("order", flotillav1.ProjectSpec{SourceRepos: []string{
				"!https://git.example.com/team-a/app", "*"}}),
			want: "project order: source https://git.example.com/team-a/app is denied by sourceRepos[0]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.project
			if p == nil && !tt.builtin {
				p = teamA()
			}
			err := mustCompile(t, p).CheckSource(tt.url)
			if diff := cmp.Diff(tt.want, errText(err)); diff != "" {
				t.Errorf("CheckSource(%q) (-want +got):\n%s", tt.url, diff)
			}
			checkViolation(t, err, RuleSourceRepos)
		})
	}
}

// checkViolation checks that a non-nil err is a *ViolationError for rule
// that errors.Is ErrViolation.
func checkViolation(t *testing.T, err error, rule Rule) {
	t.Helper()
	if err == nil {
		return
	}
	var v *ViolationError
	if !errors.As(err, &v) || !errors.Is(err, ErrViolation) {
		t.Fatalf("%v: not a *ViolationError wrapping ErrViolation", err)
	}
	if v.Rule != rule {
		t.Errorf("rule %q, want %q", v.Rule, rule)
	}
}

func TestCheckDestination(t *testing.T) {
	withOwn := project("platform", flotillav1.ProjectSpec{Destinations: []flotillav1.ProjectDestination{
		{Cluster: "*", Namespace: "*"},
		{Cluster: "in-cluster", Namespace: "flotilla-system"},
	}})
	tests := []struct {
		name               string
		project            *flotillav1.Project // teamA() when nil and !builtin
		builtin            bool
		cluster, namespace string
		want               string
		rule               Rule
	}{
		{name: "allowed", cluster: "staging-eu", namespace: "team-a-web"},
		{name: "exact", cluster: "prod", namespace: "team-a"},
		{
			name: "namespace not listed", cluster: "staging-eu", namespace: "kube-system", rule: RuleDestinations,
			want: "project team-a: destination staging-eu/kube-system is not in destinations",
		},
		{
			name: "cluster not listed", cluster: "dev", namespace: "team-a-web", rule: RuleDestinations,
			want: "project team-a: destination dev/team-a-web is not in destinations",
		},
		{
			name: "pairs are not crossed", cluster: "prod", namespace: "team-a-web", rule: RuleDestinations,
			want: "project team-a: destination prod/team-a-web is not in destinations",
		},
		{
			name: "negation", cluster: "staging-eu", namespace: "team-a-private", rule: RuleDestinations,
			want: "project team-a: destination staging-eu/team-a-private is denied by destinations[2]",
		},
		{
			name: "own namespace through a wildcard", builtin: true, cluster: "in-cluster", namespace: "flotilla-system",
			rule: RuleDestinations,
			want: "project default: destination in-cluster/flotilla-system is Flotilla's own namespace, which only a destination naming it exactly allows",
		},
		{name: "own namespace named exactly", project: withOwn, cluster: "in-cluster", namespace: "flotilla-system"},
		{
			name: "own namespace named for another cluster", project: withOwn, cluster: "staging", namespace: "flotilla-system",
			rule: RuleDestinations,
			want: "project platform: destination staging/flotilla-system is Flotilla's own namespace, which only a destination naming it exactly allows",
		},
		{name: "default allows everything else", builtin: true, cluster: "anything", namespace: "kube-system"},
		{name: "default allows no namespace", builtin: true, cluster: "anything"},
		{
			name: "no namespace with a ServiceAccount", cluster: "prod", rule: RuleServiceAccount,
			want: "project team-a: destination prod has no namespace to impersonate serviceAccount team-a-deployer in",
		},
		{
			name: "no namespace on a cluster not listed", cluster: "dev", rule: RuleDestinations,
			want: "project team-a: destination dev is not in destinations",
		},
		{
			name:    "no namespace, no ServiceAccount",
			project: project("cs", flotillav1.ProjectSpec{Destinations: []flotillav1.ProjectDestination{{Cluster: "prod", Namespace: "x"}}}),
			cluster: "prod",
		},
		{
			name: "a cluster denial denies no namespace too",
			project: project("deny", flotillav1.ProjectSpec{Destinations: []flotillav1.ProjectDestination{
				{Cluster: "*", Namespace: "*"}, {Cluster: "!prod", Namespace: "*"}}}),
			cluster: "prod", rule: RuleDestinations,
			want: "project deny: destination prod is denied by destinations[1]",
		},
		{
			name: "a namespace denial does not deny no namespace",
			project: project("deny", flotillav1.ProjectSpec{Destinations: []flotillav1.ProjectDestination{
				{Cluster: "*", Namespace: "*"}, {Cluster: "*", Namespace: "!kube-*"}}}),
			cluster: "prod",
		},
		{
			name: "both fields negated deny the pair",
			project: project("deny", flotillav1.ProjectSpec{Destinations: []flotillav1.ProjectDestination{
				{Cluster: "*", Namespace: "*"}, {Cluster: "!prod", Namespace: "!kube-system"}}}),
			cluster: "staging", namespace: "kube-system",
		},
		{
			name: "empty cluster", builtin: true, namespace: "x", rule: RuleDestinations,
			want: `project default: destination ""/x has no cluster`,
		},
		{
			name: "no destinations allow none", project: project("none", flotillav1.ProjectSpec{}),
			cluster: "prod", namespace: "x", rule: RuleDestinations,
			want: "project none: destination prod/x is not in destinations",
		},
		{
			name: "hostile names are quoted", cluster: "prod\n", namespace: "a b", rule: RuleDestinations,
			want: `project team-a: destination "prod\n"/"a b" is not in destinations`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.project
			if p == nil && !tt.builtin {
				p = teamA()
			}
			err := mustCompile(t, p).CheckDestination(tt.cluster, tt.namespace)
			if diff := cmp.Diff(tt.want, errText(err)); diff != "" {
				t.Errorf("CheckDestination(%q, %q) (-want +got):\n%s", tt.cluster, tt.namespace, diff)
			}
			checkViolation(t, err, tt.rule)
		})
	}
}

func TestOwnNamespaceOption(t *testing.T) {
	pol, err := CompileWith(nil, Options{OwnNamespace: "gitops"})
	if err != nil {
		t.Fatal(err)
	}
	if err := pol.CheckDestination("in-cluster", "flotilla-system"); err != nil {
		t.Errorf("flotilla-system is not the own namespace here: %v", err)
	}
	want := "project default: destination in-cluster/gitops is Flotilla's own namespace, which only a destination naming it exactly allows"
	if diff := cmp.Diff(want, errText(pol.CheckDestination("in-cluster", "gitops"))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
