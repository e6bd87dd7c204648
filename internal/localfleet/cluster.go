package localfleet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"
)

// Cluster is one control plane of the fleet.
type Cluster struct {
	Name string `json:"name"`
	// Server is the kube-apiserver's URL, https://127.0.0.1:PORT.
	Server string `json:"server"`
	Dir    string `json:"dir"`
	Lean   bool   `json:"lean"`
	Audit  bool   `json:"audit,omitempty"`
	Ports  ports  `json:"ports"`

	CACert    []byte `json:"caCert"`
	AdminCert []byte `json:"adminCert"`
	AdminKey  []byte `json:"adminKey"`

	Processes []*process `json:"processes"`
}

type ports struct {
	APIServer int `json:"apiserver"`
	Etcd      int `json:"etcd"`
	EtcdPeer  int `json:"etcdPeer"`
	// Kwok serves what a kubelet serves (pod logs) to the kube-apiserver.
	Kwok int `json:"kwok"`
}

// Component names, in start order.
const (
	componentEtcd              = "etcd"
	componentAPIServer         = "kube-apiserver"
	componentControllerManager = "kube-controller-manager"
	componentScheduler         = "kube-scheduler"
	componentKwok              = "kwok"
)

// RESTConfig returns an admin client configuration for this cluster.
func (c *Cluster) RESTConfig() *rest.Config {
	return &rest.Config{
		Host: c.Server,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   c.CACert,
			CertData: c.AdminCert,
			KeyData:  c.AdminKey,
		},
		QPS:   100,
		Burst: 200,
	}
}

// start brings up the cluster's components and waits until it serves.
func (c *Cluster) start(ctx context.Context, sp *spawner, opts Options, bins binaries) error {
	for _, sub := range []string{"etcd", "logs"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, sub), 0o700); err != nil {
			return err
		}
	}
	p, err := newPKI(c.Dir)
	if err != nil {
		return fmt.Errorf("cluster %s: certificates: %w", c.Name, err)
	}
	c.CACert, c.AdminCert, c.AdminKey = p.CACert, p.AdminCert, p.AdminKey
	c.Server = "https://127.0.0.1:" + strconv.Itoa(c.Ports.APIServer)
	if err := writeKubeconfig(c.adminKubeconfig(), []*Cluster{c}); err != nil {
		return err
	}
	if err := c.writeAuditPolicy(); err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	if err := c.run(sp, componentEtcd, bins, c.etcdArgs(), opts.Detach); err != nil {
		return err
	}
	if err := c.run(sp, componentAPIServer, bins, c.apiserverArgs(), opts.Detach); err != nil {
		return err
	}
	if err := c.waitServing(ctx); err != nil {
		return err
	}
	if c.Lean {
		return nil
	}
	return c.startWorkloadComponents(ctx, sp, opts, bins)
}

// startWorkloadComponents starts what makes pods run: the controllers, the
// scheduler and kwok with one node; then waits for the node to be Ready and
// the default ServiceAccount to exist.
func (c *Cluster) startWorkloadComponents(ctx context.Context, sp *spawner, opts Options, bins binaries) error {
	if err := c.writePodFail(); err != nil {
		return fmt.Errorf("cluster %s: pod fail stage: %w", c.Name, err)
	}
	if err := c.writePodLogs(); err != nil {
		return fmt.Errorf("cluster %s: pod logs: %w", c.Name, err)
	}
	for _, comp := range []struct {
		name string
		args []string
	}{
		{componentControllerManager, c.controllerManagerArgs()},
		{componentScheduler, c.schedulerArgs()},
		{componentKwok, c.kwokArgs(bins)},
	} {
		if err := c.run(sp, comp.name, bins, comp.args, opts.Detach); err != nil {
			return err
		}
	}
	return c.waitWorkloadReady(ctx)
}

func (c *Cluster) run(sp *spawner, component string, bins binaries, args []string, detach bool) error {
	logPath := filepath.Join(c.Dir, "logs", component+".log")
	proc, err := startProcess(sp, component, bins.path(component), args, logPath, detach)
	if err != nil {
		return fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	c.Processes = append(c.Processes, proc)
	return nil
}

func (c *Cluster) adminKubeconfig() string { return filepath.Join(c.Dir, "admin.kubeconfig") }

func (c *Cluster) etcdArgs() []string {
	client := "http://127.0.0.1:" + strconv.Itoa(c.Ports.Etcd)
	peer := "http://127.0.0.1:" + strconv.Itoa(c.Ports.EtcdPeer)
	return []string{
		"--name=" + c.Name,
		"--data-dir=" + filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=" + c.Name + "=" + peer,
		"--log-level=warn",
		// Throwaway clusters: durability is not worth an fsync per write.
		"--unsafe-no-fsync",
		"--quota-backend-bytes=2147483648",
	}
}

func (c *Cluster) apiserverArgs() []string {
	args := []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(c.Ports.Etcd),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(c.Ports.APIServer),
		"--cert-dir=" + c.Dir,
		"--tls-cert-file=" + filepath.Join(c.Dir, fileServingCert),
		"--tls-private-key-file=" + filepath.Join(c.Dir, fileServingKey),
		"--client-ca-file=" + filepath.Join(c.Dir, fileCACert),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + filepath.Join(c.Dir, fileSAPub),
		"--service-account-signing-key-file=" + filepath.Join(c.Dir, fileSAKey),
		// As large as real clusters use (kubeadm's default): a /24 held only
		// 254 Services, fewer than the scale benchmarks create.
		"--service-cluster-ip-range=10.96.0.0/12",
		"--authorization-mode=RBAC",
		"--allow-privileged=true",
		// On loopback there is no routable address to publish in the
		// kubernetes Endpoints; without this the apiserver keeps failing to.
		"--endpoint-reconciler-type=none",
		"--v=1",
	}
	return append(args, c.auditArgs()...)
}

