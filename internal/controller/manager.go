package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cluster"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/notify"
	"github.com/flotilla-dev/flotilla/internal/project"
	"github.com/flotilla-dev/flotilla/internal/render"
	"github.com/flotilla-dev/flotilla/internal/shard"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// Options configure the controller.
type Options struct {
	// Config reaches the hub.
	Config *rest.Config
	// Namespace holds the Applications, Clusters and their Secrets.
	Namespace string
	// MetricsAddr serves /metrics; "0" turns it off.
	MetricsAddr string
	// HealthAddr serves /healthz and /readyz; "0" turns it off.
	HealthAddr string
	// PprofAddr serves Go's profiles under /debug/pprof/; "" or "0" (the
	// default) turns it off.
	PprofAddr string
	// AllowLocalRepos permits file:// repository URLs and repositories on
	// loopback addresses (for development).
	AllowLocalRepos bool
	// DenyPrivateRepos refuses repositories on private addresses.
	DenyPrivateRepos bool
	// AllowExecCredentials permits kubeconfig exec plugins in Cluster Secrets.
	AllowExecCredentials bool
	// CacheDir holds fetched sources. Empty means a folder under the user cache.
	CacheDir string
	// Workers is how many Applications sync at once.
	Workers int
	// SyncsPerCluster is how many of them may sync against one cluster at
	// once; zero means engine.DefaultSyncsPerCluster.
	SyncsPerCluster int
	// PollInterval is how often each git repository and revision that
	// Applications follow is listed for a new commit; zero or less turns
	// polling off (the Applications' own intervals remain).
	PollInterval time.Duration
	// ResolveShare is how long one listing of a git repository's refs
	// answers every Application of the same repository, revision and
	// credentials; zero lists for each sync.
	ResolveShare time.Duration
	// MaxCheckoutFiles bounds the files of one git checkout, checked
	// before it is written; zero means source.DefaultOptions' 10,000.
	MaxCheckoutFiles int
	// SyncTimeout bounds how long one sync in phases and waves waits for
	// its hooks to complete and its waves to become healthy; zero means 10
	// minutes.
	SyncTimeout time.Duration
	// Shards makes this replica one of several that share the clusters
	// (see package shard and docs/scaling.md). Off, it owns everything.
	Shards bool
	// ShardID names this replica's Lease, flotilla-shard-ID. Empty means
	// hostname-pid.
	ShardID string
	// ShardLeaseDuration is how long a replica's Lease lives unrenewed:
	// about the longest a dead replica's clusters wait for a new owner.
	ShardLeaseDuration time.Duration
	// CAPI registers each Cluster API Cluster of the namespace as a Cluster
	// once its control plane is initialized, and unregisters it when it is
	// deleted (see docs/capi.md). The hub must serve cluster.x-k8s.io
	// Clusters.
	CAPI bool
	// Self, set by a pull agent (package agent), names the cluster Config
	// reaches: its Applications' destination, deployed to as "in-cluster"
	// is. Empty in the hub.
	Self string
	// AgentTimeout is how old the heartbeat of a Cluster in agent mode may
	// get before the hub marks it disconnected; zero means
	// DefaultAgentTimeout.
	AgentTimeout time.Duration
	Logger       *slog.Logger
}

// DefaultOptions watches flotilla-system, serves metrics on :8080 and
// health on :8081, and syncs 32 Applications at once (a sync mostly waits
// on API servers and git; each cluster takes at most 16 of them).
func DefaultOptions() Options {
	return Options{
		Namespace:   flotillav1.DefaultNamespace,
		MetricsAddr: ":8080",
		HealthAddr:  ":8081",
		Workers:     32,

		ResolveShare: 5 * time.Second,
		PollInterval: DefaultPollInterval,
		Logger:       slog.Default(),

		ShardLeaseDuration: shard.DefaultLeaseDuration,
	}
}

