package cluster

import (
	"fmt"
	"net/http"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/util/flowcontrol"
)

// Clients are the clients of one destination cluster, made once for each
// generation of its Cluster and shared by everything that reaches it: the
// apply managers (its own and those that impersonate a ServiceAccount), its
// Watcher and what Helm charts see of it. They hold one connection pool,
// one request budget (the Cluster's limits), one discovery client and one
// REST mapper (issue 13: each destination had
// three discovery clients, two mappers that each read the cluster's API
// list, and a connection pool per client).
type Clients struct {
	// Name is the cluster's name.
	Name string
	// Config is the configuration every client was made from, its Timeout
	// bounding each request but watches.
	Config *rest.Config
	// Dynamic and Kube send requests bounded by Config.Timeout.
	Dynamic dynamic.Interface
	Kube    kubernetes.Interface
	// Stream is Kube without a timeout, for what streams (a followed
	// log): its context bounds it.
	Stream kubernetes.Interface
	// Discovery is uncached: what it answers is what the cluster serves now.
	Discovery discovery.DiscoveryInterface
	// Mapper maps kinds to resources from one cached read of the cluster's
	// API list, read again (by whichever user first misses a kind) when a
	// kind is not found.
	Mapper *restmapper.DeferredDiscoveryRESTMapper

	// watch sends watches over the same connections, without a timeout:
	// the API server ends them itself.
	watch dynamic.Interface
}

// NewClients makes the clients of the cluster name reached through cfg.
// Nothing is sent to the cluster until a client is used.
func NewClients(cfg *rest.Config, name string) (*Clients, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS > 0 && cfg.RateLimiter == nil {
		// One budget for the cluster, not one for each client.
		cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, cfg.Burst)
	}
	if cfg.UserAgent == "" {
		// The clients below share this transport, which sets the header:
		// without it every request would say Go-http-client, and audit
		// logs could not tell Flotilla's requests from others'.
		cfg.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: transport: %w", name, err)
	}
	timed := &http.Client{Transport: rt, Timeout: cfg.Timeout}
	untimed := &http.Client{Transport: rt}
	dyn, err := dynamic.NewForConfigAndClient(cfg, timed)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: dynamic client: %w", name, err)
	}
	kube, err := kubernetes.NewForConfigAndClient(cfg, timed)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: client: %w", name, err)
	}
	disco, err := discovery.NewDiscoveryClientForConfigAndClient(cfg, timed)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: discovery client: %w", name, err)
	}
	watchCfg := rest.CopyConfig(cfg)
	watchCfg.Timeout = 0
	watch, err := dynamic.NewForConfigAndClient(watchCfg, untimed)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: watch client: %w", name, err)
	}
	stream, err := kubernetes.NewForConfigAndClient(watchCfg, untimed)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: stream client: %w", name, err)
	}
	return &Clients{
		Name:      name,
		Config:    cfg,
		Dynamic:   dyn,
		Kube:      kube,
		Stream:    stream,
		Discovery: disco,
		Mapper:    restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco)),
		watch:     watch,
	}, nil
}

// Impersonating returns a dynamic client that acts as user, over
// connections of its own (impersonation is a header its transport adds).
func (c *Clients) Impersonating(user string) (dynamic.Interface, error) {
	cfg := rest.CopyConfig(c.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: client impersonating %s: %w", c.Name, user, err)
	}
	return dyn, nil
}
