package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/internal/server/auth"
	"github.com/flotilla-dev/flotilla/internal/server/wire"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// serverSamples is how many times each request is timed.
const serverSamples = 200

// BenchmarkServer1000Apps runs `flotilla server` over a hub holding 1,000
// Applications (FLOTILLA_BENCH_APPS): 999 of the four objects of
// fourObjects, compared but not synced (no automated sync), and one synced
// to a full workload cluster, a Deployment of two Pods behind a Service.
// Logged in as admin over one HTTP/2 connection, it times 200 requests of
// each, one after the other: the whole list (GET /api/v1/applications with
// limit=1000) and the synced Application's resource tree (read live from
// the workload cluster). It reports their p50 and p99, the list's size,
// and the server's resident memory after the requests and at its peak.
func BenchmarkServer1000Apps(b *testing.B) {
	apps := benchApps(b)
	for b.Loop() {
		b.StopTimer()
		h, err := harness.Start(context.Background(), harness.Options{Bin: flotillaBin, Clusters: 2})
		if err != nil {
			b.Fatal(err)
		}
		root := b.TempDir()
		repo := gitserver.NewRepo(b, root, "fleet")
		git := gitserver.NewHTTP(b, gitserver.HTTPOptions{Root: root})
		files := map[string]string{"live/all.yaml": harness.LiveWorkload}
		for k, v := range fourObjects {
			files[k] = v
		}
		commit := repo.Commit("main", files)
		h.RegisterCluster(b, "dev-1", "dev-1", nil)
		createTreeApp(b, h, git.URL("fleet"))
		createIdleApps(b, h, apps-1, git.URL("fleet"))
		waitApps(b, h, apps, "compared", func(a *flotillav1.Application) bool { return a.Status.Sync.Revision == commit })
		waitAllHealthyNamed(b, h, "tree")

		srv, err := h.StartServer()
		if err != nil {
			b.Fatal(err)
		}
		token := adminLogin(b, h, srv)
		list := "/api/v1/applications?limit=1000"
		tree := "/api/v1/applications/flotilla-system/tree/tree"
		waitListed(b, srv, token, apps)
		listTimes, size := timeGets(b, srv, token, list)
		treeTimes, _ := timeGets(b, srv, token, tree)
		b.ReportMetric(float64(apps), "apps")
		b.ReportMetric(ms(listTimes[len(listTimes)/2]), "ms-list-p50")
		b.ReportMetric(ms(listTimes[len(listTimes)*99/100]), "ms-list-p99")
		b.ReportMetric(float64(size)/1024, "KiB-list")
		b.ReportMetric(ms(treeTimes[len(treeTimes)/2]), "ms-tree-p50")
		b.ReportMetric(ms(treeTimes[len(treeTimes)*99/100]), "ms-tree-p99")
		b.ReportMetric(float64(procKB(b, srv.PID(), "VmRSS"))/1024, "MiB-server-rss")
		b.ReportMetric(float64(peakRSS(b, srv.PID()))/(1<<20), "MiB-server-peak-rss")
		if err := h.Stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// createTreeApp syncs live/ (two Pods of two containers behind a Service)
// to dev-1: the Application whose tree is timed.
func createTreeApp(b *testing.B, h *harness.Hub, url string) {
	spec := harness.PlainApp(url, "live", "tree")
	spec.Destination.Cluster = "dev-1"
	app := &flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Name: "tree", Namespace: flotillav1.DefaultNamespace}, Spec: spec}
	if err := h.Client.Create(context.Background(), app); err != nil {
		b.Fatal(err)
	}
}

// createIdleApps creates n Applications of app/ into the namespace idle
// of the hub, which the controller compares (an hour apart) but does not
// sync.
func createIdleApps(b *testing.B, h *harness.Hub, n int, url string) {
	if err := h.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "idle"}}); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		spec := harness.PlainApp(url, "app", "idle")
		spec.SyncPolicy.Automated = nil
		spec.SyncPolicy.Interval = harness.Interval(time.Hour)
		app := &flotillav1.Application{ObjectMeta: metav1.ObjectMeta{Name: harness.AppName(i), Namespace: flotillav1.DefaultNamespace}, Spec: spec}
		if err := h.Client.Create(context.Background(), app); err != nil {
			b.Fatal(err)
		}
	}
}

func waitAllHealthyNamed(b *testing.B, h *harness.Hub, name string) {
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		var a flotillav1.Application
		if err := h.Client.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: name}, &a); err != nil {
			return false, nil
		}
		return harness.Synced(&a) && a.Status.Health.Status == flotillav1.HealthHealthy, nil
	})
	if err != nil {
		b.Fatalf("Application %s not Synced and Healthy: %v\n%s", name, err, h.ControllerLogTail(30))
	}
}

// adminLogin logs in as admin with the initial password.
func adminLogin(b *testing.B, h *harness.Hub, srv *harness.Server) string {
	var s corev1.Secret
	if err := h.Client.Get(context.Background(), client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: auth.InitialAdminSecret}, &s); err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(wire.LoginRequest{Username: auth.AdminAccount, Password: string(s.Data["password"])})
	resp, err := srv.Client.Post(srv.URL+"/api/v1/session", "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var tok wire.Token
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("log in: %s %v", resp.Status, err)
	}
	return tok.Token
}

// waitListed waits until the server's informers hold n Applications.
func waitListed(b *testing.B, srv *harness.Server, token string, n int) {
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		data, err := get(srv, token, "/api/v1/applications?limit=1")
		if err != nil {
			return false, nil
		}
		var l wire.List[flotillav1.Application]
		return json.Unmarshal(data, &l) == nil && l.Total == n, nil
	})
	if err != nil {
		b.Fatalf("the server does not list %d Applications: %v", n, err)
	}
}

// timeGets times serverSamples GETs of path, after five not timed, and
// answers the durations sorted and the size of the last body.
func timeGets(b *testing.B, srv *harness.Server, token, path string) ([]time.Duration, int) {
	var size int
	for range 5 {
		if _, err := get(srv, token, path); err != nil {
			b.Fatal(err)
		}
	}
	took := make([]time.Duration, 0, serverSamples)
	for range serverSamples {
		start := time.Now()
		data, err := get(srv, token, path)
		took = append(took, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		size = len(data)
	}
	slices.Sort(took)
	return took, size
}

// get reads the whole answer of a GET, which must be 200.
func get(srv *harness.Server, token, path string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := srv.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s: %s", path, resp.Status, data)
	}
	return data, err
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// procKB reads a field in kB (such as VmRSS) of a process's status.
func procKB(b *testing.B, pid int, field string) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb
		}
	}
	b.Fatalf("no %s in /proc status", field)
	return 0
}
