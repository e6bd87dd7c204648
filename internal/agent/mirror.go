package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cluster"
)

// What marks a copy in the agent's cluster.
const (
	// CopyAnnotation marks an Application, Secret or Project the agent
	// copied from the hub; only those are ever updated or deleted by it.
	CopyAnnotation = "agent.flotilla.dev/copy"
	// hubGenerationAnnotation is the hub's generation of the Application a
	// copy was last written from: the copy's observedGeneration is told to
	// the hub as that one.
	hubGenerationAnnotation = "agent.flotilla.dev/hub-generation"
)

// mirror copies the agent's Applications from the hub into its cluster and
// their status back.
type mirror struct {
	// hub writes status and reads what its watches cannot tell.
	hub client.Client
	// watched reads the hub's objects from their watches.
	watched *watches
	local   client.Client
	// copies reads the copies in the cluster from their watch.
	copies *watches
	opts   Options
	// kick asks the loop for a round; status for status to be written.
	kick   chan struct{}
	status chan struct{}
	log    *slog.Logger
	// granted are the Applications the Role granted at the last round
	// that read it.
	granted []string
	// pushed is the last status written to the hub, per Application, as
	// JSON: an unchanged status is not written again.
	pushed  map[string]string
	offline bool
	// self is true once the cluster's own Cluster is written.
	self bool
}

// getter reads one object: the watches, or an API server's client.
type getter interface {
	Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error
}

// hubState is what one round read from the hub.
type hubState struct {
	apps map[string]*flotillav1.Application
	// gone are Applications the Role no longer grants, or that the hub
	// says are missing or deploy elsewhere.
	gone map[string]bool
}

// pull reads the agent's Role, its Applications, Secrets and Projects, and
// writes the copies. Any failure to read the hub ends the round before a
// copy is changed. Fresh reads the hub and the copies from their API
// servers rather than from the watches.
func (m *mirror) pull(ctx context.Context, fresh bool) (*hubState, error) {
	var hub getter = m.watched
	if fresh {
		hub = m.hub
	}
	var role rbacv1.Role
	if err := hub.Get(ctx, client.ObjectKey{Namespace: m.opts.HubNamespace, Name: cluster.AgentName(m.opts.Cluster)}, &role); err != nil {
		return nil, fmt.Errorf("read the agent's Role %s: %w", cluster.AgentName(m.opts.Cluster), err)
	}
	grants := cluster.AgentGrantsOf(&role)
	if n := len(grants.Applications); n > m.opts.MaxApplications {
		return nil, fmt.Errorf("the hub grants %d Applications, more than the %d this agent copies", n, m.opts.MaxApplications)
	}
	// Each Application names at most MaxSourceSecrets Secrets (its
	// source's SecretNames, which the hub grants) and one Project.
	if len(grants.Secrets) > flotillav1.MaxSourceSecrets*m.opts.MaxApplications || len(grants.Projects) > m.opts.MaxApplications {
		return nil, fmt.Errorf("the hub grants %d Secrets and %d Projects, more than %d Applications can name",
			len(grants.Secrets), len(grants.Projects), m.opts.MaxApplications)
	}
	m.watched.follow(applicationKind, grants.Applications)
	m.watched.follow(secretKind, grants.Secrets)
	m.watched.follow(projectKind, grants.Projects)
	st, err := m.readApplications(ctx, hub, grants.Applications)
	if err != nil {
		return nil, err
	}
	m.granted = grants.Applications
	if err := m.copySecrets(ctx, hub, grants.Secrets); err != nil {
		return nil, err
	}
	if err := m.copyProjects(ctx, hub, grants.Projects); err != nil {
		return nil, err
	}
	// A copy waiting for the hub to confirm that its Application is gone
	// does not hold back the others' status.
	return st, m.copyApplications(ctx, st, fresh)
}

func (m *mirror) readApplications(ctx context.Context, hub getter, names []string) (*hubState, error) {
	st := &hubState{apps: map[string]*flotillav1.Application{}, gone: map[string]bool{}}
	for _, name := range names {
		app := &flotillav1.Application{}
		err := hub.Get(ctx, client.ObjectKey{Namespace: m.opts.HubNamespace, Name: name}, app)
		switch {
		case apierrors.IsNotFound(err), apierrors.IsForbidden(err):
			st.gone[name] = true
		case err != nil:
			return nil, fmt.Errorf("read Application %s: %w", name, err)
		case app.Spec.Destination.Cluster != m.opts.Cluster:
			st.gone[name] = true
		default:
			st.apps[name] = app
		}
	}
	return st, nil
}

