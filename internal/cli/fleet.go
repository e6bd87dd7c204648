package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cli/apiclient"
)

func newFleetCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "fleet",
		Aliases: []string{"fleets"},
		Short:   "List and inspect Fleets through the server",
	}
	cmd.AddCommand(newFleetListCommand(g), newFleetGetCommand(g), newFleetPreviewCommand(g),
		newFleetActionCommand(g, "pause", "Pause a Fleet's rollout: no cluster moves to a new revision until it resumes"),
		newFleetActionCommand(g, "resume", "Resume a Fleet's paused rollout"),
		newFleetActionCommand(g, "promote", "End the bake time of the wave that bakes: the next wave starts now"),
		newFleetActionCommand(g, "retry", "Roll out the revision that failed a wave again"))
	return cmd
}

// newFleetActionCommand asks the server for one rollout action on a Fleet.
func newFleetActionCommand(g *globals, action, short string) *cobra.Command {
	var ns string
	cmd := &cobra.Command{
		Use:               action + " NAME",
		Short:             short,
		Example:           "  flotilla fleet " + action + " shop",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNames(g, "fleets"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, namespace, name, err := g.target(args[0], ns)
			if err != nil {
				return err
			}
			if _, err := c.FleetAction(cmd.Context(), namespace, name, action); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "fleet %s/%s: %s asked\n", namespace, name, action)
			return err
		},
	}
	namespaceFlag(cmd, &ns, "the Fleet's hub namespace (default: flotilla-system)")
	return cmd
}

func newFleetListCommand(g *globals) *cobra.Command {
	var opts apiclient.ListOptions
	var output string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the Fleets you may see, with how many of their clusters are synced and healthy",
		Example: "  flotilla fleet list\n  flotilla fleet list --project shop -o wide",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			fleets, err := c.ListFleets(cmd.Context(), opts)
			if err != nil {
				return err
			}
			return printView(cmd.OutOrStdout(), output, fleetsView(fleets, time.Now()))
		},
	}
	namespaceFlag(cmd, &opts.Namespace, "only Fleets in this hub namespace (default: all)")
	cmd.Flags().StringVar(&opts.Project, "project", "", "only Fleets of this Project")
	cmd.Flags().StringVarP(&opts.Selector, "selector", "l", "", "a label selector")
	cmd.Flags().StringVar(&opts.Search, "search", "", "only Fleets whose name holds this text")
	listOutputFlag(cmd, &output)
	return cmd
}

func newFleetGetCommand(g *globals) *cobra.Command {
	var ns, output string
	cmd := &cobra.Command{
		Use:               "get NAME",
		Short:             "Show one Fleet and the state of each of its clusters",
		Example:           "  flotilla fleet get shop\n  flotilla fleet get shop -o yaml",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNames(g, "fleets"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, namespace, name, err := g.target(args[0], ns)
			if err != nil {
				return err
			}
			f, err := c.GetFleet(cmd.Context(), namespace, name)
			if err != nil {
				return err
			}
			return printView(cmd.OutOrStdout(), output, fleetDetailView(f, time.Now()))
		},
	}
	namespaceFlag(cmd, &ns, "the Fleet's hub namespace (default: flotilla-system)")
	listOutputFlag(cmd, &output)
	return cmd
}

func fleetDetailView(f *apiclient.FleetDetail, now time.Time) view {
	f.APIVersion, f.Kind = flotillav1.GroupVersion.String(), "Fleet"
	f.ManagedFields = nil
	return view{object: f, names: []string{"fleet/" + f.Name}, table: func(w io.Writer, _ bool) error {
		return printFleetDetail(w, f, now)
	}}
}
