package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// outputFlag adds -o table|json|yaml to a command that prints objects.
func outputFlag(cmd *cobra.Command, format *string) {
	cmd.Flags().StringVarP(format, "output", "o", "table", "output format: table, json or yaml")
}

// printStructured writes v as JSON or YAML; ok is false for "table", which the
// caller prints itself.
func printStructured(w io.Writer, format string, v any) (ok bool, err error) {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return true, enc.Encode(v)
	case "yaml":
		data, err := yaml.Marshal(v)
		if err != nil {
			return true, err
		}
		_, err = w.Write(data)
		return true, err
	case "table", "":
		return false, nil
	default:
		return true, fmt.Errorf("unknown output format %q: use table, json or yaml", format)
	}
}
