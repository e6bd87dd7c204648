package cluster

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// ErrRefusedCredentials marks credentials a caller handed in that Flotilla
// will not use: a kubeconfig that does not parse, names files, or runs
// programs.
var ErrRefusedCredentials = errors.New("credentials refused")

// ConfigFromKubeconfig reads an uploaded kubeconfig's current context. It
// refuses exec plugins and auth providers (they would run programs on the
// reader's machine) and references to files (they would be read from the
// reader's own disk).
func ConfigFromKubeconfig(data []byte) (*rest.Config, error) {
	raw, err := clientcmd.Load(data)
	if err != nil {
		return nil, fmt.Errorf("the kubeconfig does not parse: %w", ErrRefusedCredentials)
	}
	if err := refuseFileReferences(raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefusedCredentials, err)
	}
	for name, a := range raw.AuthInfos {
		if a.Exec != nil || a.AuthProvider != nil {
			return nil, fmt.Errorf("kubeconfig user %q runs an exec plugin or auth provider: %w", name, ErrRefusedCredentials)
		}
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*raw, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("the kubeconfig has no usable current context: %w", ErrRefusedCredentials)
	}
	if err := refusePlainHTTP(cfg); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefusedCredentials, err)
	}
	return cfg, nil
}

// RegisterToken records a cluster that the caller reaches with a bearer
// token and a CA it already has (it creates nothing in the target): it
// checks that the token is accepted at server, then writes the Secret
// cluster-<name> (bearerToken, caData) and the Cluster in the hub.
func RegisterToken(ctx context.Context, hub client.Client, opts RegisterOptions, server, token string, ca []byte) (*flotillav1.Cluster, error) {
	opts = opts.withDefaults()
	fail := func(step string, err error) (*flotillav1.Cluster, error) {
		return nil, &StepError{Cluster: opts.Name, Step: step, Err: err}
	}
	if err := validateName(opts.Name); err != nil {
		return fail("check the name", err)
	}
	if server == "" || token == "" {
		return fail("check the credentials", errors.New("server and bearerToken are required"))
	}
	if err := refusePlainHTTP(&rest.Config{Host: server, BearerToken: token}); err != nil {
		return fail("check the server", err)
	}
	if err := checkHub(ctx, hub, opts); err != nil {
		return fail("check the hub", err)
	}
	if _, err := checkToken(ctx, server, token, ca); err != nil {
		return fail("check the token against "+server, err)
	}
	if err := writeSecret(ctx, hub, opts, token, ca); err != nil {
		return fail("write the credentials Secret in the hub", err)
	}
	c, err := writeCluster(ctx, hub, opts, server)
	if err != nil {
		return fail("write the Cluster in the hub", err)
	}
	return c, nil
}
