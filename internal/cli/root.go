package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

// Run executes the flotilla command line args (without the program name).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := NewRootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

// NewRootCommand builds the whole command tree.
func NewRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "flotilla",
		Short:         "GitOps for fleets of Kubernetes clusters",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	g := &globals{}
	g.addFlags(root)
	root.AddCommand(
		newVersionCommand(),
		newDevCommand(),
		newInstallCommand(),
		newUninstallCommand(),
		newBootstrapCommand(),
		newControllerCommand(),
		newAgentCommand(),
		newClusterCommand(g),
		newLoginCommand(g),
		newLogoutCommand(g),
		newContextCommand(g),
		newAppCommand(g),
		newFleetCommand(g),
		newProjectCommand(g),
		newAdminCommand(g),
		newServerCommand(),
		newImportCommand(),
	)
	return root
}