// NewScheme returns a scheme with the built-in kinds and Flotilla's.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := flotillav1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// Run starts the controller and blocks until ctx ends.
func Run(ctx context.Context, opts Options) error {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Shards {
		id, err := shardID(opts.ShardID)
		if err != nil {
			return err
		}
		opts.ShardID, opts.Logger = id, opts.Logger.With("shard", id)
	}
	ctrl.SetLogger(logr.FromSlogHandler(opts.Logger.Handler()))
	scheme, err := NewScheme()
	if err != nil {
		return err
	}
	metrics := engine.NewMetrics(crmetrics.Registry)
	// The controller's own traffic with the hub (Applications, status,
	// Secrets) is counted as cluster "hub"; syncs to the hub as a
	// destination count as "in-cluster".
	mgr, err := ctrl.NewManager(metrics.Instrument(hubConfig(opts.Config), "hub"), ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress: opts.HealthAddr,
		PprofBindAddress:       pprofAddr(opts.PprofAddr),
		// The cache keeps no managedFields: nothing of the controller
		// reads them, and each Application's would be held as long as it.
		Cache: cache.Options{DefaultNamespaces: map[string]cache.Config{opts.Namespace: {}},
			DefaultTransform: cache.TransformStripManagedFields()},
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{}}},
	})
	if err != nil {
		return fmt.Errorf("controller manager: %w", err)
	}
	queue := newAppQueue()
	eng, sources, err := newEngine(mgr, metrics, queue, opts)
	if err != nil {
		return err
	}
	defer eng.Close()
	var capiKind *schema.GroupVersionKind
	if opts.CAPI {
		gvk, err := capiGVK(mgr.GetRESTMapper())
		if err != nil {
			return err
		}
		capiKind = &gvk
	}
	var member *shard.Member
	if opts.Shards {
		if member, err = newShardMember(mgr, opts, capiKind, queue.Drift); err != nil {
			return err
		}
	}
	var poller *revisionPoller
	if opts.PollInterval > 0 {
		poller = newRevisionPoller(sources, opts.PollInterval, queue.Drift, opts.Logger)
		if err := mgr.Add(poller); err != nil {
			return err
		}
	}
	notifier, err := newNotifier(mgr, opts)
	if err != nil {
		return err
	}
	if err := setupReconcilers(mgr, opts, reconcilerParts{eng, sources, metrics, queue, member, capiKind, poller, notifier}); err != nil {
		return err
	}
	if opts.HealthAddr != "0" {
		if err := mgr.AddHealthzCheck("ping", func(_ *http.Request) error { return nil }); err != nil {
			return err
		}
		// Ready once the caches of the hub have synced.
		if err := mgr.AddReadyzCheck("caches", func(r *http.Request) error {
			if !mgr.GetCache().WaitForCacheSync(r.Context()) {
				return errors.New("the hub's caches have not synced")
			}
			return nil
		}); err != nil {
			return err
		}
	}
	opts.Logger.Info("controller starting", "namespace", opts.Namespace, "metrics", opts.MetricsAddr, "shards", opts.Shards, "capi", opts.CAPI)
	return start(ctx, mgr, member, opts.Logger)
}

// reconcilerParts is what the reconcilers share.
type reconcilerParts struct {
	engine  *engine.Engine
	sources *source.Client
	metrics *engine.Metrics
	queue   *appQueue
	member  *shard.Member
	// capi is Cluster API's Cluster when --capi is on, else nil.
	capi   *schema.GroupVersionKind
	poller *revisionPoller
	// notify hears of the events Notifications route; nil in an agent.
	notify notify.Sink
}

func setupReconcilers(mgr ctrl.Manager, opts Options, parts reconcilerParts) error {
	r := &ApplicationReconciler{
		Client:   mgr.GetClient(),
		Reader:   mgr.GetAPIReader(),
		Engine:   parts.engine,
		Recorder: mgr.GetEventRecorder("flotilla-controller"),
		Metrics:  parts.metrics,
		Log:      opts.Logger,
		Shard:    parts.member,
		Projects: projectOptions(opts),
		Poller:   parts.poller,
		Commits:  parts.sources,
		Notify:   parts.notify,
		Queue:    parts.queue,
	}
	if err := r.SetupWithManager(mgr, opts.Workers); err != nil {
		return err
	}
	clusters := NewClusterReconciler(mgr, opts, parts.engine.Clusters())
	clusters.Shard = parts.member
	clusters.Clients = parts.engine
	clusters.Notify = parts.notify
	if err := clusters.SetupWithManager(mgr); err != nil {
		return err
	}
	if err := setupNotifications(mgr, opts, parts.notify); err != nil {
		return err
	}
	if parts.capi != nil {
		capis := &CAPIReconciler{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), GVK: *parts.capi, Log: opts.Logger, Shard: parts.member}
		if err := capis.SetupWithManager(mgr); err != nil {
			return err
		}
	}
	fleets := &FleetReconciler{
		Client:    mgr.GetClient(),
		Log:       opts.Logger,
		Revisions: &revisionResolver{sources: parts.sources, reader: mgr.GetAPIReader(), clusters: mgr.GetClient()},
		Shard:     parts.member,
		Projects:  projectOptions(opts),
		Recorder:  mgr.GetEventRecorder("flotilla-controller"),
		Reader:    mgr.GetAPIReader(),
		Notify:    parts.notify,
	}
	return fleets.SetupWithManager(mgr)
}

