package localfleet

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// KubernetesVersion is the version of the control planes that hack/k8s builds.
const KubernetesVersion = "v1.37.2"

// Options says what fleet to start.
type Options struct {
	// Names of the clusters, in order. Empty means Clusters names made by
	// DefaultNames.
	Names []string
	// Clusters is how many clusters to start when Names is empty.
	Clusters int
	// Dir holds certificates, data, logs, the kubeconfig and the state file.
	// Empty means a new temporary folder, removed by Stop.
	Dir string
	// BinDir holds the binaries built by hack/k8s. Empty means DefaultBinDir().
	BinDir string
	// Lean starts etcd and kube-apiserver only: no controllers, no scheduler,
	// no node. For benchmarks with many clusters.
	Lean bool
	// Detach lets the processes outlive the caller (no parent-death signal,
	// their own sessions), for `flotilla dev up`.
	Detach bool
	// StartTimeout bounds how long one cluster may take to become ready.
	StartTimeout time.Duration
	// AuditWrites makes each kube-apiserver record every write request
	// (create, update, patch, delete, with its user agent and URI) in
	// Cluster.AuditLog, for benchmarks that count one client's writes.
	AuditWrites bool
}

// DefaultOptions returns one full cluster in a temporary folder.
func DefaultOptions() Options {
	return Options{Clusters: 1, StartTimeout: 2 * time.Minute}
}

// DefaultNames names n clusters as `flotilla dev` does: the first "hub", the
// others "dev-1" … "dev-(n-1)".
func DefaultNames(n int) []string {
	names := make([]string, 0, n)
	for i := range n {
		if i == 0 {
			names = append(names, "hub")
			continue
		}
		names = append(names, fmt.Sprintf("dev-%d", i))
	}
	return names
}

// DefaultBinDir is where hack/k8s/build.sh puts the binaries: $FLOTILLA_K8S_BIN,
// or ~/.cache/flotilla/k8s/<version>.
func DefaultBinDir() string {
	if d := os.Getenv("FLOTILLA_K8S_BIN"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, ".cache", "flotilla", "k8s", KubernetesVersion)
}

func (o Options) withDefaults() (Options, error) {
	if len(o.Names) == 0 {
		if o.Clusters < 1 {
			return o, fmt.Errorf("localfleet: need at least one cluster, got %d", o.Clusters)
		}
		o.Names = DefaultNames(o.Clusters)
	}
	seen := map[string]bool{}
	for _, n := range o.Names {
		if !validName(n) {
			return o, fmt.Errorf("localfleet: cluster name %q: use lower-case letters, digits and '-'", n)
		}
		if seen[n] {
			return o, fmt.Errorf("localfleet: cluster name %q given twice", n)
		}
		seen[n] = true
	}
	if o.BinDir == "" {
		o.BinDir = DefaultBinDir()
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 2 * time.Minute
	}
	return o, nil
}

func validName(n string) bool {
	if n == "" || len(n) > 63 || n[0] == '-' || n[len(n)-1] == '-' {
		return false
	}
	for _, r := range n {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}
