package health_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/health"
)

// verdict is what a test compares of a Result.
type verdict struct {
	Status  flotillav1.HealthStatusCode
	Message string
}

func verdictOf(r health.Result) verdict { return verdict{r.Status, r.Message} }

// progressiveDelivery are the objects of Argo Rollouts and Flagger, inside
// a cluster, and their verdicts; TestProgressiveDeliveryOnRealCRDs reads
// them on a control plane serving those projects' own CRDs.
var progressiveDelivery = []struct {
	file string
	want verdict
}{
	{"rollout-healthy.yaml", verdict{flotillav1.HealthHealthy, "Rollout/shop/web: healthy"}},
	{"rollout-paused.yaml", verdict{flotillav1.HealthSuspended, "Rollout/shop/web: paused: CanaryPauseStep"}},
	{"rollout-aborted.yaml", verdict{flotillav1.HealthDegraded, `Rollout/shop/web: rollout aborted: RolloutAborted: Rollout aborted update to revision 5: Metric "success-rate" assessed Failed due to failed (3) > failureLimit (2)`}},
	{"rollout-not-observed.yaml", verdict{flotillav1.HealthProgressing, "Rollout/shop/web: waiting for the rollout controller to observe the spec"}},
	{"canary-progressing.yaml", verdict{flotillav1.HealthProgressing, "Canary/shop/web: Progressing: New revision detected, progressing canary analysis."}},
	{"canary-succeeded.yaml", verdict{flotillav1.HealthHealthy, "Canary/shop/web: Succeeded: Canary analysis completed successfully, promotion finished."}},
	{"canary-failed.yaml", verdict{flotillav1.HealthDegraded, "Canary/shop/web: canary failed: Canary analysis failed, Deployment scaled to zero."}},
}

