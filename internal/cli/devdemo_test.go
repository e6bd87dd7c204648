package cli

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// The demo counts the Applications a Fleet makes as the Fleet controller
// picks its Clusters: no selector and an empty one pick every Cluster.
func TestFleetClusters(t *testing.T) {
	clusters := []flotillav1.Cluster{
		{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"env": "dev"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "b", Labels: map[string]string{"env": "prod"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "c"}},
	}
	for name, tc := range map[string]struct {
		sel  *metav1.LabelSelector
		want int
	}{
		"nil":         {nil, 3},
		"empty":       {&metav1.LabelSelector{}, 3},
		"labels":      {&metav1.LabelSelector{MatchLabels: map[string]string{"env": "dev"}}, 1},
		"expressions": {&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: metav1.LabelSelectorOpExists}}}, 2},
	} {
		_, got, err := fleetClusters(tc.sel, clusters)
		if err != nil || got != tc.want {
			t.Errorf("%s: %d clusters, %v; want %d", name, got, err, tc.want)
		}
	}
	bad := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: "Near"}}}
	if _, _, err := fleetClusters(bad, clusters); err == nil {
		t.Error("a selector with an unknown operator: no error")
	}
}
