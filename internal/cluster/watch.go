package cluster

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// Watcher watches, in one cluster, only the objects that carry Flotilla's
// tracking label, one informer per kind, started the first time an
// Application owns an object of that kind. Its cache is what health and
// drift read: memory grows with what Flotilla manages, never with the size
// of the cluster.
type Watcher struct {
	cluster  string
	factory  dynamicinformer.DynamicSharedInformerFactory
	mapper   *restmapper.DeferredDiscoveryRESTMapper
	onChange func(app types.NamespacedName)

	mu        sync.Mutex
	informers map[schema.GroupVersionResource]cache.SharedIndexInformer
	stop      chan struct{}
	stopOnce  sync.Once
}

// NewWatcher makes a Watcher for the cluster reached through cfg. onChange
// is called with the owning Application of every object that is changed or
// deleted in the cluster.
func NewWatcher(cfg *rest.Config, cluster string, onChange func(app types.NamespacedName)) (*Watcher, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cluster, err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cluster, err)
	}
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, metav1.NamespaceAll,
		func(o *metav1.ListOptions) { o.LabelSelector = flotillav1.TrackingLabel })
	return &Watcher{
		cluster:   cluster,
		factory:   factory,
		mapper:    restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco)),
		onChange:  onChange,
		informers: map[schema.GroupVersionResource]cache.SharedIndexInformer{},
		stop:      make(chan struct{}),
	}, nil
}

// Watch makes sure the managed objects of resource gvr are watched, and
// waits (bounded by ctx) until its cache is filled.
func (w *Watcher) Watch(ctx context.Context, gvr schema.GroupVersionResource) error {
	w.mu.Lock()
	inf, ok := w.informers[gvr]
	if !ok {
		inf = w.factory.ForResource(gvr).Informer()
		_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			UpdateFunc: func(oldObj, newObj any) { w.changed(oldObj, newObj) },
			DeleteFunc: func(obj any) { w.changed(nil, obj) },
		})
		if err != nil {
			w.mu.Unlock()
			return err
		}
		w.informers[gvr] = inf
		go inf.Run(w.stop)
	}
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return fmt.Errorf("cluster %s: watch %s: cache did not sync", w.cluster, gvr.String())
	}
	return nil
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
// (deleted, or not carrying the tracking label).
func (w *Watcher) Get(gvr schema.GroupVersionResource, namespace, name string) (obj *unstructured.Unstructured, ok bool, err error) {
	w.mu.Lock()
	inf, watched := w.informers[gvr]
	w.mu.Unlock()
	if !watched {
		return nil, false, fmt.Errorf("cluster %s: %s is not watched", w.cluster, gvr.String())
	}
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	item, exists, err := inf.GetStore().GetByKey(key)
	if err != nil || !exists {
		return nil, false, err
	}
	u, isU := item.(*unstructured.Unstructured)
	if !isU {
		return nil, false, nil
	}
	return u, true, nil
}

// Watched is how many kinds are watched.
func (w *Watcher) Watched() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.informers)
}

// Stop ends every watch.
func (w *Watcher) Stop() { w.stopOnce.Do(func() { close(w.stop) }) }

// changed tells the owner of an object that changed in a way that matters:
// status-only updates (same generation, same metadata) are noise here, but a
// change to metadata or, for kinds without generation, anything is not.
func (w *Watcher) changed(oldObj, newObj any) {
	u := asUnstructured(newObj)
	if u == nil {
		return
	}
	if old := asUnstructured(oldObj); old != nil && old.GetResourceVersion() == u.GetResourceVersion() {
		return // a resync, not a change
	}
	ns, name, ok := ownerOf(u)
	if !ok {
		return
	}
	w.onChange(types.NamespacedName{Namespace: ns, Name: name})
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
func ownerOf(u *unstructured.Unstructured) (namespace, name string, ok bool) {
	parts := strings.Split(u.GetAnnotations()[flotillav1.OwnerAnnotation], "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}
