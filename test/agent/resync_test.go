package agent

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/agent"
)

// TestAgentCopiesEverySourceSecret: an Application of an agent-mode
// Cluster whose source names four Secrets (credentialsRef and three
// chartCredentials) has each granted to the agent by the hub, and copied
// into the agent's cluster, by an agent that copies a single Application.
// A copy deleted there, which no watch sees, is restored by the next full
// round (Options.Resync).
func TestAgentCopiesEverySourceSecret(t *testing.T) {
	const name, localNS = "resyncer", "flotilla-resyncer"
	// A process of its own: one process runs one controller (its metrics
	// are registered once), and TestAgentFollowsHubByWatch's runs here.
	runAgentProcess(t, name, localNS, "--max-applications", "1", "--resync", "3s")
	secrets := []string{"resync-repo", "resync-chart-a", "resync-chart-b", "resync-chart-c"}
	for _, s := range secrets {
		env.CreateSecret(t, s, map[string][]byte{"username": []byte("u"), "password": []byte(s)})
	}
	a := app("resynced", "https://git.example.com/resynced.git", "agent-resync", name)
	a.Spec.Source.CredentialsRef = &flotillav1.LocalObjectReference{Name: secrets[0]}
	for i, s := range secrets[1:] {
		a.Spec.Source.ChartCredentials = append(a.Spec.Source.ChartCredentials, flotillav1.ChartCredentials{
			URL: fmt.Sprintf("https://charts-%d.example.com/team", i), SecretRef: flotillav1.LocalObjectReference{Name: s},
		})
	}
	create(t, a)
	copied := func(ctx context.Context, name string) bool {
		var s corev1.Secret
		err := env.Work.Get(ctx, client.ObjectKey{Namespace: localNS, Name: name}, &s)
		return err == nil && string(s.Data["password"]) == name
	}
	eventually(t, time.Minute, "the agent copies the four Secrets into its cluster", func(ctx context.Context) bool {
		for _, s := range secrets {
			if !copied(ctx, s) {
				return false
			}
		}
		return true
	})

	// Once the agent's report reached the hub, the watches see only
	// status: nothing but a full round copies the Secrets again.
	eventually(t, time.Minute, "the hub shows the agent's report of resynced", func(ctx context.Context) bool {
		a := hubApp(ctx, "resynced")
		c := meta.FindStatusCondition(a.Status.Conditions, flotillav1.ConditionReady)
		return c != nil && c.ObservedGeneration == a.Generation
	})
	gone := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secrets[2], Namespace: localNS}}
	if err := env.Work.Delete(context.Background(), gone); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "a full round restores the deleted copy", func(ctx context.Context) bool {
		return copied(ctx, secrets[2])
	})
}

// runAgentProcess registers Cluster name in agent mode and runs `flotilla
// agent` for it, with its copies in localNS and the flags args, until the
// test ends. The test's objects are removed when it ends, and a failed
// test shows the agent's log.
func runAgentProcess(t *testing.T, name, localNS string, args ...string) {
	t.Helper()
	startAgent(t) // the CRDs are installed in the workload cluster
	ctx := context.Background()
	kubeconfig := registerAgent(ctx, t, name)
	dir := t.TempDir()
	hubKubeconfig, logPath := filepath.Join(dir, "hub.kubeconfig"), filepath.Join(dir, "agent.log")
	if err := os.WriteFile(hubKubeconfig, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: localNS}}
	if err := env.Work.Create(ctx, namespace); client.IgnoreAlreadyExists(err) != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Work.Delete(context.Background(), namespace) })
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = logFile.Close() }()
	cmd := exec.Command(flotillaBin, append([]string{"agent", "--hub-kubeconfig", hubKubeconfig, "--cluster", name,
		"--kubeconfig", env.Fleet.Kubeconfig(), "--context", env.Fleet.Clusters[1].Name, "--namespace", localNS,
		"--allow-local-repos", "--metrics-addr", "0", "--health-addr", "0", "--cache-dir", filepath.Join(dir, "cache"),
		"--hub-interval", "1s", "--heartbeat", "1h", "-v"}, args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(logPath)
			t.Logf("log of the agent of %s:\n%s", name, log)
		}
	})
}

// lockedBuffer is a log several goroutines write.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestAgentWatchForbidden: an agent that may not watch its copies (its
// credential for its own cluster is here its hub one, which reads
// Applications only by name) ends at start, once its cache sync timeout
// has passed, with an error that says what it waited for. Its log tells
// the refused watch once, though the watch was tried again and again.
func TestAgentWatchForbidden(t *testing.T) {
	startAgent(t)
	const name = "refused"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kubeconfig := registerAgent(ctx, t, name)
	hubCfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	localCfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	reads := &hubReads{}
	localCfg.Wrap(reads.wrap)
	logs := &lockedBuffer{}
	opts := agent.DefaultOptions()
	opts.Hub, opts.Cluster, opts.CacheSyncTimeout = hubCfg, name, 5*time.Second
	opts.Controller.Config, opts.Controller.MetricsAddr, opts.Controller.HealthAddr = localCfg, "0", "0"
	opts.Controller.CacheDir = t.TempDir()
	opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	err = agent.Run(ctx, opts)
	if err == nil || !strings.Contains(err.Error(), "the watch of the Applications in namespace flotilla-system had no answer within 5s") {
		t.Errorf("Run: %v; want the copies' watch that had no answer within 5s", err)
	}
	var refused []string
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, `"watch failed: retrying with backoff"`) && strings.Contains(line, `"kind":"Application"`) {
			refused = append(refused, line)
		}
	}
	copies := "/apis/flotilla.dev/v1alpha1/namespaces/flotilla-system/applications"
	if tries := len(reads.lists(0, copies)); len(refused) != 1 || !strings.Contains(refused[0], `"reason":"Forbidden"`) || tries < 2 {
		t.Errorf("the watch was tried %d times (want several) and logged %d times (want once, Forbidden):\n%s", tries, len(refused), logs)
	}
}
