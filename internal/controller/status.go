package controller

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/apply"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/inventory"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// historyLimit is how many successful syncs status.history keeps.
const historyLimit = 10

func nowTime() metav1.Time { return metav1.NewTime(time.Now().Truncate(time.Second)) }

// setStatus writes what this reconcile found and did into app.Status.
func setStatus(app *flotillav1.Application, p plan, res *engine.Result, err error, started time.Time) {
	st := &app.Status
	if p.syncToken != "" {
		st.LastHandledSync = p.syncToken
	}
	if p.refreshToken != "" {
		st.LastHandledRefresh = p.refreshToken
	}
	if p.pruneToken != "" {
		st.LastHandledPrune = p.pruneToken
	}
	if res != nil && res.Planned {
		st.Cluster = res.Cluster
	}
	st.Pin = p.pin
	if res != nil && res.Revision != "" {
		st.Sync.Revision = res.Revision
	}
	if res != nil && res.Planned {
		st.Resources = resourceStatus(res)
		if res.Resources != nil {
			st.Health = flotillav1.HealthStatus{Status: res.Health.Status, Message: res.Health.Message}
		}
	}
	switch {
	case err == nil && res.InSync:
		st.Sync.Status = flotillav1.SyncStatusSynced
	case err == nil || res != nil && res.Changes != nil:
		st.Sync.Status = flotillav1.SyncStatusOutOfSync
	default:
		st.Sync.Status = flotillav1.SyncStatusUnknown
	}
	setOperation(app, p, res, err, started)
	setConditions(app, res, err)
	if err == nil {
		st.ObservedGeneration = app.Generation
		if res.Applied {
			addHistory(st, res.Revision, p.commit)
		}
	}
}

// setOperation records a sync that wrote, failed, was asked for, or ends one
// left Running; a resync that changed nothing leaves the last one in place.
func setOperation(app *flotillav1.Application, p plan, res *engine.Result, err error, started time.Time) {
	prev := p.lastOp
	wrote := res != nil && res.Changes != nil && res.Changes.HasChanges()
	tried := p.write == engine.WriteAlways || res != nil && res.Applied || err != nil && p.write == engine.WriteNewRevision
	if !tried || (err == nil && !wrote && p.syncToken == "" && prev != nil && prev.Phase == flotillav1.OperationSucceeded) {
		return
	}
	start := metav1.NewTime(started.Truncate(time.Second))
	finish := nowTime()
	op := &flotillav1.OperationState{Phase: flotillav1.OperationSucceeded, StartedAt: &start, FinishedAt: &finish}
	if res != nil {
		op.Revision = res.Revision
		if res.Changes != nil {
			op.Message = truncate(res.Changes.String(), 2048)
		}
		if res.Phase != "" {
			wave := int32(res.Wave)
			op.SyncPhase, op.SyncWave = string(res.Phase), &wave
		}
	}
	if err != nil {
		op.Phase = flotillav1.OperationFailed
		op.Message = truncate(err.Error(), 2048)
		if prev != nil && prev.Phase == flotillav1.OperationFailed {
			op.RetryCount = prev.RetryCount + 1
		}
	}
	app.Status.Operation = op
}

