package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// ErrUnavailable marks a cluster that cannot be reached or whose credentials
// cannot be read. Callers must treat it as "unknown", never as "empty".
var ErrUnavailable = errors.New("cluster unavailable")

// ErrAgentMode marks a Cluster in agent mode: its agent syncs it from
// inside, and the hub holds no credential of it (docs/agent.md). An error
// that carries it carries ErrUnavailable too, for callers that only ask
// whether the hub can reach the cluster.
var ErrAgentMode = errors.New("cluster in agent mode")

// Options configure a Registry.
type Options struct {
	// AllowExec permits kubeconfig exec plugins and auth providers.
	AllowExec bool
	// QPS and Burst apply to clusters that set no limits. Zero QPS leaves
	// flow control to the API server (its priority and fairness): no
	// client-side throttle, and a request the server answers with 429 is
	// retried after the wait it asks for, as client-go does.
	QPS   float32
	Burst int
	// Self, when set, is the name of the cluster the hub configuration
	// reaches: a pull agent's own cluster, which its Applications name as
	// their destination. It resolves as "in-cluster" does, under its name.
	Self string
}

// DefaultOptions refuses exec plugins and leaves flow control to each API
// server (issue 13: a fixed 50 requests a second made 1,000 Applications
// wait minutes on an idle cluster).
func DefaultOptions() Options {
	return Options{}
}

// setLimits gives cfg the client-side limits qps and burst, or none when
// qps is zero or less.
func setLimits(cfg *rest.Config, qps float32, burst int) {
	if qps <= 0 {
		cfg.QPS, cfg.Burst = -1, 0
		return
	}
	cfg.QPS, cfg.Burst = qps, max(burst, int(qps))
}

// Target is a resolved destination cluster.
type Target struct {
	Name   string
	Config *rest.Config
	// Generation changes whenever the Cluster's spec or its Secret changes
	// (not its status); callers cache clients by (Name, Generation).
	Generation string
}

// Registry resolves Cluster names to client configurations.
type Registry struct {
	hub     client.Reader
	hubCfg  *rest.Config
	opts    Options
	mu      sync.Mutex
	targets map[string]*Target
}

// NewRegistry makes a Registry that reads Clusters and Secrets through hub.
func NewRegistry(hub client.Reader, hubCfg *rest.Config, opts Options) *Registry {
	return &Registry{hub: hub, hubCfg: hubCfg, opts: opts, targets: map[string]*Target{}}
}

func (r *Registry) isSelf(name string) bool { return r.opts.Self != "" && name == r.opts.Self }

// Builtin says whether name is the hub itself ("", in-cluster, or the
// Self name): reached with the hub's own credentials, never through a
// Cluster object, so the lack of one says nothing of it.
func (r *Registry) Builtin(name string) bool {
	return name == "" || name == flotillav1.InCluster || r.isSelf(name)
}

// Get returns the client configuration of the Cluster name in namespace;
// ErrAgentMode for a Cluster in agent mode.
func (r *Registry) Get(ctx context.Context, namespace, name string) (*Target, error) {
	if r.Builtin(name) {
		cfg := rest.CopyConfig(r.hubCfg)
		setLimits(cfg, r.opts.QPS, r.opts.Burst)
		self := flotillav1.InCluster
		if r.isSelf(name) {
			self = name
		}
		return &Target{Name: self, Config: cfg, Generation: "hub"}, nil
	}
	var c flotillav1.Cluster
	if err := r.hub.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &c); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("cluster %s: no such Cluster in namespace %s: %w", name, namespace, ErrUnavailable)
		}
		return nil, fmt.Errorf("cluster %s: read Cluster: %w", name, err)
	}
	if c.Spec.Mode == flotillav1.ClusterModeAgent {
		return nil, fmt.Errorf("cluster %s: %w: the hub does not reach it: %w", name, ErrAgentMode, ErrUnavailable)
	}
	if c.Spec.CredentialsRef == nil {
		return nil, fmt.Errorf("cluster %s: spec.credentialsRef is not set: %w", name, ErrUnavailable)
	}
	var s corev1.Secret
	if err := r.hub.Get(ctx, client.ObjectKey{Namespace: namespace, Name: c.Spec.CredentialsRef.Name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("cluster %s: credentials Secret %s not found: %w", name, c.Spec.CredentialsRef.Name, ErrUnavailable)
		}
		return nil, fmt.Errorf("cluster %s: read credentials Secret %s: %w", name, c.Spec.CredentialsRef.Name, err)
	}
	// The Cluster's generation (its spec), not its resourceVersion: every
	// heartbeat written to its status would otherwise make new clients and
	// refill every watch cache of the cluster.
	gen := strconv.FormatInt(c.Generation, 10) + "/" + s.ResourceVersion
	key := namespace + "/" + name
	r.mu.Lock()
	t, ok := r.targets[key]
	r.mu.Unlock()
	if ok && t.Generation == gen {
		return t, nil
	}
	t, err := r.build(ctx, &c, &s, gen)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	r.mu.Lock()
	r.targets[key] = t
	r.mu.Unlock()
	return t, nil
}

