package auth

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// hubMap is the data of one ConfigMap of the hub, read and written with
// optimistic concurrency so that several servers (or a server and the
// CLI) never lose each other's writes.
type hubMap struct {
	hub       client.Client
	namespace string
	name      string
}

// read returns the ConfigMap's data; a missing ConfigMap is empty.
func (m hubMap) read(ctx context.Context) (map[string]string, error) {
	var cm corev1.ConfigMap
	err := m.hub.Get(ctx, client.ObjectKey{Namespace: m.namespace, Name: m.name}, &cm)
	if apierrors.IsNotFound(err) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read ConfigMap %s/%s: %w", m.namespace, m.name, err)
	}
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	return cm.Data, nil
}

// update reads the ConfigMap, lets change edit its data, and writes it
// back, creating it when missing; a conflict with another writer starts
// over. It returns the data as written. change may be called more than
// once and must not keep the map.
func (m hubMap) update(ctx context.Context, change func(data map[string]string) error) (map[string]string, error) {
	var out map[string]string
	err := retry.OnError(hubBackoff, isConflict, func() error {
		var cm corev1.ConfigMap
		err := m.hub.Get(ctx, client.ObjectKey{Namespace: m.namespace, Name: m.name}, &cm)
		missing := apierrors.IsNotFound(err)
		if err != nil && !missing {
			return err
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		if err := change(cm.Data); err != nil {
			return err
		}
		out = cm.Data
		if missing {
			cm.ObjectMeta = metav1.ObjectMeta{Namespace: m.namespace, Name: m.name, Labels: managedLabels()}
			return m.hub.Create(ctx, &cm)
		}
		return m.hub.Update(ctx, &cm)
	})
	if err != nil {
		return nil, fmt.Errorf("write ConfigMap %s/%s: %w", m.namespace, m.name, err)
	}
	return out, nil
}

// hubBackoff retries a conflicting write: writers in one server take turns
// under a mutex, so conflicts come from other servers and are rare, but a
// burst of logins on several replicas must not run out of tries.
var hubBackoff = wait.Backoff{Steps: 20, Duration: 10 * time.Millisecond, Factor: 1.5, Jitter: 0.5, Cap: time.Second}

func isConflict(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
}

func managedLabels() map[string]string {
	return map[string]string{"app.kubernetes.io/managed-by": "flotilla", "app.kubernetes.io/component": "server"}
}

// readSecret returns a Secret's data; a missing Secret is nil, no error.
func readSecret(ctx context.Context, hub client.Client, namespace, name string) (map[string][]byte, error) {
	var s corev1.Secret
	err := hub.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &s)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read Secret %s/%s: %w", namespace, name, err)
	}
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	return s.Data, nil
}

// updateSecret is hubMap.update for a Secret.
func updateSecret(ctx context.Context, hub client.Client, namespace, name string, change func(data map[string][]byte) error) (map[string][]byte, error) {
	var out map[string][]byte
	err := retry.OnError(hubBackoff, isConflict, func() error {
		var s corev1.Secret
		err := hub.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &s)
		missing := apierrors.IsNotFound(err)
		if err != nil && !missing {
			return err
		}
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		if err := change(s.Data); err != nil {
			return err
		}
		out = s.Data
		if missing {
			s.ObjectMeta = metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: managedLabels()}
			s.Type = corev1.SecretTypeOpaque
			return hub.Create(ctx, &s)
		}
		return hub.Update(ctx, &s)
	})
	if err != nil {
		return nil, fmt.Errorf("write Secret %s/%s: %w", namespace, name, err)
	}
	return out, nil
}

// deleteSecret deletes a Secret; a missing one is no error.
func deleteSecret(ctx context.Context, hub client.Client, namespace, name string) error {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	if err := hub.Delete(ctx, s); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete Secret %s/%s: %w", namespace, name, err)
	}
	return nil
}