func (c *Cluster) controllerManagerArgs() []string {
	return []string{
		"--kubeconfig=" + c.adminKubeconfig(),
		"--secure-port=0",
		"--leader-elect=false",
		"--service-account-private-key-file=" + filepath.Join(c.Dir, fileSAKey),
		"--root-ca-file=" + filepath.Join(c.Dir, fileCACert),
		"--cluster-name=" + c.Name,
		// The default budget of 20 requests a second made a thousand new
		// Deployments wait minutes for their ReplicaSets and status
		// (issue 13): the cluster's own controllers, not Flotilla, set
		// how soon they were Healthy.
		"--kube-api-qps=200",
		"--kube-api-burst=400",
		"--v=1",
	}
}

func (c *Cluster) schedulerArgs() []string {
	return []string{
		"--kubeconfig=" + c.adminKubeconfig(),
		"--secure-port=0",
		"--leader-elect=false",
		"--v=1",
	}
}

func (c *Cluster) kwokArgs(bins binaries) []string {
	return []string{
		"--kubeconfig=" + c.adminKubeconfig(),
		"--config=" + bins.stages(),
		"--config=" + c.podLogsConfig(),
		"--config=" + c.podFailConfig(),
		"--manage-all-nodes=true",
		"--cidr=10.0.1.0/24",
		// The node's address and port are where the kube-apiserver reads
		// pod logs from: kwok's own server, on loopback.
		"--node-ip=127.0.0.1",
		"--node-port=" + strconv.Itoa(c.Ports.Kwok),
		"--server-address=127.0.0.1:" + strconv.Itoa(c.Ports.Kwok),
		// kwok renews the node's Lease, as a kubelet does; without it the
		// node lifecycle controller marks the node NotReady after 40s.
		"--node-lease-duration-seconds=40",
	}
}

// waitServing waits for /readyz, failing early if etcd or the apiserver exits.
func (c *Cluster) waitServing(ctx context.Context) error {
	client, err := c.httpClient()
	if err != nil {
		return err
	}
	return c.poll(ctx, "kube-apiserver /readyz", func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Server+"/readyz", nil)
		if err != nil {
			return false, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, nil
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

func (c *Cluster) httpClient() (*http.Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.CACert) {
		return nil, errors.New("localfleet: bad CA certificate")
	}
	cert, err := tls.X509KeyPair(c.AdminCert, c.AdminKey)
	if err != nil {
		return nil, err
	}
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs:      pool,
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
		}},
	}, nil
}

// poll calls check until it says done, the context ends, or a component of
// the cluster exits (then the error carries the end of its log).
func (c *Cluster) poll(ctx context.Context, what string, check func(context.Context) (bool, error)) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		done, err := check(ctx)
		if err != nil {
			return fmt.Errorf("cluster %s: %s: %w", c.Name, what, err)
		}
		if done {
			return nil
		}
		if dead := c.exited(); dead != nil {
			return fmt.Errorf("cluster %s: %s exited while waiting for %s; end of %s:\n%s",
				c.Name, dead.Component, what, dead.Log, tail(dead.Log, 20))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster %s: waiting for %s: %w", c.Name, what, ctx.Err())
		case <-tick.C:
		}
	}
}

// exited returns the first component that is no longer running, or nil.
func (c *Cluster) exited() *process {
	for _, p := range c.Processes {
		if !p.running() {
			return p
		}
	}
	return nil
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// stop ends the components in reverse start order.
func (c *Cluster) stop() error {
	var errs []error
	for i := len(c.Processes) - 1; i >= 0; i-- {
		if err := c.Processes[i].stop(15 * time.Second); err != nil {
			errs = append(errs, fmt.Errorf("cluster %s: %w", c.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Health reports why the cluster is not serving, or nil when every component
// runs and the apiserver answers /readyz.
func (c *Cluster) Health(ctx context.Context) error {
	if dead := c.exited(); dead != nil {
		return fmt.Errorf("%s is not running", dead.Component)
	}
	client, err := c.httpClient()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Server+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("kube-apiserver: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("kube-apiserver /readyz: %s", resp.Status)
	}
	return nil
}
