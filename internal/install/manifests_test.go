package install

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// TestManifestsAreConfigDefault: what `flotilla install --controller`
// applies is what `kubectl apply -k config/default` applies, from the same
// files.
func TestManifestsAreConfigDefault(t *testing.T) {
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), "../../config/default")
	if err != nil {
		t.Fatal(err)
	}
	var want []map[string]any
	for _, r := range m.Resources() {
		data, err := r.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			t.Fatal(err)
		}
		want = append(want, u.Object)
	}
	opts := DefaultOptions()
	opts.Controller = true
	objs, err := Manifests(opts)
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	for _, u := range objs {
		got = append(got, u.Object)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("install's manifests differ from config/default (-kubectl +install):\n%s", d)
	}
}

func TestManifestsOptions(t *testing.T) {
	cases := []struct {
		name      string
		opts      Options
		wantKinds []string
		check     func(t *testing.T, objs []*unstructured.Unstructured)
	}{{
		name:      "CRDs only",
		opts:      Options{Namespace: "flotilla-system"},
		wantKinds: []string{"Namespace", "CustomResourceDefinition"},
	}, {
		name: "controller in another namespace, three replicas, no in-cluster",
		opts: Options{Namespace: "ops", Controller: true, Replicas: 3, Image: "registry.example.com/flotilla:v1.2.3"},
		wantKinds: []string{"Namespace", "CustomResourceDefinition", "ServiceAccount", "Role", "RoleBinding",
			"Service", "Deployment", "NetworkPolicy", "PodDisruptionBudget"},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			for _, u := range objs {
				if u.GetKind() == "Namespace" && u.GetName() != "ops" {
					t.Errorf("Namespace %s, want ops", u.GetName())
				}
				if u.GetKind() != "Namespace" && u.GetKind() != "CustomResourceDefinition" && u.GetNamespace() != "ops" {
					t.Errorf("%s/%s in namespace %q, want ops", u.GetKind(), u.GetName(), u.GetNamespace())
				}
			}
			d := find(t, objs, "Deployment")
			if r, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas"); r != 3 {
				t.Errorf("replicas %d, want 3", r)
			}
			if img := container(t, d)["image"]; img != "registry.example.com/flotilla:v1.2.3" {
				t.Errorf("image %v", img)
			}
		},
	}, {
		name: "controller with in-cluster in another namespace",
		opts: Options{Namespace: "ops", Controller: true, Replicas: 1, InCluster: true, Image: "example.com/f@sha256:" + sha},
		wantKinds: []string{"Namespace", "CustomResourceDefinition", "ServiceAccount", "Role", "ClusterRole", "RoleBinding",
			"ClusterRoleBinding", "Service", "Deployment", "NetworkPolicy"},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			b := find(t, objs, "ClusterRoleBinding")
			ref, _, _ := unstructured.NestedString(b.Object, "roleRef", "name")
			if b.GetName() != "flotilla-in-cluster-ops" || ref != "flotilla-in-cluster-ops" || find(t, objs, "ClusterRole").GetName() != ref {
				t.Errorf("cluster-wide names not qualified by the namespace: binding %s, roleRef %s", b.GetName(), ref)
			}
			if img := container(t, find(t, objs, "Deployment"))["image"]; img != "example.com/f@sha256:"+sha {
				t.Errorf("image %v", img)
			}
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Manifests(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, u := range objs {
				if !slices.Contains(kinds, u.GetKind()) {
					kinds = append(kinds, u.GetKind())
				}
			}
			slices.Sort(kinds)
			slices.Sort(tc.wantKinds)
			if d := cmp.Diff(tc.wantKinds, kinds); d != "" {
				t.Errorf("kinds (-want +got):\n%s", d)
			}
			if tc.check != nil {
				tc.check(t, objs)
			}
		})
	}
}

// TestControllerPodIsLocked: the controller runs as non-root, read-only,
// without privileges, under the runtime's seccomp profile, within limits.
func TestControllerPodIsLocked(t *testing.T) {
	objs, err := Manifests(Options{Namespace: "flotilla-system", Controller: true, Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	d := find(t, objs, "Deployment")
	pod, _, _ := unstructured.NestedMap(d.Object, "spec", "template", "spec")
	c := container(t, d)
	checks := map[string]any{
		"runAsNonRoot":             nested(pod, "securityContext", "runAsNonRoot"),
		"seccompProfile":           nested(pod, "securityContext", "seccompProfile", "type"),
		"readOnlyRootFilesystem":   nested(c, "securityContext", "readOnlyRootFilesystem"),
		"allowPrivilegeEscalation": nested(c, "securityContext", "allowPrivilegeEscalation"),
		"memory limit":             nested(c, "resources", "limits", "memory"),
		"cpu request":              nested(c, "resources", "requests", "cpu"),
		"readiness":                nested(c, "readinessProbe", "httpGet", "path"),
		"liveness":                 nested(c, "livenessProbe", "httpGet", "path"),
	}
	want := map[string]any{
		"runAsNonRoot": true, "seccompProfile": "RuntimeDefault", "readOnlyRootFilesystem": true,
		"allowPrivilegeEscalation": false, "memory limit": "1Gi", "cpu request": "100m",
		"readiness": "/readyz", "liveness": "/healthz",
	}
	if diff := cmp.Diff(want, checks); diff != "" {
		t.Errorf("controller pod (-want +got):\n%s", diff)
	}
}

const sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func find(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	for _, u := range objs {
		if u.GetKind() == kind {
			return u
		}
	}
	t.Fatalf("no %s among the manifests", kind)
	return nil
}

func container(t *testing.T, d *unstructured.Unstructured) map[string]any {
	t.Helper()
	cs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if len(cs) != 1 {
		t.Fatalf("%d containers, want 1", len(cs))
	}
	return cs[0].(map[string]any)
}

func nested(m map[string]any, fields ...string) any {
	v, _, _ := unstructured.NestedFieldNoCopy(m, fields...)
	return v
}
