package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// kind is a kind of object the agent follows, by the constructors of its
// object and list.
type kind struct {
	name string
	obj  func() client.Object
	list func() client.ObjectList
}

var (
	roleKind        = kind{"Role", func() client.Object { return &rbacv1.Role{} }, func() client.ObjectList { return &rbacv1.RoleList{} }}
	applicationKind = kind{"Application", func() client.Object { return &flotillav1.Application{} }, func() client.ObjectList { return &flotillav1.ApplicationList{} }}
	secretKind      = kind{"Secret", func() client.Object { return &corev1.Secret{} }, func() client.ObjectList { return &corev1.SecretList{} }}
	projectKind     = kind{"Project", func() client.Object { return &flotillav1.Project{} }, func() client.ObjectList { return &flotillav1.ProjectList{} }}
)

// kindOfObject is the followed kind of obj.
func kindOfObject(obj client.Object) (kind, bool) {
	switch obj.(type) {
	case *rbacv1.Role:
		return roleKind, true
	case *flotillav1.Application:
		return applicationKind, true
	case *corev1.Secret:
		return secretKind, true
	case *flotillav1.Project:
		return projectKind, true
	}
	return kind{}, false
}

type watchKey struct{ kind, name string }

// watches follow objects of one namespace, each with a watch of its own:
// the agent's hub credential may read its objects only by name (RBAC's
// resourceNames), and a list or watch narrowed by the field selector
// metadata.name is authorized as a read of that name. A watch re-lists
// only when the API server can no longer resume it, so an idle agent sends
// the hub no requests but the renewal of its watches and its heartbeat.
//
// Each watch keeps the last state it saw: with the hub unreachable the
// reads answer that state, and the watches resume (with the backoff of
// client-go's reflector) when the hub returns. Every event calls changed.
// An object not watched yet, or whose watch has not had its first answer,
// is read from the hub directly.
//
// The first failure of each watch to list or watch (Forbidden, say, when
// the hub's Role lags) is logged once; the next after it recovered is
// logged again, never each retry.
type watches struct {
	client    client.WithWatch
	direct    client.Reader
	namespace string
	// where names the API server in logs: "hub" or "cluster".
	where   string
	changed func(change)
	log     *slog.Logger
	// ctx bounds every watch; set by start.
	ctx context.Context

	mu      sync.Mutex
	running map[watchKey]*namedWatch
}

// change is what a watch saw.
type change struct {
	// statusOnly: an Application added, or updated in its status (or
	// resourceVersion, finalizers) alone; its spec, labels and
	// annotations are as they were.
	statusOnly bool
}

// namedWatch is the informer of one object, or of every object of its
// kind in the namespace when its name is empty.
type namedWatch struct {
	informer toolscache.SharedIndexInformer
	stop     context.CancelFunc
	// failing is set by a failed list or watch, cleared by one that works.
	failing atomic.Bool
}

// newWatches follow objects of namespace with c; direct reads what is not
// followed yet. where names the API server in logs.
func newWatches(c client.WithWatch, direct client.Reader, namespace, where string, log *slog.Logger, changed func(change)) *watches {
	return &watches{client: c, direct: direct, namespace: namespace, where: where, log: log, changed: changed,
		running: map[watchKey]*namedWatch{}}
}

// start makes the watches run until ctx ends.
func (w *watches) start(ctx context.Context) { w.ctx = ctx }

// follow makes the watches of k be exactly those of names: new names are
// watched, names left out are no longer.
func (w *watches) follow(k kind, names []string) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for key, nw := range w.running {
		if key.kind == k.name && !want[key.name] {
			nw.stop()
			delete(w.running, key)
		}
	}
	for name := range want {
		key := watchKey{k.name, name}
		if _, ok := w.running[key]; !ok {
			w.running[key] = w.run(k, name)
		}
	}
}

