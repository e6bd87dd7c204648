package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// Output formats of -o.
const (
	formatTable = "table"
	formatWide  = "wide"
	formatName  = "name"
	formatJSON  = "json"
	formatYAML  = "yaml"
)

var listFormats = []string{formatTable, formatWide, formatName, formatJSON, formatYAML}

// outputFlag adds -o table|json|yaml to a command that prints objects.
func outputFlag(cmd *cobra.Command, format *string) {
	cmd.Flags().StringVarP(format, "output", "o", formatTable, "output format: table, json or yaml")
	registerFormats(cmd, []string{formatTable, formatJSON, formatYAML})
}

// listOutputFlag adds -o table|wide|name|json|yaml to a command that prints
// API objects.
func listOutputFlag(cmd *cobra.Command, format *string) {
	cmd.Flags().StringVarP(format, "output", "o", formatTable, "output format: "+strings.Join(listFormats, ", "))
	registerFormats(cmd, listFormats)
}

func registerFormats(cmd *cobra.Command, formats []string) {
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

// checkFormat refuses a format the command does not print.
func checkFormat(format string, allowed []string) error {
	if format == "" || slices.Contains(allowed, format) {
		return nil
	}
	return fmt.Errorf("unknown output format %q: use %s", format, strings.Join(allowed, ", "))
}

// printStructured writes v as JSON or YAML; ok is false for "table", which the
// caller prints itself.
func printStructured(w io.Writer, format string, v any) (ok bool, err error) {
	switch format {
	case formatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return true, enc.Encode(v)
	case formatYAML:
		data, err := yaml.Marshal(v)
		if err != nil {
			return true, err
		}
		_, err = w.Write(data)
		return true, err
	case formatTable, "":
		return false, nil
	default:
		return true, fmt.Errorf("unknown output format %q: use table, json or yaml", format)
	}
}

// view is what a list or get prints in each format.
type view struct {
	// object is printed by -o json and -o yaml.
	object any
	// names are printed by -o name, one a line.
	names []string
	// table prints the table, wide or not.
	table func(w io.Writer, wide bool) error
}

// printView prints v in format.
func printView(w io.Writer, format string, v view) error {
	if err := checkFormat(format, listFormats); err != nil {
		return err
	}
	switch format {
	case formatName:
		for _, n := range v.names {
			if _, err := fmt.Fprintln(w, n); err != nil {
				return err
			}
		}
		return nil
	case formatWide:
		return v.table(w, true)
	case formatTable, "":
		return v.table(w, false)
	}
	_, err := printStructured(w, format, v.object)
	return err
}
