package live

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// Events returns the events of the Application (from the hub) when ref is
// nil, or of one node of its tree (from its workload cluster): the newest
// Limits.MaxEvents, newest first, with the values of the Application's
// Secrets masked in their messages.
func (r *Reader) Events(ctx context.Context, app *flotillav1.Application, ref *wire.ObjectRef) ([]wire.Event, error) {
	c, err := r.target(ctx, app)
	if ref == nil {
		events, lerr := r.hubEvents(ctx, app)
		if lerr != nil {
			return nil, lerr
		}
		red := redactor{}
		if err == nil {
			red = r.redactor(ctx, c, app)
		}
		return r.convert(events, red), nil
	}
	if err != nil {
		return nil, err
	}
	obj, err := r.node(ctx, c, app, *ref)
	if err != nil {
		return nil, err
	}
	ns := obj.GetNamespace()
	sel := fields.OneTermEqualSelector("involvedObject.uid", string(obj.GetUID())).String()
	var events []corev1.Event
	opts := listOptions(listPage, sel)
	for len(events) < maxScanned {
		list, err := c.Kube.CoreV1().Events(ns).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("%w: cluster %s: list events: %w", ErrUnavailable, c.Name, err)
		}
		events = append(events, list.Items...)
		if opts.Continue = list.Continue; opts.Continue == "" {
			break
		}
	}
	return r.convert(events, r.redactor(ctx, c, app)), nil
}

// hubEvents lists the hub's events of the Application.
func (r *Reader) hubEvents(ctx context.Context, app *flotillav1.Application) ([]corev1.Event, error) {
	sel := fields.Set{
		"involvedObject.kind": "Application",
		"involvedObject.name": app.Name,
	}.AsSelector()
	var events []corev1.Event
	cont := ""
	for len(events) < maxScanned {
		var list corev1.EventList
		err := r.opts.Uncached.List(ctx, &list, client.InNamespace(app.Namespace),
			client.MatchingFieldsSelector{Selector: sel}, client.Limit(listPage), client.Continue(cont))
		if err != nil {
			return nil, fmt.Errorf("%w: hub: list events: %w", ErrUnavailable, err)
		}
		for _, e := range list.Items {
			if e.InvolvedObject.UID == "" || e.InvolvedObject.UID == app.UID {
				events = append(events, e)
			}
		}
		if cont = list.Continue; cont == "" {
			break
		}
	}
	return events, nil
}

// convert keeps the newest events, newest first, masked.
func (r *Reader) convert(events []corev1.Event, red redactor) []wire.Event {
	out := make([]wire.Event, 0, len(events))
	for _, e := range events {
		gv, _ := schema.ParseGroupVersion(e.InvolvedObject.APIVersion)
		out = append(out, wire.Event{
			Type:    e.Type,
			Reason:  e.Reason,
			Message: red.mask(e.Message),
			Object: wire.ObjectRef{
				Group: gv.Group, Version: gv.Version, Kind: e.InvolvedObject.Kind,
				Namespace: e.InvolvedObject.Namespace, Name: e.InvolvedObject.Name, UID: string(e.InvolvedObject.UID),
			},
			Count:     e.Count,
			FirstSeen: firstSeen(e),
			LastSeen:  lastSeen(e),
		})
	}
	slices.SortStableFunc(out, func(a, b wire.Event) int { return b.LastSeen.Compare(a.LastSeen) })
	if len(out) > r.opts.Limits.MaxEvents {
		out = out[:r.opts.Limits.MaxEvents]
	}
	return out
}

func firstSeen(e corev1.Event) time.Time {
	if !e.FirstTimestamp.IsZero() {
		return e.FirstTimestamp.Time
	}
	return e.EventTime.Time
}

func lastSeen(e corev1.Event) time.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}
