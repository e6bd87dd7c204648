package live

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/apply"
	"github.com/flotilla-dev/flotilla/internal/health"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// maxDepth is how many generations below a managed object the tree goes:
// a CronJob's Jobs' Pods are two.
const maxDepth = 3

// Tree returns the Application's managed objects (status.resources, in
// their order) and, after them, their descendants found through owner
// references, at most Limits.MaxNodes nodes. Of a cluster in agent mode it
// returns the managed objects as the agent reported them.
func (r *Reader) Tree(ctx context.Context, app *flotillav1.Application) (*wire.Tree, error) {
	c, err := r.target(ctx, app)
	if errors.Is(err, ErrAgentMode) {
		return r.reportedTree(app), nil
	}
	if err != nil {
		return nil, err
	}
	checker, err := r.checker(app, c)
	if err != nil {
		return nil, err
	}
	b := &treeBuilder{r: r, c: c, app: app, checker: checker, tree: &wire.Tree{Nodes: []wire.ResourceNode{}}}
	if err := b.managed(ctx); err != nil {
		return nil, err
	}
	if err := b.descendants(ctx); err != nil {
		return nil, err
	}
	return b.tree, nil
}

// checker assesses health as the controller does, with the Application's
// health checks.
func (r *Reader) checker(app *flotillav1.Application, c *clients) (*health.Checker, error) {
	opts := health.DefaultOptions()
	opts.Pods = health.PodsFromClient(c.Kube)
	if len(app.Spec.HealthChecks) > 0 {
		checks, err := health.CompileChecks(app.Spec.HealthChecks, health.DefaultCheckOptions())
		if err != nil {
			return nil, fmt.Errorf("%w: spec.healthChecks: %w", ErrBadRequest, err)
		}
		opts.Checks = checks
	}
	return health.NewChecker(opts), nil
}

type treeBuilder struct {
	r       *Reader
	c       *clients
	app     *flotillav1.Application
	checker *health.Checker
	tree    *wire.Tree
	// level are the live objects whose children are looked for next.
	level []*unstructured.Unstructured
}

func (b *treeBuilder) full() bool {
	if len(b.tree.Nodes) >= b.r.opts.Limits.MaxNodes {
		b.tree.Truncated = true
		return true
	}
	return false
}

// managed adds a node per inventory entry: Missing when it is not in the
// cluster, Unknown (and without children) when the live object is not
// this Application's.
func (b *treeBuilder) managed(ctx context.Context) error {
	for _, res := range b.app.Status.Resources {
		if b.full() {
			return nil
		}
		ref := wire.ObjectRef{Group: res.Group, Version: res.Version, Kind: res.Kind, Namespace: res.Namespace, Name: res.Name}
		node := wire.ResourceNode{ObjectRef: ref, Managed: true, Sync: string(res.Sync)}
		obj, err := b.c.get(ctx, ref)
		switch {
		case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
			node.Health = &wire.Health{Status: string(flotillav1.HealthMissing), Message: "not found"}
		case err != nil:
			return fmt.Errorf("%w: cluster %s: read %s: %w", ErrUnavailable, b.c.Name, refString(ref), err)
		case !ownedByApp(obj, b.app):
			node.Health = &wire.Health{Status: string(flotillav1.HealthUnknown), Message: "the live object is not this Application's"}
		default:
			node.UID = string(obj.GetUID())
			node.Health = b.health(ctx, obj)
			b.level = append(b.level, obj)
		}
		b.tree.Nodes = append(b.tree.Nodes, node)
	}
	return nil
}

// descendants adds the children of each level, generation by generation.
func (b *treeBuilder) descendants(ctx context.Context) error {
	for depth := 0; depth < maxDepth && len(b.level) > 0; depth++ {
		var next []*unstructured.Unstructured
		for _, parent := range b.level {
			for _, ck := range childKinds[parent.GroupVersionKind().GroupKind()] {
				if b.full() {
					return nil
				}
				kids, err := b.c.children(ctx, parent, ck, b.r.opts.Limits.MaxNodes-len(b.tree.Nodes))
				if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err) {
					return fmt.Errorf("%w: cluster %s: list %s: %w", ErrUnavailable, b.c.Name, ck.gvr.Resource, err)
				}
				for _, kid := range kids {
					b.tree.Nodes = append(b.tree.Nodes, b.child(ctx, kid, parent))
					next = append(next, kid)
				}
			}
		}
		b.level = next
	}
	return nil
}

func (b *treeBuilder) child(ctx context.Context, obj, parent *unstructured.Unstructured) wire.ResourceNode {
	n := wire.ResourceNode{ObjectRef: refOf(obj), Health: b.health(ctx, obj)}
	p := refOf(parent)
	p.Version = ""
	n.Parents = []wire.ObjectRef{p}
	return n
}

func (b *treeBuilder) health(ctx context.Context, obj *unstructured.Unstructured) *wire.Health {
	res := b.checker.Assess(ctx, obj)
	return &wire.Health{Status: string(res.Status), Message: res.Message}
}

// ownedByApp says whether obj carries the owner annotation of app.
func ownedByApp(obj *unstructured.Unstructured, app *flotillav1.Application) bool {
	owner := apply.Owner{Namespace: app.Namespace, Name: app.Name, UID: string(app.UID)}
	return obj.GetAnnotations()[flotillav1.OwnerAnnotation] == owner.Annotation()
}

// get reads the object ref names; a kind the cluster does not serve is a
// NoMatch error.
func (c *clients) get(ctx context.Context, ref wire.ObjectRef) (*unstructured.Unstructured, error) {
	gk := schema.GroupKind{Group: ref.Group, Kind: ref.Kind}
	var versions []string
	if ref.Version != "" {
		versions = []string{ref.Version}
	}
	m, err := c.Mapper.RESTMapping(gk, versions...)
	if err != nil && ref.Version != "" {
		m, err = c.Mapper.RESTMapping(gk)
	}
	if err != nil {
		return nil, err
	}
	ns := ref.Namespace
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		ns = ""
	}
	return c.Dynamic.Resource(m.Resource).Namespace(ns).Get(ctx, ref.Name, metav1.GetOptions{})
}

func refOf(obj *unstructured.Unstructured) wire.ObjectRef {
	gvk := obj.GroupVersionKind()
	return wire.ObjectRef{
		Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind,
		Namespace: obj.GetNamespace(), Name: obj.GetName(), UID: string(obj.GetUID()),
	}
}

// refString writes ref as "Kind.group/namespace/name".
func refString(ref wire.ObjectRef) string {
	s := ref.Kind
	if ref.Group != "" {
		s += "." + ref.Group
	}
	if ref.Namespace != "" {
		s += "/" + ref.Namespace
	}
	return s + "/" + ref.Name
}
