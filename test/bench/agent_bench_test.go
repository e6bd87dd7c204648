package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// BenchmarkAgentVsPush deploys the same fleet twice in one run, first with
// every cluster in push mode, then in agent mode (one `flotilla agent`
// process per cluster): FLOTILLA_BENCH_AGENT_CLUSTERS lean clusters (20)
// with FLOTILLA_BENCH_AGENT_APPS Applications each (50, one Fleet per
// Application). For each mode it reports the time from creating the Fleets
// to all Synced in the hub, and the hub API server's request rate while
// syncing and over the steady minute after (every request it served, from
// its own apiserver_request_total).
func BenchmarkAgentVsPush(b *testing.B) {
	clusters, apps := envInt("FLOTILLA_BENCH_AGENT_CLUSTERS", 20), envInt("FLOTILLA_BENCH_AGENT_APPS", 50)
	steady := time.Duration(envInt("FLOTILLA_BENCH_AGENT_STEADY_SECONDS", 60)) * time.Second
	for b.Loop() {
		b.StopTimer()
		for _, mode := range []flotillav1.ClusterMode{flotillav1.ClusterModePush, flotillav1.ClusterModeAgent} {
			toSynced, syncRate, steadyRate := fleetInMode(b, mode, clusters, apps, steady)
			b.ReportMetric(toSynced.Seconds(), "s-to-synced-"+string(mode))
			b.ReportMetric(syncRate, "hub-req/s-syncing-"+string(mode))
			b.ReportMetric(steadyRate, "hub-req/s-steady-"+string(mode))
		}
		b.StartTimer()
	}
}

// fleetInMode starts a fleet, registers its clusters in mode, deploys the
// Fleets and measures.
func fleetInMode(b *testing.B, mode flotillav1.ClusterMode, clusters, apps int, steady time.Duration) (time.Duration, float64, float64) {
	h, url, _ := startWithRepo(b, harness.Options{Clusters: clusters + 1, Lean: true})
	defer func() { _ = h.Stop() }()
	for _, c := range h.Fleet.Clusters[1:] {
		if mode == flotillav1.ClusterModePush {
			registerLean(b, h, c)
			continue
		}
		stop := startBenchAgent(b, h, c.Name)
		defer stop()
	}
	if mode == flotillav1.ClusterModeAgent {
		waitAgentsUp(b, h, clusters)
	}
	before, t0 := hubRequests(b, h), time.Now()
	for i := range apps {
		createFleet(b, h, fmt.Sprintf("f%02d", i), url, nil)
	}
	waitAllSynced(b, h, clusters*apps, "")
	toSynced := time.Since(t0)
	synced := hubRequests(b, h)
	time.Sleep(steady)
	after := hubRequests(b, h)
	return toSynced, (synced - before) / toSynced.Seconds(), (after - synced) / steady.Seconds()
}

// startBenchAgent records the lean cluster name in agent mode, installs
// the CRDs there and runs its agent. A lean hub has no token controller:
// the agent uses the hub's admin kubeconfig, and reads exactly what it
// would with its own credential.
func startBenchAgent(b *testing.B, h *harness.Hub, name string) func() {
	cluster := &flotillav1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace, Labels: map[string]string{"bench": "yes"}},
		Spec:       flotillav1.ClusterSpec{Mode: flotillav1.ClusterModeAgent},
	}
	if err := h.Client.Create(context.Background(), cluster); err != nil {
		b.Fatal(err)
	}
	kubeconfig := h.Fleet.Kubeconfig()
	if out, err := harness.Run(flotillaBin, "install", "--kubeconfig", kubeconfig, "--context", name); err != nil {
		b.Fatalf("install the CRDs in %s: %v\n%s", name, err, out)
	}
	log, err := os.Create(filepath.Join(h.Dir, "agent-"+name+".log"))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = log.Close() }()
	cmd := exec.Command(flotillaBin, "agent", "--hub-kubeconfig", kubeconfig, "--hub-context", h.Fleet.Clusters[0].Name,
		"--cluster", name, "--kubeconfig", kubeconfig, "--context", name,
		"--allow-local-repos", "--metrics-addr", "0", "--health-addr", "0", "--cache-dir", filepath.Join(h.Dir, "cache-"+name))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	return func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
}

// waitAgentsUp waits until every agent has written its heartbeat: the
// clock starts with the agents running, as the push controller is.
func waitAgentsUp(b *testing.B, h *harness.Hub, n int) {
	err := wait.PollUntilContextTimeout(context.Background(), time.Second, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		var list flotillav1.ClusterList
		if err := h.Client.List(ctx, &list, client.InNamespace(flotillav1.DefaultNamespace)); err != nil {
			return false, nil
		}
		up := 0
		for _, c := range list.Items {
			if c.Status.LastHeartbeat != nil {
				up++
			}
		}
		return up == n, nil
	})
	if err != nil {
		b.Fatalf("the agents' heartbeats: %v", err)
	}
}

// hubRequests is how many requests the hub's API server has served.
func hubRequests(b *testing.B, h *harness.Hub) float64 {
	cs, err := kubernetes.NewForConfig(h.Config)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := cs.RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	families, err := parseMetrics(raw)
	if err != nil {
		b.Fatal(err)
	}
	total := 0.0
	for _, m := range families["apiserver_request_total"].GetMetric() {
		total += m.GetCounter().GetValue()
	}
	return total
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func parseMetrics(raw []byte) (map[string]*dto.MetricFamily, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(bytes.NewReader(raw))
}
