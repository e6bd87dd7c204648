package cli

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	"github.com/spf13/cobra"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/config/crd"
)

func newInstallCommand() *cobra.Command {
	kube := &kubeFlags{}
	var namespace string
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install Flotilla's CRDs and namespace into the hub",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := kube.config()
			if err != nil {
				return err
			}
			names, err := Install(cmd.Context(), cfg, namespace)
			if err != nil {
				return err
			}
			for _, n := range names {
				fmt.Fprintf(cmd.OutOrStdout(), "%s installed\n", n)
			}
			return nil
		},
	}
	kube.add(cmd)
	cmd.Flags().StringVar(&namespace, "namespace", flotillav1.DefaultNamespace, "namespace for Flotilla's objects")
	return cmd
}

// Install applies the CRDs and the namespace with server-side apply and
// waits until the CRDs are Established. It returns what it installed.
func Install(ctx context.Context, cfg *rest.Config, namespace string) ([]string, error) {
	scheme := runtime.NewScheme()
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	var objs []*unstructured.Unstructured
	err = fs.WalkDir(crd.Bases, "bases", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := crd.Bases.ReadFile(path)
		if err != nil {
			return err
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(data, &u.Object); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		objs = append(objs, u)
		return nil
	})
	if err != nil {
		return nil, err
	}
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName(namespace)
	objs = append(objs, ns)

	var names []string
	for _, u := range objs {
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(flotillav1.FieldManager+"-install"), client.ForceOwnership); err != nil {
			return names, fmt.Errorf("%s/%s: %w", u.GetKind(), u.GetName(), err)
		}
		names = append(names, u.GetKind()+"/"+u.GetName())
	}
	return names, waitEstablished(ctx, c, objs)
}

func waitEstablished(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) error {
	for _, u := range objs {
		if u.GetKind() != "CustomResourceDefinition" {
			continue
		}
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			var got apiextensionsv1.CustomResourceDefinition
			if err := c.Get(ctx, client.ObjectKey{Name: u.GetName()}, &got); err != nil {
				return false, err
			}
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("CustomResourceDefinition %s not Established: %w", u.GetName(), err)
		}
	}
	return nil
}
