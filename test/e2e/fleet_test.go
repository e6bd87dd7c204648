package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

func regionFiles(version string) map[string]string {
	files := map[string]string{}
	for _, region := range []string{"eu", "us"} {
		files["regions/"+region+"/cm.yaml"] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: region\ndata:\n  region: %s\n  version: %q\n", region, version)
	}
	return files
}

// TestFleet: a Fleet selecting env=prod deploys to the prod clusters with
// per-cluster values; labelling another cluster prod adds it, removing the
// label removes its Application; with maxParallel 1 a new commit reaches
// one cluster at a time.
func TestFleet(t *testing.T) {
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	repo.Commit("main", regionFiles("1"))
	env.RegisterCluster(t, "fleet-a", "dev-1", map[string]string{"env": "prod", "region": "eu"})
	env.RegisterCluster(t, "fleet-b", "dev-2", map[string]string{"env": "prod", "region": "us"})
	third := env.RegisterCluster(t, "fleet-c", "dev-3", map[string]string{"env": "staging", "region": "eu"})

	rendersBefore, err := env.Metric("flotilla_renders_total")
	if err != nil {
		t.Fatal(err)
	}
	f := &flotillav1.Fleet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.FleetSpec{
			ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
			Template: flotillav1.FleetTemplate{
				Source: flotillav1.ApplicationSource{
					RepoURL: srv.URL("fleet"), TargetRevision: "main",
					Path: `regions/{{ index .Cluster.Labels "region" }}`,
				},
				Destination: flotillav1.FleetDestination{Namespace: "fleet-web"},
				SyncPolicy: flotillav1.SyncPolicy{
					Automated: &flotillav1.AutomatedSync{Prune: true, SelfHeal: true}, CreateNamespace: true,
					Interval: harness.Interval(2 * time.Second),
				},
			},
			Rollout: &flotillav1.Rollout{MaxParallel: "1"},
		},
	}
	if err := env.Client.Create(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), f) })

	waitFleet(t, "two prod clusters synced", func(f *flotillav1.Fleet) bool {
		return f.Status.Summary.Clusters == 2 && f.Status.Summary.Synced == 2
	})
	assertRegion(t, "dev-1", "eu", "1")
	assertRegion(t, "dev-2", "us", "1")
	if app := getApp(t, "web-fleet-a"); app == nil || !metav1.IsControlledBy(app, f) || app.Spec.Destination.Cluster != "fleet-a" {
		t.Fatalf("Application web-fleet-a should be owned by the Fleet and target fleet-a: %+v", app)
	}

	relabel(t, third, "env", "prod")
	waitFleet(t, "three clusters synced", func(f *flotillav1.Fleet) bool {
		return f.Status.Summary.Clusters == 3 && f.Status.Summary.Synced == 3
	})
	assertRegion(t, "dev-3", "eu", "1")
	// Render once: three clusters, two distinct render inputs (the eu and
	// the us path of one commit), two renders.
	if renders, err := env.Metric("flotilla_renders_total"); err != nil || renders-rendersBefore != 2 {
		t.Errorf("three clusters of two regions should take 2 renders, took %v (err %v)", renders-rendersBefore, err)
	}

	// A new commit moves through the three clusters one at a time.
	next := repo.Commit("main", regionFiles("2"))
	maxMoving := 0
	err = wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		var apps flotillav1.ApplicationList
		if err := env.Client.List(ctx, &apps, client.InNamespace(flotillav1.DefaultNamespace), client.MatchingLabels{flotillav1.FleetLabel: "web"}); err != nil {
			return false, nil
		}
		moving, done := 0, 0
		for _, a := range apps.Items {
			if a.Spec.Source.TargetRevision != next {
				continue
			}
			if a.Status.Sync.Revision == next && a.Status.Sync.Status == flotillav1.SyncStatusSynced && a.Status.Health.Status == flotillav1.HealthHealthy {
				done++
			} else {
				moving++
			}
		}
		maxMoving = max(maxMoving, moving)
		return done == 3, nil
	})
	if err != nil {
		t.Fatalf("the new commit did not reach every cluster: %v\n%s", err, env.ControllerLogTail(30))
	}
	if maxMoving > 1 {
		t.Errorf("maxParallel 1, but %d clusters were moving to the new commit at once", maxMoving)
	}
	for cl, region := range map[string]string{"dev-1": "eu", "dev-2": "us", "dev-3": "eu"} {
		assertRegion(t, cl, region, "2")
	}

	relabel(t, third, "env", "")
	err = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var a flotillav1.Application
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: "web-fleet-c"}, &a)), nil
	})
	if err != nil {
		t.Errorf("removing the label should remove the Application web-fleet-c: %v", err)
	}
}

func waitFleet(t *testing.T, what string, cond func(*flotillav1.Fleet) bool) {
	t.Helper()
	waitFleetNamed(t, "web", what, cond)
}

func waitFleetNamed(t *testing.T, name, what string, cond func(*flotillav1.Fleet) bool) {
	t.Helper()
	f := &flotillav1.Fleet{}
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: name}, f); err != nil {
			return false, nil
		}
		return cond(f), nil
	})
	if err != nil {
		t.Fatalf("Fleet %s: %s: %v\nstatus: %+v\n%s", name, what, err, f.Status, env.ControllerLogTail(30))
	}
}

func getApp(t *testing.T, name string) *flotillav1.Application {
	t.Helper()
	var a flotillav1.Application
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: name}, &a); err != nil {
		return nil
	}
	return &a
}

// assertRegion checks the per-cluster ConfigMap in a workload cluster.
func assertRegion(t *testing.T, cluster, region, version string) {
	t.Helper()
	c, err := client.New(env.Fleet.Cluster(cluster).RESTConfig(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	err = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Namespace: "fleet-web", Name: "region"}, &cm); err != nil {
			return false, nil
		}
		return cm.Data["region"] == region && cm.Data["version"] == version, nil
	})
	if err != nil {
		t.Errorf("%s: ConfigMap fleet-web/region should say region=%s version=%s, got %v", cluster, region, version, cm.Data)
	}
}

// relabel sets (or, with an empty value, removes) a label of a Cluster.
func relabel(t *testing.T, c *flotillav1.Cluster, key, value string) {
	t.Helper()
	patch := client.MergeFrom(c.DeepCopy())
	if value == "" {
		delete(c.Labels, key)
	} else {
		c.Labels[key] = value
	}
	if err := env.Client.Patch(context.Background(), c, patch); err != nil {
		t.Fatal(err)
	}
}