// build makes the Target of Cluster c from its credentials Secret s, once
// s is c's own and only if its credentials never travel over plain http.
func (r *Registry) build(ctx context.Context, c *flotillav1.Cluster, s *corev1.Secret, gen string) (*Target, error) {
	if err := r.checkBinding(ctx, c, s); err != nil {
		return nil, err
	}
	cfg, err := r.configFor(c, s)
	if err != nil {
		return nil, err
	}
	if err := refusePlainHTTP(cfg); err != nil {
		return nil, err
	}
	return &Target{Name: c.Name, Config: cfg, Generation: gen}, nil
}

// configFor builds a rest.Config from the Secret: a kubeconfig, or a bearer
// token with CA data and the Cluster's server.
func (r *Registry) configFor(c *flotillav1.Cluster, s *corev1.Secret) (*rest.Config, error) {
	var cfg *rest.Config
	switch {
	case len(s.Data["kubeconfig"]) > 0:
		raw, err := clientcmd.Load(s.Data["kubeconfig"])
		if err != nil {
			return nil, fmt.Errorf("credentials Secret %s: kubeconfig does not parse: %w", s.Name, ErrUnavailable)
		}
		if err := refuseFileReferences(raw); err != nil {
			return nil, fmt.Errorf("credentials Secret %s: %w", s.Name, err)
		}
		if !r.opts.AllowExec {
			for name, a := range raw.AuthInfos {
				if a.Exec != nil || a.AuthProvider != nil {
					return nil, fmt.Errorf("credentials Secret %s: user %q runs an exec plugin or auth provider, which the controller does not allow (start it with --allow-exec-credentials): %w", s.Name, name, ErrUnavailable)
				}
			}
		}
		cfg, err = clientcmd.NewDefaultClientConfig(*raw, &clientcmd.ConfigOverrides{}).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("credentials Secret %s: kubeconfig: %w", s.Name, ErrUnavailable)
		}
	case len(s.Data["bearerToken"]) > 0:
		if c.Spec.Server == "" {
			return nil, fmt.Errorf("spec.server is required with a bearerToken Secret: %w", ErrUnavailable)
		}
		cfg = &rest.Config{
			Host:            c.Spec.Server,
			BearerToken:     string(s.Data["bearerToken"]),
			TLSClientConfig: rest.TLSClientConfig{CAData: s.Data["caData"]},
		}
	default:
		return nil, fmt.Errorf("credentials Secret %s has neither kubeconfig nor bearerToken: %w", s.Name, ErrUnavailable)
	}
	if c.Spec.Server != "" {
		cfg.Host = c.Spec.Server
	}
	qps, burst := r.opts.QPS, r.opts.Burst
	if l := c.Spec.Limits; l != nil {
		if l.QPS > 0 {
			qps = float32(l.QPS)
		}
		if l.Burst > 0 {
			burst = int(l.Burst)
		}
	}
	setLimits(cfg, qps, burst)
	return cfg, nil
}

// refuseFileReferences rejects a kubeconfig that names files: they would be
// read from the controller's own disk (its ServiceAccount token, say), not
// from the Secret.
func refuseFileReferences(cfg *clientcmdapi.Config) error {
	for name, c := range cfg.Clusters {
		if c.CertificateAuthority != "" {
			return fmt.Errorf("kubeconfig cluster %q names a file (certificate-authority); embed it as certificate-authority-data: %w", name, ErrUnavailable)
		}
	}
	for name, a := range cfg.AuthInfos {
		if a.ClientCertificate != "" || a.ClientKey != "" || a.TokenFile != "" {
			return fmt.Errorf("kubeconfig user %q names a file (client-certificate, client-key or tokenFile); embed the data instead: %w", name, ErrUnavailable)
		}
	}
	return nil
}
