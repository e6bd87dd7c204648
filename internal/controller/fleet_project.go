package controller

import (
	"context"
	"fmt"
	"slices"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/project"
)

// admit checks the sources of the Applications a Fleet would generate
// against the Fleet's Project, before the rollout resolves any of them: a
// Fleet sends no request, and no credentials, to a repository its Project
// does not allow. A refusal stops the Fleet with reason ProjectViolation;
// its Applications stay as they are.
func (r *FleetReconciler) admit(ctx context.Context, f *flotillav1.Fleet, desired map[string]*flotillav1.Application) (*project.Policy, error) {
	proj, err := engine.ReadProject(ctx, r.Client, f.Namespace, f.Spec.Project)
	if err != nil {
		return nil, err
	}
	policy, err := engine.CompileProject(proj, r.Projects)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(desired))
	for name := range desired {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := policy.CheckSource(desired[name].Spec.Source.RepoURL); err != nil {
			return nil, projectViolation(fmt.Errorf("generated Application %s: %w", name, err))
		}
	}
	return policy, nil
}
