package cluster

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// ErrNotManaged marks an object that carries the tracking label but whose
// owner annotation names no known Application: the cache keeps only its name.
var ErrNotManaged = errors.New("not managed by a known Application")

// WatcherOptions configure a Watcher.
type WatcherOptions struct {
	// OnChange is called with the owning Application of every object that
	// may have drifted: deleted, found missing and appeared since, or
	// changed in the fields Flotilla applied (see statusOnly). Its owner
	// syncs: compares, and with selfHeal restores.
	OnChange func(app types.NamespacedName)
	// OnStatus is called with the owning Application of every object whose
	// change leaves what Flotilla applied as it was (its status moved, or
	// fields of other managers), of every object it created that has
	// appeared since, and of every Application that asked for a kind whose
	// cache had not filled yet, once it has: only their health is to be
	// read again. Nil means OnChange.
	OnStatus func(app types.NamespacedName)
	// Known says whether an Application exists. The cache keeps only the
	// name and owner of an object whose owner annotation names none; nil
	// means every owner is known.
	Known func(app types.NamespacedName) bool
}

// Watcher watches, in one cluster, only the objects that carry Flotilla's
// tracking label, one informer per kind, started the first time an
// Application owns an object of that kind. Its cache is what health and
// drift read: memory grows with what Flotilla manages, never with the size
// of the cluster, and each cached object keeps only what health needs
// (see slim).
type Watcher struct {
	cluster string
	factory dynamicinformer.DynamicSharedInformerFactory
	mapper  *restmapper.DeferredDiscoveryRESTMapper
	opts    WatcherOptions
	// mark tells the objects this Watcher's transform slimmed already.
	mark string

	mu        sync.Mutex
	informers map[schema.GroupVersionResource]*kindWatch
	// missed are the objects a reader found absent: when one appears, its
	// owner is told, so that its health is read again at once.
	missed map[objectKey]appearance
	// settled holds, for an object whose last changes all left what
	// Flotilla applied as it was (news of health), the resourceVersions
	// of that run, oldest first: the apply memo holds to any of them.
	settled  map[objectKey][]string
	stop     chan struct{}
	stopOnce sync.Once
}

// kindWatch is the informer of one kind and the Applications waiting for
// its cache to fill.
type kindWatch struct {
	informer cache.SharedIndexInformer
	waiting  map[types.NamespacedName]bool
}

type objectKey struct {
	gvr             schema.GroupVersionResource
	namespace, name string
}

// NewWatcher makes a Watcher for the cluster reached through cfg, with
// clients of its own.
func NewWatcher(cfg *rest.Config, cluster string, opts WatcherOptions) (*Watcher, error) {
	c, err := NewClients(cfg, cluster)
	if err != nil {
		return nil, err
	}
	return c.NewWatcher(opts), nil
}

// NewWatcher makes a Watcher that maps kinds through c's REST mapper.
// Watches are long requests that the API server ends itself (after 5 to 10
// minutes): c's request timeout, meant for short requests, is not applied
// to them, or every watch would be cut, and every cache refilled, each time
// it runs out.
func (c *Clients) NewWatcher(opts WatcherOptions) *Watcher {
	if opts.OnChange == nil {
		opts.OnChange = func(types.NamespacedName) {}
	}
	if opts.OnStatus == nil {
		opts.OnStatus = opts.OnChange
	}
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(c.watch, 0, metav1.NamespaceAll,
		func(o *metav1.ListOptions) { o.LabelSelector = flotillav1.TrackingLabel })
	return &Watcher{
		cluster:   c.Name,
		factory:   factory,
		mapper:    c.Mapper,
		opts:      opts,
		informers: map[schema.GroupVersionResource]*kindWatch{},
		missed:    map[objectKey]appearance{},
		settled:   map[objectKey][]string{},
		stop:      make(chan struct{}),
		mark:      rand.Text(),
	}
}

// Start makes sure the managed objects of resource gvr are watched, without
// waiting for the cache to fill.
func (w *Watcher) Start(gvr schema.GroupVersionResource) error {
	_, err := w.start(gvr)
	return err
}

func (w *Watcher) start(gvr schema.GroupVersionResource) (*kindWatch, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if kw, ok := w.informers[gvr]; ok {
		return kw, nil
	}
	inf := w.factory.ForResource(gvr).Informer()
	if err := inf.SetTransform(w.slim); err != nil {
		return nil, fmt.Errorf("cluster %s: watch %s: %w", w.cluster, gvr.String(), err)
	}
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc:    func(obj any, initial bool) { w.added(gvr, obj, initial) },
		UpdateFunc: func(oldObj, newObj any) { w.changed(gvr, oldObj, newObj) },
		DeleteFunc: func(obj any) { w.changed(gvr, nil, obj) },
	})
	if err != nil {
		return nil, fmt.Errorf("cluster %s: watch %s: %w", w.cluster, gvr.String(), err)
	}
	kw := &kindWatch{informer: inf, waiting: map[types.NamespacedName]bool{}}
	w.informers[gvr] = kw
	go inf.Run(w.stop)
	go w.tellWhenSynced(kw)
	return kw, nil
}

