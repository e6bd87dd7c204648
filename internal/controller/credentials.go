package controller

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/source"
)

// credentials reads the source's credentialsRef Secret. Secrets are read
// uncached: the controller never holds every Secret of the namespace in memory.
func (r *ApplicationReconciler) credentials(ctx context.Context, app *flotillav1.Application) (*source.Credentials, error) {
	return readCredentials(ctx, r.Reader, app.Namespace, app.Spec.Source.CredentialsRef)
}

// readCredentials reads a source credentials Secret; nil ref means none.
func readCredentials(ctx context.Context, reader client.Reader, namespace string, ref *flotillav1.LocalObjectReference) (*source.Credentials, error) {
	if ref == nil {
		return nil, nil
	}
	var s corev1.Secret
	if err := reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: ref.Name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			err = errors.New("not found")
		}
		return nil, &engine.Error{
			Reason: flotillav1.ReasonAuthFailed,
			Err:    fmt.Errorf("credentials Secret %s/%s: %w", namespace, ref.Name, err),
		}
	}
	return &source.Credentials{
		Username:      string(s.Data["username"]),
		Password:      string(s.Data["password"]),
		BearerToken:   string(s.Data["bearerToken"]),
		SSHPrivateKey: s.Data["sshPrivateKey"],
		KnownHosts:    s.Data["knownHosts"],
		CACert:        s.Data["caCert"],
	}, nil
}
