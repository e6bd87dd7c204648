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
		var dep flotillav1.Application
		err := r.Client.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: d.Name}, &dep)
		switch {
		case apierrors.IsNotFound(err):
			waiting = append(waiting, d.Name+" (not found)")
		case err != nil:
			return err
		case !ready(&dep):
			waiting = append(waiting, fmt.Sprintf("%s (%s, %s)", d.Name, orUnknown(string(dep.Status.Sync.Status)), orUnknown(string(dep.Status.Health.Status))))
		}
	}
	if len(waiting) > 0 {
		return &engine.Error{Reason: flotillav1.ReasonDependencyNotReady,
			Err: fmt.Errorf("waiting for %s to be Synced and Healthy", strings.Join(waiting, ", "))}
	}
	return nil
}

// ready is Synced and Healthy at the dependency's current spec.
func ready(app *flotillav1.Application) bool {
	c := meta.FindStatusCondition(app.Status.Conditions, flotillav1.ConditionReady)
	return c != nil && c.Status == "True" && c.ObservedGeneration == app.Generation &&
		app.Status.Sync.Status == flotillav1.SyncStatusSynced &&
		app.Status.Health.Status == flotillav1.HealthHealthy
}

// findCycle walks dependsOn from app and returns the path back to it, if any.
func (r *ApplicationReconciler) findCycle(ctx context.Context, app *flotillav1.Application) []string {
	visited := map[string]bool{}
	var walk func(name string, path []string) []string
	walk = func(name string, path []string) []string {
		if len(path) > maxDependencyDepth || visited[name] {
			return nil
		}
		visited[name] = true
		var a flotillav1.Application
		if err := r.Client.Get(ctx, client.ObjectKey{Namespace: app.Namespace, Name: name}, &a); err != nil {
			return nil
		}
		for _, d := range a.Spec.DependsOn {
			if d.Name == app.Name {
				return append(path, d.Name)
			}
			if c := walk(d.Name, append(path, d.Name)); c != nil {
				return c
			}
		}
		return nil
	}
	for _, d := range app.Spec.DependsOn {
		if d.Name == app.Name {
			return []string{app.Name, app.Name}
		}
		if c := walk(d.Name, []string{app.Name, d.Name}); c != nil {
			return c
		}
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}
