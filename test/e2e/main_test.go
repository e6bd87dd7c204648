package e2e

import (
	"os"
	"testing"

	"github.com/flotilla-dev/flotilla/test/harness"
)

// flotillaBin is the binary under test, built by TestMain.
var flotillaBin string

// env is the fleet the sync tests share: a hub with Flotilla installed and its
// controller running, and three workload clusters, dev-1 to dev-3.
var env *harness.Hub

func TestMain(m *testing.M) {
	os.Exit(harness.RunPackage(m, harness.Options{Clusters: 4}, &flotillaBin, &env))
}
