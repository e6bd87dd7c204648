package server

import (
	"context"
	"fmt"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	crcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// store holds the informers of the four kinds the API serves. Reads come
// from memory; the objects it returns are shared with the informers and
// must not be changed (copy first, see view).
type store struct {
	cache  crcache.Cache
	synced atomic.Bool
}

func newStore(cfg *rest.Config, scheme *runtime.Scheme, namespace string) (*store, error) {
	c, err := crcache.New(cfg, crcache.Options{
		Scheme:            scheme,
		DefaultNamespaces: map[string]crcache.Config{namespace: {}},
		// The server never reads managedFields: leave them out of memory.
		DefaultTransform: crcache.TransformStripManagedFields(),
	})
	if err != nil {
		return nil, fmt.Errorf("informers: %w", err)
	}
	return &store{cache: c}, nil
}

// kinds are the objects the store watches, in the order the stream's
// initial state lists them.
func storeKinds() []client.Object {
	return []client.Object{&flotillav1.Project{}, &flotillav1.Cluster{}, &flotillav1.Fleet{}, &flotillav1.Application{}}
}

// watch registers h on every kind's informer.
func (s *store) watch(ctx context.Context, h func(kind string) toolscache.ResourceEventHandler) error {
	for _, obj := range storeKinds() {
		inf, err := s.cache.GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("informer of %T: %w", obj, err)
		}
		if _, err := inf.AddEventHandler(h(kindOf(obj))); err != nil {
			return err
		}
	}
	return nil
}

// run starts the informers and marks the store synced once they are.
func (s *store) run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.cache.Start(ctx) }()
	if !s.cache.WaitForCacheSync(ctx) {
		select {
		case err := <-errc:
			return fmt.Errorf("informers: %w", err)
		default:
			return fmt.Errorf("informers did not sync: %w", ctx.Err())
		}
	}
	s.synced.Store(true)
	return <-errc
}

// unsafe lists share the informers' objects: nothing may change them.
var unsafe = client.UnsafeDisableDeepCopy

func (s *store) applications(ctx context.Context) ([]flotillav1.Application, error) {
	var l flotillav1.ApplicationList
	err := s.cache.List(ctx, &l, unsafe)
	return l.Items, err
}

func (s *store) clusters(ctx context.Context) ([]flotillav1.Cluster, error) {
	var l flotillav1.ClusterList
	err := s.cache.List(ctx, &l, unsafe)
	return l.Items, err
}

func (s *store) fleets(ctx context.Context) ([]flotillav1.Fleet, error) {
	var l flotillav1.FleetList
	err := s.cache.List(ctx, &l, unsafe)
	return l.Items, err
}

func (s *store) projects(ctx context.Context) ([]flotillav1.Project, error) {
	var l flotillav1.ProjectList
	err := s.cache.List(ctx, &l, unsafe)
	return l.Items, err
}

// get reads one object into obj (a copy of the informer's).
func (s *store) get(ctx context.Context, namespace, name string, obj client.Object) error {
	return s.cache.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj)
}

// project returns the Project, for rbac.
func (s *store) project(namespace, name string) (*flotillav1.Project, bool) {
	p := &flotillav1.Project{}
	if err := s.get(context.Background(), namespace, name, p); err != nil {
		return nil, false
	}
	return p, true
}

// kindOf names the kind of one of the store's objects.
func kindOf(obj runtime.Object) string {
	switch obj.(type) {
	case *flotillav1.Application:
		return "Application"
	case *flotillav1.Cluster:
		return "Cluster"
	case *flotillav1.Fleet:
		return "Fleet"
	case *flotillav1.Project:
		return "Project"
	}
	return ""
}
