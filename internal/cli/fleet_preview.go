package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

const formatMarkdown = "markdown"

func newFleetPreviewCommand(g *globals) *cobra.Command {
	var ns, revision, output string
	cmd := &cobra.Command{
		Use:   "preview NAME",
		Short: "Show what a revision would change on each cluster of a Fleet; exit 1 when something would, 2 on an error",
		Long: `Render a revision (the template's targetRevision, or --revision) for every
cluster of the Fleet and compare it with each cluster's live objects by a
server-side dry run: nothing is written. Per cluster it prints the objects
that would be created, updated and deleted with their diffs, or the error
that stops the cluster (a missing CRD, a webhook that refuses, a Project
rule), then a one-line summary per cluster.

The exit code is 0 when no cluster would change, 1 when some would, and 2
when some cluster cannot be previewed or the preview failed. -o markdown
prints a summary table and the diffs in collapsed sections, made for a
pull-request comment.`,
		Example:           "  flotilla fleet preview shop --revision 4f2a9c1\n  flotilla fleet preview shop --revision \"$GIT_COMMIT\" -o markdown > comment.md",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNames(g, "fleets"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(output, previewFormats); err != nil {
				return &ExitError{Code: diffExitError, Err: err}
			}
			p, err := runFleetPreview(cmd.Context(), g, args[0], ns, revision)
			if err == nil {
				err = printPreview(cmd.OutOrStdout(), output, p)
			}
			if err != nil {
				return &ExitError{Code: diffExitError, Err: err}
			}
			return previewExit(p)
		},
	}
	namespaceFlag(cmd, &ns, "the Fleet's hub namespace (default: flotilla-system)")
	cmd.Flags().StringVar(&revision, "revision", "", "preview this revision instead of the template's targetRevision")
	cmd.Flags().StringVarP(&output, "output", "o", formatTable, "output format: table, markdown, json or yaml")
	registerFormats(cmd, previewFormats)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &ExitError{Code: diffExitError, Err: err} })
	return cmd
}

var previewFormats = []string{formatTable, formatMarkdown, formatJSON, formatYAML}

func printPreview(w io.Writer, format string, p *wire.FleetPreview) error {
	switch format {
	case formatMarkdown:
		return printFleetPreviewMarkdown(w, p)
	case formatJSON, formatYAML:
		_, err := printStructured(w, format, p)
		return err
	}
	return printFleetPreview(w, p)
}

func runFleetPreview(ctx context.Context, g *globals, arg, ns, revision string) (*wire.FleetPreview, error) {
	c, namespace, name, err := g.target(arg, ns)
	if err != nil {
		return nil, err
	}
	return c.FleetPreview(ctx, namespace, name, revision)
}

// previewExit is 2 when a cluster could not be previewed, 1 when one would
// change, else nil.
func previewExit(p *wire.FleetPreview) error {
	changed := false
	for _, c := range p.Clusters {
		if c.Error != "" {
			return &ExitError{Code: diffExitError}
		}
		changed = changed || diffChanged(&wire.Diff{Resources: c.Resources})
	}
	if changed {
		return &ExitError{Code: diffExitChanged}
	}
	return nil
}

// previewCounts are a cluster's objects to create, update and delete.
func previewCounts(c wire.ClusterPreview) (create, update, del int) {
	for _, r := range c.Resources {
		switch r.Action {
		case wire.DiffCreate:
			create++
		case wire.DiffUpdate:
			update++
		case wire.DiffDelete:
			del++
		}
	}
	return create, update, del
}

// previewSummary is one line about one cluster.
func previewSummary(c wire.ClusterPreview) string {
	if c.Error != "" {
		return "error: " + oneLine(c.Error)
	}
	create, update, del := previewCounts(c)
	if create+update+del == 0 {
		return "no change"
	}
	return fmt.Sprintf("%d to create, %d to update, %d to delete", create, update, del)
}

func printFleetPreview(w io.Writer, p *wire.FleetPreview) error {
	for _, c := range p.Clusters {
		fmt.Fprintf(w, "### cluster %s (%s)\n", c.Cluster, c.Application)
		if c.Error != "" {
			fmt.Fprintf(w, "error: %s\n\n", c.Error)
			continue
		}
		if _, err := printDiff(w, &wire.Diff{Revision: c.Revision, Resources: c.Resources}); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "CLUSTER\tREVISION\tSUMMARY")
	for _, c := range p.Clusters {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Cluster, shortRevision(c.Revision), previewSummary(c))
	}
	return tw.Flush()
}

// printFleetPreviewMarkdown writes a pull-request comment: a table of the
// clusters, then each cluster's diff in a collapsed section. What comes
// from the clusters and the repository goes in code spans and fences, so
// it cannot turn into markup or links.
func printFleetPreviewMarkdown(w io.Writer, p *wire.FleetPreview) error {
	fmt.Fprintf(w, "#### Flotilla preview of %s\n\n", mdCode(shortRevision(p.Revision)))
	fmt.Fprintln(w, "| cluster | create | update | delete | result |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, c := range p.Clusters {
		create, update, del := previewCounts(c)
		result := "no change"
		switch {
		case c.Error != "":
			result = "error: " + mdCode(oneLine(c.Error))
		case create+update+del > 0:
			result = "changes"
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d | %s |\n", mdCode(c.Cluster), create, update, del, result)
	}
	for _, c := range p.Clusters {
		if c.Error != "" || !diffChanged(&wire.Diff{Resources: c.Resources}) {
			continue
		}
		var b strings.Builder
		if _, err := printDiff(&b, &wire.Diff{Revision: c.Revision, Resources: c.Resources}); err != nil {
			return err
		}
		fence := "```"
		for strings.Contains(b.String(), fence) {
			fence += "`"
		}
		fmt.Fprintf(w, "\n<details><summary>%s: %s</summary>\n\n%sdiff\n%s%s\n\n</details>\n", mdCode(c.Cluster), previewSummary(c), fence, b.String(), fence)
	}
	return nil
}

// mdCode is s as a Markdown code span, whatever backticks it holds.
func mdCode(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	tick := "`"
	for strings.Contains(s, tick) {
		tick += "`"
	}
	return tick + " " + s + " " + tick
}
