package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/flotilla-dev/flotilla/internal/cli/apiclient"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// Exit codes of `app diff`, usable in CI.
const (
	diffExitSame    = 0
	diffExitChanged = 1
	diffExitError   = 2
)

func newAppDiffCommand(g *globals) *cobra.Command {
	var ns, revision, output string
	cmd := &cobra.Command{
		Use:   "diff NAME",
		Short: "Show what a sync would change; exit 1 when something would, 0 when nothing would, 2 on error",
		Long: `Show the normalized difference between what the source renders (at the
target revision, or --revision) and what runs in the cluster, Secret values
masked. The exit code is 0 when there is no difference, 1 when there is one,
and 2 when the diff could not be made, so that CI can tell them apart.`,
		Example:           "  flotilla app diff guestbook\n  flotilla app diff guestbook --revision v1.4.0 || echo \"would change\"",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNames(g, "applications"),
		RunE: func(cmd *cobra.Command, args []string) error {
			changed, err := runDiff(cmd, g, args[0], ns, revision, output)
			switch {
			case err != nil:
				return &ExitError{Code: diffExitError, Err: err}
			case changed:
				return &ExitError{Code: diffExitChanged}
			}
			return nil
		},
	}
	namespaceFlag(cmd, &ns, "the Application's hub namespace (default: flotilla-system)")
	cmd.Flags().StringVar(&revision, "revision", "", "compare with this revision instead of the target revision")
	outputFlag(cmd, &output)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &ExitError{Code: diffExitError, Err: err} })
	cmd.Args = func(c *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(1)(c, args); err != nil {
			return &ExitError{Code: diffExitError, Err: err}
		}
		return nil
	}
	return cmd
}

func runDiff(cmd *cobra.Command, g *globals, arg, ns, revision, output string) (bool, error) {
	c, namespace, name, err := g.target(arg, ns)
	if err != nil {
		return false, err
	}
	d, err := c.Diff(cmd.Context(), namespace, name, revision)
	if err != nil {
		return false, err
	}
	if ok, err := printStructured(cmd.OutOrStdout(), output, d); ok {
		return diffChanged(d), err
	}
	return printDiff(cmd.OutOrStdout(), d)
}

func diffChanged(d *wire.Diff) bool {
	for _, r := range d.Resources {
		if r.Action != wire.DiffNone && r.Action != "" {
			return true
		}
	}
	return false
}

func newAppHistoryCommand(g *globals) *cobra.Command {
	var ns, output string
	cmd := &cobra.Command{
		Use:               "history NAME",
		Short:             "List an Application's last successful syncs, the ids that rollback takes",
		Example:           "  flotilla app history guestbook\n  flotilla app history guestbook -o wide",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNames(g, "applications"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, namespace, name, err := g.target(args[0], ns)
			if err != nil {
				return err
			}
			entries, err := c.History(cmd.Context(), namespace, name)
			if err != nil {
				return err
			}
			return printView(cmd.OutOrStdout(), output, historyView(entries, time.Now()))
		},
	}
	namespaceFlag(cmd, &ns, "the Application's hub namespace (default: flotilla-system)")
	listOutputFlag(cmd, &output)
	return cmd
}

func newAppTreeCommand(g *globals) *cobra.Command {
	var ns, output string
	cmd := &cobra.Command{
		Use:               "tree NAME",
		Short:             "Show the objects an Application deployed and their children (ReplicaSets, Pods …)",
		Example:           "  flotilla app tree guestbook\n  flotilla app tree guestbook -o wide",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNames(g, "applications"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, namespace, name, err := g.target(args[0], ns)
			if err != nil {
				return err
			}
			tree, err := c.Tree(cmd.Context(), namespace, name)
			if err != nil {
				return err
			}
			return printView(cmd.OutOrStdout(), output, treeView(tree))
		},
	}
	namespaceFlag(cmd, &ns, "the Application's hub namespace (default: flotilla-system)")
	listOutputFlag(cmd, &output)
	return cmd
}

// appLogsOptions are the flags of `app logs`.
type appLogsOptions struct {
	ns   string
	opts apiclient.LogOptions
}

