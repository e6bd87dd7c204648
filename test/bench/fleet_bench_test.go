package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// BenchmarkFleet20x50 deploys 50 Fleets, each selecting the same 20 lean
// clusters: 1,000 Applications of four objects each, all from one commit
// and one path. It reports the time from creating the Fleets to all 1,000
// Synced, the controller's peak RSS, and how many renders that took (one
// render input is shared by all: the goal is 1).
func BenchmarkFleet20x50(b *testing.B) {
	const clusters, fleets = 20, 50
	for b.Loop() {
		b.StopTimer()
		h, url, _ := startWithRepo(b, harness.Options{Clusters: clusters + 1, Lean: true})
		for _, c := range h.Fleet.Clusters[1:] {
			registerLean(b, h, c)
		}

		b.StartTimer()
		start := time.Now()
		for i := range fleets {
			createFleet(b, h, fmt.Sprintf("f%02d", i), url, nil)
		}
		waitAllSynced(b, h, clusters*fleets, "")
		toSynced := time.Since(start)
		b.StopTimer()

		renders, err := h.Metric("flotilla_renders_total")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(toSynced.Seconds(), "s-to-synced")
		b.ReportMetric(float64(peakRSS(b, h.ControllerPID()))/(1<<20), "MiB-peak-rss")
		b.ReportMetric(renders, "renders")
		if err := h.Stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// registerLean records a lean cluster (it has no token controller, so no
// ServiceAccount token) with an admin kubeconfig Secret.
func registerLean(b *testing.B, h *harness.Hub, c *localfleet.Cluster) {
	data, err := c.Kubeconfig()
	if err != nil {
		b.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-" + c.Name, Namespace: flotillav1.DefaultNamespace},
		Data:       map[string][]byte{"kubeconfig": data},
	}
	cluster := &flotillav1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: c.Name, Namespace: flotillav1.DefaultNamespace, Labels: map[string]string{"bench": "yes"}},
		Spec:       flotillav1.ClusterSpec{CredentialsRef: &flotillav1.LocalObjectReference{Name: secret.Name}},
	}
	if err := h.Client.Create(context.Background(), secret); err != nil {
		b.Fatal(err)
	}
	if err := h.Client.Create(context.Background(), cluster); err != nil {
		b.Fatal(err)
	}
}

// createFleet creates a Fleet of app/ over the clusters labelled bench,
// with rollout (nil: none).
func createFleet(b *testing.B, h *harness.Hub, name, url string, rollout *flotillav1.Rollout) {
	f := &flotillav1.Fleet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.FleetSpec{
			ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"bench": "yes"}},
			Template: flotillav1.FleetTemplate{
				Source:      flotillav1.ApplicationSource{RepoURL: url, TargetRevision: "main", Path: "app"},
				Destination: flotillav1.FleetDestination{Namespace: name},
				SyncPolicy: flotillav1.SyncPolicy{
					Automated:       &flotillav1.AutomatedSync{Prune: true},
					CreateNamespace: true,
					Interval:        &metav1.Duration{Duration: 10 * time.Minute},
				},
			},
			Rollout: rollout,
		},
	}
	if err := h.Client.Create(context.Background(), f); err != nil {
		b.Fatal(err)
	}
}
