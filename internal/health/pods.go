package health

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
)

// MaxPods is how many pods PodsFromClient reads for one workload. The
// message needs one telling pod, not all of them.
const MaxPods = 100

// PodLister gives the pods of a namespace that match a selector. A Checker
// asks it for the pods of a workload that is not healthy, to say in the
// message what they report. Errors are not reported: the message then says
// less, the code is the same.
type PodLister interface {
	ListPods(ctx context.Context, namespace string, selector labels.Selector) ([]corev1.Pod, error)
}

// PodListerFunc is a function that is a PodLister.
type PodListerFunc func(ctx context.Context, namespace string, selector labels.Selector) ([]corev1.Pod, error)

// ListPods calls f.
func (f PodListerFunc) ListPods(ctx context.Context, namespace string, selector labels.Selector) ([]corev1.Pod, error) {
	return f(ctx, namespace, selector)
}

// PodsFromClient lists pods with cs, at most MaxPods per call. Pods carry no
// tracking label, so a Checker that uses it reads them live, and only for
// workloads that are not healthy.
func PodsFromClient(cs kubernetes.Interface) PodLister {
	return PodListerFunc(func(ctx context.Context, namespace string, selector labels.Selector) ([]corev1.Pod, error) {
		list, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{
			LabelSelector: selector.String(),
			Limit:         MaxPods,
		})
		if err != nil {
			return nil, err
		}
		return list.Items, nil
	})
}

// workloads are the kinds whose pods are found by spec.selector.
var workloads = map[schema.GroupKind]bool{
	deploymentGK:  true,
	statefulSetGK: true,
	daemonSetGK:   true,
	replicaSetGK:  true,
	jobGK:         true,
}

// podProblem returns what the most telling pod of the workload obj reports,
// as "pod NAME: Reason: message", or "" when there is nothing to say.
func (c *Checker) podProblem(ctx context.Context, ref Ref, obj *unstructured.Unstructured) string {
	if !workloads[ref.GroupKind()] || ref.Namespace == "" {
		return ""
	}
	if !podsTell(ref, obj) {
		return ""
	}
	sel, ok := selectorOf(obj)
	if !ok {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.PodTimeout)
	defer cancel()
	pods, err := c.opts.Pods.ListPods(ctx, ref.Namespace, sel)
	if err != nil {
		return ""
	}
	if pr, ok := worstProblem(pods); ok {
		return pr.String()
	}
	return ""
}

// podsTell says whether the pods of a workload can say why it is not
// healthy: not while its controller has not seen its spec yet (its pods
// are those of an earlier one, or none), nor when it asks for no pods
// (issue 13: each of a thousand new Deployments at 0 replicas had its pods
// listed, at each health refresh, before its controller had looked at it).
func podsTell(ref Ref, obj *unstructured.Unstructured) bool {
	if replicas, found, _ := unstructured.NestedInt64(obj.Object, "spec", "replicas"); found && replicas == 0 {
		return false
	}
	if ref.GroupKind() == jobGK {
		return true // a Job's status has no observedGeneration
	}
	observed, _, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
	return observed >= obj.GetGeneration()
}

// selectorOf returns the workload's spec.selector; false when it has none or
// it selects everything, which never finds a workload's own pods.
func selectorOf(obj *unstructured.Unstructured) (labels.Selector, bool) {
	raw, found, err := unstructured.NestedMap(obj.Object, "spec", "selector")
	if !found || err != nil {
		return nil, false
	}
	var ls metav1.LabelSelector
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &ls); err != nil {
		return nil, false
	}
	sel, err := metav1.LabelSelectorAsSelector(&ls)
	if err != nil || sel.Empty() {
		return nil, false
	}
	return sel, true
}

// problem is what one pod reports.
type problem struct {
	pod    string
	reason string
	detail string
	// rank orders problems: the lowest is the most telling.
	rank int
}

const (
	rankContainer   = iota // a container cannot start or keeps failing
	rankUnscheduled        // the pod has no node
	rankFailed             // the whole pod failed (evicted, deadline)
	rankNotReady           // running, not ready
)

// String is "pod NAME: Reason: detail".
func (p problem) String() string { return "pod " + p.pod + ": " + p.what() }

// what is "Reason: detail", for a Pod's own message.
func (p problem) what() string {
	if p.detail == "" {
		return p.reason
	}
	return p.reason + ": " + p.detail
}

// worstProblem returns the most telling problem among pods: by rank, then
// by pod name, so that the same pods give the same message.
func worstProblem(pods []corev1.Pod) (problem, bool) {
	var found []problem
	for i := range pods {
		if pr, ok := problemOf(&pods[i]); ok {
			found = append(found, pr)
		}
	}
	if len(found) == 0 {
		return problem{}, false
	}
	return slices.MinFunc(found, func(a, b problem) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.pod, b.pod))
	}), true
}

// benignWaiting are the waiting reasons of containers on their normal way up.
var benignWaiting = map[string]bool{"": true, "ContainerCreating": true, "PodInitializing": true}

// problemOf returns what is wrong with p, if anything.
func problemOf(p *corev1.Pod) (problem, bool) {
	if p.Status.Phase == corev1.PodSucceeded || p.DeletionTimestamp != nil {
		return problem{}, false
	}
	statuses := append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...)
	for _, cs := range statuses {
		if pr, ok := containerProblem(cs); ok {
			pr.pod = p.Name
			return pr, true
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return problem{pod: p.Name, reason: cmp.Or(c.Reason, "Unscheduled"), detail: c.Message, rank: rankUnscheduled}, true
		}
	}
	if p.Status.Phase == corev1.PodFailed {
		return problem{pod: p.Name, reason: cmp.Or(p.Status.Reason, "Failed"), detail: p.Status.Message, rank: rankFailed}, true
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionFalse && p.Status.Phase == corev1.PodRunning {
			return problem{pod: p.Name, reason: "NotReady", detail: c.Message, rank: rankNotReady}, true
		}
	}
	return problem{}, false
}

func containerProblem(cs corev1.ContainerStatus) (problem, bool) {
	if w := cs.State.Waiting; w != nil && !benignWaiting[w.Reason] {
		detail := "container " + cs.Name
		if w.Message != "" {
			detail += ": " + w.Message
		} else if t := cs.LastTerminationState.Terminated; t != nil {
			detail += fmt.Sprintf(": last exit code %d", t.ExitCode)
			if t.Reason != "" {
				detail += " (" + t.Reason + ")"
			}
		}
		return problem{reason: w.Reason, detail: detail, rank: rankContainer}, true
	}
	if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
		detail := fmt.Sprintf("container %s exited with code %d", cs.Name, t.ExitCode)
		if t.Message != "" {
			detail += ": " + t.Message
		}
		return problem{reason: cmp.Or(t.Reason, "Error"), detail: detail, rank: rankContainer}, true
	}
	return problem{}, false
}

// toPod converts a live Pod object.
func toPod(obj *unstructured.Unstructured) (*corev1.Pod, error) {
	var p corev1.Pod
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &p); err != nil {
		return nil, err
	}
	return &p, nil
}
