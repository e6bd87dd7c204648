package controller

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/hook"
)

// progressEvery bounds how often a step that waits rewrites its message in
// status; a new phase or wave is written at once.
const progressEvery = 5 * time.Second

// recordProgress patches status.operation while a sync in phases and waves
// runs, so that users see the phase and wave under way and what it waits
// for. A failed patch is only logged: the sync goes on, and its final
// status patch says how it ended. written is as for recordInventory.
func (r *ApplicationReconciler) recordProgress(app, written *flotillav1.Application) func(context.Context, engine.Progress) {
	var last engine.Progress
	var wroteAt time.Time
	return func(ctx context.Context, p engine.Progress) {
		moved := p.Phase != last.Phase || p.Wave != last.Wave
		if !moved && (p.Message == last.Message || time.Since(wroteAt) < progressEvery) {
			return
		}
		last, wroteAt = p, time.Now()
		op := &flotillav1.OperationState{Phase: flotillav1.OperationRunning}
		if prev := app.Status.Operation; prev != nil && prev.Phase == flotillav1.OperationRunning {
			op.StartedAt = prev.StartedAt
		}
		if op.StartedAt == nil {
			now := nowTime()
			op.StartedAt = &now
		}
		wave := int32(p.Wave)
		op.SyncPhase, op.SyncWave, op.Message = string(p.Phase), &wave, truncate(p.Message, 2048)
		app.Status.Operation = op
		if err := writeStatus(ctx, r.Client, app, written); err != nil {
			r.Log.Info("sync progress not recorded", "app", app.Namespace+"/"+app.Name, "error", err)
		}
	}
}

// retriesPhasedSync says whether this sync retries one that failed in its
// phases and waves (a hook or a wave failed): it runs the hooks again even
// though its objects are applied already, when a user asked for it
// (requested) or syncPolicy.retry allows another try.
func retriesPhasedSync(app *flotillav1.Application, requested bool) bool {
	op := app.Status.Operation
	if op == nil || op.Phase != flotillav1.OperationFailed || op.SyncPhase == "" {
		return false
	}
	if requested {
		return true
	}
	rp := app.Spec.SyncPolicy.Retry
	return rp == nil || rp.Limit <= 0 || op.RetryCount < rp.Limit
}

// unretriedFailure is the failure of the last sync in phases and waves when
// it is not retried (syncPolicy.retry is exhausted, and no sync was asked
// for): the Application stays failed, with the same reason and message,
// until a change or a requested sync runs its hooks again.
func unretriedFailure(app *flotillav1.Application, requested bool) *engine.Failure {
	op := app.Status.Operation
	if op == nil || op.Phase != flotillav1.OperationFailed || op.SyncPhase == "" || retriesPhasedSync(app, requested) {
		return nil
	}
	reason := flotillav1.ReasonHookFailed
	if c := meta.FindStatusCondition(app.Status.Conditions, flotillav1.ConditionReady); c != nil && c.Status == metav1.ConditionFalse {
		reason = c.Reason
	}
	f := &engine.Failure{Reason: reason, Message: op.Message, Phase: hook.Phase(op.SyncPhase)}
	if op.SyncWave != nil {
		f.Wave = int(*op.SyncWave)
	}
	return f
}
