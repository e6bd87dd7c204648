package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

var flotillaBin string

func TestMain(m *testing.M) {
	flag.Parse()
	// Without -bench nothing here runs: build nothing either.
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "flotilla-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	flotillaBin, err = harness.BuildFlotilla(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// fourObjects is one application: a Deployment at 0 replicas, a
// ServiceAccount, a Service and a ConfigMap.
var fourObjects = map[string]string{
	"app/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 0
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers: [{name: web, image: registry.example/web:1}]
`,
	"app/serviceaccount.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web}\n",
	"app/service.yaml":        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n",
	"app/configmap.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {greeting: hello}\n",
}

// BenchmarkSync100Apps creates 100 Applications of four objects each on one
// cluster and reports the time until all are Synced, the controller's peak
// RSS, and its write requests during one minute in which nothing changes
// (every Application resyncs twice in it: interval 30s).
func BenchmarkSync100Apps(b *testing.B) {
	const apps = 100
	for b.Loop() {
		b.StopTimer()
		h, url, commit := startWithRepo(b, harness.Options{Clusters: 1})

		b.StartTimer()
		start := time.Now()
		for i := range apps {
			createApp(b, h, fmt.Sprintf("bench-%03d", i), url, 30*time.Second, false)
		}
		waitAllSynced(b, h, apps, commit)
		toSynced := time.Since(start)
		// Steady state starts once health has settled too: health changes
		// are status writes, and they are not what this measures.
		waitAllHealthy(b, h, apps)
		b.StopTimer()

		before, err := h.Writes()
		if err != nil {
			b.Fatal(err)
		}
		time.Sleep(time.Minute)
		after, err := h.Writes()
		if err != nil {
			b.Fatal(err)
		}
		peak := peakRSS(b, h.ControllerPID())
		b.ReportMetric(toSynced.Seconds(), "s-to-synced")
		b.ReportMetric(float64(peak)/(1<<20), "MiB-peak-rss")
		b.ReportMetric(after-before, "writes/min-steady")
		if err := h.Stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// startWithRepo starts a hub with the controller and a git server holding
// fourObjects at app/, and returns the repository URL and the commit.
func startWithRepo(b *testing.B, opts harness.Options) (h *harness.Hub, url, commit string) {
	opts.Bin = flotillaBin
	h, err := harness.Start(context.Background(), opts)
	if err != nil {
		b.Fatal(err)
	}
	root := b.TempDir()
	repo := gitserver.NewRepo(b, root, "fleet")
	srv := gitserver.NewHTTP(b, gitserver.HTTPOptions{Root: root})
	return h, srv.URL("fleet"), repo.Commit("main", fourObjects)
}

// createApp creates an Application of app/ with automated sync and prune,
// deploying to a namespace of its own name.
func createApp(b *testing.B, h *harness.Hub, name, url string, interval time.Duration, selfHeal bool) {
	app := &flotillav1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.ApplicationSpec{
			Source:      flotillav1.ApplicationSource{RepoURL: url, TargetRevision: "main", Path: "app"},
			Destination: flotillav1.Destination{Namespace: name},
			SyncPolicy: flotillav1.SyncPolicy{
				Automated:       &flotillav1.AutomatedSync{Prune: true, SelfHeal: selfHeal},
				CreateNamespace: true,
				Interval:        &metav1.Duration{Duration: interval},
			},
		},
	}
	if err := h.Client.Create(context.Background(), app); err != nil {
		b.Fatal(err)
	}
}

// waitAllSynced waits until n Applications are Synced, at commit unless it is empty.
func waitAllSynced(b *testing.B, h *harness.Hub, n int, commit string) {
	waitApps(b, h, n, "Synced", func(a *flotillav1.Application) bool {
		return a.Status.Sync.Status == flotillav1.SyncStatusSynced && (commit == "" || a.Status.Sync.Revision == commit)
	})
}

// waitAllHealthy waits until n Applications report Healthy.
func waitAllHealthy(b *testing.B, h *harness.Hub, n int) {
	waitApps(b, h, n, "Healthy", func(a *flotillav1.Application) bool {
		return a.Status.Health.Status == flotillav1.HealthHealthy
	})
}

func waitApps(b *testing.B, h *harness.Hub, n int, what string, cond func(*flotillav1.Application) bool) {
	harness.WaitApps(b, h, n, 15*time.Minute, what, cond)
}

// peakRSS reads the high-water mark of a process's resident memory.
func peakRSS(b *testing.B, pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmHWM in /proc status")
	return 0
}
