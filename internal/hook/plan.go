package hook

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Hook is one hook object and when it runs.
type Hook struct {
	Object *unstructured.Unstructured
	Spec   Spec
}

// Step is one wave of one phase: the ordinary objects applied in it (Sync
// phase only) and the hooks created in it.
type Step struct {
	Phase   Phase
	Wave    int
	Objects []*unstructured.Unstructured
	Hooks   []Hook
}

// Plan is a render's objects in the order a sync handles them.
type Plan struct {
	// Objects are the ordinary objects, in the render's order: what the
	// Application owns, compares and prunes.
	Objects []*unstructured.Unstructured
	// Steps are the waves of PreSync, Sync and PostSync, in order.
	Steps []Step
	// SyncFail are the waves of SyncFail hooks, in order.
	SyncFail []Step
}

// Phased says whether the sync needs more than one apply: it has hooks or
// ordinary objects in more than one wave. A sync that is not phased applies
// its objects at once, as it always did.
func (p Plan) Phased() bool {
	return len(p.Steps) > 1 || len(p.SyncFail) > 0 || len(p.Steps) == 1 && len(p.Steps[0].Hooks) > 0
}

// Hooks returns every hook of the plan, SyncFail ones last.
func (p Plan) Hooks() []Hook {
	var out []Hook
	for _, s := range append(slices.Clone(p.Steps), p.SyncFail...) {
		out = append(out, s.Hooks...)
	}
	return out
}

// Split reads the Spec of every object and orders them into a Plan. Objects
// to skip are left out. Every unreadable annotation is reported at once,
// each naming its object.
func Split(objs []*unstructured.Unstructured) (Plan, error) {
	var plan Plan
	steps := map[stepKey]*Step{}
	var errs []error
	for _, u := range objs {
		spec, err := Of(u)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", Name(u), err))
			continue
		}
		if spec.Skip {
			continue
		}
		k := stepKey{spec.Phase, spec.Wave}
		st := steps[k]
		if st == nil {
			st = &Step{Phase: spec.Phase, Wave: spec.Wave}
			steps[k] = st
		}
		if spec.Hook {
			st.Hooks = append(st.Hooks, Hook{Object: u, Spec: spec})
			continue
		}
		st.Objects = append(st.Objects, u)
		plan.Objects = append(plan.Objects, u)
	}
	if len(errs) > 0 {
		return Plan{}, errors.Join(errs...)
	}
	for _, st := range steps {
		if st.Phase == SyncFail {
			plan.SyncFail = append(plan.SyncFail, *st)
		} else {
			plan.Steps = append(plan.Steps, *st)
		}
	}
	slices.SortFunc(plan.Steps, compareSteps)
	slices.SortFunc(plan.SyncFail, compareSteps)
	return plan, nil
}

type stepKey struct {
	phase Phase
	wave  int
}

func phaseRank(p Phase) int {
	if i := slices.Index(Phases, p); i >= 0 {
		return i
	}
	return len(Phases)
}

func compareSteps(a, b Step) int {
	return cmp.Or(cmp.Compare(phaseRank(a.Phase), phaseRank(b.Phase)), cmp.Compare(a.Wave, b.Wave))
}

// Name is how messages name an object before it has a name of its own:
// "Job/shop/migrate-" for one with generateName "migrate-".
func Name(u *unstructured.Unstructured) string {
	name := u.GetName()
	if name == "" {
		name = u.GetGenerateName()
	}
	if ns := u.GetNamespace(); ns != "" {
		return u.GetKind() + "/" + ns + "/" + name
	}
	return u.GetKind() + "/" + name
}
