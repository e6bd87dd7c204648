package apply

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// Options configures a Manager. Start from DefaultOptions; a zero field
// takes its default.
type Options struct {
	// FieldManager owns every field the manager applies. Default
	// v1alpha1.FieldManager ("flotilla"); one Manager per cluster and field
	// manager.
	FieldManager string
	// Concurrency is how many objects are read, dry-run, written or deleted
	// at once. Default 4. The rest.Config's QPS and Burst still apply.
	Concurrency int
	// CRDTimeout bounds the wait for the CustomResourceDefinitions of an
	// Apply to be Established and served. Default 1 minute.
	CRDTimeout time.Duration
	// PollInterval is how often a wait checks again. Default 200ms.
	PollInterval time.Duration
	// Live, if set, tells the resourceVersion of the cluster's objects from
	// a watch cache: an object whose desired state and live resourceVersion
	// are those of its last apply (or of the last dry-run that found it
	// unchanged) is Unchanged without a read or a dry-run.
	Live LiveVersions
}

// DefaultOptions returns the options Flotilla runs with: field manager
// "flotilla", 4 objects at once, CRDs Established within 1 minute, checked
// every 200ms.
func DefaultOptions() Options {
	return Options{
		FieldManager: flotillav1.FieldManager,
		Concurrency:  4,
		CRDTimeout:   time.Minute,
		PollInterval: 200 * time.Millisecond,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.FieldManager == "" {
		o.FieldManager = d.FieldManager
	}
	if o.Concurrency < 1 {
		o.Concurrency = d.Concurrency
	}
	if o.CRDTimeout <= 0 {
		o.CRDTimeout = d.CRDTimeout
	}
	if o.PollInterval <= 0 {
		o.PollInterval = d.PollInterval
	}
	return o
}

// Manager applies, compares and prunes the objects of Applications in one
// cluster. It is safe for concurrent use by many Applications.
type Manager struct {
	dyn dynamic.Interface
	// disco is uncached: prune guards must see every kind served now.
	disco  discovery.DiscoveryInterfaceWithContext
	mapper *restmapper.DeferredDiscoveryRESTMapper
	opts   Options
	memo   *memo
}

// NewManager returns a Manager for the cluster cfg points at, with clients
// and a REST mapper of its own (the engine shares one set for each cluster:
// NewSharedManager). It does not contact the cluster; discovery happens on
// first use and again whenever a kind is not found (so a CRD applied in the
// same sync becomes usable).
func NewManager(cfg *rest.Config, opts Options) (*Manager, error) {
	cfg = rest.CopyConfig(cfg)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("apply: dynamic client: %w", err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("apply: discovery client: %w", err)
	}
	raw := discovery.ToDiscoveryInterfaceWithContext(disco)
	return NewSharedManager(dyn, disco, restmapper.NewDeferredDiscoveryRESTMapperWithContext(memory.NewMemCacheClientWithContext(raw)), opts), nil
}

// NewSharedManager returns a Manager that maps kinds through mapper, shared
// with whatever else reaches the cluster (its watcher, the managers that
// impersonate other users): the cluster's API list is read once for all of
// them, and read again for all when one misses a kind.
func NewSharedManager(dyn dynamic.Interface, disco discovery.DiscoveryInterface, mapper *restmapper.DeferredDiscoveryRESTMapper, opts Options) *Manager {
	return &Manager{
		dyn:    dyn,
		disco:  discovery.ToDiscoveryInterfaceWithContext(disco),
		mapper: mapper,
		opts:   opts.withDefaults(),
		memo:   newMemo(),
	}
}

// Owner is the Application that applies, owns and prunes objects.
type Owner struct {
	Namespace string
	Name      string
	UID       string
}

// Annotation is the value of v1alpha1.OwnerAnnotation on every object the
// owner applies: "namespace/name/uid".
func (o Owner) Annotation() string {
	return o.Namespace + "/" + o.Name + "/" + o.UID
}

// String names the owner as "namespace/name".
func (o Owner) String() string { return o.Namespace + "/" + o.Name }

func (o Owner) validate() error {
	switch {
	case o.Namespace == "" || o.Name == "" || o.UID == "":
		return fmt.Errorf("%w: namespace, name and uid are all required", ErrInvalidOwner)
	case strings.Contains(o.Namespace+o.Name+o.UID, "/"):
		return fmt.Errorf("%w: %q contains a '/'", ErrInvalidOwner, o.Annotation())
	}
	if errs := validation.IsValidLabelValue(o.Name); len(errs) > 0 {
		return fmt.Errorf("%w: name %q cannot be the value of label %s: %s",
			ErrInvalidOwner, o.Name, flotillav1.TrackingLabel, strings.Join(errs, "; "))
	}
	return nil
}

// resolver maps kinds to resources for one call. When a kind is not found it
// rediscovers the cluster's API, at most once per kind and call, so that a
// CRD installed since the last discovery is seen without a discovery storm.
type resolver struct {
	m       *Manager
	retried map[schema.GroupKind]bool
}

func (m *Manager) newResolver() *resolver {
	return &resolver{m: m, retried: map[schema.GroupKind]bool{}}
}

// mapping returns the REST mapping of gvk: exactly that version, or, with
// anyVersion, any version the cluster serves for the kind.
func (r *resolver) mapping(ctx context.Context, gvk schema.GroupVersionKind, anyVersion bool) (*meta.RESTMapping, error) {
	find := func() (*meta.RESTMapping, error) {
		mp, err := r.m.mapper.RESTMappingWithContext(ctx, gvk.GroupKind(), gvk.Version)
		if anyVersion && meta.IsNoMatchError(err) {
			mp, err = r.m.mapper.RESTMappingWithContext(ctx, gvk.GroupKind())
		}
		return mp, err
	}
	mp, err := find()
	if err == nil || !meta.IsNoMatchError(err) || r.retried[gvk.GroupKind()] {
		return mp, err
	}
	r.retried[gvk.GroupKind()] = true
	r.m.mapper.ResetWithContext(ctx)
	return find()
}

// resource returns the client for mapping's resource in namespace ns.
func (m *Manager) resource(mapping *meta.RESTMapping, ns string) dynamic.ResourceInterface {
	nri := m.dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return nri.Namespace(ns)
	}
	return nri
}
