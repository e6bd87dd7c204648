package agent

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// TestHubStatusGenerations: the hub sees its own generations. A copy that
// observed its current spec reports the hub generation it was copied from;
// one behind keeps the hub's observedGeneration.
func TestHubStatusGenerations(t *testing.T) {
	hub := &flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Generation: 9}}
	hub.Status.ObservedGeneration = 7
	cp := &flotillav1.Application{ObjectMeta: metav1.ObjectMeta{
		Generation: 2, Annotations: map[string]string{hubGenerationAnnotation: "9"},
	}}
	cp.Status.ObservedGeneration = 2
	cp.Status.Conditions = []metav1.Condition{{Type: flotillav1.ConditionReady, ObservedGeneration: 2}}
	st := hubStatus(cp, hub)
	if st.ObservedGeneration != 9 || st.Conditions[0].ObservedGeneration != 9 {
		t.Errorf("current copy: observedGeneration %d, condition %d; want 9", st.ObservedGeneration, st.Conditions[0].ObservedGeneration)
	}
	cp.Status.ObservedGeneration = 1
	cp.Status.Conditions[0].ObservedGeneration = 1
	st = hubStatus(cp, hub)
	if st.ObservedGeneration != 7 || st.Conditions[0].ObservedGeneration == 9 {
		t.Errorf("copy behind: observedGeneration %d (want the hub's 7), condition %d (want not 9)", st.ObservedGeneration, st.Conditions[0].ObservedGeneration)
	}
}
