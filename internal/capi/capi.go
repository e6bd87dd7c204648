package capi

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupKind is Cluster API's Cluster.
var GroupKind = schema.GroupKind{Group: "cluster.x-k8s.io", Kind: "Cluster"}

// SourceLabel marks the Flotilla Clusters and credentials Secrets made for a
// CAPI Cluster; its value is that Cluster's name. Flotilla changes and
// deletes only Clusters that carry it.
const SourceLabel = "flotilla.dev/capi-cluster"

// KubeconfigKey is the key of the kubeconfig in the Secret Cluster API
// writes for each cluster.
const KubeconfigKey = "value"

// MaxKubeconfigBytes bounds the kubeconfig read from a Secret. A real one
// is a few kilobytes; anything past this is refused before it is parsed.
const MaxKubeconfigBytes = 256 << 10

// kubeconfigSuffix ends the name of a cluster's kubeconfig Secret.
const kubeconfigSuffix = "-kubeconfig"

// ErrNoKubeconfig says a kubeconfig Secret holds no usable kubeconfig.
var ErrNoKubeconfig = errors.New("no usable kubeconfig")

// KubeconfigSecretName is the name of the Secret holding the kubeconfig of
// the CAPI Cluster name.
func KubeconfigSecretName(name string) string { return name + kubeconfigSuffix }

// ClusterOfSecret is the CAPI Cluster whose kubeconfig the Secret name
// would hold, and whether the name is of that form.
func ClusterOfSecret(name string) (string, bool) {
	cluster, ok := strings.CutSuffix(name, kubeconfigSuffix)
	return cluster, ok && cluster != ""
}

// ControlPlaneInitialized says whether the CAPI Cluster's control plane
// accepts requests, which is when its kubeconfig can be used. It reads
// v1beta2's status.initialization.controlPlaneInitialized, v1beta1's
// status.controlPlaneReady, and a True ControlPlaneInitialized condition
// (v1beta2's status.conditions, v1beta1's status.conditions or
// status.v1beta2.conditions), or v1beta1's True Ready condition.
func ControlPlaneInitialized(obj *unstructured.Unstructured) bool {
	if ok, _, _ := unstructured.NestedBool(obj.Object, "status", "initialization", "controlPlaneInitialized"); ok {
		return true
	}
	if ok, _, _ := unstructured.NestedBool(obj.Object, "status", "controlPlaneReady"); ok {
		return true
	}
	for _, path := range [][]string{{"status", "conditions"}, {"status", "v1beta2", "conditions"}} {
		conds, _, _ := unstructured.NestedSlice(obj.Object, path...)
		for _, c := range conds {
			m, ok := c.(map[string]any)
			if !ok {
				continue
			}
			typ, _ := m["type"].(string)
			status, _ := m["status"].(string)
			if status == string(corev1.ConditionTrue) && (typ == "ControlPlaneInitialized" || typ == "Ready") {
				return true
			}
		}
	}
	return false
}

// Labels are the labels a Flotilla Cluster made for obj carries: obj's own,
// and SourceLabel naming it (whatever obj says for that key).
func Labels(obj *unstructured.Unstructured) map[string]string {
	labels := map[string]string{}
	for k, v := range obj.GetLabels() {
		labels[k] = v
	}
	labels[SourceLabel] = obj.GetName()
	return labels
}

// Kubeconfig returns the kubeconfig a Cluster API Secret holds, refusing
// an empty or oversized one.
func Kubeconfig(s *corev1.Secret) ([]byte, error) {
	data, ok := s.Data[KubeconfigKey]
	switch {
	case !ok || len(data) == 0:
		return nil, fmt.Errorf("the Secret %s/%s has no key %q: %w", s.Namespace, s.Name, KubeconfigKey, ErrNoKubeconfig)
	case len(data) > MaxKubeconfigBytes:
		return nil, fmt.Errorf("the Secret %s/%s: key %q holds %d bytes, more than %d: %w",
			s.Namespace, s.Name, KubeconfigKey, len(data), MaxKubeconfigBytes, ErrNoKubeconfig)
	}
	return data, nil
}