// Wait waits (bounded by ctx) until the cache of gvr, started before, is
// filled. When it is not, app is told through OnStatus once it is: its
// health is read again then, not only at its next interval.
func (w *Watcher) Wait(ctx context.Context, gvr schema.GroupVersionResource, app types.NamespacedName) error {
	w.mu.Lock()
	kw, ok := w.informers[gvr]
	w.mu.Unlock()
	if !ok {
		return fmt.Errorf("cluster %s: %s is not watched", w.cluster, gvr.String())
	}
	if cache.WaitForCacheSync(ctx.Done(), kw.informer.HasSynced) {
		return nil
	}
	w.mu.Lock()
	synced := kw.informer.HasSynced()
	if !synced {
		kw.waiting[app] = true
	}
	w.mu.Unlock()
	if synced {
		return nil
	}
	return fmt.Errorf("cluster %s: watch %s: cache did not sync", w.cluster, gvr.String())
}

// Watch starts watching gvr and waits until its cache is filled, at most
// 30s or until ctx ends.
func (w *Watcher) Watch(ctx context.Context, gvr schema.GroupVersionResource, app types.NamespacedName) error {
	if err := w.Start(gvr); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return w.Wait(ctx, gvr, app)
}

// tellWhenSynced tells the Applications that waited in vain for kw's cache
// that it is filled now.
func (w *Watcher) tellWhenSynced(kw *kindWatch) {
	if !cache.WaitForCacheSync(w.stop, kw.informer.HasSynced) {
		return
	}
	w.mu.Lock()
	apps := kw.waiting
	kw.waiting = nil
	w.mu.Unlock()
	for app := range apps {
		w.opts.OnStatus(app)
	}
}

// Resource maps a kind to its resource, refreshing discovery once when the
// kind is new (a CRD applied since the last look).
func (w *Watcher) Resource(gvk schema.GroupVersionKind) (schema.GroupVersionResource, error) {
	m, err := w.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		w.mapper.Reset()
		m, err = w.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return schema.GroupVersionResource{}, fmt.Errorf("cluster %s: %s: %w", w.cluster, gvk.Kind, err)
	}
	return m.Resource, nil
}

// Get returns the object from the cache; ok is false when it is not there
// (deleted, or not carrying the tracking label). An object found absent is
// remembered: its owner is told when it appears.
func (w *Watcher) Get(gvr schema.GroupVersionResource, namespace, name string) (obj *unstructured.Unstructured, ok bool, err error) {
	key := objectKey{gvr: gvr, namespace: namespace, name: name}
	w.mu.Lock()
	kw, watched := w.informers[gvr]
	if _, awaited := w.missed[key]; watched && !awaited {
		// Before the read: an object added after it is then told.
		w.missed[key] = appearedDrift
	}
	w.mu.Unlock()
	if !watched {
		return nil, false, fmt.Errorf("cluster %s: %s is not watched", w.cluster, gvr.String())
	}
	storeKey := name
	if namespace != "" {
		storeKey = namespace + "/" + name
	}
	item, exists, err := kw.informer.GetStore().GetByKey(storeKey)
	u, isU := item.(*unstructured.Unstructured)
	if err != nil || !exists || !isU {
		return nil, false, err
	}
	w.mu.Lock()
	delete(w.missed, key)
	w.mu.Unlock()
	if isStub(u) {
		return nil, false, fmt.Errorf("%w: its owner annotation names no Application of this controller", ErrNotManaged)
	}
	return u, true, nil
}

// ResourceVersion returns the resourceVersion the cache holds for an object
// of gvr; ok is false when gvr is not watched, its cache is not filled yet,
// or the object is not there. Unlike Get, it remembers nothing.
func (w *Watcher) ResourceVersion(gvr schema.GroupVersionResource, namespace, name string) (rv string, ok bool) {
	return w.cachedVersion(gvr, namespace, name)
}

// AppliedAsAt says whether what Flotilla applied to an object of gvr is,
// in the cache, as it was at resourceVersion rv: the cache holds rv, or
// every change the watch showed since rv was news of health only (a
// Deployment's status and revision annotation, another manager's fields).
// A change the watch has not told yet, or one it could not tell, says no.
func (w *Watcher) AppliedAsAt(gvr schema.GroupVersionResource, namespace, name, rv string) bool {
	cur, ok := w.cachedVersion(gvr, namespace, name)
	if !ok || rv == "" {
		return false
	}
	if cur == rv {
		return true
	}
	w.mu.Lock()
	run := w.settled[objectKey{gvr: gvr, namespace: namespace, name: name}]
	w.mu.Unlock()
	return len(run) > 0 && run[len(run)-1] == cur && slices.Contains(run, rv)
}

