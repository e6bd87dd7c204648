package harness

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
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/flotilla-dev/flotilla/internal/controller"
	"github.com/flotilla-dev/flotilla/internal/localfleet"
)

// BuildFlotilla builds the flotilla binary into dir and returns its path.
func BuildFlotilla(dir string) (string, error) {
	bin := filepath.Join(dir, "flotilla")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/flotilla-dev/flotilla/cmd/flotilla")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build flotilla: %w", err)
	}
	return bin, nil
}

// Options say what fleet to start.
type Options struct {
	// Bin is the flotilla binary.
	Bin string
	// Clusters is how many clusters: the hub and Clusters-1 workload clusters.
	Clusters int
	// ControllerArgs are added to `flotilla controller`.
	ControllerArgs []string
	// Lean starts etcd and kube-apiserver only in every cluster.
	Lean bool
	// AuditWrites records every write request in each cluster's audit log
	// (localfleet.Options.AuditWrites).
	AuditWrites bool
}

// Hub is a running fleet with Flotilla installed in its hub.
type Hub struct {
	Fleet *localfleet.Fleet
	// Client reaches the hub; Work reaches the first workload cluster, if any.
	Client client.Client
	Work   client.Client
	Config *rest.Config
	Dir    string
	// Metrics is host:port of the controller's /metrics.
	Metrics string

	opts       Options
	controller *exec.Cmd
	servers    []*Server
}

// Start starts the fleet, installs Flotilla into the hub and starts the controller.
func Start(ctx context.Context, opts Options) (*Hub, error) {
	// The tests' own clients log nothing.
	ctrllog.SetLogger(logr.Discard())
	if opts.Clusters < 1 {
		opts.Clusters = 1
	}
	dir, err := os.MkdirTemp("", "flotilla-harness-")
	if err != nil {
		return nil, err
	}
	f, err := localfleet.Start(ctx, localfleet.Options{Clusters: opts.Clusters, Lean: opts.Lean, AuditWrites: opts.AuditWrites, StartTimeout: 5 * time.Minute})
	if err != nil {
		return nil, err
	}
	h := &Hub{Fleet: f, Dir: dir, Config: f.Clusters[0].RESTConfig(), opts: opts}
	if err := h.connect(); err != nil {
		return nil, h.stop(err)
	}
	if out, err := Run(opts.Bin, "install", "--kubeconfig", f.Kubeconfig(), "--context", f.Clusters[0].Name); err != nil {
		return nil, h.stop(fmt.Errorf("flotilla install: %w\n%s", err, out))
	}
	if err := h.StartController(); err != nil {
		return nil, h.stop(err)
	}
	return h, nil
}

func (h *Hub) connect() error {
	scheme, err := controller.NewScheme()
	if err != nil {
		return err
	}
	if h.Client, err = client.New(h.Config, client.Options{Scheme: scheme}); err != nil {
		return err
	}
	if len(h.Fleet.Clusters) > 1 {
		h.Work, err = client.New(h.Fleet.Clusters[1].RESTConfig(), client.Options{Scheme: scheme})
	}
	return err
}

// Stop ends the controller and the fleet.
func (h *Hub) Stop() error { return h.stop(nil) }

func (h *Hub) stop(cause error) error {
	for _, s := range h.servers {
		s.Stop()
	}
	h.StopController()
	err := h.Fleet.Stop()
	_ = os.RemoveAll(h.Dir)
	if cause != nil {
		return cause
	}
	return err
}

// StartController runs `flotilla controller` against the hub, logging to
// controller.log in the hub's folder.
func (h *Hub) StartController() error {
	port, err := FreePort()
	if err != nil {
		return err
	}
	h.Metrics = "127.0.0.1:" + strconv.Itoa(port)
	cmd, err := h.startProcess("controller.log", h.Metrics, filepath.Join(h.Dir, "cache"), h.opts.ControllerArgs)
	if err != nil {
		return err
	}
	h.controller = cmd
	return nil
}

// startProcess runs `flotilla controller` with args, logging to the file
// logName in the hub's folder.
func (h *Hub) startProcess(logName, metrics, cacheDir string, extra []string) (*exec.Cmd, error) {
	logFile, err := os.OpenFile(filepath.Join(h.Dir, logName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer func() { _ = logFile.Close() }()
	args := append([]string{"controller",
		"--kubeconfig", h.Fleet.Kubeconfig(), "--context", h.Fleet.Clusters[0].Name,
		"--allow-local-repos",
		"--metrics-addr", metrics, "--health-addr", "0",
		"--cache-dir", cacheDir,
	}, extra...)
	cmd := exec.Command(h.opts.Bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return cmd, nil
}

// Replica is one more `flotilla controller` process against the hub,
// beside (or instead of) the hub's own controller.
type Replica struct {
	Name string
	cmd  *exec.Cmd
	log  string
}

// StartReplica runs another `flotilla controller` with args, logging to
// replica-NAME.log in the hub's folder, with a source cache of its own
// and metrics on a free port.
func (h *Hub) StartReplica(name string, args ...string) (*Replica, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	logName := "replica-" + name + ".log"
	cmd, err := h.startProcess(logName, "127.0.0.1:"+strconv.Itoa(port), filepath.Join(h.Dir, "cache-"+name), args)
	if err != nil {
		return nil, err
	}
	return &Replica{Name: name, cmd: cmd, log: filepath.Join(h.Dir, logName)}, nil
}

// Kill ends the replica with SIGKILL.
func (r *Replica) Kill() {
	killProcess(r.cmd)
	r.cmd = nil
}

// Stop ends the replica with SIGTERM, then SIGKILL after 30s.
func (r *Replica) Stop() {
	stopProcess(r.cmd)
	r.cmd = nil
}

// Log returns the replica's whole log.
func (r *Replica) Log() string {
	data, _ := os.ReadFile(r.log)
	return string(data)
}

// ControllerPID is the running controller's process id, or 0.
func (h *Hub) ControllerPID() int {
	if h.controller == nil {
		return 0
	}
	return h.controller.Process.Pid
}

// KillController ends the controller with SIGKILL, as an OOM kill would.
func (h *Hub) KillController() {
	killProcess(h.controller)
	h.controller = nil
}

// StopController ends the controller with SIGTERM, then SIGKILL after 30s.
func (h *Hub) StopController() {
	stopProcess(h.controller)
	h.controller = nil
}

func killProcess(cmd *exec.Cmd) {
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
}

func stopProcess(cmd *exec.Cmd) {
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second): // controller-runtime's own grace period
		_ = cmd.Process.Kill()
		<-done
	}
}

// ControllerLog returns the whole controller log.
func (h *Hub) ControllerLog() string {
	data, _ := os.ReadFile(filepath.Join(h.Dir, "controller.log"))
	return string(data)
}

// ControllerLogTail returns the last n lines of the controller log.
func (h *Hub) ControllerLogTail(n int) string {
	lines := strings.Split(h.ControllerLog(), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FreePort asks the kernel for a free port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Run runs a program with a 5 minute limit and returns its combined output.
func Run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}
