package cli

import (
	"io"
	"time"

	"github.com/spf13/cobra"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cli/apiclient"
)

func newProjectCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "project",
		Aliases: []string{"projects", "proj"},
		Short:   "List and inspect Projects through the server",
	}
	cmd.AddCommand(newProjectListCommand(g), newProjectGetCommand(g))
	return cmd
}

func newProjectListCommand(g *globals) *cobra.Command {
	var opts apiclient.ListOptions
	var output string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the Projects you may see",
		Example: "  flotilla project list\n  flotilla project list -o yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			projects, err := c.ListProjects(cmd.Context(), opts)
			if err != nil {
				return err
			}
			return printView(cmd.OutOrStdout(), output, projectsView(projects, time.Now()))
		},
	}
	namespaceFlag(cmd, &opts.Namespace, "only Projects in this hub namespace (default: all)")
	cmd.Flags().StringVar(&opts.Search, "search", "", "only Projects whose name holds this text")
	listOutputFlag(cmd, &output)
	return cmd
}

func newProjectGetCommand(g *globals) *cobra.Command {
	var ns, output string
	cmd := &cobra.Command{
		Use:               "get NAME",
		Short:             "Show one Project: sources, destinations and roles",
		Example:           "  flotilla project get team-a",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNames(g, "projects"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, namespace, name, err := g.target(args[0], ns)
			if err != nil {
				return err
			}
			p, err := c.GetProject(cmd.Context(), namespace, name)
			if err != nil {
				return err
			}
			p.APIVersion, p.Kind, p.ManagedFields = flotillav1.GroupVersion.String(), "Project", nil
			now := time.Now()
			return printView(cmd.OutOrStdout(), output, view{object: p, names: []string{"project/" + p.Name},
				table: func(w io.Writer, _ bool) error { return printProjectDetail(w, p, now) }})
		},
	}
	namespaceFlag(cmd, &ns, "the Project's hub namespace (default: flotilla-system)")
	listOutputFlag(cmd, &output)
	return cmd
}
