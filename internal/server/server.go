package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// Options configure a Server.
type Options struct {
	// Config reaches the hub.
	Config *rest.Config
	// Namespace holds the Applications, Clusters, Fleets and Projects.
	Namespace string
	// Listen is the address of the HTTPS listener.
	Listen string
	// TLSCertFile and TLSKeyFile, both or neither, hold the server's
	// certificate. Neither: a self-signed one kept in the Secret
	// flotilla-server-tls of Namespace (see tls.go).
	TLSCertFile, TLSKeyFile string
	// TLSHosts are the names and addresses of the self-signed certificate
	// besides localhost and 127.0.0.1.
	TLSHosts []string
	// Access authenticates and authorizes every API request. Required.
	Access Access
	// Live reads workload clusters for the tree, resource, diff, events and
	// logs routes, and the dry-run of a sync. Nil answers 503.
	Live Live
	// Mounts add routes of other packages (webhooks) that authenticate on
	// their own.
	Mounts []func(*http.ServeMux)
	// ShutdownTimeout bounds the wait for requests in flight at shutdown.
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
}

// DefaultOptions listens on :8443 in flotilla-system and waits up to 10 s
// for requests in flight at shutdown.
func DefaultOptions() Options {
	return Options{
		Namespace:       flotillav1.DefaultNamespace,
		Listen:          ":8443",
		ShutdownTimeout: 10 * time.Second,
		Logger:          slog.Default(),
	}
}

// Server is the REST API.
type Server struct {
	opts    Options
	store   *store
	hub     client.Client
	stream  *broker
	metrics *metrics
	reg     *prometheus.Registry
	log     *slog.Logger
	// shutdown is closed when the server starts shutting down: streams end.
	shutdown chan struct{}
}

// NewScheme has the kinds the server reads and writes.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := flotillav1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// New makes a Server; Run starts it.
func New(opts Options) (*Server, error) {
	if opts.Config == nil || opts.Access == nil {
		return nil, errors.New("server: Config and Access are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Namespace == "" {
		opts.Namespace = flotillav1.DefaultNamespace
	}
	scheme, err := NewScheme()
	if err != nil {
		return nil, err
	}
	st, err := newStore(opts.Config, scheme, opts.Namespace)
	if err != nil {
		return nil, err
	}
	hub, err := client.New(opts.Config, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("hub client: %w", err)
	}
	reg := prometheus.NewRegistry()
	s := &Server{
		opts: opts, store: st, hub: hub, reg: reg, log: opts.Logger,
		metrics:  newMetrics(reg),
		stream:   newBroker(defaultRingSize),
		shutdown: make(chan struct{}),
	}
	return s, nil
}

// Hub is the server's uncached client of the hub, for the packages it mounts.
func (s *Server) Hub() client.Client { return s.hub }

// Project finds a Project in the informers' memory, for rbac.
func (s *Server) Project(namespace, name string) (*flotillav1.Project, bool) {
	return s.store.project(namespace, name)
}

// ProjectNames lists the names of the Projects in the server's namespace,
// from its informers.
func (s *Server) ProjectNames() []string {
	list, err := s.store.projects(context.Background())
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(list))
	for _, p := range list {
		names = append(names, p.Name)
	}
	return names
}

// Ready says whether the informers have synced.
func (s *Server) Ready() bool { return s.store.synced.Load() }

// Run serves until ctx ends, then shuts down gracefully: it stops taking
// connections, ends the streams and waits up to ShutdownTimeout for the
// requests in flight.
func (s *Server) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := s.store.watch(ctx, s.stream.handler); err != nil {
		return err
	}
	tlsCfg, err := s.tlsConfig(ctx)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.opts.Listen, err)
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelInfo),
	}
	srv.RegisterOnShutdown(func() { close(s.shutdown) })
	errc := make(chan error, 2)
	go func() { errc <- s.store.run(ctx) }()
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	s.log.Info("server listening", "address", ln.Addr().String(), "namespace", s.opts.Namespace)
	select {
	case <-ctx.Done():
	case err = <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	}
	stop, cancelStop := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
	defer cancelStop()
	s.log.Info("server shutting down")
	if serr := srv.Shutdown(stop); serr != nil && err == nil {
		err = fmt.Errorf("shutdown: %w", serr)
	}
	return err
}
