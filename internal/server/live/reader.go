package live

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
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

// Options configure a Reader.
type Options struct {
	// Hub reads Projects and Clusters (a cache is fine).
	Hub client.Reader
	// Uncached reads Secrets and the hub's Events, never from a cache: the
	// server does not hold every Secret in memory. Nil means Hub.
	Uncached client.Reader
	// Clusters resolves a destination Cluster to its credentials.
	Clusters *cluster.Registry
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
	// log stream.
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

	mu      sync.Mutex
	clients map[string]*clients
}

// New makes a Reader.
func New(opts Options) *Reader {
	opts.Limits = opts.Limits.withDefaults()
	if opts.Uncached == nil {
		opts.Uncached = opts.Hub
	}
	return &Reader{opts: opts, clients: map[string]*clients{}}
}

// clients reach one workload cluster, made for one generation of its
// Cluster and credentials.
type clients struct {
	name       string
	generation string
	dynamic    dynamic.Interface
	mapper     meta.RESTMapper
	core       kubernetes.Interface
	// stream has no client-side timeout: a followed log is bounded by its
	// context.
	stream kubernetes.Interface
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
	key := app.Namespace + "/" + t.Name
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[key]; ok && c.generation == t.Generation {
		return c, nil
	}
	c, err := r.newClients(t)
	if err != nil {
		return nil, fmt.Errorf("%w: cluster %s: %w", ErrUnavailable, t.Name, err)
	}
	r.clients[key] = c
	return c, nil
}

func (r *Reader) newClients(t *cluster.Target) (*clients, error) {
	cfg := rest.CopyConfig(t.Config)
	cfg.Timeout = r.opts.Limits.RequestTimeout
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	core, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	streamCfg := rest.CopyConfig(t.Config)
	streamCfg.Timeout = 0
	stream, err := kubernetes.NewForConfig(streamCfg)
	if err != nil {
		return nil, err
	}
	return &clients{
		name: t.Name, generation: t.Generation, dynamic: dyn, core: core, stream: stream,
		mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco)),
	}, nil
}
