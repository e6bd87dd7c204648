package controller

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/engine"
)

// takeRemovalToken reports whether the Fleet carries a confirm-removal
// annotation it has not seen yet, and marks it seen: a confirmation lets
// through the removal pending at the reconcile that first sees it, and no
// later one.
func takeRemovalToken(f *flotillav1.Fleet) bool {
	tok := f.Annotations[flotillav1.ConfirmRemovalAnnotation]
	if tok == "" || tok == f.Status.LastHandledRemoval {
		return false
	}
	f.Status.LastHandledRemoval = tok
	return true
}

// checkRemoval refuses to remove, in one step, more of the Fleet's total
// generated Applications than spec.rollout.maxRemoval allows; by default
// all of them, or more than half of four or more. A selector that suddenly
// picks nothing (a typo, a lost label) is then a condition, not an outage.
func checkRemoval(f *flotillav1.Fleet, remove []string, total int, confirmed bool) error {
	n := len(remove)
	if n == 0 || confirmed || f.Spec.Rollout != nil && f.Spec.Rollout.AllowMassRemoval {
		return nil
	}
	over, limit, err := overRemovalLimit(f, n, total)
	if err != nil || !over {
		return err
	}
	slices.Sort(remove)
	shown := remove[:min(len(remove), 5)]
	names := strings.Join(shown, ", ")
	if len(remove) > len(shown) {
		names += fmt.Sprintf(" and %d more", len(remove)-len(shown))
	}
	return &engine.Error{Reason: flotillav1.ReasonMassRemovalRefused, Stalled: true, Err: fmt.Errorf(
		"the selector would remove %d of the Fleet's %d Applications at once (%s), over %s; nothing is removed until spec.rollout.allowMassRemoval is set, or annotation %s is set to a new value, which confirms this removal once",
		n, total, names, limit, flotillav1.ConfirmRemovalAnnotation)}
}

// overRemovalLimit says whether removing n of total is over the Fleet's
// limit, and names the limit.
func overRemovalLimit(f *flotillav1.Fleet, n, total int) (bool, string, error) {
	if f.Spec.Rollout != nil && f.Spec.Rollout.MaxRemoval != nil {
		maxRemoval := f.Spec.Rollout.MaxRemoval
		allowed, err := intstr.GetScaledValueFromIntOrPercent(maxRemoval, total, false)
		if err != nil {
			return false, "", &engine.Error{Reason: flotillav1.ReasonInvalidSpec, Stalled: true,
				Err: fmt.Errorf("spec.rollout.maxRemoval: %w", err)}
		}
		return n > allowed, "spec.rollout.maxRemoval " + maxRemoval.String(), nil
	}
	if n == total {
		return true, "the default limit (never all of them at once)", nil
	}
	return total >= 4 && 2*n > total, "the default limit (at most half of them at once)", nil
}
