// Package bootstrap makes Flotilla manage itself from Git: it commits
// Flotilla's install manifests and an Application that syncs them to a
// folder of a repository, installs Flotilla into the hub, and hands the
// hub that Application, so that from then on a change in Git upgrades or
// reconfigures the running controller.
package bootstrap

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/install"
	"github.com/flotilla-dev/flotilla/internal/source"
)

const (
	// Folder is the folder under Options.Path that holds Flotilla's own
	// manifests.
	Folder = "flotilla-system"
	// ComponentsFile holds the install manifests; bootstrap rewrites it.
	ComponentsFile = "components.yaml"
	// SyncFile holds the Application that syncs Folder; bootstrap rewrites it.
	SyncFile = "sync.yaml"
	// KustomizationFile lists the two; bootstrap writes it only once, and
	// users change Flotilla's configuration with its patches.
	KustomizationFile = "kustomization.yaml"
	// AppName is the Application that syncs Flotilla itself, and the
	// Project that allows it exactly that.
	AppName = "flotilla"
	// SecretName holds the repository's credentials in the hub; it is
	// never committed.
	SecretName = "flotilla-bootstrap-git"
	// FieldManager owns what bootstrap writes to the hub.
	FieldManager = flotillav1.FieldManager + "-bootstrap"
)

// Options say where Flotilla's manifests go and what to install.
type Options struct {
	// URL and Branch are the repository and branch; Path the folder for
	// this hub, such as clusters/production.
	URL, Branch, Path string
	// Credentials read and push the repository; nil for none.
	Credentials *source.Credentials
	// Install is what to install; Controller is always on.
	Install install.Options
	// AuthorName and AuthorEmail sign bootstrap's commits.
	AuthorName, AuthorEmail string
}

// Result says what Run did.
type Result struct {
	// Commit is the branch's head with Flotilla's manifests; Pushed says
	// bootstrap committed it (false: Git held them already).
	Commit string
	Pushed bool
	// Installed lists "Kind/name" of what was applied to the hub.
	Installed []string
}

// Run commits Flotilla's manifests to the repository (when they changed),
// installs Flotilla into the hub at cfg, stores the credentials in the hub
// and creates the Application that syncs Flotilla from Git. Running it
// again with the same options changes nothing.
func Run(ctx context.Context, cfg *rest.Config, src *source.Client, opts Options) (*Result, error) {
	opts = opts.withDefaults()
	if err := opts.check(); err != nil {
		return nil, err
	}
	files, initial, err := Files(opts)
	if err != nil {
		return nil, err
	}
	pub, err := src.Publish(ctx, source.Publication{
		URL: opts.URL, Branch: opts.Branch, Credentials: opts.Credentials,
		Files: files, Initial: initial,
		Message:    "Flotilla manages itself from " + path.Join(opts.Path, Folder),
		AuthorName: opts.AuthorName, AuthorEmail: opts.AuthorEmail,
	})
	if err != nil {
		return nil, fmt.Errorf("commit Flotilla's manifests: %w", err)
	}
	res := &Result{Commit: pub.Commit, Pushed: pub.Changed}
	if res.Installed, err = install.Apply(ctx, cfg, opts.Install); err != nil {
		return res, fmt.Errorf("install: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme()})
	if err != nil {
		return res, err
	}
	if opts.Credentials != nil {
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(credentialsSecret(opts)),
			client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
			return res, fmt.Errorf("store the repository's credentials: %w", err)
		}
		res.Installed = append(res.Installed, "Secret/"+SecretName)
	}
	proj, err := toUnstructured(Project(opts))
	if err != nil {
		return res, err
	}
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(proj), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return res, fmt.Errorf("create the Project %s: %w", AppName, err)
	}
	res.Installed = append(res.Installed, "Project/"+AppName)
	app, err := toUnstructured(Application(opts))
	if err != nil {
		return res, err
	}
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(app), client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return res, fmt.Errorf("create the Application %s: %w", AppName, err)
	}
	res.Installed = append(res.Installed, "Application/"+AppName)
	// What install just made is the Application's from the start: marked
	// with its label and owner, the Application applies it as its own
	// instead of refusing to take over objects it did not create.
	var created flotillav1.Application
	if err := c.Get(ctx, client.ObjectKey{Namespace: opts.Install.Namespace, Name: AppName}, &created); err != nil {
		return res, err
	}
	objs, err := install.Manifests(opts.Install)
	if err != nil {
		return res, err
	}
	owner := opts.Install.Namespace + "/" + AppName + "/" + string(created.UID)
	// sync.yaml's two objects are in the Application's folder too.
	objs = append(objs, proj, app)
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"labels":      map[string]string{flotillav1.TrackingLabel: AppName},
		"annotations": map[string]string{flotillav1.OwnerAnnotation: owner},
	}})
	if err != nil {
		return res, err
	}
	for _, u := range objs {
		mark := &unstructured.Unstructured{}
		mark.SetAPIVersion(u.GetAPIVersion())
		mark.SetKind(u.GetKind())
		mark.SetNamespace(u.GetNamespace())
		mark.SetName(u.GetName())
		if err := c.Patch(ctx, mark, client.RawPatch(types.MergePatchType, patch)); err != nil {
			return res, fmt.Errorf("hand %s/%s to the Application %s: %w", u.GetKind(), u.GetName(), AppName, err)
		}
	}
	return res, nil
}

