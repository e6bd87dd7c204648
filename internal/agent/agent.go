package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cluster"
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
	// Interval is how soon a round that could not reach the hub (or must
	// wait for it) is tried again; the agent otherwise follows the hub
	// with watches.
	Interval time.Duration
	// Resync is how often a full round runs even without events, reading
	// the hub and the cluster directly rather than from the watches: the
	// safety net against a missed event or a copy changed in the cluster.
	Resync time.Duration
	// CacheSyncTimeout bounds the wait, at start, for the first answer of the
	// watches: of the copies in the cluster (without one the agent ends
	// with an error) and of the agent's Role in the hub (without one it
	// goes on, the hub read directly until it answers).
	CacheSyncTimeout time.Duration
	// Heartbeat is how often the Cluster's status.lastHeartbeat is written.
	Heartbeat time.Duration
	// MaxApplications bounds the Applications the agent copies.
	MaxApplications int
	// HubTimeout bounds each request to the hub.
	HubTimeout time.Duration
	Logger     *slog.Logger
}

// DefaultOptions retry an unreachable hub every 10s, run a full round every
// 10 minutes, wait at most a minute for the watches at start, beat every
// 30s (the hub's default timeout, controller.DefaultAgentTimeout, is three
// beats) and copy at most 1,000 Applications.
func DefaultOptions() Options {
	c := controller.DefaultOptions()
	c.PollInterval = controller.DefaultPollInterval
	return Options{
		HubNamespace:     flotillav1.DefaultNamespace,
		Controller:       c,
		Interval:         10 * time.Second,
		Resync:           10 * time.Minute,
		CacheSyncTimeout: time.Minute,
		Heartbeat:        30 * time.Second,
		MaxApplications:  1000,
		HubTimeout:       10 * time.Second,
		Logger:           slog.Default(),
	}
}

// errWaitingForHub marks a round that reached the hub but must wait for
// it: the hub's controller has not caught up with a change yet (an
// Application left the Role but still deploys here). Such a round is tried
// again every Interval, and the hub does not count as unreachable.
var errWaitingForHub = errors.New("waiting for the hub")

// Run runs the agent until ctx ends: the local controller, the copy of the
// hub's Applications, the status written back and the heartbeat.
func Run(ctx context.Context, opts Options) error {
	if opts.Hub == nil || opts.Controller.Config == nil || opts.Cluster == "" {
		return errors.New("agent: the hub's and the cluster's configurations and the Cluster's name are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	def := DefaultOptions()
	if opts.Resync <= 0 {
		opts.Resync = def.Resync
	}
	if opts.CacheSyncTimeout <= 0 {
		opts.CacheSyncTimeout = def.CacheSyncTimeout
	}
	opts.Controller.Self = opts.Cluster
	opts.Controller.Logger = opts.Logger
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m, err := newMirror(ctx, opts)
	if err != nil {
		return err
	}
	if err := m.awaitCopies(ctx); err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return controller.Run(ctx, opts.Controller) })
	g.Go(func() error { m.loop(ctx); return nil })
	g.Go(func() error { m.beat(ctx); return nil })
	opts.Logger.Info("agent starting", "cluster", opts.Cluster, "hub", opts.Hub.Host, "namespace", opts.Controller.Namespace)
	return g.Wait()
}

