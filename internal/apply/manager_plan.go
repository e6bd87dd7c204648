package apply

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/flotilla-dev/flotilla/internal/diff"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// ApplyOptions says how to apply one Application's objects.
type ApplyOptions struct {
	// Owner is the Application the objects belong to. Required.
	Owner Owner
	// DefaultNamespace is given to namespaced objects that have none: the
	// Application's destination namespace.
	DefaultNamespace string
	// CreateNamespace creates DefaultNamespace first if it does not exist.
	// The namespace then belongs to the Application (label and annotation)
	// and is reported in the ChangeSet; an existing namespace that is not the
	// Application's is used as it is, neither reported nor claimed.
	CreateNamespace bool
	// NamespaceChecked says an earlier call of the same sync (Inventory)
	// read DefaultNamespace and decided: CreateNamespace then stands for
	// that decision, and the Namespace is not read again. Should it have
	// appeared since as another's, its dry-run finds the Conflict.
	NamespaceChecked bool
	// AdoptUnowned takes over objects that exist without any owner
	// annotation. Off by default: such an object is a Conflict. An object
	// owned by another Application is a Conflict either way.
	AdoptUnowned bool
	// AdoptEarlier takes over objects whose owner annotation names an
	// earlier Application of the same namespace and name (another uid): the
	// Application was deleted and made again, for example restored from a
	// backup. One hub never holds two Applications of one namespace and name,
	// so the earlier owner no longer exists. An object of any other
	// Application stays a Conflict.
	AdoptEarlier bool
}

// plan is what the manager found for one object: its action and, when the
// action is Failed, why.
type plan struct {
	obj     *object
	action  Action
	message string
	owner   string // the live owner annotation, for a Conflict
	err     *ObjectError
	// live and dry are the live object and the dry-run result, once read.
	live, dry *unstructured.Unstructured
	// generation is the object's metadata.generation the write returned.
	generation int64
}

// pair is what a diff of the plan shows: the dry-run result against the
// live object; the rendered object alone when there was no dry-run, it
// failed, or the live object is another's.
func (p plan) pair() diff.Pair {
	switch p.action {
	case ActionCreated, ActionConfigured, ActionUnchanged:
		if p.dry != nil {
			return diff.Pair{Desired: p.dry, Live: p.live}
		}
	}
	return diff.Pair{Desired: p.obj.u}
}

func (p plan) change() Change {
	c := Change{Object: p.obj.key, Action: p.action, Message: p.message, CurrentOwner: p.owner, Generation: p.generation}
	if p.err != nil {
		c.Message = p.err.Detail()
	}
	return c
}

// planAll plans every object, Options.Concurrency at a time, keeping order.
func (m *Manager) planAll(ctx context.Context, objs []*object, opts ApplyOptions) []plan {
	plans := make([]plan, len(objs))
	m.forEach(len(objs), func(i int) { plans[i] = m.planObject(ctx, objs[i], opts) })
	return plans
}

