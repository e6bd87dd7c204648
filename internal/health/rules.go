package health

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

var (
	deploymentGK  = schema.GroupKind{Group: "apps", Kind: "Deployment"}
	statefulSetGK = schema.GroupKind{Group: "apps", Kind: "StatefulSet"}
	daemonSetGK   = schema.GroupKind{Group: "apps", Kind: "DaemonSet"}
	replicaSetGK  = schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}
	jobGK         = schema.GroupKind{Group: "batch", Kind: "Job"}
	cronJobGK     = schema.GroupKind{Group: "batch", Kind: "CronJob"}
	serviceGK     = schema.GroupKind{Kind: "Service"}
	pvcGK         = schema.GroupKind{Kind: "PersistentVolumeClaim"}
	podGK         = schema.GroupKind{Kind: "Pod"}
	secretGK      = schema.GroupKind{Kind: "Secret"}
)

// A rule decides the health of one kind where kstatus' answer is not the one
// Flotilla owes its users; decided is false to leave the object to kstatus.
type rule func(obj *unstructured.Unstructured) (v verdict, decided bool)

// rules hold what Flotilla decides before kstatus:
//
//   - Suspension. A paused Deployment, a suspended CronJob or Job is
//     Suspended: someone stopped it on purpose. kstatus calls a paused
//     Deployment InProgress forever and a suspended CronJob Current.
//   - A Job is Progressing until it is Complete (Healthy) or Failed
//     (Degraded). kstatus calls a running Job Current; but what runs a Job
//     from Git (a migration, a seed) wants to wait for its end, as Argo CD
//     users are used to.
//   - A Service of type LoadBalancer is Progressing until its load balancer
//     has an address; kstatus only looks for a cluster IP.
//   - A PersistentVolumeClaim whose volume is Lost is Degraded; kstatus
//     calls it InProgress, but it will not bind again by itself.
//   - An Argo Rollouts Rollout and a Flagger Canary are read by their own
//     phases (progressive.go): a canary under analysis is Progressing.
var rules = map[schema.GroupKind]rule{
	deploymentGK: deploymentRule,
	cronJobGK:    cronJobRule,
	jobGK:        jobRule,
	serviceGK:    serviceRule,
	pvcGK:        pvcRule,

	argoRolloutGK:   argoRolloutRule,
	flaggerCanaryGK: flaggerCanaryRule,
}

func deploymentRule(obj *unstructured.Unstructured) (verdict, bool) {
	if paused, _, _ := unstructured.NestedBool(obj.Object, "spec", "paused"); paused {
		return verdict{flotillav1.HealthSuspended, "rollout paused, " + deploymentReplicas(obj)}, true
	}
	return verdict{}, false
}

func cronJobRule(obj *unstructured.Unstructured) (verdict, bool) {
	if suspended, _, _ := unstructured.NestedBool(obj.Object, "spec", "suspend"); suspended {
		return verdict{flotillav1.HealthSuspended, "schedule suspended"}, true
	}
	return verdict{}, false
}

func jobRule(obj *unstructured.Unstructured) (verdict, bool) {
	if _, done := finishedJob(obj); done {
		return verdict{}, false // kstatus: Complete is Current, Failed is Failed
	}
	if suspended, _, _ := unstructured.NestedBool(obj.Object, "spec", "suspend"); suspended {
		return verdict{flotillav1.HealthSuspended, "suspended"}, true
	}
	if hasField(obj, "status", "startTime") {
		return verdict{flotillav1.HealthProgressing, fmt.Sprintf("running: %d active, %d succeeded, %d failed",
			intField(obj, ".status.active", 0), intField(obj, ".status.succeeded", 0), intField(obj, ".status.failed", 0))}, true
	}
	return verdict{flotillav1.HealthProgressing, "not started yet"}, true
}

func serviceRule(obj *unstructured.Unstructured) (verdict, bool) {
	typ, _, _ := unstructured.NestedString(obj.Object, "spec", "type")
	if typ != "LoadBalancer" {
		return verdict{}, false
	}
	ingress, _, _ := unstructured.NestedSlice(obj.Object, "status", "loadBalancer", "ingress")
	var addrs []string
	for _, in := range ingress {
		m, ok := in.(map[string]any)
		if !ok {
			continue
		}
		for _, key := range []string{"ip", "hostname"} {
			if s, ok := m[key].(string); ok && s != "" {
				addrs = append(addrs, s)
				break
			}
		}
	}
	if len(addrs) == 0 {
		return verdict{flotillav1.HealthProgressing, "waiting for a load balancer address"}, true
	}
	return verdict{flotillav1.HealthHealthy, "load balancer at " + strings.Join(addrs, ", ")}, true
}

func pvcRule(obj *unstructured.Unstructured) (verdict, bool) {
	phase, _, _ := unstructured.NestedString(obj.Object, "status", "phase")
	switch phase {
	case "Bound":
		return verdict{flotillav1.HealthHealthy, "bound"}, true
	case "Lost":
		return verdict{flotillav1.HealthDegraded, "its volume is lost"}, true
	case "":
		return verdict{flotillav1.HealthProgressing, "not bound yet"}, true
	default:
		return verdict{flotillav1.HealthProgressing, phase + ", not bound yet"}, true
	}
}

// A description says why an object of one kind has the code kstatus gave
// it, better than kstatus' own message; "" leaves kstatus' message.
type description func(obj *unstructured.Unstructured, code flotillav1.HealthStatusCode, ks *status.Result) string

var descriptions = map[schema.GroupKind]description{
	deploymentGK:  describeDeployment,
	statefulSetGK: describeStatefulSet,
	daemonSetGK:   describeDaemonSet,
	replicaSetGK:  describeReplicaSet,
	jobGK:         describeJob,
	cronJobGK:     describeCronJob,
	podGK:         describePod,
}

