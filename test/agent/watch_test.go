package agent

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/agent"
	"github.com/flotilla-dev/flotilla/internal/cluster"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
)

// hubReads counts the requests an agent sends an API server that read:
// gets, lists and the opening of watches (all HTTP GET).
type hubReads struct {
	mu    sync.Mutex
	reads []string
}

func (h *hubReads) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		if req.Method == http.MethodGet {
			h.mu.Lock()
			h.reads = append(h.reads, req.URL.RequestURI())
			h.mu.Unlock()
		}
		return rt.RoundTrip(req)
	})
}

// since are the reads after the first n.
func (h *hubReads) since(n int) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.reads[n:]...)
}

// lists are the reads since the first n that list the collection at path
// (no watch).
func (h *hubReads) lists(n int, path string) []string {
	var out []string
	for _, r := range h.since(n) {
		p, query, _ := strings.Cut(r, "?")
		if p == path && !strings.Contains(query, "watch=true") {
			out = append(out, r)
		}
	}
	return out
}

func (h *hubReads) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.reads)
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// localAgent is an agent run in the test's process for a Cluster of its
// own, registered for the test, with its copies in a namespace of their
// own in the workload cluster.
type localAgent struct {
	opts agent.Options
	// hub and local count the agent's reads of the hub and of its own
	// cluster (the local controller's among them).
	hub, local *hubReads
	log        string
}

// runLocalAgent registers Cluster name in agent mode and runs its agent,
// with its copies in localNS, until the test ends; set changes the
// agent's options before it starts. The test's objects are removed when it
// ends, and a failed test shows the agent's log.
func runLocalAgent(t *testing.T, name, localNS string, set func(*agent.Options)) *localAgent {
	t.Helper()
	startAgent(t) // the CRDs are installed in the workload cluster
	ctx, cancel := context.WithCancel(context.Background())
	kubeconfig := registerAgent(ctx, t, name)
	hubCfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	la := &localAgent{hub: &hubReads{}, local: &hubReads{}, log: filepath.Join(t.TempDir(), "agent.log")}
	hubCfg.Wrap(la.hub.wrap)
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: localNS}}
	if err := env.Work.Create(ctx, namespace); client.IgnoreAlreadyExists(err) != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Work.Delete(context.Background(), namespace) })
	logFile, err := os.Create(la.log)
	if err != nil {
		t.Fatal(err)
	}
	opts := agent.DefaultOptions()
	opts.Hub, opts.Cluster, opts.Interval = hubCfg, name, time.Second
	opts.Heartbeat = time.Hour
	opts.Logger = slog.New(slog.NewJSONHandler(logFile, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := &opts.Controller
	c.Config, c.Namespace = env.Fleet.Clusters[1].RESTConfig(), localNS
	c.Config.Wrap(la.local.wrap)
	c.MetricsAddr, c.HealthAddr, c.CacheDir, c.AllowLocalRepos = "0", "0", t.TempDir(), true
	c.PollInterval = 2 * time.Second
	if set != nil {
		set(&opts)
	}
	la.opts = opts
	done := make(chan error, 1)
	go func() { done <- agent.Run(ctx, opts) }()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = logFile.Close()
		if t.Failed() {
			log, _ := os.ReadFile(la.log)
			t.Logf("log of the agent of %s:\n%s", name, log)
		}
	})
	return la
}

// cleanupRegistration removes, when the test ends, what Register made in
// the hub for Cluster name.
// registerAgent registers the agent-mode Cluster name as `cluster add
// --mode agent` does, and returns its agent's hub kubeconfig; the
// registration goes when the test ends.
func registerAgent(ctx context.Context, t *testing.T, name string) []byte {
	t.Helper()
	reg := agent.DefaultRegisterOptions()
	reg.Name = name
	_, kubeconfig, err := agent.Register(ctx, env.Config, env.Client, reg)
	cleanupRegistration(t, name)
	if err != nil {
		t.Fatal(err)
	}
	return kubeconfig
}

func cleanupRegistration(t *testing.T, name string) {
	t.Cleanup(func() {
		ctx := context.Background()
		ns, agentName := flotillav1.DefaultNamespace, cluster.AgentName(name)
		meta := func(n string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: n, Namespace: ns} }
		for _, obj := range []client.Object{
			&flotillav1.Cluster{ObjectMeta: meta(name)},
			&rbacv1.RoleBinding{ObjectMeta: meta(agentName)},
			&rbacv1.Role{ObjectMeta: meta(agentName)},
			&corev1.Secret{ObjectMeta: meta(agentName + "-token")},
			&corev1.ServiceAccount{ObjectMeta: meta(agentName)},
		} {
			if err := env.Client.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
				t.Logf("remove %s: %v", obj.GetName(), err)
			}
		}
	})
}

// TestAgentFollowsHubByWatch: an agent follows the hub with watches. Once
// its Application is synced, it sends the hub no read at all over several
// times its retry interval (a polling agent reads its Role and each
// Application every interval); a new targetRevision set on the hub then
// reaches the workload cluster, still without a read. The copy's status
// changes on the way are written to the hub from the watch of the copies,
// without listing them.
func TestAgentFollowsHubByWatch(t *testing.T) {
	const name, ns, localNS = "watcher", "agent-watch", "flotilla-watcher"
	la := runLocalAgent(t, name, localNS, nil)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "watched")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	first := repo.Commit("main", configMapWith("one"))
	next := repo.Commit("next", configMapWith("two"))
	create(t, app("watched", srv.URL("watched"), ns, name))
	eventually(t, 2*time.Minute, "the hub shows watched Synced", func(ctx context.Context) bool {
		return syncedAt(hubApp(ctx, "watched"), first)
	})

	n := la.hub.count()
	time.Sleep(6 * la.opts.Interval)
	if r := la.hub.since(n); len(r) > 0 {
		t.Errorf("idle over %s, the agent read the hub %d times: %v", 6*la.opts.Interval, len(r), r)
	}

	n, local := la.hub.count(), la.local.count()
	ctx := context.Background()
	a := hubApp(ctx, "watched")
	base := a.DeepCopy()
	a.Spec.Source.TargetRevision = "next"
	if err := env.Client.Patch(ctx, a, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the new targetRevision reaches the workload cluster", func(ctx context.Context) bool {
		return greeting(ctx, ns) == "two"
	})
	eventually(t, time.Minute, "the hub shows watched Synced at the other branch", func(ctx context.Context) bool {
		return syncedAt(hubApp(ctx, "watched"), next)
	})
	if r := la.hub.since(n); len(r) > 0 {
		t.Errorf("the change came with %d reads of the hub, want none (a watch tells it): %v", len(r), r)
	}
	copies := "/apis/flotilla.dev/v1alpha1/namespaces/" + localNS + "/applications"
	if r := la.local.lists(local, copies); len(r) > 0 {
		t.Errorf("the copy's status changes came with %d lists of the copies, want none (their watch holds them): %v", len(r), r)
	}
	if err := env.Client.Delete(ctx, a); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the agent prunes the deleted Application's objects", func(ctx context.Context) bool {
		return greeting(ctx, ns) == ""
	})
}
