package project

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/inventory"
)

func namespaced(group, kind, ns, name string) ObjectRef {
	return ObjectRef{Group: group, Kind: kind, Namespace: ns, Namespaced: true, Name: name}
}

func clusterScoped(group, kind, name string) ObjectRef {
	return ObjectRef{Group: group, Kind: kind, Name: name}
}

func TestCheckObjects(t *testing.T) {
	tests := []struct {
		name    string
		project *flotillav1.Project // teamA() when nil and !builtin
		builtin bool
		cluster string // staging-eu when empty
		objs    []ObjectRef
		want    string
	}{
		{
			name: "allowed",
			objs: []ObjectRef{
				namespaced("apps", "Deployment", "team-a-web", "web"),
				namespaced("", "ConfigMap", "team-a-web", "settings"),
				clusterScoped("", "Namespace", "team-a-web"),
				clusterScoped("example.com", "Widget", "w"),
			},
		},
		{name: "nothing to check"},
		{
			name: "cluster-scoped kind not whitelisted",
			objs: []ObjectRef{clusterScoped("rbac.authorization.k8s.io", "ClusterRole", "admin-all")},
			want: "project team-a: ClusterRole/admin-all: cluster-scoped kind rbac.authorization.k8s.io/ClusterRole is not in clusterResourceWhitelist",
		},
		{
			name: "whitelist negation",
			objs: []ObjectRef{clusterScoped("example.com", "Forbidden", "f")},
			want: "project team-a: Forbidden/f: cluster-scoped kind example.com/Forbidden is denied by clusterResourceWhitelist[2]",
		},
		{
			name: "a namespace given to a cluster-scoped object is ignored",
			objs: []ObjectRef{{Group: "example.com", Kind: "Widget", Namespace: "kube-system", Name: "w"}},
		},
		{
			name: "blacklisted kind",
			objs: []ObjectRef{namespaced("", "ResourceQuota", "team-a-web", "quota")},
			want: "project team-a: ResourceQuota/team-a-web/quota: namespaced kind ResourceQuota is in namespaceResourceBlacklist[0]",
		},
		{
			name: "blacklisted group",
			objs: []ObjectRef{namespaced("networking.k8s.io", "NetworkPolicy", "team-a-web", "allow-all")},
			want: "project team-a: NetworkPolicy/team-a-web/allow-all: namespaced kind networking.k8s.io/NetworkPolicy is in namespaceResourceBlacklist[1]",
		},
		{
			name: "a namespaced kind needs no whitelist",
			objs: []ObjectRef{namespaced("example.com", "Gadget", "team-a-web", "g")},
		},
		{
			name: "namespace not allowed",
			objs: []ObjectRef{namespaced("apps", "Deployment", "kube-system", "x")},
			want: "project team-a: Deployment/kube-system/x: namespace kube-system is not in destinations for cluster staging-eu",
		},
		{
			name: "namespace denied",
			objs: []ObjectRef{namespaced("", "Secret", "team-a-private", "s")},
			want: "project team-a: Secret/team-a-private/s: namespace team-a-private on cluster staging-eu is denied by destinations[2]",
		},
		{
			name:    "namespace allowed on another cluster only",
			cluster: "prod",
			objs:    []ObjectRef{namespaced("", "ConfigMap", "team-a-web", "c")},
			want:    "project team-a: ConfigMap/team-a-web/c: namespace team-a-web is not in destinations for cluster prod",
		},
		{
			name: "namespaced object without a namespace",
			objs: []ObjectRef{namespaced("", "ConfigMap", "", "c")},
			want: "project team-a: ConfigMap/c: namespaced object has no namespace",
		},
		{
			name: "a Namespace object is checked as a destination",
			objs: []ObjectRef{clusterScoped("", "Namespace", "kube-system")},
			want: "project team-a: Namespace/kube-system: namespace kube-system is not in destinations for cluster staging-eu",
		},
		{
			name:    "own namespace, through the built-in default",
			builtin: true,
			objs: []ObjectRef{
				namespaced("", "Secret", "flotilla-system", "cluster-prod"),
				clusterScoped("", "Namespace", "flotilla-system"),
				namespaced("", "Secret", "kube-system", "fine"),
				clusterScoped("rbac.authorization.k8s.io", "ClusterRole", "fine"),
			},
			want: "project default: 2 violations: " +
				"Namespace/flotilla-system: namespace flotilla-system is Flotilla's own namespace, which only a destination naming it exactly allows; " +
				"Secret/flotilla-system/cluster-prod: namespace flotilla-system is Flotilla's own namespace, which only a destination naming it exactly allows",
		},
		{
			name: "own namespace, named exactly",
			project: project("platform", flotillav1.ProjectSpec{
				Destinations: []flotillav1.ProjectDestination{{Cluster: "staging-eu", Namespace: "flotilla-system"}},
			}),
			objs: []ObjectRef{namespaced("flotilla.dev", "Application", "flotilla-system", "child")},
		},
		{
			name: "a Namespace object breaking two rules",
			project: project("ns", flotillav1.ProjectSpec{
				Destinations: []flotillav1.ProjectDestination{{Cluster: "*", Namespace: "team-*"}},
			}),
			objs: []ObjectRef{clusterScoped("", "Namespace", "kube-system")},
			want: "project ns: 2 violations: " +
				"Namespace/kube-system: cluster-scoped kind Namespace is not in clusterResourceWhitelist; " +
				"Namespace/kube-system: namespace kube-system is not in destinations for cluster staging-eu",
		},
		{
			name: "all violations, sorted, each once",
			objs: []ObjectRef{
				namespaced("apps", "Deployment", "kube-system", "x"),
				clusterScoped("rbac.authorization.k8s.io", "ClusterRole", "admin-all"),
				namespaced("apps", "Deployment", "team-a-web", "fine"),
				namespaced("", "ResourceQuota", "default", "q"),
				clusterScoped("rbac.authorization.k8s.io", "ClusterRole", "admin-all"),
			},
			want: "project team-a: 4 violations: " +
				"ClusterRole/admin-all: cluster-scoped kind rbac.authorization.k8s.io/ClusterRole is not in clusterResourceWhitelist; " +
				"Deployment/kube-system/x: namespace kube-system is not in destinations for cluster staging-eu; " +
				"ResourceQuota/default/q: namespace default is not in destinations for cluster staging-eu; " +
				"ResourceQuota/default/q: namespaced kind ResourceQuota is in namespaceResourceBlacklist[0]",
		},
		{
			name:    "empty cluster",
			cluster: "-",
			objs:    []ObjectRef{clusterScoped("example.com", "Widget", "w")},
			want:    `project team-a: destination "" has no cluster`,
		},
		{
			name: "hostile names are quoted",
			objs: []ObjectRef{namespaced("", "ConfigMap", "kube-system", "a\nb")},
			want: `project team-a: "ConfigMap/kube-system/a\nb": namespace kube-system is not in destinations for cluster staging-eu`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.project
			if p == nil && !tt.builtin {
				p = teamA()
			}
			cluster := tt.cluster
			switch cluster {
			case "":
				cluster = "staging-eu"
			case "-":
				cluster = ""
			}
			err := mustCompile(t, p).CheckObjects(cluster, tt.objs)
			if diff := cmp.Diff(tt.want, errText(err)); diff != "" {
				t.Errorf("CheckObjects (-want +got):\n%s", diff)
			}
			if err == nil {
				return
			}
			var vs *Violations
			var v *ViolationError
			if !errors.As(err, &vs) || !errors.As(err, &v) || !errors.Is(err, ErrViolation) {
				t.Errorf("%v: not *Violations of *ViolationError wrapping ErrViolation", err)
			}
		})
	}
}

