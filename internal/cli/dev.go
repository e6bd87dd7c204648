package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

// devOptions are the flags shared by the dev commands.
type devOptions struct {
	stateDir string
	binDir   string
}

// defaultDevState is $XDG_STATE_HOME/flotilla/dev, or ~/.local/state/flotilla/dev.
func defaultDevState() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "flotilla", "dev")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "flotilla-dev")
	}
	return filepath.Join(home, ".local", "state", "flotilla", "dev")
}

func newDevCommand() *cobra.Command {
	opts := &devOptions{}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a local fleet of real Kubernetes clusters for trying Flotilla",
		Long: `Run a local fleet of real Kubernetes clusters on this machine.

Each cluster is a real etcd, kube-apiserver, kube-controller-manager and
kube-scheduler on loopback, with kwok playing one node so that pods run.
The first cluster is "hub", the others "dev-1", "dev-2", ...; the state folder
holds a kubeconfig with one context per cluster.`,
	}
	cmd.PersistentFlags().StringVar(&opts.stateDir, "state", defaultDevState(), "folder for the fleet's data, logs and kubeconfig")
	cmd.PersistentFlags().StringVar(&opts.binDir, "k8s-bin", localfleet.DefaultBinDir(), "folder with the Kubernetes binaries built by hack/k8s")
	cmd.AddCommand(newDevUpCommand(opts), newDevStatusCommand(opts), newDevEnvCommand(opts), newDevDownCommand(opts))
	return cmd
}

func newDevUpCommand(opts *devOptions) *cobra.Command {
	var clusters int
	var clustersOnly bool
	var examples string
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start the local fleet in the background",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if clusters < 1 {
				return fmt.Errorf("--clusters must be at least 1, got %d", clusters)
			}
			if f, err := localfleet.Load(opts.stateDir); err == nil {
				return fmt.Errorf("a local fleet of %d clusters is already running in %s: see 'flotilla dev status', or stop it with 'flotilla dev down'", len(f.Clusters), f.Dir)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Starting %d clusters in %s ...\n", clusters, opts.stateDir)
			start := time.Now()
			f, err := localfleet.Start(cmd.Context(), localfleet.Options{
				Clusters: clusters,
				Dir:      opts.stateDir,
				BinDir:   opts.binDir,
				Detach:   true,
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "Started the clusters in %s.\n", time.Since(start).Round(100*time.Millisecond))
			var srv *devServer
			if !clustersOnly {
				if srv, err = setUpFlotilla(cmd.Context(), out, f, examples); err != nil {
					return errors.Join(err, f.Stop())
				}
			}
			fmt.Fprintln(out)
			if err := printFleet(cmd.Context(), out, f); err != nil {
				return err
			}
			fmt.Fprintf(out, "\nUse it:\n  %s\n  kubectl --context %s get nodes\n", envLine(f), f.Clusters[len(f.Clusters)-1].Name)
			if srv != nil {
				fmt.Fprintf(out, "  kubectl --context %s -n %s get applications\n", f.Clusters[0].Name, flotillav1.DefaultNamespace)
				printLogin(out, srv, f.Dir)
			}
			fmt.Fprintf(out, "Stop it:\n  flotilla dev down\n")
			return nil
		},
	}
	cmd.Flags().IntVar(&clusters, "clusters", 3, "how many clusters to start (the first is the hub)")
	cmd.Flags().BoolVar(&clustersOnly, "clusters-only", false, "start only the clusters: no CRDs, registrations, controller or examples")
	cmd.Flags().StringVar(&examples, "examples", "", "a folder laid out like examples/ to deploy from a local git repository")
	return cmd
}

func newDevStatusCommand(opts *devOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the clusters of the local fleet and whether they serve",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := loadDevFleet(opts)
			if err != nil {
				return err
			}
			return printFleet(cmd.Context(), cmd.OutOrStdout(), f)
		},
	}
}

func newDevEnvCommand(opts *devOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "env",
		Short: "Print the shell line that points kubectl at the local fleet",
		Long:  "Print the shell line that points kubectl at the local fleet; use it as: eval \"$(flotilla dev env)\"",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := loadDevFleet(opts)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), envLine(f))
			return err
		},
	}
}

func newDevDownCommand(opts *devOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Stop every process of the local fleet and remove its data",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := loadDevFleet(opts)
			if err != nil {
				return err
			}
			if err := f.Stop(); err != nil {
				return err
			}
			// What dev up wrote beside the fleet: the controller's and the
			// server's source caches, the examples repository, the server's
			// certificate and the cookie jar of the printed curl login.
			for _, name := range []string{"cache", "examples.git", "server-cache", "flotilla-server-ca.pem", "flotilla-cookies.txt"} {
				if err := os.RemoveAll(filepath.Join(f.Dir, name)); err != nil {
					return err
				}
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "Stopped %d clusters.\n", len(f.Clusters))
			return err
		},
	}
}

func loadDevFleet(opts *devOptions) (*localfleet.Fleet, error) {
	f, err := localfleet.Load(opts.stateDir)
	if errors.Is(err, localfleet.ErrNotRunning) {
		return nil, fmt.Errorf("%w: start one with 'flotilla dev up'", err)
	}
	return f, err
}

func envLine(f *localfleet.Fleet) string {
	return "export KUBECONFIG=" + shellQuote(f.Kubeconfig())
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[](){};<>|&~#") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func printFleet(ctx context.Context, out interface{ Write([]byte) (int, error) }, f *localfleet.Fleet) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tCONTEXT\tSERVER\tSTATUS")
	for _, c := range f.Clusters {
		status := "Ready"
		if err := c.Health(ctx); err != nil {
			status = "NotReady: " + err.Error()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, c.Name, c.Server, status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "\nKubeconfig: %s\n", f.Kubeconfig())
	return err
}
