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

// push writes the status of each copy to its Application in the hub, when
// it changed since the last write.
func (m *mirror) push(ctx context.Context, st *hubState) error {
	var list flotillav1.ApplicationList
	if err := m.local.List(ctx, &list, client.InNamespace(m.ns())); err != nil {
		return fmt.Errorf("list the copies: %w", err)
	}
	var errs []error
	for i := range list.Items {
		cp := &list.Items[i]
		app, ok := st.apps[cp.Name]
		if !ok || cp.Annotations[CopyAnnotation] == "" {
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
		err = m.hub.Status().Patch(ctx, app, client.MergeFrom(base))
		switch {
		case err == nil:
			m.pushed[cp.Name] = string(raw)
		case apierrors.IsNotFound(err), apierrors.IsForbidden(err):
			// Deleted or moved since it was read: the next round sees it.
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
