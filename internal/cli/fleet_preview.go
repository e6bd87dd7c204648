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

// previewOptions are the flags of `fleet preview` and `app preview`.
type previewOptions struct {
	kind                   previewKind
	ns, revision, output   string
	kubeconfig, hubContext string
	live                   liveFlags
	status                 statusFlags
}

// previewKind is what a preview covers: a Fleet's clusters or one
// Application's.
type previewKind string

const (
	previewFleet previewKind = "fleet"
	previewApp   previewKind = "app"
)

func newFleetPreviewCommand(g *globals) *cobra.Command {
	o := &previewOptions{kind: previewFleet}
	cmd := &cobra.Command{
		Use:   "preview NAME",
		Short: "Show what a revision would change on each cluster of a Fleet; exit 1 when something would, 2 on an error",
		Long: `Render a revision (the template's targetRevision, or --revision) for every
cluster of the Fleet and compare it with each cluster's live objects by a
server-side dry run: nothing is written. Per cluster it prints the objects
that would be created, updated and deleted with their diffs, or the error
that stops the cluster (a missing CRD, a webhook that refuses, a Project
rule), then a one-line summary per cluster.` + previewLongCommon,
		Example: "  flotilla fleet preview shop --revision 4f2a9c1\n" +
			"  flotilla fleet preview shop --revision \"$GIT_COMMIT\" -o markdown > comment.md\n" +
			"  flotilla fleet preview shop --kubeconfig hub.yaml --hub-context hub --revision \"$GIT_COMMIT\" \\\n" +
			"      --post-status github --repo org/config --sha \"$GIT_COMMIT\"",
		ValidArgsFunction: completeNames(g, "fleets"),
	}
	o.setup(cmd, g, "the Fleet's hub namespace (default: flotilla-system)", "preview this revision instead of the template's targetRevision")
	return cmd
}

func newAppPreviewCommand(g *globals) *cobra.Command {
	o := &previewOptions{kind: previewApp}
	cmd := &cobra.Command{
		Use:   "preview NAME",
		Short: "Show what a revision would change on an Application's cluster; exit 1 when something would, 2 on an error",
		Long: `Render a revision (the Application's current one, or --revision) and compare
it with the live objects of the Application's cluster by a server-side dry
run: nothing is written. It prints the objects that would be created,
updated and deleted with their diffs, or the error that stops the cluster
(a missing CRD, a webhook that refuses, a Project rule), then a one-line
summary, as one cluster of ` + "`fleet preview`" + `.` + previewLongCommon,
		Example: "  flotilla app preview guestbook --revision 4f2a9c1 -o markdown\n" +
			"  flotilla app preview guestbook --kubeconfig hub.yaml --hub-context hub --revision main",
		ValidArgsFunction: completeNames(g, "applications"),
	}
	o.setup(cmd, g, "the Application's hub namespace (default: flotilla-system)", "preview this revision instead of the Application's current one")
	return cmd
}

const previewLongCommon = `

The exit code is 0 when no cluster would change, 1 when some would, and 2
when some cluster cannot be previewed or the preview failed. -o markdown
prints a summary table and the diffs in collapsed sections, made for a
pull-request comment.

Logged in to a server (` + "`flotilla login`" + `), the preview runs there. Not logged
in, or with --kubeconfig or --hub-context, it runs in this process: it reads
the hub with your kubeconfig (the Fleet or Application, its Project, the
Secrets of its source and of its clusters), fetches and renders the revision
and asks each cluster for a dry run, as the server would.

--post-status github|gitlab|gitea sets a commit status named
flotilla/preview/NAME on --sha of --repo, with the token in
$FLOTILLA_STATUS_TOKEN: success when every cluster can be previewed (whether
or not it would change), failure when some cluster cannot, error when the
preview failed; its description is the one-line summary.`

// setup adds the flags and the run of a preview command.
func (o *previewOptions) setup(cmd *cobra.Command, g *globals, nsUsage, revUsage string) {
	cmd.Args = func(c *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(1)(c, args); err != nil {
			return &ExitError{Code: diffExitError, Err: err}
		}
		return nil
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error { return o.run(cmd, g, args[0]) }
	namespaceFlag(cmd, &o.ns, nsUsage)
	f := cmd.Flags()
	f.StringVar(&o.revision, "revision", "", revUsage)
	f.StringVarP(&o.output, "output", "o", formatTable, "output format: table, markdown, json or yaml")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "without a server: path to the kubeconfig file of the hub (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&o.hubContext, "hub-context", "", "without a server: the kubeconfig context of the hub (default: the current context)")
	o.live.addSources(cmd)
	o.status.add(cmd)
	registerFormats(cmd, previewFormats)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &ExitError{Code: diffExitError, Err: err} })
}

// run previews, prints, posts the commit status if asked, and exits 0, 1
// or 2.
func (o *previewOptions) run(cmd *cobra.Command, g *globals, arg string) error {
	if err := checkFormat(o.output, previewFormats); err != nil {
		return &ExitError{Code: diffExitError, Err: err}
	}
	namespace, name, err := objectName(arg, o.ns)
	if err != nil {
		return &ExitError{Code: diffExitError, Err: err}
	}
	post, err := o.status.request(name, o.revision)
	if err != nil {
		return &ExitError{Code: diffExitError, Err: err}
	}
	ctx := cmd.Context()
	var p *wire.FleetPreview
	if direct(cmd, g, "kubeconfig", "hub-context") {
		p, err = o.direct(ctx, namespace, name)
	} else {
		p, err = o.api(ctx, g, namespace, name)
	}
	if err == nil {
		err = printPreview(cmd.OutOrStdout(), o.output, p)
	}
	exit := previewExit(p, err)
	if post != nil {
		if perr := post.send(ctx, p, err); perr != nil {
			perr = fmt.Errorf("the commit status was not set: %w", perr)
			if err != nil {
				// The exit's error is the preview's; this one is said here.
				fmt.Fprintln(cmd.ErrOrStderr(), perr)
			} else {
				exit = &ExitError{Code: diffExitError, Err: perr}
			}
		}
	}
	return exit
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

// api runs the preview on the server the CLI is logged in to.
func (o *previewOptions) api(ctx context.Context, g *globals, namespace, name string) (*wire.FleetPreview, error) {
	c, err := g.client()
	if err != nil {
		return nil, err
	}
	if o.kind == previewApp {
		return c.AppPreview(ctx, namespace, name, o.revision)
	}
	return c.FleetPreview(ctx, namespace, name, o.revision)
}

// previewExit is 2 when the preview failed (err) or a cluster could not be
// previewed, 1 when one would change, else nil.
func previewExit(p *wire.FleetPreview, err error) error {
	if err != nil {
		return &ExitError{Code: diffExitError, Err: err}
	}
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
