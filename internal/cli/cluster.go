package cli

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cluster"
	"github.com/flotilla-dev/flotilla/internal/controller"
)

func newClusterCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Add, list and remove the clusters of the fleet",
		Long: `Add, list, show and remove the clusters of the fleet.

When you are logged in to a Flotilla server (` + "`flotilla login`" + `), these commands go
through its API, with your permissions there. Otherwise, or when --kubeconfig
or --context (--hub-context for add) is given, they talk to the hub directly
with your kubeconfig, as kubectl does.`,
	}
	cmd.AddCommand(newClusterAddCommand(g), newClusterListCommand(g), newClusterGetCommand(g), newClusterRemoveCommand(g))
	return cmd
}

// direct says whether a cluster command talks to the hub with a
// kubeconfig rather than through the server.
func direct(cmd *cobra.Command, g *globals, flags ...string) bool {
	for _, f := range flags {
		if cmd.Flags().Changed(f) {
			return true
		}
	}
	return !g.loggedIn()
}

// clusterAddOptions are the flags of `cluster add`.
type clusterAddOptions struct {
	kubeconfig   string
	hubContext   string
	name         string
	labels       []string
	namespace    string
	server       string
	tokenTimeout time.Duration
	mode         string
	agentOut     string
	hubServer    string
}

func newClusterAddCommand(g *globals) *cobra.Command {
	o := &clusterAddOptions{}
	cmd := &cobra.Command{
		Use:   "add CONTEXT",
		Short: "Register the cluster of a kubeconfig context with the hub",
		Long: `Register the cluster of the kubeconfig context CONTEXT with the hub.

With --mode agent nothing is created in the cluster: in the hub it writes the
Cluster NAME in agent mode and its agent's credential (ServiceAccount, token,
and a Role that reads only that cluster's Applications and the Secrets they
name, and writes only their status), saves the credential as a kubeconfig to
--agent-kubeconfig-out, and prints the agent's install manifests.

In push mode, in that cluster it creates the namespace flotilla-system, the ServiceAccount
flotilla-manager, a ClusterRole flotilla-manager that may do anything (Flotilla
deploys whatever its Applications hold), its binding and a token Secret. In the
hub (--hub-context, default the current context) it writes the Secret
cluster-NAME with that token and the cluster's CA, and the Cluster NAME. Your
own credentials are never copied to the hub. Running it again is safe.

Logged in to a server, the hub's side goes through the server's API: only the
ServiceAccount's token and the cluster's CA are sent.`,
		Example: "  flotilla cluster add kind-staging --name staging --label env=staging",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.mode == string(flotillav1.ClusterModeAgent) {
				return o.runAgent(cmd, args[0])
			}
			if o.mode != string(flotillav1.ClusterModePush) {
				return fmt.Errorf("--mode %q: want push or agent", o.mode)
			}
			if !direct(cmd, g, "hub-context") {
				return o.runAPI(cmd, g, args[0])
			}
			return o.run(cmd, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&o.hubContext, "hub-context", "", "the kubeconfig context of the hub (default: the current context)")
	f.StringVar(&o.name, "name", "", "the Cluster's name in the hub (default: CONTEXT)")
	f.StringArrayVar(&o.labels, "label", nil, "a label key=value for the Cluster; repeat for more")
	f.StringVar(&o.namespace, "namespace", flotillav1.DefaultNamespace, "the hub namespace of the Cluster and its Secret")
	f.StringVar(&o.server, "server", "", "the URL the hub reaches the cluster at (default: the context's server)")
	f.DurationVar(&o.tokenTimeout, "token-timeout", time.Minute, "how long to wait for the ServiceAccount's token")
	f.StringVar(&o.mode, "mode", string(flotillav1.ClusterModePush), "push: the hub applies; agent: an agent in the cluster pulls (docs/agent.md)")
	f.StringVar(&o.agentOut, "agent-kubeconfig-out", "", "with --mode agent: write the agent's hub credential to this file (mode 0600)")
	f.StringVar(&o.hubServer, "hub-server", "", "with --mode agent: the URL the agent reaches the hub at (default: the hub context's server)")
	return cmd
}

func (o *clusterAddOptions) run(cmd *cobra.Command, targetContext string) error {
	labels, err := parseLabels(o.labels)
	if err != nil {
		return err
	}
	target, err := (&kubeFlags{kubeconfig: o.kubeconfig, context: targetContext}).config()
	if err != nil {
		return fmt.Errorf("target context %s: %w", targetContext, err)
	}
	hub, err := hubClient(&kubeFlags{kubeconfig: o.kubeconfig, context: o.hubContext})
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	opts := cluster.DefaultRegisterOptions()
	opts.Name, opts.Namespace, opts.Labels = o.name, o.namespace, labels
	opts.Server, opts.TokenTimeout = o.server, o.tokenTimeout
	if opts.Name == "" {
		opts.Name = targetContext
	}
	opts.Progress = func(step string) { fmt.Fprintln(out, "  "+step) }
	fmt.Fprintf(out, "Registering context %s as Cluster %s ...\n", targetContext, opts.Name)
	c, err := cluster.Register(cmd.Context(), target, hub, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Cluster %s/%s is registered: the hub reaches %s as ServiceAccount %s/%s.\n",
		c.Namespace, c.Name, c.Spec.Server, cluster.ManagerNamespace, cluster.ManagerName)
	return nil
}

// parseLabels reads key=value pairs.
func parseLabels(pairs []string) (map[string]string, error) {
	labels := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return nil, fmt.Errorf("--label %q: want key=value", p)
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return nil, fmt.Errorf("--label %q: bad key: %s", p, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return nil, fmt.Errorf("--label %q: bad value: %s", p, strings.Join(errs, "; "))
		}
		labels[k] = v
	}
	return labels, nil
}

