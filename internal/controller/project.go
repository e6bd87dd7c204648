package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/project"
)

// projectOf reads the Application's Project. A missing "default" is the
// built-in default (nil); any other missing Project stops the sync.
func (r *ApplicationReconciler) projectOf(ctx context.Context, app *flotillav1.Application) (*flotillav1.Project, error) {
	return readProject(ctx, r.Client, app.Namespace, app.Spec.Project)
}

// readProject reads the Project name ("default" when empty) of namespace.
func readProject(ctx context.Context, c client.Reader, namespace, name string) (*flotillav1.Project, error) {
	if name == "" {
		name = flotillav1.DefaultProject
	}
	var p flotillav1.Project
	err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &p)
	switch {
	case err == nil:
		return &p, nil
	case apierrors.IsNotFound(err) && name == flotillav1.DefaultProject:
		return nil, nil
	case apierrors.IsNotFound(err):
		return nil, &engine.Error{Reason: flotillav1.ReasonProjectViolation, Stalled: true,
			Err: fmt.Errorf("project %s does not exist", name)}
	default:
		return nil, err
	}
}

// compileProject compiles p (nil: the built-in default) with opts, whose
// OwnNamespace is the namespace the controller runs in. A broken Project is
// a ProjectViolation that only a change to it can fix.
func compileProject(p *flotillav1.Project, opts project.Options) (*project.Policy, error) {
	pol, err := project.CompileWith(p, opts)
	if err != nil {
		return nil, projectViolation(err)
	}
	return pol, nil
}

// projectViolation makes err, a violation of a Project's rule, the error of
// a sync or a Fleet: reason ProjectViolation, stalled until the
// Application, the Fleet or the Project changes.
func projectViolation(err error) error {
	return &engine.Error{Reason: flotillav1.ReasonProjectViolation, Stalled: true, Err: err}
}
