package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
	"github.com/flotilla-dev/flotilla/internal/controller"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

// hubEnv is the fleet the sync tests share: a hub with Flotilla installed and
// its controller running as a process, and one workload cluster.
type hubEnv struct {
	fleet      *localfleet.Fleet
	hub        client.Client
	work       client.Client // the workload cluster dev-1
	hubCfg     *rest.Config
	dir        string
	controller *exec.Cmd
	metrics    string // host:port of the controller's /metrics
}

// env is started by TestMain.
var env *hubEnv

func startHub(ctx context.Context) (*hubEnv, error) {
	dir, err := os.MkdirTemp("", "flotilla-e2e-hub-")
	if err != nil {
		return nil, err
	}
	f, err := localfleet.Start(ctx, localfleet.Options{Clusters: 2})
	if err != nil {
		return nil, err
	}
	e := &hubEnv{fleet: f, dir: dir, hubCfg: f.Cluster("hub").RESTConfig()}
	scheme, err := controller.NewScheme()
	if err != nil {
		return nil, e.stopAll(err)
	}
	if e.hub, err = client.New(e.hubCfg, client.Options{Scheme: scheme}); err != nil {
		return nil, e.stopAll(err)
	}
	if e.work, err = client.New(f.Cluster("dev-1").RESTConfig(), client.Options{Scheme: scheme}); err != nil {
		return nil, e.stopAll(err)
	}
	if out, err := tryCmd(flotillaBin, "install", "--kubeconfig", f.Kubeconfig(), "--context", "hub"); err != nil {
		return nil, e.stopAll(fmt.Errorf("flotilla install: %w\n%s", err, out))
	}
	if err := e.startController(); err != nil {
		return nil, e.stopAll(err)
	}
	return e, nil
}

func (e *hubEnv) stopAll(cause error) error {
	e.stopController()
	_ = e.fleet.Stop()
	_ = os.RemoveAll(e.dir)
	return cause
}

// startController runs `flotilla controller` against the hub, logging to
// controller.log in the environment's folder.
func (e *hubEnv) startController() error {
	port, err := freePort()
	if err != nil {
		return err
	}
	e.metrics = "127.0.0.1:" + strconv.Itoa(port)
	logFile, err := os.OpenFile(filepath.Join(e.dir, "controller.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }()
	cmd := exec.Command(flotillaBin, "controller",
		"--kubeconfig", e.fleet.Kubeconfig(), "--context", "hub",
		"--allow-local-repos",
		"--metrics-addr", e.metrics, "--health-addr", "0",
		"--cache-dir", filepath.Join(e.dir, "cache"),
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	e.controller = cmd
	return nil
}

// killController ends the controller with SIGKILL, as an OOM kill would.
func (e *hubEnv) killController() {
	if e.controller == nil {
		return
	}
	_ = e.controller.Process.Signal(syscall.SIGKILL)
	_ = e.controller.Wait()
	e.controller = nil
}

func (e *hubEnv) stopController() {
	if e.controller == nil {
		return
	}
	_ = e.controller.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = e.controller.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = e.controller.Process.Kill()
		<-done
	}
	e.controller = nil
}

// controllerLogAll returns the whole controller log.
func (e *hubEnv) controllerLogAll() string {
	data, _ := os.ReadFile(filepath.Join(e.dir, "controller.log"))
	return string(data)
}

// controllerLog returns the end of the controller's log, for failures.
func (e *hubEnv) controllerLog() string {
	data, err := os.ReadFile(filepath.Join(e.dir, "controller.log"))
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// newNamespace makes a namespace in the workload clusters' view for one test:
// it names the test's destination namespace, cleaned up by the test.
func testNamespace(t *testing.T) string {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 50 {
		name = name[:50]
	}
	return strings.Trim(name, "-")
}

// waitApp polls the Application until cond holds, failing with its status and
// the controller's log otherwise.
func waitApp(t *testing.T, name string, timeout time.Duration, what string, cond func(*flotillav1.Application) bool) *flotillav1.Application {
	t.Helper()
	app := &flotillav1.Application{}
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if err := env.hub.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: name}, app); err != nil {
			return false, nil
		}
		return cond(app), nil
	})
	if err != nil {
		t.Fatalf("Application %s: %s: %v\nstatus: %s\ncontroller log:\n%s", name, what, err, statusString(app), env.controllerLog())
	}
	return app
}

func statusString(app *flotillav1.Application) string {
	var b strings.Builder
	fmt.Fprintf(&b, "sync=%s revision=%s", app.Status.Sync.Status, app.Status.Sync.Revision)
	for _, c := range app.Status.Conditions {
		fmt.Fprintf(&b, "\n  %s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message)
	}
	if op := app.Status.Operation; op != nil {
		fmt.Fprintf(&b, "\n  operation %s: %s", op.Phase, op.Message)
	}
	return b.String()
}

func readyCondition(app *flotillav1.Application) *metav1.Condition {
	for i := range app.Status.Conditions {
		if app.Status.Conditions[i].Type == flotillav1.ConditionReady {
			return &app.Status.Conditions[i]
		}
	}
	return nil
}

func synced(app *flotillav1.Application) bool {
	c := readyCondition(app)
	return app.Status.Sync.Status == flotillav1.SyncStatusSynced && c != nil &&
		c.Status == metav1.ConditionTrue && c.ObservedGeneration == app.Generation
}

// failedWith reports whether the Application's Ready condition is False with reason.
func failedWith(reason string) func(*flotillav1.Application) bool {
	return func(app *flotillav1.Application) bool {
		c := readyCondition(app)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == reason && c.ObservedGeneration == app.Generation
	}
}

// createSecret creates a Secret in the hub's flotilla-system namespace.
func createSecret(t *testing.T, name string, data map[string][]byte) {
	t.Helper()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: flotillav1.DefaultNamespace},
		Data:       data,
	}
	if err := env.hub.Create(context.Background(), s); err != nil {
		t.Fatalf("create Secret %s: %v", name, err)
	}
	t.Cleanup(func() { _ = env.hub.Delete(context.Background(), s) })
}