// hubClient is a client of the hub with Flotilla's kinds.
func hubClient(kube *kubeFlags) (client.Client, error) {
	cfg, err := kube.config()
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	return newHubClient(cfg)
}

func newHubClient(cfg *rest.Config) (client.Client, error) {
	scheme, err := controller.NewScheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	return c, nil
}

func newClusterListCommand(g *globals) *cobra.Command {
	kube := &kubeFlags{}
	var namespace, output string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the clusters of the fleet and whether the hub reaches them",
		Example: "  flotilla cluster list\n  flotilla cluster list --context kind-hub -o yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !direct(cmd, g, "kubeconfig", "context") {
				ns := ""
				if cmd.Flags().Changed("namespace") {
					ns = namespace
				}
				return listClustersAPI(cmd, g, ns, output)
			}
			if err := checkFormat(output, []string{formatTable, formatJSON, formatYAML}); err != nil {
				return err
			}
			hub, err := hubClient(kube)
			if err != nil {
				return err
			}
			var list flotillav1.ClusterList
			if err := hub.List(cmd.Context(), &list, client.InNamespace(namespace)); err != nil {
				return fmt.Errorf("list Clusters in %s: %w", namespace, err)
			}
			slices.SortFunc(list.Items, func(a, b flotillav1.Cluster) int { return strings.Compare(a.Name, b.Name) })
			list.APIVersion, list.Kind = flotillav1.GroupVersion.String(), "ClusterList"
			for i := range list.Items {
				list.Items[i].APIVersion, list.Items[i].Kind = flotillav1.GroupVersion.String(), "Cluster"
				list.Items[i].ManagedFields = nil
			}
			if ok, err := printStructured(cmd.OutOrStdout(), output, &list); ok {
				return err
			}
			return printClusterTable(cmd.OutOrStdout(), list.Items, time.Now())
		},
	}
	kube.add(cmd)
	cmd.Flags().StringVarP(&namespace, "namespace", "n", flotillav1.DefaultNamespace, "the hub namespace of the Clusters (through a server: all unless given)")
	listOutputFlag(cmd, &output)
	return cmd
}