func describeDeployment(obj *unstructured.Unstructured, code flotillav1.HealthStatusCode, ks *status.Result) string {
	parts := []string{deploymentReplicas(obj)}
	if c, ok := condition(obj, "Progressing"); ok && c.Reason == "ProgressDeadlineExceeded" {
		parts = append(parts, "progress deadline exceeded")
	}
	if code != flotillav1.HealthHealthy {
		want := intField(obj, ".spec.replicas", 1)
		if updated := intField(obj, ".status.updatedReplicas", 0); updated < want {
			parts = append(parts, fmt.Sprintf("%d/%d updated", updated, want))
		}
		if extra := intField(obj, ".status.replicas", 0) - want; extra > 0 {
			parts = append(parts, fmt.Sprintf("%d old pending termination", extra))
		}
		if len(parts) == 1 && !staleGeneration(obj) && intField(obj, ".status.availableReplicas", 0) >= want {
			// The numbers look done, the conditions do not agree yet.
			parts = append(parts, ks.Message)
		}
	}
	return withGeneration(obj, strings.Join(parts, ", "))
}

func deploymentReplicas(obj *unstructured.Unstructured) string {
	return fmt.Sprintf("%d/%d replicas available",
		intField(obj, ".status.availableReplicas", 0), intField(obj, ".spec.replicas", 1))
}

func describeStatefulSet(obj *unstructured.Unstructured, _ flotillav1.HealthStatusCode, _ *status.Result) string {
	why := fmt.Sprintf("%d/%d replicas ready",
		intField(obj, ".status.readyReplicas", 0), intField(obj, ".spec.replicas", 1))
	current, _, _ := unstructured.NestedString(obj.Object, "status", "currentRevision")
	update, _, _ := unstructured.NestedString(obj.Object, "status", "updateRevision")
	if current != update {
		why += fmt.Sprintf(", %d updated", intField(obj, ".status.updatedReplicas", 0))
	}
	return withGeneration(obj, why)
}

func describeDaemonSet(obj *unstructured.Unstructured, _ flotillav1.HealthStatusCode, _ *status.Result) string {
	desired := intField(obj, ".status.desiredNumberScheduled", -1)
	if desired < 0 {
		return "" // not seen by its controller yet: kstatus says so
	}
	why := fmt.Sprintf("%d/%d pods available", intField(obj, ".status.numberAvailable", 0), desired)
	return withGeneration(obj, why)
}

func describeReplicaSet(obj *unstructured.Unstructured, _ flotillav1.HealthStatusCode, _ *status.Result) string {
	why := fmt.Sprintf("%d/%d replicas available",
		intField(obj, ".status.availableReplicas", 0), intField(obj, ".spec.replicas", 1))
	return withGeneration(obj, why)
}

func describeJob(obj *unstructured.Unstructured, _ flotillav1.HealthStatusCode, _ *status.Result) string {
	c, done := finishedJob(obj)
	switch {
	case !done:
		return "" // kstatus counts active, succeeded and failed pods
	case c.Type == "Complete":
		return fmt.Sprintf("complete, %d succeeded", intField(obj, ".status.succeeded", 0))
	default:
		return joinReason("failed", c.Reason, c.Message)
	}
}

func describeCronJob(obj *unstructured.Unstructured, _ flotillav1.HealthStatusCode, _ *status.Result) string {
	last, _, _ := unstructured.NestedString(obj.Object, "status", "lastScheduleTime")
	if last == "" {
		return "scheduled, not run yet"
	}
	return "scheduled, last run at " + last
}

// finishedJob returns the Job's Complete or Failed condition that is True.
func finishedJob(obj *unstructured.Unstructured) (status.BasicCondition, bool) {
	for _, t := range []string{"Failed", "Complete"} {
		if c, ok := condition(obj, t); ok && c.Status == "True" {
			return c, true
		}
	}
	return status.BasicCondition{}, false
}

func describePod(obj *unstructured.Unstructured, code flotillav1.HealthStatusCode, _ *status.Result) string {
	if code == flotillav1.HealthHealthy {
		return ""
	}
	p, err := toPod(obj)
	if err != nil {
		return ""
	}
	if pr, ok := problemOf(p); ok {
		return pr.what()
	}
	return ""
}

// withGeneration adds to why that the controller has not seen the latest
// spec yet, when so: the numbers are then about the previous one.
func withGeneration(obj *unstructured.Unstructured, why string) string {
	if !staleGeneration(obj) {
		return why
	}
	return fmt.Sprintf("%s, generation %d not observed yet", why, obj.GetGeneration())
}

// staleGeneration reports whether obj's controller has not seen its latest
// spec yet.
func staleGeneration(obj *unstructured.Unstructured) bool {
	observed, found, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
	return found && observed != obj.GetGeneration()
}

// condition returns obj's status condition of type t.
func condition(obj *unstructured.Unstructured, t string) (status.BasicCondition, bool) {
	withConditions, err := status.GetObjectWithConditions(obj.Object)
	if err != nil {
		return status.BasicCondition{}, false
	}
	for _, c := range withConditions.Status.Conditions {
		if c.Type == t {
			return c, true
		}
	}
	return status.BasicCondition{}, false
}

// intField reads an integer at a kstatus field path such as ".spec.replicas".
func intField(obj *unstructured.Unstructured, path string, def int) int {
	return status.GetIntField(obj.Object, path, def)
}

// joinReason formats "what (Reason): message", leaving out empty parts.
func joinReason(what, reason, message string) string {
	if reason != "" {
		what += " (" + reason + ")"
	}
	if message != "" {
		what += ": " + message
	}
	return what
}