func (o Options) withDefaults() Options {
	o.Install.Controller = true
	if o.Install.Namespace == "" {
		o.Install.Namespace = flotillav1.DefaultNamespace
	}
	if o.Install.Replicas == 0 {
		o.Install.Replicas = 1
	}
	if o.Branch == "" {
		o.Branch = "main"
	}
	if o.AuthorName == "" {
		o.AuthorName = "Flotilla bootstrap"
	}
	if o.AuthorEmail == "" {
		o.AuthorEmail = "bootstrap@flotilla.dev"
	}
	o.Path = strings.Trim(path.Clean("/"+o.Path), "/")
	return o
}

func (o Options) check() error {
	if o.URL == "" {
		return fmt.Errorf("a repository URL is required")
	}
	if o.Path == "" {
		return fmt.Errorf("a path inside the repository is required, such as clusters/NAME")
	}
	return nil
}

// Files are what bootstrap commits: the files it rewrites on every run, and
// the kustomization it writes only when the folder has none.
func Files(opts Options) (files, initial map[string][]byte, err error) {
	opts = opts.withDefaults()
	dir := path.Join(opts.Path, Folder)
	objs, err := install.Manifests(opts.Install)
	if err != nil {
		return nil, nil, err
	}
	var components bytes.Buffer
	components.WriteString("# Flotilla's install manifests, rewritten by `flotilla bootstrap git`.\n" +
		"# Change them with patches in " + KustomizationFile + ", not here.\n")
	for _, u := range objs {
		data, err := yaml.Marshal(u.Object)
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(&components, "---\n%s", data)
	}
	proj, err := yaml.Marshal(Project(opts))
	if err != nil {
		return nil, nil, err
	}
	app, err := yaml.Marshal(Application(opts))
	if err != nil {
		return nil, nil, err
	}
	sync := "# The Project and the Application through which Flotilla syncs itself,\n" +
		"# rewritten by `flotilla bootstrap git`.\n---\n" + string(proj) + "---\n" + string(app)
	kustomization := "# Flotilla's own configuration: add patches here (see docs/bootstrap.md).\n" +
		"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- " +
		ComponentsFile + "\n- " + SyncFile + "\n"
	return map[string][]byte{
			path.Join(dir, ComponentsFile): components.Bytes(),
			path.Join(dir, SyncFile):       []byte(sync),
		}, map[string][]byte{
			path.Join(dir, KustomizationFile): []byte(kustomization),
		}, nil
}

// Application syncs Flotilla's folder to the hub. Its objects are orphaned,
// never deleted, when it goes: deleting it must not uninstall Flotilla.
func Application(opts Options) *flotillav1.Application {
	opts = opts.withDefaults()
	app := &flotillav1.Application{
		TypeMeta:   metav1.TypeMeta{APIVersion: flotillav1.GroupVersion.String(), Kind: "Application"},
		ObjectMeta: metav1.ObjectMeta{Name: AppName, Namespace: opts.Install.Namespace},
		Spec: flotillav1.ApplicationSpec{
			Project: AppName,
			Source: flotillav1.ApplicationSource{
				RepoURL: opts.URL, TargetRevision: opts.Branch, Path: path.Join(opts.Path, Folder),
			},
			Destination: flotillav1.Destination{Cluster: flotillav1.InCluster, Namespace: opts.Install.Namespace},
			SyncPolicy: flotillav1.SyncPolicy{
				Automated: &flotillav1.AutomatedSync{Prune: true, SelfHeal: true},
			},
			DeletionPolicy: flotillav1.DeletionPolicyOrphan,
		},
	}
	if opts.Credentials != nil {
		app.Spec.Source.CredentialsRef = &flotillav1.LocalObjectReference{Name: SecretName}
	}
	return app
}

// Project allows the bootstrap Application what Flotilla's manifests hold
// and nothing more: the repository, Flotilla's own namespace (which only a
// destination naming it opens), the cluster-scoped kinds of the install,
// and the credentials Secret.
func Project(opts Options) *flotillav1.Project {
	opts = opts.withDefaults()
	return &flotillav1.Project{
		TypeMeta:   metav1.TypeMeta{APIVersion: flotillav1.GroupVersion.String(), Kind: "Project"},
		ObjectMeta: metav1.ObjectMeta{Name: AppName, Namespace: opts.Install.Namespace},
		Spec: flotillav1.ProjectSpec{
			SourceRepos:  []string{opts.URL},
			Destinations: []flotillav1.ProjectDestination{{Cluster: flotillav1.InCluster, Namespace: opts.Install.Namespace}},
			ClusterResourceWhitelist: []flotillav1.GroupKindPattern{
				{Group: "", Kind: "Namespace"},
				{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"},
				{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"},
				{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"},
			},
			Secrets: []string{SecretName},
		},
	}
}

// credentialsSecret holds the repository's credentials under the keys the
// controller reads.
func credentialsSecret(opts Options) *unstructured.Unstructured {
	cr := opts.Credentials
	data := map[string][]byte{}
	put := func(k string, v []byte) {
		if len(v) > 0 {
			data[k] = v
		}
	}
	put("username", []byte(cr.Username))
	put("password", []byte(cr.Password))
	put("bearerToken", []byte(cr.BearerToken))
	put("sshPrivateKey", cr.SSHPrivateKey)
	put("knownHosts", cr.KnownHosts)
	put("caCert", cr.CACert)
	s := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: SecretName, Namespace: opts.Install.Namespace},
		Type:       corev1.SecretTypeOpaque,
		Data:       data,
	}
	u, _ := toUnstructured(s)
	return u
}

func toUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}

func scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = corev1.AddToScheme(s)
	_ = flotillav1.AddToScheme(s)
	return s
}
