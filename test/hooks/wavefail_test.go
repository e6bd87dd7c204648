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
	broken := strings.Replace(unschedulable(web(d, 1, "registry.example/web:1")), "spec:\n  replicas: 1", "spec:\n  replicas: 1\n  progressDeadlineSeconds: 10", 1)
	repo.Commit("main", map[string]string{
		"app/web-0.yaml":  web(d, 0, "registry.example/web:1"),
		"app/web-1.yaml":  broken,
		"app/web-2.yaml":  web(d, 2, "registry.example/web:1"),
		"app/notify.yaml": job("notify-", d.phase("SyncFail"), false),
	})
	name := "wavefail"
	newApp(t, name, appSpec(srv.URL("fleet"), "app", ns))
	// The retry the policy allows starts two seconds after a failure and
	// shows as a Running operation until it fails too, so wait for a moment
	// the Application reads failed, not merely for its Ready condition.
	app := env.WaitApp(t, name, 3*time.Minute, "failed in wave 1", func(a *flotillav1.Application) bool {
		c := harness.ReadyCondition(a)
		op := a.Status.Operation
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == flotillav1.ReasonWaveFailed &&
			op != nil && op.Phase == flotillav1.OperationFailed
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

// TestSyncTimeout: a wave whose Deployment stays Progressing (its pods fit
// no node, and its progress deadline is far away) fails the sync once the
// Application's syncPolicy.timeout runs out, long before the controller's
// --sync-timeout would: reason WaveFailed, a message naming the time limit
// and the Deployment, the next wave never applied, the SyncFail hook run.
func TestSyncTimeout(t *testing.T) {
	ns := "hooks-timeout"
	rec := record(t, ns)
	root := t.TempDir()
	repo := gitserver.NewRepo(t, root, "fleet")
	srv := gitserver.NewHTTP(t, gitserver.HTTPOptions{Root: root})
	d := flotillaDialect
	pending := unschedulable(web(d, 1, "registry.example/web:1"))
	repo.Commit("main", map[string]string{
		"app/web-0.yaml":  web(d, 0, "registry.example/web:1"),
		"app/web-1.yaml":  pending,
		"app/web-2.yaml":  web(d, 2, "registry.example/web:1"),
		"app/notify.yaml": job("notify-", d.phase("SyncFail"), false),
	})
	spec := appSpec(srv.URL("fleet"), "app", ns)
	spec.SyncPolicy.Timeout = &metav1.Duration{Duration: 15 * time.Second}
	spec.SyncPolicy.Retry = nil
	name := "timeout"
	newApp(t, name, spec)
	app := env.WaitApp(t, name, 90*time.Second, "failed in wave 1 within the Application's timeout", func(a *flotillav1.Application) bool {
		c := harness.ReadyCondition(a)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == flotillav1.ReasonWaveFailed
	})
	msg := harness.ReadyCondition(app).Message
	if !strings.Contains(msg, "time limit of 15s") || !strings.Contains(msg, "Deployment/"+ns+"/web-1") {
		t.Errorf("Ready message %q: want it to name the 15s time limit and the Deployment", msg)
	}
	waitFor(t, "the SyncFail Job to complete", func() bool { return len(rec.find("Job", "notify-", ready)) >= 1 })
	if n := len(rec.find("Deployment", "web-2", created)); n != 0 {
		t.Errorf("wave 2 was applied after wave 1 ran out of time")
	}
}

// unschedulable is the Deployment manifest with pods that fit no node: it
// never becomes available.
func unschedulable(deployment string) string {
	return strings.Replace(deployment, "    spec:\n      containers:",
		"    spec:\n      nodeSelector: {flotilla.dev/no-such-node: \"true\"}\n      containers:", 1)
}
