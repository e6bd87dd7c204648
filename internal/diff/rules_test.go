package diff

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

func TestNewRejectsBadRules(t *testing.T) {
	ok := flotillav1.IgnoreDifference{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}
	tests := []struct {
		name    string
		rule    flotillav1.IgnoreDifference
		wantMsg string
		pointer bool // also ErrInvalidPointer
	}{
		{
			name:    "no kind",
			rule:    flotillav1.IgnoreDifference{Group: "apps", JSONPointers: []string{"/spec"}},
			wantMsg: `ignoreDifferences[1] (group apps): kind is required (use "*" for every kind)`,
		},
		{
			name:    "version in group",
			rule:    flotillav1.IgnoreDifference{Group: "apps/v1", Kind: "Deployment", JSONPointers: []string{"/spec"}},
			wantMsg: `ignoreDifferences[1] (Deployment."apps/v1"): group "apps/v1" holds a version; give the group alone (apps)`,
		},
		{
			name:    "nothing to ignore",
			rule:    flotillav1.IgnoreDifference{Kind: "ConfigMap", Name: "settings"},
			wantMsg: "ignoreDifferences[1] (ConfigMap named settings): names neither jsonPointers nor managedFieldsManagers",
		},
		{
			name: "pointer without slash",
			rule: flotillav1.IgnoreDifference{Group: "apps", Kind: "Deployment", Namespace: "shop",
				JSONPointers: []string{"/spec/replicas", "spec/replicas"}},
			wantMsg: `ignoreDifferences[1] (Deployment.apps in shop): jsonPointers[1]: invalid JSON pointer "spec/replicas": must be empty or start with "/"`,
			pointer: true,
		},
		{
			name:    "bad escape",
			rule:    flotillav1.IgnoreDifference{Kind: "Service", JSONPointers: []string{"/metadata/annotations/a~2b"}},
			wantMsg: `ignoreDifferences[1] (Service): jsonPointers[0]: invalid JSON pointer "/metadata/annotations/a~2b": "~" at byte 23 is not followed by "0" or "1"`,
			pointer: true,
		},
		{
			name:    "whole object",
			rule:    flotillav1.IgnoreDifference{Kind: "Service", JSONPointers: []string{""}},
			wantMsg: `ignoreDifferences[1] (Service): jsonPointers[0]: the empty pointer would ignore the whole object`,
		},
		{
			name:    "empty manager",
			rule:    flotillav1.IgnoreDifference{Kind: "*", ManagedFieldsManagers: []string{"kube-controller-manager", ""}},
			wantMsg: "ignoreDifferences[1] (*): managedFieldsManagers[1] is empty",
		},
		{
			name:    "hostile name is quoted",
			rule:    flotillav1.IgnoreDifference{Kind: "Secret", Name: "a\nb", JSONPointers: []string{"x"}},
			wantMsg: `ignoreDifferences[1] (Secret named "a\nb"): jsonPointers[0]: invalid JSON pointer "x": must be empty or start with "/"`,
			pointer: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New(Options{IgnoreDifferences: []flotillav1.IgnoreDifference{ok, tt.rule}})
			if d != nil || err == nil {
				t.Fatalf("New accepted the rule")
			}
			if diff := cmp.Diff(tt.wantMsg, err.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			var re *RuleError
			if !errors.Is(err, ErrInvalidRule) || !errors.As(err, &re) || re.Index != 1 {
				t.Errorf("error %v is not a *RuleError at index 1 matching ErrInvalidRule", err)
			}
			if errors.Is(err, ErrInvalidPointer) != tt.pointer {
				t.Errorf("errors.Is(err, ErrInvalidPointer) = %v, want %v", !tt.pointer, tt.pointer)
			}
		})
	}
}

func TestRuleMatches(t *testing.T) {
	deploy := Key{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}
	configMap := Key{Kind: "ConfigMap", Namespace: "shop", Name: "settings"}
	clusterRole := Key{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"}
	keys := []Key{deploy, configMap, clusterRole}
	tests := []struct {
		name string
		rule flotillav1.IgnoreDifference
		want []Key
	}{
		{"group and kind", flotillav1.IgnoreDifference{Group: "apps", Kind: "Deployment"}, []Key{deploy}},
		{"empty group is the core group", flotillav1.IgnoreDifference{Kind: "Deployment"}, nil},
		{"core group", flotillav1.IgnoreDifference{Kind: "ConfigMap"}, []Key{configMap}},
		{"any group", flotillav1.IgnoreDifference{Group: "*", Kind: "Deployment"}, []Key{deploy}},
		{"any kind of a group", flotillav1.IgnoreDifference{Group: "apps", Kind: "*"}, []Key{deploy}},
		{"everything", flotillav1.IgnoreDifference{Group: "*", Kind: "*"}, keys},
		{"kind is case-sensitive", flotillav1.IgnoreDifference{Group: "apps", Kind: "deployment"}, nil},
		{"name", flotillav1.IgnoreDifference{Group: "*", Kind: "*", Name: "web"}, []Key{deploy}},
		{"other name", flotillav1.IgnoreDifference{Group: "apps", Kind: "Deployment", Name: "api"}, nil},
		{"namespace", flotillav1.IgnoreDifference{Group: "*", Kind: "*", Namespace: "shop"}, []Key{deploy, configMap}},
		{"other namespace", flotillav1.IgnoreDifference{Group: "apps", Kind: "Deployment", Namespace: "prod"}, nil},
		{"any namespace and name", flotillav1.IgnoreDifference{Group: "*", Kind: "*", Namespace: "*", Name: "*"}, keys},
		{"namespace of a cluster-scoped object", flotillav1.IgnoreDifference{Group: "*", Kind: "ClusterRole", Namespace: "shop"}, nil},
		{"all four", flotillav1.IgnoreDifference{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}, []Key{deploy}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.rule.JSONPointers = []string{"/spec"}
			rules, err := compileRules([]flotillav1.IgnoreDifference{tt.rule})
			if err != nil {
				t.Fatal(err)
			}
			var got []Key
			for _, k := range keys {
				if m, _ := matching(rules, k); len(m) > 0 {
					got = append(got, k)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("matched keys (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMatchingCollectsManagers(t *testing.T) {
	rules, err := compileRules([]flotillav1.IgnoreDifference{
		{Group: "apps", Kind: "Deployment", ManagedFieldsManagers: []string{"kube-controller-manager"}},
		{Group: "*", Kind: "*", ManagedFieldsManagers: []string{"sidecar-injector", "kube-controller-manager"}},
		{Kind: "ConfigMap", ManagedFieldsManagers: []string{"not-this-one"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, managers := matching(rules, Key{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"})
	if len(got) != 2 {
		t.Errorf("%d rules match, want 2", len(got))
	}
	want := map[string]bool{"kube-controller-manager": true, "sidecar-injector": true}
	if diff := cmp.Diff(want, managers); diff != "" {
		t.Errorf("managers (-want +got):\n%s", diff)
	}
}
