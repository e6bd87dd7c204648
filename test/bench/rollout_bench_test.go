package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// rolloutConfig is the repository of the rollout benchmark: one ConfigMap,
// healthy once it exists (the lean clusters run no controllers).
func rolloutConfig(version int) map[string]string {
	return map[string]string{"app/cm.yaml": fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: release\ndata:\n  version: %q\n", fmt.Sprint(version))}
}

// BenchmarkRollout3Waves20Clusters: how long a new revision takes to reach
// 20 clusters through three health-gated waves with no bake time (a
// canary, a quarter of the rest, the rest), against the same Fleet with no
// waves in the same run: the difference is the cost of gating. Then the
// cost of previewing a revision on the 20 clusters through the server.
func BenchmarkRollout3Waves20Clusters(b *testing.B) {
	const clusters = 20
	for b.Loop() {
		b.StopTimer()
		h, err := harness.Start(context.Background(), harness.Options{Bin: flotillaBin, Clusters: clusters + 1, Lean: true})
		if err != nil {
			b.Fatal(err)
		}
		root := b.TempDir()
		repo := gitserver.NewRepo(b, root, "fleet")
		url := gitserver.NewHTTP(b, gitserver.HTTPOptions{Root: root}).URL("fleet")
		repo.Commit("main", rolloutConfig(1))
		for _, c := range h.Fleet.Clusters[1:] {
			registerLean(b, h, c)
		}
		quarter := int32(25)
		waves := []flotillav1.RolloutWave{
			{Name: "canary", Clusters: []string{h.Fleet.Clusters[1].Name}},
			{Name: "quarter", Percent: &quarter},
			{Name: "rest"},
		}
		createFleet(b, h, "gated", url, &flotillav1.Rollout{Waves: waves})
		createFleet(b, h, "plain", url, &flotillav1.Rollout{MaxParallel: "100%"})
		first := repo.Commit("main", rolloutConfig(2))
		refreshFleets(b, h)
		waitFleetAt(b, h, "gated", first, clusters)
		waitFleetAt(b, h, "plain", first, clusters)

		var gated, plain []float64
		for i := range 3 {
			commit := repo.Commit("main", rolloutConfig(3+i))
			b.StartTimer()
			start := time.Now()
			refreshFleets(b, h)
			plainDone := waitFleetAt(b, h, "plain", commit, clusters)
			gatedDone := waitFleetAt(b, h, "gated", commit, clusters)
			b.StopTimer()
			plain = append(plain, plainDone.Sub(start).Seconds())
			gated = append(gated, gatedDone.Sub(start).Seconds())
		}
		b.ReportMetric(median(gated), "s-3-waves")
		b.ReportMetric(median(plain), "s-no-waves")
		b.ReportMetric(median(gated)/median(plain), "ratio")

		srv, err := h.StartServer()
		if err != nil {
			b.Fatal(err)
		}
		token := adminLogin(b, h, srv)
		next := repo.Commit("next", rolloutConfig(99))
		var times []float64
		for range 5 {
			start := time.Now()
			p := previewOnce(b, srv, token, "gated", next)
			times = append(times, time.Since(start).Seconds())
			if len(p.Clusters) != clusters {
				b.Fatalf("the preview covers %d clusters, want %d", len(p.Clusters), clusters)
			}
		}
		b.ReportMetric(median(times), "s-preview-20")
		srv.Stop()
		if err := h.Stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// refreshFleets asks both Fleets to look for a new commit now, as a
// webhook would.
func refreshFleets(b *testing.B, h *harness.Hub) {
	tok := time.Now().Format(time.RFC3339Nano)
	for _, name := range []string{"gated", "plain"} {
		f := &flotillav1.Fleet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace}}
		patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, flotillav1.RefreshAnnotation, tok)
		if err := h.Client.Patch(context.Background(), f, client.RawPatch("application/merge-patch+json", patch)); err != nil {
			b.Fatal(err)
		}
	}
}

// waitFleetAt waits until n Applications of the Fleet are Synced and
// Healthy at commit, and returns when that was first seen.
func waitFleetAt(b *testing.B, h *harness.Hub, fleet, commit string, n int) time.Time {
	var at time.Time
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		var list flotillav1.ApplicationList
		if err := h.Client.List(ctx, &list, client.InNamespace(flotillav1.DefaultNamespace), client.MatchingLabels{flotillav1.FleetLabel: fleet}); err != nil {
			return false, nil
		}
		done := 0
		for _, a := range list.Items {
			if a.Status.Sync.Revision == commit && a.Status.Sync.Status == flotillav1.SyncStatusSynced && a.Status.Health.Status == flotillav1.HealthHealthy {
				done++
			}
		}
		at = time.Now()
		return done == n, nil
	})
	if err != nil {
		b.Fatalf("fleet %s at %s: %v\n%s", fleet, commit, err, h.ControllerLogTail(20))
	}
	return at
}

func previewOnce(b *testing.B, srv *harness.Server, token, fleet, revision string) wire.FleetPreview {
	body, _ := json.Marshal(wire.PreviewRequest{Revision: revision})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/fleets/flotilla-system/"+fleet+"/preview", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var p wire.FleetPreview
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&p) != nil {
		b.Fatalf("preview: HTTP %d", resp.StatusCode)
	}
	for _, c := range p.Clusters {
		if c.Error != "" {
			b.Fatalf("preview of cluster %s: %s", c.Cluster, c.Error)
		}
	}
	return p
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
