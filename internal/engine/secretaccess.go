package engine

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/project"
)

// SecretAccess reads the Secrets that an Application's or a Fleet's source
// names (credentialsRef, verify.secretRef, decryption.secretRef), each only
// after two rules allowed it from its metadata, before its data is read:
//
//   - the Project's: the Secret is labelled for the Project or listed in
//     its spec.secrets (project.Policy.CheckSecret);
//   - a Cluster's credentials are that Cluster's only: a Secret labelled
//     flotilla.dev/cluster, named by a Cluster, of type
//     kubernetes.io/service-account-token or holding a kubeconfig is never
//     a source's, so that no repository ever receives a cluster's token.
type SecretAccess struct {
	// Reader reads Secrets uncached: the controller never holds every
	// Secret of the namespace in memory.
	Reader client.Reader
	// Clusters lists the Clusters of the namespace.
	Clusters client.Reader
	// Policy is the compiled Project of the Application or Fleet.
	Policy *project.Policy
	// Namespace is the Application's or Fleet's.
	Namespace string
}

// errClusterCredentials says a source named a Cluster's credentials.
var errClusterCredentials = errors.New("a Cluster's credentials serve that Cluster only, never a source")

// read reads the Secret name for use ("credentials", "verification",
// "decryption"); a missing or unreadable Secret is an error with reason.
func (a SecretAccess) read(ctx context.Context, name, use, reason string) (*corev1.Secret, error) {
	subject := fmt.Sprintf("%s Secret %s/%s", use, a.Namespace, name)
	key := client.ObjectKey{Namespace: a.Namespace, Name: name}
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := a.Reader.Get(ctx, key, meta); err != nil {
		if verr := a.Policy.CheckSecret(name, nil); apierrors.IsNotFound(err) && verr != nil {
			// A missing Secret the Project could not allow by name gets
			// the answer an existing one gets: its existence is not told.
			return nil, projectViolation(fmt.Errorf("%s: %w", subject, verr))
		}
		return nil, secretReadError(subject, reason, err)
	}
	if err := a.Policy.CheckSecret(name, meta.Labels); err != nil {
		return nil, projectViolation(fmt.Errorf("%s: %w", subject, err))
	}
	if err := a.refuseClusterCredentials(ctx, subject, name, meta.Labels); err != nil {
		return nil, err
	}
	var s corev1.Secret
	if err := a.Reader.Get(ctx, key, &s); err != nil {
		return nil, secretReadError(subject, reason, err)
	}
	switch {
	case s.Labels[flotillav1.ClusterLabel] != "" || s.Labels[flotillav1.ProjectLabel] != meta.Labels[flotillav1.ProjectLabel]:
		// Relabelled between the two reads: decide again next time.
		return nil, &Error{Reason: reason, Err: fmt.Errorf("%s changed while it was read", subject)}
	case s.Type == corev1.SecretTypeServiceAccountToken:
		return nil, projectViolation(fmt.Errorf("%s is a ServiceAccount token: %w", subject, errClusterCredentials))
	case len(s.Data["kubeconfig"]) > 0:
		return nil, projectViolation(fmt.Errorf("%s holds a kubeconfig: %w", subject, errClusterCredentials))
	}
	return &s, nil
}

// refuseClusterCredentials refuses the Secret name, labelled labels, when
// it is labelled for a Cluster or a Cluster names it. Failing to list the
// Clusters refuses it too, for now.
func (a SecretAccess) refuseClusterCredentials(ctx context.Context, subject, name string, labels map[string]string) error {
	if c := labels[flotillav1.ClusterLabel]; c != "" {
		return projectViolation(fmt.Errorf("%s is labelled %s=%s: %w", subject, flotillav1.ClusterLabel, c, errClusterCredentials))
	}
	var list flotillav1.ClusterList
	if err := a.Clusters.List(ctx, &list, client.InNamespace(a.Namespace)); err != nil {
		return fmt.Errorf("%s: list the Clusters, which must not name it: %w", subject, err)
	}
	for _, c := range list.Items {
		if c.Spec.CredentialsRef != nil && c.Spec.CredentialsRef.Name == name {
			return projectViolation(fmt.Errorf("%s is Cluster %s's credentials: %w", subject, c.Name, errClusterCredentials))
		}
	}
	return nil
}

func secretReadError(subject, reason string, err error) error {
	if apierrors.IsNotFound(err) {
		err = errors.New("not found")
	}
	return &Error{Reason: reason, Err: fmt.Errorf("%s: %w", subject, err)}
}

// Secret reads the Secret name for use (a word for messages, such as
// "notification"), after the same rules as a source's Secrets: the
// Project's, and never a Cluster's credentials. A refusal has reason
// ProjectViolation; a missing Secret, reason.
func (a SecretAccess) Secret(ctx context.Context, name, use, reason string) (*corev1.Secret, error) {
	return a.read(ctx, name, use, reason)
}
