package controller

import (
	"context"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/engine"
)

// projectOf reads the Application's Project. A missing "default" is the
// built-in default (nil); any other missing Project stops the sync.
func (r *ApplicationReconciler) projectOf(ctx context.Context, app *flotillav1.Application) (*flotillav1.Project, error) {
	return engine.ReadProject(ctx, r.Client, app.Namespace, app.Spec.Project)
}

// projectViolation makes err, a violation of a Project's rule, the error of
// a sync or a Fleet: reason ProjectViolation, stalled until the
// Application, the Fleet or the Project changes.
func projectViolation(err error) error {
	return &engine.Error{Reason: flotillav1.ReasonProjectViolation, Stalled: true, Err: err}
}
