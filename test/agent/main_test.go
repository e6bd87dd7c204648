package agent

import (
	"os"
	"testing"

	"github.com/flotilla-dev/flotilla/test/harness"
)

// flotillaBin is the binary under test, built by TestMain.
var flotillaBin string

// env is a hub with Flotilla installed and its controller running, and one
// workload cluster, dev-1, whose agent the tests run.
var env *harness.Hub

func TestMain(m *testing.M) {
	os.Exit(harness.RunPackage(m, harness.Options{
		Clusters: 2,
		// The hub marks an agent disconnected soon, for the test to see.
		ControllerArgs: []string{"--agent-timeout", "10s"},
	}, &flotillaBin, &env, stopAgent))
}
