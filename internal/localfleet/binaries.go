package localfleet

import (
	"fmt"
	"os"
	"path/filepath"
)

// binaries locates the executables built by hack/k8s.
type binaries struct{ dir string }

const stagesFile = "kwok-stages.yaml"

func findBinaries(dir string, lean bool) (binaries, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return binaries{}, err
	}
	// /proc/PID/exe shows the resolved path; resolve now so that Load can
	// recognise our processes.
	if resolved, err := filepath.EvalSymlinks(abs); err == nil {
		abs = resolved
	}
	need := []string{componentEtcd, componentAPIServer}
	if !lean {
		need = append(need, componentControllerManager, componentScheduler, componentKwok, stagesFile)
	}
	for _, name := range need {
		if _, err := os.Stat(filepath.Join(abs, name)); err != nil {
			return binaries{}, fmt.Errorf("localfleet: %s not found in %s: build the Kubernetes binaries with hack/k8s/build.sh (make test and make demo do)", name, abs)
		}
	}
	return binaries{dir: abs}, nil
}

func (b binaries) path(component string) string { return filepath.Join(b.dir, component) }

func (b binaries) stages() string { return filepath.Join(b.dir, stagesFile) }