// newMirror makes the agent's clients and starts its watches, until ctx
// ends: of its Role in the hub, and of the copies in its cluster.
func newMirror(ctx context.Context, opts Options) (*mirror, error) {
	scheme, err := controller.NewScheme()
	if err != nil {
		return nil, err
	}
	hubCfg := rest.CopyConfig(opts.Hub)
	hubCfg.Timeout = opts.HubTimeout
	hub, err := client.New(hubCfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	// A watch lasts until the API server ends it: no client timeout.
	hubWatch, err := client.NewWithWatch(rest.CopyConfig(opts.Hub), client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	local, err := client.NewWithWatch(opts.Controller.Config, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", opts.Cluster, err)
	}
	log := opts.Logger.With("cluster", opts.Cluster)
	m := &mirror{hub: hub, local: local, opts: opts, log: log,
		pushed: map[string]string{}, kick: make(chan struct{}, 1), status: make(chan struct{}, 1)}
	m.watched = newWatches(hubWatch, hub, opts.HubNamespace, "hub", log, m.changed)
	m.copies = newWatches(local, local, opts.Controller.Namespace, "cluster", log, m.changed)
	m.watched.start(ctx)
	m.copies.start(ctx)
	m.watched.follow(roleKind, []string{cluster.AgentName(opts.Cluster)})
	m.copies.follow(applicationKind, []string{""})
	return m, nil
}

// awaitCopies waits, at most CacheSyncTimeout, for the first answer of the
// watch of the copies: the rounds read them from it.
func (m *mirror) awaitCopies(ctx context.Context) error {
	if !waitSynced(ctx, m.opts.CacheSyncTimeout, func() bool { return m.copies.synced(applicationKind, "") }) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("cluster %s: the watch of the Applications in namespace %s had no answer within %s "+
			"(are Flotilla's CRDs installed in the cluster, and may the agent list and watch Applications there?)",
			m.opts.Cluster, m.ns(), m.opts.CacheSyncTimeout)
	}
	return nil
}

// awaitHub waits, at most CacheSyncTimeout, for the first answer of the watch
// of the agent's Role. Without one the agent goes on: the copies keep
// being synced, and the rounds read the hub directly until it answers.
func (m *mirror) awaitHub(ctx context.Context) {
	role := cluster.AgentName(m.opts.Cluster)
	if !waitSynced(ctx, m.opts.CacheSyncTimeout, func() bool { return m.watched.synced(roleKind, role) }) && ctx.Err() == nil {
		m.log.Info("the hub has not answered the watch of the agent's Role yet: the copies keep being synced",
			"role", role, "timeout", m.opts.CacheSyncTimeout)
	}
}

// waitSynced waits for synced, at most timeout.
func waitSynced(ctx context.Context, timeout time.Duration, synced func() bool) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return toolscache.WaitForCacheSync(ctx.Done(), synced)
}

// changed asks for a round, or only for status to be written when a watch
// saw a change of an Application's status alone: the copy's news for the
// hub, or the hub's answer to a write.
func (m *mirror) changed(c change) {
	ch := m.kick
	if c.statusOnly {
		ch = m.status
	}
	select {
	case ch <- struct{}{}:
	default:
	}
}

// How a round reads.
type roundKind int

const (
	// roundCached reads the hub and the copies from the watches.
	roundCached roundKind = iota
	// roundFresh reads them from the API servers: the safety net.
	roundFresh
	// roundStatus only writes the copies' status, read from the watches.
	roundStatus
)

// loop runs a round at start, whenever a watch sees a change and every
// Resync; a change of status alone only writes status. A round that could
// not finish (the hub unreachable, or waiting for it) is tried again every
// Interval until one does.
func (m *mirror) loop(ctx context.Context) {
	m.awaitHub(ctx)
	resync := time.NewTicker(m.opts.Resync)
	defer resync.Stop()
	var retry <-chan time.Time
	next := roundCached
	for {
		err := m.round(ctx, next)
		switch {
		case err != nil:
			retry = time.After(m.opts.Interval)
		case next != roundStatus:
			retry = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-m.kick:
			next = roundCached
		case <-retry:
			next = roundCached
		case <-resync.C:
			next = roundFresh
		case <-m.status:
			next = roundStatus
		}
	}
}

// round is one pass: pull the Applications, then push their status. With
// the hub unreachable nothing local changes, and it says so once.
func (m *mirror) round(ctx context.Context, kind roundKind) error {
	if kind == roundStatus {
		err := m.pushStatus(ctx)
		if err != nil {
			m.report(err)
		}
		return err
	}
	fresh := kind == roundFresh
	if err := m.ensureSelf(ctx); err != nil {
		m.log.Info("the cluster's own Cluster is not written", "error", err)
	}
	hubApps, err := m.pull(ctx, fresh)
	if hubApps != nil {
		err = errors.Join(err, m.push(ctx, hubApps, fresh))
	}
	m.report(err)
	return err
}

// report logs when the hub becomes unreachable or reachable again; a
// round that only waits for the hub says so at Debug.
func (m *mirror) report(err error) {
	switch {
	case err != nil && onlyWaiting(err):
		m.log.Debug("waiting for the hub", "error", err)
		if m.offline {
			m.offline = false
			m.log.Info("hub reachable again")
		}
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

// onlyWaiting says whether every error joined in err is errWaitingForHub.
func onlyWaiting(err error) bool {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			if !onlyWaiting(e) {
				return false
			}
		}
		return true
	}
	return errors.Is(err, errWaitingForHub)
}
