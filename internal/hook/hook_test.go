package hook

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func obj(kind, name string, ann map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind(kind)
	u.SetName(name)
	u.SetAnnotations(ann)
	return u
}

func TestOf(t *testing.T) {
	bhc := []DeletePolicy{BeforeHookCreation}
	cases := []struct {
		name string
		ann  map[string]string
		want Spec
		err  string
	}{
		{name: "none", want: Spec{Phase: Sync}},
		{name: "wave", ann: map[string]string{WaveAnnotation: "-2"}, want: Spec{Phase: Sync, Wave: -2}},
		{name: "flotilla PreSync", ann: map[string]string{PhaseAnnotation: "PreSync", WaveAnnotation: "3"},
			want: Spec{Phase: PreSync, Wave: 3, Hook: true, DeletePolicies: bhc}},
		{name: "flotilla Sync is ordinary", ann: map[string]string{PhaseAnnotation: "Sync"}, want: Spec{Phase: Sync}},
		{name: "flotilla policies", ann: map[string]string{PhaseAnnotation: "PostSync", DeletePolicyAnnotation: "HookSucceeded, HookFailed"},
			want: Spec{Phase: PostSync, Hook: true, DeletePolicies: []DeletePolicy{HookSucceeded, HookFailed}}},
		{name: "flotilla first", ann: map[string]string{PhaseAnnotation: "SyncFail", ArgoHookAnnotation: "PreSync", WaveAnnotation: "1", ArgoWaveAnnotation: "5"},
			want: Spec{Phase: SyncFail, Wave: 1, Hook: true, DeletePolicies: bhc}},
		{name: "argo PreSync", ann: map[string]string{ArgoHookAnnotation: "PreSync", ArgoWaveAnnotation: "-1", ArgoDeletePolicyAnnotation: "HookSucceeded"},
			want: Spec{Phase: PreSync, Wave: -1, Hook: true, DeletePolicies: []DeletePolicy{HookSucceeded}}},
		{name: "argo Sync hook", ann: map[string]string{ArgoHookAnnotation: "Sync"}, want: Spec{Phase: Sync, Hook: true, DeletePolicies: bhc}},
		{name: "argo wave on ordinary", ann: map[string]string{ArgoWaveAnnotation: "2"}, want: Spec{Phase: Sync, Wave: 2}},
		{name: "argo Skip", ann: map[string]string{ArgoHookAnnotation: "Skip"}, want: Spec{Phase: Sync, Skip: true}},
		{name: "argo PostDelete", ann: map[string]string{ArgoHookAnnotation: "PostDelete"}, want: Spec{Phase: Sync, Skip: true}},
		{name: "helm pre-install", ann: map[string]string{HelmHookAnnotation: "pre-install,pre-upgrade", HelmWeightAnnotation: "-5",
			HelmDeletePolicyAnnotation: "before-hook-creation,hook-succeeded"},
			want: Spec{Phase: PreSync, Wave: -5, Hook: true, DeletePolicies: []DeletePolicy{BeforeHookCreation, HookSucceeded}}},
		{name: "helm post-upgrade", ann: map[string]string{HelmHookAnnotation: "post-upgrade"}, want: Spec{Phase: PostSync, Hook: true, DeletePolicies: bhc}},
		{name: "helm delete only", ann: map[string]string{HelmHookAnnotation: "pre-delete"}, want: Spec{Phase: Sync, Skip: true}},
		{name: "helm weight without hook", ann: map[string]string{HelmWeightAnnotation: "4"}, want: Spec{Phase: Sync}},
		{name: "argo over helm", ann: map[string]string{ArgoHookAnnotation: "PostSync", HelmHookAnnotation: "pre-install"},
			want: Spec{Phase: PostSync, Hook: true, DeletePolicies: bhc}},
		{name: "bad phase", ann: map[string]string{PhaseAnnotation: "Later"}, err: "flotilla.dev/phase"},
		{name: "bad wave", ann: map[string]string{WaveAnnotation: "one"}, err: "flotilla.dev/wave"},
		{name: "wave too large", ann: map[string]string{ArgoWaveAnnotation: "99999999999"}, err: "argocd.argoproj.io/sync-wave"},
		{name: "bad policy", ann: map[string]string{ArgoHookAnnotation: "PreSync", ArgoDeletePolicyAnnotation: "Never"}, err: "hook-delete-policy"},
		{name: "bad helm event", ann: map[string]string{HelmHookAnnotation: "pre-instal"}, err: "pre-instal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Of(obj("Job", "j", tc.ann))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Of: %v", err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("Spec (-want +got):\n%s", d)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	objs := []*unstructured.Unstructured{
		obj("Service", "b", map[string]string{WaveAnnotation: "2"}),
		obj("Job", "post", map[string]string{PhaseAnnotation: "PostSync"}),
		obj("ConfigMap", "a", nil),
		obj("Job", "pre", map[string]string{PhaseAnnotation: "PreSync"}),
		obj("Job", "fail", map[string]string{PhaseAnnotation: "SyncFail"}),
		obj("Deployment", "c", map[string]string{WaveAnnotation: "-1"}),
		obj("Job", "skip", map[string]string{ArgoHookAnnotation: "Skip"}),
	}
	p, err := Split(objs)
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		Phase   Phase
		Wave    int
		Objects []string
		Hooks   []string
	}
	summary := func(steps []Step) []step {
		var out []step
		for _, s := range steps {
			st := step{Phase: s.Phase, Wave: s.Wave}
			for _, u := range s.Objects {
				st.Objects = append(st.Objects, u.GetName())
			}
			for _, h := range s.Hooks {
				st.Hooks = append(st.Hooks, h.Object.GetName())
			}
			out = append(out, st)
		}
		return out
	}
	want := []step{
		{Phase: PreSync, Hooks: []string{"pre"}},
		{Phase: Sync, Wave: -1, Objects: []string{"c"}},
		{Phase: Sync, Objects: []string{"a"}},
		{Phase: Sync, Wave: 2, Objects: []string{"b"}},
		{Phase: PostSync, Hooks: []string{"post"}},
	}
	if d := cmp.Diff(want, summary(p.Steps)); d != "" {
		t.Errorf("Steps (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]step{{Phase: SyncFail, Hooks: []string{"fail"}}}, summary(p.SyncFail)); d != "" {
		t.Errorf("SyncFail (-want +got):\n%s", d)
	}
	var names []string
	for _, u := range p.Objects {
		names = append(names, u.GetName())
	}
	if d := cmp.Diff([]string{"b", "a", "c"}, names); d != "" {
		t.Errorf("Objects (-want +got):\n%s", d)
	}
	if !p.Phased() {
		t.Error("Phased() = false")
	}
	flat, _ := Split([]*unstructured.Unstructured{obj("ConfigMap", "a", nil), obj("Service", "b", map[string]string{WaveAnnotation: "0"})})
	if flat.Phased() {
		t.Error("one wave without hooks is Phased")
	}
	if _, err := Split([]*unstructured.Unstructured{obj("Service", "x", map[string]string{WaveAnnotation: "z"})}); err == nil || !strings.Contains(err.Error(), "Service/x") {
		t.Errorf("err = %v, want one naming Service/x", err)
	}
}
