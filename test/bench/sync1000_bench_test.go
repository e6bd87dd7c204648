package bench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/source"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// appsEnv sets how many Applications BenchmarkSync1000Apps creates
// (default 1,000), so that the same benchmark also runs at 100 and 5,000.
const appsEnv = "FLOTILLA_BENCH_APPS"

// skipSteadyEnv, when set, leaves out the minute of steady state (and its
// three figures): for weighing a knob quickly, never for a recorded figure.
const skipSteadyEnv = "FLOTILLA_BENCH_SKIP_STEADY"

// controllerArgsEnv adds flags to the controller of BenchmarkSync1000Apps,
// split at spaces: "--pprof-addr localhost:6060" to profile it, or a knob
// to weigh.
const controllerArgsEnv = "FLOTILLA_BENCH_CONTROLLER_ARGS"

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
// git requests; then the median time from a refresh to a new commit of one
// Application applied, the others in steady state.
//
// In the same run it measures the floor: a bare client-go loop with 16
// workers and no client-side throttle server-side-applying the same
// Namespaces and objects into a fresh set of namespaces of the same cluster,
// and the ratio of Flotilla's time to the floor's; and the checked floor,
// the same loop dry-running each object before applying it (what the
// guarantee that a stage is validated before it is written costs at least),
// and the ratio to that.
func BenchmarkSync1000Apps(b *testing.B) {
	apps := benchApps(b)
	for b.Loop() {
		b.StopTimer()
		args := strings.Fields(os.Getenv(controllerArgsEnv))
		if files := 5 * apps; files > source.DefaultOptions().MaxCheckoutFiles {
			// One repository of four files and a folder per Application.
			args = append(args, "--max-checkout-files", strconv.Itoa(files+100))
		}
		h, err := harness.Start(context.Background(), harness.Options{Bin: flotillaBin, Clusters: 1, ControllerArgs: args})
		if err != nil {
			b.Fatal(err)
		}
		root := b.TempDir()
		repo := gitserver.NewRepo(b, root, "fleet")
		srv := gitserver.NewHTTP(b, gitserver.HTTPOptions{Root: root})
		commit := repo.Commit("main", harness.ManyApps(apps))
		floor := applyFloor(b, h, apps, false)
		checked := applyFloor(b, h, apps, true)

		b.StartTimer()
		start := time.Now()
		harness.CreateApps(b, h, apps, srv.URL("fleet"), steadyInterval)
		waitAllSynced(b, h, apps, commit)
		waitObjects(b, h, apps)
		toSynced := time.Since(start)
		b.StopTimer()
		logWhereTimeWent(b, h)
		logMemory(b, h)

		waitAllHealthy(b, h, apps)
		toHealthy := time.Since(start)
		// Syncs and health refreshes up to all Healthy, before the steady
		// minute's resyncs: a status change of an object (a Deployment's
		// rollout) is a health refresh, not a sync (issue 13).
		syncsToHealthy := metric(b, h, "flotilla_syncs_total")
		refreshes := metric(b, h, "flotilla_health_refreshes_total")
		b.ReportMetric(float64(apps), "apps")
		b.ReportMetric(toSynced.Seconds(), "s-to-synced")
		b.ReportMetric(toHealthy.Seconds(), "s-to-healthy")
		b.ReportMetric(syncsToHealthy/float64(apps), "syncs/app-to-healthy")
		b.ReportMetric(refreshes/float64(apps), "refreshes/app-to-healthy")
		b.ReportMetric(floor.Seconds(), "floor-s")
		b.ReportMetric(toSynced.Seconds()/floor.Seconds(), "ratio-to-floor")
		b.ReportMetric(checked.Seconds(), "checked-floor-s")
		b.ReportMetric(toSynced.Seconds()/checked.Seconds(), "ratio-to-checked-floor")
		b.ReportMetric(float64(peakRSS(b, h.ControllerPID()))/(1<<20), "MiB-peak-rss")
		if os.Getenv(skipSteadyEnv) == "" {
			writes, reads, git := steadyMinute(b, h, srv)
			b.ReportMetric(writes, "writes/min-steady")
			b.ReportMetric(reads, "reads/min-steady")
			b.ReportMetric(git, "git-requests/min-steady")
		}
		b.ReportMetric(commitToApplied(b, h, repo, apps), "s-commit-to-applied")
		b.ReportMetric(metric(b, h, "flotilla_syncs_total"), "syncs")
		if err := h.Stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// commitToApplied pushes five commits, one after the other, each changing
// the ConfigMap of one Application of apps (the others in steady state),
// asks for its refresh as a webhook or a user would, and returns the
// median time from the refresh to the commit applied and Synced.
func commitToApplied(b *testing.B, h *harness.Hub, repo *gitserver.Repo, apps int) float64 {
	name := harness.AppName(apps / 2)
	files := harness.ManyApps(apps)
	var took []float64
	for i := range 5 {
		files["apps/"+name+"/configmap.yaml"] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {greeting: hello-%d}\n", name, i)
		commit := repo.Commit("main", files)
		start := time.Now()
		app := &flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace}}
		patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, flotillav1.RefreshAnnotation, start.Format(time.RFC3339Nano))
		if err := h.Client.Patch(context.Background(), app, client.RawPatch(types.MergePatchType, patch)); err != nil {
			b.Fatal(err)
		}
		waitRevision(b, h, name, commit)
		took = append(took, time.Since(start).Seconds())
	}
	slices.Sort(took)
	b.Logf("refresh to a new commit applied, one of %d Applications, s: %.3f", apps, took)
	return took[len(took)/2]
}

