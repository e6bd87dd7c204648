package agent

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/controller"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// edge is the agent-mode Cluster of the workload cluster dev-1.
const edge = "edge"

const configMap = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  k: VALUE\n"

func configMapWith(value string) map[string]string {
	return map[string]string{"app/cm.yaml": strings.Replace(configMap, "VALUE", value, 1)}
}

// agentProcess is the agent of edge, run by startAgent.
type agentProcess struct {
	once       sync.Once
	cmd        *exec.Cmd
	dir        string
	kubeconfig string // its hub credential
	manifests  string // what cluster add printed
	log        string
	err        error
}

var theAgent agentProcess

// startAgent registers dev-1 as Cluster edge in agent mode with the CLI and
// installs Flotilla's CRDs there, once, and runs `flotilla agent` for it
// unless it runs already (TestAgentDisconnected stops it).
func startAgent(t *testing.T) {
	t.Helper()
	a := &theAgent
	a.once.Do(func() {
		dir, err := os.MkdirTemp("", "flotilla-agent-")
		if err != nil {
			a.err = err
			return
		}
		a.dir = dir
		hub, work := env.Fleet.Clusters[0].Name, env.Fleet.Clusters[1].Name
		a.kubeconfig = filepath.Join(dir, "hub.kubeconfig")
		out, err := harness.Run(flotillaBin, "cluster", "add", work, "--mode", "agent", "--name", edge, "--label", "fleet=mixed",
			"--kubeconfig", env.Fleet.Kubeconfig(), "--hub-context", hub, "--agent-kubeconfig-out", a.kubeconfig)
		a.manifests = out
		if err != nil {
			a.err = err
			return
		}
		if out, err := harness.Run(flotillaBin, "install", "--kubeconfig", env.Fleet.Kubeconfig(), "--context", work); err != nil {
			a.err, a.manifests = err, out
			return
		}
		a.log = filepath.Join(dir, "agent.log")
	})
	if a.err == nil && a.cmd == nil {
		a.err = runAgent(a)
	}
	if a.err != nil {
		t.Fatalf("start the agent: %v\n%s", a.err, a.manifests)
	}
}

// runAgent starts the agent's process, its log appended to a.log.
func runAgent(a *agentProcess) error {
	logFile, err := os.OpenFile(a.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }()
	work := env.Fleet.Clusters[1].Name
	cmd := exec.Command(flotillaBin, "agent", "--hub-kubeconfig", a.kubeconfig, "--cluster", edge,
		"--kubeconfig", env.Fleet.Kubeconfig(), "--context", work,
		"--allow-local-repos", "--metrics-addr", "0", "--health-addr", "0", "--cache-dir", filepath.Join(a.dir, "cache"),
		"--hub-interval", "1s", "--heartbeat", "2s", "--poll-interval", "2s")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	a.cmd = cmd
	return nil
}

func stopAgent() {
	if c := theAgent.cmd; c != nil && c.Process != nil {
		_ = c.Process.Signal(syscall.SIGTERM)
		_ = c.Wait()
		theAgent.cmd = nil
	}
}

func agentLog() string {
	data, _ := os.ReadFile(theAgent.log)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	return strings.Join(lines, "\n")
}

func app(name, url, ns, cluster string) *flotillav1.Application {
	return &flotillav1.Application{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.ApplicationSpec{
			Source:      flotillav1.ApplicationSource{RepoURL: url, TargetRevision: "main", Path: "app"},
			Destination: flotillav1.Destination{Cluster: cluster, Namespace: ns},
			SyncPolicy: flotillav1.SyncPolicy{
				Automated:       &flotillav1.AutomatedSync{Prune: true, SelfHeal: true},
				CreateNamespace: true,
				Interval:        &metav1.Duration{Duration: 5 * time.Second},
			},
		},
	}
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	if err := env.Client.Create(context.Background(), obj); err != nil {
		t.Fatalf("create %s: %v", obj.GetName(), err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), obj) })
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		return cond(ctx), nil
	})
	if err != nil {
		t.Fatalf("%s: %v\nagent log:\n%s", what, err, agentLog())
	}
}

func hubApp(ctx context.Context, name string) *flotillav1.Application {
	a := &flotillav1.Application{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: name}, a); err != nil {
		return nil
	}
	return a
}

// syncedAt says the hub shows the Application Synced and Ready at revision
// (any, if empty), for its current generation.
func syncedAt(a *flotillav1.Application, revision string) bool {
	if a == nil {
		return false
	}
	c := meta.FindStatusCondition(a.Status.Conditions, flotillav1.ConditionReady)
	return a.Status.Sync.Status == flotillav1.SyncStatusSynced && c != nil && c.Status == metav1.ConditionTrue &&
		a.Status.ObservedGeneration == a.Generation && (revision == "" || a.Status.Sync.Revision == revision)
}

// greeting is the ConfigMap's value in the workload cluster, or "".
func greeting(ctx context.Context, ns string) string {
	var cm corev1.ConfigMap
	if err := env.Work.Get(ctx, client.ObjectKey{Namespace: ns, Name: "greeting"}, &cm); err != nil {
		return ""
	}
	return cm.Data["k"]
}

