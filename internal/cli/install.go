package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/install"
)

func newInstallCommand() *cobra.Command {
	kube := &kubeFlags{}
	opts := install.DefaultOptions()
	var export bool
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install Flotilla into the hub: the CRDs, and with --controller the controller",
		Long: "Install Flotilla into the hub with server-side apply: the CRDs and the namespace, and with\n" +
			"--controller the controller's Deployment, ServiceAccount, least Role, metrics Service and\n" +
			"NetworkPolicy. Re-running it upgrades in place. --export prints the manifests instead.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if export {
				return exportManifests(cmd.OutOrStdout(), opts)
			}
			cfg, err := kube.config()
			if err != nil {
				return err
			}
			names, err := install.Apply(cmd.Context(), cfg, opts)
			for _, n := range names {
				fmt.Fprintf(cmd.OutOrStdout(), "%s installed\n", n)
			}
			return err
		},
	}
	kube.add(cmd)
	f := cmd.Flags()
	f.StringVar(&opts.Namespace, "namespace", opts.Namespace, "namespace for Flotilla's objects")
	f.BoolVar(&opts.Controller, "controller", false, "install the controller too (Deployment, RBAC, metrics Service, NetworkPolicy)")
	f.StringVar(&opts.Image, "image", "", "the controller's image (default: "+install.DefaultImage+" at this binary's version)")
	f.IntVar(&opts.Replicas, "replicas", opts.Replicas, "controller replicas; more than one share the clusters and get a PodDisruptionBudget")
	f.BoolVar(&opts.InCluster, "in-cluster", opts.InCluster, "let the controller deploy to the hub itself (destination in-cluster); false grants it only its own namespace")
	f.BoolVar(&export, "export", false, "print the manifests as YAML instead of applying them")
	return cmd
}

func exportManifests(w io.Writer, opts install.Options) error {
	objs, err := install.Manifests(opts)
	if err != nil {
		return err
	}
	for _, u := range objs {
		data, err := yaml.Marshal(u.Object)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "---\n%s", data); err != nil {
			return err
		}
	}
	return nil
}

func newUninstallCommand() *cobra.Command {
	kube := &kubeFlags{}
	opts := install.UninstallOptions{Namespace: flotillav1.DefaultNamespace}
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove Flotilla from the hub, leaving what it deployed in place",
		Long: "Remove Flotilla from the hub: the controller, its RBAC, and the CRDs with every Application,\n" +
			"Cluster, Fleet and Project. What the Applications deployed stays in every cluster unless\n" +
			"--delete-workloads, which first deletes each Application (per its deletionPolicy) through the\n" +
			"running controller. The namespace and its Secrets stay unless --delete-namespace.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := kube.config()
			if err != nil {
				return err
			}
			names, err := install.Uninstall(cmd.Context(), cfg, opts)
			for _, n := range names {
				fmt.Fprintf(cmd.OutOrStdout(), "%s deleted\n", n)
			}
			return err
		},
	}
	kube.add(cmd)
	f := cmd.Flags()
	f.StringVar(&opts.Namespace, "namespace", opts.Namespace, "namespace of Flotilla's objects")
	f.BoolVar(&opts.DeleteWorkloads, "delete-workloads", false, "delete every Application and what it deployed first")
	f.BoolVar(&opts.KeepCRDs, "keep-crds", false, "keep the CRDs and with them every Application, Cluster, Fleet and Project")
	f.BoolVar(&opts.DeleteNamespace, "delete-namespace", false, "delete the namespace and its Secrets too")
	f.DurationVar(&opts.Timeout, "timeout", 0, "how long --delete-workloads waits (default 5m)")
	return cmd
}

// Install applies the CRDs and the namespace with server-side apply and
// waits until the CRDs are Established. It returns what it installed.
func Install(ctx context.Context, cfg *rest.Config, namespace string) ([]string, error) {
	opts := install.DefaultOptions()
	opts.Namespace = namespace
	return install.Apply(ctx, cfg, opts)
}
