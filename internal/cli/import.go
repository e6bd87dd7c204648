package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/internal/importer"
)

func newImportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Convert Argo CD or Flux manifests into Flotilla's",
		Long: "Read Argo CD or Flux objects from a file (or - for stdin) and print the equivalent\n" +
			"Flotilla Applications, Fleets and Projects. Fields with no equivalent are named in\n" +
			"comments; a summary at the end lists what was not converted and what needs a decision.",
	}
	cmd.AddCommand(
		newImportFromCommand(importer.ArgoCD, "Argo CD Application, ApplicationSet and AppProject"),
		newImportFromCommand(importer.Flux, "Flux GitRepository, OCIRepository, HelmRepository, Kustomization and HelmRelease"),
	)
	return cmd
}

func newImportFromCommand(from importer.From, kinds string) *cobra.Command {
	return &cobra.Command{
		Use:   string(from) + " FILE|-",
		Short: "Convert " + kinds + " manifests",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer func() { _ = f.Close() }()
				in = f
			}
			return runImport(in, cmd.OutOrStdout(), cmd.ErrOrStderr(), from)
		},
	}
}

func runImport(in io.Reader, out, errOut io.Writer, from importer.From) error {
	res, err := importer.Convert(in, from, importer.DefaultOptions())
	if err != nil {
		return err
	}
	if err := res.Write(out); err != nil {
		return err
	}
	if len(res.Refused) > 0 || len(res.Decisions) > 0 {
		fmt.Fprintf(errOut, "flotilla import: %d not converted, %d decisions left: see the summary at the end of the output\n",
			len(res.Refused), len(res.Decisions))
	}
	if len(res.Documents) == 0 {
		return fmt.Errorf("nothing converted from the input")
	}
	return nil
}