// maxSettled bounds the resourceVersions kept of one object's run of
// changes that were news of health.
const maxSettled = 16

// settle records a change of an object from old to cur: a run of changes
// that left what Flotilla applied as it was goes on, any other ends it, an
// apply of Flotilla's that changed values included (the apply memo of the
// manager that applied knows of it; another's must not hold to an older
// version).
func (w *Watcher) settle(gvr schema.GroupVersionResource, old, cur *unstructured.Unstructured, healthOnly bool) {
	key := objectKey{gvr: gvr, namespace: cur.GetNamespace(), name: cur.GetName()}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !healthOnly {
		delete(w.settled, key)
		return
	}
	run := w.settled[key]
	if len(run) == 0 || run[len(run)-1] != old.GetResourceVersion() {
		run = []string{old.GetResourceVersion()}
	}
	if len(run) == maxSettled {
		run = run[1:]
	}
	w.settled[key] = append(run, cur.GetResourceVersion())
}

func (w *Watcher) cachedVersion(gvr schema.GroupVersionResource, namespace, name string) (rv string, ok bool) {
	w.mu.Lock()
	kw, watched := w.informers[gvr]
	w.mu.Unlock()
	if !watched || !kw.informer.HasSynced() {
		return "", false
	}
	storeKey := name
	if namespace != "" {
		storeKey = namespace + "/" + name
	}
	item, exists, err := kw.informer.GetStore().GetByKey(storeKey)
	u, isU := item.(*unstructured.Unstructured)
	if err != nil || !exists || !isU || isStub(u) {
		return "", false
	}
	return u.GetResourceVersion(), true
}

// Watched is how many kinds are watched.
func (w *Watcher) Watched() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.informers)
}

// Stop ends every watch.
func (w *Watcher) Stop() { w.stopOnce.Do(func() { close(w.stop) }) }

// Stopped says whether Stop was called.
func (w *Watcher) Stopped() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

// Await marks an object that Flotilla has just created and a reader may
// find absent, its watch not having shown the create yet: when it appears,
// its owner's health is read again (OnStatus), with no sync, since its
// appearance is that create. Call it before the Get that may miss it.
func (w *Watcher) Await(gvr schema.GroupVersionResource, namespace, name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, watched := w.informers[gvr]; watched {
		w.missed[objectKey{gvr: gvr, namespace: namespace, name: name}] = appearedAwaited
	}
}

// appearance is what the appearance of an object found missing means.
type appearance int

const (
	// appearedDrift: someone made the object; it may differ from what its
	// owner applies.
	appearedDrift appearance = iota
	// appearedAwaited: the object Flotilla created has reached the cache.
	appearedAwaited
)

// added tells the owner of an object that appeared after a reader found it
// missing; the objects of a cache's first fill are not news.
func (w *Watcher) added(gvr schema.GroupVersionResource, obj any, initial bool) {
	u := asUnstructured(obj)
	if u == nil || initial {
		return
	}
	key := objectKey{gvr: gvr, namespace: u.GetNamespace(), name: u.GetName()}
	w.mu.Lock()
	how, missed := w.missed[key]
	delete(w.missed, key)
	w.mu.Unlock()
	if !missed {
		return
	}
	if app, ok := ownerOf(u); ok {
		if how == appearedAwaited {
			w.opts.OnStatus(app)
			return
		}
		w.opts.OnChange(app)
	}
}

// changed tells the owner of an object that changed or was deleted: a
// resync or a relist that finds the same resourceVersion is not a change,
// and a change that leaves what Flotilla applied as it was is only news of
// health.
func (w *Watcher) changed(gvr schema.GroupVersionResource, oldObj, newObj any) {
	u := asUnstructured(newObj)
	if u == nil {
		return
	}
	old := asUnstructured(oldObj)
	if old != nil && old.GetResourceVersion() == u.GetResourceVersion() {
		return // a resync, not a change
	}
	healthOnly := old != nil && statusOnly(old, u)
	w.settle(gvr, old, u, healthOnly && sameApply(old, u))
	app, ok := ownerOf(u)
	if !ok {
		return
	}
	if healthOnly {
		w.opts.OnStatus(app)
		return
	}
	w.opts.OnChange(app)
}

func asUnstructured(obj any) *unstructured.Unstructured {
	switch o := obj.(type) {
	case *unstructured.Unstructured:
		return o
	case cache.DeletedFinalStateUnknown:
		u, _ := o.Obj.(*unstructured.Unstructured)
		return u
	}
	return nil
}

// ownerOf reads the owning Application from the owner annotation.
func ownerOf(u *unstructured.Unstructured) (types.NamespacedName, bool) {
	parts := strings.Split(annotation(u, flotillav1.OwnerAnnotation), "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return types.NamespacedName{}, false
	}
	return types.NamespacedName{Namespace: parts[0], Name: parts[1]}, true
}
