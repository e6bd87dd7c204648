package hooks

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/gitserver"
	"github.com/flotilla-dev/flotilla/test/harness"
)

// TestWaveFailed: a wave whose Deployment never becomes available (its pods
// fit no node) fails the sync with reason WaveFailed, naming the
// Deployment; the waves after it are never applied, and the SyncFail hook
// runs.
func TestWaveFailed(t *testing.T) {
	ns := "hooks-wavefail"
	rec := record(t, ns)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	d := flotillaDialect
	broken := strings.Replace(web(d, 1, "registry.example/web:1"), "    spec:\n      containers:",
		"    spec:\n      nodeSelector: {flotilla.dev/no-such-node: \"true\"}\n      containers:", 1)
	broken = strings.Replace(broken, "spec:\n  replicas: 1", "spec:\n  replicas: 1\n  progressDeadlineSeconds: 10", 1)
	repo.Commit("main", map[string]string{
		"app/web-0.yaml":  web(d, 0, "registry.example/web:1"),
		"app/web-1.yaml":  broken,
		"app/web-2.yaml":  web(d, 2, "registry.example/web:1"),
		"app/notify.yaml": job("notify-", d.phase("SyncFail"), false),
	})
	name := "wavefail"
	newApp(t, name, appSpec(srv.URL("fleet"), "app", ns))
	app := env.WaitApp(t, name, 3*time.Minute, "failed in wave 1", func(a *flotillav1.Application) bool {
		c := harness.ReadyCondition(a)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == flotillav1.ReasonWaveFailed
	})
	msg := harness.ReadyCondition(app).Message
	if !strings.Contains(msg, "Sync wave 1") || !strings.Contains(msg, "Deployment/"+ns+"/web-1") {
		t.Errorf("Ready message %q: want it to name wave 1 and its Deployment", msg)
	}
	if op := app.Status.Operation; op == nil || op.Phase != flotillav1.OperationFailed || op.SyncWave == nil || *op.SyncWave != 1 {
		t.Errorf("operation %+v: want Failed in wave 1", op)
	}
	waitFor(t, "the SyncFail Job to complete", func() bool { return len(rec.find("Job", "notify-", ready)) >= 1 })
	if n := len(rec.find("Deployment", "web-2", created)); n != 0 {
		t.Errorf("wave 2 was applied after wave 1 failed")
	}
	if n := len(rec.find("Deployment", "web-0", created)); n != 1 {
		t.Errorf("wave 0 was created %d times, want once", n)
	}
}