// projectOptions compile Projects for a controller of opts: Flotilla's own
// namespace, which no Project reaches through a wildcard, is the one the
// controller runs in.
func projectOptions(opts Options) project.Options {
	p := project.DefaultOptions()
	p.OwnNamespace = opts.Namespace
	return p
}

// start runs the manager until ctx ends; then, once every reconciler has
// stopped, it releases this replica's Lease, so that the others take its
// clusters over at once rather than when the Lease expires.
func start(ctx context.Context, mgr ctrl.Manager, member *shard.Member, log *slog.Logger) error {
	if err := mgr.Start(ctx); err != nil {
		// Work may still be running: the Lease, if any, is left to expire.
		return err
	}
	if member == nil {
		return nil
	}
	release, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := member.Release(release); err != nil {
		log.Info("shard lease not released", "error", err)
	}
	return nil
}

// knownApplication says whether an Application exists, from the cache: the
// watches of destination clusters keep only the name of an object whose
// owner annotation names none (anyone who can write to a destination may
// put Flotilla's label on anything). A read that fails for another reason
// counts as known: health stays readable.
func knownApplication(c client.Reader, namespace string) func(types.NamespacedName) bool {
	return func(app types.NamespacedName) bool {
		if app.Namespace != namespace {
			return false
		}
		err := c.Get(context.Background(), app, &flotillav1.Application{})
		return !apierrors.IsNotFound(err)
	}
}

func newEngine(mgr ctrl.Manager, metrics *engine.Metrics, queue *appQueue, opts Options) (*engine.Engine, *source.Client, error) {
	srcOpts := source.DefaultOptions()
	srcOpts.AllowLocal = opts.AllowLocalRepos
	srcOpts.AllowLoopback = opts.AllowLocalRepos
	srcOpts.DenyPrivate = opts.DenyPrivateRepos
	srcOpts.CacheDir = opts.CacheDir
	srcOpts.ResolveShare = opts.ResolveShare
	srcOpts.MaxCheckoutFiles = opts.MaxCheckoutFiles // zero: the source's default
	if srcOpts.CacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		srcOpts.CacheDir = filepath.Join(dir, "flotilla", "sources")
	}
	sources, err := source.New(srcOpts)
	if err != nil {
		return nil, nil, fmt.Errorf("source cache: %w", err)
	}
	clOpts := cluster.DefaultOptions()
	clOpts.AllowExec = opts.AllowExecCredentials
	clOpts.Self = opts.Self
	registry := cluster.NewRegistry(mgr.GetAPIReader(), opts.Config, clOpts)
	engOpts := engine.DefaultOptions()
	engOpts.Logger = opts.Logger
	engOpts.Metrics = metrics
	engOpts.OnChange = queue.Drift
	engOpts.OnStatus = queue.Health
	engOpts.OnSlotFree = queue.Drift
	engOpts.KnownApplication = knownApplication(mgr.GetClient(), opts.Namespace)
	engOpts.Project = projectOptions(opts)
	engOpts.SyncTimeout = opts.SyncTimeout
	engOpts.SyncsPerCluster = opts.SyncsPerCluster
	renderer := render.New(render.DefaultOptions())
	registerCacheMetrics(crmetrics.Registry, sources, renderer)
	return engine.New(sources, renderer, registry, engOpts), sources, nil
}

// hubConfig is cfg without client-go's default client-side limit (5
// requests a second, bursts of 10) when cfg sets none: status writes of a
// thousand syncs queued behind it for minutes. Flow control is left to the
// hub's API server (its priority and fairness), as for the clusters; a 429
// is retried after the wait the server asks for.
func hubConfig(cfg *rest.Config) *rest.Config {
	if cfg.QPS != 0 || cfg.RateLimiter != nil {
		return cfg
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = -1, 0
	return cfg
}

// pprofAddr is the manager's address for the profiles: "0" turns them off,
// as it does the other addresses.
func pprofAddr(addr string) string {
	if addr == "0" {
		return ""
	}
	return addr
}
