package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/cli/apiclient"
	"github.com/flotilla-dev/flotilla/internal/cluster"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
)

// runAPI registers the cluster of a kubeconfig context through the server:
// the ServiceAccount is set up in the target with the caller's kubeconfig,
// and only its token and the cluster's CA go to the server.
func (o *clusterAddOptions) runAPI(cmd *cobra.Command, g *globals, targetContext string) error {
	labels, err := parseLabels(o.labels)
	if err != nil {
		return err
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	target, err := (&kubeFlags{kubeconfig: o.kubeconfig, context: targetContext}).config()
	if err != nil {
		return fmt.Errorf("target context %s: %w", targetContext, err)
	}
	out := cmd.OutOrStdout()
	opts := cluster.DefaultRegisterOptions()
	opts.Name, opts.Namespace, opts.Labels = o.name, o.namespace, labels
	opts.Server, opts.TokenTimeout = o.server, o.tokenTimeout
	if opts.Name == "" {
		opts.Name = targetContext
	}
	opts.Progress = func(step string) { fmt.Fprintln(out, "  "+step) }
	fmt.Fprintf(out, "Registering context %s as Cluster %s through %s ...\n", targetContext, opts.Name, c.Server())
	creds, err := cluster.Provision(cmd.Context(), target, opts)
	if err != nil {
		return err
	}
	cl, err := c.RegisterCluster(cmd.Context(), wire.ClusterRegistration{
		Name: opts.Name, Namespace: opts.Namespace, Labels: labels,
		Server: creds.Server, BearerToken: creds.BearerToken, CAData: string(creds.CAData),
	})
	if err != nil {
		return fmt.Errorf("cluster %s: register with the server: %w", opts.Name, err)
	}
	fmt.Fprintf(out, "Cluster %s/%s is registered: the hub reaches %s as ServiceAccount %s/%s.\n",
		cl.Namespace, cl.Name, cl.Spec.Server, cluster.ManagerNamespace, cluster.ManagerName)
	return nil
}

func listClustersAPI(cmd *cobra.Command, g *globals, namespace, output string) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	clusters, err := c.ListClusters(cmd.Context(), apiclient.ListOptions{Namespace: namespace})
	if err != nil {
		return err
	}
	return printView(cmd.OutOrStdout(), output, clustersView(clusters, time.Now()))
}

func removeClusterAPI(cmd *cobra.Command, g *globals, namespace, name string, target *rest.Config, targetContext string) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	if err := c.DeleteCluster(cmd.Context(), namespace, name); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "hub: deleted Cluster %s/%s and its credentials\n", namespace, name)
	if apps, err := c.ListApplications(cmd.Context(), apiclient.ListOptions{Cluster: name}); err == nil && len(apps) > 0 {
		names := make([]string, len(apps))
		for i, a := range apps {
			names[i] = a.Name
		}
		warnApps(cmd, name, names)
	}
	return revokeTarget(cmd, name, target, targetContext)
}

// revokeTarget deletes the ServiceAccount, its token and RBAC from the
// target, when one is given.
func revokeTarget(cmd *cobra.Command, name string, target *rest.Config, targetContext string) error {
	if target == nil {
		return nil
	}
	revoked, err := cluster.RevokeAccess(cmd.Context(), target)
	for _, r := range revoked {
		fmt.Fprintf(cmd.OutOrStdout(), "target %s: deleted %s\n", targetContext, r)
	}
	if err != nil {
		return fmt.Errorf("cluster %s: revoke access in context %s: %w", name, targetContext, err)
	}
	return nil
}

func newClusterGetCommand(g *globals) *cobra.Command {
	kube := &kubeFlags{}
	var namespace, output string
	cmd := &cobra.Command{
		Use:               "get NAME",
		Short:             "Show one cluster: server, mode, connection, version and conditions",
		Example:           "  flotilla cluster get staging\n  flotilla cluster get staging -o yaml",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeNames(g, "clusters"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, name, err := objectName(args[0], namespace)
			if err != nil {
				return err
			}
			var cl *flotillav1.Cluster
			if direct(cmd, g, "kubeconfig", "context") {
				cl, err = getClusterDirect(cmd, kube, ns, name)
			} else {
				var c *apiclient.Client
				if c, err = g.client(); err == nil {
					cl, err = c.GetCluster(cmd.Context(), ns, name)
				}
			}
			if err != nil {
				return err
			}
			v := clustersView([]flotillav1.Cluster{*cl}, time.Now())
			one := &v.object.(*flotillav1.ClusterList).Items[0]
			v.object = one
			v.table = func(w io.Writer, _ bool) error { return printClusterDetail(w, one, time.Now()) }
			return printView(cmd.OutOrStdout(), output, v)
		},
	}
	kube.add(cmd)
	namespaceFlag(cmd, &namespace, "the hub namespace of the Cluster (default: flotilla-system)")
	listOutputFlag(cmd, &output)
	return cmd
}

func getClusterDirect(cmd *cobra.Command, kube *kubeFlags, ns, name string) (*flotillav1.Cluster, error) {
	hub, err := hubClient(kube)
	if err != nil {
		return nil, err
	}
	var cl flotillav1.Cluster
	if err := hub.Get(cmd.Context(), client.ObjectKey{Namespace: ns, Name: name}, &cl); err != nil {
		return nil, fmt.Errorf("cluster %s/%s: %w", ns, name, err)
	}
	return &cl, nil
}
