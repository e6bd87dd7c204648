package cli

import (
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/internal/controller"
	"github.com/flotilla-dev/flotilla/internal/engine"
	"github.com/flotilla-dev/flotilla/internal/source"
)

func newControllerCommand() *cobra.Command {
	opts := controller.DefaultOptions()
	kube := &kubeFlags{}
	var verbose bool
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Reconcile Applications and Clusters in the hub",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := kube.config()
			if err != nil {
				return err
			}
			opts.Config = cfg
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			opts.Logger = slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			return controller.Run(cmd.Context(), opts)
		},
	}
	kube.add(cmd)
	f := cmd.Flags()
	f.StringVar(&opts.Namespace, "namespace", opts.Namespace, "namespace of the Applications, Clusters and their Secrets")
	f.StringVar(&opts.MetricsAddr, "metrics-addr", opts.MetricsAddr, "address of /metrics (0 turns it off)")
	f.StringVar(&opts.HealthAddr, "health-addr", opts.HealthAddr, "address of /healthz (0 turns it off)")
	f.StringVar(&opts.PprofAddr, "pprof-addr", "0", "address of Go's profiles, /debug/pprof/ (0, the default, turns them off; they show the controller's memory, so keep the address private)")
	f.BoolVar(&opts.AllowLocalRepos, "allow-local-repos", false, "allow file:// repository URLs and repositories on loopback addresses (development only)")
	f.BoolVar(&opts.DenyPrivateRepos, "deny-private-repos", false, "refuse repositories on private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7)")
	f.BoolVar(&opts.AllowExecCredentials, "allow-exec-credentials", false, "allow kubeconfig exec plugins and auth providers in Cluster Secrets")
	f.StringVar(&opts.CacheDir, "cache-dir", "", "folder for fetched sources (default: the user cache folder)")
	f.IntVar(&opts.Workers, "workers", opts.Workers, "how many Applications sync at once")
	f.IntVar(&opts.SyncsPerCluster, "syncs-per-cluster", engine.DefaultSyncsPerCluster, "how many of them may sync against one cluster at once, so that a slow cluster never holds every worker")
	f.DurationVar(&opts.PollInterval, "poll-interval", opts.PollInterval, "how often each git repository and revision the Applications follow is checked for a new commit, once for all of them (0 turns it off)")
	f.DurationVar(&opts.SyncTimeout, "sync-timeout", opts.SyncTimeout, "how long one sync in phases and waves waits for its hooks to complete and its waves to become healthy (0: 10 minutes)")
	f.DurationVar(&opts.ResolveShare, "resolve-share", opts.ResolveShare, "how long one git ref listing answers every Application of the same repository, revision and credentials (0: one listing per sync)")
	f.IntVar(&opts.MaxCheckoutFiles, "max-checkout-files", source.DefaultOptions().MaxCheckoutFiles, "how many files one git commit may hold; a larger one fails its Applications' syncs with FetchFailed before anything is written to disk")
	f.BoolVar(&opts.Shards, "shards", false, "share the clusters with the other replicas started with --shards, through Leases in the namespace")
	f.StringVar(&opts.ShardID, "shard-id", "", "this replica's name among the shards, and of its Lease flotilla-shard-ID (default: hostname-pid)")
	f.DurationVar(&opts.ShardLeaseDuration, "shard-lease-duration", opts.ShardLeaseDuration, "how long a replica's Lease lives unrenewed: about the longest a dead replica's clusters wait for a new owner")
	f.BoolVar(&opts.CAPI, "capi", false, "register each Cluster API Cluster of the namespace as a Cluster once its control plane is initialized, and unregister it when it is deleted")
	f.DurationVar(&opts.AgentTimeout, "agent-timeout", controller.DefaultAgentTimeout, "how old the heartbeat of a Cluster in agent mode may get before the hub marks it disconnected")
	f.BoolVarP(&verbose, "verbose", "v", false, "log debug messages too")
	return cmd
}