func setConditions(app *flotillav1.Application, res *engine.Result, err error) {
	gen := app.Generation
	conds := &app.Status.Conditions
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: flotillav1.ConditionReconciling, Status: metav1.ConditionFalse,
		Reason: flotillav1.ReasonSucceeded, ObservedGeneration: gen,
	})
	if err != nil {
		reason := engine.ReasonOf(err, flotillav1.ReasonApplyFailed)
		msg := truncate(err.Error(), 4096)
		meta.SetStatusCondition(conds, metav1.Condition{
			Type: flotillav1.ConditionReady, Status: metav1.ConditionFalse,
			Reason: reason, Message: msg, ObservedGeneration: gen,
		})
		stalled := metav1.ConditionFalse
		if engine.IsStalled(err) {
			stalled = metav1.ConditionTrue
		}
		meta.SetStatusCondition(conds, metav1.Condition{
			Type: flotillav1.ConditionStalled, Status: stalled,
			Reason: reason, Message: msg, ObservedGeneration: gen,
		})
		return
	}
	meta.RemoveStatusCondition(conds, flotillav1.ConditionStalled)
	ready := metav1.Condition{
		Type: flotillav1.ConditionReady, Status: metav1.ConditionTrue,
		Reason: flotillav1.ReasonSucceeded, ObservedGeneration: gen,
		Message: "revision " + engine.ShortSHA(res.Revision) + " is applied",
	}
	if !res.InSync {
		ready.Status, ready.Reason = metav1.ConditionFalse, flotillav1.ReasonOutOfSync
		ready.Message = "revision " + engine.ShortSHA(res.Revision) + " differs from the cluster: " + truncate(outOfSyncSummary(res), 2048)
	}
	meta.SetStatusCondition(conds, ready)
}

func outOfSyncSummary(res *engine.Result) string {
	s := ""
	if res.Changes != nil && res.Changes.HasChanges() {
		s = res.Changes.String()
	}
	if n := res.Stale.Len(); n > 0 {
		if s != "" {
			s += "; "
		}
		s += "objects to prune: " + res.Stale.String()
	}
	return s
}

// resourceStatus is the inventory, each object marked OutOfSync when it
// waits to be pruned, is held by someone else, or (without an apply) would
// still change.
func resourceStatus(res *engine.Result) []flotillav1.ResourceStatus {
	out := inventory.ToResourceStatus(res.Inventory)
	for i := range out {
		key := inventory.KeyOf(out[i])
		out[i].Sync = flotillav1.SyncStatusSynced
		if h, ok := res.Resources[key]; ok {
			out[i].Health = h.Status
			if h.Status != flotillav1.HealthHealthy {
				out[i].Message = h.Message
			}
		}
		if res.Stale.Has(key) {
			out[i].Sync, out[i].Message = flotillav1.SyncStatusOutOfSync, "no longer in the source; requires pruning"
			continue
		}
		if res.Changes == nil {
			continue
		}
		change, ok := res.Changes.Get(key)
		if !ok {
			continue
		}
		switch change.Action {
		case apply.ActionConflict:
			out[i].Sync, out[i].Message = flotillav1.SyncStatusOutOfSync, change.Message
		case apply.ActionCreated, apply.ActionConfigured:
			if !res.Applied {
				out[i].Sync, out[i].Message = flotillav1.SyncStatusOutOfSync, "would be "+string(change.Action)
			}
		}
	}
	return out
}

// mergeResourceStatus adds the objects of inv that status does not list yet.
func mergeResourceStatus(current []flotillav1.ResourceStatus, inv inventory.Set) []flotillav1.ResourceStatus {
	have := inventory.FromResourceStatus(current)
	out := append([]flotillav1.ResourceStatus(nil), current...)
	return append(out, inventory.ToResourceStatus(inv.Difference(have))...)
}

// addHistory appends a successful deployment of revision, unless it is the
// revision of the newest entry, and keeps the last historyLimit. commit is
// the revision's author and message, if known.
func addHistory(st *flotillav1.ApplicationStatus, revision string, commit source.CommitInfo) {
	if revision == "" {
		return
	}
	h := st.History
	if len(h) > 0 && h[len(h)-1].Revision == revision {
		return
	}
	var id int64 = 1
	if len(h) > 0 {
		id = h[len(h)-1].ID + 1
	}
	h = append(h, flotillav1.HistoryEntry{ID: id, Revision: revision, DeployedAt: nowTime(), Message: commit.Message, Author: commit.Author})
	if len(h) > historyLimit {
		h = h[len(h)-historyLimit:]
	}
	st.History = h
}

// truncate bounds a message for status and events.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
