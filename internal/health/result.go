package health

import (
	"cmp"
	"fmt"
	"slices"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// MaxMessageLength bounds a Result's message, in bytes. Messages quote
// conditions and pods, whose texts have no limit of their own, and end up in
// an Application's status.
const MaxMessageLength = 512

// Ref names one object. Its String form, "Kind/namespace/name" or
// "Kind/name" for a cluster-scoped object, starts every message.
type Ref struct {
	Group     string
	Kind      string
	Namespace string
	Name      string
}

// RefOf returns the Ref of obj; the zero Ref for nil.
func RefOf(obj *unstructured.Unstructured) Ref {
	if obj == nil {
		return Ref{}
	}
	gvk := obj.GroupVersionKind()
	return Ref{Group: gvk.Group, Kind: gvk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
}

// GroupKind returns r's group and kind.
func (r Ref) GroupKind() schema.GroupKind { return schema.GroupKind{Group: r.Group, Kind: r.Kind} }

func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

func compareRefs(a, b Ref) int {
	return cmp.Or(
		cmp.Compare(a.Group, b.Group),
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Name, b.Name),
	)
}

// Result is the health of one object.
type Result struct {
	Object Ref
	// Status is one of the six codes of flotillav1.HealthStatusCode.
	Status flotillav1.HealthStatusCode
	// Message names the object and says why, for example
	// "Deployment/shop/web: 0/3 replicas available". At most
	// MaxMessageLength bytes.
	Message string
}

// newResult builds a Result whose message is "<object>: <why>", cut to
// MaxMessageLength.
func newResult(ref Ref, code flotillav1.HealthStatusCode, why string) Result {
	msg := ref.String()
	if why != "" {
		msg += ": " + why
	}
	return Result{Object: ref, Status: code, Message: truncate(msg, MaxMessageLength)}
}

// Missing is the Result for an object that should exist and does not (it
// was deleted, or never created). The caller knows which object it expected;
// Assess of a nil object cannot.
func Missing(ref Ref) Result {
	return newResult(ref, flotillav1.HealthMissing, "not found")
}

// severity orders the vocabulary from best to worst. The order, worst first:
//
//   - Degraded: something is broken and will not mend by waiting; a person
//     or a rollback must act. It hides everything else.
//   - Missing: an object the Application declares is not there, so the
//     cluster is not what Git says, whatever the rest looks like.
//   - Progressing: on its way; it becomes one of the others by waiting.
//     Worse than Suspended because it is the state a health gate waits out.
//   - Suspended: a person paused it on purpose; not broken, not moving.
//   - Unknown: no evidence either way (a check that could not be evaluated,
//     a status we cannot read). Any definite signal above says more, so it
//     wins; yet Unknown is never taken for Healthy.
//   - Healthy.
//
// A code outside the vocabulary counts as Unknown.
var severity = map[flotillav1.HealthStatusCode]int{
	flotillav1.HealthHealthy:     0,
	flotillav1.HealthUnknown:     1,
	flotillav1.HealthSuspended:   2,
	flotillav1.HealthProgressing: 3,
	flotillav1.HealthMissing:     4,
	flotillav1.HealthDegraded:    5,
}

func rank(code flotillav1.HealthStatusCode) int {
	if r, ok := severity[code]; ok {
		return r
	}
	return severity[flotillav1.HealthUnknown]
}

// Worse reports whether a is worse than b in Rollup's order
// (Degraded > Missing > Progressing > Suspended > Unknown > Healthy).
func Worse(a, b flotillav1.HealthStatusCode) bool { return rank(a) > rank(b) }

// Rollup is the health of an Application made of results: the worst code,
// and the message of the worst object, with how many others share its code.
// Among equally bad objects the first by group, kind, namespace and name
// speaks, so the answer does not depend on the order of results. A code
// outside the vocabulary counts as Unknown. No results, or only healthy
// ones, give Healthy and an empty message.
func Rollup(results []Result) (flotillav1.HealthStatusCode, string) {
	if len(results) == 0 {
		return flotillav1.HealthHealthy, ""
	}
	worst := slices.MinFunc(results, func(a, b Result) int {
		return cmp.Or(cmp.Compare(rank(b.Status), rank(a.Status)), compareRefs(a.Object, b.Object))
	})
	code := normalize(worst.Status)
	if code == flotillav1.HealthHealthy {
		return code, ""
	}
	others := 0
	for _, r := range results {
		if rank(r.Status) == rank(worst.Status) {
			others++
		}
	}
	others-- // the worst itself
	msg := worst.Message
	if msg == "" {
		msg = worst.Object.String()
	}
	if others > 0 {
		suffix := fmt.Sprintf(" (and %d more %s)", others, code)
		msg = truncate(msg, MaxMessageLength-len(suffix)) + suffix
	}
	return code, msg
}

func normalize(code flotillav1.HealthStatusCode) flotillav1.HealthStatusCode {
	if _, ok := severity[code]; ok {
		return code
	}
	return flotillav1.HealthUnknown
}

// truncate cuts s to at most n bytes, on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
