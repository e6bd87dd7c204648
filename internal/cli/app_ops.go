package cli

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// defaultWait bounds --wait and `app wait` unless --timeout says otherwise.
const defaultWait = 5 * time.Minute

// appSyncOptions are the flags of `app sync`.
type appSyncOptions struct {
	ns, revision   string
	prune, noPrune bool
	dryRun, wait   bool
	health         bool
	timeout        time.Duration
}

func newAppSyncCommand(g *globals) *cobra.Command {
	o := &appSyncOptions{}
	cmd := &cobra.Command{
		Use:   "sync NAME",
		Short: "Sync an Application now, optionally to a revision; --wait follows it to the end",
		Long: `Ask the controller to sync the Application NAME now (the request is recorded
on the Application, so it survives a restart). --revision syncs that branch,
tag or commit once instead of the target revision. --dry-run prints what the
sync would change and changes nothing. --wait shows the progress and exits
non-zero when the sync fails or --timeout passes; --health also waits for
the Application to be Healthy.`,
		Example:           "  flotilla app sync guestbook --wait\n  flotilla app sync guestbook --revision 4f2a9c1 --prune --wait --health --timeout 10m\n  flotilla app sync guestbook --dry-run",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNames(g, "applications"),
		RunE:              func(cmd *cobra.Command, args []string) error { return o.run(cmd, g, args[0]) },
	}
	f := cmd.Flags()
	namespaceFlag(cmd, &o.ns, "the Application's hub namespace (default: flotilla-system)")
	f.StringVar(&o.revision, "revision", "", "sync this branch, tag or commit once")
	f.BoolVar(&o.prune, "prune", false, "delete objects that left the source (default: the Application's policy)")
	f.BoolVar(&o.noPrune, "no-prune", false, "delete nothing, whatever the Application's policy")
	f.BoolVar(&o.dryRun, "dry-run", false, "print what the sync would change and change nothing")
	f.BoolVar(&o.wait, "wait", false, "wait for the sync to end; exit non-zero when it fails")
	f.BoolVar(&o.health, "health", false, "with --wait, also wait until the Application is Healthy")
	f.DurationVar(&o.timeout, "timeout", defaultWait, "with --wait, how long to wait")
	cmd.MarkFlagsMutuallyExclusive("prune", "no-prune")
	cmd.MarkFlagsMutuallyExclusive("dry-run", "wait")
	return cmd
}

func (o *appSyncOptions) run(cmd *cobra.Command, g *globals, arg string) error {
	c, ns, name, err := g.target(arg, o.ns)
	if err != nil {
		return err
	}
	ctx, out := cmd.Context(), cmd.OutOrStdout()
	req := wire.SyncRequest{Revision: o.revision, DryRun: o.dryRun}
	if o.prune || o.noPrune {
		prune := o.prune
		req.Prune = &prune
	}
	var before string
	if o.wait {
		app, err := c.GetApplication(ctx, ns, name)
		if err != nil {
			return err
		}
		before = app.Status.LastHandledSync
	}
	app, diff, err := c.Sync(ctx, ns, name, req)
	if err != nil {
		return err
	}
	if o.dryRun {
		_, err := printDiff(out, diff)
		return err
	}
	fmt.Fprintf(out, "Sync of application %s/%s requested.\n", ns, name)
	if !o.wait {
		return nil
	}
	token := ""
	if app != nil {
		token = app.Annotations[flotillav1.SyncAnnotation]
	}
	p := &progress{w: out}
	handled := false
	err = watchApp(ctx, c, ns, name, o.timeout, func(a *flotillav1.Application) (bool, error) {
		p.show(a)
		if !handled {
			got := a.Status.LastHandledSync
			handled = token != "" && got == token || token == "" && got != before
			if !handled {
				return false, nil
			}
			if op := a.Status.Operation; op != nil && op.Phase == flotillav1.OperationFailed {
				return false, fmt.Errorf("sync of application %s/%s failed: %s", ns, name, oneLine(op.Message))
			}
		}
		if !o.health {
			return true, nil
		}
		return waitGoal{health: true}.reached(a)
	})
	if err != nil {
		return fmt.Errorf("sync of application %s/%s: %w", ns, name, err)
	}
	fmt.Fprintf(out, "Sync of application %s/%s succeeded.\n", ns, name)
	return nil
}

