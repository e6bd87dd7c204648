package capi

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestControlPlaneInitialized(t *testing.T) {
	cond := func(typ, status string) map[string]any { return map[string]any{"type": typ, "status": status} }
	tests := []struct {
		name   string
		status map[string]any
		want   bool
	}{
		{"no status", nil, false},
		{"v1beta2 initialized", map[string]any{"initialization": map[string]any{"controlPlaneInitialized": true}}, true},
		{"v1beta2 infrastructure only", map[string]any{"initialization": map[string]any{"infrastructureProvisioned": true}}, false},
		{"v1beta2 not yet", map[string]any{"initialization": map[string]any{"controlPlaneInitialized": false}}, false},
		{"v1beta1 controlPlaneReady", map[string]any{"controlPlaneReady": true}, true},
		{"v1beta1 infrastructureReady only", map[string]any{"infrastructureReady": true, "controlPlaneReady": false}, false},
		{"condition ControlPlaneInitialized", map[string]any{"conditions": []any{cond("ControlPlaneInitialized", "True")}}, true},
		{"condition ControlPlaneInitialized False", map[string]any{"conditions": []any{cond("ControlPlaneInitialized", "False")}}, false},
		{"v1beta1 Ready condition", map[string]any{"conditions": []any{cond("InfrastructureReady", "True"), cond("Ready", "True")}}, true},
		{"v1beta1 Ready Unknown", map[string]any{"conditions": []any{cond("Ready", "Unknown")}}, false},
		{"v1beta2 conditions inside v1beta1", map[string]any{"v1beta2": map[string]any{"conditions": []any{cond("ControlPlaneInitialized", "True")}}}, true},
		{"other conditions", map[string]any{"conditions": []any{cond("InfrastructureReady", "True"), "not a map"}}, false},
		{"a string, not a bool", map[string]any{"controlPlaneReady": "true"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &unstructured.Unstructured{Object: map[string]any{}}
			if tt.status != nil {
				u.Object["status"] = tt.status
			}
			if got := ControlPlaneInitialized(u); got != tt.want {
				t.Errorf("ControlPlaneInitialized = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLabels(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetName("w1")
	u.SetLabels(map[string]string{"env": "prod", SourceLabel: "forged"})
	want := map[string]string{"env": "prod", SourceLabel: "w1"}
	if diff := cmp.Diff(want, Labels(u)); diff != "" {
		t.Errorf("Labels (-want +got):\n%s", diff)
	}
	if u.GetLabels()[SourceLabel] != "forged" {
		t.Error("Labels changed the CAPI Cluster's own labels")
	}
}

func TestClusterOfSecret(t *testing.T) {
	tests := []struct {
		secret, cluster string
		ok              bool
	}{
		{"w1-kubeconfig", "w1", true},
		{"a-b-kubeconfig", "a-b", true},
		{"-kubeconfig", "", false},
		{"cluster-w1", "cluster-w1", false},
		{"w1-kubeconfig-x", "w1-kubeconfig-x", false},
	}
	for _, tt := range tests {
		got, ok := ClusterOfSecret(tt.secret)
		if ok != tt.ok || (ok && got != tt.cluster) {
			t.Errorf("ClusterOfSecret(%q) = %q, %v; want %q, %v", tt.secret, got, ok, tt.cluster, tt.ok)
		}
	}
	if got := KubeconfigSecretName("w1"); got != "w1-kubeconfig" {
		t.Errorf("KubeconfigSecretName = %q", got)
	}
}

func TestKubeconfig(t *testing.T) {
	secret := func(data map[string][]byte) *corev1.Secret {
		s := &corev1.Secret{Data: data}
		s.Namespace, s.Name = "ns", "w1-kubeconfig"
		return s
	}
	got, err := Kubeconfig(secret(map[string][]byte{"value": []byte("apiVersion: v1")}))
	if err != nil || string(got) != "apiVersion: v1" {
		t.Errorf("Kubeconfig = %q, %v", got, err)
	}
	for name, data := range map[string]map[string][]byte{
		"missing":   {"kubeconfig": []byte("x")},
		"empty":     {"value": nil},
		"oversized": {"value": []byte(strings.Repeat("x", MaxKubeconfigBytes+1))},
	} {
		_, err := Kubeconfig(secret(data))
		if !errors.Is(err, ErrNoKubeconfig) || !strings.Contains(err.Error(), "ns/w1-kubeconfig") {
			t.Errorf("%s: err = %v, want ErrNoKubeconfig naming the Secret", name, err)
		}
	}
}
