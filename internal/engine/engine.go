package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/apply"
	"github.com/flotilla-dev/flotilla/internal/cluster"
	"github.com/flotilla-dev/flotilla/internal/health"
	"github.com/flotilla-dev/flotilla/internal/hook"
	"github.com/flotilla-dev/flotilla/internal/inventory"
	"github.com/flotilla-dev/flotilla/internal/project"
	"github.com/flotilla-dev/flotilla/internal/render"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// Options configure an Engine.
type Options struct {
	// Logger receives one line per sync step that fails and per write.
	Logger *slog.Logger
	// Metrics, if set, counts syncs, writes and API requests per cluster.
	Metrics *Metrics
	// OnChange, if set, is called with the owning Application of every
	// managed object that may have drifted: changed in what Flotilla
	// applied, deleted, or appeared after it was found missing.
	OnChange func(app types.NamespacedName)
	// OnStatus, if set, is called with the owning Application of every
	// managed object whose change is news of health only (its status
	// moved): Observe reads it. Nil means OnChange.
	OnStatus func(app types.NamespacedName)
	// OnSlotFree, if set, is called with the next Application that found
	// its cluster busy (Sync returned ErrClusterBusy) when a sync of that
	// cluster ends, in the order they found it busy: the caller queues it
	// again then, rather than retrying on a timer.
	OnSlotFree func(app types.NamespacedName)
	// SyncsPerCluster bounds how many syncs run against one cluster at once,
	// so that a slow cluster holds at most that many of the controller's
	// workers and never stalls the others. Zero means
	// DefaultSyncsPerCluster.
	SyncsPerCluster int
	// RequestTimeout bounds every request to a destination cluster but
	// watches, which the API server ends itself. Zero means 30s.
	RequestTimeout time.Duration
	// KnownApplication, if set, says whether an Application exists; the
	// watch caches keep only the name of an object whose owner annotation
	// names none. Nil means every owner is known.
	KnownApplication func(app types.NamespacedName) bool
	// Project compiles every Application's Project; its OwnNamespace is the
	// namespace the controller runs in, which no Project reaches through a
	// wildcard. Zero fields take project.DefaultOptions.
	Project project.Options
	// SyncTimeout bounds the waiting of one sync in phases and waves: for
	// its hooks to complete and its waves to become healthy. Zero means 10
	// minutes.
	SyncTimeout time.Duration
}

// ErrClusterBusy says the destination cluster already runs as many syncs as
// it may: the caller tries again shortly, and nothing was done.
var ErrClusterBusy = errors.New("the destination cluster is busy with other syncs")

// DefaultOptions logs to the default slog logger and records no metrics.
func DefaultOptions() Options {
	return Options{Logger: slog.Default()}
}

// Engine syncs Applications. It is safe for concurrent use; the caller makes
// sure one Application is synced by one goroutine at a time.
type Engine struct {
	opts     Options
	sources  *source.Client
	renderer *render.Renderer
	clusters *cluster.Registry

	mu       sync.Mutex
	managers map[string]*managerEntry

	// observed is, by Application, what its last sync left for Observe.
	obsMu    sync.Mutex
	observed map[types.NamespacedName]*observation
}

type managerEntry struct {
	generation string
	// clients are the destination's clients, whose one REST mapper every
	// manager below and the watcher share.
	clients *cluster.Clients
	manager *apply.Manager
	watcher *cluster.Watcher
	pods    health.PodLister

	mu           sync.Mutex
	impersonated map[string]*apply.Manager // by impersonated user

	// slots bounds the syncs running against this cluster.
	slots *slots
	// caps is what Helm charts see of the cluster.
	caps *capabilities
}

// New makes an Engine that fetches through sources, renders through renderer
// and reaches clusters through clusters.
func New(sources *source.Client, renderer *render.Renderer, clusters *cluster.Registry, opts Options) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Engine{
		opts:     opts,
		sources:  sources,
		renderer: renderer,
		clusters: clusters,
		managers: map[string]*managerEntry{},
		observed: map[types.NamespacedName]*observation{},
	}
}

// Clusters is the registry the engine reaches destination clusters
// through, for the Cluster reconciler to share.
func (e *Engine) Clusters() *cluster.Registry { return e.clusters }

