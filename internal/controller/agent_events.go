package controller

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/notify"
)

// agentReports is the handler of the hub's Application updates that tells
// the Notifications what an agent reported: the hub does not sync the
// Applications of a Cluster in agent mode, so the transitions between two
// statuses its agent wrote are the only news of them, and they are told as
// the hub's own syncs are (SyncFailed, SyncSucceeded, HealthDegraded,
// DriftDetected). It never queues a reconcile. With shards, the replica
// that holds the cluster tells.
func (r *ApplicationReconciler) agentReports() handler.TypedEventHandler[client.Object, reconcile.Request] {
	return handler.Funcs{
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			before, okBefore := e.ObjectOld.(*flotillav1.Application)
			app, ok := e.ObjectNew.(*flotillav1.Application)
			if !ok || !okBefore {
				return
			}
			// The transitions first: most updates tell none, and need no
			// read of the Cluster.
			events := agentTransitions(&before.Status, app)
			if len(events) == 0 || !agentDestination(ctx, r.Client, app) {
				return
			}
			_, done, owned := r.Shard.Hold(ctx, destinationName(app))
			defer done()
			if owned {
				emit(ctx, r.Notify, events)
			}
		},
	}
}

// agentTransitions are the events between the status before and app's.
func agentTransitions(before *flotillav1.ApplicationStatus, app *flotillav1.Application) []notify.Event {
	st := &app.Status
	base := eventOf(app)
	var out []notify.Event
	add := func(name, object, message string) {
		ev := base
		ev.Name, ev.Object, ev.Message = name, object, message
		out = append(out, ev)
	}
	// Waiting for another Application is no failure: the hub's own syncs
	// tell none either (applicationEvents), and the wait's message changes
	// with each dependency's status.
	if op := st.Operation; op != nil && op.Phase == flotillav1.OperationFailed && newFailure(before.Operation, op) &&
		!waitsForDependency(st) {
		add(flotillav1.EventSyncFailed, "", limitNote(op.Message))
	}
	if n, m := len(st.History), len(before.History); n > 0 && (m == 0 || st.History[n-1].ID > before.History[m-1].ID) {
		add(flotillav1.EventSyncSucceeded, "", limitNote("synced revision "+engine.ShortSHA(st.History[n-1].Revision)+" by the cluster's agent"))
	}
	if before.Health.Status != flotillav1.HealthDegraded && st.Health.Status == flotillav1.HealthDegraded {
		object, msg := degradedObject(st)
		add(flotillav1.EventHealthDegraded, object, msg)
	}
	// Only drift seen: a correction by selfHeal is known from the sync's
	// result, which the agent does not report.
	if drift(before, app, plan{}, nil, false) {
		add(flotillav1.EventDriftDetected, "", "the cluster differs from revision "+engine.ShortSHA(st.Sync.Revision))
	}
	return out
}

// waitsForDependency says whether the agent's last sync waits for another
// Application: its copy's Ready condition tells why it failed, as the
// hub's error does for its own syncs.
func waitsForDependency(st *flotillav1.ApplicationStatus) bool {
	ready := meta.FindStatusCondition(st.Conditions, flotillav1.ConditionReady)
	return ready != nil && ready.Reason == flotillav1.ReasonDependencyNotReady
}