func newAppLogsCommand(g *globals) *cobra.Command {
	o := &appLogsOptions{}
	cmd := &cobra.Command{
		Use:   "logs NAME",
		Short: "Print the logs of an Application's Pods; -f follows them",
		Long: `Print the log of the Pod --pod of the Application NAME, or of each of its Pods
(found in its tree), each line prefixed with the Pod's name when there are
several. The server bounds a log in size and, when followed, in time.`,
		Example:           "  flotilla app logs guestbook --tail 100\n  flotilla app logs guestbook --pod web-5d8f-abcde -c app -f",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNames(g, "applications"),
		RunE:              func(cmd *cobra.Command, args []string) error { return o.run(cmd, g, args[0]) },
	}
	f := cmd.Flags()
	namespaceFlag(cmd, &o.ns, "the Application's hub namespace (default: flotilla-system)")
	f.StringVar(&o.opts.Pod, "pod", "", "the Pod (default: every Pod of the Application)")
	f.StringVar(&o.opts.Namespace, "pod-namespace", "", "the Pod's namespace in the workload cluster (default: found in the tree)")
	f.StringVarP(&o.opts.Container, "container", "c", "", "the container (needed when the Pod has several)")
	f.Int64Var(&o.opts.TailLines, "tail", 0, "print this many lines from the end")
	f.DurationVar(&o.opts.Since, "since", 0, "print only lines newer than this, like 10m")
	f.BoolVarP(&o.opts.Follow, "follow", "f", false, "keep printing new lines")
	return cmd
}

func (o *appLogsOptions) run(cmd *cobra.Command, g *globals, arg string) error {
	c, namespace, name, err := g.target(arg, o.ns)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	pods, err := o.pods(ctx, c, namespace, name)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if len(pods) == 1 {
		opts := o.opts
		opts.Namespace, opts.Pod = pods[0].Namespace, pods[0].Name
		return followLogs(ctx, c, namespace, name, opts, out)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(pods))
	for i, p := range pods {
		wg.Go(func() {
			opts := o.opts
			opts.Namespace, opts.Pod = p.Namespace, p.Name
			w := &prefixWriter{prefix: "pod/" + p.Name + " ", mu: &mu, out: out}
			errs[i] = followLogs(ctx, c, namespace, name, opts, w)
			w.flush()
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// followLogs reads one Pod's log. With Follow, when the server ends the
// follow at its time limit (docs/api.md: 30 minutes at most), it asks again
// for the lines since the last one written, so that -f goes on until the
// user stops it. A follow that ends quickly (the Pod is gone) is not
// renewed.
func followLogs(ctx context.Context, c *apiclient.Client, namespace, name string, opts apiclient.LogOptions, w io.Writer) error {
	for {
		lw := &lastWrite{w: w}
		start := time.Now()
		err := c.Logs(ctx, namespace, name, opts, lw)
		if err != nil || !opts.Follow || ctx.Err() != nil || time.Since(start) < minFollow {
			return err
		}
		last := lw.at
		if last.IsZero() {
			last = start
		}
		// A second more than the gap: a line of that second may print
		// twice rather than be lost.
		opts.TailLines, opts.Since = 0, time.Since(last)+time.Second
	}
}

// minFollow is how long a follow must have lasted to be renewed.
const minFollow = 10 * time.Second

// lastWrite remembers when it last wrote.
type lastWrite struct {
	w  io.Writer
	at time.Time
}

func (l *lastWrite) Write(b []byte) (int, error) {
	l.at = time.Now()
	return l.w.Write(b)
}

// pods answers the Pods whose logs to print: --pod, or the Pods of the tree.
func (o *appLogsOptions) pods(ctx context.Context, c *apiclient.Client, namespace, name string) ([]wire.ObjectRef, error) {
	if o.opts.Pod != "" && o.opts.Namespace != "" {
		return []wire.ObjectRef{{Kind: "Pod", Namespace: o.opts.Namespace, Name: o.opts.Pod}}, nil
	}
	tree, err := c.Tree(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	var pods []wire.ObjectRef
	for _, n := range tree.Nodes {
		if n.Group == "" && n.Kind == "Pod" && (o.opts.Pod == "" || n.Name == o.opts.Pod) {
			pods = append(pods, n.ObjectRef)
		}
	}
	switch {
	case len(pods) == 0 && o.opts.Pod != "":
		return nil, fmt.Errorf("application %s/%s has no Pod %s", namespace, name, o.opts.Pod)
	case len(pods) == 0:
		return nil, fmt.Errorf("application %s/%s has no Pods", namespace, name)
	case len(pods) > 1 && o.opts.Pod != "":
		return nil, fmt.Errorf("application %s/%s has Pods %s in several namespaces: pass --pod-namespace", namespace, name, o.opts.Pod)
	}
	return pods, nil
}

// prefixWriter writes whole lines, each with a prefix, under a shared lock
// so that the logs of several Pods interleave by line.
type prefixWriter struct {
	prefix string
	mu     *sync.Mutex
	out    io.Writer
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := strings.IndexByte(string(p.buf), '\n')
		if i < 0 {
			break
		}
		if err := p.emit(p.buf[:i+1]); err != nil {
			return 0, err
		}
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}

func (p *prefixWriter) emit(line []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, err := io.WriteString(p.out, p.prefix+string(line))
	return err
}

func (p *prefixWriter) flush() {
	if len(p.buf) > 0 {
		_ = p.emit(append(p.buf, '\n'))
		p.buf = nil
	}
}
