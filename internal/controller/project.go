package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/engine"
)

// projectOf reads the Application's Project. A missing "default" is the
// built-in default (nil); any other missing Project stops the sync.
func (r *ApplicationReconciler) projectOf(ctx context.Context, app *flotillav1.Application) (*flotillav1.Project, error) {
	name := app.Spec.Project
	if name == "" {
		name = flotillav1.DefaultProject
	}
	var p flotillav1.Project
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: name}, &p)
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
