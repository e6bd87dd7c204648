package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// appsEnv sets how many Applications BenchmarkSync1000Apps creates
// (default 1,000), so that the same benchmark also runs at 100 and 5,000.
const appsEnv = "FLOTILLA_BENCH_APPS"

// steadyInterval is the Applications' resync interval in
// BenchmarkSync1000Apps: the minute of steady state holds one resync of each.
const steadyInterval = time.Minute

// BenchmarkSync1000Apps creates 1,000 Applications (FLOTILLA_BENCH_APPS),
// each its own folder apps/app-NNNN of one repository served over smart
// HTTP, holding four objects of distinct names (so that no render is shared),
// all to one cluster, with automated sync and prune. It reports the time
// until every Application is Synced and every object is present, the
// controller's peak RSS, and its requests during one minute of steady state:
// writes, reads (GETs, LISTs and dry-runs to clusters, the hub included) and
// git requests.
//
// In the same run it measures the floor: a bare client-go loop with 16
// workers and no client-side throttle server-side-applying the same
// Namespaces and objects into a fresh set of namespaces of the same cluster,
// and the ratio of Flotilla's time to the floor's.
func BenchmarkSync1000Apps(b *testing.B) {
	apps := benchApps(b)
	for b.Loop() {
		b.StopTimer()
		h, err := harness.Start(context.Background(), harness.Options{Bin: flotillaBin, Clusters: 1})
		if err != nil {
			b.Fatal(err)
		}
		root := b.TempDir()
		repo := gitserver.NewRepo(b, root, "fleet")
		srv := gitserver.NewHTTP(b, gitserver.HTTPOptions{Root: root})
		commit := repo.Commit("main", harness.ManyApps(apps))
		floor := applyFloor(b, h, apps)

		b.StartTimer()
		start := time.Now()
		harness.CreateApps(b, h, apps, srv.URL("fleet"), steadyInterval)
		waitAllSynced(b, h, apps, commit)
		waitObjects(b, h, apps)
		toSynced := time.Since(start)
		b.StopTimer()

		waitAllHealthy(b, h, apps)
		writes, reads, git := steadyMinute(b, h, srv)
		b.ReportMetric(float64(apps), "apps")
		b.ReportMetric(toSynced.Seconds(), "s-to-synced")
		b.ReportMetric(floor.Seconds(), "floor-s")
		b.ReportMetric(toSynced.Seconds()/floor.Seconds(), "ratio-to-floor")
		b.ReportMetric(float64(peakRSS(b, h.ControllerPID()))/(1<<20), "MiB-peak-rss")
		b.ReportMetric(writes, "writes/min-steady")
		b.ReportMetric(reads, "reads/min-steady")
		b.ReportMetric(git, "git-requests/min-steady")
		if syncs, err := h.Metric("flotilla_syncs_total"); err == nil {
			b.ReportMetric(syncs, "syncs")
		}
		if err := h.Stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

func benchApps(b *testing.B) int {
	v := os.Getenv(appsEnv)
	if v == "" {
		return 1000
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 10000 {
		b.Fatalf("%s=%q: want a count from 1 to 10000", appsEnv, v)
	}
	return n
}

// waitObjects waits until each of the four kinds has n objects carrying
// Flotilla's tracking label.
func waitObjects(b *testing.B, h *harness.Hub, n int) {
	err := wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, gvk := range harness.AppKinds {
			if count, err := harness.CountTracked(ctx, h, gvk); err != nil || count < n {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		b.Fatalf("not every object present: %v", err)
	}
}

// steadyMinute counts the controller's writes and reads, and the git
// server's requests, during one minute in which nothing changes.
func steadyMinute(b *testing.B, h *harness.Hub, srv *gitserver.HTTP) (writes, reads, git float64) {
	w0, err := h.Writes()
	if err != nil {
		b.Fatal(err)
	}
	r0, err := h.Reads()
	if err != nil {
		b.Fatal(err)
	}
	g0 := srv.Counts().Requests
	time.Sleep(time.Minute)
	w1, err := h.Writes()
	if err != nil {
		b.Fatal(err)
	}
	r1, err := h.Reads()
	if err != nil {
		b.Fatal(err)
	}
	return w1 - w0, r1 - r0, float64(srv.Counts().Requests - g0)
}

// applyFloor is the physical reference: 16 workers of a bare dynamic client,
// without client-side throttling, server-side-apply n Namespaces and then
// the same 4n objects into them (floor-NNNN), and the time that took.
func applyFloor(b *testing.B, h *harness.Hub, n int) time.Duration {
	cfg := *h.Config
	cfg.QPS, cfg.Burst = -1, 0 // no client-side rate limiter
	dyn, err := dynamic.NewForConfig(&cfg)
	if err != nil {
		b.Fatal(err)
	}
	namespaces := make([]*unstructured.Unstructured, n)
	var objects []*unstructured.Unstructured
	for i := range n {
		ns := fmt.Sprintf("floor-%04d", i)
		namespaces[i] = &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns},
		}}
		for _, text := range harness.AppObjects(harness.AppName(i)) {
			u := &unstructured.Unstructured{}
			if err := yamlToUnstructured(text, u); err != nil {
				b.Fatal(err)
			}
			u.SetNamespace(ns)
			objects = append(objects, u)
		}
	}
	start := time.Now()
	ssaAll(b, dyn, namespaces)
	ssaAll(b, dyn, objects)
	return time.Since(start)
}
