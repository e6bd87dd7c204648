package notify

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/project"
)

func nowMeta(t time.Time) metav1.Time { return metav1.NewTime(t.UTC().Truncate(time.Second)) }

// Kube is the Dispatcher's view of the hub: Notifications from the
// manager's cache, Secrets read uncached after the Projects' rules, and
// status written back.
type Kube struct {
	// Client reads Notifications, Projects and Clusters (cached) and
	// patches Notifications' status.
	Client client.Client
	// Reader reads Secrets uncached.
	Reader client.Reader
	// Projects compiles Projects.
	Projects project.Options
}

// Notifications lists the Notifications of namespace.
func (k Kube) Notifications(ctx context.Context, namespace string) ([]flotillav1.Notification, error) {
	var list flotillav1.NotificationList
	if err := k.Client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("list the Notifications of %s: %w", namespace, err)
	}
	return list.Items, nil
}

// SecretData reads n's Secret, of n's namespace, as a source's Secrets are
// read (engine.SecretAccess): each Project of spec.projects must allow it
// (labelled for the Project or in its spec.secrets); with no Project named,
// the built-in default's rule applies, which allows any Secret of the
// namespace. A Cluster's credentials are never allowed.
func (k Kube) SecretData(ctx context.Context, n *flotillav1.Notification) (map[string][]byte, error) {
	ref := n.Spec.Provider.SecretRef
	if ref == nil {
		return nil, nil
	}
	names := n.Spec.Projects
	if len(names) == 0 {
		names = []string{""}
	}
	var data map[string][]byte
	for _, name := range names {
		var proj *flotillav1.Project
		if name != "" {
			p, err := engine.ReadProject(ctx, k.Client, n.Namespace, name)
			if err != nil {
				return nil, err
			}
			proj = p
		}
		pol, err := engine.CompileProject(proj, k.Projects)
		if err != nil {
			return nil, err
		}
		acc := engine.SecretAccess{Reader: k.Reader, Clusters: k.Client, Policy: pol, Namespace: n.Namespace}
		s, err := acc.Secret(ctx, ref.Name, "notification", flotillav1.ReasonDeliveryFailed)
		if err != nil {
			return nil, err
		}
		data = s.Data
	}
	return data, nil
}

// Record writes the delivery into n's status, with its Ready condition.
func (k Kube) Record(ctx context.Context, n *flotillav1.Notification, d flotillav1.NotificationDelivery) error {
	var cur flotillav1.Notification
	if err := k.Client.Get(ctx, client.ObjectKeyFromObject(n), &cur); err != nil {
		return client.IgnoreNotFound(err)
	}
	base := cur.DeepCopy()
	cur.Status.LastDelivery = &d
	ready := metav1.Condition{
		Type: flotillav1.ConditionReady, Status: metav1.ConditionTrue, Reason: flotillav1.ReasonSucceeded,
		ObservedGeneration: cur.Generation,
		Message:            fmt.Sprintf("%s of %s delivered", d.Event, d.Subject),
	}
	if d.Outcome != flotillav1.DeliveryDelivered {
		ready.Status, ready.Reason = metav1.ConditionFalse, flotillav1.ReasonDeliveryFailed
		ready.Message = fmt.Sprintf("%s of %s not delivered: %s", d.Event, d.Subject, d.Message)
	}
	if invalid := meta.FindStatusCondition(cur.Status.Conditions, flotillav1.ConditionReady); invalid == nil ||
		invalid.Reason != flotillav1.ReasonInvalidSpec || invalid.ObservedGeneration != cur.Generation {
		meta.SetStatusCondition(&cur.Status.Conditions, ready)
	}
	return client.IgnoreNotFound(k.Client.Status().Patch(ctx, &cur, client.MergeFrom(base)))
}
