// Package rollout holds the end-to-end story of a Fleet rolled out in
// health-gated waves with automatic rollback (docs/rollouts.md), on a hub
// and four real workload clusters whose Deployments really become
// available (or never do).
package rollout

import (
	"os"
	"testing"

	"github.com/flotilla-dev/flotilla/test/harness"
)

// env is the hub: clusters dev-1 to dev-4 are its workload clusters.
var env *harness.Hub

func TestMain(m *testing.M) {
	os.Exit(harness.RunPackage(m, harness.Options{Clusters: 5}, nil, &env))
}
