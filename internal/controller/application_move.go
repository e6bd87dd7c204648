package controller

import (
	"context"
	"fmt"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/engine"
)

// move, when spec.destination.cluster left the cluster the inventory lives
// in, deletes or releases (spec.deletionPolicy) the objects there before
// anything is applied in the new cluster, and records the move at once:
// the inventory is emptied and status.cluster names the new cluster. The
// old cluster is never forgotten: while it cannot be reached the move
// waits, with a condition, unless the operator abandons its objects.
func (r *ApplicationReconciler) move(ctx context.Context, app, base *flotillav1.Application, proj *flotillav1.Project) error {
	from, to := app.Status.Cluster, destinationName(app)
	if from == "" || from == to {
		return nil
	}
	policy := app.Spec.EffectiveDeletionPolicy()
	out, err := r.release(ctx, app, proj, from, policy)
	if err != nil {
		return &engine.Error{Reason: engine.ReasonOf(err, flotillav1.ReasonMoving), Err: fmt.Errorf(
			"moving from cluster %s to %s: %w; nothing is applied in %s until this succeeds, or annotate the Application %s=true to leave the objects in %s as they are",
			from, to, err, to, flotillav1.AbandonDeletionAnnotation, from)}
	}
	r.releaseEvent(app, policy, out, flotillav1.ReasonMoving, "Move")
	app.Status.Resources = nil
	app.Status.Cluster = to
	if err := patchStatus(ctx, r.Client, app, base); err != nil {
		return fmt.Errorf("%w: %w", errStaleCopy, err)
	}
	*base = *app.DeepCopy()
	return nil
}