// copyApplications creates or updates a copy of each Application and
// deletes the copies of those that left the cluster.
func (m *mirror) copyApplications(ctx context.Context, st *hubState, fresh bool) error {
	copies, err := m.localCopies(ctx, fresh)
	if err != nil {
		return err
	}
	have := map[string]*flotillav1.Application{}
	for _, cp := range copies {
		have[cp.Name] = cp
	}
	for name, app := range st.apps {
		if err := m.copyApplication(ctx, app, have[name]); err != nil {
			return err
		}
	}
	var waiting []error
	for name, cp := range have {
		if _, keep := st.apps[name]; keep {
			continue
		}
		// Gone from the Role: still readable means the hub's controller
		// has not caught up; the round is tried again.
		if !st.gone[name] {
			if err := m.confirmGone(ctx, name); err != nil {
				waiting = append(waiting, err)
				continue
			}
		}
		if err := m.local.Delete(ctx, cp); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete the copy of Application %s: %w", name, err)
		}
		delete(m.pushed, name)
		m.log.Info("application left the cluster: its copy is deleted", "app", name)
	}
	return errors.Join(waiting...)
}

// confirmGone asks the hub for an Application the Role no longer lists:
// nil when it answers that the Application is missing, refused or deploys
// elsewhere.
func (m *mirror) confirmGone(ctx context.Context, name string) error {
	app := &flotillav1.Application{}
	err := m.hub.Get(ctx, client.ObjectKey{Namespace: m.opts.HubNamespace, Name: name}, app)
	switch {
	case apierrors.IsNotFound(err), apierrors.IsForbidden(err):
		return nil
	case err != nil:
		return fmt.Errorf("read Application %s, no longer in the Role: %w", name, err)
	case app.Spec.Destination.Cluster != m.opts.Cluster:
		return nil
	}
	return fmt.Errorf("application %s left the Role but still deploys here: %w", name, errWaitingForHub)
}

// localCopies are the copies in the cluster, from their watch; listed from
// the cluster when fresh, or until the watch's first answer. They are
// shared with the watch: read them, change only a DeepCopy.
func (m *mirror) localCopies(ctx context.Context, fresh bool) ([]*flotillav1.Application, error) {
	var out []*flotillav1.Application
	if objs, ok := m.copies.all(applicationKind); ok && !fresh {
		for _, obj := range objs {
			if cp, isApp := obj.(*flotillav1.Application); isApp && cp.Annotations[CopyAnnotation] != "" {
				out = append(out, cp)
			}
		}
		return out, nil
	}
	var list flotillav1.ApplicationList
	if err := m.local.List(ctx, &list, client.InNamespace(m.ns())); err != nil {
		return nil, fmt.Errorf("list the copies: %w", err)
	}
	for i := range list.Items {
		if list.Items[i].Annotations[CopyAnnotation] != "" {
			out = append(out, &list.Items[i])
		}
	}
	return out, nil
}

