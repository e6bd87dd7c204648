package cli

import (
	"context"
	"fmt"
	"log/slog"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server"
	"github.com/flotilla-dev/flotilla/internal/server/live"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// direct runs the preview in this process, without a server: the hub is
// read with the kubeconfig, each cluster reached with the credentials of
// its Cluster Secret, and the preview is the server's own
// (server.PreviewFleet, server.PreviewApplications), with the Project's
// rules and the source's Secrets as a sync has them.
func (o *previewOptions) direct(ctx context.Context, namespace, name string) (*wire.FleetPreview, error) {
	cfg, err := (&kubeFlags{kubeconfig: o.kubeconfig, context: o.hubContext}).config()
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	scheme, err := server.NewScheme()
	if err != nil {
		return nil, err
	}
	hub, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	// The namespace given is Flotilla's own, as the server's --namespace
	// is: the Projects' rules refuse it as the controller running there
	// does. The engine's log would only repeat what the preview reports
	// per cluster.
	r, closeLive, err := o.live.reader(liveSetup{hub: hub, config: cfg, namespace: namespace,
		logger: slog.New(slog.DiscardHandler), cache: "cli-sources", limits: live.DefaultLimits()})
	if err != nil {
		return nil, err
	}
	defer closeLive()
	l := server.LiveReader(r)
	key := client.ObjectKey{Namespace: namespace, Name: name}
	if o.kind == previewApp {
		var a flotillav1.Application
		if err := hub.Get(ctx, key, &a); err != nil {
			return nil, hubReadError("application", key, err)
		}
		p := server.PreviewApplications(ctx, l, []*flotillav1.Application{&a}, o.revision)
		return &p, nil
	}
	var fl flotillav1.Fleet
	if err := hub.Get(ctx, key, &fl); err != nil {
		return nil, hubReadError("fleet", key, err)
	}
	var apps flotillav1.ApplicationList
	if err := hub.List(ctx, &apps, client.InNamespace(namespace), client.MatchingLabels{flotillav1.FleetLabel: name}); err != nil {
		return nil, fmt.Errorf("hub: list the Applications of fleet %s: %w", key, err)
	}
	p := server.PreviewFleet(ctx, l, &fl, apps.Items, o.revision)
	return &p, nil
}

func hubReadError(kind string, key client.ObjectKey, err error) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s %s not found in the hub", kind, key)
	}
	return fmt.Errorf("hub: read %s %s: %w", kind, key, err)
}
