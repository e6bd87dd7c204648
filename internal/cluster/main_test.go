package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/config/crd"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

// hubCluster is a lean control plane with Flotilla's CRDs: the hub.
// targetCluster is a full one (its controller-manager fills ServiceAccount
// tokens): the cluster being registered. Tests share both.
var hubCluster, targetCluster *localfleet.Cluster

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var (
		wg             sync.WaitGroup
		hub, target    *localfleet.Fleet
		hubErr, tgtErr error
	)
	wg.Go(func() { hub, hubErr = localfleet.Start(ctx, localfleet.Options{Names: []string{"hub"}, Lean: true}) })
	wg.Go(func() { target, tgtErr = localfleet.Start(ctx, localfleet.Options{Names: []string{"target"}}) })
	wg.Wait()
	for _, f := range []*localfleet.Fleet{hub, target} {
		if f != nil {
			defer func() { _ = f.Stop() }()
		}
	}
	if err := errors.Join(hubErr, tgtErr); err != nil {
		fmt.Fprintf(os.Stderr, "cluster tests need local control planes (make k8s): %v\n", err)
		return 1
	}
	hubCluster, targetCluster = hub.Clusters[0], target.Clusters[0]
	if err := installCRDs(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "install the CRDs into the hub: %v\n", err)
		return 1
	}
	return m.Run()
}

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := flotillav1.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := apiextensionsv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// clientFor is an admin client of c.
func clientFor(c *localfleet.Cluster) (client.Client, error) {
	return client.New(c.RESTConfig(), client.Options{Scheme: newScheme()})
}

// installCRDs creates Flotilla's CRDs and namespace in the hub, and waits
// until the CRDs are served.
func installCRDs(ctx context.Context) error {
	c, err := clientFor(hubCluster)
	if err != nil {
		return err
	}
	var names []string
	err = fs.WalkDir(crd.Bases, "bases", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := crd.Bases.ReadFile(path)
		if err != nil {
			return err
		}
		obj := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(data, obj); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		names = append(names, obj.Name)
		return c.Create(ctx, obj)
	})
	if err != nil {
		return err
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: flotillav1.DefaultNamespace}}); err != nil {
		return err
	}
	for _, name := range names {
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			var got apiextensionsv1.CustomResourceDefinition
			if err := c.Get(ctx, client.ObjectKey{Name: name}, &got); err != nil {
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
			return fmt.Errorf("CRD %s not established: %w", name, err)
		}
	}
	return nil
}
