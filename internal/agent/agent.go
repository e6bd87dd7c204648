package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/controller"
)

// Options configure an agent.
type Options struct {
	// Hub reaches the hub with the agent's credential.
	Hub *rest.Config
	// HubNamespace holds the Cluster and its Applications in the hub.
	HubNamespace string
	// Cluster is the name of the agent's Cluster in the hub.
	Cluster string
	// Controller configures the controller that syncs the copies in the
	// agent's own cluster: its Config reaches that cluster and its
	// Namespace holds the copies. Self is set to Cluster.
	Controller controller.Options
	// Interval is how often the hub is read for changed Applications.
	Interval time.Duration
	// Heartbeat is how often the Cluster's status.lastHeartbeat is written.
	Heartbeat time.Duration
	// MaxApplications bounds the Applications the agent copies.
	MaxApplications int
	// HubTimeout bounds each request to the hub.
	HubTimeout time.Duration
	Logger     *slog.Logger
}

// DefaultOptions read the hub every 10s, beat every 30s (the hub's default
// timeout, controller.DefaultAgentTimeout, is three beats) and copy at most
// 1,000 Applications.
func DefaultOptions() Options {
	c := controller.DefaultOptions()
	c.PollInterval = controller.DefaultPollInterval
	return Options{
		HubNamespace:    flotillav1.DefaultNamespace,
		Controller:      c,
		Interval:        10 * time.Second,
		Heartbeat:       30 * time.Second,
		MaxApplications: 1000,
		HubTimeout:      10 * time.Second,
		Logger:          slog.Default(),
	}
}

// Run runs the agent until ctx ends: the local controller, the copy of the
// hub's Applications, the status written back and the heartbeat.
func Run(ctx context.Context, opts Options) error {
	if opts.Hub == nil || opts.Controller.Config == nil || opts.Cluster == "" {
		return errors.New("agent: the hub's and the cluster's configurations and the Cluster's name are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.Controller.Self = opts.Cluster
	opts.Controller.Logger = opts.Logger
	scheme, err := controller.NewScheme()
	if err != nil {
		return err
	}
	hubCfg := rest.CopyConfig(opts.Hub)
	hubCfg.Timeout = opts.HubTimeout
	hub, err := client.New(hubCfg, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	local, err := client.New(opts.Controller.Config, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("cluster %s: %w", opts.Cluster, err)
	}
	m := &mirror{hub: hub, local: local, opts: opts, log: opts.Logger.With("cluster", opts.Cluster), pushed: map[string]string{}}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return controller.Run(ctx, opts.Controller) })
	g.Go(func() error { m.loop(ctx); return nil })
	g.Go(func() error { m.beat(ctx); return nil })
	opts.Logger.Info("agent starting", "cluster", opts.Cluster, "hub", hubCfg.Host, "namespace", opts.Controller.Namespace)
	return g.Wait()
}

// loop reads the hub and writes status back every Interval.
func (m *mirror) loop(ctx context.Context) {
	t := time.NewTicker(m.opts.Interval)
	defer t.Stop()
	for {
		m.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// round is one pass: pull the Applications, then push their status. With
// the hub unreachable nothing local changes, and it says so once.
func (m *mirror) round(ctx context.Context) {
	if err := m.ensureSelf(ctx); err != nil {
		m.log.Info("the cluster's own Cluster is not written", "error", err)
	}
	hubApps, err := m.pull(ctx)
	if err == nil {
		err = m.push(ctx, hubApps)
	}
	m.report(err)
}

// report logs when the hub becomes unreachable or reachable again.
func (m *mirror) report(err error) {
	switch {
	case err != nil && !m.offline:
		m.offline = true
		m.log.Info("hub unreachable: the copies in the cluster keep being synced", "error", err)
	case err != nil:
		m.log.Debug("hub still unreachable", "error", err)
	case m.offline:
		m.offline = false
		m.log.Info("hub reachable again")
	}
}
