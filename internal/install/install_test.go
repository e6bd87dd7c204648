package install

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

// hub is a lean local control plane the tests install into.
var hub *localfleet.Cluster

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f, err := localfleet.Start(ctx, localfleet.Options{Names: []string{"hub"}, Lean: true})
	if err != nil {
		fmt.Fprintf(os.Stderr, "install tests need a local control plane (make k8s): %v\n", err)
		return 1
	}
	defer func() { _ = f.Stop() }()
	hub = f.Clusters[0]
	return m.Run()
}

// TestInstallUpgradeUninstall: install applies the controller and is
// idempotent; an upgrade to another image changes the Deployment in place;
// uninstall removes the controller and the CRDs without waiting on the
// Applications' finalizers, which no controller would ever remove.
func TestInstallUpgradeUninstall(t *testing.T) {
	ctx := context.Background()
	c := hubClient(t)
	opts := DefaultOptions()
	opts.Controller, opts.Image = true, "registry.example.com/flotilla:v1.0.0"
	first, err := Apply(ctx, hub.RESTConfig(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(first, "Deployment/flotilla-controller") || !slices.Contains(first, "CustomResourceDefinition/applications.flotilla.dev") {
		t.Fatalf("installed %v", first)
	}
	opts.Image = "registry.example.com/flotilla:v1.1.0"
	if _, err := Apply(ctx, hub.RESTConfig(), opts); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	var d appsv1.Deployment
	if err := c.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: "flotilla-controller"}, &d); err != nil {
		t.Fatal(err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != opts.Image {
		t.Errorf("image after the upgrade %s, want %s", img, opts.Image)
	}

	app := &flotillav1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: "held", Namespace: flotillav1.DefaultNamespace, Finalizers: []string{flotillav1.Finalizer}},
		Spec: flotillav1.ApplicationSpec{
			Source:      flotillav1.ApplicationSource{RepoURL: "https://git.example.com/a.git", Path: "."},
			Destination: flotillav1.Destination{Namespace: "a"},
		},
	}
	if err := c.Create(ctx, app); err != nil {
		t.Fatal(err)
	}
	removed, err := Uninstall(ctx, hub.RESTConfig(), UninstallOptions{Namespace: flotillav1.DefaultNamespace})
	if err != nil {
		t.Fatal(err)
	}
	if i, j := slices.Index(removed, "Deployment/flotilla-controller"), slices.Index(removed, "CustomResourceDefinition/applications.flotilla.dev"); i < 0 || j < 0 || i > j {
		t.Errorf("uninstall removed %v: want the controller, before the CRDs", removed)
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, client.ObjectKey{Name: "applications.flotilla.dev"}, &apiextensionsv1.CustomResourceDefinition{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("the Applications CRD is still there a minute after uninstall (a finalizer holds it?): %v", err)
	}
	if err := c.Get(ctx, client.ObjectKey{Name: flotillav1.DefaultNamespace}, &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}}); err != nil {
		t.Errorf("the namespace, which holds credentials, should stay: %v", err)
	}
	for _, r := range removed {
		if strings.HasPrefix(r, "Namespace/") {
			t.Errorf("uninstall deleted %s without --delete-namespace", r)
		}
	}
}

func hubClient(t *testing.T) client.Client {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, flotillav1.AddToScheme, apiextensionsv1.AddToScheme} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	c, err := client.New(hub.RESTConfig(), client.Options{Scheme: s})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
