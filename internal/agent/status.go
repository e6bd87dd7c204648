package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cluster"
)

// pushStatus writes the copies' status, the Applications and the copies
// read from the watches: a copy's status changed, or the hub's answer to a
// write came. Nothing is read from an API server, and nothing is tried
// while the hub is unreachable or before a round read the Role: the next
// round writes it.
func (m *mirror) pushStatus(ctx context.Context) error {
	if m.granted == nil || m.offline {
		return nil
	}
	st, err := m.readApplications(ctx, m.watched, m.granted)
	if err != nil {
		return err
	}
	return m.push(ctx, st, false)
}

// push writes the status of each copy to its Application in the hub, when
// it changed since the last write and the hub names this cluster its
// Application's (or none yet). Fresh lists the copies from the cluster
// rather than from their watch.
func (m *mirror) push(ctx context.Context, st *hubState, fresh bool) error {
	copies, err := m.localCopies(ctx, fresh)
	if err != nil {
		return err
	}
	var errs []error
	for _, cp := range copies {
		app, ok := st.apps[cp.Name]
		if !ok {
			continue
		}
		if c := app.Status.Cluster; c != "" && c != m.opts.Cluster {
			// Moved here from c: the hub releases the objects there and
			// then names this cluster; until then its status is the hub's.
			continue
		}
		status := hubStatus(cp, app)
		raw, err := json.Marshal(status)
		if err != nil {
			return err
		}
		if m.pushed[cp.Name] == string(raw) {
			continue
		}
		base := app.DeepCopy()
		app.Status = status
		// On condition that the Application is as the watch last saw it:
		// one moved since must not get this cluster's status.
		err = m.hub.Status().Patch(ctx, app, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
		switch {
		case err == nil:
			m.pushed[cp.Name] = string(raw)
		case apierrors.IsNotFound(err), apierrors.IsForbidden(err), apierrors.IsConflict(err):
			// Deleted, moved or changed since it was read: the watch's
			// next event runs another round.
		default:
			errs = append(errs, fmt.Errorf("write the status of Application %s: %w", cp.Name, err))
		}
	}
	return errors.Join(errs...)
}

// hubStatus is the copy's status as the hub's Application should show it:
// generations are the hub's. The copy's observedGeneration, when current,
// is the hub generation it was copied from; otherwise the hub's stays.
func hubStatus(cp, app *flotillav1.Application) flotillav1.ApplicationStatus {
	st := *cp.Status.DeepCopy()
	hubGen, err := strconv.ParseInt(cp.Annotations[hubGenerationAnnotation], 10, 64)
	current := err == nil && cp.Status.ObservedGeneration == cp.Generation && cp.Generation != 0
	if current {
		st.ObservedGeneration = hubGen
	} else {
		st.ObservedGeneration = app.Status.ObservedGeneration
	}
	for i := range st.Conditions {
		if err == nil && st.Conditions[i].ObservedGeneration == cp.Generation {
			st.Conditions[i].ObservedGeneration = hubGen
		} else {
			st.Conditions[i].ObservedGeneration = 0
		}
	}
	return st
}

// beat writes the Cluster's heartbeat every Heartbeat: connected, the
// cluster's Kubernetes version and the time.
func (m *mirror) beat(ctx context.Context) {
	t := time.NewTicker(m.opts.Heartbeat)
	defer t.Stop()
	for {
		if err := m.heartbeat(ctx); err != nil {
			m.log.Debug("heartbeat not written", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (m *mirror) heartbeat(ctx context.Context) error {
	v, err := cluster.ServerVersion(ctx, m.opts.Controller.Config)
	if err != nil {
		return fmt.Errorf("cluster %s: version: %w", m.opts.Cluster, err)
	}
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	patch := map[string]any{"status": map[string]any{
		"connected":         true,
		"kubernetesVersion": v.GitVersion,
		"lastHeartbeat":     now,
		"conditions": []metav1.Condition{{
			Type: flotillav1.ConditionReady, Status: metav1.ConditionTrue, Reason: flotillav1.ReasonSucceeded,
			LastTransitionTime: now, Message: "the agent reports Kubernetes " + v.GitVersion,
		}},
	}}
	raw, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	c := &flotillav1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: m.opts.HubNamespace, Name: m.opts.Cluster}}
	if err := m.hub.Status().Patch(ctx, c, client.RawPatch(types.MergePatchType, raw)); err != nil {
		return fmt.Errorf("cluster %s: write the heartbeat: %w", m.opts.Cluster, err)
	}
	return nil
}
