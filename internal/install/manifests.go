package install

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/config"
)

// DefaultImage is the controller's image without its tag; the tag is the
// version of the flotilla binary that installs it.
const DefaultImage = "ghcr.io/flotilla-dev/flotilla"

// Options say what to install and where.
type Options struct {
	// Namespace holds Flotilla's objects.
	Namespace string
	// Controller adds the controller (Deployment, RBAC, Service,
	// NetworkPolicy) to the CRDs and the Namespace.
	Controller bool
	// Image is the controller's image reference; empty means DefaultImage
	// at this binary's version.
	Image string
	// Replicas of the controller; more than one adds a PodDisruptionBudget.
	Replicas int
	// InCluster grants the controller what it needs to sync Applications
	// whose destination is the hub itself.
	InCluster bool
}

// DefaultOptions install the CRDs into flotilla-system, with the controller
// (one replica, allowed to deploy to the hub) when Controller is set.
func DefaultOptions() Options {
	return Options{Namespace: flotillav1.DefaultNamespace, Replicas: 1, InCluster: true}
}

// Manifests builds the objects to install, in apply order (kustomize's:
// Namespaces and CRDs first).
func Manifests(opts Options) ([]*unstructured.Unstructured, error) {
	mem := filesys.MakeFsInMemory()
	err := fs.WalkDir(config.Bases, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := config.Bases.ReadFile(p)
		if err != nil {
			return err
		}
		return mem.WriteFile(path.Join("/config", p), data)
	})
	if err != nil {
		return nil, err
	}
	k, err := overlay(opts)
	if err != nil {
		return nil, err
	}
	if err := mem.WriteFile("/config/install/kustomization.yaml", k); err != nil {
		return nil, err
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, "/config/install")
	if err != nil {
		return nil, fmt.Errorf("build Flotilla's manifests: %w", err)
	}
	var out []*unstructured.Unstructured
	for _, r := range m.Resources() {
		data, err := r.MarshalJSON()
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			return nil, fmt.Errorf("%s: %w", r.CurId(), err)
		}
		out = append(out, u)
	}
	qualifyClusterNames(out, opts.Namespace)
	return out, nil
}

// qualifyClusterNames gives the cluster-wide RBAC objects of an install in
// another namespace than the default a name of their own, so that two
// installs in one hub never take over each other's binding.
func qualifyClusterNames(objs []*unstructured.Unstructured, namespace string) {
	if namespace == "" || namespace == flotillav1.DefaultNamespace {
		return
	}
	for _, u := range objs {
		switch u.GetKind() {
		case "ClusterRole":
			u.SetName(u.GetName() + "-" + namespace)
		case "ClusterRoleBinding":
			u.SetName(u.GetName() + "-" + namespace)
			if ref, ok := u.Object["roleRef"].(map[string]any); ok {
				ref["name"] = fmt.Sprint(ref["name"]) + "-" + namespace
			}
		}
	}
}

// overlay is the kustomization that picks the parts of config/ opts asks
// for and sets their namespace and image.
func overlay(opts Options) ([]byte, error) {
	if opts.Namespace == "" {
		opts.Namespace = flotillav1.DefaultNamespace
	}
	resources := []string{"../namespace", "../crd"}
	var components []string
	if opts.Controller {
		resources = append(resources, "../rbac", "../manager")
		if opts.InCluster {
			components = append(components, "../in-cluster")
		}
		if opts.Replicas > 1 {
			components = append(components, "../ha")
		}
	}
	k := map[string]any{
		"apiVersion": types.KustomizationVersion,
		"kind":       types.KustomizationKind,
		"namespace":  opts.Namespace,
		"resources":  resources,
		"components": components,
	}
	if opts.Controller {
		img, err := imageRef(opts.Image)
		if err != nil {
			return nil, fmt.Errorf("image %q: %w", opts.Image, err)
		}
		k["images"] = []any{img}
		if opts.Replicas > 1 {
			k["replicas"] = []any{map[string]any{"name": "flotilla-controller", "count": opts.Replicas}}
		}
	}
	return json.Marshal(k)
}
