package cli

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"github.com/flotilla-dev/flotilla/internal/agent"
)

func newAgentCommand() *cobra.Command {
	opts := agent.DefaultOptions()
	hub := &kubeFlags{}
	kube := &kubeFlags{}
	var verbose bool
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Pull and apply the Applications of one Cluster in agent mode",
		Long: `Run the pull agent of a Cluster in agent mode (docs/agent.md).

The agent watches the Applications of its Cluster in the hub with the
credential ` + "`flotilla cluster add CONTEXT --mode agent`" + ` wrote, keeps a copy of
each in its own cluster, syncs them there with the same engine as the hub's
controller, and writes their status and its heartbeat back to the hub. When
the hub cannot be reached it keeps syncing and healing the last copies.

Without --kubeconfig it reaches its own cluster with the in-cluster
configuration of its Pod.`,
		Example: "  flotilla agent --hub-kubeconfig hub.yaml --cluster staging --kubeconfig ~/.kube/config --context staging",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if hub.kubeconfig == "" || opts.Cluster == "" {
				return fmt.Errorf("--hub-kubeconfig and --cluster are required")
			}
			hubCfg, err := hub.config()
			if err != nil {
				return fmt.Errorf("hub: %w", err)
			}
			local, err := localConfig(kube)
			if err != nil {
				return fmt.Errorf("cluster %s: %w", opts.Cluster, err)
			}
			opts.Hub, opts.Controller.Config = hubCfg, local
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			opts.Logger = slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			return agent.Run(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&hub.kubeconfig, "hub-kubeconfig", "", "the kubeconfig of the agent's hub credential (from flotilla cluster add --mode agent)")
	f.StringVar(&hub.context, "hub-context", "", "the context of --hub-kubeconfig (default: its current context)")
	f.StringVar(&opts.HubNamespace, "hub-namespace", opts.HubNamespace, "the hub namespace of the Cluster and its Applications")
	f.StringVar(&opts.Cluster, "cluster", "", "the name of this cluster's Cluster in the hub")
	f.StringVar(&kube.kubeconfig, "kubeconfig", "", "the kubeconfig of this cluster (default: the Pod's in-cluster configuration)")
	f.StringVar(&kube.context, "context", "", "the context of --kubeconfig (default: its current context)")
	c := &opts.Controller
	f.StringVar(&c.Namespace, "namespace", c.Namespace, "this cluster's namespace for the copies of the Applications and their Secrets")
	f.StringVar(&c.MetricsAddr, "metrics-addr", c.MetricsAddr, "address of /metrics (0 turns it off)")
	f.StringVar(&c.HealthAddr, "health-addr", c.HealthAddr, "address of /healthz (0 turns it off)")
	f.StringVar(&c.CacheDir, "cache-dir", "", "folder for fetched sources (default: the user cache folder)")
	f.BoolVar(&c.AllowLocalRepos, "allow-local-repos", false, "allow file:// repository URLs and repositories on loopback addresses (development only)")
	f.BoolVar(&c.DenyPrivateRepos, "deny-private-repos", false, "refuse repositories on private addresses")
	f.IntVar(&c.Workers, "workers", c.Workers, "how many Applications sync at once")
	f.DurationVar(&c.PollInterval, "poll-interval", c.PollInterval, "how often each git repository and revision is checked for a new commit (0 turns it off)")
	f.DurationVar(&opts.Interval, "hub-interval", opts.Interval, "how soon a round that could not reach the hub is tried again (the agent follows the hub with watches)")
	f.DurationVar(&opts.Resync, "resync", opts.Resync, "how often a full round reads the hub and the copies directly, even without events (the safety net of the watches)")
	f.DurationVar(&opts.CacheSyncTimeout, "cache-sync-timeout", opts.CacheSyncTimeout, "how long the agent waits at start for its watches' first answer (of the copies: else it ends with an error; of the hub: else it goes on)")
	f.DurationVar(&opts.Heartbeat, "heartbeat", opts.Heartbeat, "how often the Cluster's heartbeat is written to the hub")
	f.IntVar(&opts.MaxApplications, "max-applications", opts.MaxApplications, "the most Applications this agent copies")
	f.BoolVarP(&verbose, "verbose", "v", false, "log debug messages too")
	return cmd
}

// localConfig is --kubeconfig's configuration, or the Pod's in-cluster one.
func localConfig(kube *kubeFlags) (*rest.Config, error) {
	if kube.kubeconfig == "" {
		if kube.context != "" {
			return nil, fmt.Errorf("--context needs --kubeconfig")
		}
		return rest.InClusterConfig()
	}
	return kube.config()
}
