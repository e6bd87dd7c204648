package install

import (
	"context"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// UninstallOptions say what uninstall removes besides the controller.
type UninstallOptions struct {
	// Namespace holds Flotilla's objects.
	Namespace string
	// DeleteWorkloads deletes every Application with deletionPolicy Delete
	// first, while the controller still runs, and waits until the
	// controller has deleted what they own. Without it, what Flotilla
	// deployed stays in every cluster, released.
	DeleteWorkloads bool
	// KeepCRDs leaves the CRDs, and with them every Application, Cluster,
	// Fleet and Project (for a hub that another Flotilla still serves).
	KeepCRDs bool
	// DeleteNamespace deletes the namespace too, and with it the
	// credentials Secrets of clusters and repositories. Kept by default.
	DeleteNamespace bool
	// Timeout bounds the wait for DeleteWorkloads. Zero means 5 minutes.
	Timeout time.Duration
}

// Uninstall removes Flotilla from a hub and returns "Kind/name" of what it
// deleted. Unless DeleteWorkloads, nothing Flotilla deployed is deleted in
// any cluster: the controller is removed first, then each Application's
// finalizer, so that deleting the CRDs releases what they own.
func Uninstall(ctx context.Context, cfg *rest.Config, opts UninstallOptions) ([]string, error) {
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	if opts.DeleteWorkloads {
		if err := deleteWorkloads(ctx, c, opts); err != nil {
			return nil, err
		}
	}
	all, err := Manifests(Options{Namespace: opts.Namespace, Controller: true, InCluster: true, Replicas: 2})
	if err != nil {
		return nil, err
	}
	var deleted []string
	remove := func(u *unstructured.Unstructured) error {
		err := c.Delete(ctx, u, client.PropagationPolicy("Background"))
		if apierrors.IsNotFound(err) || meta404(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("delete %s/%s: %w", u.GetKind(), u.GetName(), err)
		}
		deleted = append(deleted, u.GetKind()+"/"+u.GetName())
		return nil
	}
	// The controller first, so that nothing acts on the releases below.
	for _, u := range slices.Backward(all) {
		if u.GetKind() == "CustomResourceDefinition" || u.GetKind() == "Namespace" {
			continue
		}
		if err := remove(u); err != nil {
			return deleted, err
		}
	}
	if opts.KeepCRDs {
		return deleted, nil
	}
	if err := releaseApplications(ctx, c, opts.Namespace); err != nil {
		return deleted, err
	}
	for _, u := range all {
		if u.GetKind() == "CustomResourceDefinition" || (u.GetKind() == "Namespace" && opts.DeleteNamespace) {
			if err := remove(u); err != nil {
				return deleted, err
			}
		}
	}
	return deleted, nil
}

// meta404 is true when the kind itself is gone (a CRD already deleted).
func meta404(err error) bool {
	return meta.IsNoMatchError(err) || apierrors.IsMethodNotSupported(err)
}

// releaseApplications removes Flotilla's finalizer from every Application
// of the namespace: the objects they own stay where they are.
func releaseApplications(ctx context.Context, c client.Client, namespace string) error {
	var apps flotillav1.ApplicationList
	if err := c.List(ctx, &apps, client.InNamespace(namespace)); err != nil {
		if meta404(err) {
			return nil
		}
		return fmt.Errorf("list Applications: %w", err)
	}
	for i := range apps.Items {
		app := &apps.Items[i]
		if !slices.Contains(app.Finalizers, flotillav1.Finalizer) {
			continue
		}
		patch := client.MergeFrom(app.DeepCopy())
		app.Finalizers = slices.DeleteFunc(app.Finalizers, func(f string) bool { return f == flotillav1.Finalizer })
		if err := c.Patch(ctx, app, patch); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("release Application %s: %w", app.Name, err)
		}
	}
	return nil
}

// deleteWorkloads deletes every Application with its objects, through the
// running controller, and waits until they are gone.
func deleteWorkloads(ctx context.Context, c client.Client, opts UninstallOptions) error {
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	// Fleets first: they would make their Applications anew.
	for _, obj := range []client.Object{&flotillav1.Fleet{}, &flotillav1.Application{}} {
		if err := c.DeleteAllOf(ctx, obj, client.InNamespace(opts.Namespace)); err != nil && !meta404(err) {
			return fmt.Errorf("delete %T: %w", obj, err)
		}
	}
	var left int
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		var apps flotillav1.ApplicationList
		if err := c.List(ctx, &apps, client.InNamespace(opts.Namespace)); err != nil {
			return false, nil
		}
		left = len(apps.Items)
		return left == 0, nil
	})
	if err != nil {
		return fmt.Errorf("%d Applications still delete what they own (is the controller running?): %w", left, err)
	}
	return nil
}
