package live

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cluster"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/project"
)

// The classes of errors; each wraps one, for the server to map to a status.
var (
	// ErrNotFound: the object is not one of the Application's tree (or
	// does not exist: the two are not told apart).
	ErrNotFound = errors.New("not found")
	// ErrBadRequest: a parameter cannot be used.
	ErrBadRequest = errors.New("bad request")
	// ErrUnavailable: the workload cluster, or the source of a diff, cannot
	// be read now.
	ErrUnavailable = errors.New("unavailable")
	// ErrAgentMode: the cluster is in agent mode, which the hub cannot
	// reach; only the tree is answered, from what its agent reports.
	ErrAgentMode = errors.New("agent mode")
)

// Previewer previews a sync without writing: *engine.Engine.
type Previewer interface {
	Preview(ctx context.Context, req engine.Request) (*engine.Preview, error)
}

// ClientSource gives the shared clients of a destination cluster of
// namespace, resolved through the same registry: *engine.Engine.
type ClientSource interface {
	Clients(namespace string, t *cluster.Target) (*cluster.Clients, error)
}

// Options configure a Reader.
type Options struct {
	// Hub reads Projects and Clusters (a cache is fine).
	Hub client.Reader
	// Uncached reads Secrets and the hub's Events, never from a cache: the
	// server does not hold every Secret in memory. Nil means Hub.
	Uncached client.Reader
	// Clusters resolves a destination Cluster to its credentials.
	Clusters *cluster.Registry
	// Clients, if set, gives the clients of a destination cluster, as
	// Clusters resolved it, that the process shares (*engine.Engine, whose
	// registry Clusters is: the clients of its syncs and previews), so
	// that each cluster has one discovery client, one REST mapper and one
	// request budget; their timeout then bounds each request. Nil: the
	// Reader makes its own, one set for each cluster, each request bounded
	// by Limits.RequestTimeout.
	Clients ClientSource
	// Previewer computes diffs; nil makes Diff ErrUnavailable.
	Previewer Previewer
	// Projects compiles Projects as the controller does (its OwnNamespace
	// is the controller's namespace).
	Projects project.Options
	Limits   Limits
}

// Limits bound every answer. Zero fields take DefaultLimits' values.
type Limits struct {
	// MaxNodes is the most nodes a tree holds; a tree cut there says so
	// (wire.Tree.Truncated).
	MaxNodes int
	// MaxEvents is the most events one answer holds, the newest.
	MaxEvents int
	// MaxLogBytes is the most bytes of one log answer.
	MaxLogBytes int64
	// MaxFollow is how long a followed log streams at most; then it ends.
	MaxFollow time.Duration
	// MaxTailLines is the largest tailLines accepted.
	MaxTailLines int64
	// RequestTimeout bounds each request to a workload cluster, but the
	// log stream, when the Reader makes its clients (Options.Clients nil).
	RequestTimeout time.Duration
}

// DefaultLimits: 2,000 nodes, 500 events, 10 MiB and 30 minutes of log,
// tailLines up to 100,000, 30 s per request.
func DefaultLimits() Limits {
	return Limits{
		MaxNodes:       2000,
		MaxEvents:      500,
		MaxLogBytes:    10 << 20,
		MaxFollow:      30 * time.Minute,
		MaxTailLines:   100000,
		RequestTimeout: 30 * time.Second,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxNodes <= 0 {
		l.MaxNodes = d.MaxNodes
	}
	if l.MaxEvents <= 0 {
		l.MaxEvents = d.MaxEvents
	}
	if l.MaxLogBytes <= 0 {
		l.MaxLogBytes = d.MaxLogBytes
	}
	if l.MaxFollow <= 0 {
		l.MaxFollow = d.MaxFollow
	}
	if l.MaxTailLines <= 0 {
		l.MaxTailLines = d.MaxTailLines
	}
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = d.RequestTimeout
	}
	return l
}

// Reader reads live views of Applications. It is safe for concurrent use.
type Reader struct {
	opts Options

	mu  sync.Mutex
	own map[string]*ownClients // by namespace/cluster, without Options.Clients
}

// New makes a Reader.
func New(opts Options) *Reader {
	opts.Limits = opts.Limits.withDefaults()
	if opts.Uncached == nil {
		opts.Uncached = opts.Hub
	}
	return &Reader{opts: opts, own: map[string]*ownClients{}}
}

// clients reach one workload cluster.
type clients struct{ *cluster.Clients }

// ownClients are the Reader's own clients of a cluster, made for one
// generation of its Cluster and credentials.
type ownClients struct {
	generation string
	clients    *clients
}

// clusterOf is the cluster the Application's inventory lives in:
// status.cluster once a sync recorded it, else its destination.
func clusterOf(app *flotillav1.Application) string {
	if app.Status.Cluster != "" {
		return app.Status.Cluster
	}
	return app.Spec.Destination.Cluster
}

// resolve is the Target of the Application's cluster, as the registry
// resolves it: ErrAgentMode for a cluster in agent mode, which the hub
// cannot reach.
func (r *Reader) resolve(ctx context.Context, app *flotillav1.Application) (*cluster.Target, error) {
	name := clusterOf(app)
	t, err := r.opts.Clusters.Get(ctx, app.Namespace, name)
	switch {
	case errors.Is(err, cluster.ErrAgentMode):
		return nil, agentModeError(name)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return t, nil
}

// target returns the clients of the Application's cluster; none of a
// cluster in agent mode (ErrAgentMode).
func (r *Reader) target(ctx context.Context, app *flotillav1.Application) (*clients, error) {
	t, err := r.resolve(ctx, app)
	if err != nil {
		return nil, err
	}
	if r.opts.Clients != nil {
		c, err := r.opts.Clients.Clients(app.Namespace, t)
		if err != nil {
			// The error names the cluster.
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return &clients{c}, nil
	}
	key := app.Namespace + "/" + t.Name
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.own[key]; ok && c.generation == t.Generation {
		return c.clients, nil
	}
	cfg := rest.CopyConfig(t.Config)
	cfg.Timeout = r.opts.Limits.RequestTimeout
	c, err := cluster.NewClients(cfg, t.Name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	r.own[key] = &ownClients{generation: t.Generation, clients: &clients{c}}
	return r.own[key].clients, nil
}