func printClusterTable(w io.Writer, clusters []flotillav1.Cluster, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSERVER\tMODE\tCONNECTED\tVERSION\tAPPLICATIONS\tAGE\tLABELS")
	for _, c := range clusters {
		mode := string(c.Spec.Mode)
		if mode == "" {
			mode = string(flotillav1.ClusterModePush)
		}
		connected := "unknown" // not looked at yet
		if meta.FindStatusCondition(c.Status.Conditions, flotillav1.ConditionReady) != nil {
			connected = fmt.Sprint(c.Status.Connected)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", c.Name, orDash(c.Spec.Server), mode, connected,
			orDash(c.Status.KubernetesVersion), c.Status.Applications, age(c.CreationTimestamp, now), labelString(c.Labels))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

func labelString(labels map[string]string) string {
	if len(labels) == 0 {
		return "<none>"
	}
	pairs := make([]string, 0, len(labels))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		pairs = append(pairs, k+"="+labels[k])
	}
	return strings.Join(pairs, ",")
}

func newClusterRemoveCommand(g *globals) *cobra.Command {
	kube := &kubeFlags{}
	var namespace, targetContext string
	cmd := &cobra.Command{
		Use:     "rm NAME",
		Aliases: []string{"remove"},
		Short:   "Remove a cluster from the fleet; what was deployed there stays",
		Long: `Remove the Cluster NAME and its credentials Secret from the hub.

Nothing in the cluster itself is touched: what Applications deployed there
stays, and Applications that still name the cluster report ClusterUnavailable
and prune nothing. With --target-context, the flotilla-manager ServiceAccount,
its token and its RBAC are also deleted from the cluster of that context, which
revokes the token at once (for every hub that registered the cluster).`,
		Example:           "  flotilla cluster rm staging\n  flotilla cluster rm staging --target-context kind-staging",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNames(g, "clusters"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, out := args[0], cmd.OutOrStdout()
			var target *rest.Config
			var err error
			if targetContext != "" {
				if target, err = (&kubeFlags{kubeconfig: kube.kubeconfig, context: targetContext}).config(); err != nil {
					return fmt.Errorf("target context %s: %w", targetContext, err)
				}
			}
			if !direct(cmd, g, "kubeconfig", "context") {
				return removeClusterAPI(cmd, g, namespace, name, target, targetContext)
			}
			hub, err := hubClient(kube)
			if err != nil {
				return err
			}
			removed, err := cluster.Unregister(cmd.Context(), hub, namespace, name)
			for _, r := range removed {
				fmt.Fprintf(out, "hub: deleted %s\n", r)
			}
			if err != nil {
				return err
			}
			warnStillTargeted(cmd, hub, namespace, name)
			return revokeTarget(cmd, name, target, targetContext)
		},
	}
	kube.add(cmd)
	cmd.Flags().StringVarP(&namespace, "namespace", "n", flotillav1.DefaultNamespace, "the hub namespace of the Cluster")
	cmd.Flags().StringVar(&targetContext, "target-context", "", "also delete the ServiceAccount, its token and RBAC from the cluster of this kubeconfig context")
	return cmd
}

// warnStillTargeted names the Applications that still deploy to the removed
// cluster; a failed listing is only a missing warning.
func warnStillTargeted(cmd *cobra.Command, hub client.Client, namespace, name string) {
	var apps flotillav1.ApplicationList
	if err := hub.List(cmd.Context(), &apps, client.InNamespace(namespace)); err != nil {
		return
	}
	var names []string
	for _, a := range apps.Items {
		if a.Spec.Destination.Cluster == name {
			names = append(names, a.Name)
		}
	}
	warnApps(cmd, name, names)
}

func warnApps(cmd *cobra.Command, cluster string, names []string) {
	if len(names) > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: Applications still deploy to %s: %s; they report ClusterUnavailable and leave what they deployed in place\n",
			cluster, strings.Join(names, ", "))
	}
}
