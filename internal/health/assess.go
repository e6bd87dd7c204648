package health

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// Options configure a Checker.
type Options struct {
	// Checks decide the health of the kinds they name, in place of the
	// built-in rules. Nil means none.
	Checks *Checks
	// Pods, when set, is asked for the pods of a workload that is not
	// healthy, so that its message can say what they report
	// (ImagePullBackOff, CrashLoopBackOff, Unschedulable…). Nil means no
	// look-ups; the codes are the same either way.
	Pods PodLister
	// PodTimeout bounds one look-up of pods. Zero means the default.
	PodTimeout time.Duration
}

// DefaultOptions returns no custom checks, no pod look-ups, and a pod
// look-up time limit of 5s for when Pods is set.
func DefaultOptions() Options {
	return Options{PodTimeout: 5 * time.Second}
}

// Checker assesses the health of live objects. It is safe for concurrent
// use; it holds no state between calls.
type Checker struct {
	opts Options
}

// NewChecker returns a Checker with opts, zero fields taking their defaults.
func NewChecker(opts Options) *Checker {
	if opts.PodTimeout <= 0 {
		opts.PodTimeout = DefaultOptions().PodTimeout
	}
	return &Checker{opts: opts}
}

// Assess is the health of one live object by the built-in rules alone: no
// custom checks, no pod look-ups. See Checker.Assess.
func Assess(ctx context.Context, obj *unstructured.Unstructured) Result {
	return NewChecker(DefaultOptions()).Assess(ctx, obj)
}

// Assess returns the health of obj, the live object as read from its
// cluster (as a dynamic client decodes it: integers are int64); nil means
// it does not exist (Missing). It never fails: what it
// cannot decide is Unknown, with the reason in the message. ctx bounds the
// custom check's evaluation and the pod look-up.
func (c *Checker) Assess(ctx context.Context, obj *unstructured.Unstructured) Result {
	if obj == nil {
		return Result{Status: flotillav1.HealthMissing, Message: "object not found"}
	}
	ref := RefOf(obj)
	if res, ok := c.opts.Checks.evaluate(ctx, ref, obj); ok {
		return res
	}
	v := builtin(ref, obj)
	if v.code != flotillav1.HealthHealthy && c.opts.Pods != nil {
		if problem := c.podProblem(ctx, ref, obj); problem != "" {
			v.why = joinWhy(v.why, problem)
		}
	}
	return newResult(ref, v.code, v.why)
}

// verdict is a code and why, before the object's name is put in front.
type verdict struct {
	code flotillav1.HealthStatusCode
	why  string
}

func joinWhy(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// builtin decides obj's health without custom checks: Flotilla's own rules
// first (deletion, suspension, load balancers, claims), then kstatus, then a
// message of our own for the kinds whose numbers say more than kstatus'
// words.
func builtin(ref Ref, obj *unstructured.Unstructured) verdict {
	if obj.GetDeletionTimestamp() != nil {
		return verdict{flotillav1.HealthProgressing, "being deleted"}
	}
	if rule, ok := rules[ref.GroupKind()]; ok {
		if v, decided := rule(obj); decided {
			return v
		}
	}
	ks, err := compute(obj)
	if err != nil {
		return verdict{flotillav1.HealthUnknown, "cannot read status: " + err.Error()}
	}
	code := fromKstatus(ks.Status)
	return verdict{code, describe(ref, obj, code, ks)}
}

// compute is kstatus' Compute, made safe against objects whose fields have
// unexpected types: some of its rules assert types without checking, and a
// malformed object must make one Unknown result, not a crashed controller.
func compute(obj *unstructured.Unstructured) (res *status.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("malformed object: %v", r)
		}
	}()
	return status.Compute(obj)
}

// fromKstatus maps kstatus' statuses onto Flotilla's vocabulary.
func fromKstatus(s status.Status) flotillav1.HealthStatusCode {
	switch s {
	case status.CurrentStatus:
		return flotillav1.HealthHealthy
	case status.InProgressStatus, status.TerminatingStatus:
		return flotillav1.HealthProgressing
	case status.FailedStatus:
		return flotillav1.HealthDegraded
	case status.NotFoundStatus:
		return flotillav1.HealthMissing
	default:
		return flotillav1.HealthUnknown
	}
}

// describe says why obj has code, from kstatus' result unless one of
// Flotilla's descriptions knows the kind better.
func describe(ref Ref, obj *unstructured.Unstructured, code flotillav1.HealthStatusCode, ks *status.Result) string {
	if d, ok := descriptions[ref.GroupKind()]; ok {
		if why := d(obj, code, ks); why != "" {
			return why
		}
	}
	if code == flotillav1.HealthHealthy && !hasField(obj, "status") {
		return "exists, no status to check"
	}
	return kstatusWhy(ks)
}

// kstatusWhy is kstatus' message, after the reason of the condition it
// decided by (Reconciling, Stalled, Ready) when there is one.
func kstatusWhy(ks *status.Result) string {
	reason := ""
	for _, c := range ks.Conditions {
		if c.Reason != "" {
			reason = c.Reason
			break
		}
	}
	switch {
	case reason == "" || strings.Contains(ks.Message, reason):
		return ks.Message
	case ks.Message == "":
		return reason
	default:
		return reason + ": " + ks.Message
	}
}

func hasField(obj *unstructured.Unstructured, fields ...string) bool {
	_, found, _ := unstructured.NestedFieldNoCopy(obj.Object, fields...)
	return found
}