func newAppRefreshCommand(g *globals) *cobra.Command {
	var ns string
	cmd := &cobra.Command{
		Use:               "refresh NAME",
		Short:             "Fetch the source and compare with the cluster now",
		Example:           "  flotilla app refresh guestbook",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNames(g, "applications"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, namespace, name, err := g.target(args[0], ns)
			if err != nil {
				return err
			}
			if err := c.Refresh(cmd.Context(), namespace, name); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Refresh of application %s/%s requested.\n", namespace, name)
			return nil
		},
	}
	namespaceFlag(cmd, &ns, "the Application's hub namespace (default: flotilla-system)")
	return cmd
}

func newAppRollbackCommand(g *globals) *cobra.Command {
	var ns string
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "rollback NAME ID",
		Short: "Pin an Application to an entry of its history; ID 0 unpins",
		Long: `Pin the Application NAME to the revision of its history entry ID (see
` + "`flotilla app history`" + `): every sync applies that revision, automated or not,
until ` + "`flotilla app rollback NAME 0`" + ` unpins it. --wait waits until the pinned
revision is applied.`,
		Example:           "  flotilla app rollback guestbook 3 --wait\n  flotilla app rollback guestbook 0",
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeNames(g, "applications"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[1], 10, 64)
			if err != nil || id < 0 {
				return fmt.Errorf("history id %q: want a number from `flotilla app history` (0 unpins)", args[1])
			}
			c, namespace, name, err := g.target(args[0], ns)
			if err != nil {
				return err
			}
			if err := c.Rollback(cmd.Context(), namespace, name, id); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if id == 0 {
				fmt.Fprintf(out, "Application %s/%s is unpinned: it follows its target revision again.\n", namespace, name)
			} else {
				fmt.Fprintf(out, "Application %s/%s is pinned to history entry %d.\n", namespace, name, id)
			}
			if !wait {
				return nil
			}
			p := &progress{w: out}
			return watchApp(cmd.Context(), c, namespace, name, timeout, func(a *flotillav1.Application) (bool, error) {
				p.show(a)
				return rolledBack(a, id)
			})
		},
	}
	namespaceFlag(cmd, &ns, "the Application's hub namespace (default: flotilla-system)")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the pinned revision is applied")
	cmd.Flags().DurationVar(&timeout, "timeout", defaultWait, "with --wait, how long to wait")
	return cmd
}

// rolledBack says whether the rollback to id (0: unpin) is in force and
// applied.
func rolledBack(a *flotillav1.Application, id int64) (bool, error) {
	pin := a.Status.Pin
	if id == 0 && pin != nil || id != 0 && (pin == nil || pin.HistoryID != id) {
		return false, nil
	}
	op := a.Status.Operation
	switch {
	case op != nil && op.Phase == flotillav1.OperationRunning:
		return false, nil
	case op != nil && op.Phase == flotillav1.OperationFailed:
		return false, fmt.Errorf("rollback of application %s/%s failed: %s", a.Namespace, a.Name, oneLine(op.Message))
	case pin != nil && a.Status.Sync.Revision != pin.Revision:
		return false, nil
	}
	return true, nil
}

func newAppWaitCommand(g *globals) *cobra.Command {
	var ns string
	var goal waitGoal
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "wait NAME",
		Short: "Wait until an Application is Synced and Healthy (or what the flags say)",
		Long: `Wait until the Application NAME is Synced (at its current spec) and Healthy,
showing each change. --sync, --health and --operation wait for only those.
It exits non-zero when --timeout passes or when the Application is Stalled
(the controller cannot go on without a change from you).`,
		Example:           "  flotilla app wait guestbook\n  flotilla app wait guestbook --health --timeout 2m",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNames(g, "applications"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, namespace, name, err := g.target(args[0], ns)
			if err != nil {
				return err
			}
			if !goal.sync && !goal.health && !goal.operation {
				goal.sync, goal.health = true, true
			}
			p := &progress{w: cmd.OutOrStdout()}
			err = watchApp(cmd.Context(), c, namespace, name, timeout, func(a *flotillav1.Application) (bool, error) {
				p.show(a)
				return goal.reached(a)
			})
			if err != nil {
				return fmt.Errorf("wait for application %s/%s: %w", namespace, name, err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	namespaceFlag(cmd, &ns, "the Application's hub namespace (default: flotilla-system)")
	f.BoolVar(&goal.sync, "sync", false, "wait until Synced")
	f.BoolVar(&goal.health, "health", false, "wait until Healthy")
	f.BoolVar(&goal.operation, "operation", false, "wait until no sync is running")
	f.DurationVar(&timeout, "timeout", defaultWait, "how long to wait")
	return cmd
}