// planObject is the one per-object flow of Apply and Compare: dry-run the
// apply, read the live object, check who owns it and compare the dry-run's
// result with the live object. It writes nothing.
//
// The dry-run comes first: an answer without a resourceVersion is an
// object the apply would create, so there is nothing to read, own or
// compare (issue 13: a new object costs a dry-run and an apply, not a read
// as well). Whoever created the object since is found by the apply no
// sooner than by a read made before it: the window is the same.
func (m *Manager) planObject(ctx context.Context, o *object, opts ApplyOptions) plan {
	p := plan{obj: o}
	if m.memo.unchanged(o, m.opts.Live) {
		p.action = ActionUnchanged
		return p
	}
	ri := m.resource(o.mapping, o.key.Namespace)
	dry, dryErr := ri.Apply(ctx, o.key.Name, o.u, m.applyOptions(true))
	if dryErr == nil && dry.GetResourceVersion() == "" {
		p.dry, p.action = dry, ActionCreated
		return p
	}
	live, err := ri.Get(ctx, o.key.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		live = nil
	case err != nil:
		return p.fail(OpRead, flotillav1.ReasonDryRunFailed, err)
	}
	adopted := ""
	if live != nil {
		// Another owner's object is a Conflict, whether or not its
		// dry-run passed: Flotilla does not touch it.
		current := live.GetAnnotations()[flotillav1.OwnerAnnotation]
		adopted = adoption(opts, current)
		if current != opts.Owner.Annotation() && adopted == "" {
			m.memo.forget(o.key.Identity())
			p.action, p.owner, p.message = ActionConflict, current, conflictMessage(opts.Owner, current)
			return p
		}
	}
	if dryErr != nil {
		return p.fail(OpDryRun, flotillav1.ReasonDryRunFailed, dryErr)
	}
	p.live, p.dry = live, dry
	switch {
	case live == nil:
		p.action = ActionCreated
	case adopted != "":
		p.action, p.message = ActionConfigured, adopted
	case sameObject(live, dry):
		p.action = ActionUnchanged
		m.memo.remember(o, live.GetResourceVersion())
	default:
		p.action = ActionConfigured
	}
	return p
}

// adoption says why opts.Owner may take over an object whose owner
// annotation is current ("adopted: …"), or "" when it may not (or when the
// object is already the owner's).
func adoption(opts ApplyOptions, current string) string {
	switch {
	case current == opts.Owner.Annotation():
		return ""
	case current == "" && opts.AdoptUnowned:
		return "adopted: it had no owner"
	case opts.AdoptEarlier && earlierOwner(opts.Owner, current):
		return "adopted from an earlier Application of the same name"
	}
	return ""
}

// earlierOwner says whether the owner annotation current names owner's
// namespace and name with another uid.
func earlierOwner(owner Owner, current string) bool {
	parts := strings.Split(current, "/")
	return len(parts) == 3 && parts[0] == owner.Namespace && parts[1] == owner.Name &&
		parts[2] != "" && parts[2] != owner.UID
}

func (p plan) fail(op Op, reason string, err error) plan {
	p.action = ActionFailed
	p.err = newObjectError(p.obj.key, p.obj.u, op, reason, err)
	return p
}

func (m *Manager) applyOptions(dryRun bool) metav1.ApplyOptions {
	o := metav1.ApplyOptions{FieldManager: m.opts.FieldManager, Force: true}
	if dryRun {
		o.DryRun = []string{metav1.DryRunAll}
	}
	return o
}

// conflictMessage says whose the object is. The annotation is the live
// object's, so anyone could have written it: it is quoted and cut short.
func conflictMessage(owner Owner, current string) string {
	if current == "" {
		return "exists and is not managed by Flotilla; delete it, or label it " + flotillav1.TrackingLabel + " and annotate it " + flotillav1.OwnerAnnotation + " for this Application, to let Flotilla take it over"
	}
	parts := strings.Split(current, "/")
	if len(parts) == 3 && parts[0] == owner.Namespace && parts[1] == owner.Name {
		return fmt.Sprintf("owned by an earlier Application %s/%s (uid %.64q)", parts[0], parts[1], parts[2])
	}
	if len(parts) == 3 {
		return fmt.Sprintf("owned by Application %.253q", parts[0]+"/"+parts[1])
	}
	return fmt.Sprintf("carries the owner annotation %.253q", current)
}

// sameObject says whether the dry-run result dry equals the live object,
// leaving out what internal/diff never counts as a difference.
func sameObject(live, dry *unstructured.Unstructured) bool {
	return equality.Semantic.DeepEqual(comparable(live), comparable(dry))
}

func comparable(u *unstructured.Unstructured) map[string]any {
	c := u.DeepCopy().Object
	diff.Normalize(c)
	return c
}

// forEach calls fn(0) … fn(n-1), Options.Concurrency at a time, and returns
// when all have returned.
func (m *Manager) forEach(n int, fn func(i int)) {
	sem := make(chan struct{}, m.opts.Concurrency)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}