// TestAgentSyncsThroughOutage: an Application of an agent-mode Cluster is
// synced by its agent, which reports status and heartbeats to the hub.
// With the hub's API server stopped, the agent heals a changed object and
// applies a new commit on its own; once the hub is back, its status
// catches up and its watch of the hub resumes.
func TestAgentSyncsThroughOutage(t *testing.T) {
	startAgent(t)
	if !strings.Contains(theAgent.manifests, "kind: Deployment") || strings.Contains(theAgent.manifests, "token:") {
		t.Fatalf("cluster add --mode agent prints the agent's manifests, without its credential:\n%s", theAgent.manifests)
	}
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "edge")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	first := repo.Commit("main", configMapWith("one"))
	const ns = "agent-outage"
	create(t, app("edge-app", srv.URL("edge"), ns, edge))

	eventually(t, 2*time.Minute, "the hub shows edge-app Synced at the first commit", func(ctx context.Context) bool {
		return syncedAt(hubApp(ctx, "edge-app"), first)
	})
	if v := greeting(context.Background(), ns); v != "one" {
		t.Fatalf("the workload cluster's ConfigMap says %q, want one", v)
	}
	eventually(t, time.Minute, "Cluster edge shows the agent's heartbeat", func(ctx context.Context) bool {
		var c flotillav1.Cluster
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: edge}, &c)
		return err == nil && c.Status.Connected && c.Status.LastHeartbeat != nil && c.Status.KubernetesVersion != "" && c.Status.Applications >= 1
	})

	hub := env.Fleet.Clusters[0].Name
	if err := env.Fleet.StopAPIServer(hub); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = env.Fleet.StartAPIServer(context.Background(), hub)
		}
	})
	ctx := context.Background()
	var cm corev1.ConfigMap
	if err := env.Work.Get(ctx, client.ObjectKey{Namespace: ns, Name: "greeting"}, &cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["k"] = "tampered"
	if err := env.Work.Update(ctx, &cm); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the agent restores the ConfigMap with the hub down", func(ctx context.Context) bool {
		return greeting(ctx, ns) == "one"
	})
	second := repo.Commit("main", configMapWith("two"))
	eventually(t, time.Minute, "the agent applies a new commit with the hub down", func(ctx context.Context) bool {
		return greeting(ctx, ns) == "two"
	})

	if err := env.Fleet.StartAPIServer(ctx, hub); err != nil {
		t.Fatal(err)
	}
	restarted = true
	eventually(t, 2*time.Minute, "the hub's status catches up with the commit made while it was down", func(ctx context.Context) bool {
		return syncedAt(hubApp(ctx, "edge-app"), second)
	})
	a := hubApp(ctx, "edge-app")
	if a.Status.Cluster != edge || len(a.Status.History) < 2 {
		t.Errorf("status.cluster %q (want %s), history %d entries (want both commits)", a.Status.Cluster, edge, len(a.Status.History))
	}

	// The agent follows the hub again: a change made on the hub now
	// reaches it through its resumed watch.
	third := repo.Commit("next", configMapWith("three"))
	base := a.DeepCopy()
	a.Spec.Source.TargetRevision = "next"
	if err := env.Client.Patch(ctx, a, client.MergeFrom(base)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "a change on the hub after its return reaches the agent", func(ctx context.Context) bool {
		return greeting(ctx, ns) == "three" && syncedAt(hubApp(ctx, "edge-app"), third)
	})

	if err := env.Client.Delete(ctx, a); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the agent prunes the objects of the deleted Application", func(ctx context.Context) bool {
		var cm corev1.ConfigMap
		return apierrors.IsNotFound(env.Work.Get(ctx, client.ObjectKey{Namespace: ns, Name: "greeting"}, &cm))
	})
}

// hubPush registers the hub itself as the push-mode Cluster hubpush, once.
var hubPush struct {
	once sync.Once
	out  string
	err  error
}

func registerHubPush(t *testing.T) {
	t.Helper()
	hubPush.once.Do(func() {
		hub := env.Fleet.Clusters[0].Name
		hubPush.out, hubPush.err = harness.Run(flotillaBin, "cluster", "add", hub, "--name", "hubpush", "--label", "fleet=mixed",
			"--kubeconfig", env.Fleet.Kubeconfig(), "--hub-context", hub)
	})
	if hubPush.err != nil {
		t.Fatalf("cluster add: %v\n%s", hubPush.err, hubPush.out)
	}
}