func TestAssessBuiltinRules(t *testing.T) {
	tests := []struct {
		file string
		want verdict
	}{
		// Workloads.
		{"deployment-available.yaml", verdict{flotillav1.HealthHealthy, "Deployment/shop/web: 3/3 replicas available"}},
		{"deployment-rolling-out.yaml", verdict{flotillav1.HealthProgressing, "Deployment/shop/web: 0/3 replicas available"}},
		{"deployment-deadline-exceeded.yaml", verdict{flotillav1.HealthDegraded, "Deployment/shop/web: 0/3 replicas available, progress deadline exceeded"}},
		{"deployment-paused.yaml", verdict{flotillav1.HealthSuspended, "Deployment/shop/web: rollout paused, 1/3 replicas available"}},
		{"deployment-generation-not-observed.yaml", verdict{flotillav1.HealthProgressing, "Deployment/shop/web: 3/3 replicas available, generation 3 not observed yet"}},
		{"deployment-conditions-lag.yaml", verdict{flotillav1.HealthProgressing, "Deployment/shop/web: 3/3 replicas available, ReplicaSet not Available"}},
		{"deployment-terminating.yaml", verdict{flotillav1.HealthProgressing, "Deployment/shop/web: being deleted"}},
		{"statefulset-ready.yaml", verdict{flotillav1.HealthHealthy, "StatefulSet/shop/db: 2/2 replicas ready"}},
		{"statefulset-starting.yaml", verdict{flotillav1.HealthProgressing, "StatefulSet/shop/db: 1/2 replicas ready"}},
		{"daemonset-available.yaml", verdict{flotillav1.HealthHealthy, "DaemonSet/kube-system/agent: 4/4 pods available"}},
		{"job-running.yaml", verdict{flotillav1.HealthProgressing, "Job/shop/migrate: running: 1 active, 0 succeeded, 0 failed"}},
		{"job-complete.yaml", verdict{flotillav1.HealthHealthy, "Job/shop/migrate: complete, 1 succeeded"}},
		{"job-failed.yaml", verdict{flotillav1.HealthDegraded, "Job/shop/migrate: failed (BackoffLimitExceeded): Job has reached the specified backoff limit"}},
		{"job-suspended.yaml", verdict{flotillav1.HealthSuspended, "Job/shop/migrate: suspended"}},
		{"cronjob-suspended.yaml", verdict{flotillav1.HealthSuspended, "CronJob/shop/report: schedule suspended"}},
		{"cronjob-scheduled.yaml", verdict{flotillav1.HealthHealthy, "CronJob/shop/report: scheduled, last run at 2026-01-02T03:00:00Z"}},
		{"pod-crashloop.yaml", verdict{flotillav1.HealthDegraded, "Pod/shop/web-5d4f-x2: CrashLoopBackOff: container web: back-off 2m40s restarting failed container=web pod=web-5d4f-x2_shop"}},
		{"pod-imagepullbackoff.yaml", verdict{flotillav1.HealthProgressing, `Pod/shop/web-5d4f-x2: ImagePullBackOff: container web: Back-off pulling image "registry.example/web:nope"`}},

		// Kinds without status semantics.
		{"configmap.yaml", verdict{flotillav1.HealthHealthy, "ConfigMap/shop/settings: exists, no status to check"}},
		{"secret.yaml", verdict{flotillav1.HealthHealthy, "Secret/shop/creds: exists, no status to check"}},
		{"serviceaccount.yaml", verdict{flotillav1.HealthHealthy, "ServiceAccount/shop/web: exists, no status to check"}},
		{"clusterrole.yaml", verdict{flotillav1.HealthHealthy, "ClusterRole/shop-reader: exists, no status to check"}},
		{"rolebinding.yaml", verdict{flotillav1.HealthHealthy, "RoleBinding/shop/web-reads: exists, no status to check"}},

		// Services, claims, definitions.
		{"service-clusterip.yaml", verdict{flotillav1.HealthHealthy, "Service/shop/web: Service is ready"}},
		{"service-loadbalancer-pending.yaml", verdict{flotillav1.HealthProgressing, "Service/shop/web-public: waiting for a load balancer address"}},
		{"service-loadbalancer-ready.yaml", verdict{flotillav1.HealthHealthy, "Service/shop/web-public: load balancer at 203.0.113.7"}},
		{"pvc-pending.yaml", verdict{flotillav1.HealthProgressing, "PersistentVolumeClaim/shop/data: Pending, not bound yet"}},
		{"pvc-bound.yaml", verdict{flotillav1.HealthHealthy, "PersistentVolumeClaim/shop/data: bound"}},
		{"pvc-lost.yaml", verdict{flotillav1.HealthDegraded, "PersistentVolumeClaim/shop/data: its volume is lost"}},
		{"crd-established.yaml", verdict{flotillav1.HealthHealthy, "CustomResourceDefinition/widgets.example.com: CRD is established"}},
		{"crd-installing.yaml", verdict{flotillav1.HealthProgressing, "CustomResourceDefinition/widgets.example.com: Installing: Install in progress"}},

		// Custom resources kstatus knows nothing about.
		{"widget-ready.yaml", verdict{flotillav1.HealthHealthy, "Widget/shop/blue: Resource is Ready"}},
		{"widget-not-ready.yaml", verdict{flotillav1.HealthProgressing, "Widget/shop/blue: WaitingForParts: 2 of 3 parts in place"}},
		{"widget-stalled.yaml", verdict{flotillav1.HealthDegraded, `Widget/shop/blue: PartMissing: the part "axle" does not exist`}},
		{"widget-no-status.yaml", verdict{flotillav1.HealthHealthy, "Widget/shop/plain: exists, no status to check"}},

		// A status whose shape breaks kstatus costs one Unknown, not a panic.
		{"pod-malformed.yaml", verdict{flotillav1.HealthUnknown, "Pod/shop/odd: cannot read status: malformed object: interface conversion: interface {} is string, not map[string]interface {}"}},
	}
	tests = append(tests, progressiveDelivery...)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			obj := load(t, tt.file)
			before := obj.DeepCopy()
			got := health.Assess(t.Context(), obj)
			if diff := cmp.Diff(tt.want, verdictOf(got)); diff != "" {
				t.Errorf("Assess (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(health.RefOf(obj), got.Object); diff != "" {
				t.Errorf("Result.Object (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before.Object, obj.Object); diff != "" {
				t.Errorf("Assess changed the object (-before +after):\n%s", diff)
			}
		})
	}
}

func TestAssessMissing(t *testing.T) {
	got := health.Assess(t.Context(), nil)
	if diff := cmp.Diff(verdict{flotillav1.HealthMissing, "object not found"}, verdictOf(got)); diff != "" {
		t.Errorf("Assess(nil) (-want +got):\n%s", diff)
	}
	ref := health.Ref{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}
	if diff := cmp.Diff(verdict{flotillav1.HealthMissing, "Deployment/shop/web: not found"}, verdictOf(health.Missing(ref))); diff != "" {
		t.Errorf("Missing (-want +got):\n%s", diff)
	}
}