// metric is the sum of a counter of the controller; a figure that cannot
// be read ends the benchmark rather than reporting zero.
func metric(b *testing.B, h *harness.Hub, name string) float64 {
	b.Helper()
	v, err := h.Metric(name)
	if err != nil {
		b.Fatalf("the controller's %s: %v", name, err)
	}
	return v
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
// the same 4n objects into them (floor-NNNN), and the time that took. With
// dryRunFirst (into checked-NNNN) each object is dry-run before its apply:
// the least any engine that validates what it writes before writing it
// sends to the cluster.
func applyFloor(b *testing.B, h *harness.Hub, n int, dryRunFirst bool) time.Duration {
	cfg := *h.Config
	cfg.QPS, cfg.Burst = -1, 0 // no client-side rate limiter
	dyn, err := dynamic.NewForConfig(&cfg)
	if err != nil {
		b.Fatal(err)
	}
	prefix := "floor"
	if dryRunFirst {
		prefix = "checked"
	}
	namespaces := make([]*unstructured.Unstructured, n)
	var objects []*unstructured.Unstructured
	for i := range n {
		ns := fmt.Sprintf("%s-%04d", prefix, i)
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
	ssaAll(b, dyn, namespaces, dryRunFirst)
	ssaAll(b, dyn, objects, dryRunFirst)
	took := time.Since(start)
	waitControllersDone(b, dyn)
	deleteServices(b, dyn, objects)
	return took
}

// deleteServices deletes the Services among objs, outside the timing: the
// API server's cost to allocate a Service's address grows with the
// Services the cluster holds (in a profile of kube-apiserver it was a tenth
// of its time by the third thousand), so each part of the run creates its
// thousand Services into a cluster that holds none of the others'.
func deleteServices(b *testing.B, dyn dynamic.Interface, objs []*unstructured.Unstructured) {
	services := schema.GroupVersionResource{Version: "v1", Resource: "services"}
	var floorServices []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() == "Service" {
			floorServices = append(floorServices, u)
		}
	}
	err := inParallel(floorServices, func(u *unstructured.Unstructured) error {
		err := dyn.Resource(services).Namespace(u.GetNamespace()).Delete(context.Background(), u.GetName(), metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
	if err != nil {
		b.Fatalf("delete the floor's Services: %v", err)
	}
	// The garbage collector then deletes their EndpointSlices: wait for it,
	// so that this work does not load what is measured next.
	namespaces := map[string]bool{}
	for _, u := range objs {
		namespaces[u.GetNamespace()] = true
	}
	endpointSlices := schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}
	err = waitEvery(dyn, endpointSlices, 5*time.Minute, func(s *unstructured.Unstructured) bool {
		return !namespaces[s.GetNamespace()]
	})
	if err != nil {
		b.Fatalf("the EndpointSlices of the floor's Services were never deleted: %v", err)
	}
}

// waitEvery waits until every object of gvr in the cluster satisfies ok.
func waitEvery(dyn dynamic.Interface, gvr schema.GroupVersionResource, timeout time.Duration, ok func(*unstructured.Unstructured) bool) error {
	return wait.PollUntilContextTimeout(context.Background(), time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		list, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		for i := range list.Items {
			if !ok(&list.Items[i]) {
				return false, nil
			}
		}
		return true, nil
	})
}

// waitControllersDone waits until the cluster's controllers have seen
// every Deployment (made its ReplicaSet, written its status), so that
// their work for one run of the benchmark does not load the next.
func waitControllersDone(b *testing.B, dyn dynamic.Interface) {
	deployments := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	err := waitEvery(dyn, deployments, 10*time.Minute, func(d *unstructured.Unstructured) bool {
		observed, _, _ := unstructured.NestedInt64(d.Object, "status", "observedGeneration")
		return observed >= d.GetGeneration()
	})
	if err != nil {
		b.Fatalf("the cluster's controllers never saw every Deployment: %v", err)
	}
}

// logMemory logs what the controller's resident memory is made of: the
// pages of its binary (RssFile) and its own (RssAnon), and of those the Go
// heap in use, the heap the runtime holds and has not returned, and stacks.
func logMemory(b *testing.B, h *harness.Hub) {
	status, err := os.ReadFile("/proc/" + strconv.Itoa(h.ControllerPID()) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	var parts []string
	for _, line := range strings.Split(string(status), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && (k == "VmRSS" || k == "RssAnon" || k == "RssFile") {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			parts = append(parts, fmt.Sprintf("%s %.0f MiB", k, kb/1024))
		}
	}
	families, err := h.Scrape()
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"go_memstats_heap_inuse_bytes", "go_memstats_heap_idle_bytes", "go_memstats_heap_released_bytes", "go_memstats_stack_inuse_bytes", "go_memstats_next_gc_bytes"} {
		if f, ok := families[name]; ok && len(f.GetMetric()) > 0 {
			parts = append(parts, fmt.Sprintf("%s %.0f MiB", strings.TrimPrefix(name, "go_memstats_"), f.GetMetric()[0].GetGauge().GetValue()/(1<<20)))
		}
	}
	b.Logf("memory at all Synced: %s", strings.Join(parts, ", "))
}

// logWhereTimeWent logs the mean time of each step of the syncs, of a
// reconcile and of an Application's wait in the queue: where the time to
// Synced went.
func logWhereTimeWent(b *testing.B, h *harness.Hub) {
	families, err := h.Scrape()
	if err != nil {
		b.Fatal(err)
	}
	var parts []string
	mean := func(family, label, value string) {
		f, ok := families[family]
		if !ok {
			return
		}
		var sum float64
		var count uint64
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && (value == "" || l.GetValue() == value) {
					sum += m.GetHistogram().GetSampleSum()
					count += m.GetHistogram().GetSampleCount()
				}
			}
		}
		if count > 0 {
			name := value
			if name == "" {
				name = family
			}
			parts = append(parts, fmt.Sprintf("%s %.0fms×%d", name, 1000*sum/float64(count), count))
		}
	}
	for _, step := range []string{"cluster", "admit", "fetch", "render", "slot", "plan", "enforce", "compare", "apply", "prune", "observe"} {
		mean("flotilla_sync_step_duration_seconds", "step", step)
	}
	mean("controller_runtime_reconcile_time_seconds", "controller", "application")
	mean("workqueue_queue_duration_seconds", "name", "application")
	b.Logf("mean time: %s", strings.Join(parts, ", "))
	// The requests per Application until then, by method: those to the
	// destination (Flotilla's own count) and every request of the
	// controller's clients, the hub's Application writes included.
	perMethod := func(family string) string {
		counts := map[string]float64{}
		if f, ok := families[family]; ok {
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "method" {
						counts[l.GetValue()] += m.GetCounter().GetValue()
					}
				}
			}
		}
		var out []string
		for method, n := range counts {
			out = append(out, fmt.Sprintf("%s %.0f", method, n))
		}
		slices.Sort(out)
		return strings.Join(out, ", ")
	}
	b.Logf("requests to the destination: %s; of every client: %s", perMethod("flotilla_cluster_requests_total"), perMethod("rest_client_requests_total"))
}
