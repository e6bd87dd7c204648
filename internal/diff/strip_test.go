package diff

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

func TestStrip(t *testing.T) {
	d, err := New(Options{IgnoreDifferences: []flotillav1.IgnoreDifference{
		{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas", "/metadata/annotations/owner~1team"}},
		{Kind: "ConfigMap", Name: "other", JSONPointers: []string{"/data"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	deploy := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "shop", "annotations": map[string]any{"owner/team": "a"}},
		"spec":     map[string]any{"replicas": int64(3), "paused": false},
	}}
	before := deploy.DeepCopy()
	got := d.Strip(deploy)
	want := map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "shop"},
		"spec":     map[string]any{"paused": false},
	}
	if diff := cmp.Diff(want, got.Object); diff != "" {
		t.Errorf("Strip (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before.Object, deploy.Object); diff != "" {
		t.Errorf("Strip changed its input (-before +after):\n%s", diff)
	}
	cm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "web"}, "data": map[string]any{"k": "v"},
	}}
	if got := d.Strip(cm); got != cm {
		t.Errorf("a ConfigMap no rule matches should come back as it is")
	}
}