// copyApplication writes the copy of app: its spec, labels and annotations
// (the requests of manual operations among them). A new copy starts from
// the hub's status, so that history and inventory (what may be pruned)
// carry over; an inventory of another cluster the Application moved from
// is left to the hub.
func (m *mirror) copyApplication(ctx context.Context, app, cp *flotillav1.Application) error {
	annotations := maps.Clone(app.Annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[CopyAnnotation] = "true"
	annotations[hubGenerationAnnotation] = strconv.FormatInt(app.Generation, 10)
	if cp == nil {
		cp = &flotillav1.Application{
			ObjectMeta: metav1.ObjectMeta{Name: app.Name, Namespace: m.ns(), Labels: app.Labels, Annotations: annotations},
			Spec:       *app.Spec.DeepCopy(),
		}
		if err := m.local.Create(ctx, cp); err != nil {
			return fmt.Errorf("copy Application %s: %w", app.Name, err)
		}
		// A patch: the local controller may have written the copy since
		// (its finalizer), and the status must not be lost to a conflict.
		created := cp.DeepCopy()
		cp.Status = *app.Status.DeepCopy()
		if cp.Status.Cluster != m.opts.Cluster {
			// The inventory is another cluster's, which the hub releases.
			cp.Status.Cluster, cp.Status.Resources = "", nil
		}
		cp.Status.ObservedGeneration = 0
		for i := range cp.Status.Conditions {
			cp.Status.Conditions[i].ObservedGeneration = 0
		}
		if err := m.local.Status().Patch(ctx, cp, client.MergeFrom(created)); err != nil {
			return fmt.Errorf("copy the status of Application %s: %w", app.Name, err)
		}
		m.log.Info("application copied", "app", app.Name)
		return nil
	}
	if equality.Semantic.DeepEqual(cp.Spec, app.Spec) && maps.Equal(cp.Labels, app.Labels) && maps.Equal(cp.Annotations, annotations) {
		return nil
	}
	cp = cp.DeepCopy() // the watch's own
	cp.Spec, cp.Labels, cp.Annotations = *app.Spec.DeepCopy(), app.Labels, annotations
	if err := m.local.Update(ctx, cp); err != nil {
		return fmt.Errorf("update the copy of Application %s: %w", app.Name, err)
	}
	return nil
}

// copySecrets copies the Secrets the Role grants, and deletes the copies
// of those it no longer does.
func (m *mirror) copySecrets(ctx context.Context, hub getter, names []string) error {
	want := map[string]bool{}
	for _, name := range names {
		s := &corev1.Secret{}
		if err := hub.Get(ctx, client.ObjectKey{Namespace: m.opts.HubNamespace, Name: name}, s); err != nil {
			if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
				continue
			}
			return fmt.Errorf("read Secret %s: %w", name, err)
		}
		want[name] = true
		cp := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: m.ns()}}
		err := m.upsert(ctx, cp, func() {
			cp.Labels, cp.Data, cp.Type = s.Labels, s.Data, s.Type
		})
		if err != nil {
			return fmt.Errorf("copy Secret %s: %w", name, err)
		}
	}
	var list corev1.SecretList
	if err := m.local.List(ctx, &list, client.InNamespace(m.ns())); err != nil {
		return fmt.Errorf("list the Secrets' copies: %w", err)
	}
	for i := range list.Items {
		s := &list.Items[i]
		if s.Annotations[CopyAnnotation] != "" && !want[s.Name] {
			if err := m.local.Delete(ctx, s); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("delete the copy of Secret %s: %w", s.Name, err)
			}
		}
	}
	return nil
}

// copyProjects copies the Projects the Role grants; a Project missing in
// the hub ("default", often) is not copied.
func (m *mirror) copyProjects(ctx context.Context, hub getter, names []string) error {
	for _, name := range names {
		p := &flotillav1.Project{}
		if err := hub.Get(ctx, client.ObjectKey{Namespace: m.opts.HubNamespace, Name: name}, p); err != nil {
			if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
				continue
			}
			return fmt.Errorf("read Project %s: %w", name, err)
		}
		cp := &flotillav1.Project{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: m.ns()}}
		if err := m.upsert(ctx, cp, func() { cp.Labels, cp.Spec = p.Labels, *p.Spec.DeepCopy() }); err != nil {
			return fmt.Errorf("copy Project %s: %w", name, err)
		}
	}
	return nil
}

// upsert creates obj or updates it with what set writes, marked as a copy;
// an unchanged object is not written.
func (m *mirror) upsert(ctx context.Context, obj client.Object, set func()) error {
	err := m.local.Get(ctx, client.ObjectKeyFromObject(obj), obj)
	if apierrors.IsNotFound(err) {
		set()
		obj.SetAnnotations(map[string]string{CopyAnnotation: "true"})
		return m.local.Create(ctx, obj)
	}
	if err != nil {
		return err
	}
	before := obj.DeepCopyObject()
	set()
	a := obj.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[CopyAnnotation] = "true"
	obj.SetAnnotations(a)
	if equality.Semantic.DeepEqual(before, obj) {
		return nil
	}
	return m.local.Update(ctx, obj)
}

// ensureSelf writes, in the agent's cluster, a Cluster named as the hub
// names this one: the local controller then knows the copies' destination
// as a registered cluster (Options.Self resolves it to its own
// configuration), so that a deleted copy prunes its objects rather than
// leaving them as a vanished cluster's.
func (m *mirror) ensureSelf(ctx context.Context) error {
	if m.self {
		return nil
	}
	c := &flotillav1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: m.opts.Cluster, Namespace: m.ns()}}
	if err := m.upsert(ctx, c, func() { c.Spec.Mode = flotillav1.ClusterModePush }); err != nil {
		return fmt.Errorf("cluster %s: write its own Cluster: %w", m.opts.Cluster, err)
	}
	m.self = true
	return nil
}

func (m *mirror) ns() string { return m.opts.Controller.Namespace }
