package controller

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/engine"
)

// maxDependencyDepth bounds the walk that looks for cycles.
const maxDependencyDepth = 64

// dependenciesReady returns nil when every Application that app depends on
// is Synced and Healthy at its current generation; otherwise an error with
// reason DependencyNotReady naming which, or DependencyCycle.
func (r *ApplicationReconciler) dependenciesReady(ctx context.Context, app *flotillav1.Application) error {
	if len(app.Spec.DependsOn) == 0 {
		return nil
	}
	if cycle := r.findCycle(ctx, app); cycle != nil {
		return &engine.Error{Reason: flotillav1.ReasonDependencyCycle, Stalled: true,
			Err: fmt.Errorf("dependsOn forms a cycle: %s", strings.Join(cycle, " → "))}
	}
	var waiting []string
	for _, d := range app.Spec.DependsOn {
		dep, what, err := r.dependency(ctx, app, d)
		switch {
		case err != nil:
			return err
		case dep == nil:
			waiting = append(waiting, what+" (not found)")
		case !ready(dep):
			waiting = append(waiting, fmt.Sprintf("%s (%s, %s)", what, orUnknown(string(dep.Status.Sync.Status)), orUnknown(string(dep.Status.Health.Status))))
		}
	}
	if len(waiting) > 0 {
		return &engine.Error{Reason: flotillav1.ReasonDependencyNotReady,
			Err: fmt.Errorf("waiting for %s to be Synced and Healthy", strings.Join(waiting, ", "))}
	}
	return nil
}

// dependency finds the Application d names for app: by name, or the one
// d's Fleet generated for the cluster (app's own unless d names one). It
// is nil when there is none; what names it for messages.
func (r *ApplicationReconciler) dependency(ctx context.Context, app *flotillav1.Application, d flotillav1.DependencyReference) (*flotillav1.Application, string, error) {
	if d.Fleet == "" {
		var dep flotillav1.Application
		err := r.Client.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: d.Name}, &dep)
		if apierrors.IsNotFound(err) {
			return nil, d.Name, nil
		}
		return &dep, d.Name, err
	}
	cluster := d.Cluster
	if cluster == "" {
		cluster = destinationName(app)
	}
	what := fmt.Sprintf("fleet %s on cluster %s", d.Fleet, cluster)
	var list flotillav1.ApplicationList
	if err := r.Client.List(ctx, &list, client.InNamespace(app.Namespace),
		client.MatchingLabels{flotillav1.FleetLabel: d.Fleet, flotillav1.ClusterLabel: cluster}); err != nil {
		return nil, what, err
	}
	if len(list.Items) == 0 {
		return nil, what, nil
	}
	return &list.Items[0], what, nil
}

// ready is Synced and Healthy at the dependency's current spec: for a
// Fleet's Application, at the revision the Fleet pinned it to.
func ready(app *flotillav1.Application) bool {
	c := meta.FindStatusCondition(app.Status.Conditions, flotillav1.ConditionReady)
	return c != nil && c.Status == "True" && c.ObservedGeneration == app.Generation &&
		app.Status.Sync.Status == flotillav1.SyncStatusSynced &&
		app.Status.Health.Status == flotillav1.HealthHealthy
}

// findCycle walks dependsOn from app (through Fleets' Applications too)
// and returns the path back to it, if any.
func (r *ApplicationReconciler) findCycle(ctx context.Context, app *flotillav1.Application) []string {
	visited := map[string]bool{}
	var walk func(a *flotillav1.Application, path []string) []string
	walk = func(a *flotillav1.Application, path []string) []string {
		if len(path) > maxDependencyDepth {
			return nil
		}
		for _, d := range a.Spec.DependsOn {
			dep, _, err := r.dependency(ctx, a, d)
			if err != nil || dep == nil {
				continue
			}
			if dep.Name == app.Name {
				return append(path, dep.Name)
			}
			if visited[dep.Name] {
				continue
			}
			visited[dep.Name] = true
			if c := walk(dep, append(path, dep.Name)); c != nil {
				return c
			}
		}
		return nil
	}
	return walk(app, []string{app.Name})
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}