// TestAssessPodReasons checks what a workload that is not healthy says of
// its pods (testdata/pods), and that the pods never change its code.
func TestAssessPodReasons(t *testing.T) {
	const rolling = "Deployment/shop/web: 0/3 replicas available"
	tests := []struct {
		name   string
		object string
		pods   []string // files in testdata/pods
		err    error
		want   verdict
	}{
		{"unschedulable", "deployment-rolling-out.yaml", []string{"web-a-unschedulable.yaml"}, nil, verdict{flotillav1.HealthProgressing,
			rolling + "; pod web-a: Unschedulable: 0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."}},
		{"a container problem says more than scheduling", "deployment-rolling-out.yaml", []string{"web-a-unschedulable.yaml", "web-b-imagepullbackoff.yaml"}, nil, verdict{flotillav1.HealthProgressing,
			rolling + `; pod web-b: ImagePullBackOff: container web: Back-off pulling image "x"`}},
		{"same rank: first by name", "deployment-rolling-out.yaml", []string{"web-c-crashloop.yaml", "web-b-imagepullbackoff.yaml"}, nil, verdict{flotillav1.HealthProgressing,
			rolling + "; pod web-b: ImagePullBackOff: container web: Back-off pulling image \"x\""}},
		{"last exit when no message", "deployment-deadline-exceeded.yaml", []string{"web-c-crashloop.yaml", "web-d-creating.yaml"}, nil, verdict{flotillav1.HealthDegraded,
			"Deployment/shop/web: 0/3 replicas available, progress deadline exceeded; pod web-c: CrashLoopBackOff: container web: last exit code 137 (OOMKilled)"}},
		{"evicted", "deployment-rolling-out.yaml", []string{"web-d-creating.yaml", "web-e-evicted.yaml"}, nil, verdict{flotillav1.HealthProgressing,
			rolling + "; pod web-e: Evicted: The node was low on resource: memory."}},
		{"pods on their way say nothing", "deployment-rolling-out.yaml", []string{"web-d-creating.yaml"}, nil, verdict{flotillav1.HealthProgressing, rolling}},
		{"a failed look-up says nothing", "deployment-rolling-out.yaml", nil, errors.New("forbidden"), verdict{flotillav1.HealthProgressing, rolling}},
		{"failed job", "job-failed.yaml", []string{"migrate-x-error.yaml"}, nil, verdict{flotillav1.HealthDegraded,
			"Job/shop/migrate: failed (BackoffLimitExceeded): Job has reached the specified backoff limit; pod migrate-x: Error: container migrate exited with code 2: table exists"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pods []corev1.Pod
			for _, file := range tt.pods {
				var p corev1.Pod
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(loadFrom(t, "pods", file).Object, &p); err != nil {
					t.Fatal(err)
				}
				pods = append(pods, p)
			}
			obj := load(t, tt.object)
			var asked []string
			lister := health.PodListerFunc(func(_ context.Context, ns string, sel labels.Selector) ([]corev1.Pod, error) {
				asked = append(asked, ns+" "+sel.String())
				return pods, tt.err
			})
			got := health.NewChecker(health.Options{Pods: lister}).Assess(t.Context(), obj)
			if diff := cmp.Diff(tt.want, verdictOf(got)); diff != "" {
				t.Errorf("Assess (-want +got):\n%s", diff)
			}
			wantAsked := []string{"shop app=web"}
			if tt.object == "job-failed.yaml" {
				wantAsked = []string{"shop batch.kubernetes.io/controller-uid=8a1c7e2e-0000-4000-8000-000000000001"}
			}
			if diff := cmp.Diff(wantAsked, asked); diff != "" {
				t.Errorf("pod look-ups, namespace and selector (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAssessLooksUpPodsOnlyWhenTheyTell: the pods of a workload are not
// listed when it is healthy, when its controller has not seen its spec yet
// (the pods are an earlier spec's, or none) or when it asks for no pods;
// they are when it rolls out.
func TestAssessLooksUpPodsOnlyWhenTheyTell(t *testing.T) {
	tests := []struct {
		name   string
		object string
		change func(u *unstructured.Unstructured)
		lookup bool
	}{
		{"healthy", "deployment-available.yaml", nil, false},
		{"rolling out", "deployment-rolling-out.yaml", nil, true},
		{"not seen by its controller", "deployment-rolling-out.yaml", func(u *unstructured.Unstructured) { u.SetGeneration(2) }, false},
		{"just created", "deployment-rolling-out.yaml", func(u *unstructured.Unstructured) { delete(u.Object, "status") }, false},
		{"scaled to zero", "deployment-rolling-out.yaml", func(u *unstructured.Unstructured) {
			if err := unstructured.SetNestedField(u.Object, int64(0), "spec", "replicas"); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"a failed job", "job-failed.yaml", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := load(t, tt.object)
			if tt.change != nil {
				tt.change(obj)
			}
			looked := false
			lister := health.PodListerFunc(func(context.Context, string, labels.Selector) ([]corev1.Pod, error) {
				looked = true
				return nil, nil
			})
			health.NewChecker(health.Options{Pods: lister}).Assess(t.Context(), obj)
			if looked != tt.lookup {
				t.Errorf("pods looked up: %v, want %v", looked, tt.lookup)
			}
		})
	}
}

func TestAssessMessageIsBounded(t *testing.T) {
	obj := load(t, "widget-not-ready.yaml")
	conds := obj.Object["status"].(map[string]any)["conditions"].([]any)
	long := make([]byte, 10_000)
	for i := range long {
		long[i] = 'x'
	}
	conds[0].(map[string]any)["message"] = "é" + string(long)
	got := health.Assess(t.Context(), obj)
	if len(got.Message) > health.MaxMessageLength {
		t.Errorf("message is %d bytes, want at most %d", len(got.Message), health.MaxMessageLength)
	}
}
