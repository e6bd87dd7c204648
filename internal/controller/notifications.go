package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/apply"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/notify"
)

// eventOf is the part every event of app shares: who it is, where it
// deploys, and the revision its status shows.
func eventOf(app *flotillav1.Application) notify.Event {
	ev := notify.Event{
		Namespace: app.Namespace, Project: app.Spec.Project, Fleet: app.Labels[flotillav1.FleetLabel],
		Application: app.Name, Cluster: destinationName(app), Revision: app.Status.Sync.Revision, RepoURL: app.Spec.Source.RepoURL,
	}
	if ev.Project == "" {
		ev.Project = flotillav1.DefaultProject
	}
	return ev
}

// applicationEvents are the notification events of one reconcile of app:
// the transitions from the status it found (before) to the one it wrote.
// A retry that fails as the last one did, a Degraded Application that stays
// Degraded, a drift already reported: none is news, none is emitted.
func applicationEvents(before *flotillav1.ApplicationStatus, app *flotillav1.Application, p plan, res *engine.Result, err error) []notify.Event {
	st := &app.Status
	base := eventOf(app)
	if res != nil && res.Revision != "" {
		base.Revision = res.Revision
	}
	var out []notify.Event
	add := func(name, object, message string) {
		ev := base
		ev.Name, ev.Object, ev.Message = name, object, message
		out = append(out, ev)
	}
	if err != nil {
		if op := st.Operation; op != nil && op.Phase == flotillav1.OperationFailed && newFailure(p.lastOp, op) &&
			engine.ReasonOf(err, "") != flotillav1.ReasonDependencyNotReady {
			add(flotillav1.EventSyncFailed, faultyObject(res), limitNote(err.Error()))
		}
		return out
	}
	wrote := res != nil && res.Applied && res.Changes != nil && res.Changes.HasChanges()
	if wrote {
		add(flotillav1.EventSyncSucceeded, "", syncedNote(res))
	}
	if before.Health.Status != flotillav1.HealthDegraded && st.Health.Status == flotillav1.HealthDegraded {
		object, msg := degradedObject(st)
		add(flotillav1.EventHealthDegraded, object, msg)
	}
	if drift(before, app, p, res, wrote) {
		object, msg := "", "the cluster differs from revision "+engine.ShortSHA(base.Revision)
		if res != nil && res.Changes != nil {
			if c, ok := firstChange(res.Changes); ok {
				object = c.Object.String()
			}
			if wrote {
				msg = "drift corrected at revision " + engine.ShortSHA(base.Revision) + ": " + res.Changes.Summary()
			} else {
				msg += ": " + res.Changes.Summary()
			}
		}
		add(flotillav1.EventDriftDetected, object, limitNote(msg))
	}
	return out
}

// newFailure says whether op, a failed sync, is news after last: the sync
// had not failed, or fails for another cause.
func newFailure(last, op *flotillav1.OperationState) bool {
	return last == nil || last.Phase != flotillav1.OperationFailed || last.Message != op.Message
}

// drift says whether the cluster moved away from a revision and spec
// that were synced: seen (OutOfSync now, Synced before, same revision and
// generation), or corrected by selfHeal (a write at the revision last
// applied, asked by no one).
func drift(before *flotillav1.ApplicationStatus, app *flotillav1.Application, p plan, res *engine.Result, wrote bool) bool {
	st := &app.Status
	same := before.Sync.Status == flotillav1.SyncStatusSynced && before.Sync.Revision == st.Sync.Revision &&
		before.ObservedGeneration == app.Generation
	if !same {
		return false
	}
	if st.Sync.Status == flotillav1.SyncStatusOutOfSync {
		return true
	}
	n := len(before.History)
	return wrote && p.syncToken == "" && p.pin == nil && n > 0 && before.History[n-1].Revision == res.Revision
}

// faultyObject is the first object a failed sync could not apply.
func faultyObject(res *engine.Result) string {
	if res == nil || res.Changes == nil {
		return ""
	}
	for _, c := range res.Changes.Changes {
		if c.Action == apply.ActionFailed || c.Action == apply.ActionConflict {
			return c.Object.String()
		}
	}
	return ""
}

func firstChange(cs *apply.ChangeSet) (apply.Change, bool) {
	for _, c := range cs.Changes {
		if c.Action != apply.ActionUnchanged {
			return c, true
		}
	}
	return apply.Change{}, false
}