// run starts the informer of name (every object of k when empty).
func (w *watches) run(k kind, name string) *namedWatch {
	var sel string
	if name != "" {
		sel = fields.OneTermEqualSelector("metadata.name", name).String()
	}
	opts := func(o metav1.ListOptions) *client.ListOptions {
		o.FieldSelector = sel
		return &client.ListOptions{Namespace: w.namespace, Raw: &o}
	}
	nw := &namedWatch{}
	lw := &toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			list := k.list()
			err := w.client.List(ctx, list, opts(o))
			w.outcome(nw, k, name, err)
			return list, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			wi, err := w.client.Watch(ctx, k.list(), opts(o))
			w.outcome(nw, k, name, err)
			return wi, err
		},
	}
	nw.informer = toolscache.NewSharedIndexInformer(lw, k.obj(), 0, toolscache.Indexers{})
	// outcome logs the failures that matter, once; the reflector's own
	// handler would log every retry.
	_ = nw.informer.SetWatchErrorHandlerWithContext(func(context.Context, *toolscache.Reflector, error) {})
	_, _ = nw.informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { w.changed(change{statusOnly: k.name == applicationKind.name}) },
		UpdateFunc: func(old, obj any) { w.changed(change{statusOnly: statusOnly(old, obj)}) },
		DeleteFunc: func(any) { w.changed(change{}) },
	})
	ctx, stop := context.WithCancel(w.ctx)
	nw.stop = stop
	go nw.informer.RunWithContext(ctx)
	return nw
}

// outcome logs the first failure of nw's list or watch since it last
// worked. A Forbidden or other answer of the API server is told at Info:
// the watch stays blind until it is fixed (the hub's Role lags, a CRD is
// missing). An unreachable server at Debug: the round says it once for
// every watch.
func (w *watches) outcome(nw *namedWatch, k kind, name string, err error) {
	if err == nil {
		if nw.failing.CompareAndSwap(true, false) {
			w.log.Debug("watch works again", "where", w.where, "kind", k.name, "name", name)
		}
		return
	}
	if errors.Is(err, context.Canceled) || !nw.failing.CompareAndSwap(false, true) {
		return
	}
	level := slog.LevelDebug
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		level = slog.LevelInfo
	}
	w.log.Log(context.Background(), level, "watch failed: retrying with backoff",
		"where", w.where, "kind", k.name, "name", name, "reason", string(apierrors.ReasonForError(err)), "error", err)
}

// statusOnly says whether an update of an Application changed only its
// status (or resourceVersion, managed fields, finalizers): what the agent
// copies, its spec, labels and annotations, is unchanged.
func statusOnly(old, obj any) bool {
	a, okA := old.(*flotillav1.Application)
	b, okB := obj.(*flotillav1.Application)
	return okA && okB && a.Generation == b.Generation && maps.Equal(a.Labels, b.Labels) &&
		maps.Equal(a.Annotations, b.Annotations) && a.DeletionTimestamp.Equal(b.DeletionTimestamp)
}

// synced says whether the watch of name (every object of k when empty)
// has had its first answer; false when it is not followed.
func (w *watches) synced(k kind, name string) bool {
	w.mu.Lock()
	nw := w.running[watchKey{k.name, name}]
	w.mu.Unlock()
	return nw != nil && nw.informer.HasSynced()
}

// all are the objects the watch of every object of k holds, as it last saw
// them; ok is false until it has had its first answer. The objects are
// the watch's own: read them, never change them.
func (w *watches) all(k kind) (objs []client.Object, ok bool) {
	w.mu.Lock()
	nw := w.running[watchKey{k.name, ""}]
	w.mu.Unlock()
	if nw == nil || !nw.informer.HasSynced() {
		return nil, false
	}
	for _, item := range nw.informer.GetStore().List() {
		if obj, isObj := item.(client.Object); isObj {
			objs = append(objs, obj)
		}
	}
	return objs, true
}

// Get reads obj from the last state its watch saw: not found when the
// watch has seen it deleted or never created. Until the watch's first
// state, it reads the hub.
func (w *watches) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	k, ok := kindOfObject(obj)
	if !ok {
		return fmt.Errorf("the agent does not watch %T", obj)
	}
	w.mu.Lock()
	nw := w.running[watchKey{k.name, key.Name}]
	w.mu.Unlock()
	if nw == nil || !nw.informer.HasSynced() || key.Namespace != w.namespace {
		return w.direct.Get(ctx, key, obj, opts...)
	}
	item, exists, err := nw.informer.GetStore().GetByKey(key.Namespace + "/" + key.Name)
	if err != nil {
		return err
	}
	if !exists {
		return apierrors.NewNotFound(schema.GroupResource{Resource: k.name}, key.Name)
	}
	src, ok := item.(runtime.Object)
	if !ok {
		return fmt.Errorf("%s %s: the watch holds a %T", k.name, key.Name, item)
	}
	out, in := reflect.ValueOf(obj), reflect.ValueOf(src.DeepCopyObject())
	if out.Type() != in.Type() {
		return fmt.Errorf("%s %s: the watch holds a %T", k.name, key.Name, item)
	}
	out.Elem().Set(in.Elem())
	return nil
}
