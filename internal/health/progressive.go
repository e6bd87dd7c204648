package health

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// Progressive delivery inside a cluster is the job of Argo Rollouts and
// Flagger; Flotilla reads their resources so that a Fleet's wave waits for
// a canary to finish, and fails when it is aborted.
var (
	argoRolloutGK   = schema.GroupKind{Group: "argoproj.io", Kind: "Rollout"}
	flaggerCanaryGK = schema.GroupKind{Group: "flagger.app", Kind: "Canary"}
)

// argoRolloutRule reads an Argo Rollouts Rollout: its controller sums its
// state up in status.phase (Healthy, Progressing, Paused, Degraded) and
// status.message, once it has observed the spec (status.observedGeneration,
// a string there, against metadata.generation).
func argoRolloutRule(obj *unstructured.Unstructured) (verdict, bool) {
	if gen, found, _ := unstructured.NestedString(obj.Object, "status", "observedGeneration"); !found || gen != fmt.Sprint(obj.GetGeneration()) {
		return verdict{flotillav1.HealthProgressing, "waiting for the rollout controller to observe the spec"}, true
	}
	phase, _, _ := unstructured.NestedString(obj.Object, "status", "phase")
	msg, _, _ := unstructured.NestedString(obj.Object, "status", "message")
	if aborted, _, _ := unstructured.NestedBool(obj.Object, "status", "abort"); aborted {
		return verdict{flotillav1.HealthDegraded, joinReason("rollout aborted", "", msg)}, true
	}
	switch phase {
	case "Healthy":
		return verdict{flotillav1.HealthHealthy, joinReason("healthy", "", msg)}, true
	case "Paused":
		return verdict{flotillav1.HealthSuspended, joinReason("paused", "", msg)}, true
	case "Degraded":
		return verdict{flotillav1.HealthDegraded, joinReason("degraded", "", msg)}, true
	case "":
		return verdict{flotillav1.HealthProgressing, "no phase reported yet"}, true
	default:
		return verdict{flotillav1.HealthProgressing, joinReason(phase, "", msg)}, true
	}
}

// flaggerCanaryRule reads a Flagger Canary by status.phase: Initialized and
// Succeeded are Healthy, Failed is Degraded, every step of an analysis
// (Initializing, Waiting, Progressing, WaitingPromotion, Promoting,
// Finalising) is Progressing; the Promoted condition's message says why.
func flaggerCanaryRule(obj *unstructured.Unstructured) (verdict, bool) {
	phase, _, _ := unstructured.NestedString(obj.Object, "status", "phase")
	msg := ""
	if c, ok := condition(obj, "Promoted"); ok {
		msg = c.Message
	}
	switch phase {
	case "Initialized", "Succeeded":
		return verdict{flotillav1.HealthHealthy, joinReason(phase, "", msg)}, true
	case "Failed":
		return verdict{flotillav1.HealthDegraded, joinReason("canary failed", "", msg)}, true
	case "":
		return verdict{flotillav1.HealthProgressing, "no phase reported yet"}, true
	default:
		return verdict{flotillav1.HealthProgressing, joinReason(phase, "", msg)}, true
	}
}