// degradedObject names the first Degraded object of the inventory and why.
func degradedObject(st *flotillav1.ApplicationStatus) (string, string) {
	for _, r := range st.Resources {
		if r.Health != flotillav1.HealthDegraded {
			continue
		}
		obj := r.Kind + "/" + r.Name
		if r.Namespace != "" {
			obj = r.Kind + "/" + r.Namespace + "/" + r.Name
		}
		return obj, limitNote(fmt.Sprintf("%s is Degraded: %s", obj, r.Message))
	}
	return "", limitNote("the Application is Degraded: " + st.Health.Message)
}

// clusterDisconnected is the event of a Cluster the hub reached and no
// longer does, or nothing.
func clusterDisconnected(before, c *flotillav1.Cluster) []notify.Event {
	if !before.Status.Connected || c.Status.Connected {
		return nil
	}
	msg := "cluster " + c.Name + " is unreachable"
	if cond := meta.FindStatusCondition(c.Status.Conditions, flotillav1.ConditionReady); cond != nil && cond.Message != "" {
		msg = cond.Message
	}
	return []notify.Event{{
		Name: flotillav1.EventClusterDisconnected, Namespace: c.Namespace, Cluster: c.Name, Message: limitNote(msg),
	}}
}

func emit(ctx context.Context, s notify.Sink, events []notify.Event) {
	if s == nil {
		return
	}
	for _, ev := range events {
		s.Emit(ctx, ev)
	}
}

// NotificationReconciler checks each Notification when it changes: a spec
// that cannot work (an unknown event, a template refused, a provider
// without what it needs, a Secret its Projects do not allow) is reported
// in its Ready condition at once rather than at the first event. Sending
// is the Dispatcher's.
type NotificationReconciler struct {
	Client client.Client
	Kube   notify.Kube
}

// SetupWithManager registers the reconciler; only spec changes wake it.
func (r *NotificationReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&flotillav1.Notification{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Complete(r)
}

// Reconcile is: load → validate → read the Secret under the rules → one
// status patch.
func (r *NotificationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	n := &flotillav1.Notification{}
	if err := r.Client.Get(ctx, req.NamespacedName, n); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	base := n.DeepCopy()
	ready := metav1.Condition{
		Type: flotillav1.ConditionReady, Status: metav1.ConditionTrue, Reason: flotillav1.ReasonSucceeded,
		ObservedGeneration: n.Generation, Message: "waiting for events",
	}
	err := notify.Validate(n.Spec)
	if err != nil {
		ready.Reason = flotillav1.ReasonInvalidSpec
	} else if _, err = r.Kube.SecretData(ctx, n); err != nil {
		ready.Reason = engine.ReasonOf(err, flotillav1.ReasonDeliveryFailed)
	}
	if err != nil {
		ready.Status, ready.Message = metav1.ConditionFalse, truncate(err.Error(), 1024)
	}
	if cur := meta.FindStatusCondition(n.Status.Conditions, flotillav1.ConditionReady); err != nil || cur == nil ||
		cur.ObservedGeneration != n.Generation || cur.Status != metav1.ConditionTrue {
		meta.SetStatusCondition(&n.Status.Conditions, ready)
	}
	n.Status.ObservedGeneration = n.Generation
	if equality.Semantic.DeepEqual(base.Status, n.Status) {
		return ctrl.Result{}, nil
	}
	if perr := r.Client.Status().Patch(ctx, n, client.MergeFrom(base)); perr != nil && !apierrors.IsNotFound(perr) {
		return ctrl.Result{}, perr
	}
	return ctrl.Result{}, nil
}

// newNotifier is the Dispatcher of the hub's controller, added to mgr so
// that it sends while the manager runs; nil in a pull agent, whose hub
// credential reads no Notifications (the hub's controller reports its
// Clusters).
func newNotifier(mgr ctrl.Manager, opts Options) (notify.Sink, error) {
	if opts.Self != "" {
		return nil, nil
	}
	kube := notifyKube(mgr, opts)
	nopts := notify.DefaultOptions()
	nopts.Routes, nopts.Secrets, nopts.Recorder = kube, kube, kube
	nopts.Addresses = notify.AddressRule{AllowLoopback: opts.AllowLocalRepos, DenyPrivate: opts.DenyPrivateRepos}
	nopts.Log = opts.Logger
	d := notify.New(nopts)
	if err := mgr.Add(d); err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	return d, nil
}

func notifyKube(mgr ctrl.Manager, opts Options) notify.Kube {
	return notify.Kube{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Projects: projectOptions(opts)}
}

// setupNotifications registers the NotificationReconciler when this
// controller sends notifications.
func setupNotifications(mgr ctrl.Manager, opts Options, sink notify.Sink) error {
	if sink == nil {
		return nil
	}
	r := &NotificationReconciler{Client: mgr.GetClient(), Kube: notifyKube(mgr, opts)}
	return r.SetupWithManager(mgr)
}