func TestCheckObjectsFields(t *testing.T) {
	objs := []ObjectRef{
		namespaced("", "ResourceQuota", "team-a-web", "q"),
		clusterScoped("rbac.authorization.k8s.io", "ClusterRole", "admin-all"),
	}
	err := mustCompile(t, teamA()).CheckObjects("staging-eu", objs)
	var vs *Violations
	if !errors.As(err, &vs) {
		t.Fatalf("%v is not *Violations", err)
	}
	want := &Violations{Project: "team-a", List: []*ViolationError{
		{
			Project: "team-a", Rule: RuleClusterResourceWhitelist, Subject: "ClusterRole/admin-all",
			Detail: "cluster-scoped kind rbac.authorization.k8s.io/ClusterRole is not in clusterResourceWhitelist",
			Object: &objs[1],
		},
		{
			Project: "team-a", Rule: RuleNamespaceResourceBlacklist, Subject: "ResourceQuota/team-a-web/q",
			Detail: "namespaced kind ResourceQuota is in namespaceResourceBlacklist[0]",
			Object: &objs[0],
		},
	}}
	if diff := cmp.Diff(want, vs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCheckObjectsBound(t *testing.T) {
	var objs []ObjectRef
	for i := range 1000 {
		objs = append(objs, namespaced("", "ConfigMap", "kube-system", fmt.Sprintf("c%04d", 999-i)))
	}
	pol, err := CompileWith(teamA(), Options{MaxViolations: 3})
	if err != nil {
		t.Fatal(err)
	}
	err = pol.CheckObjects("staging-eu", objs)
	want := "project team-a: 1000 violations: " +
		"ConfigMap/kube-system/c0000: namespace kube-system is not in destinations for cluster staging-eu; " +
		"ConfigMap/kube-system/c0001: namespace kube-system is not in destinations for cluster staging-eu; " +
		"ConfigMap/kube-system/c0002: namespace kube-system is not in destinations for cluster staging-eu; " +
		"and 997 more"
	if diff := cmp.Diff(want, errText(err)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	var vs *Violations
	if errors.As(err, &vs) && (len(vs.List) != 3 || vs.More != 997) {
		t.Errorf("%d listed and %d more, want 3 and 997", len(vs.List), vs.More)
	}
}

func TestNewObjectRef(t *testing.T) {
	meta := inventory.ObjMetadata{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	got := NewObjectRef(meta, true)
	want := ObjectRef{Group: "apps", Kind: "Deployment", Namespace: "shop", Namespaced: true, Name: "web"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got.String() != meta.String() {
		t.Errorf("String() = %q, inventory says %q", got.String(), meta.String())
	}
}

// BenchmarkCheckObjects: a large render costs a map lookup per object.
func BenchmarkCheckObjects(b *testing.B) {
	var objs []ObjectRef
	for i := range 10000 {
		objs = append(objs, namespaced("apps", "Deployment", fmt.Sprintf("team-a-%d", i%50), fmt.Sprintf("d%d", i)))
	}
	pol, err := Compile(teamA())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := pol.CheckObjects("staging-eu", objs); err != nil {
			b.Fatal(err)
		}
	}
}
