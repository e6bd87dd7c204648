package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server"
	"github.com/flotilla-dev/flotilla/internal/server/auth"
	"github.com/flotilla-dev/flotilla/internal/server/rbac"
	"github.com/flotilla-dev/flotilla/internal/server/ui"
	"github.com/flotilla-dev/flotilla/internal/server/webhook"
	"github.com/flotilla-dev/flotilla/internal/version"
)

// serverFlags are the flags of `flotilla server` besides the server's own
// options.
type serverFlags struct {
	kube      kubeFlags
	serverURL string
	rbac      rbac.Options
	auth      authFlags
	live      liveFlags
	verbose   bool
}

func newServerCommand() *cobra.Command {
	opts := server.DefaultOptions()
	fl := &serverFlags{}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Serve the REST API and the web UI over the hub",
		Long: `Serve Flotilla's REST API (docs/api.md) and, at the root URL, its web UI
(docs/ui.md) over HTTPS: Applications, Clusters, Fleets and Projects read
from the hub through informers, written only to the hub; Git and OCI push
webhooks at /api/webhook and /api/webhook/oci (docs/webhooks.md). Without
--tls-cert and --tls-key the server makes a self-signed
certificate at its first start and keeps it in the Secret flotilla-server-tls.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServer(cmd, opts, fl)
		},
	}
	fl.kube.add(cmd)
	fl.live.add(cmd)
	fl.auth.add(cmd)
	f := cmd.Flags()
	f.StringVar(&opts.Namespace, "namespace", opts.Namespace, "namespace of the Applications, Clusters, Fleets, Projects and of the server's Secrets")
	f.StringVar(&opts.Listen, "listen", opts.Listen, "address of the HTTPS listener")
	f.StringVar(&opts.TLSCertFile, "tls-cert", "", "PEM certificate (with its chain) of the server; with --tls-key")
	f.StringVar(&opts.TLSKeyFile, "tls-key", "", "PEM private key of the server; with --tls-cert")
	f.StringSliceVar(&opts.TLSHosts, "tls-host", nil, "more names or addresses for the self-signed certificate (repeatable)")
	f.DurationVar(&opts.ShutdownTimeout, "shutdown-timeout", opts.ShutdownTimeout, "how long a shutdown waits for requests in flight")
	f.StringVar(&fl.serverURL, "url", "", "the URL users reach the server at (the sessions' issuer and the SSO redirect's base)")
	f.StringVar(&fl.rbac.DefaultRole, "default-role", rbac.RoleNone, "role of authenticated users without another: readonly or none")
	f.StringSliceVar(&fl.rbac.Admins, "admins", nil, "users (or group:NAME) with the admin role")
	f.StringSliceVar(&fl.rbac.Readonly, "readonly", nil, "users (or group:NAME) with the readonly role")
	f.BoolVarP(&fl.verbose, "verbose", "v", false, "log debug messages too")
	return cmd
}

func runServer(cmd *cobra.Command, opts server.Options, fl *serverFlags) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cfg, err := fl.kube.config()
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if fl.verbose {
		level = slog.LevelDebug
	}
	opts.Config = cfg
	opts.Logger = slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	// rbac reads Projects from the server's informers: through srv, set
	// before the server serves.
	var srv *server.Server
	projects := func(namespace, name string) (*flotillav1.Project, bool) { return srv.Project(namespace, name) }
	names := func() []string { return srv.ProjectNames() }
	if opts.Access, err = newAccess(ctx, opts, fl, projects, names); err != nil {
		return err
	}
	if err := mountUI(&opts); err != nil {
		return err
	}
	live, closeLive, err := newLive(opts, &fl.live)
	if err != nil {
		return err
	}
	defer closeLive()
	opts.Live = live
	// The webhooks patch through the server's hub client: mounted now,
	// made once the server is.
	var hooks *webhook.Handler
	opts.Mounts = append(opts.Mounts, func(mux *http.ServeMux) { hooks.Register(mux) })
	if srv, err = server.New(opts); err != nil {
		return err
	}
	hooks = webhook.New(webhook.Options{Hub: srv.Hub(), Namespace: opts.Namespace, Log: opts.Logger})
	defer hooks.Close()
	return srv.Run(ctx)
}

// newAccess builds authentication (auth) and authorization (rbac).
func newAccess(ctx context.Context, opts server.Options, fl *serverFlags, projects func(string, string) (*flotillav1.Project, bool), names func() []string) (server.Access, error) {
	scheme, err := server.NewScheme()
	if err != nil {
		return nil, err
	}
	hub, err := client.New(opts.Config, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	ropts := fl.rbac
	ropts.Projects = projects
	authz, err := rbac.New(ropts)
	if err != nil {
		return nil, fmt.Errorf("authorization: %w", err)
	}
	aopts := auth.DefaultOptions()
	aopts.Hub, aopts.Namespace, aopts.ServerURL = hub, opts.Namespace, fl.serverURL
	aopts.Version, aopts.Logger = version.Version, opts.Logger
	aopts.Verbs = func(p *auth.Principal) map[string][]string { return authz.Allowed(p, opts.Namespace, names()) }
	if err := fl.auth.apply(&aopts); err != nil {
		return nil, err
	}
	svc, err := auth.New(ctx, aopts)
	if err != nil {
		return nil, fmt.Errorf("authentication: %w", err)
	}
	return server.NewAccess(svc, authz), nil
}

// mountUI serves the embedded web UI (docs/ui.md) at every path the API
// and authentication leave free.
func mountUI(opts *server.Options) error {
	h, err := ui.New(ui.DefaultOptions())
	if err != nil {
		return err
	}
	opts.Mounts = append(opts.Mounts, h.Mount)
	return nil
}
