package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/internal/version"
)

func newVersionCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print Flotilla's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := version.Get()
			if ok, err := printStructured(cmd.OutOrStdout(), format, info); ok {
				return err
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "flotilla %s (%s)\n", info.Version, info.GoVersion)
			return err
		},
	}
	outputFlag(cmd, &format)
	return cmd
}