// Clients returns the clients of t, a destination cluster of namespace
// the caller resolved through the engine's registry: those the engine's
// syncs and watches use, made anew when the cluster's credentials changed.
// What else reads the cluster in the same process (the server's live
// views) shares them, with their one discovery client, REST mapper and
// request budget.
func (e *Engine) Clients(namespace string, t *cluster.Target) (*cluster.Clients, error) {
	m, err := e.entry(namespace, t)
	if err != nil {
		return nil, err
	}
	return m.clients, nil
}

// manager returns the apply manager of a destination cluster, made anew when
// the cluster's credentials changed.
func (e *Engine) manager(ctx context.Context, namespace, clusterName string) (*managerEntry, string, error) {
	t, err := e.clusters.Get(ctx, namespace, clusterName)
	if err != nil {
		return nil, "", failed(flotillav1.ReasonClusterUnavailable, err)
	}
	m, err := e.entry(namespace, t)
	if err != nil {
		return nil, "", err
	}
	return m, t.Name, nil
}

// entry returns the clients, apply manager and watcher of the resolved
// cluster t of namespace, made anew when its generation changed.
func (e *Engine) entry(namespace string, t *cluster.Target) (*managerEntry, error) {
	key := namespace + "/" + t.Name
	e.mu.Lock()
	defer e.mu.Unlock()
	if m, ok := e.managers[key]; ok && m.generation == t.Generation {
		return m, nil
	}
	if old, ok := e.managers[key]; ok {
		old.watcher.Stop()
		old.slots.wakeAll()
		e.forgetCluster(key)
	}
	entry, err := e.newEntry(t)
	if err != nil {
		return nil, failed(flotillav1.ReasonClusterUnavailable, fmt.Errorf("cluster %s: %w", t.Name, err))
	}
	e.managers[key] = entry
	return entry, nil
}

// newEntry makes the apply manager, the watcher and the pod reader of a
// destination, all counted in the metrics under its name.
func (e *Engine) newEntry(t *cluster.Target) (*managerEntry, error) {
	cfg := rest.CopyConfig(t.Config)
	cfg.Timeout = e.opts.RequestTimeout
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if e.opts.Metrics != nil {
		cfg = e.opts.Metrics.Instrument(cfg, t.Name)
	}
	c, err := cluster.NewClients(cfg, t.Name)
	if err != nil {
		return nil, err
	}
	w := c.NewWatcher(cluster.WatcherOptions{
		OnChange: e.opts.OnChange, OnStatus: e.opts.OnStatus, Known: e.opts.KnownApplication,
	})
	return &managerEntry{
		generation: t.Generation, clients: c,
		manager: apply.NewSharedManager(c.Dynamic, c.Discovery, c.Mapper, e.applyOptions(w)),
		watcher: w, pods: health.PodsFromClient(c.Kube),
		impersonated: map[string]*apply.Manager{},
		slots:        newSlots(e.syncsPerCluster(), e.opts.OnSlotFree),
		caps:         &capabilities{disco: c.Discovery},
	}, nil
}

// applyOptions are the apply managers' options: objects unchanged since
// their last apply are told from the cluster's watch cache.
func (e *Engine) applyOptions(w *cluster.Watcher) apply.Options {
	o := apply.DefaultOptions()
	o.Live = w
	return o
}

func (e *Engine) syncsPerCluster() int {
	if e.opts.SyncsPerCluster > 0 {
		return e.opts.SyncsPerCluster
	}
	return DefaultSyncsPerCluster
}

// DefaultSyncsPerCluster is how many syncs run against one cluster at once
// unless Options say otherwise: a sync holds its slot only while it talks
// to the cluster, mostly waiting on its answers.
const DefaultSyncsPerCluster = 16

// Release stops the watches and drops the clients of the Cluster name in
// namespace, unless they were made for its current generation: a Cluster
// deleted (generation "") or pointed at another server or credentials stops
// being watched with what it was at once, not at the controller's next
// start. The next sync to it makes new ones.
func (e *Engine) Release(namespace, name, generation string) {
	if e.clusters.Builtin(name) {
		// The hub's own clients: no Cluster object stands for them, and
		// an Application created for in-cluster wakes the Cluster
		// reconciler with a name it finds no Cluster of.
		return
	}
	key := namespace + "/" + name
	e.mu.Lock()
	defer e.mu.Unlock()
	m, ok := e.managers[key]
	if !ok || (generation != "" && m.generation == generation) {
		return
	}
	m.watcher.Stop()
	m.slots.wakeAll()
	delete(e.managers, key)
	e.forgetCluster(key)
	e.opts.Logger.Info("cluster clients released", "cluster", key)
}

