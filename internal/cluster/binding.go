package cluster

import (
	"context"
	"fmt"
	"net/url"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// checkBinding refuses a credentials Secret that belongs to another
// Cluster, so that a new Cluster naming another's Secret, with a server of
// its choosing, never receives that Cluster's token. A Secret labelled
// flotilla.dev/cluster (as `flotilla cluster add` writes it) belongs to the
// Cluster the label names. A Secret without the label belongs to the
// oldest Cluster of the namespace that names it (by creation time, then
// name).
func (r *Registry) checkBinding(ctx context.Context, c *flotillav1.Cluster, s *corev1.Secret) error {
	if owner, ok := s.Labels[flotillav1.ClusterLabel]; ok {
		if owner != c.Name {
			return fmt.Errorf("credentials Secret %s is labelled %s=%s: it serves that Cluster only: %w",
				s.Name, flotillav1.ClusterLabel, owner, ErrUnavailable)
		}
		return nil
	}
	var list flotillav1.ClusterList
	if err := r.hub.List(ctx, &list, client.InNamespace(c.Namespace)); err != nil {
		return fmt.Errorf("list the Clusters that name credentials Secret %s: %w", s.Name, err)
	}
	for i := range list.Items {
		o := &list.Items[i]
		if o.Name == c.Name || o.Spec.CredentialsRef == nil || o.Spec.CredentialsRef.Name != s.Name {
			continue
		}
		if older(o, c) {
			return fmt.Errorf("credentials Secret %s serves Cluster %s, which named it first; label a Secret %s=<cluster> to bind it: %w",
				s.Name, o.Name, flotillav1.ClusterLabel, ErrUnavailable)
		}
	}
	return nil
}

// older reports whether a was created before b, by name when at the same
// second.
func older(a, b *flotillav1.Cluster) bool {
	ta, tb := a.CreationTimestamp.Time, b.CreationTimestamp.Time
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	return a.Name < b.Name
}

// refusePlainHTTP refuses credentials sent to a server over plain http,
// where anyone on the way reads them: a bearer token, a token file, a
// username and password, or an exec plugin or auth provider that makes a
// token. Every Kubernetes API server serves https, local ones too, so no
// flag lifts this.
func refusePlainHTTP(cfg *rest.Config) error {
	u, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return fmt.Errorf("server %q: %w", cfg.Host, ErrUnavailable)
	}
	if u.Scheme != "http" || !sendsCredentials(cfg) {
		return nil
	}
	shown := url.URL{Scheme: u.Scheme, Host: u.Host}
	return fmt.Errorf("refusing to send credentials to %s over plain http; use https: %w", shown.String(), ErrUnavailable)
}

func sendsCredentials(cfg *rest.Config) bool {
	return cfg.BearerToken != "" || cfg.BearerTokenFile != "" || cfg.Username != "" || cfg.Password != "" ||
		cfg.ExecProvider != nil || cfg.AuthProvider != nil
}
