package harness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flotillav1 "github.com/flotilla-dev/flotilla/api/v1alpha1"
)

// Server is a running `flotilla server` against the hub.
type Server struct {
	// URL is https://127.0.0.1:PORT.
	URL string
	// Client trusts the server's self-signed certificate.
	Client *http.Client
	hub    *Hub
	addr   string
	args   []string
	cmd    *exec.Cmd
	log    string
}

// StartServer runs `flotilla server` against the hub on a free loopback
// port, with args added, logging to server.log in the hub's folder, and
// waits until it is ready (its informers synced).
func (h *Hub) StartServer(args ...string) (*Server, error) {
	return h.StartServerWith(func(string) []string { return args })
}

// StartServerWith is StartServer with the arguments made from the
// server's URL, for flags that name it (--url, a provider's redirect).
func (h *Hub) StartServerWith(args func(url string) []string) (*Server, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	s := &Server{hub: h, addr: "127.0.0.1:" + strconv.Itoa(port), log: filepath.Join(h.Dir, "server.log")}
	s.URL = "https://" + s.addr
	s.args = args(s.URL)
	h.servers = append(h.servers, s)
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// Start starts a stopped server again on the same address with the same
// arguments, as a rolled-out Deployment comes back, and waits until it is
// ready.
func (s *Server) Start() error {
	h := s.hub
	logFile, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }()
	cmd := exec.Command(h.opts.Bin, append([]string{"server",
		"--kubeconfig", h.Fleet.Kubeconfig(), "--context", h.Fleet.Clusters[0].Name,
		"--listen", s.addr,
		// Diffs fetch the tests' repositories on loopback, as the
		// controller does.
		"--allow-local-repos", "--cache-dir", filepath.Join(h.Dir, "server-cache"),
	}, s.args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	if err := s.waitReady(h.Client); err != nil {
		s.Stop()
		return fmt.Errorf("%w\n%s", err, s.Log())
	}
	return nil
}

// waitReady waits for the certificate Secret, then for /readyz.
func (s *Server) waitReady(hub client.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		if s.Client == nil {
			s.Client = trustingClient(ctx, hub)
		}
		if s.Client != nil {
			resp, err := s.Client.Get(s.URL + "/readyz")
			if err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return nil
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("the server did not become ready in 2 minutes")
}

// trustingClient trusts the certificate of the Secret flotilla-server-tls.
func trustingClient(ctx context.Context, hub client.Client) *http.Client {
	var sec corev1.Secret
	if err := hub.Get(ctx, client.ObjectKey{Namespace: flotillav1.DefaultNamespace, Name: "flotilla-server-tls"}, &sec); err != nil {
		return nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(sec.Data[corev1.TLSCertKey]) {
		return nil
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true}
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

// PID is the running server's process id, or 0.
func (s *Server) PID() int {
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Log is the server's whole log.
func (s *Server) Log() string {
	data, _ := os.ReadFile(s.log)
	return string(data)
}

// Stop ends the server with SIGTERM (SIGKILL after 30 s).
func (s *Server) Stop() {
	stopProcess(s.cmd)
	s.cmd = nil
}
