package localfleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Fleet is a set of running clusters.
type Fleet struct {
	Dir      string     `json:"dir"`
	Clusters []*Cluster `json:"clusters"`
	Detached bool       `json:"detached"`
	// Extras are processes started beside the clusters (StartExtra), such as
	// Flotilla's controller under `flotilla dev up`; Stop ends them first.
	Extras []*process `json:"extras,omitempty"`

	tempDir bool
	sp      *spawner
}

const (
	stateFile      = "state.json"
	kubeconfigFile = "kubeconfig"
)

// Start starts the clusters in parallel and returns once every one of them
// serves (and, unless lean, has a Ready node). On error, whatever was started
// is stopped again.
func Start(ctx context.Context, opts Options) (*Fleet, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	bins, err := findBinaries(opts.BinDir, opts.Lean)
	if err != nil {
		return nil, err
	}
	f := &Fleet{Dir: opts.Dir, Detached: opts.Detach, sp: newSpawner()}
	if f.Dir == "" {
		f.tempDir = true
		if f.Dir, err = os.MkdirTemp("", "flotilla-localfleet-"); err != nil {
			return nil, err
		}
	}
	if f.Dir, err = filepath.Abs(f.Dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(f.Dir, stateFile)); err == nil {
		return nil, fmt.Errorf("localfleet: %s already holds a fleet; stop it first", f.Dir)
	}
	free, err := freePorts(4 * len(opts.Names))
	if err != nil {
		return nil, err
	}
	for i, name := range opts.Names {
		dir := filepath.Join(f.Dir, name)
		if entries, _ := os.ReadDir(dir); len(entries) > 0 {
			return nil, fmt.Errorf("localfleet: %s is not empty; remove it or choose another folder", dir)
		}
		f.Clusters = append(f.Clusters, &Cluster{
			Name:  name,
			Dir:   dir,
			Lean:  opts.Lean,
			Audit: opts.AuditWrites,
			Ports: ports{
				APIServer: free[4*i],
				Etcd:      free[4*i+1],
				EtcdPeer:  free[4*i+2],
				Kwok:      free[4*i+3],
			},
		})
	}
	if err := f.startAll(ctx, opts, bins); err != nil {
		return nil, errors.Join(err, f.Stop())
	}
	if err := writeKubeconfig(f.Kubeconfig(), f.Clusters); err != nil {
		return nil, errors.Join(err, f.Stop())
	}
	if err := f.save(); err != nil {
		return nil, errors.Join(err, f.Stop())
	}
	return f, nil
}

func (f *Fleet) startAll(ctx context.Context, opts Options, bins binaries) error {
	var wg sync.WaitGroup
	errs := make([]error, len(f.Clusters))
	for i, c := range f.Clusters {
		wg.Go(func() { errs[i] = c.start(ctx, f.sp, opts, bins) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Kubeconfig is the path of the kubeconfig with a context per cluster.
func (f *Fleet) Kubeconfig() string { return filepath.Join(f.Dir, kubeconfigFile) }

// Cluster returns the cluster with this name, or nil.
func (f *Fleet) Cluster(name string) *Cluster {
	for _, c := range f.Clusters {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// PIDs lists the process ids of every component of the fleet and its extras.
func (f *Fleet) PIDs() []int {
	var pids []int
	for _, p := range f.Extras {
		pids = append(pids, p.PID)
	}
	for _, c := range f.Clusters {
		for _, p := range c.Processes {
			pids = append(pids, p.PID)
		}
	}
	return pids
}

// StartExtra runs another program beside the fleet, detached like the
// fleet's own components, logging to DIR/logs/<name>.log; it is recorded in
// the state file so that Stop ends it too, before the clusters.
func (f *Fleet) StartExtra(name, bin string, args []string) error {
	if f.sp == nil {
		return errors.New("localfleet: a fleet found through Load cannot start processes")
	}
	if err := os.MkdirAll(filepath.Join(f.Dir, "logs"), 0o700); err != nil {
		return err
	}
	p, err := startProcess(f.sp, name, bin, args, filepath.Join(f.Dir, "logs", name+".log"), f.Detached)
	if err != nil {
		return err
	}
	f.Extras = append(f.Extras, p)
	return f.save()
}

// Stop ends every component of every cluster, clusters in parallel, and
// removes what the fleet wrote: the clusters' folders (data, certificates,
// logs), the kubeconfig and the state file, and the folder itself if Start
// made it. A folder given in Options.Dir is kept.
func (f *Fleet) Stop() error {
	var extraErrs []error
	for i := len(f.Extras) - 1; i >= 0; i-- {
		if err := f.Extras[i].stop(15 * time.Second); err != nil {
			extraErrs = append(extraErrs, err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(f.Clusters))
	for i, c := range f.Clusters {
		wg.Go(func() { errs[i] = c.stop() })
	}
	wg.Wait()
	if f.sp != nil {
		f.sp.stop()
	}
	err := errors.Join(append(errs, extraErrs...)...)
	if err != nil {
		return err
	}
	if f.tempDir {
		return os.RemoveAll(f.Dir)
	}
	for _, c := range f.Clusters {
		errs = append(errs, os.RemoveAll(c.Dir))
	}
	errs = append(errs, os.RemoveAll(filepath.Join(f.Dir, "logs")))
	for _, name := range []string{kubeconfigFile, stateFile} {
		if rmErr := os.Remove(filepath.Join(f.Dir, name)); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
			errs = append(errs, rmErr)
		}
	}
	return errors.Join(errs...)
}

func (f *Fleet) save() error {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(f.Dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(f.Dir, stateFile))
}

// ErrNotRunning is returned by Load when the folder holds no fleet.
var ErrNotRunning = errors.New("no local fleet is running there")

// Load finds a detached fleet again from its folder, for `flotilla dev
// status` and `flotilla dev down`.
func Load(dir string) (*Fleet, error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotRunning)
	}
	if err != nil {
		return nil, err
	}
	f := &Fleet{}
	if err := json.Unmarshal(data, f); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, stateFile), err)
	}
	return f, nil
}

// freePorts asks the kernel for n distinct free ports on 127.0.0.1. The
// listeners are held until all are chosen so that no port is given twice.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("localfleet: find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