// Close stops every watch.
func (e *Engine) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range e.managers {
		m.watcher.Stop()
	}
}

// WriteMode says whether a sync writes to its cluster; the controller
// decides it once, from the sync policy and the requests of the
// Application.
type WriteMode int

const (
	// WriteNothing compares only: the sync tells what differs (a manual
	// sync policy, a preview).
	WriteNothing WriteMode = iota
	// WriteNewRevision writes when the resolved revision is not the one
	// last applied (automated sync without self-heal: drift from an
	// unchanged revision is told, a new revision is applied).
	WriteNewRevision
	// WriteAlways writes (self-heal, a changed spec, a requested sync).
	WriteAlways
)

// Request is one sync of one Application.
type Request struct {
	App *flotillav1.Application
	// Project is the Application's Project; nil means the built-in default.
	Project *flotillav1.Project
	// Credentials for the source, read by the caller from credentialsRef.
	Credentials *source.Credentials
	// ChartCredentials for the repositories of its charts' dependencies,
	// read by the caller from chartCredentials.
	ChartCredentials []ChartCredentials
	// Verify holds the keys of spec.source.verify; nil means none asked.
	Verify *source.Verification
	// Decryption holds the keys of spec.source.decryption.
	Decryption *render.Decryption
	// Revision overrides spec.source.targetRevision (a manual sync to a revision).
	Revision string
	// Fresh resolves the revision anew rather than from a listing of the
	// repository shared moments ago: a user's refresh or sync asks for it.
	Fresh bool
	// Write says whether the sync writes to the cluster.
	Write WriteMode
	// LastApplied is the revision the last sync applied, for
	// WriteNewRevision.
	LastApplied string
	// Prune deletes objects that left the source (with Apply).
	Prune bool
	// PruneConfirmed lets this sync prune more than syncPolicy.pruneLimit.
	PruneConfirmed bool
	// Previous is the inventory of the last sync.
	Previous inventory.Set
	// BeforeWrite, if set, is called with the inventory the Application will
	// own before an apply that may create objects not in Previous; the
	// controller records it so that a crash never orphans an object.
	BeforeWrite func(ctx context.Context, inv inventory.Set) error
	// RerunHooks runs the hooks of a sync in phases and waves even when
	// nothing changed: the last sync failed, and this one retries it.
	RerunHooks bool
	// Unretried, if set, is the failure of the last sync in phases and
	// waves, whose retries are exhausted: a sync that changes nothing
	// reports it again, stalled, rather than succeed without its hooks.
	Unretried *Failure
	// Progress, if set, is told where a sync in phases and waves is: the
	// phase and wave it starts, and what a step waits for.
	Progress func(ctx context.Context, p Progress)
}

// Result is what a sync found and did.
type Result struct {
	Cluster  string
	Revision string
	// Planned is true once the rendered objects were named by the cluster:
	// from then on Desired, Stale and Inventory are meaningful.
	Planned bool
	// Desired is the inventory of the rendered objects.
	Desired inventory.Set
	// Inventory is what the Application owns after this sync: the desired
	// objects plus stale ones that were not pruned.
	Inventory inventory.Set
	// Stale are objects of the previous inventory that left the source.
	Stale inventory.Set
	// Changes are what the apply and prune did (with Apply) or would do.
	Changes *apply.ChangeSet
	// Applied is true when the apply step wrote the desired state.
	Applied bool
	// Health is the rolled-up health of the inventory, and Resources the
	// health of each object, from the watch caches after the sync.
	Health    health.Result
	Resources map[inventory.ObjMetadata]health.Result
	// InSync is true when the cluster matches the source after this sync.
	InSync   bool
	Duration time.Duration
	// Steps are the time each step of the sync took, in order, up to the
	// one it ended in.
	Steps []StepTime
	// Phase and Wave are, for a sync in phases and waves that applied,
	// the step it failed in or the last one it ran; Phase is empty for a
	// sync applied at once.
	Phase hook.Phase
	Wave  int
	// Warnings are what the render reported without failing, each naming
	// its file (a kustomization's deprecated fields).
	Warnings []string
}

// StepTime is how long one step of a sync (fetch, render, apply, …) took.
type StepTime struct {
	Step     string
	Duration time.Duration
}