// TestFleetOverPushAndAgent: one Fleet selects a push-mode Cluster (the hub
// itself, registered) and the agent-mode one; both are synced.
func TestFleetOverPushAndAgent(t *testing.T) {
	startAgent(t)
	registerHubPush(t)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "mixed")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	rev := repo.Commit("main", configMapWith("mixed"))
	tmpl := app("", srv.URL("mixed"), "agent-fleet", "").Spec
	create(t, &flotillav1.Fleet{
		ObjectMeta: metav1.ObjectMeta{Name: "mixed", Namespace: flotillav1.DefaultNamespace},
		Spec: flotillav1.FleetSpec{
			ClusterSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"fleet": "mixed"}},
			Template: flotillav1.FleetTemplate{
				Source: tmpl.Source, SyncPolicy: tmpl.SyncPolicy,
				Destination: flotillav1.FleetDestination{Namespace: "agent-fleet"},
			},
		},
	})
	eventually(t, 2*time.Minute, "the Fleet's Applications on hubpush and edge are Synced", func(ctx context.Context) bool {
		return syncedAt(hubApp(ctx, "mixed-hubpush"), rev) && syncedAt(hubApp(ctx, "mixed-"+edge), rev)
	})
	if v := greeting(context.Background(), "agent-fleet"); v != "mixed" {
		t.Errorf("the agent's cluster has %q, want mixed", v)
	}
	eventually(t, time.Minute, "the Fleet counts both clusters synced", func(ctx context.Context) bool {
		var f flotillav1.Fleet
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: "mixed"}, &f)
		return err == nil && f.Status.Summary.Clusters == 2 && f.Status.Summary.Synced == 2
	})
}

// TestAgentCredential: the agent's hub credential reads its own
// Applications and the Secret one names, and writes their status, and is
// refused everything else: another cluster's Application, listing
// Applications, changing a spec, Secrets none of its Applications names,
// and a list or watch of Secrets not narrowed to a granted name.
func TestAgentCredential(t *testing.T) {
	startAgent(t)
	ctx := context.Background()
	env.CreateSecret(t, "mine-creds", map[string][]byte{"password": []byte("p")})
	mineApp := app("mine", "https://git.example.com/x.git", "x", edge)
	mineApp.Spec.Source.CredentialsRef = &flotillav1.LocalObjectReference{Name: "mine-creds"}
	create(t, mineApp)
	create(t, app("theirs", "https://git.example.com/x.git", "x", "elsewhere"))
	create(t, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "unnamed", Namespace: flotillav1.DefaultNamespace},
		StringData: map[string]string{"password": "p"},
	})
	raw, err := os.ReadFile(theAgent.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	scheme, err := controller.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	as, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	key := func(name string) client.ObjectKey {
		return client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: name}
	}
	eventually(t, time.Minute, "the agent reads its own Application and the Secret it names", func(ctx context.Context) bool {
		return as.Get(ctx, key("mine"), &flotillav1.Application{}) == nil && as.Get(ctx, key("mine-creds"), &corev1.Secret{}) == nil
	})
	watcher, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	watchSecrets := func(opts ...client.ListOption) error {
		w, err := watcher.Watch(ctx, &corev1.SecretList{}, opts...)
		if err == nil {
			w.Stop()
		}
		return err
	}
	inHub := client.InNamespace(flotillav1.DefaultNamespace)
	refused := map[string]error{
		"get another cluster's Application":    as.Get(ctx, key("theirs"), &flotillav1.Application{}),
		"list Applications":                    as.List(ctx, &flotillav1.ApplicationList{}, inHub),
		"get a Secret no Application names":    as.Get(ctx, key("unnamed"), &corev1.Secret{}),
		"list Secrets":                         as.List(ctx, &corev1.SecretList{}, inHub),
		"list Secrets by label":                as.List(ctx, &corev1.SecretList{}, inHub, client.MatchingLabels{"any": "thing"}),
		"list the Secrets of every namespace":  as.List(ctx, &corev1.SecretList{}),
		"watch Secrets":                        watchSecrets(inHub),
		"list a Secret no Application names":   as.List(ctx, &corev1.SecretList{}, inHub, client.MatchingFields{"metadata.name": "unnamed"}),
		"watch the Secrets of every namespace": watchSecrets(),
	}
	if err := as.List(ctx, &corev1.SecretList{}, inHub, client.MatchingFields{"metadata.name": "mine-creds"}); err != nil {
		t.Errorf("list the Secret its Application names, by name: %v", err)
	}
	mine := &flotillav1.Application{}
	if err := as.Get(ctx, key("mine"), mine); err != nil {
		t.Fatal(err)
	}
	mine.Spec.Destination.Namespace = "changed"
	refused["change its own Application's spec"] = as.Update(ctx, mine)
	for what, err := range refused {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s: want Forbidden, got %v", what, err)
		}
	}
}

// TestAgentDisconnected: once the agent stops, the hub marks its Cluster
// disconnected when the heartbeat is older than --agent-timeout.
func TestAgentDisconnected(t *testing.T) {
	startAgent(t)
	stopAgent()
	eventually(t, time.Minute, "Cluster edge is marked disconnected", func(ctx context.Context) bool {
		var c flotillav1.Cluster
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: edge}, &c); err != nil {
			return false
		}
		r := meta.FindStatusCondition(c.Status.Conditions, flotillav1.ConditionReady)
		return !c.Status.Connected && r != nil && r.Reason == flotillav1.ReasonClusterUnavailable && strings.Contains(r.Message, "heartbeat")
	})
}
